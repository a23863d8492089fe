import Foundation
import Analysis
import Recurrent

/// What the assignment's Q2 asks to compare across the three models of one task, measured.
package struct ModelEvolution: Sendable {
    var model: String
    /// ||W_hh(last) - W_hh(0)|| / ||W_hh(0)||.
    var recurrentChange: Double
    var spectralInitial: Double, spectralFinal: Double
    /// The gate whose squashing saturation (derivative near 0) is largest after the last epoch, and that fraction;
    /// the gates held where they keep the state (memory) are not counted there but in `memory`.
    var mostSaturatedGate: String, saturation: Double
    /// The gates held where they keep the state after the last epoch (LSTM f open and i shut, GRU z open), each
    /// with the share of its activations there.
    var memory: [Memory] = []
    /// What the model's training did (`Judge.learning`).
    var state: LearningJudgement

    /// A gate held where it keeps the state: its name, the share of activations there, "open" (carry) or "shut"
    /// (write).
    package struct Memory: Sendable { package var gate: String, fraction: Double, position: String }

    init(
        model: String, recurrentChange: Double, spectralInitial: Double, spectralFinal: Double,
        mostSaturatedGate: String, saturation: Double, memory: [Memory] = [],
        state: LearningJudgement
    ) {
        self.model = model; self.recurrentChange = recurrentChange; self.spectralInitial = spectralInitial
        self.spectralFinal = spectralFinal; self.mostSaturatedGate = mostSaturatedGate; self.saturation = saturation
        self.memory = memory; self.state = state
    }

    init(_ r: TaskTraining.ModelResult, _ tracker: WeightEvolution, _ state: LearningJudgement) {
        let split = TaskReport.squashing(r.cell, r.evolution.last?.saturation ?? [])
        self.init(
            model: r.model, recurrentChange: tracker.totalChange()["rnn.weight_hh_l0"] ?? .nan,
            spectralInitial: r.evolution.first?.stats["rnn.weight_hh_l0"]?.spectralNorm ?? .nan,
            spectralFinal: r.evolution.last?.stats["rnn.weight_hh_l0"]?.spectralNorm ?? .nan,
            mostSaturatedGate: split.worst?.gate ?? "-", saturation: split.worst?.fraction ?? .nan,
            memory: split.memory, state: state)
    }
}

extension TaskReport {
    /// The gate with the largest squashing saturation, and the gates held where they keep the state (carry gate
    /// open, write gate shut) with their shares, of one model's per-gate saturation (`Verdicts.saturation`).
    package static func squashing(_ cell: CellKind, _ stats: [SaturationStats]) -> (
        worst: (gate: String, fraction: Double)?, memory: [ModelEvolution.Memory]
    ) {
        let carry = cell.carryGateBlock.map { cell.gateNames[$0] },
            write = cell.writeGateBlock.map { cell.gateNames[$0] }
        var worst: (gate: String, fraction: Double)? = nil
        var memory: [ModelEvolution.Memory] = []
        for s in stats {
            let split = Verdicts.saturation(gate: s.gate, low: s.low, high: s.high, carryGate: carry, writeGate: write)
            if split.squashing > worst?.fraction ?? -1 { worst = (s.gate, split.squashing) }
            if s.gate == carry || s.gate == write {
                memory.append(.init(gate: s.gate, fraction: split.kept, position: s.gate == carry ? "open" : "shut"))
            }
        }
        return (worst, memory)
    }
}

