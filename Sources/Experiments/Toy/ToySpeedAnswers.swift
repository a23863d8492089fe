import Foundation
import Workbench
import Analysis
import Recurrent
import Statistics

/// Q1.4-Q1.6 answered from Experiment 1's summary and its verdicts: learning speed with its "why" tested, the
/// gradients through time, the generated text.
extension Answers {
    /// Per model of a task, the epoch each seed reached the threshold (nil: never, censored at the budget).
    static func thresholdEpochs(_ s: ToyExperiment.Summary, _ key: String) -> [(model: String, epochs: [Int?])] {
        let runs = s.runs(key)
        return (runs.first ?? []).map { m in
            (m.model, runs.map { seed in seed.first { $0.cell == m.cell }?.epochReachingThreshold })
        }
    }

    /// "reached in 3 of 3 seeds (epochs 7, 7, 8)" or "not reached within 20 epochs (3 of 3 seeds)".
    static func reached(_ epochs: [Int?], budget: Int) -> String {
        let hit = epochs.compactMap { $0 }
        if hit.isEmpty { return "not reached within \(budget) epochs (\(epochs.count) of \(epochs.count) seeds)" }
        let shown = epochs.map { $0.map(String.init) ?? "-" }.joined(separator: ", ")
        return "reached in \(hit.count) of \(epochs.count) seeds (epoch\(epochs.count == 1 ? "" : "s") \(shown))"
    }

    static func learningSpeed(_ s: ToyExperiment.Summary, _ v: ToyVerdicts) -> Answer {
        var comparisons: [Comparison] = [], rows: [[String]] = [], clauses: [String] = []
        let factors = Dictionary(uniqueKeysWithValues: s.addingInitialFactors.map { ($0.model, $0.values) })
        for (key, name, metric) in ToyVerdicts.tasks {
            let runs = s.runs(key), budget = runs.first?.first?.history.count ?? 0
            let threshold = fmt(runs.first?.first?.threshold ?? .nan, 3)
            let measure = "epoch reaching \(metric) <= \(threshold) on \(the(name))"
            let times = thresholdEpochs(s, key)
            comparisons += Compare.censoredPairs(times, measure: measure)
            for (model, epochs) in times {
                let seconds = runs.compactMap { $0.first { $0.model == model } }.map {
                    $0.totalSeconds / Double(max($0.history.count, 1))
                }
                rows.append([
                    name, model, reached(epochs, budget: budget),
                    OverSeeds.withInterval(seconds, positive: true) { fmt($0, 3) },
                    key == "adding" ? factors[model].map { $0.map { fmt($0, 3) }.joined(separator: ", ") } ?? "-" : ""
                ])
            }
            let hit = times.filter { $0.epochs.allSatisfy { $0 != nil } }.map(\.model)
            let never = times.filter { $0.epochs.allSatisfy { $0 == nil } }.map(\.model)
            if !hit.isEmpty, !never.isEmpty {
                clauses.append(
                    "on \(the(name)) only \(list(hit)) reached \(metric) <= \(threshold) in every seed "
                        + "(\(list(never)) not within \(budget) epochs)")
            }
        }
        let family = ComparisonFamily(item: "Q1.4", comparisons)
        let held = family.held.map {
            "\($0.first) reached \($0.measure.replacingOccurrences(of: "epoch reaching ", with: "")) before "
                + $0.second
        }
        let seeds = s.options.seeds
        let order =
            !held.isEmpty
            ? held.joined(separator: "; ")
            : seeds < 2
                ? "With one seed no model is said to reach a threshold before another."
                : "No model reached a threshold before another beyond the noise (\(family.correction); with \(seeds) "
                    + "seeds a sign test cannot go below p = \(fmt(Stats.signTest(0, of: seeds), 2)))."
        let why =
            (v.predictor.predicts
                ? "a larger per-step gradient factor at initialisation went with a lower final loss on the adding "
                    + "problem across models and seeds"
                : "the per-step gradient factor at initialisation does not predict which model learns the adding "
                    + "problem across models and seeds")
            + (v.intervention.map { i in
                let best = i.arms.max { $0.meanPredictor < $1.meanPredictor }
                return i.asPredicted && best != nil
                    ? ", but within the LSTM raising it (\(best!.setting), \(fmt(best!.meanPredictor, 3))) made it "
                        + "learn in \(best!.learnedCount) of \(best!.states.count) seeds"
                    : ", and changing it within the LSTM did not move the outcome as it predicts"
            } ?? "")
        return Answer(
            item: "Q1.4", question: "Which model learns faster, and why?",
            summary: (clauses.isEmpty ? "" : clauses.joined(separator: "; ") + "; ")
                + (held.isEmpty ? "" : held.joined(separator: "; ") + "; ") + why + ".",
            answer: (held.isEmpty ? order + " " : "") + v.predictor.sentence
                + (v.intervention.map { " " + $0.sentence } ?? "") + keptAfter(s),
            table: AnswerTable(
                headers: ["task", "model", "threshold", "s / epoch", "factor at init (adding, per seed)"], rows: rows),
            figure: "toy/adding_loss.svg", family: family,
            numbers: Dictionary(uniqueKeysWithValues: s.addingInitialFactors.map { ($0.model, Stats.mean($0.values)) }),
            figures: ["toy/sine_loss.svg", "toy/chars_loss.svg", "toy/adding_jacobian.svg"],
            caveat: (seedCaveat(s.options.seeds) ?? "")
                + " Speed in epochs at these learning rates and sizes; a threshold not reached is censored at the "
                + "budget, never averaged.")
    }

