import Foundation
import Recurrent
import Statistics

/// What one model's training did, decided from its curves and its task's trivial baseline. The states are tried in
/// this order and the first that applies is the model's (`LearningState.definitions` states them for a report).
package enum LearningState: String, Codable, Sendable, CaseIterable {
    /// A non-finite loss, or a loss above 10 times its first epoch's.
    case diverged = "diverged"
    /// The best validation loss is not below the trivial baseline's by more than the larger of 5% of it and the
    /// curve's epoch-to-epoch noise (the noise alone for a classifier, whose accuracy is tested against chance), the
    /// last one ended within that margin of it, or the test accuracy's 95% binomial interval contains chance.
    case didNotLearn = "did not learn"
    /// Learned, then the validation loss rose beyond its noise from its minimum, at the last epoch and on average over
    /// the last three after the minimum.
    case overfitting = "overfitting"
    /// Learned, and the validation loss still fell beyond its noise over the last epochs: budget-limited.
    case stillImproving = "still improving"
    /// Learned, and within noise of its final level from an epoch on.
    case converged = "converged"
    /// Learned, but fewer than 3 epochs: no trend to judge.
    case tooShort = "too few epochs to judge"

    /// Whether the model learned its task (beat its trivial baseline, and chance).
    package var learned: Bool { self != .diverged && self != .didNotLearn }

    /// The definitions, once, for a report.
    package static let definitions = """
        Learning states, decided per model, task and seed from the validation curve and the task's trivial \
        baseline; the first that applies wins. Diverged: a non-finite loss, or one above 10x its first epoch's. Did \
        not learn: the best validation loss is not below the baseline's by more than the larger of 5% of it and the \
        curve's epoch-to-epoch noise (the noise alone for a classifier, whose accuracy is tested instead), or the \
        last one ends within that margin of it, or the test accuracy's 95% binomial interval contains chance. \
        Overfitting: learned, then the validation loss rose from its minimum by more than 3x its noise, at the last \
        epoch and on average over the last 3 after the minimum. Still improving: learned, and the loss fell by more \
        than 3x its noise over the last 3 epochs (budget-limited). Converged: learned, and within 3x its noise of the \
        final level from epoch N on (N the first epoch after which it stays there). Noise: the standard deviation of \
        the curve's second differences over its second half (at least its last 5 epochs, spikes left out), divided by \
        sqrt 6, so a steady trend is not noise. A spike (a rise of 5x the typical change and 10% of the value that \
        the next epoch undoes by half) is an event beside the state, not a state.
        """
}

/// A task's trivial predictor, against which a model is said to have learned: its loss on the validation split (in
/// the model's loss units) and, for a classifier, chance on the test split.
package struct TrivialBaseline: Codable, Sendable, Equatable {
    /// What it predicts: "training mean", "class prior", "unigram", "naive last value".
    package var name: String
    package var validationLoss: Double
    /// The majority class's share of the test split (classification only).
    package var chance: Double?
    package init(name: String, validationLoss: Double, chance: Double? = nil) {
        self.name = name; self.validationLoss = validationLoss; self.chance = chance
    }
}

/// A model's test accuracy on `samples` test items, for the chance check.
package struct TestAccuracy: Codable, Sendable, Equatable {
    package var accuracy: Double, samples: Int
    /// What the held-out split is called where it is read ("test"; "validation" in `rnnlab train`).
    package var split: String
    package init(accuracy: Double, samples: Int, split: String = "test") {
        self.accuracy = accuracy; self.samples = samples; self.split = split
    }
}

