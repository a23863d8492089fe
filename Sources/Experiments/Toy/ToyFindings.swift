import Foundation
import Workbench
import Analysis
import Charts
import Recurrent
import Statistics

/// Experiment 1's sentences about one seed's race to a threshold, its epoch times and its gradients through time,
/// computed from the numbers.
extension ToyExperiment {
    // MARK: - findings (text computed from the numbers)

    /// Whether "first to the threshold" is a property of the models or of the threshold: the leader (by epoch) at
    /// 0.8x and 1.25x the threshold too, and its lead. A leader that changes, or a lead under two epochs, is no
    /// ranking.
    static func thresholdRobustness(_ s: [ModelSummary], threshold: Double) -> String {
        func leaders(_ t: Double) -> [(String, Int)] {
            s.compactMap { m in firstBelow(m.history, t).map { (m.model, $0.0) } }.sorted { $0.1 < $1.1 }
        }
        let levels = [0.8, 1, 1.25].map { threshold * $0 }
        let firsts = levels.map { leaders($0) }
        let named = zip(levels, firsts).map { t, l in
            "<= \(fmt(t, 3)): " + (l.first.map { "\($0.0) (epoch \($0.1))" } ?? "none")
        }.joined(separator: ", ")
        let same = firsts.allSatisfy { $0.first?.0 == firsts[1].first?.0 }
        let clear = firsts.allSatisfy { l in l.count < 2 || l[1].1 - l[0].1 >= 2 }
        return same && clear && firsts[1].count > 1
            ? "the same model leads by 2 or more epochs at 0.8x and 1.25x this threshold (\(named))"
            : "not a ranking: the leader or its lead of under 2 epochs changes with the threshold (\(named))"
    }

    /// The model that reached the threshold in fewer seconds (`clock`) against the one that took fewer epochs
    /// (`epochs`): ahead in wall-clock time only where the gap exceeds twice the spread of the two times (each
    /// epoch time's standard deviation times the square root of the epochs summed).
    static func wallClockFinding(_ clock: ModelSummary, _ epochs: ModelSummary) -> Finding {
        func spread(_ m: ModelSummary) -> Double {
            Stats.std(m.history.map(\.seconds).filter(\.isFinite))
                * Double(m.epochReachingThreshold ?? 0).squareRoot()
        }
        let a = clock.secondsToThreshold ?? .nan, b = epochs.secondsToThreshold ?? .nan
        let noise = 2 * (spread(clock) * spread(clock) + spread(epochs) * spread(epochs)).squareRoot()
        let times = "\(clock.model) \(fmt(a, 2)) s, \(epochs.model) \(fmt(b, 2)) s"
        let numbers = ["\(clock.model) seconds": a, "\(epochs.model) seconds": b, "twice the spread": noise]
        guard b - a > noise else {
            return .detail(
                """
                In wall-clock time \(clock.model) and \(epochs.model) are indistinguishable (\(times); the gap is \
                inside twice the spread of their epoch times, \(fmt(noise, 2)) s).
                """, numbers: numbers)
        }
        return .detail(
            """
            In wall-clock time \(clock.model) got there first (\(times), beyond twice the spread of their epoch times, \
            \(fmt(noise, 2)) s): its epochs took less time, though it needed more of them than \(epochs.model).
            """, numbers: numbers)
    }

    static func racingFindings(_ s: [ModelSummary], task: String, metric: String) -> [Finding] {
        var lines: [Finding] = []
        let reached = s.filter { $0.epochReachingThreshold != nil }.sorted {
            ($0.epochReachingThreshold!, $0.secondsToThreshold!) < ($1.epochReachingThreshold!, $1.secondsToThreshold!)
        }
        let threshold = fmt(s.first?.threshold ?? .nan, 3)
        if let first = reached.first {
            let order = reached.map {
                "\($0.model) at epoch \($0.epochReachingThreshold!) (\(fmt($0.secondsToThreshold!, 2)) s of training)"
            }.joined(separator: ", then ")
            let robustness = Self.thresholdRobustness(s, threshold: s.first?.threshold ?? .nan)
            lines.append(
                .headline(
                    "First to reach \(metric) <= \(threshold) on \(task): \(order); \(robustness).",
                    numbers: Dictionary(
                        uniqueKeysWithValues: reached.flatMap {
                            [
                                ("\($0.model) epoch", Double($0.epochReachingThreshold!)),
                                ("\($0.model) seconds", $0.secondsToThreshold!)
                            ]
                        })))
            let fastestClock = reached.min { $0.secondsToThreshold! < $1.secondsToThreshold! }!
            if fastestClock.model != first.model { lines.append(wallClockFinding(fastestClock, first)) }
        }
        let missed = s.filter { $0.epochReachingThreshold == nil }
        if !missed.isEmpty {
            let bests = missed.map {
                "\($0.model) (best \(fmt($0.history.compactMap(\.validationLoss).min() ?? .nan, 3)))"
            }
            lines.append(
                "Never reached \(metric) <= \(threshold) in \(s.first?.history.count ?? 0) epochs: "
                    + bests.joined(separator: ", ") + ".")
        }
        let lowest = Verdicts.lowest(s.map { ($0.model, $0.history.compactMap(\.validationLoss)) })
        lines.append(
            "Final \(metric): " + s.map { "\($0.model) \(fmt($0.finalValidationLoss, 3))" }.joined(separator: ", ")
                + "; \(lowest).")
        lines.append(
            "Parameters: " + s.map { "\($0.model) \($0.parameters)" }.joined(separator: ", ") + "; seconds per epoch: "
                + s.map { "\($0.model) \(fmt($0.totalSeconds / Double(max($0.history.count, 1)), 2))" }.joined(
                    separator: ", ") + costComparison(s))
        return lines
    }