    /// What the gated models keep of their state after training (first seed, adding problem): a description beside
    /// the test, not its cause.
    static func keptAfter(_ s: ToyExperiment.Summary) -> String {
        let gated = s.gradients("adding").filter { !$0.gateCarryPerUnit.isEmpty }.map { x in
            "\(x.model) (\(x.cell.cellType.carryPath?.name ?? "carry")) \(fmt(Stats.mean(x.gateCarryPerUnit), 3))"
        }
        return gated.isEmpty
            ? ""
            : " After training (first seed), the mean fraction of the previous state kept: "
                + gated.joined(separator: ", ") + "."
    }

    static func gradientsThroughTime(_ s: ToyExperiment.Summary, _ v: ToyVerdicts) -> Answer {
        var rows: [[String]] = [], numbers: [String: Double] = [:]
        let tasks = [
            ("sine", s.gradients("sine")), ("characters", s.gradients("chars")),
            ("adding problem", s.gradients("adding"))
        ]
        for (name, g) in tasks {
            for x in g {
                let before = GradientFlow.perStepFactor(x.jacobianInit)
                let after = GradientFlow.perStepFactor(x.jacobianTrained)
                let n = max(x.jacobianTrained.count - 1, 1)
                numbers["\(name) \(x.model) factor initial"] = before
                numbers["\(name) \(x.model) factor trained"] = after
                rows.append([
                    name, x.model, fmt(before, 3), fmt(after, 3), Verdicts.gradientPath(factor: after, steps: n),
                    v.states(name, x.model).first?.state.rawValue ?? "-"
                ])
            }
        }
        // The adding problem's models grouped by what their gradient does over the sequence and whether they learned.
        var groups: [(verdict: String, learned: Bool, models: [String])] = []
        for x in s.gradients("adding") {
            let f = GradientFlow.perStepFactor(x.jacobianTrained), n = max(x.jacobianTrained.count - 1, 1)
            let verdict = Verdicts.gradientPath(factor: f, steps: n).split(separator: " ").first.map(String.init) ?? "-"
            let learned = v.states("adding problem", x.model).first?.state.learned ?? false
            let name = "\(x.model) (x\(fmt(pow(f, Double(n)), 2)))"
            if let i = groups.firstIndex(where: { $0.verdict == verdict && $0.learned == learned }) {
                groups[i].models.append(name)
            } else {
                groups.append((verdict, learned, [name]))
            }
        }
        let each = groups.map { g in
            "\(g.verdict) for \(list(g.models)), which \(g.learned ? "learned it" : "did not learn it")"
        }
        let unclipped = s.exploding.unclipped.batchGradientNorms.filter(\.isFinite).max() ?? .nan
        return Answer(
            item: "Q1.5", question: "Plot gradient magnitudes across time steps: do gradients vanish or explode?",
            summary: """
                After training (first seed), the gradient through the adding problem's \(s.options.addingSteps) steps \
                \(each.joined(separator: "; ")); an RNN with W_hh = 1.05 I exploded without clipping (largest gradient \
                norm \(fmt(unclipped, 3))).
                """,
            answer: "Vanishes: less than a tenth survives the sequence; explodes: more than tenfold; holds: in "
                + "between. " + (s.exploding.findings.first?.text ?? ""),
            table: AnswerTable(
                headers: [
                    "task", "model", "per-step factor at init", "after training", "over the sequence",
                    "state (seed 1)"
                ], rows: rows),
            figure: "toy/adding_jacobian.svg", numbers: numbers,
            figures: [
                "toy/adding_grad_norms.svg", "toy/sine_jacobian.svg", "toy/exploding_gradient_through_time.svg",
                "toy/exploding_gradient_norm.svg"
            ],
            caveat: "factors of the first seed on a probe batch of up to 32 validation sequences.")
    }

