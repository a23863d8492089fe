import Foundation
import Workbench
import Recurrent
import Statistics

/// Q2.3-Q2.5 answered from Experiment 2's weights, saturation and learning states.
extension Answers {
    /// The weight a model's Q2.3 / Q2.4 sentences follow: W_hh, or W_ih for a cell with no recurrent weight (minGRU,
    /// minLSTM), whose label then says so.
    static func recurrentWeight(_ m: RealDataExperiment.ModelResult) -> (key: String, label: String) {
        m.cell.recurrentWeight == .none
            ? ("rnn.weight_ih_l0", " (no W_hh, its gates read x_t only: W_ih)") : ("rnn.weight_hh_l0", "")
    }

    static func distributions(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        var rows: [[String]] = [], widened: [Double] = [], grown: [Double] = []
        for t in ran {
            for m in t.models {
                let (key, label) = recurrentWeight(m)
                guard let a = m.evolution.first?.stats[key], let b = m.evolution.last?.stats[key] else { continue }
                widened.append(b.std / a.std); grown.append(b.maxAbs / a.maxAbs)
                rows.append([
                    RealDataExperiment.label(t.task), m.model + label, "\(fmt(a.std, 3)) -> \(fmt(b.std, 3))",
                    "\(fmt(a.maxAbs, 3)) -> \(fmt(b.maxAbs, 3))"
                ])
            }
        }
        let wider = widened.filter { $0 > 1 }.count
        return Answer(
            item: "Q2.3", question: "Plot the weight distributions across epochs (histograms and KDE).",
            summary: """
                From initialisation to the last epoch (first seed), the recurrent weights' standard deviation grew \
                in \(wider) of \(widened.count) models (x\(fmt(widened.min() ?? .nan, 3)) to \
                x\(fmt(widened.max() ?? .nan, 3))) and their largest |w| by x\(fmt(grown.min() ?? .nan, 3)) to \
                x\(fmt(grown.max() ?? .nan, 3)).
                """,
            table: AnswerTable(
                headers: ["task", "model", "W_hh sd (init -> last)", "max |w| (init -> last)"], rows: rows),
            figure: figure(ran, prefer: "mnist_rows") { "\($1)_kde_overlay.svg" },
            numbers: ["models widened": Double(wider)],
            figures: (ran.first?.models ?? []).map { m in
                figure(ran, prefer: "mnist_rows") { _, _ in "\(m.cell.rawValue)_ridgelines.svg" }
            },
            caveat: "the first seed's weights; every task has the same figures in its folder.")
    }

    /// How far each gate block of W_hh travelled: the sum over epochs of its update-to-weight ratio.
    static func travel(_ m: RealDataExperiment.ModelResult, _ block: String) -> Double {
        m.evolution.dropFirst().reduce(0) { $0 + ($1.updateRatio[block] ?? 0) }
    }

    static func perGate(_ ran: [RealDataExperiment.TaskResult]) -> Answer {
        var numbers: [String: Double] = [:], rows: [[String]] = [], mostMoved: [String: Int] = [:]
        for t in ran {
            for m in t.models {
                let (key, label) = recurrentWeight(m)
                let whole = travel(m, key)
                numbers["\(t.task) \(m.model)\(label.isEmpty ? " W_hh" : " W_ih") travel"] = whole
                let gates = m.cell.gateNames.map { ($0, travel(m, "\(key)[\($0)]")) }
                let most = gates.count > 1 ? gates.max { $0.1 < $1.1 } : nil
                let least = gates.count > 1 ? gates.min { $0.1 < $1.1 } : nil
                if let most { mostMoved["\(m.model) \(most.0)", default: 0] += 1 }
                rows.append([
                    RealDataExperiment.label(t.task), m.model + label, fmt(whole, 3),
                    most.map { "\($0.0) \(fmt($0.1, 3))" } ?? "-", least.map { "\($0.0) \(fmt($0.1, 3))" } ?? "-"
                ])
            }
        }
        let usual = mostMoved.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(2)
            .map { "\($0.key) on \($0.value) of \(ran.count) tasks" }
        return Answer(
            item: "Q2.4", question: "Compare how the weights evolve per model and per gate.",
            summary: "In the first seed, the gate block of W_hh that travelled furthest (the sum over epochs of "
                + "||W_e - W_(e-1)|| / ||W_(e-1)||) was "
                + (usual.isEmpty ? "not measurable" : usual.joined(separator: " and ")) + "; one seed, so no model or "
                + "gate is ranked against seed noise.",
            table: AnswerTable(
                headers: ["task", "model", "W_hh travel", "gate block moved most", "moved least"], rows: rows),
            figure: figure(ran, prefer: "mnist_rows") { "\($1)_weight_stats.svg" }, numbers: numbers,
            caveat: "one seed's weights (the first): which model or gate moved more is a measurement of that run, "
                + "not a ranking tested against seed noise.")
    }

