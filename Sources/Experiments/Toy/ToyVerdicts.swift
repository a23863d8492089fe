import Foundation
import Workbench
import Recurrent

/// Experiment 1 judged from its measurements: the learning state of every task, model and seed, whether the
/// per-step gradient factor at initialisation predicts the adding problem's outcome, and the intervention on the
/// LSTM's forget-gate bias that tests it.
struct ToyVerdicts {
    /// The toy tasks: key in the results, name in the report, the validation metric.
    static let tasks: [(key: String, name: String, metric: String)] = [
        ("sine", "sine", "validation MSE"), ("chars", "characters", "validation loss"),
        ("adding", "adding problem", "validation MSE")
    ]

    var states: [LearningJudgement]
    var predictor: PredictorTest
    var intervention: Intervention?

    init(_ s: ToyExperiment.Summary) {
        var states: [LearningJudgement] = []
        for (key, name, _) in Self.tasks {
            for (k, models) in s.runs(key).enumerated() {
                states += models.map { Self.judge($0, task: name, seed: k + 1, baseline: s.task(key)?.baseline) }
            }
        }
        self.states = states
        let adding = states.filter { $0.task == "adding problem" }
        predictor = PredictorTest(
            predictor: "per-step gradient factor at initialisation", outcome: "final validation MSE",
            runs: s.addingInitialFactors.flatMap { series in
                series.values.enumerated().compactMap { k, factor in
                    adding.first { $0.model == series.model && $0.seed == k + 1 }.map {
                        PredictorTest.Run(
                            model: series.model, seed: k + 1, predictor: factor, outcome: $0.evidence.last,
                            learned: $0.state.learned)
                    }
                }
            })
        intervention =
            s.addingGateInits.isEmpty
            ? nil
            : Intervention(
                model: "LSTM", task: "the adding problem", predictor: "per-step factor at initialisation",
                arms: s.addingGateInits.map { arm in
                    Intervention.Arm(
                        setting: arm.gateInit.setting, predictor: arm.initialFactors,
                        finalLoss: arm.runs.map(\.finalValidationLoss),
                        states: arm.runs.enumerated().map {
                            Self.judge($1, task: "adding problem", seed: $0 + 1, baseline: s.task("adding")?.baseline)
                                .state
                        })
                })
    }

    static func judge(_ m: ToyExperiment.ModelSummary, task: String, seed: Int, baseline: TrivialBaseline?)
        -> LearningJudgement
    {
        Judge.learning(task: task, model: m.model, seed: seed, history: m.history, baseline: baseline)
    }

    /// One task's states of one model over its seeds.
    func states(_ task: String, _ model: String) -> [LearningJudgement] {
        states.filter { $0.task == task && $0.model == model }
    }
}
