import Foundation
import Recurrent

/// Q2's items answered from Experiment 2's summary.
extension Answers {
    static func real(_ s: RealDataExperiment.Summary) -> [Answer] {
        let ran = s.tasks.filter { !$0.models.isEmpty }
        guard !ran.isEmpty else { return [] }
        return [realTraining(ran), checkpoints(ran), distributions(ran), perGate(ran), stability(ran)]
    }

    static func testMeasure(_ t: RealDataExperiment.TaskResult) -> (text: String, numbers: [String: Double]) {
        let label = RealDataReport.label(t.task)
        let accuracy = t.models.first?.testAccuracy != nil
        if let f = overSeeds(
            t.seeds, accuracy ? "test accuracy" : "test MSE", lowerIsBetter: !accuracy,
            what: accuracy ? "test accuracy on \(label) in points" : "test MSE on \(label)",
            best: accuracy ? "highest" : "lowest", show: accuracy ? { fmt(100 * $0, 3) } : { fmt($0, 3) })
        {
            var text = f.text
            if let naive = t.baselines.first(where: { $0.key.hasPrefix("naive") }),
                let series = t.seeds?.measures["test MSE"]
            {
                text += " " + RealDataReport.againstBaseline(series, naive).text
            }
            return (text, prefixed(f.numbers, "\(t.task) "))
        }
        if accuracy {
            let n = t.testCount ?? 0
            let f = Verdicts.highestAccuracy(t.models.map { ($0.model, $0.testAccuracy ?? .nan) }, n: n, task: label)
            return (f?.text ?? "", prefixed(f?.numbers ?? [:], "\(t.task) "))
        }
        let naive = t.baselines.first { $0.key.hasPrefix("naive") }
        let values = t.models.map { "\($0.model) \(fmt($0.testLoss, 3))" }.joined(separator: ", ")
        return (
            "Test MSE on \(label) (one seed): \(values)" + (naive.map { "; \($0.key) \(fmt($0.value, 3))." } ?? "."),
            Dictionary(uniqueKeysWithValues: t.models.map { ("\(t.task) \($0.model)", $0.testLoss) })
        )
    }

    static func realTraining(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        let measured = ran.map(testMeasure)
        let single = ran.filter { ($0.seeds?.seeds.count ?? 1) < 2 }.map { RealDataReport.label($0.task) }
        return Answer(
            item: "Q2.1",
            question: "Train the three models on real data (sequential MNIST, a real time series, movie reviews).",
            answer: measured.map(\.text).joined(separator: " "),
            numbers: measured.reduce(into: [:]) { $0.merge($1.numbers) { $1 } },
            figures: ran.map {
                "real/\($0.task)/" + ($0.models.first?.testAccuracy != nil ? "accuracy.svg" : "loss.svg")
            },
            caveat: single.isEmpty
                ? "every test split read once per model and seed, after its last epoch; decisions used validation."
                : "one seed for \(single.joined(separator: ", ")) (time budget; rnnlab real --pixel-seeds N); test "
                    + "splits read once per model and seed, decisions on validation.")
    }

    static func checkpoints(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        let files = ran.reduce(0) { total, t in
            total + (t.seeds?.seeds.count ?? 1) * t.models.reduce(0) { $0 + $1.history.count + 1 }
        }
        return Answer(
            item: "Q2.2", question: "Save the weights after every epoch.",
            answer: """
                \(files) weight files in this run: every model and seed, its initial weights and every epoch, as \
                safetensors with PyTorch's parameter names (real/TASK/CELL/epoch_NNN.safetensors, further seeds under \
                real/TASK/seedK/CELL) with the optimizer state beside them, each recorded with its size and SHA-256 \
                in checkpoints.json, and TensorBoard event files for the first seed (real/TASK/tensorboard).
                """,
            numbers: ["weight files": Double(files)], figures: [], caveat: nil)
    }

    static func distributions(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        let parts = ran.map { t -> String in
            let models = t.models.compactMap { m -> String? in
                let (key, label) = recurrentWeight(m)
                guard let a = m.evolution.first?.stats[key], let b = m.evolution.last?.stats[key] else { return nil }
                return "\(m.model)\(label) sd \(fmt(a.std, 3)) -> \(fmt(b.std, 3)), max |w| \(fmt(a.maxAbs, 3)) -> "
                    + fmt(b.maxAbs, 3)
            }
            return "\(RealDataReport.label(t.task)): \(models.joined(separator: "; "))."
        }
        let first = ran[0].task
        return Answer(
            item: "Q2.3", question: "Plot the weight distributions across epochs (histograms and KDE).",
            answer: "W_hh from initialisation to the last epoch: " + parts.joined(separator: " "),
            numbers: [:],
            figures: ["rnn", "lstm", "gru"].flatMap {
                ["real/\(first)/\($0)_ridgelines.svg", "real/\(first)/\($0)_kde_overlay.svg"]
            },
            caveat: "the first seed's weights; every task has the same figures in its folder.")
    }
}

