import Foundation
import Workbench
import Recurrent
import Statistics

/// Q2's items answered from Experiment 2's summary and its verdicts.
extension Answers {
    static func real(_ s: RealDataExperiment.Summary, _ v: RealDataVerdicts) -> [Answer] {
        let ran = s.tasks.filter { !$0.models.isEmpty }
        guard !ran.isEmpty else { return [] }
        return [
            realTraining(ran, v), checkpoints(ran), distributions(ran), perGate(ran), stability(ran, v)
        ]
    }

    /// A figure of `task` if it ran, else of the first task that did; `file` names it from that task (a classifier's
    /// accuracy or a forecast's loss) and a cell it trained (the LSTM where there is one).
    static func figure(
        _ ran: [RealDataExperiment.TaskResult], prefer task: String,
        _ file: (_ task: RealDataExperiment.TaskResult, _ cell: String) -> String
    ) -> String {
        let t = ran.first { $0.task == task } ?? ran[0]
        let cell = (t.models.first { $0.cell == .lstm } ?? t.models.first)?.cell.rawValue ?? "lstm"
        return "real/\(t.task)/\(file(t, cell))"
    }

    /// A task's trivial predictor as a table cell: chance for a classifier, else its loss on validation and test.
    static func baselineCell(_ t: RealDataExperiment.TaskResult) -> String {
        guard let b = t.baseline else { return "-" }
        if let chance = b.chance { return "chance \(TaskReport.pct(chance))" }
        let test = t.baselineItems.map { ", test \(fmt(Stats.mean($0.values), 3))" } ?? ""
        return "\(b.name): validation \(fmt(b.validationLoss, 3))\(test)"
    }

    /// "accuracy.svg" for a classifier, "loss.svg" for a forecast.
    static func measureFigure(_ t: RealDataExperiment.TaskResult) -> String {
        t.models.first?.testAccuracy != nil ? "accuracy.svg" : "loss.svg"
    }

    /// One task's test measure per seed, per model, in the run's seed order.
    static func testSeries(_ t: RealDataExperiment.TaskResult) -> [SeedSeries] {
        let accuracy = t.models.first?.testAccuracy != nil
        return t.models.map { m in
            SeedSeries(
                model: m.model,
                values: [accuracy ? m.testAccuracy ?? .nan : m.testLoss]
                    + t.replicas.compactMap { $0.first { $0.cell == m.cell } }.map {
                        accuracy ? $0.testAccuracy ?? .nan : $0.testLoss
                    })
        }
    }

    /// A task's comparisons: every pair of models (over seeds, or over the test items with one seed) and each model
    /// against the trivial predictor over the test items (averaged over its seeds).
    static func taskComparisons(_ t: RealDataExperiment.TaskResult) -> [Comparison] {
        let label = RealDataExperiment.label(t.task), accuracy = t.models.first?.testAccuracy != nil
        let measure = accuracy ? "test accuracy on \(label)" : "test MSE on \(label)"
        var out =
            (t.replicas.isEmpty
                ? Compare.pairsOverItems(
                    t.models.map { ($0.model, $0.testItems) }, measure: measure, lowerIsBetter: !accuracy)
                : Compare.allPairs(testSeries(t), measure: measure, lowerIsBetter: !accuracy, positive: !accuracy))
        if let b = t.baselineItems {
            out += t.models.compactMap { m in
                let items = [m.testItems] + t.replicas.compactMap { $0.first { $0.cell == m.cell }?.testItems }
                return Compare.againstBaseline(
                    model: m.model, perSeed: items, baseline: (b.name, b.values),
                    measure: "\(accuracy ? "test accuracy" : "test squared error") on \(label) against the \(b.name)",
                    lowerIsBetter: !accuracy)
            }
        }
        return out
    }

