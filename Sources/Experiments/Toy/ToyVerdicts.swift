import Foundation
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
                states += models.map { Self.judge($0, task: name, seed: k + 1, baseline: s.baselines[key]) }
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
                            Self.judge($1, task: "adding problem", seed: $0 + 1, baseline: s.baselines["adding"]).state
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

extension GateInit {
    /// The setting in a few words ("forget-gate bias 1").
    var setting: String {
        switch self {
        case .forgetBias: "forget-gate bias 1"
        case .zeroForgetBias: "forget-gate bias 0"
        case .chrono: "chrono"
        }
    }
}

extension LearningJudgement {
    /// How a model's seeds came out, by state: "converged in 3 of 3 seeds", "did not learn in 2 of 3 seeds,
    /// converged in 1".
    static func tally(_ judged: [LearningJudgement]) -> String {
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
    static func counts(_ judged: [LearningJudgement]) -> [String] {
        LearningState.allCases.compactMap { st in
            let n = judged.filter { $0.state == st }.count
            return n > 0 ? "\(n) \(st.rawValue)" : nil
        }
    }

    /// The state with its key number, for a table cell: "converged from epoch 34", "did not learn (best 0.153,
    /// baseline 0.158)", "still improving (fell 0.004 over the last 3 epochs)".
    var brief: String {
        let e = evidence
        switch state {
        case .diverged: return "diverged at epoch \(e.divergedEpoch ?? 0)"
        case .didNotLearn:
            if let acc = e.testAccuracy, let chance = e.chance, let low = e.testLow, let high = e.testHigh,
                low <= chance, chance <= high
            {
                return "did not learn (test \(RealDataReport.pct(acc)), chance \(RealDataReport.pct(chance)))"
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
