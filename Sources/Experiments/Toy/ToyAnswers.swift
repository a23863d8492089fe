import Foundation
import Workbench
import Analysis
import Recurrent
import Statistics

/// Q1's items answered from Experiment 1's summary and its verdicts.
extension Answers {
    static func toy(_ s: ToyExperiment.Summary, _ v: ToyVerdicts) -> [Answer] {
        [
            implementation(s.gradientChecks), toyTraining(s, v), toyCurves(s, v), learningSpeed(s, v),
            gradientsThroughTime(s, v), textGeneration(s, v)
        ]
    }

    static func implementation(_ checks: [GradientCheck.Result]) -> Answer {
        let worst = checks.max { $0.maxError < $1.maxError }
        let passed = (worst?.maxError ?? .nan) < 1e-7
        let summary =
            passed
            ? """
            Every hand-written gradient agrees with central differences in Double: the largest relative error is \
            \(fmt(worst!.maxError, 2)) (\(worst!.network)), under the 1e-7 tolerance.
            """
            : "NOT PASSED: \(worst?.network ?? "-") differs from central differences by "
                + "\(fmt(worst?.maxError ?? .nan, 2)), above the 1e-7 tolerance."
        return Answer(
            item: "Q1.1", question: "Implement RNN, LSTM and GRU cells with hand-written forward and BPTT.",
            summary: summary,
            answer: """
                Forward and backpropagation through time are written by hand for each cell (Sources/Recurrent, no \
                autograd), checked in this run on every parameter, input and initial-state entry of a random \
                two-layer problem (batch 2, 5 steps). The test suite also compares outputs and every gradient with \
                PyTorch's nn.RNN / nn.LSTM / nn.GRU (1e-9 in Double, 2e-5 in Float).
                """,
            table: AnswerTable(
                headers: ["network", "entries checked", "largest relative error", "verdict"],
                rows: checks.map {
                    [$0.network, String($0.entries), fmt($0.maxError, 2), $0.maxError < 1e-7 ? "passed" : "FAILED"]
                }),
            figure: "toy/gradient_check.svg",
            numbers: Dictionary(uniqueKeysWithValues: checks.map { ("\($0.network) max error", $0.maxError) }))
    }

    /// Per toy task, which models learned it in every seed, in none, and in some, as a clause.
    static func learnedClause(_ v: ToyVerdicts, _ s: ToyExperiment.Summary, task: String, key: String) -> String {
        let models = s.runs(key).first?.map(\.model) ?? []
        let counts = models.map { m in (m, v.states(task, m).filter(\.state.learned).count, v.states(task, m).count) }
        let all = counts.filter { $0.1 == $0.2 }.map(\.0), none = counts.filter { $0.1 == 0 }.map(\.0)
        let some = counts.filter { $0.1 > 0 && $0.1 < $0.2 }.map { "\($0.0) in \($0.1) of \($0.2) seeds" }
        let seeds = counts.first?.2 ?? 0, every = seeds == 1 ? "its one seed" : "all \(seeds) seeds"
        let on = "on \(the(task))"
        if none.isEmpty && some.isEmpty { return "\(on) every model learned in \(every)" }
        var parts: [String] = []
        if !all.isEmpty { parts.append("\(list(all)) learned in \(every)") }
        if !none.isEmpty {
            let b =
                s.task(key).map(\.baseline).map { " (no better than the \($0.name)'s \(fmt($0.validationLoss, 3)))" }
                ?? ""
            parts.append("\(list(none)) did not learn in any seed\(b)")
        }
        if !some.isEmpty { parts.append("\(some.joined(separator: ", ")) learned") }
        return on + " " + parts.joined(separator: " and ")
    }