    /// How each model's epoch time compares with the vanilla RNN's, and whether the times follow the number of gate
    /// blocks a step computes (LSTM 4, GRU 3, RNN 1): a model with more blocks is slower or faster than one with fewer
    /// only where the 95% intervals of their epoch times are apart; where they overlap the sentence says so.
    static func costComparison(_ s: [ModelSummary]) -> String {
        let perEpoch = s.map { ($0.cell, $0.totalSeconds / Double(max($0.history.count, 1))) }
        guard let rnn = perEpoch.first(where: { $0.0 == .rnn }), rnn.1 > 0, perEpoch.count > 1
        else { return "." }
        let others = perEpoch.filter { $0.0 != rnn.0 }
        let text =
            "; " + others.map { "\($0.0.displayName) \(fmt($0.1 / rnn.1, 2))x" }.joined(separator: ", ")
            + " the RNN's time per epoch"
        let counts = perEpoch.map { "\($0.0.displayName) \($0.0.gateCount)" }.joined(separator: ", ")
        guard s.allSatisfy({ $0.history.filter(\.seconds.isFinite).count > 1 }) else {
            return text + "; one epoch each, no spread to judge the order of the gate blocks (\(counts)) by."
        }
        // Each model's epoch times: their interval, and the same as text ("1.02 [0.98, 1.06]").
        let times = s.map { m in
            let t = m.history.map(\.seconds)
            return (m, OverSeeds.interval(t, positive: true), OverSeeds.withInterval(t, positive: true) { fmt($0, 3) })
        }
        var reversed: [String] = [], tied: [String] = []
        for (a, ia, shownA) in times {
            for (b, ib, shownB) in times where a.cell.gateCount > b.cell.gateCount && ia.low <= ib.high {
                if ia.high < ib.low {
                    reversed.append("\(a.model) (\(shownA) s) took less time per epoch than \(b.model) (\(shownB) s)")
                } else {
                    tied.append("\(a.model) and \(b.model) (\(shownA) s against \(shownB) s)")
                }
            }
        }
        if !reversed.isEmpty {
            return text + ", not in the order of the gate blocks each step computes (\(counts)): "
                + reversed.joined(separator: "; ") + ", the 95% intervals of their epoch times apart."
        }
        if !tied.isEmpty {
            return text + "; the epoch times of " + tied.joined(separator: "; ")
                + " are indistinguishable (95% intervals overlap), so the order of the gate blocks each step computes ("
                + counts + ") is neither shown nor contradicted."
        }
        return text
            + ", in the order of the gate blocks each step computes (\(counts)), beyond the spread of the epoch times."
    }

    /// What the gradients through time show and why, from the measured factors and gate statistics. `task`
    /// names a task whose loss sits at every step (sine, characters): its sentences say so and carry its name,
    /// and the ratio of first- to last-step gradient, which there mixes in each step's own loss, is left out.
    static func gradientFindings(_ g: [GradientSummary], steps: Int, task: String? = nil) -> [Finding] {
        var lines: [Finding] = []
        if let task {
            return everyStepGradientFindings(g, steps: steps, lossAtLastStep: false).map {
                .detail("\(task): " + $0.text, numbers: $0.numbers)
            }
        }
        lines.append(
            .headline(
                "||dL/dh_1|| / ||dL/dh_T|| (how much of the loss gradient at the last step survives back to the first)"
                    + " at initialisation: "
                    + g.map { "\($0.model) \(fmt($0.ratioInit, 3))" }.joined(separator: ", ") + "; after training: "
                    + g.map { "\($0.model) \(fmt($0.ratioTrained, 3))" }.joined(separator: ", ") + ".",
                numbers: Dictionary(
                    uniqueKeysWithValues: g.flatMap {
                        [("\($0.model) initial", $0.ratioInit), ("\($0.model) trained", $0.ratioTrained)]
                    })))
        if let rnn = g.first(where: { $0.cell == .rnn }) {
            for other in g where other.cell != .rnn {
                let times = other.ratioTrained / rnn.ratioTrained
                if times.isFinite {
                    lines.append(
                        "After training, \(other.model) keeps \(fmt(times, 3))x the RNN's share of gradient at step 1.")
                }
            }
        }
        return Array(lines.prefix(1)) + everyStepGradientFindings(g, steps: steps, lossAtLastStep: true)
            + lines.dropFirst()
    }

