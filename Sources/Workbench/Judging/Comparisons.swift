import Foundation
import Statistics

/// One comparison of a family: how `first` compares with `second` on one measure, paired over seeds or over test
/// items, with its p-value before and after Holm's adjustment within the family. `first` is the better of the two
/// by the estimate; the comparison holds (a ranking may be claimed) only where the adjusted p is below 0.05.
package struct Comparison: Codable, Sendable, Equatable {
    package enum Scale: String, Codable, Sendable {
        /// A positive quantity (a loss, an MSE): the ratio first / second, paired over the logarithms.
        case ratio
        /// A difference first - second in the measure's units (points of accuracy, a squared error per item).
        case difference
        /// Censored times: the seeds where first was ahead, of those where the two differ (an exact sign test).
        case sign
    }
    package var measure: String
    package var first: String, second: String
    package var scale: Scale
    package var estimate: Double, low: Double, high: Double
    package var p: Double
    package var adjustedP: Double
    /// What the pairs are ("seeds", "test items") and how many.
    package var over: String, pairs: Int

    package var holds: Bool { adjustedP < 0.05 }

    /// "LSTM / GRU 0.957 [0.94, 0.975]", "LSTM - RNN 5.0 [1.1, 8.9]", "LSTM ahead in 3 of 3 seeds".
    package var estimateText: String {
        switch scale {
        case .ratio: "\(first) / \(second) \(fmt(estimate, 3)) [\(fmt(low, 3)), \(fmt(high, 3))]"
        case .difference: "\(first) - \(second) \(fmt(estimate, 3)) [\(fmt(low, 3)), \(fmt(high, 3))]"
        case .sign: "\(first) ahead in \(Int(estimate)) of \(pairs) \(over)"
        }
    }

    /// The comparison with its verdict, as a table row or a clause.
    package var text: String {
        let verdict = holds ? "holds" : "not beyond the noise"
        return "\(measure): \(estimateText), p \(fmt(p, 2)), Holm-adjusted \(fmt(adjustedP, 2)) (\(verdict))"
    }
}

/// The comparisons of one Answers item, adjusted together with Holm's method.
package struct ComparisonFamily: Codable, Sendable, Equatable {
    package var item: String
    package var comparisons: [Comparison]

    /// The family, each p-value adjusted with Holm's step-down method over all of them.
    package init(item: String, _ comparisons: [Comparison]) {
        self.item = item
        let adjusted = Stats.holm(comparisons.map(\.p))
        self.comparisons = zip(comparisons, adjusted).map { c, a in
            var c = c
            c.adjustedP = a
            return c
        }
    }

    package var held: [Comparison] { comparisons.filter(\.holds) }

    /// The family's size and correction, and how many comparisons hold, in a sentence.
    package var correction: String {
        comparisons.isEmpty
            ? "no comparison could be made"
            : "\(held.count) of \(comparisons.count) comparisons hold after Holm's correction for the "
                + "\(comparisons.count) made (family-wise 5%)"
    }

    /// The table of every comparison: measure, estimate with its 95% interval, p, adjusted p, verdict.
    package var rows: [[String]] {
        comparisons.map {
            [
                $0.measure, $0.estimateText, "\($0.pairs) \($0.over)", fmt($0.p, 2), fmt($0.adjustedP, 2),
                $0.holds ? "holds" : "not beyond the noise"
            ]
        }
    }
    package static let headers = ["measure", "estimate [95% interval]", "paired over", "p", "Holm p", "verdict"]
}

