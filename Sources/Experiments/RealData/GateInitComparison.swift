import Foundation
import TensorCore
import Recurrent
import SequenceData
import Charts
import Analysis

/// The LSTM's plateau on long sequences and its standard remedies, measured side by side: the same LSTM
/// trained from each gate initialisation, with how long its keep gate holds a unit's state before and after.
struct GateInitComparison {
    struct Run: Codable, Sendable {
        var gateInit: GateInit
        var testAccuracy: Double, bestAccuracy: Double
        var accuracyPerEpoch: [Double]
        /// Per unit, 1 / (1 - mean keep-gate activation) on the probe batch: the steps over which it keeps
        /// its state (capped at the sequence length), at initialisation and after training.
        var memoryInitial: [Double], memoryTrained: [Double]
    }

    /// Per unit of layer 0, the number of steps the keep gate (LSTM f) holds the state: 1 / (1 - mean f).
    static func memorySpans(_ model: SequenceModel<Float>, probe: SequenceBatch<Float>, cap: Int) throws -> [Double] {
        guard let block = model.rnn.config.cell.carryGateBlock else { return [] }
        _ = try model.predict(probe.input)
        let meanKeep = try GateStatistics.meanActivation(model.rnn, block: block)
        return meanKeep.map { f in min(Double(cap), 1 / max(1 - f, 1e-12)) }
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func quantile(_ v: [Double], _ q: Double) -> Double {
        let s = v.sorted()
        return s.isEmpty ? .nan : s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))]
    }

    /// Sentences from the runs: accuracy of each initialisation, the memory each gives at the start and after
    /// training against the sequence length, and which is the default and why.
    static func findings(_ runs: [Run], steps: Int, chosen: GateInit) -> [Finding] {
        guard let best = runs.max(by: { $0.testAccuracy < $1.testAccuracy }) else { return [] }
        var lines: [Finding] = []
        let each = runs.map { r in
            "\(r.gateInit.rawValue) \(RealDataReport.pct(r.testAccuracy)) (best \(RealDataReport.pct(r.bestAccuracy)))"
        }
        lines.append(
            .headline(
                "LSTM on pixel-by-pixel MNIST by gate initialisation: " + each.joined(separator: ", ")
                    + "; \(best.gateInit.rawValue) learns best.",
                numbers: Dictionary(uniqueKeysWithValues: runs.map { ($0.gateInit.rawValue, $0.testAccuracy) })))
        let spans = runs.map { r in
            "\(r.gateInit.rawValue): median \(fmt(median(r.memoryInitial), 3)) steps at the start (90% of units "
                + "below \(fmt(quantile(r.memoryInitial, 0.9), 3))), \(fmt(median(r.memoryTrained), 3)) after training"
        }
        let longest = runs.max { median($0.memoryInitial) < median($1.memoryInitial) }!
        lines.append(
            .detail(
                "How long the forget gate keeps a unit's state, 1 / (1 - mean f) on the probe batch: "
                    + spans.joined(separator: "; ") + ". The label depends on pixels up to \(steps) steps back; "
                    + "\(longest.gateInit.rawValue) starts with the longest memories, so its gradient reaches "
                    + "the early pixels from the first epoch.",
                numbers: Dictionary(uniqueKeysWithValues: runs.map { ($0.gateInit.rawValue, median($0.memoryInitial)) })
            ))
        let chosenRun = runs.first { $0.gateInit == chosen }
        lines.append(
            .detail(
                chosenRun.map { c in
                    c.gateInit == best.gateInit
                        ? "The experiment's LSTM uses \(chosen.rawValue), the initialisation that learned best here."
                        : "The experiment's LSTM uses \(chosen.rawValue) (\(RealDataReport.pct(c.testAccuracy))), but "
                            + "\(best.gateInit.rawValue) learned better in this run "
                            + "(\(RealDataReport.pct(best.testAccuracy)))."
                } ?? "The experiment's LSTM uses \(chosen.rawValue)."))
        return lines
    }
}
