import Foundation
import Workbench
import Recurrent

/// Experiment 2 judged from its measurements: the learning state of every task, model and seed (against the task's
/// trivial baseline and, for a classifier, chance on the test split), and the first seed's events told in order.
struct RealDataVerdicts {
    var states: [LearningJudgement]
    /// "task model" -> the first seed's events, in order.
    var events: [String: [TrainingEvent]]

    init(_ tasks: [RealDataExperiment.TaskResult]) {
        var states: [LearningJudgement] = [], events: [String: [TrainingEvent]] = [:]
        for t in tasks where !t.models.isEmpty {
            for m in t.models {
                states.append(
                    Judge.learning(
                        task: t.task, model: m.model, seed: 1, history: m.history, testAccuracy: m.testAccuracy,
                        testCount: t.testCount ?? 0, baseline: t.baseline))
                events["\(t.task) \(m.model)"] = EventChain.events(
                    history: m.history, snapshots: m.evolution, cell: m.cell, chance: t.baseline?.chance,
                    validationSamples: t.validationCount, clip: t.clip)
            }
            for (k, replica) in t.replicas.enumerated() {
                states += replica.map {
                    Judge.learning(
                        task: t.task, model: $0.model, seed: k + 2, history: $0.history, testAccuracy: $0.testAccuracy,
                        testCount: t.testCount ?? 0, baseline: t.baseline)
                }
            }
        }
        self.states = states; self.events = events
    }

    /// One task's states of one model over its seeds.
    func states(_ task: String, _ model: String) -> [LearningJudgement] {
        states.filter { $0.task == task && $0.model == model }
    }

    /// The first seed's events of one model as one account, nil without any.
    func account(_ task: String, _ model: String) -> String? {
        EventChain.account(events["\(task) \(model)"] ?? [], run: "\(RealDataExperiment.label(task)) \(model), seed 1")
    }
}