/// One model's learning state on one task and seed, with the numbers it was decided from.
package struct LearningJudgement: Codable, Sendable, Equatable {
    package var task: String, model: String
    /// 1 for the run's own seed, 2... for the further seeds.
    package var seed: Int
    package var state: LearningState
    package var evidence: Evidence
    /// Jumps of the validation loss: events beside the state.
    package var spikes: [Spike]

    package struct Evidence: Codable, Sendable, Equatable {
        package var epochs: Int
        package var first: Double, best: Double, bestEpoch: Int, last: Double
        /// The robust epoch-to-epoch noise and the band (3x it, at least 0.1% of the final level) differences are
        /// judged against.
        package var noise: Double, band: Double
        package var baseline: Double?, baselineName: String?, margin: Double?
        /// The epoch of the first non-finite or tenfold loss (diverged).
        package var divergedEpoch: Int?
        /// The epoch from which the curve stays within the band of its final level (converged).
        package var convergedFrom: Int?
        /// How much the loss fell over the last epochs (still improving), and over how many.
        package var recentDrop: Double?, recentEpochs: Int?
        package var testAccuracy: Double?, testLow: Double?, testHigh: Double?, chance: Double?
        /// The held-out split's name when it is not "test" (`rnnlab train` reads its validation split).
        package var heldOut: String? = nil
    }

    package struct Spike: Codable, Sendable, Equatable { package var epoch: Int, from: Double, to: Double }
}

