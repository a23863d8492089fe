import Foundation
import Statistics

/// One model's measurement from every seed of a comparison, in the run's seed order (the same order for every
/// model, so the values pair up by seed).
package struct SeedSeries: Codable, Sendable, Equatable {
    package var model: String
    package var values: [Double]
    package init(model: String, values: [Double]) { self.model = model; self.values = values }
}

/// Measures over several seeds: every model of a task trained from each seed (weights and batch order; the data
/// and its splits stay fixed). The comparisons between models are `Compare.allPairs`, judged in families.
package enum OverSeeds {
    /// The run's seed first, then `count - 1` more, a golden-ratio stride apart, so the streams each derives by a
    /// small offset (`SeedStream`) never meet another seed's.
    package static func seeds(_ base: UInt64, count: Int) -> [UInt64] {
        (0..<max(1, count)).map { base &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
    }

    /// The mean over seeds with its 95% t-interval; for a positive quantity (`positive`: a loss, an MSE, a time) the
    /// geometric mean with the interval of the logarithms, back-transformed, so it never reaches below 0.
    package static func interval(_ values: [Double], positive: Bool) -> Stats.Interval {
        positive ? Stats.logInterval(values) : Stats.tInterval(values)
    }

    /// "0.0123 [0.0101, 0.0145]" in the caller's units (`show` formats one number); one value alone.
    package static func withInterval(_ values: [Double], positive: Bool, _ show: (Double) -> String) -> String {
        let i = interval(values, positive: positive)
        return values.filter(\.isFinite).count > 1 ? "\(show(i.mean)) [\(show(i.low)), \(show(i.high))]" : show(i.mean)
    }

    /// The body's account of one measure over seeds: each model's value with its interval and every pair's estimate
    /// with its unadjusted p, pointing to the Answers item whose family decides which hold. nil with one seed.
    package static func describe(
        _ series: [SeedSeries], what: String, positive: Bool, lowerIsBetter: Bool, answer: String,
        show: @escaping (Double) -> String = { fmt($0, 3) }
    ) -> Finding? {
        guard let n = series.first?.values.count, n > 1 else { return nil }
        let pairs = Compare.allPairs(series, measure: what, lowerIsBetter: lowerIsBetter, positive: positive)
        let each = series.map { "\($0.model) \(withInterval($0.values, positive: positive, show))" }
        var numbers: [String: Double] = ["seeds": Double(n)]
        for s in series {
            let i = interval(s.values, positive: positive)
            numbers["\(s.model) mean"] = i.mean; numbers["\(s.model) low"] = i.low; numbers["\(s.model) high"] = i.high
        }
        return .headline(
            """
            \(what.prefix(1).uppercased())\(what.dropFirst()) over \(n) seeds (\(positive ? "geometric " : "")mean, \
            95% interval): \(each.joined(separator: ", ")). Every pair, paired over seeds: \
            \(pairs.map { "\($0.estimateText), p \(fmt($0.p, 2))" }.joined(separator: "; ")). Which of these hold \
            after Holm's correction over the question's comparisons: Answers, \(answer).
            """, numbers: numbers)
    }
}

/// A task's measures over every seed, for results.json: the seeds in order and, per measure, one series per model.
package struct SeedComparison: Codable, Sendable, Equatable {
    package init(seeds: [UInt64], measures: [String: [SeedSeries]]) {
        self.seeds = seeds; self.measures = measures
    }
    package var seeds: [UInt64]
    package var measures: [String: [SeedSeries]]
}