    /// The sentences that hold whatever the loss: per-step Jacobian factors, the carry gates, the vanilla path.
    static func everyStepGradientFindings(_ g: [GradientSummary], steps: Int, lossAtLastStep: Bool) -> [Finding] {
        var lines: [Finding] = []
        let perStep = g.map { ($0.model, GradientFlow.perStepFactor($0.jacobianInit)) }
        lines.append(
            "Per-step factor of ||dh_T/dh_t|| at initialisation (geometric mean over \(steps - 1) steps): "
                + perStep.map { "\($0.0) \(fmt($0.1, 3))" }.joined(separator: ", ") + ". "
                + compounding(perStep, steps: steps))
        for x in g where !x.gateCarryPerUnit.isEmpty {
            let u = x.gateCarryPerUnit, mean = u.reduce(0, +) / Double(u.count), open = u.filter { $0 > 0.95 }.count
            // gate^(T-1): what the gated identity path of the most open unit passes from the last step to the first
            let best = u.max()!, span = fmt(pow(best, Double(steps - 1)), 3)
            let path = x.cell.cellType.carryPath
            let gate = path?.name ?? "carry", equation = path?.equation ?? ""
            lines.append(
                """
                \(x.model) \(gate) (trained, probe batch): mean \(fmt(mean, 3)); \(open) of \(u.count) units \
                average above 0.95; the most open unit \(fmt(best, 3)), whose path passes \
                \(fmt(best, 3))^\(steps - 1) = \(span) across the sequence. \(equation)
                """
                    + (open > 0
                        ? " Those open units are the memory."
                        : """
                         No unit keeps its gate open, so this model cannot carry information across the whole \
                        sequence yet.
                        """)
            )
        }
        if let rnn = g.first(where: { $0.cell == .rnn }) {
            lines.append(vanillaPath(rnn, steps: steps, lossAtLastStep: lossAtLastStep))
        }
        return lines
    }

    /// What the per-step factors compound to over the sequence: below 1 the dependence shrinks, above 1 it grows.
    static func compounding(_ perStep: [(String, Double)], steps: Int) -> String {
        let n = steps - 1
        let parts = perStep.filter { $0.1.isFinite }.map {
            "\($0.0) \(fmt($0.1, 3))^\(n) = \(fmt(pow($0.1, Double(n)), 3))"
        }
        guard !parts.isEmpty else { return "" }
        let shrink = perStep.filter { $0.1 < 1 }.map(\.0), grow = perStep.filter { $0.1 > 1 }.map(\.0)
        var text = "Compounded over the sequence: " + parts.joined(separator: ", ")
        if !shrink.isEmpty {
            text +=
                """
                ; below 1, the dependence of the last state on the first shrinks geometrically for \
                \(shrink.joined(separator: ", "))
                """
        }
        if !grow.isEmpty { text += "; above 1, it grows geometrically for \(grow.joined(separator: ", "))" }
        return text + "."
    }

    /// The vanilla RNN's Jacobian is diag(1 - h_t^2) W_hh at every step; what that measured to here.
    /// `lossAtLastStep`: the loss sits only at the last step, so dL/dh_1 / dL/dh_T measures what survives the
    /// recurrence (with a loss at every step it also holds each step's own loss, and is left out).
    static func vanillaPath(_ rnn: GradientSummary, steps: Int, lossAtLastStep: Bool = true) -> String {
        let before = GradientFlow.perStepFactor(rnn.jacobianInit),
            after = GradientFlow.perStepFactor(rnn.jacobianTrained)
        func verdict(_ f: Double) -> String { "the gradient " + Verdicts.gradientPath(factor: f, steps: steps - 1) }
        var text =
            """
            The vanilla RNN has no gated path: dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh at every step. Its measured \
            per-step factor is \(fmt(before, 3)) at initialisation (\(verdict(before)))
            """
        if after.isFinite { text += " and \(fmt(after, 3)) after training (\(verdict(after)))" }
        guard lossAtLastStep else { return text + "." }
        let r = rnn.ratioTrained
        text += "; after training ||dL/dh_1|| / ||dL/dh_T|| = \(fmt(r, 3))"
        text +=
            r < 1e-3
            ? ", so almost no gradient from the loss reaches the first step."
            : r > 1e3 ? ", so the first steps get far larger gradients than the last." : "."
        return text
    }
}