extension TaskReport {
    /// Cross-model comparison sentences for one task: how far W_hh moved, how its spectral norm changed, which
    /// gates saturated, and which model converged first. Every ordering and verdict comes from the numbers.
    static func comparison(_ m: [ModelEvolution]) -> [Finding] {
        guard m.count > 1 else { return [] }
        var lines: [Finding] = []
        let byChange = m.filter { $0.recurrentChange.isFinite }.sorted { $0.recurrentChange > $1.recurrentChange }
        if let top = byChange.first, let low = byChange.last {
            lines.append(
                .detail(
                    "Compared (first seed): W_hh moved furthest from its initialisation in \(top.model) "
                        + "(||W_last - W_0|| / ||W_0|| = \(fmt(top.recurrentChange, 3))), least in \(low.model) "
                        + "(\(fmt(low.recurrentChange, 3))); order: "
                        + byChange.map { "\($0.model) \(fmt($0.recurrentChange, 3))" }.joined(separator: " > ") + ".",
                    numbers: Dictionary(uniqueKeysWithValues: byChange.map { ($0.model, $0.recurrentChange) })))
        }
        let growth: [(model: String, from: Double, to: Double, factor: Double)] = m.filter {
            $0.spectralInitial > 0 && $0.spectralFinal.isFinite
        }.map { ($0.model, $0.spectralInitial, $0.spectralFinal, $0.spectralFinal / $0.spectralInitial) }
        if let most = growth.max(by: { $0.factor < $1.factor }) {
            let shrank = growth.filter { $0.factor < 1 }.map(\.model)
            let each = growth.map { g -> String in
                "\(g.model) \(fmt(g.from, 3)) -> \(fmt(g.to, 3)) (x\(fmt(g.factor, 3)))"
            }
            let verdict =
                most.factor > 1
                ? "it grew most for \(most.model)"
                    + (shrank.isEmpty ? "" : " and shrank for \(shrank.joined(separator: ", "))")
                : "it shrank for every model, least for \(most.model)"
            lines.append(
                .detail(
                    "Compared (first seed): spectral norm of W_hh, initialisation -> last epoch: "
                        + each.joined(separator: ", ")
                        + "; \(verdict).",
                    numbers: Dictionary(uniqueKeysWithValues: growth.map { ($0.model, $0.factor) })))
        }
        let saturated = m.filter { $0.saturation.isFinite }
        if let most = saturated.max(by: { $0.saturation < $1.saturation }),
            let least = saturated.min(by: { $0.saturation < $1.saturation })
        {
            let held = m.filter { !$0.memory.isEmpty }.map { e in
                "\(e.model) " + e.memory.map { "\($0.gate) \($0.position) \(pct($0.fraction))" }.joined(separator: ", ")
            }
            let each: String = saturated.map { "\($0.model) \($0.mostSaturatedGate) \(pct($0.saturation))" }.joined(
                separator: ", ")
            let order: String =
                most.saturation == least.saturation
                ? "every model alike" : "\(most.model) saturates most, \(least.model) least"
            let memory: String =
                held.isEmpty
                ? ""
                : "; gates held where they keep the state (memory, not saturation): " + held.joined(separator: "; ")
            lines.append(
                .detail(
                    "Compared (first seed): most saturated squashing path after training (activation derivative "
                        + "near 0): \(each); " + order + memory + ".",
                    numbers: Dictionary(uniqueKeysWithValues: saturated.map { ($0.model, $0.saturation) })))
        }
        lines.append(convergence(m))
        return lines
    }

    /// Each model's learning state (first seed), and a "flattened earliest" only among models that all learned and
    /// converged, at least two epochs before every other.
    static func convergence(_ m: [ModelEvolution]) -> Finding {
        let states = m.map { "\($0.model) \($0.state.brief)" }
        let flat = m.compactMap { e -> (String, Int)? in
            e.state.state == .converged ? e.state.evidence.convergedFrom.map { (e.model, $0) } : nil
        }
        let failed = m.filter { !$0.state.state.learned }.map(\.model)
        let improving = m.filter { $0.state.state == .stillImproving }.map(\.model)
        var verdict: String
        if !failed.isEmpty {
            verdict = "\(failed.joined(separator: ", ")) did not learn, so no order of convergence is given"
        } else if !improving.isEmpty {
            verdict = """
                \(improving.joined(separator: ", ")) budget-limited (more epochs would tell), so no model is said to \
                converge faster
                """
        } else if flat.count == m.count, let first = flat.min(by: { $0.1 < $1.1 }),
            flat.allSatisfy({ $0.0 == first.0 || $0.1 >= first.1 + 2 })
        {
            verdict = "\(first.0) flattened earliest, at least 2 epochs before the others"
        } else {
            verdict = "no model flattened clearly earlier than the others"
        }
        return .detail(
            "Compared (first seed): " + states.joined(separator: "; ") + ". " + verdict.prefix(1).uppercased()
                + verdict.dropFirst() + ".",
            numbers: Dictionary(uniqueKeysWithValues: flat.map { ($0.0, Double($0.1)) }))
    }
}
