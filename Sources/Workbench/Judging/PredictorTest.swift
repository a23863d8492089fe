import Foundation
import Statistics

/// A "why" as a test: does a quantity measured before the outcome (at initialisation) predict it across models and
/// seeds? The prediction is that a larger value gives a lower final loss; it holds where Spearman's rank correlation
/// between the two is negative with a permutation p below 0.05, and the runs that contradict it are named.
package struct PredictorTest: Codable, Sendable, Equatable {
    package struct Run: Codable, Sendable, Equatable {
        package var model: String, seed: Int
        package var predictor: Double, outcome: Double
        package var learned: Bool
        package init(model: String, seed: Int, predictor: Double, outcome: Double, learned: Bool) {
            self.model = model; self.seed = seed; self.predictor = predictor; self.outcome = outcome
            self.learned = learned
        }
        package var name: String { "\(model) seed \(seed)" }
    }
    package var predictor: String, outcome: String
    package var runs: [Run]
    package var spearman: Double, p: Double

    package init(predictor: String, outcome: String, runs: [Run]) {
        self.predictor = predictor; self.outcome = outcome
        self.runs = runs.filter { $0.predictor.isFinite && $0.outcome.isFinite }
        spearman = Stats.spearman(self.runs.map(\.predictor), self.runs.map(\.outcome))
        p = self.runs.count > 2 ? Stats.permutationP(self.runs.map(\.predictor), self.runs.map(\.outcome)) : .nan
    }

    /// Whether the larger value went with the lower loss beyond chance.
    package var predicts: Bool { spearman < 0 && p < 0.05 }

    /// Runs that did not learn although their value was above a run that did (and the learned runs below them).
    package var counterExamples: [Run] {
        let learned = runs.filter(\.learned), failed = runs.filter { !$0.learned }
        guard let lowestLearned = learned.map(\.predictor).min(), let highestFailed = failed.map(\.predictor).max()
        else { return [] }
        return failed.filter { $0.predictor > lowestLearned } + learned.filter { $0.predictor < highestFailed }
    }

    /// The test in a sentence: the correlation, its p, and the counter-examples by name.
    package var sentence: String {
        guard runs.count > 2 else { return "Too few runs (\(runs.count)) to test whether \(predictor) predicts it." }
        let verdict =
            predicts
            ? "a larger \(predictor) went with a lower \(outcome) beyond chance"
            : "\(predictor) does not predict \(outcome) across these runs"
        // Counter-examples by model: "LSTM seeds 1, 2, 3 (0.81-0.875, did not learn)".
        var groups: [(model: String, learned: Bool, runs: [Run])] = []
        for r in counterExamples {
            if let i = groups.firstIndex(where: { $0.model == r.model && $0.learned == r.learned }) {
                groups[i].runs.append(r)
            } else {
                groups.append((r.model, r.learned, [r]))
            }
        }
        let named =
            groups.isEmpty
            ? "no run contradicts the order"
            : "counter-examples: "
                + groups.map { g in
                    let values = g.runs.map(\.predictor), lo = values.min()!, hi = values.max()!
                    let range = lo == hi ? fmt(lo, 3) : "\(fmt(lo, 3))-\(fmt(hi, 3))"
                    return "\(g.model) seed\(g.runs.count == 1 ? "" : "s") "
                        + g.runs.map { String($0.seed) }.joined(separator: ", ")
                        + " (\(range), \(g.learned ? "learned" : "did not learn"))"
                }.joined(separator: ", ")
        return """
            Spearman's rho between \(predictor) and \(outcome) over \(runs.count) runs (models x seeds): \
            \(fmt(spearman, 2)), permutation p \(fmt(p, 2)): \(verdict); \(named).
            """
    }
}

/// An intervention on one model: the same model trained with a setting changed (the LSTM's forget-gate bias), the
/// predictor each setting gives at initialisation and how many seeds learned with it.
package struct Intervention: Codable, Sendable, Equatable {
    package struct Arm: Codable, Sendable, Equatable {
        package var setting: String
        package var predictor: [Double]
        package var finalLoss: [Double]
        package var states: [LearningState]
        package init(setting: String, predictor: [Double], finalLoss: [Double], states: [LearningState]) {
            self.setting = setting; self.predictor = predictor; self.finalLoss = finalLoss; self.states = states
        }
        package var learnedCount: Int { states.filter(\.learned).count }
        package var meanPredictor: Double { Stats.mean(predictor) }
    }
    package var model: String, task: String, predictor: String
    package var arms: [Arm]
    package init(model: String, task: String, predictor: String, arms: [Arm]) {
        self.model = model; self.task = task; self.predictor = predictor; self.arms = arms
    }

    /// As predicted when ordering the arms by their predictor orders them by the seeds that learned too (ties
    /// allowed), and the arms differ in what they learned.
    package var asPredicted: Bool {
        let ordered = arms.sorted { $0.meanPredictor < $1.meanPredictor }
        let counts = ordered.map(\.learnedCount)
        return zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 } && counts.first != counts.last
    }

    package var sentence: String {
        let seeds = arms.first?.states.count ?? 0
        let each = arms.map {
            "\($0.setting): \(predictor) \(fmt($0.meanPredictor, 3)), learned in \($0.learnedCount) of \(seeds)"
        }
        let counts = Set(arms.map(\.learnedCount))
        let verdict =
            counts.count == 1
            ? "the outcome did not move, whatever the \(predictor)"
            : asPredicted
                ? "the outcome moved as the \(predictor) predicts"
                : "the outcome did not move as the \(predictor) predicts"
        return "Intervention, \(model) on \(task): " + each.joined(separator: "; ") + ": \(verdict)."
    }
}
