import Foundation
import Recurrent
import Analysis
import Charts

/// Figures, tables and measured observations for Experiment 2.
enum RealDataReport {
    static func pct(_ v: Double) -> String { String(format: "%.1f%%", 100 * v) }

    // MARK: findings

    /// `classes`: the number of classes of a classification task (chance level and the uniform-guess loss ln(classes)).
    /// `clip`: the gradient-norm clipping the task trained with (nil: none).
    static func findings(
        task: String, results: [RealDataExperiment.ModelResult], baselines: [String: Double], objective: Objective,
        classes: Int,
        clip: Double?
    ) -> [Finding] {
        var lines: [Finding] = []
        if objective == .crossEntropy {
            for r in results {
                let accs = r.history.compactMap(\.validationAccuracy)
                guard let best = accs.max(), let bestEpoch = accs.firstIndex(of: best).map({ $0 + 1 }) else { continue }
                let settle = accs.firstIndex { $0 >= best - 0.01 }.map { $0 + 1 } ?? bestEpoch
                let last = accs.last!, trainAcc = r.history.last?.trainAccuracy ?? .nan
                var s =
                    """
                    \(r.model): held-out accuracy \(pct(r.testAccuracy ?? .nan)) (best \(pct(best)) at epoch \
                    \(bestEpoch); within 1 point of its best from epoch \(settle)); training accuracy \
                    \(pct(trainAcc)), a gap of \(fmt(100 * (trainAcc - last), 3)) points
                    """
                s +=
                    best - last > 0.01
                    ? """
                    ; it fell \(fmt(100 * (best - last), 3)) points from its best, a sign of overfitting or \
                    instability.
                    """
                    : "; no drop from its best (stable)."
                lines.append(s)
            }
            let chance = 1.0 / Double(max(classes, 1))
            let stuck = results.filter { ($0.testAccuracy ?? 0) < chance + 0.05 }
            if !stuck.isEmpty {
                let losses = stuck.map { "\($0.model) \(fmt($0.history.last?.trainLoss ?? .nan, 3))" }.joined(
                    separator: ", ")
                lines.append(
                    """
                    At chance level (\(pct(chance)) + 5 points) after \(stuck.first!.history.count) epochs: \
                    \(stuck.map(\.model).joined(separator: ", ")). Final training loss \(losses), against \
                    \(fmt(log(Double(classes)), 3)) = ln(\(classes)) for a uniform guess.
                    """
                )
            }
            if let best = results.max(by: { ($0.testAccuracy ?? 0) < ($1.testAccuracy ?? 0) }) {
                lines.append(
                    .headline(
                        """
                        Highest held-out accuracy on \(task): \(best.model) (\(pct(best.testAccuracy ?? .nan)), \
                        \(best.parameters) parameters).
                        """,
                        numbers: ["accuracy": best.testAccuracy ?? .nan, "parameters": Double(best.parameters)]))
            }
            if task == "mnist_rows", let lstm = results.first(where: { $0.cell == .lstm }), let a = lstm.testAccuracy {
                lines.append(
                    .headline(
                        """
                        Quality bar: the LSTM reaches \(pct(a)) on the held-out digits (target 95%): \
                        \(a >= 0.95 ? "met" : "not met").
                        """,
                        numbers: ["accuracy": a, "target": 0.95]))
            }
            if let m = baselines["majority class accuracy"] { lines.append("Majority-class baseline: \(pct(m)).") }
        } else {
            let naive = baselines.first { $0.key.hasPrefix("naive") }
            for r in results {
                var s = "\(r.model): test MSE \(fmt(r.testLoss, 3)) (normalised units)"
                if let n = naive {
                    let rel = r.testLoss / n.value
                    s +=
                        rel < 1
                        ? ", \(fmt(100 * (1 - rel), 3))% below the naive forecast's \(fmt(n.value, 3))."
                        : """
                        , \(fmt(100 * (rel - 1), 3))% above the naive forecast's \(fmt(n.value, 3)): persistence \
                        is hard to beat here.
                        """
                }
                lines.append(s)
            }
            if let mean = baselines["training mean"] {
                var s = "Predicting the training mean scores \(fmt(mean, 3))"
                if let n = naive?.value, n > 0 {
                    let beat = results.filter { $0.testLoss < n }.map(\.model)
                    s +=
                        n < mean
                        ? "; the naive forecast is \(fmt(mean / n, 3))x better than that"
                        : "; the naive forecast is no better than that"
                    s +=
                        beat.isEmpty
                        ? ", and no model beats the naive forecast."
                        : ", and \(beat.joined(separator: ", ")) beat\(beat.count == 1 ? "s" : "") the naive forecast."
                } else {
                    s += "."
                }
                lines.append(s)
            }
        }
        // Stability of training.
        for r in results {
            let rises = zip(r.history.dropFirst(), r.history).filter {
                ($0.0.validationLoss ?? 0) > ($0.1.validationLoss ?? 0)
            }.count
            let maxNorm = r.history.map(\.maxGradientNorm).max() ?? .nan
            let clipping =
                clip.map { c in
                    maxNorm > c
                        ? "above the clipping norm \(fmt(c, 3)), so clipping acted"
                        : "never above the clipping norm \(fmt(c, 3)), so clipping never acted"
                } ?? "no clipping"
            lines.append(
                """
                \(r.model) stability: validation loss rose in \(rises) of \(max(r.history.count - 1, 0)) epoch \
                transitions; largest gradient norm seen \(fmt(maxNorm, 3)) (\(clipping)).
                """
            )
        }
        // Weights: spectral norm, update ratios, saturation.
        for r in results {
            guard let first = r.evolution.first, let last = r.evolution.last, last.epoch > 0 else { continue }
            let key = "rnn.weight_hh_l0"
            if let s0 = first.stats[key]?.spectralNorm, let s1 = last.stats[key]?.spectralNorm {
                lines.append(
                    """
                    \(r.model) W_hh spectral norm: \(fmt(s0, 3)) at initialisation -> \(fmt(s1, 3)) after epoch \
                    \(last.epoch)
                    """
                        + spectralMeaning(r.cell, s1, last))
            }
            let ratios = r.evolution.dropFirst().map { s in
                s.updateRatio.filter { $0.key.hasPrefix("rnn.weight") && !$0.key.contains("[") }.values.reduce(0, +) / 2
            }
            if let a = ratios.first, let b = ratios.last, ratios.count > 1 {
                lines.append(
                    """
                    \(r.model) update-to-weight ratio of the recurrent matrices: \(fmt(a, 3)) in epoch 1, \
                    \(fmt(b, 3)) in epoch \(ratios.count)
                    """
                        + (b < a ? " - updates shrink as training converges." : " - updates are not shrinking yet."))
            }
            if let worst = last.saturation.max(by: { $0.total < $1.total }),
                let start = first.saturation.first(where: { $0.gate == worst.gate })
            {
                lines.append(
                    """
                    \(r.model) most saturated gate after training: \(worst.gate) with \(pct(worst.total)) of \
                    activations saturated (\(pct(worst.low)) low, \(pct(worst.high)) high), from \
                    \(pct(start.total)) at initialisation.
                    """
                )
            }
        }
        return lines
    }

