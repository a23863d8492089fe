import Foundation
import Charts

/// The words a report may use for a comparison or a curve, each decided by its definition from the numbers: a
/// ranking only outside the noise, "converged" only once a curve has reached its final level within its noise,
/// "stable" only when the validation loss does not rise beyond it, saturation apart from gates that keep the state.
enum Verdicts {
    // MARK: accuracies on a test set

    /// The 95% Wilson score interval of a proportion `p` measured on `n` samples.
    static func wilson(_ p: Double, n: Int) -> (low: Double, high: Double) {
        guard n > 0, p.isFinite else { return (.nan, .nan) }
        let z = 1.959964, nd = Double(n), z2 = z * z
        let centre = (p + z2 / (2 * nd)) / (1 + z2 / nd)
        let half = z / (1 + z2 / nd) * (p * (1 - p) / nd + z2 / (4 * nd * nd)).squareRoot()
        return (max(0, centre - half), min(1, centre + half))
    }

    /// One model's accuracy with its interval, as a report writes it: "96.3% [95.0, 97.3]".
    static func accuracyWithInterval(_ p: Double, n: Int) -> String {
        let (lo, hi) = wilson(p, n: n)
        return String(format: "%.1f%% [%.1f, %.1f]", 100 * p, 100 * lo, 100 * hi)
    }

    /// Which model has the highest accuracy on the same `n` test samples, when that is more than noise: its 95%
    /// binomial interval lies above every other model's. Otherwise the models whose intervals overlap the leader's
    /// are indistinguishable on this run, and the sentence says so with the difference.
    static func highestAccuracy(_ models: [(name: String, accuracy: Double)], n: Int, task: String) -> Finding? {
        let ranked = models.filter { $0.accuracy.isFinite }.sorted { $0.accuracy > $1.accuracy }
        guard let best = ranked.first, n > 0 else { return nil }
        let all = ranked.map { "\($0.name) \(accuracyWithInterval($0.accuracy, n: n))" }.joined(separator: ", ")
        let bestLow = wilson(best.accuracy, n: n).low
        let tied = ranked.dropFirst().filter { wilson($0.accuracy, n: n).high >= bestLow }
        var numbers = Dictionary(uniqueKeysWithValues: ranked.map { ($0.name, $0.accuracy) })
        numbers["test samples"] = Double(n)
        guard let closest = tied.first else {
            return .headline(
                """
                Highest test accuracy on \(task): \(best.name), its 95% binomial interval over the \(n) test \
                samples above every other model's (\(all)).
                """, numbers: numbers)
        }
        let gap = 100 * (best.accuracy - closest.accuracy)
        return .headline(
            """
            Test accuracy on \(task): \(all). \(([best.name] + tied.map(\.name)).joined(separator: ", ")) are \
            indistinguishable on this run: \(fmt(gap, 2)) points apart, inside the 95% binomial intervals over \
            \(n) test samples; no ranking is claimed.
            """, numbers: numbers)
    }

    /// Which model ends with the lowest validation loss, when that is more than noise: the runner-up's last value
    /// above the leader's by more than twice their combined epoch-to-epoch noise (`noise`). Otherwise the two are
    /// indistinguishable on this run, and the clause says by how much.
    static func lowest(_ curves: [(name: String, curve: [Double])]) -> String {
        let ranked = curves.compactMap { c in c.curve.last.map { (c.name, $0, noise(c.curve)) } }
            .filter { $0.1.isFinite }.sorted { $0.1 < $1.1 }
        guard let best = ranked.first else { return "no finite final loss" }
        guard ranked.count > 1 else { return "only \(best.0)" }
        let next = ranked[1], band = 2 * (best.2 * best.2 + next.2 * next.2).squareRoot()
        if next.1 - best.1 > band {
            return "lowest: \(best.0), beyond both curves' epoch-to-epoch noise (\(fmt(next.1 - best.1, 2)) below "
                + "\(next.0), noise band \(fmt(band, 2)))"
        }
        return "\(best.0) and \(next.0) are indistinguishable on this run (\(fmt(next.1 - best.1, 2)) apart, inside "
            + "their epoch-to-epoch noise band of \(fmt(band, 2)))"
    }

    // MARK: curves

    /// What a per-epoch validation curve did, by definition:
    /// - overfitting: it ends above its minimum by more than its noise (the epoch of the minimum named);
    /// - still improving: its last epochs improved by more than its noise: budget-limited, not converged;
    /// - converged: at its final level, within its noise, from `epoch` (the first epoch that came that close).
    enum Trend: Equatable {
        case overfitting(bestEpoch: Int, best: Double, last: Double)
        case stillImproving(overLast: Int, by: Double)
        case converged(epoch: Int)
        case tooShort
    }