/// The one place learning states are decided.
package enum Judge {
    /// The noise of a curve: the standard deviation of its second differences v[t+1] - 2 v[t] + v[t-1] over its second
    /// half (at least its last 5 epochs), divided by sqrt 6: for independent noise of sd s a second difference has sd
    /// s sqrt 6, and a steady trend (linear in the epochs) adds nothing to it. Second differences that touch a spike
    /// epoch or the epoch after it are left out, so a jump does not inflate it. A curve too short for two of them
    /// takes the standard deviation of its changes divided by sqrt 2.
    package static func noise(_ curve: [Double], excluding spikes: Set<Int> = []) -> Double {
        let start = max(0, curve.count - max(5, curve.count / 2))
        let touched = spikes.union(spikes.map { $0 + 1 })
        var second: [Double] = []
        for t in max(start + 1, 1)..<max(curve.count - 1, 1)
        where !touched.contains(t - 1) && !touched.contains(t) && !touched.contains(t + 1) {
            let d: Double = curve[t + 1] - 2 * curve[t] + curve[t - 1]
            if d.isFinite { second.append(d) }
        }
        guard second.count < 2 else { return Stats.std(second) / 6.0.squareRoot() }
        // Too short for second differences (3 epochs): the changes' spread, trend and all, which claims less.
        let first = (max(start, 1)..<curve.count).filter { !touched.contains($0) }.map { curve[$0] - curve[$0 - 1] }
        return Stats.std(first.filter(\.isFinite)) / 2.0.squareRoot()
    }

    /// Notable jumps of a loss curve: the epochs (1-based) whose rise over the previous epoch exceeds both 5 times
    /// the curve's typical epoch-to-epoch change (the median absolute change, robust to the jumps themselves) and
    /// 10% of the previous value, and that came back (the next epoch undoes at least half the rise): a rise at the
    /// last epoch, or one that stays, is part of the curve's trend.
    package static func spikes(_ curve: [Double]) -> [LearningJudgement.Spike] {
        let steps = zip(curve.dropFirst(), curve).map { $0 - $1 }.filter(\.isFinite)
        guard steps.count >= 4 else { return [] }
        let typical = Stats.median(steps.map(abs))
        return curve.indices.dropFirst().dropLast().compactMap { t in
            let rise = curve[t] - curve[t - 1]
            let back = curve[t] - curve[t + 1] >= rise / 2
            return rise > 5 * typical && rise > 0.1 * abs(curve[t - 1]) && back
                ? LearningJudgement.Spike(epoch: t + 1, from: curve[t - 1], to: curve[t]) : nil
        }
    }

    /// The state of one model from its validation and training loss per epoch, its task's trivial baseline and, for
    /// a classifier, its test accuracy (`LearningState` defines each).
    package static func learning(
        task: String, model: String, seed: Int, validation v: [Double], training t: [Double],
        baseline: TrivialBaseline?, test: TestAccuracy? = nil
    ) -> LearningJudgement {
        let spikes = spikes(v)
        let spikeIndices = Set(spikes.map { $0.epoch - 1 })
        let finite = v.filter(\.isFinite)
        let noise = noise(v, excluding: spikeIndices)
        let best = finite.min() ?? .nan
        let last = v.last ?? .nan
        var e = LearningJudgement.Evidence(
            epochs: v.count, first: v.first ?? .nan, best: best, bestEpoch: (v.firstIndex(of: best) ?? -1) + 1,
            last: last, noise: noise, band: max(3 * noise, 1e-3 * abs(last)),
            baseline: baseline?.validationLoss, baselineName: baseline?.name)
        func judged(_ s: LearningState) -> LearningJudgement {
            LearningJudgement(task: task, model: model, seed: seed, state: s, evidence: e, spikes: spikes)
        }
        if let epoch = divergence(v, t) {
            e.divergedEpoch = epoch
            return judged(.diverged)
        }
        if let test {
            let w = Stats.wilson(test.accuracy, n: test.samples)
            e.testAccuracy = test.accuracy; e.testLow = w.low; e.testHigh = w.high; e.chance = baseline?.chance
            e.heldOut = test.split == "test" ? nil : test.split
        }
        if let b = baseline?.validationLoss, b.isFinite {
            // A classifier's accuracy is tested against chance below; its loss needs only to clear its noise.
            let margin = test == nil ? max(0.05 * abs(b), noise) : noise
            e.margin = margin
            if best >= b - margin || abs(last - b) <= margin { return judged(.didNotLearn) }
        }
        if let chance = e.chance, let low = e.testLow, let high = e.testHigh, low <= chance, chance <= high {
            return judged(.didNotLearn)
        }
        guard v.count >= 3 else { return judged(.tooShort) }
        let state = trend(v, band: e.band, spikes: spikeIndices, bestIndex: e.bestEpoch - 1)
        e.convergedFrom = state.convergedFrom; e.recentDrop = state.drop; e.recentEpochs = state.window
        return judged(state.state)
    }

    /// `learning` from a training history (each epoch's validation and training loss).
    package static func learning(
        task: String, model: String, seed: Int, history: [EpochRecord], baseline: TrivialBaseline?,
        test: TestAccuracy? = nil
    ) -> LearningJudgement {
        learning(
            task: task, model: model, seed: seed, validation: history.map { $0.validationLoss ?? .nan },
            training: history.map(\.trainLoss), baseline: baseline, test: test)
    }

    /// The epoch (1-based) of the first non-finite loss or one above 10x its first epoch's, if any.
    static func divergence(_ v: [Double], _ t: [Double]) -> Int? {
        func first(_ c: [Double]) -> Int? {
            guard let start = c.first else { return nil }
            return c.indices.first { !c[$0].isFinite || (start.isFinite && start > 0 && c[$0] > 10 * start) }
        }
        return [first(v), first(t)].compactMap { $0 }.min().map { $0 + 1 }
    }

    /// Overfitting, still improving or converged, for a curve that learned (at least 3 epochs, all finite).
    static func trend(_ v: [Double], band: Double, spikes: Set<Int>, bestIndex: Int, window: Int = 3) -> (
        state: LearningState, convergedFrom: Int?, drop: Double?, window: Int?
    ) {
        let n = v.count, k = min(window, n - 1)
        let calm = v.indices.filter { !spikes.contains($0) }
        // A window that starts on a spike falls as the curve recovers from it: still improving, the spike beside.
        let drop = v[n - 1 - k] - v[n - 1], falling = drop > band
        if falling { return (.stillImproving, nil, drop, k) }
        // Risen from the minimum and stayed: the last epoch and the mean of the last (up to 3) calm epochs after the
        // minimum both above it by more than the band.
        let after = calm.filter { $0 > bestIndex }.suffix(3).map { v[$0] }
        if let last = after.last, last - v[bestIndex] > band, Stats.mean(after) - v[bestIndex] > band {
            return (.overfitting, nil, nil, nil)
        }
        let level = Stats.mean(calm.suffix(3).map { v[$0] })
        // The first epoch from which every calm epoch stays within the band of the final level.
        var from = n
        while from > 0, !calm.contains(from - 1) || abs(v[from - 1] - level) <= band { from -= 1 }
        return (.converged, min(from + 1, n), nil, nil)
    }
}