    /// What a spectral norm of W_hh says. For a cell with one block (the vanilla RNN), W_hh is the recurrence's
    /// linear map, so below 1 every direction contracts. A gated cell stacks its gate blocks in W_hh; their joint
    /// norm says nothing about the recurrence, so the largest block is named instead.
    static func spectralMeaning(_ cell: CellKind, _ norm: Double, _ snapshot: WeightEvolution.Snapshot) -> String {
        if cell.gateCount == 1 {
            return norm > 1
                ? " (above 1: some directions are amplified step to step)."
                : " (at most 1: every direction contracts, the recurrence forgets)."
        }
        let blocks = snapshot.stats.filter { $0.key.hasPrefix("rnn.weight_hh_l0[") }.compactMap { k, v in
            v.spectralNorm.map { (k, $0) }
        }
        guard let top = blocks.max(by: { $0.1 < $1.1 }) else { return " (all gate blocks stacked)." }
        let gate = top.0.dropFirst("rnn.weight_hh_l0[".count).dropLast()
        return " (all gate blocks stacked; the largest single block is \(gate) with \(fmt(top.1, 3)))."
    }

    // MARK: figures

    /// Short task names for chart titles.
    static func label(_ task: String) -> String { RealDataExperiment.TaskName(rawValue: task)?.label ?? task }

