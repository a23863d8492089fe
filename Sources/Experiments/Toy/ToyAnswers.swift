import Foundation
import Analysis
import Recurrent

/// Q1's items answered from Experiment 1's summary.
extension Answers {
    static func toy(_ s: ToyExperiment.Summary) -> [Answer] {
        [
            implementation(s.gradientChecks), toyTraining(s), toyCurves(s), learningSpeed(s), gradientsThroughTime(s),
            textGeneration(s)
        ]
    }

    /// The toy tasks as (name, key in results, models, figure prefix).
    static func toyTasks(_ s: ToyExperiment.Summary) -> [(
        name: String, key: String, models: [ToyExperiment.ModelSummary]
    )] {
        [("sine", "sine", s.sine), ("characters", "chars", s.chars), ("adding problem", "adding", s.adding)]
    }

    static func implementation(_ checks: [GradientCheck.Result]) -> Answer {
        let worst = checks.map(\.maxError).max() ?? .nan
        let each = checks.map { "\($0.network) \(fmt($0.maxError, 2)) over \($0.entries) entries" }
        let verdict =
            worst < 1e-7
            ? "every analytic gradient agrees with the numeric one to better than 1e-7"
            : "NOT PASSED: an error of \(fmt(worst, 2)) exceeds the tolerance 1e-7"
        return Answer(
            item: "Q1.1", question: "Implement RNN, LSTM and GRU cells with hand-written forward and BPTT.",
            answer: """
                Forward and backpropagation through time are written by hand for each cell (Sources/Recurrent, no \
                autograd). Checked in this run against central differences in Double on every parameter, input and \
                initial-state entry of a random problem (batch 2, 5 steps), largest |analytic - numeric| / max(1, \
                |numeric|): \(each.joined(separator: ", ")): \(verdict). The test suite also compares outputs and \
                every gradient with PyTorch (ParityTests, 1e-9 in Double, 2e-5 in Float): nn.RNN / nn.LSTM / nn.GRU, \
                and a hand-written PyTorch loop for the cells PyTorch has no module for (IndRNN, minGRU, minLSTM).
                """,
            numbers: Dictionary(uniqueKeysWithValues: checks.map { ("\($0.network) max error", $0.maxError) }),
            figures: [], caveat: nil)
    }

    static func toyTraining(_ s: ToyExperiment.Summary) -> Answer {
        var parts: [String] = [], numbers: [String: Double] = [:]
        for (name, key, models) in toyTasks(s) {
            let metric = key == "chars" ? "validation loss" : "validation MSE"
            if let f = overSeeds(
                s.seeds[key], "final \(metric)", lowerIsBetter: true, what: "final \(metric) on \(name)",
                best: "lowest")
            {
                parts.append(f.text); numbers.merge(prefixed(f.numbers, "\(key) ")) { $1 }
            } else {
                let lowest = Verdicts.lowest(models.map { ($0.model, $0.history.compactMap(\.validationLoss)) })
                let finals = models.map { "\($0.model) \(fmt($0.finalValidationLoss, 3))" }.joined(separator: ", ")
                parts.append("Final \(metric) on \(name): \(finals); \(lowest).")
                for m in models { numbers["\(key) \(m.model)"] = m.finalValidationLoss }
            }
        }
        return Answer(
            item: "Q1.2", question: "Train them on toy sequence tasks (sine-wave prediction, character-level text).",
            answer: parts.joined(separator: " "), numbers: numbers,
            figures: ["toy/sine_loss.svg", "toy/sine_predictions.svg", "toy/chars_loss.svg", "toy/adding_loss.svg"],
            caveat: seedCaveat(s.options.seeds))
    }