extension Judge {
    /// A trained model's state from its history, with its test accuracy (a classifier's, on `testCount` items) for
    /// the chance check.
    package static func learning(
        task: String, model: String, seed: Int, history: [EpochRecord], testAccuracy: Double?, testCount: Int,
        baseline: TrivialBaseline?, split: String = "test"
    ) -> LearningJudgement {
        learning(
            task: task, model: model, seed: seed, history: history, baseline: baseline,
            test: testAccuracy.map { TestAccuracy(accuracy: $0, samples: testCount, split: split) })
    }
}

extension LearningJudgement {
    /// How a model's seeds came out, by state: "converged in 3 of 3 seeds", "did not learn in 2 of 3 seeds,
    /// converged in 1".
    package static func tally(_ judged: [LearningJudgement]) -> String {
        guard !judged.isEmpty else { return "not run" }
        var counts: [(LearningState, Int)] = []
        for s in LearningState.allCases {
            let n = judged.filter { $0.state == s }.count
            if n > 0 { counts.append((s, n)) }
        }
        let order = LearningState.allCases
        counts.sort { ($0.1, order.firstIndex(of: $1.0)!) > ($1.1, order.firstIndex(of: $0.0)!) }
        let first = counts[0]
        let rest = counts.dropFirst().map { "\($0.0.rawValue) in \($0.1)" }
        return "\(first.0.rawValue) in \(first.1) of \(judged.count) seed\(judged.count == 1 ? "" : "s")"
            + (rest.isEmpty ? "" : ", " + rest.joined(separator: ", "))
    }

    /// How many judgements are in each state, in the states' order: ["6 did not learn", "17 converged"].
    package static func counts(_ judged: [LearningJudgement]) -> [String] {
        LearningState.allCases.compactMap { st in
            let n = judged.filter { $0.state == st }.count
            return n > 0 ? "\(n) \(st.rawValue)" : nil
        }
    }

    /// The state with its key number, for a table cell: "converged from epoch 34", "did not learn (best 0.153,
    /// baseline 0.158)", "still improving (fell 0.004 over the last 3 epochs)".
    package var brief: String {
        let e = evidence
        switch state {
        case .diverged: return "diverged at epoch \(e.divergedEpoch ?? 0)"
        case .didNotLearn:
            if let acc = e.testAccuracy, let chance = e.chance, let low = e.testLow, let high = e.testHigh,
                low <= chance, chance <= high
            {
                return "did not learn (\(e.heldOut ?? "test") \(TaskReport.pct(acc)), chance \(TaskReport.pct(chance)))"
            }
            let b = e.baseline ?? .nan, m = e.margin ?? 0
            return e.best < b - m
                ? "did not learn: ended within \(fmt(m, 2)) of the baseline (last \(fmt(e.last, 3)), baseline "
                    + "\(fmt(b, 3)))"
                : "did not learn (best \(fmt(e.best, 3)), baseline \(fmt(b, 3)))"
        case .overfitting: return "overfitting (min \(fmt(e.best, 3)) at epoch \(e.bestEpoch), last \(fmt(e.last, 3)))"
        case .stillImproving:
            return "still improving (fell \(fmt(e.recentDrop ?? .nan, 2)) over the last \(e.recentEpochs ?? 0) epochs)"
        case .converged: return "converged from epoch \(e.convergedFrom ?? 0)"
        case .tooShort: return "learned; too few epochs to judge a trend"
        }
    }
}