    static func figures(
        task: String, results: [RealDataExperiment.ModelResult], trackers: [(CellKind, WeightEvolution)],
        weightFigures: Bool,
        objective: Objective, baselines: [String: Double], folder: RunFolder, report: inout HTMLReport
    ) throws {
        let base = "real/\(task)"
        var loss: [LineSeries] = []
        for (i, r) in results.enumerated() {
            loss.append(LineSeries(name: "\(r.model) train", y: r.history.map(\.trainLoss), color: Palette.color(i)))
            loss.append(
                LineSeries(
                    name: "\(r.model) val", y: r.history.map { $0.validationLoss ?? .nan }, dashed: true,
                    color: Palette.color(i)))
        }
        for (name, v) in baselines where objective == .meanSquaredError {
            loss.append(
                LineSeries(
                    name: name, y: [Double](repeating: v, count: results.first?.history.count ?? 1), dashed: true,
                    color: "#888888"))
        }
        var row: [(Chart, String, String)] = [
            (
                LineChart(
                    title: "\(label(task)): loss per epoch", xLabel: "epoch",
                    yLabel: objective == .crossEntropy ? "cross-entropy" : "MSE (normalised)", series: loss,
                    yScale: .log),
                "\(base)/loss.svg", "Training (solid) and validation (dashed) loss."
            )
        ]
        if objective == .crossEntropy {
            let acc = results.enumerated().map {
                LineSeries(
                    name: $0.element.model, y: $0.element.history.map { $0.validationAccuracy ?? .nan },
                    color: Palette.color($0.offset))
            }
            row.append(
                (
                    LineChart(
                        title: "\(label(task)): held-out accuracy per epoch", xLabel: "epoch", yLabel: "accuracy",
                        series: acc), "\(base)/accuracy.svg", "Accuracy on the held-out set after each epoch."
                ))
        }
        // W_hh spectral norm and saturation, every task.
        let spectral = results.enumerated().map {
            LineSeries(
                name: $0.element.model, x: $0.element.evolution.map { Double($0.epoch) },
                y: $0.element.evolution.map { $0.stats["rnn.weight_hh_l0"]?.spectralNorm ?? .nan },
                color: Palette.color($0.offset))
        }
        row.append(
            (
                LineChart(
                    title: "\(label(task)): spectral norm of W_hh", xLabel: "epoch (0 = init)",
                    yLabel: "largest singular value", series: spectral, markers: true),
                "\(base)/spectral_norm.svg", "Largest singular value of the recurrent weight matrix after each epoch."
            ))
        try folder.figureRow(row, into: &report)
        try saturationFigures(task: task, results: results, folder: folder, report: &report)
        if weightFigures {
            try weightEvolutionFigures(
                task: task, results: results, trackers: trackers, folder: folder, report: &report)
        }
        tables(results: results, trackers: trackers, report: &report)
    }

    static func saturationFigures(
        task: String, results: [RealDataExperiment.ModelResult], folder: RunFolder, report: inout HTMLReport
    ) throws {
        var panels: [Chart] = []
        for r in results {
            let gates = r.evolution.first?.saturation.map(\.gate) ?? []
            let series = gates.enumerated().map { (i, g) in
                LineSeries(
                    name: g, x: r.evolution.map { Double($0.epoch) },
                    y: r.evolution.map { s in s.saturation.first { $0.gate == g }?.total ?? .nan },
                    color: Palette.color(i))
            }
            panels.append(
                LineChart(
                    title: "\(r.model) gate saturation", xLabel: "epoch (0 = init)", yLabel: "fraction saturated",
                    series: series, markers: true, width: 420, height: 300))
        }
        let finals = results.flatMap { r in
            (r.evolution.last?.saturation ?? []).map { ("\(r.model) \($0.gate)", $0.low, $0.high) }
        }
        let bars = GroupedBarChart(
            title: "\(label(task)): saturation after training", yLabel: "fraction saturated",
            categories: finals.map(\.0),
            groups: [
                (name: "low (closed / -1)", values: finals.map(\.1)),
                (name: "high (open / +1)", values: finals.map(\.2))
            ],
            height: 300)
        panels.append(bars)
        try folder.figure(
            SmallMultiples(
                title: "Gate saturation on the probe batch (sigmoid < 0.05 or > 0.95; tanh |x| > 0.95)", panels: panels,
                columns: 2),
            "real/\(task)/saturation.svg",
            caption:
                """
                Fraction of gate activations in the saturated ranges after each epoch, per model and gate (LSTM \
                i, f, g, o; GRU r, z, n; RNN h), and after the last epoch split into the low and high ends.
                """,
            into: &report)
    }