    static func toyCurves(_ s: ToyExperiment.Summary) -> Answer {
        var parts: [String] = [], events: [String] = [], numbers: [String: Double] = [:]
        for (name, key, models) in toyTasks(s) {
            let trends = models.map { m -> String in
                let curve = m.history.compactMap(\.validationLoss)
                for spike in Verdicts.spikes(curve) {
                    events.append(
                        "\(name) \(m.model) validation loss jumped at epoch \(spike.epoch) "
                            + "(\(fmt(spike.from, 3)) -> \(fmt(spike.to, 3)))")
                    numbers["\(key) \(m.model) spike epoch"] = Double(spike.epoch)
                }
                return "\(m.model) \(Verdicts.brief(Verdicts.trend(curve)))"
            }
            parts.append("\(name): \(trends.joined(separator: "; ")).")
        }
        let eventText =
            events.isEmpty
            ? "No jump beyond 5 times a curve's typical epoch-to-epoch change."
            : "Notable events: \(events.joined(separator: "; "))."
        return Answer(
            item: "Q1.3", question: "Compare the training-loss curves.",
            answer: "Validation curves (first seed), each by its own noise: " + parts.joined(separator: " ") + " "
                + eventText,
            numbers: numbers,
            figures: ["toy/sine_loss.svg", "toy/sine_loss_log.svg", "toy/chars_loss.svg", "toy/adding_loss_log.svg"],
            caveat: s.options.seeds > 1
                ? "the trends are the first seed's; every seed's history is in results.json." : nil)
    }
}

extension Answers {
    static func learningSpeed(_ s: ToyExperiment.Summary) -> Answer {
        var parts: [String] = [], numbers: [String: Double] = [:]
        for (name, key, models) in toyTasks(s) {
            let metric = key == "chars" ? "validation loss" : "validation MSE"
            let threshold = models.first?.threshold ?? .nan
            if let f = overSeeds(
                s.seeds[key], "epoch reaching threshold", lowerIsBetter: true,
                what: "epoch reaching \(metric) <= \(fmt(threshold, 3)) on \(name)", best: "first")
            {
                parts.append(f.text); numbers.merge(prefixed(f.numbers, "\(key) epochs ")) { $1 }
            } else {
                let epochs = models.map { "\($0.model) \($0.epochReachingThreshold.map(String.init) ?? "never")" }
                parts.append(
                    "Epoch reaching \(metric) <= \(fmt(threshold, 3)) on \(name): \(epochs.joined(separator: ", ")); "
                        + ToyExperiment.thresholdRobustness(models, threshold: threshold) + ".")
            }
            let perEpoch = models.map { ($0.model, $0.totalSeconds / Double(max($0.history.count, 1))) }
            parts.append(
                "Seconds per epoch on \(name): "
                    + perEpoch.map { "\($0.0) \(fmt($0.1, 2))" }.joined(separator: ", ") + ".")
        }
        return Answer(
            item: "Q1.4", question: "Which model learns faster, and why?",
            answer: parts.joined(separator: " ") + " " + speedReason(s.addingGradients, steps: s.options.addingSteps),
            numbers: numbers, figures: ["toy/sine_loss.svg", "toy/chars_loss.svg", "toy/adding_loss.svg"],
            caveat: (seedCaveat(s.options.seeds) ?? "")
                + " Speed in epochs at these learning rates and sizes; a model that never reached a threshold in the "
                + "epochs given is budget-limited there, not shown unable.")
    }

    /// Why, measured where every gradient must cross the recurrence (the adding problem's loss sits at the last
    /// step): each model's per-step factor of ||dh_T/dh_t|| after training and what it compounds to.
    static func speedReason(_ g: [ToyExperiment.GradientSummary], steps: Int) -> String {
        let factors = g.map { ($0.model, GradientFlow.perStepFactor($0.jacobianTrained)) }.filter { $0.1.isFinite }
        guard let keeps = factors.max(by: { $0.1 < $1.1 }) else { return "" }
        let listed = factors.map { "\($0.0) \(fmt($0.1, 3)), \(Verdicts.gradientPath(factor: $0.1, steps: steps - 1))" }
        let gated = g.filter { !$0.gateCarryPerUnit.isEmpty }.map { x -> String in
            let u = x.gateCarryPerUnit
            return
                "\(x.model) (\(x.cell.cellType.carryPath?.name ?? "carry")) \(fmt(u.reduce(0, +) / Double(u.count), 3))"
        }
        return """
            Why, measured on the adding problem, where the loss sits only at the last step so every gradient crosses \
            the recurrence: the trained per-step factor of ||dh_T/dh_t|| is \(listed.joined(separator: ", ")); \
            the largest on this seed's probe batch is \(keeps.0)'s (one seed: not a ranking).\
            \(gated.isEmpty ? "" : " Mean fraction of the previous state kept, the additive path around the squashing: "
                + gated.joined(separator: ", ") + ".")
            """
    }