/// The comparisons a family is made of: every pair of models over seeds, censored times, a model against its
/// baseline over test items.
package enum Compare {
    /// Every pair of models on one measure, paired over the seeds both have finite values for. A positive quantity
    /// (`positive`: losses, MSEs) compares as a ratio over its logarithms, anything else as a difference.
    package static func allPairs(
        _ series: [SeedSeries], measure: String, lowerIsBetter: Bool, positive: Bool
    ) -> [Comparison] {
        var out: [Comparison] = []
        for i in series.indices {
            for j in series.indices where j > i {
                let pairs = zip(series[i].values, series[j].values).filter {
                    $0.isFinite && $1.isFinite && (!positive || ($0 > 0 && $1 > 0))
                }
                let d = pairs.map { positive ? log($0) - log($1) : $0 - $1 }
                guard let test = Stats.pairedTTest(d) else { continue }
                out.append(
                    ordered(
                        series[i].model, series[j].model, test, measure: measure, lowerIsBetter: lowerIsBetter,
                        ratio: positive, over: "seeds"))
            }
        }
        return out
    }

    /// Epochs to a threshold, a seed that never reached it (nil) censored after the budget, later than any reached:
    /// every pair by an exact sign test over the seeds where the two differ. Nothing is averaged.
    package static func censoredPairs(_ times: [(model: String, epochs: [Int?])], measure: String) -> [Comparison] {
        var out: [Comparison] = []
        for i in times.indices {
            for j in times.indices where j > i {
                var ahead = 0, behind = 0
                for (a, b) in zip(times[i].epochs, times[j].epochs) {
                    let x = a ?? Int.max, y = b ?? Int.max
                    if x < y { ahead += 1 } else if y < x { behind += 1 }
                }
                let n = ahead + behind
                guard n > 0 else { continue }
                let first = ahead >= behind
                out.append(
                    Comparison(
                        measure: measure, first: first ? times[i].model : times[j].model,
                        second: first ? times[j].model : times[i].model, scale: .sign,
                        estimate: Double(max(ahead, behind)), low: .nan, high: .nan,
                        p: Stats.signTest(ahead, of: n), adjustedP: 1, over: "seeds", pairs: n))
            }
        }
        return out
    }

    /// A model against a baseline on the same test items: per item the model's value (a squared error, or 1 for a
    /// correct answer) minus the baseline's, averaged over the model's seeds (which share the items), then paired
    /// over the items. The estimate is first - second, the better of the two first.
    package static func againstBaseline(
        model: String, perSeed: [[Double]], baseline: (name: String, values: [Double]), measure: String,
        lowerIsBetter: Bool
    ) -> Comparison? {
        let items = baseline.values.count
        guard items > 1, !perSeed.isEmpty, perSeed.allSatisfy({ $0.count == items }) else { return nil }
        let d = (0..<items).map { i in
            perSeed.reduce(0.0) { $0 + $1[i] } / Double(perSeed.count) - baseline.values[i]
        }
        guard let test = Stats.pairedTTest(d) else { return nil }
        return ordered(
            model, baseline.name, test, measure: measure, lowerIsBetter: lowerIsBetter, ratio: false, over: "test items"
        )
    }

    /// A paired test of a - b as a comparison with the better of the two first (its difference's sign and interval
    /// turned with it); `ratio`: the differences are of logarithms, shown as the ratio first / second.
    static func ordered(
        _ a: String, _ b: String, _ test: Stats.PairedTest, measure: String, lowerIsBetter: Bool, ratio: Bool,
        over: String
    ) -> Comparison {
        let i = test.difference
        let aBetter = lowerIsBetter ? i.mean <= 0 : i.mean >= 0
        let (mean, low, high) = aBetter ? (i.mean, i.low, i.high) : (-i.mean, -i.high, -i.low)
        let shown = { (v: Double) in ratio ? exp(v) : v }
        return Comparison(
            measure: measure, first: aBetter ? a : b, second: aBetter ? b : a, scale: ratio ? .ratio : .difference,
            estimate: shown(mean), low: shown(low), high: shown(high), p: test.p, adjustedP: test.p, over: over,
            pairs: test.pairs)
    }

    /// Every pair of models on the same test items, one seed each: per item the difference of their values (a
    /// squared error, or 1 for a correct answer), paired over the items.
    package static func pairsOverItems(
        _ items: [(model: String, values: [Double])], measure: String, lowerIsBetter: Bool
    ) -> [Comparison] {
        var out: [Comparison] = []
        for i in items.indices {
            for j in items.indices where j > i && items[i].values.count == items[j].values.count {
                out += [
                    againstBaseline(
                        model: items[i].model, perSeed: [items[i].values], baseline: (items[j].model, items[j].values),
                        measure: measure,
                        lowerIsBetter: lowerIsBetter)
                ].compactMap { $0 }
            }
        }
        return out
    }
}