    /// Q2.1's plain answer: who did not learn (per task, with the seeds), who beat the trivial predictor and who was
    /// ahead of another model after Holm's correction.
    static func realSummary(_ ran: [RealDataExperiment.TaskResult], _ v: RealDataVerdicts, _ family: ComparisonFamily)
        -> String
    {
        var failed: [String] = [], beat: [String] = [], ahead: [String] = []
        for t in ran {
            let label = RealDataExperiment.label(t.task)
            // Models that failed in the same number of seeds share a clause: "RNN and LSTM (3 of 3 seeds)".
            var byCount: [Int: [String]] = [:], seeds = 1
            for m in t.models {
                let judged = v.states(t.task, m.model)
                seeds = judged.count
                let bad = judged.filter { !$0.state.learned }.count
                if bad > 0 { byCount[bad, default: []].append(m.model) }
            }
            let held = family.held.filter { $0.measure.contains(" on \(label)") }
            let against = held.filter { $0.measure.contains(" against the ") }
            let beaten = against.filter { $0.first == t.baselineItems?.name }.map(\.second)
            if !byCount.isEmpty {
                failed.append(
                    "\(label) "
                        + byCount.keys.sorted(by: >).map { "\(list(byCount[$0]!)) (\($0) of \(seeds))" }
                        .joined(separator: ", ")
                        + (beaten.isEmpty ? "" : ", the \(t.baselineItems!.name) beating \(list(beaten))"))
            }
            let winners = against.filter { $0.second == t.baselineItems?.name }.map(\.first)
            if !winners.isEmpty { beat.append("\(label) \(list(winners))") }
            let pairs = held.filter { !$0.measure.contains(" against the ") }.map { "\($0.first) > \($0.second)" }
            if !pairs.isEmpty { ahead.append("\(label) " + pairs.joined(separator: ", ")) }
        }
        var parts = [
            failed.isEmpty
                ? "Every model learned every task" : "Did not learn (seeds): " + failed.joined(separator: "; ")
        ]
        parts.append(
            beat.isEmpty
                ? "No model beat its task's trivial predictor after Holm's correction"
                : "Beat the trivial predictor after Holm's correction: " + beat.joined(separator: "; "))
        if !ahead.isEmpty {
            parts.append("Ahead of another model after Holm's correction: " + ahead.joined(separator: "; "))
        }
        return parts.joined(separator: ". ") + "."
    }

    static func realTraining(_ ran: [RealDataExperiment.TaskResult], _ v: RealDataVerdicts) -> Answer {
        let family = ComparisonFamily(item: "Q2.1", ran.flatMap(taskComparisons))
        var rows: [[String]] = []
        for t in ran {
            let accuracy = t.models.first?.testAccuracy != nil, n = t.testCount ?? 0
            for (m, series) in zip(t.models, testSeries(t)) {
                let measure =
                    series.values.count > 1
                    ? OverSeeds.withInterval(series.values, positive: !accuracy) { fmt(accuracy ? 100 * $0 : $0, 3) }
                    : accuracy ? Verdicts.accuracyWithInterval(series.values[0], n: n) : fmt(series.values[0], 3)
                rows.append([
                    RealDataExperiment.label(t.task), m.model, LearningJudgement.tally(v.states(t.task, m.model)),
                    (accuracy ? "accuracy " : "MSE ") + measure,
                    baselineCell(t)
                ])
            }
        }
        let single = ran.filter { $0.replicas.isEmpty }.map { RealDataExperiment.label($0.task) }
        return Answer(
            item: "Q2.1",
            question: "Train the three models on real data (sequential MNIST, a real time series, movie reviews).",
            summary: realSummary(ran, v, family),
            answer:
                "Test measures compared every pair and against each task's trivial predictor, \(family.correction).",
            table: AnswerTable(
                headers: ["task", "model", "learning state", "test measure [95% interval]", "trivial baseline"],
                rows: rows),
            figure: figure(ran, prefer: "mnist_pixels") { t, _ in measureFigure(t) }, family: family,
            numbers: Dictionary(
                uniqueKeysWithValues: ran.flatMap { t in
                    testSeries(t).map { ("\(t.task) \($0.model)", Stats.mean($0.values)) }
                }),
            figures: ran.map { "real/\($0.task)/" + measureFigure($0) },
            caveat: single.isEmpty
                ? "every test split read once per model and seed, after its last epoch; decisions used validation."
                : "one seed for \(single.joined(separator: ", ")) (time budget; rnnlab real --pixel-seeds N): its "
                    + "models are compared over the test items only; decisions on validation.")
    }

    static func checkpoints(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        let rows = ran.map { t -> [String] in
            let seeds = t.replicas.count + 1, epochs = t.models.first?.history.count ?? 0
            return [
                RealDataExperiment.label(t.task), String(t.models.count), String(seeds), String(epochs),
                String(seeds * t.models.reduce(0) { $0 + $1.history.count + 1 })
            ]
        }
        let files = rows.reduce(0) { $0 + (Int($1[4]) ?? 0) }
        return Answer(
            item: "Q2.2", question: "Save the weights after every epoch.",
            summary: """
                \(files) weight files were saved in this run, one per model, seed and epoch plus the initial \
                weights, as safetensors with PyTorch's parameter names.
                """,
            answer: """
                Paths real/TASK/CELL/epoch_NNN.safetensors (further seeds under real/TASK/seedK/CELL), the optimizer \
                state beside each, every file with its size and SHA-256 in checkpoints.json; TensorBoard event files \
                for the first seed under real/TASK/tensorboard.
                """,
            table: AnswerTable(headers: ["task", "models", "seeds", "epochs", "weight files"], rows: rows),
            figure: figure(ran, prefer: "mnist_rows") { "\($1)_ridgelines.svg" },
            numbers: ["weight files": Double(files)])
    }
}
