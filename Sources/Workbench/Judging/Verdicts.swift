import Foundation
import Statistics

/// The words a report may use for one run's numbers, each decided by its definition: an accuracy with its interval,
/// a lowest final loss only outside both curves' noise, a gradient path that vanishes or explodes by the size it
/// reaches, saturation apart from gates that keep the state. Learning states are `Judge`'s.
package enum Verdicts {
    // MARK: accuracies on a test set

    /// One model's accuracy with its 95% Wilson interval, as a report writes it: "96.3% [95.0, 97.3]".
    package static func accuracyWithInterval(_ p: Double, n: Int) -> String {
        let (lo, hi) = Stats.wilson(p, n: n)
        return String(format: "%.1f%% [%.1f, %.1f]", 100 * p, 100 * lo, 100 * hi)
    }

    /// Which model ends with the lowest validation loss, when that is more than noise: the runner-up's last value
    /// above the leader's by more than twice their combined epoch-to-epoch noise (`noise`). Otherwise the two are
    /// indistinguishable on this run, and the clause says by how much.
    package static func lowest(_ curves: [(name: String, curve: [Double])]) -> String {
        let ranked = curves.compactMap { c in c.curve.last.map { (c.name, $0, Judge.noise(c.curve)) } }
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

    // MARK: gradients through time

    /// What a measured per-step gradient factor f does over `steps` steps, by the size it reaches (f^steps): it
    /// vanishes when less than a tenth is left, explodes past tenfold, and holds within an order of magnitude
    /// (rho = 1 measured at 0.989 over 49 steps keeps 0.58 of the gradient: it holds).
    package static func gradientPath(factor f: Double, steps: Int) -> String {
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