extension Answers {
    /// The weight a model's Q2.3 / Q2.4 sentences follow: W_hh, or W_ih for a cell with no recurrent weight (minGRU,
    /// minLSTM), whose label then says so.
    static func recurrentWeight(_ m: RealDataExperiment.ModelResult) -> (key: String, label: String) {
        m.cell.recurrentWeight == .none
            ? ("rnn.weight_ih_l0", " (no W_hh, its gates read x_t only: W_ih)") : ("rnn.weight_hh_l0", "")
    }

    /// How far each gate block of W_hh travelled: the sum over epochs of its update-to-weight ratio.
    static func travel(_ m: RealDataExperiment.ModelResult, _ block: String) -> Double {
        m.evolution.dropFirst().reduce(0) { $0 + ($1.updateRatio[block] ?? 0) }
    }

    static func perGate(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        var numbers: [String: Double] = [:]
        let parts = ran.map { t -> String in
            let models = t.models.map { m -> String in
                let (key, label) = recurrentWeight(m)
                let whole = travel(m, key)
                numbers["\(t.task) \(m.model)\(label.isEmpty ? " W_hh" : " W_ih") travel"] = whole
                let gates = m.cell.gateNames.map { ($0, travel(m, "\(key)[\($0)]")) }
                guard gates.count > 1, let most = gates.max(by: { $0.1 < $1.1 }),
                    let least = gates.min(by: { $0.1 < $1.1 })
                else { return "\(m.model)\(label) \(fmt(whole, 3))" }
                return
                    "\(m.model)\(label) \(fmt(whole, 3)) (gate blocks from \(least.0) \(fmt(least.1, 3)) to \(most.0) "
                    + "\(fmt(most.1, 3)))"
            }
            return "\(RealDataReport.label(t.task)): \(models.joined(separator: ", "))."
        }
        return Answer(
            item: "Q2.4", question: "Compare how the weights evolve per model and per gate.",
            answer: "How far W_hh travelled, the sum over epochs of ||W_e - W_(e-1)|| / ||W_(e-1)||, whole and per "
                + "gate block: " + parts.joined(separator: " "),
            numbers: numbers,
            figures: ran.prefix(2).flatMap {
                ["real/\($0.task)/lstm_weight_stats.svg", "real/\($0.task)/gru_weight_stats.svg"]
            },
            caveat: "one seed's weights (the first): which model or gate moved more is a measurement of that run, "
                + "not a ranking tested against seed noise.")
    }

    static func stability(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        var numbers: [String: Double] = [:]
        let parts = ran.map { t -> String in
            let models = t.models.map { m -> String in
                var text = "\(m.model) " + Verdicts.brief(Verdicts.trend(m.history.compactMap(\.validationLoss)))
                let split = RealDataReport.squashing(m.cell, m.evolution.last?.saturation ?? [])
                if let worst = split.worst {
                    numbers["\(t.task) \(m.model) \(worst.gate) saturated"] = worst.fraction
                    text +=
                        worst.fraction >= 0.05
                        ? ", most saturated squashing path \(worst.gate) \(RealDataReport.pct(worst.fraction))"
                        : ", no squashing path saturated for 5% of its activations"
                }
                let held = split.memory.filter { $0.fraction > 0.5 }
                if !held.isEmpty {
                    text +=
                        ", memory (not saturation): "
                        + held.map { "\($0.gate) \($0.position) \(RealDataReport.pct($0.fraction))" }.joined(
                            separator: ", ")
                }
                return text
            }
            return "\(RealDataReport.label(t.task)): \(models.joined(separator: "; "))."
        }
        return Answer(
            item: "Q2.5", question: "Report on stability, saturation and convergence.",
            answer: """
                Convergence and stability from each validation curve against its own noise; saturation as the share \
                of a squashing path's activations where its derivative is near 0, apart from gates held where they \
                keep the state. \(parts.joined(separator: " "))
                """,
            numbers: numbers,
            figures: ran.prefix(2).flatMap { ["real/\($0.task)/loss.svg", "real/\($0.task)/saturation.svg"] },
            caveat: "the first seed's curves and a probe batch of up to 128 validation sequences.")
    }
}
