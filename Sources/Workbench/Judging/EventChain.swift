import Foundation
import Analysis
import Recurrent
import Statistics

/// Events in one run's training, in the order they happened, told as one account: a gradient spike, a loss spike,
/// a saturation jump, the gradient through time collapsing, accuracy falling to chance, a non-finite loss.
package struct TrainingEvent: Codable, Sendable, Equatable {
    package enum Kind: String, Codable, Sendable, Comparable {
        case nonFinite = "non-finite loss", gradientSpike = "gradient spike", lossSpike = "loss spike"
        case saturationJump = "saturation jump", gradientCollapse = "gradient through time collapsed"
        case atChance = "accuracy at chance"
        package static func < (a: Kind, b: Kind) -> Bool { order(a) < order(b) }
        static func order(_ k: Kind) -> Int {
            [
                .nonFinite, .gradientSpike, .lossSpike, .saturationJump,
                .gradientCollapse, .atChance
            ].firstIndex(of: k)!
        }
    }
    package var epoch: Int, kind: Kind
    /// What happened, with its numbers ("the largest gradient norm jumped to 780 (median 3.1 before)").
    package var text: String
}

package enum EventChain {
    /// The events of one run from its history and, where it was tracked, its weight snapshots (epoch 0 first).
    /// `chance` and `validationSamples`: a classifier's chance level and the size of its validation split.
    package static func events(
        history: [EpochRecord], snapshots: [WeightEvolution.Snapshot] = [], cell: CellKind,
        chance: Double? = nil, validationSamples: Int? = nil, clip: Double? = nil
    ) -> [TrainingEvent] {
        var out: [TrainingEvent] = []
        if let bad = history.first(where: { !$0.trainLoss.isFinite || !($0.validationLoss ?? 0).isFinite }) {
            out.append(.init(epoch: bad.epoch, kind: .nonFinite, text: "the loss became non-finite"))
        }
        out += gradientSpikes(history, clip: clip)
        out += Judge.spikes(history.map { $0.validationLoss ?? .nan }).map {
            .init(
                epoch: $0.epoch, kind: .lossSpike,
                text: "the validation loss jumped from \(fmt($0.from, 3)) to \(fmt($0.to, 3))")
        }
        out += snapshotEvents(snapshots, cell: cell)
        if let chance, let n = validationSamples, let e = atChanceFrom(history, chance: chance, samples: n) {
            let last = history.last?.validationAccuracy ?? .nan
            out.append(
                .init(
                    epoch: e, kind: .atChance,
                    text:
                        "validation accuracy stayed within its 95% interval of chance (\(TaskReport.pct(chance))) "
                        + "to the end (last \(TaskReport.pct(last)))"))
        }
        return out.sorted { ($0.epoch, $0.kind) < ($1.epoch, $1.kind) }
    }

    /// Epochs whose largest gradient norm exceeds 10x the median of the epochs before (at least two before).
    static func gradientSpikes(_ history: [EpochRecord], clip: Double?) -> [TrainingEvent] {
        let norms = history.map(\.maxGradientNorm)
        return norms.indices.dropFirst(2).compactMap { e in
            let before = Stats.median(Array(norms[..<e]))
            guard norms[e].isFinite, before > 0, norms[e] > 10 * before else { return nil }
            let clipped = clip.map { "; clipped to \(fmt($0, 3))" } ?? ""
            return .init(
                epoch: history[e].epoch, kind: .gradientSpike,
                text: "the largest gradient norm jumped to \(fmt(norms[e], 3)) (median \(fmt(before, 3)) before"
                    + clipped + ")")
        }
    }

    /// From the weight snapshots: a squashing path's saturation rising by 20 points or more in one epoch, and the
    /// share of the last step's gradient reaching the first falling a hundredfold in one epoch.
    static func snapshotEvents(_ s: [WeightEvolution.Snapshot], cell: CellKind) -> [TrainingEvent] {
        var out: [TrainingEvent] = []
        for e in s.indices.dropFirst() {
            if let after = TaskReport.squashing(cell, s[e].saturation).worst {
                let same = s[e - 1].saturation.filter { $0.gate == after.gate }
                let from = TaskReport.squashing(cell, same).worst?.fraction ?? 0
                if after.fraction - from >= 0.2 {
                    out.append(
                        .init(
                            epoch: s[e].epoch, kind: .saturationJump,
                            text: "the saturation of \(after.gate) rose from \(TaskReport.pct(from)) to "
                                + TaskReport.pct(after.fraction)))
                }
            }
            let a = GradientFlow.firstToLastRatio(s[e - 1].stepGradientNorms)
            let b = GradientFlow.firstToLastRatio(s[e].stepGradientNorms)
            if a.isFinite, b.isFinite, a > 0, b < a / 100 {
                out.append(
                    .init(
                        epoch: s[e].epoch, kind: .gradientCollapse,
                        text: "||dL/dh_1|| / ||dL/dh_T|| fell from \(fmt(a, 3)) to \(fmt(b, 3))"))
            }
        }
        return out
    }

    /// The first epoch from which every validation accuracy lies within the 95% Wilson interval of chance on
    /// `samples` items, at least two epochs to the end.
    static func atChanceFrom(_ history: [EpochRecord], chance: Double, samples: Int) -> Int? {
        let w = Stats.wilson(chance, n: samples)
        let acc = history.map { $0.validationAccuracy ?? .nan }
        var from = acc.count
        while from > 0, w.low <= acc[from - 1], acc[from - 1] <= w.high { from -= 1 }
        return acc.count - from >= 2 ? history[from].epoch : nil
    }

    /// The events as one account ("MNIST pixels RNN, seed 1: at epoch 3 ...; at epoch 4 ..."), nil without any.
    package static func account(_ events: [TrainingEvent], run: String) -> String? {
        guard !events.isEmpty else { return nil }
        return "\(run): " + events.map { "at epoch \($0.epoch) \($0.text)" }.joined(separator: "; then ") + "."
    }
}