    /// The noise of a curve: the standard deviation of its epoch-to-epoch changes over its second half (around
    /// their mean, so a steady trend is not counted as noise), divided by sqrt 2 (a change is the difference of two
    /// noisy values).
    static func noise(_ curve: [Double]) -> Double {
        let half = Array(curve.suffix(max(3, curve.count / 2)))
        let steps = zip(half.dropFirst(), half).map { $0 - $1 }
        return Density.std(steps) / 2.0.squareRoot()
    }

    /// The trend of a curve whose lower values are better (a loss; pass accuracies negated). Differences count
    /// only beyond twice the curve's noise.
    static func trend(_ curve: [Double], window: Int = 3) -> Trend {
        let c = curve.filter(\.isFinite)
        guard c.count >= 3 else { return .tooShort }
        let band = 2 * noise(c)
        let best = c.min()!, bestIndex = c.firstIndex(of: best)!
        if c.last! - best > band && bestIndex < c.count - 1 {
            return .overfitting(bestEpoch: bestIndex + 1, best: best, last: c.last!)
        }
        let k = min(window, c.count - 1)
        let recent = c[c.count - 1 - k] - c.last!
        if recent > band { return .stillImproving(overLast: k, by: recent) }
        // Converged from the first epoch that came within its noise of the final level.
        let reached = (0..<c.count).first { abs(c[$0] - c.last!) <= band } ?? c.count - 1
        return .converged(epoch: reached + 1)
    }

    /// The trend in words, for a curve of `what` ("validation loss").
    static func describe(_ t: Trend, _ what: String) -> String {
        switch t {
        case let .overfitting(epoch, best, last):
            return """
                \(what) rose from its minimum \(fmt(best, 3)) at epoch \(epoch) to \(fmt(last, 3)) at the last \
                epoch, beyond its noise: overfitting from epoch \(epoch + 1), not stable
                """
        case let .stillImproving(k, by):
            return """
                \(what) still improving at the last epoch (by \(fmt(by, 3)) over the last \(k) epochs, beyond its \
                noise): budget-limited, not converged
                """
        case let .converged(epoch):
            return "\(what) at its final level, within its noise, from epoch \(epoch) (converged, stable)"
        case .tooShort:
            return "\(what): too few epochs to tell a trend"
        }
    }

    /// The trend in a few words, for an answer that lists several models.
    static func brief(_ t: Trend) -> String {
        switch t {
        case let .overfitting(epoch, best, last):
            "overfitting: rose from its minimum \(fmt(best, 3)) at epoch \(epoch) to \(fmt(last, 3)) (not stable)"
        case let .stillImproving(k, by):
            "still improving by \(fmt(by, 3)) over the last \(k) epochs (budget-limited, not converged)"
        case let .converged(epoch): "converged (within its noise of the final level from epoch \(epoch))"
        case .tooShort: "too few epochs to tell"
        }
    }

    /// Notable jumps of a loss curve: the epochs (1-based) whose rise over the previous epoch exceeds both 5 times
    /// the curve's typical epoch-to-epoch change (the median absolute change, robust to the jumps themselves) and
    /// 10% of the previous value.
    static func spikes(_ curve: [Double]) -> [(epoch: Int, from: Double, to: Double)] {
        let steps = zip(curve.dropFirst(), curve).map { $0 - $1 }.filter(\.isFinite)
        guard steps.count >= 4 else { return [] }
        let typical = steps.map(abs).sorted()[steps.count / 2]
        return curve.indices.dropFirst().compactMap { t in
            let rise = curve[t] - curve[t - 1]
            return rise > 5 * typical && rise > 0.1 * abs(curve[t - 1]) ? (t + 1, curve[t - 1], curve[t]) : nil
        }
    }

    // MARK: gradients through time

    /// What a measured per-step gradient factor f does over `steps` steps, by the size it reaches (f^steps): it
    /// vanishes when less than a tenth is left, explodes past tenfold, and holds within an order of magnitude
    /// (rho = 1 measured at 0.989 over 49 steps keeps 0.58 of the gradient: it holds).
    static func gradientPath(factor f: Double, steps: Int) -> String {
        guard f.isFinite, f > 0 else { return "not measurable" }
        let total = Foundation.pow(f, Double(max(steps, 1)))
        let over = "x\(fmt(total, 3)) over \(steps) steps"
        if total < 0.1 { return "vanishes (\(over))" }
        if total > 10 { return "explodes (\(over))" }
        return "holds (\(over), within an order of magnitude)"
    }

    // MARK: gates

    /// A gate's saturation split by what it means: `squashing`, the fraction where the activation's derivative is
    /// near 0 on a path the signal goes through (tanh at +-1, a sigmoid gate shut or wide open); `kept`, the fraction
    /// in the position that keeps the state, which is memory, not a pathology: the carry gate (LSTM f, GRU z) near 1,
    /// the LSTM's write gate i near 0 (chrono initialisation sets both).
    static func saturation(gate: String, low: Double, high: Double, carryGate: String?, writeGate: String?) -> (
        squashing: Double, kept: Double
    ) {
        gate == carryGate ? (low, high) : gate == writeGate ? (high, low) : (low + high, 0)
    }
}