    /// "RNN, LSTM and GRU".
    static func list(_ names: [String]) -> String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }

    static func toyTraining(_ s: ToyExperiment.Summary, _ v: ToyVerdicts) -> Answer {
        var comparisons: [Comparison] = [], rows: [[String]] = [], numbers: [String: Double] = [:]
        for (key, name, metric) in ToyVerdicts.tasks {
            let series = s.task(key)?.seeds?.measures["final \(metric)"] ?? []
            comparisons += Compare.allPairs(
                series, measure: "final \(metric) on \(the(name))", lowerIsBetter: true, positive: true)
            for m in s.runs(key).first ?? [] {
                let finals = s.runs(key).compactMap { $0.first { $0.cell == m.cell }?.finalValidationLoss }
                let i = OverSeeds.interval(finals, positive: true)
                numbers["\(key) \(m.model)"] = i.mean
                rows.append([
                    name, m.model, LearningJudgement.tally(v.states(name, m.model)),
                    OverSeeds.withInterval(finals, positive: true) { fmt($0, 3) },
                    s.task(key).map(\.baseline).map { "\($0.name) \(fmt($0.validationLoss, 3))" } ?? "-"
                ])
            }
        }
        let family = ComparisonFamily(item: "Q1.2", comparisons)
        // Tasks every model learned in every seed share one clause; the others say who did not.
        let everyone = ToyVerdicts.tasks.filter { t in v.states.filter { $0.task == t.name }.allSatisfy(\.state.learned)
        }
        let seeds = s.options.seeds
        var learned =
            everyone.isEmpty
            ? []
            : [
                "on \(list(everyone.map { the($0.name) })) every model learned in "
                    + (seeds == 1 ? "its one seed" : "all \(seeds) seeds")
            ]
        learned += ToyVerdicts.tasks.filter { t in !everyone.contains { $0.key == t.key } }.map {
            learnedClause(v, s, task: $0.name, key: $0.key)
        }
        let lowest = ToyVerdicts.tasks.compactMap { t in
            leader(family, measure: "final \(t.metric) on \(the(t.name))").map { "\($0.model) on \(the(t.name))" }
        }
        let order =
            lowest.isEmpty
            ? (family.comparisons.isEmpty
                ? "" : "; no model's final loss is below another's beyond the noise after Holm's correction")
            : "; the lowest final loss: " + lowest.joined(separator: ", ")
                + ", below every other model after Holm's correction"
        return Answer(
            item: "Q1.2", question: "Train them on toy sequence tasks (sine-wave prediction, character-level text).",
            summary: learned.joined(separator: "; ") + order + ".",
            answer: family.comparisons.isEmpty
                ? "" : "Final validation losses compared every pair over the seeds: \(family.correction).",
            table: AnswerTable(
                headers: ["task", "model", "learning state", "final validation loss", "trivial baseline"], rows: rows),
            figure: "toy/adding_loss_log.svg", family: family, numbers: numbers,
            figures: ["toy/sine_loss.svg", "toy/sine_predictions.svg", "toy/chars_loss.svg"],
            caveat: seedCaveat(s.options.seeds))
    }

    /// The model that holds against every other on one measure after the family's correction, with the models it
    /// beats; nil when none does.
    static func leader(_ family: ComparisonFamily, measure: String) -> (model: String, beaten: [String])? {
        let mine = family.comparisons.filter { $0.measure == measure }
        let models = Set(mine.flatMap { [$0.first, $0.second] })
        for m in models.sorted() {
            let beaten = mine.filter { $0.first == m && $0.holds }.map(\.second)
            if beaten.count == models.count - 1, !beaten.isEmpty { return (m, beaten.sorted()) }
        }
        return nil
    }

    /// "the adding problem" for the task named "adding problem", the name otherwise.
    static func the(_ task: String) -> String { task == "adding problem" ? "the adding problem" : task }

    static func toyCurves(_ s: ToyExperiment.Summary, _ v: ToyVerdicts) -> Answer {
        var rows: [[String]] = [], accounts: [String] = []
        for (key, name, _) in ToyVerdicts.tasks {
            for m in s.runs(key).first ?? [] {
                let judged = v.states(name, m.model)
                var events: [String] = []
                for (k, seed) in s.runs(key).enumerated() {
                    guard let run = seed.first(where: { $0.cell == m.cell }) else { continue }
                    let found = EventChain.events(history: run.history, cell: run.cell)
                    events += found.map { "seed \(k + 1) epoch \($0.epoch): \($0.kind.rawValue)" }
                    if let a = EventChain.account(found, run: "\(name) \(m.model), seed \(k + 1)") {
                        accounts.append(a)
                    }
                }
                rows.append([name, m.model, judged.map(\.brief).joined(separator: "; "), events.joined(separator: ", ")]
                )
            }
        }
        let counts = LearningJudgement.counts(v.states)
        let failed = Set(v.states.filter { !$0.state.learned }.map { "\($0.model) on \(the($0.task))" }).sorted()
        let runsWith = "\(accounts.count) run\(accounts.count == 1 ? "" : "s")"
        let summary = """
            Of the \(v.states.count) validation curves (tasks x models x seeds), \(counts.joined(separator: ", "))\
            \(failed.isEmpty ? "" : " (did not learn: \(failed.joined(separator: ", ")))"); \
            \(accounts.isEmpty ? "no event beside the states" : "\(runsWith) with events beside the states").
            """
        return Answer(
            item: "Q1.3", question: "Compare the training-loss curves.", summary: summary,
            answer: accounts.joined(separator: " "),
            table: AnswerTable(headers: ["task", "model", "state per seed", "events"], rows: rows),
            figure: "toy/sine_loss_log.svg",
            numbers: Dictionary(
                uniqueKeysWithValues: LearningState.allCases.map { st in
                    (st.rawValue, Double(v.states.filter { $0.state == st }.count))
                }),
            figures: ["toy/chars_loss.svg", "toy/adding_loss_log.svg"],
            caveat: "every seed's curve judged; the figures show the first seed's.")
    }
}