    static func stability(_ ran: [RealDataExperiment.TaskResult], _ v: RealDataVerdicts) -> Answer {
        var numbers: [String: Double] = [:], rows: [[String]] = []
        for t in ran {
            for m in t.models {
                let split = TaskReport.squashing(m.cell, m.evolution.last?.saturation ?? [])
                let worst = split.worst.map { "\($0.gate) \(TaskReport.pct($0.fraction))" } ?? "-"
                if let w = split.worst { numbers["\(t.task) \(m.model) \(w.gate) saturated"] = w.fraction }
                let held = split.memory.filter { $0.fraction > 0.5 }
                    .map { "\($0.gate) \($0.position) \(TaskReport.pct($0.fraction))" }
                rows.append([
                    RealDataExperiment.label(t.task), m.model,
                    v.states(t.task, m.model).map(\.brief).joined(separator: "; "), worst,
                    held.isEmpty ? "-" : held.joined(separator: ", ")
                ])
            }
        }
        let failed = v.states.filter { $0.seed == 1 && !$0.state.learned }
        let accounts = failed.compactMap { v.account($0.task, $0.model) }
        let counts = LearningJudgement.counts(v.states)
        // A first-seed failure with several events in one epoch: where it broke, named by the events' kinds.
        let broke = failed.compactMap { j -> String? in
            let events = v.events["\(j.task) \(j.model)"] ?? []
            guard let first = events.first, events.filter({ $0.epoch == first.epoch }).count > 1 else { return nil }
            let kinds = events.filter { $0.epoch == first.epoch }.map(\.kind.rawValue)
            return "\(RealDataExperiment.label(j.task)) \(j.model) broke at epoch \(first.epoch) ("
                + kinds.joined(separator: ", ") + ")"
        }
        // Grouped by task: "Stocks RNN, LSTM and GRU".
        let names = ran.compactMap { t -> String? in
            let models = failed.filter { $0.task == t.task }.map(\.model)
            return models.isEmpty ? nil : "\(RealDataExperiment.label(t.task)) \(list(models))"
        }
        return Answer(
            item: "Q2.5", question: "Report on stability, saturation and convergence.",
            summary:
                "Of the \(v.states.count) trained models (tasks x models x seeds), \(counts.joined(separator: ", "))"
                + (names.isEmpty
                    ? "; every first-seed model learned" : "; first-seed failures: " + names.joined(separator: "; "))
                + (broke.isEmpty ? "" : "; " + broke.joined(separator: "; ")) + ".",
            answer: failed.map { "\(RealDataExperiment.label($0.task)) \($0.model) \($0.brief)." }
                .joined(separator: " ")
                + (accounts.isEmpty ? "" : " In order: " + accounts.joined(separator: " ")) + " "
                + "Saturation is the share of a squashing path's activations where its derivative is near 0; a gate "
                + "held where it keeps the state (LSTM f open, i shut; GRU z open) is memory, not saturation.",
            table: AnswerTable(
                headers: ["task", "model", "state per seed", "most saturated path (seed 1)", "memory (seed 1)"],
                rows: rows),
            figure: figure(ran, prefer: "mnist_pixels") { _, _ in "saturation.svg" }, numbers: numbers,
            figures: ran.prefix(2).map { "real/\($0.task)/loss.svg" },
            caveat: "saturation and events from the first seed on a probe batch of up to 128 validation sequences.")
    }
}
