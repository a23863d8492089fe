import Foundation
import TensorCore
import Recurrent
import SequenceData
import Charts
import Analysis
import Statistics

/// The LSTM's plateau on long sequences and its standard remedies, measured side by side: the same LSTM
/// trained from each gate initialisation, with how long its keep gate holds a unit's state before and after.
package struct GateInitComparison {
    struct Run: Codable, Sendable {
        var gateInit: GateInit
        var testAccuracy: Double, bestAccuracy: Double
        var accuracyPerEpoch: [Double]
        /// Per unit, 1 / (1 - mean keep-gate activation) on the probe batch: the steps over which it keeps
        /// its state (capped at the sequence length), at initialisation and after training.
        var memoryInitial: [Double], memoryTrained: [Double]
        /// Per test digit, 1 where this LSTM classified it right.
        var testItems: [Double] = []
    }

    /// Per unit of layer 0, the number of steps the keep gate (LSTM f) holds the state: 1 / (1 - mean f).
    static func memorySpans(_ model: SequenceModel<Float>, probe: SequenceBatch<Float>, cap: Int) throws -> [Double] {
        guard let block = model.rnn.config.cell.carryGateBlock else { return [] }
        _ = try model.predict(probe.input)
        let meanKeep = try GateStatistics.meanActivation(model.rnn, block: block)
        return meanKeep.map { f in min(Double(cap), 1 / max(1 - f, 1e-12)) }
    }

    /// Sentences from the runs: accuracy of each initialisation with its interval and every pair compared over the
    /// same test digits (adjusted together), the memory each gives at the start and after training against the
    /// sequence length, and which is the default.
    static func findings(_ runs: [Run], steps: Int, chosen: GateInit) -> [Finding] {
        guard !runs.isEmpty else { return [] }
        var lines: [Finding] = []
        let n = runs.first?.testItems.count ?? 0
        let each = runs.map { r in
            "\(r.gateInit.rawValue) \(Verdicts.accuracyWithInterval(r.testAccuracy, n: n)) (best validation "
                + "\(TaskReport.pct(r.bestAccuracy)))"
        }
        let family = ComparisonFamily(
            item: "gate initialisation",
            Compare.pairsOverItems(
                runs.map { ($0.gateInit.rawValue, $0.testItems) }, measure: "test accuracy", lowerIsBetter: false))
        let verdict =
            family.held.isEmpty
            ? "no initialisation is ahead of another beyond the noise (\(family.correction))"
            : family.held.map {
                "\($0.first) ahead of \($0.second) (\($0.estimateText), Holm p \(fmt($0.adjustedP, 2)))"
            }
            .joined(separator: "; ")
        lines.append(
            .headline(
                "LSTM on pixel-by-pixel MNIST by gate initialisation, test accuracy with its 95% interval: "
                    + each.joined(separator: ", ") + "; paired over the \(n) test digits: \(verdict).",
                numbers: Dictionary(uniqueKeysWithValues: runs.map { ($0.gateInit.rawValue, $0.testAccuracy) })))
        let spans = runs.map { r in
            "\(r.gateInit.rawValue): median \(fmt(Stats.median(r.memoryInitial), 3)) steps at the start (90% of units "
                + "below \(fmt(Stats.quantile(r.memoryInitial, 0.9), 3))), "
                + "\(fmt(Stats.median(r.memoryTrained), 3)) after training"
        }
        let longest = runs.max { Stats.median($0.memoryInitial) < Stats.median($1.memoryInitial) }!
        lines.append(
            .detail(
                "How long the forget gate keeps a unit's state, 1 / (1 - mean f) on the probe batch: "
                    + spans.joined(separator: "; ") + ". The label depends on pixels up to \(steps) steps back; "
                    + "\(longest.gateInit.rawValue) starts with the longest memories.",
                numbers: Dictionary(
                    uniqueKeysWithValues: runs.map { ($0.gateInit.rawValue, Stats.median($0.memoryInitial)) })
            ))
        lines.append(.detail("The experiment's LSTM uses \(chosen.rawValue)."))
        return lines
    }
}