    static func weightEvolutionFigures(
        task: String, results: [RealDataExperiment.ModelResult], trackers: [(CellKind, WeightEvolution)],
        folder: RunFolder, report: inout HTMLReport
    ) throws {
        report.section("How the weights evolve (\(task))", level: 4)
        for (cell, tracker) in trackers {
            let blocks = cell.gateCount == 1 ? ["rnn.weight_hh_l0"] : cell.gateNames.map { "rnn.weight_hh_l0[\($0)]" }
            let epochs = tracker.snapshots.map(\.epoch)
            let pick =
                stride(from: 0, to: epochs.count, by: max(1, epochs.count / 8)).map { $0 }
                + (epochs.count > 1 && (epochs.count - 1) % max(1, epochs.count / 8) != 0 ? [epochs.count - 1] : [])
            let ridges: [Chart] = blocks.map { b in
                RidgelineChart(
                    title: cell.gateCount == 1 ? "W_hh" : "W_hh, gate \(b.dropLast().split(separator: "[").last!)",
                    xLabel: "weight",
                    rows: pick.map { (label: "epoch \(epochs[$0])", values: tracker.samples[b]?[$0] ?? []) }, width: 330
                )
            }
            try folder.figure(
                SmallMultiples(
                    title: "\(cell.displayName): W_hh distribution per gate across epochs", panels: ridges, columns: 4),
                "real/\(task)/\(cell.rawValue)_whh_ridgelines.svg",
                caption:
                    """
                    Kernel density of the recurrent weights of each gate block, one ridge per epoch (top: \
                    initialisation; darker: later).
                    """,
                into: &report)
            let names =
                cell.gateCount == 1
                ? ["rnn.weight_ih_l0", "rnn.weight_hh_l0"]
                : ["rnn.weight_ih_l0", "rnn.weight_hh_l0"] + cell.gateNames.map { "rnn.weight_hh_l0[\($0)]" }
            let density = DensityChart(
                title: "\(cell.displayName): W_hh initial vs final", xLabel: "weight",
                samples: [
                    (name: "epoch 0", values: tracker.samples["rnn.weight_hh_l0"]?.first ?? []),
                    (name: "epoch \(epochs.last ?? 0)", values: tracker.samples["rnn.weight_hh_l0"]?.last ?? [])
                ], width: 420, height: 300)
            let hist = HistogramChart(
                title: "\(cell.displayName): final W_hh", xLabel: "weight",
                values: tracker.samples["rnn.weight_hh_l0"]?.last ?? [], width: 420, height: 300)
            let snaps = Array(tracker.snapshots.dropFirst())
            let ratio = LineChart(
                title: "\(cell.displayName): update / weight ratio", xLabel: "epoch", yLabel: "||dW|| / ||W||",
                series: names.enumerated().map { i, n in
                    LineSeries(
                        name: n.replacingOccurrences(of: "rnn.", with: ""), x: snaps.map { Double($0.epoch) },
                        y: snaps.map { $0.updateRatio[n] ?? .nan }, color: Palette.color(i))
                },
                yScale: .log, width: 420, height: 300)
            let gradNames = ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "fc.weight"]
            let grads = LineChart(
                title: "\(cell.displayName): gradient norm per epoch", xLabel: "epoch", yLabel: "mean ||dL/dW||",
                series: gradNames.enumerated().map { i, n in
                    LineSeries(
                        name: n.replacingOccurrences(of: "rnn.", with: ""), x: snaps.map { Double($0.epoch) },
                        y: snaps.map { $0.gradientNorms[n] ?? .nan }, color: Palette.color(i))
                },
                yScale: .log, width: 420, height: 300)
            let gateSpectral = LineChart(
                title: "\(cell.displayName): spectral norm per gate block", xLabel: "epoch (0 = init)",
                yLabel: "sigma_max",
                series: names.dropFirst().enumerated().map { i, n in
                    LineSeries(
                        name: n.replacingOccurrences(of: "rnn.weight_hh_l0", with: "W_hh"),
                        x: tracker.snapshots.map { Double($0.epoch) },
                        y: tracker.snapshots.map { $0.stats[n]?.spectralNorm ?? .nan }, color: Palette.color(i))
                },
                width: 420, height: 300)
            try folder.figure(
                SmallMultiples(
                    title: "\(cell.displayName): weight statistics per epoch",
                    panels: [density, hist, ratio, grads, gateSpectral], columns: 3),
                "real/\(task)/\(cell.rawValue)_weight_stats.svg",
                caption:
                    """
                    Density of W_hh at initialisation and after training (KDE, Scott bandwidth); its final \
                    histogram; update-to-weight ratio ||W_e - W_{e-1}|| / ||W_{e-1}|| per matrix and gate block; \
                    gradient norms per parameter; spectral norm of each gate block of W_hh.
                    """,
                into: &report)
        }
        // Which gate moved most.
        var moved: [String] = []
        for (cell, tracker) in trackers where cell.gateCount > 1 {
            let change = tracker.totalChange().filter { $0.key.hasPrefix("rnn.weight_hh_l0[") }
            if let top = change.max(by: { $0.value < $1.value }), let low = change.min(by: { $0.value < $1.value }) {
                moved.append(
                    """
                    \(cell.displayName): W_hh gate block that moved most from its initialisation: \
                    \(top.key.replacingOccurrences(of: "rnn.weight_hh_l0", with: "")) (relative change \
                    \(fmt(top.value, 3))); least: \
                    \(low.key.replacingOccurrences(of: "rnn.weight_hh_l0", with: "")) (\(fmt(low.value, 3))).
                    """
                )
            }
        }
        if let rnn = trackers.first(where: { $0.0 == .rnn })?.1, let c = rnn.totalChange()["rnn.weight_hh_l0"] {
            moved.append("RNN: W_hh relative change from initialisation \(fmt(c, 3)).")
        }
        report.list(moved)
    }