    static func textGeneration(_ s: ToyExperiment.Summary, _ v: ToyVerdicts) -> Answer {
        let runs = s.runs("chars")
        let series = (runs.first ?? []).map { m in
            SeedSeries(
                model: m.model,
                values: runs.compactMap { $0.first { $0.cell == m.cell }.map { exp($0.finalValidationLoss) } })
        }
        let family = ComparisonFamily(
            item: "Q1.6",
            Compare.allPairs(series, measure: "validation perplexity", lowerIsBetter: true, positive: true))
        let best = series.min {
            OverSeeds.interval($0.values, positive: true).mean < OverSeeds.interval($1.values, positive: true).mean
        }
        let sample = { (model: String) in
            String((s.text.samples[model]?["0.5"] ?? "").prefix(60)).replacingOccurrences(of: "\n", with: " / ")
        }
        let lead = leader(family, measure: "validation perplexity")
        let summary =
            (lead.map {
                "\($0.model) has the lowest validation perplexity, below \(list($0.beaten)) after Holm's correction: "
            }
                ?? "The models' validation perplexities are not apart beyond the noise after Holm's correction; ")
            + "\(best?.model ?? "-")'s is "
            + "\(OverSeeds.withInterval(best?.values ?? [], positive: true) { fmt($0, 3) }) per character, and its "
            + "sample at temperature 0.5 reads \"\(sample(best?.model ?? ""))\"."
        return Answer(
            item: "Q1.6", question: "Generate text with the character-level models.", summary: summary,
            answer: family.comparisons.isEmpty
                ? "" : ranking(family, measure: "validation perplexity", better: "lower") + ".",
            table: AnswerTable(
                headers: ["model", "perplexity (e^loss)", "learning state", "sample at temperature 0.5 (seed 1)"],
                rows: series.map {
                    [
                        $0.model, OverSeeds.withInterval($0.values, positive: true) { fmt($0, 3) },
                        LearningJudgement.tally(v.states("characters", $0.model)), sample($0.model)
                    ]
                }),
            figure: "toy/chars_loss.svg", family: family,
            numbers: Dictionary(
                uniqueKeysWithValues: series.map { ($0.model, OverSeeds.interval($0.values, positive: true).mean) }),
            caveat: "whether one model's text is better than another's follows the perplexity comparison, not the "
                + "sample.")
    }
}
