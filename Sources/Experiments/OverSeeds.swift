import Foundation
import Charts

/// One model's measurement from every seed of a comparison, in the run's seed order (the same order for every
/// model, so the values pair up by seed).
package struct SeedSeries: Codable, Sendable, Equatable {
    package var model: String
    package var values: [Double]
    package init(model: String, values: [Double]) { self.model = model; self.values = values }
}

/// Comparisons over several seeds: every model of a task trained from each seed (weights and batch order; the data
/// and its splits stay fixed), and a ranking only where the paired difference over seeds is beyond its 95% interval.
enum OverSeeds {
    /// The run's seed first, then `count - 1` more, a golden-ratio stride apart, so the streams each derives by a
    /// small offset (`SeedStream`) never meet another seed's.
    static func seeds(_ base: UInt64, count: Int) -> [UInt64] {
        (0..<max(1, count)).map { base &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
    }

    /// Student's t quantile 0.975 with `df` degrees of freedom: the table to 10, then the Cornish-Fisher expansion
    /// around the normal quantile (within 0.001 beyond 10).
    static func t975(_ df: Int) -> Double {
        let table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]
        guard df > 10 else { return df >= 1 ? table[df - 1] : .nan }
        let z = 1.959964, d = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d * d * d)
    }

    /// Mean and 95% t-interval of `values` (the finite ones); the interval is empty (low = high = mean) for one.
    static func interval(_ values: [Double]) -> (mean: Double, low: Double, high: Double) {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return (.nan, .nan, .nan) }
        let n = Double(v.count), mean = v.reduce(0, +) / n
        guard v.count > 1 else { return (mean, mean, mean) }
        let half = t975(v.count - 1) * Density.std(v) / n.squareRoot()
        return (mean, mean - half, mean + half)
    }

    /// "0.0123 [0.0101, 0.0145]" in the caller's units (`show` formats one number).
    static func withInterval(_ values: [Double], _ show: (Double) -> String) -> String {
        let i = interval(values)
        return values.count > 1 ? "\(show(i.mean)) [\(show(i.low)), \(show(i.high))]" : show(i.mean)
    }

    /// How a comparison over seeds came out, before it is put in words.
    struct Ranking: Equatable {
        var best: String
        /// Every other model with the paired difference to the best (positive: the best is better) and its interval.
        var others: [(model: String, mean: Double, low: Double, high: Double)]
        var seeds: Int
        /// Models whose difference to the best has an interval that includes 0.
        var tied: [String] { others.filter { $0.low <= 0 }.map(\.model) }

        static func == (a: Ranking, b: Ranking) -> Bool {
            a.best == b.best && a.seeds == b.seeds && a.others.map(\.model) == b.others.map(\.model)
                && zip(a.others, b.others).allSatisfy { $0.mean == $1.mean && $0.low == $1.low && $0.high == $1.high }
        }
    }

    /// The best model by mean over seeds and its paired difference to every other (over the seeds both have a
    /// finite value); nil with fewer than 2 such seeds.
    static func rank(_ series: [SeedSeries], lowerIsBetter: Bool) -> Ranking? {
        let finite = series.filter { $0.values.contains(where: \.isFinite) }
        let ranked = finite.sorted {
            let a = interval($0.values).mean, b = interval($1.values).mean
            return lowerIsBetter ? a < b : a > b
        }
        guard let best = ranked.first, ranked.count > 1 else { return nil }
        var others: [(String, Double, Double, Double)] = []
        var seeds = Int.max
        for other in ranked.dropFirst() {
            let d = zip(best.values, other.values).filter { $0.isFinite && $1.isFinite }
                .map { lowerIsBetter ? $1 - $0 : $0 - $1 }
            guard d.count > 1 else { return nil }
            seeds = min(seeds, d.count)
            let i = interval(d)
            others.append((other.model, i.mean, i.low, i.high))
        }
        return Ranking(best: best.model, others: others, seeds: seeds)
    }

    /// The comparison in words: every model's mean and interval, then a ranking where every paired interval excludes
    /// 0, otherwise which models are indistinguishable over these seeds and by how much. `what` names the measure
    /// ("final validation MSE on sine"), `best` the word for the winner ("lowest"); nil with fewer than 2 seeds.
    static func compare(
        _ series: [SeedSeries], lowerIsBetter: Bool, what: String, best word: String,
        show: @escaping (Double) -> String = { fmt($0, 3) }, rank headline: Finding.Rank = .headline
    ) -> Finding? {
        guard let r = rank(series, lowerIsBetter: lowerIsBetter) else { return nil }
        let all = series.map { "\($0.model) \(withInterval($0.values, show))" }.joined(separator: ", ")
        func difference(_ o: (model: String, mean: Double, low: Double, high: Double)) -> String {
            "\(o.model) by \(show(o.mean)) [\(show(o.low)), \(show(o.high))]"
        }
        let separated = r.others.filter { $0.low > 0 }, tied = r.others.filter { $0.low <= 0 }
        var text = "\(what.prefix(1).uppercased())\(what.dropFirst()), mean and 95% t-interval over \(r.seeds) seeds: "
        text += all + ". "
        if tied.isEmpty {
            text += """
                \(word.prefix(1).uppercased())\(word.dropFirst()): \(r.best), ahead of every other model beyond the \
                noise (paired over seeds, the 95% interval of each difference excludes 0: \
                \(separated.map(difference).joined(separator: "; "))).
                """
        } else {
            text += """
                \(([r.best] + tied.map(\.model)).joined(separator: ", ")) are indistinguishable over these seeds: \
                the paired difference's 95% interval includes 0 (\(tied.map(difference).joined(separator: "; "))); \
                no ranking among them is claimed
                """
            text +=
                separated.isEmpty
                ? "." : "; \(r.best) is ahead of \(separated.map(difference).joined(separator: "; "))."
        }
        var numbers: [String: Double] = ["seeds": Double(r.seeds)]
        for s in series {
            let i = interval(s.values)
            numbers["\(s.model) mean"] = i.mean; numbers["\(s.model) low"] = i.low; numbers["\(s.model) high"] = i.high
        }
        return Finding(headline, text, numbers: numbers)
    }
}

/// A task's measures over every seed, for results.json: the seeds in order and, per measure, one series per model.
package struct SeedComparison: Codable, Sendable, Equatable {
    package var seeds: [UInt64]
    package var measures: [String: [SeedSeries]]
}