    static func tables(
        results: [RealDataExperiment.ModelResult], trackers: [(CellKind, WeightEvolution)], report: inout HTMLReport
    ) {
        var rows: [[String]] = []
        for r in results {
            guard let first = r.evolution.first, let last = r.evolution.last else { continue }
            for name in last.stats.keys.sorted() where name.hasPrefix("rnn.weight_hh") {
                let a = first.stats[name]!, b = last.stats[name]!
                rows.append([
                    r.model, name.replacingOccurrences(of: "rnn.", with: ""), "\(fmt(a.mean, 3)) -> \(fmt(b.mean, 3))",
                    "\(fmt(a.std, 3)) -> \(fmt(b.std, 3))",
                    "\(fmt(a.maxAbs, 3)) -> \(fmt(b.maxAbs, 3))",
                    "\(fmt(a.spectralNorm ?? .nan, 3)) -> \(fmt(b.spectralNorm ?? .nan, 3))"
                ])
            }
        }
        report.table(
            headers: ["model", "block", "mean", "std", "max |w|", "spectral norm"], rows: rows,
            caption: "Recurrent weights: initialisation -> after the last epoch")
        report.table(
            headers: ["model", "parameters", "held-out loss", "held-out accuracy", "epochs", "s/epoch", "checkpoints"],
            rows: results.map { r in
                [
                    r.model, String(r.parameters), fmt(r.testLoss, 4), r.testAccuracy.map(pct) ?? "-",
                    String(r.history.count),
                    fmt(r.history.map(\.seconds).reduce(0, +) / Double(max(r.history.count, 1)), 3),
                    r.checkpoints + "/epoch_NNN.safetensors"
                ]
            })
    }

    static func writeCSV(task: String, results: [RealDataExperiment.ModelResult], folder: RunFolder) throws {
        var rows: [[String]] = []
        for r in results {
            for s in r.evolution {
                let h = s.epoch > 0 && s.epoch <= r.history.count ? r.history[s.epoch - 1] : nil
                for (block, st) in s.stats.sorted(by: { $0.key < $1.key }) {
                    rows.append([
                        r.model, String(s.epoch), block, String(st.mean), String(st.std), String(st.maxAbs),
                        st.spectralNorm.map { String($0) } ?? "",
                        s.updateRatio[block].map { String($0) } ?? "", h.map { String($0.trainLoss) } ?? "",
                        h?.validationLoss.map { String($0) } ?? "",
                        h?.validationAccuracy.map { String($0) } ?? ""
                    ])
                }
            }
        }
        try folder.writeCSV(
            [
                "model", "epoch", "block", "mean", "std", "max_abs", "spectral_norm", "update_ratio", "train_loss",
                "val_loss", "val_accuracy"
            ], rows, to: "real/\(task)/weights.csv")
        var sat: [[String]] = []
        for r in results {
            for s in r.evolution {
                for g in s.saturation {
                    sat.append([r.model, String(s.epoch), g.gate, String(g.low), String(g.high), String(g.mean)])
                }
            }
        }
        try folder.writeCSV(
            ["model", "epoch", "gate", "fraction_low", "fraction_high", "mean_activation"], sat,
            to: "real/\(task)/saturation.csv")
    }
}
