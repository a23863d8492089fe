import Foundation
import Charts
import Statistics

/// Runs of a sweep that differ only in their seed, compared as the study compares models: each setting's final
/// validation loss as a mean over its seeds with a 95% t interval, and an order only where the intervals are apart.
extension RunComparison {
    /// One setting (every setting but the seed) and model, over its seeds.
    struct SeedGroup {
        var setting: String, model: String
        var losses: [Double]
        var interval: Stats.Interval { Stats.tInterval(losses) }
    }

    /// The runs grouped by every setting but the seed, each model apart; nil unless some setting has two seeds.
    static func seedGroups(_ runs: [Run]) -> [SeedGroup]? {
        let varying = differences(runs).map { $0[0] }.filter { $0 != "seed" && $0 != "data" }
        func setting(_ r: Run) -> String {
            varying.isEmpty ? "all" : varying.map { "\($0) \(r.config[$0] ?? "-")" }.joined(separator: ", ")
        }
        var groups: [String: SeedGroup] = [:], order: [String] = []
        for r in runs {
            for m in r.result.models {
                let key = setting(r) + " | " + m.model
                if groups[key] == nil { order.append(key) }
                groups[key, default: SeedGroup(setting: setting(r), model: m.model, losses: [])].losses.append(
                    m.testLoss)
            }
        }
        let list = order.compactMap { groups[$0] }
        return list.contains { $0.losses.count > 1 } ? list : nil
    }

    /// The table over seeds and the sentence it supports.
    static func compareOverSeeds(_ groups: [SeedGroup], metric: String, into report: inout HTMLReport) {
        report.table(
            headers: ["setting", "model", "seeds", "final validation loss, mean", "95% interval"],
            rows: groups.map { g in
                let i = g.interval
                return [
                    g.setting, g.model, String(g.losses.count), fmt(i.mean, 4), "[\(fmt(i.low, 4)), \(fmt(i.high, 4))]"
                ]
            }, caption: "Over seeds (\(metric)): every setting but the seed")
        report.paragraph(verdict(groups))
    }

    /// Which setting has the lowest mean loss, and whether its interval is apart from every other's.
    static func verdict(_ groups: [SeedGroup]) -> String {
        let ranked = groups.filter { $0.losses.count > 1 }.sorted { $0.interval.mean < $1.interval.mean }
        guard let best = ranked.first, ranked.count > 1 else {
            return "One setting has more than one seed: nothing to compare over seeds."
        }
        let name = "\(best.setting) (\(best.model))"
        let overlapping = ranked.dropFirst().filter { $0.interval.low <= best.interval.high }
        if overlapping.isEmpty {
            return """
                Lowest mean final validation loss: \(name), \(fmt(best.interval.mean, 4)); its 95% interval lies \
                below every other setting's over their seeds.
                """
        }
        let next = overlapping[0]
        return """
            Lowest mean final validation loss: \(name), \(fmt(best.interval.mean, 4)), but its 95% interval overlaps \
            \(overlapping.count) other setting\(overlapping.count == 1 ? "'s" : "s'") (the next, \(next.setting) \
            (\(next.model)), \(fmt(next.interval.mean, 4))): over these seeds they are indistinguishable, by \
            \(fmt(next.interval.mean - best.interval.mean, 3)).
            """
    }
}