    static func gradientsThroughTime(_ s: ToyExperiment.Summary) -> Answer {
        var parts: [String] = [], numbers: [String: Double] = [:]
        let tasks = [("sine", s.sineGradients), ("characters", s.charGradients), ("adding problem", s.addingGradients)]
        for (name, g) in tasks {
            let verdicts = g.map { x -> String in
                let before = GradientFlow.perStepFactor(x.jacobianInit)
                let after = GradientFlow.perStepFactor(x.jacobianTrained)
                let n = max(x.jacobianTrained.count - 1, 1)
                numbers["\(name) \(x.model) factor initial"] = before
                numbers["\(name) \(x.model) factor trained"] = after
                return "\(x.model) \(fmt(before, 3)) -> \(fmt(after, 3)): "
                    + Verdicts.gradientPath(factor: after, steps: n)
            }
            parts.append(
                "\(name), per-step factor at initialisation -> after training: \(verdicts.joined(separator: "; ")).")
        }
        return Answer(
            item: "Q1.5", question: "Plot gradient magnitudes across time steps: do gradients vanish or explode?",
            answer: "Vanishes below a tenth over the sequence, explodes past tenfold, holds in between. "
                + parts.joined(separator: " ") + " Exploding gradients, shown: "
                + s.exploding.findings.map(\.text).joined(separator: " "),
            numbers: numbers,
            figures: [
                "toy/adding_grad_norms.svg", "toy/adding_jacobian.svg", "toy/sine_jacobian.svg",
                "toy/exploding_gradient_through_time.svg", "toy/exploding_gradient_norm.svg"
            ],
            caveat: "factors of the first seed on a probe batch of up to 32 validation sequences.")
    }

    static func textGeneration(_ s: ToyExperiment.Summary) -> Answer {
        let series =
            s.seeds["chars"]?.measures["final validation loss"]
            ?? s.chars.map { SeedSeries(model: $0.model, values: [$0.finalValidationLoss]) }
        // Perplexity e^loss: the interval's ends map through the exponential.
        let perplexities = series.map { x -> String in
            let i = OverSeeds.interval(x.values)
            return x.values.count > 1
                ? "\(x.model) \(fmt(exp(i.mean), 3)) [\(fmt(exp(i.low), 3)), \(fmt(exp(i.high), 3))]"
                : "\(x.model) \(fmt(exp(i.mean), 3))"
        }
        let best = series.min { OverSeeds.interval($0.values).mean < OverSeeds.interval($1.values).mean }
        // One line: the sample's line breaks shown as " / ".
        let sample =
            best.flatMap { s.charSamples[$0.model]?["0.5"] }.map {
                String($0.prefix(80)).replacingOccurrences(of: "\n", with: " / ")
            } ?? ""
        let seeds = series.first?.values.count ?? 1
        let over = seeds > 1 ? ", mean and 95% interval over \(seeds) seeds" : ""
        return Answer(
            item: "Q1.6", question: "Generate text with the character-level models.",
            answer: """
                Validation perplexity per character (e^loss\(over)): \(perplexities.joined(separator: ", ")). \
                Sample at temperature 0.5 from \(best?.model ?? "-") (lowest mean loss), first seed: "\(sample)".
                """,
            numbers: Dictionary(
                uniqueKeysWithValues: series.map { ($0.model, exp(OverSeeds.interval($0.values).mean)) }),
            figures: ["toy/chars_loss.svg"],
            caveat: "whether one model's text is better than another's follows the loss comparison in Q1.2, not the "
                + "sample.")
    }
}
