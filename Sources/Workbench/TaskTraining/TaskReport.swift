import Foundation
import Recurrent
import Analysis
import Charts

/// Figures, tables and measured observations for Experiment 2.
package enum TaskReport {
    package static func pct(_ v: Double) -> String { String(format: "%.1f%%", 100 * v) }

    // MARK: findings

    /// `clip`: the gradient-norm clipping the task trained with (nil: none). `testCount`: the held-out samples the
    /// accuracies were measured on (their binomial intervals). `states`: each model's learning state (first seed).
    /// `split`: what the held-out split is called ("test"; `rnnlab train` reads its validation split); `inStudy`:
    /// whether the Answers exist to point to.
    static func findings(
        task: String, results: [TaskTraining.ModelResult], baselines: [String: Double], objective: Objective,
        clip: Double?, testCount: Int, seeds: Int = 1, states: [LearningJudgement], split: String = "test",
        inStudy: Bool = true
    ) -> [Finding] {
        (objective == .crossEntropy
            ? classification(
                task, results, baselines, testCount: testCount, seeds: seeds, states: states, split: split,
                inStudy: inStudy)
            : forecast(results, baselines, seeds: seeds, states: states, split: split, inStudy: inStudy))
            + stability(results, clip: clip) + weights(results)
    }

    /// Each classifier's test accuracy with its interval, its validation curve and learning state, every pair of
    /// models paired over the test items, the baselines.
    static func classification(
        _ task: String, _ results: [TaskTraining.ModelResult], _ baselines: [String: Double], testCount: Int,
        seeds: Int, states: [LearningJudgement], split: String = "test", inStudy: Bool = true
    ) -> [Finding] {
        var lines: [Finding] = []
        for (r, state) in zip(results, states) {
            let accs = r.history.compactMap(\.validationAccuracy)
            guard let best = accs.max(), let bestEpoch = accs.firstIndex(of: best).map({ $0 + 1 }) else { continue }
            let trainAcc = r.history.last?.trainAccuracy ?? .nan
            let held = Verdicts.accuracyWithInterval(r.testAccuracy ?? .nan, n: testCount)
            // Where the held-out split is the validation split (rnnlab train) its last epoch is that read.
            let curve =
                split == "validation"
                ? "after the last epoch (best \(pct(best)) at epoch \(bestEpoch))"
                : "; validation accuracy best \(pct(best)) at epoch \(bestEpoch), last \(pct(accs.last!))"
            lines.append(
                .detail(
                    """
                    \(r.model): \(split) accuracy \(held)\(split == "validation" ? " " : "")\(curve); training \
                    accuracy \(pct(trainAcc)); learning state: \(state.brief).
                    """, numbers: ["\(split) accuracy": r.testAccuracy ?? .nan]))
        }
        let pairs = Compare.pairsOverItems(
            results.map { ($0.model, $0.testItems) }, measure: "\(split) accuracy", lowerIsBetter: false)
        if !pairs.isEmpty {
            lines.append(
                .detail(
                    (seeds > 1 ? "First seed, every" : "Every") + " pair paired over the \(testCount) \(split) items: "
                        + pairs.map { "\($0.estimateText), p \(fmt($0.p, 2))" }.joined(separator: "; ")
                        + (seeds > 1 || !inStudy
                            ? "." : "; which of these hold after Holm's correction: Answers, Q2.1.")
                ))
        }
        if task == "mnist_rows", let lstm = results.first(where: { $0.cell == .lstm }), let a = lstm.testAccuracy {
            lines.append(
                .headline(
                    """
                    Quality bar: the LSTM reaches \(pct(a)) on the test digits (target 95%): \
                    \(a >= 0.95 ? "met" : "not met").
                    """,
                    numbers: ["accuracy": a, "target": 0.95]))
        }
        if let m = baselines["majority class accuracy"] { lines.append("Majority-class baseline: \(pct(m)).") }
        return lines
    }

    /// Each forecaster's test MSE against the naive forecast and the training mean, with its learning state.
    static func forecast(
        _ results: [TaskTraining.ModelResult], _ baselines: [String: Double], seeds: Int,
        states: [LearningJudgement], split: String = "test", inStudy: Bool = true
    ) -> [Finding] {
        var lines: [Finding] = []
        let naive = baselines.first { $0.key.hasPrefix("naive") }
        for (r, state) in zip(results, states) {
            var s = "\(r.model): \(split) MSE \(fmt(r.testLoss, 3)) (normalised units)"
            if let n = naive {
                let rel = r.testLoss / n.value
                s +=
                    rel < 1
                    ? ", \(fmt(100 * (1 - rel), 3))% below the naive forecast's \(fmt(n.value, 3))"
                    : ", \(fmt(rel, 3))x the naive forecast's \(fmt(n.value, 3))"
            }
            lines.append(.detail(s + "; learning state: \(state.brief)."))
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
                    ? "; on this seed no model scores below the naive forecast."
                    : """
                    ; on this seed \(beat.joined(separator: ", ")) score\(beat.count == 1 ? "s" : "") below the \
                    naive forecast\(inStudy ? pairedNote(seeds) : "").
                    """
            } else {
                s += "."
            }
            lines.append(s)
        }
        return lines
    }

    /// Where the study's Answers test the forecasters against the naive forecast.
    static func pairedNote(_ seeds: Int) -> String {
        " (paired over the test items and over \(seeds) seed\(seeds == 1 ? "" : "s"): Answers, Q2.1)"
    }

    /// How often each model's validation loss rose, its largest gradient norm and whether clipping acted.
    static func stability(_ results: [TaskTraining.ModelResult], clip: Double?) -> [Finding] {
        var lines: [Finding] = []
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
        return lines
    }

    /// W_hh's spectral norm, the update-to-weight ratios and the most saturated squashing path of each model.
    static func weights(_ results: [TaskTraining.ModelResult]) -> [Finding] {
        var lines: [Finding] = []
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
            // The mean over the stack's weight matrices (two per layer, one for a cell without W_hh), summed in name
            // order: a dictionary's own order changes from one process to the next.
            let ratios = r.evolution.dropFirst().map { s in
                let matrices = s.updateRatio.filter { $0.key.hasPrefix("rnn.weight") && !$0.key.contains("[") }
                    .sorted { $0.key < $1.key }.map(\.value)
                return matrices.reduce(0, +) / Double(max(matrices.count, 1))
            }
            if let a = ratios.first, let b = ratios.last, ratios.count > 1 {
                lines.append(
                    """
                    \(r.model) update-to-weight ratio of the recurrent matrices: \(fmt(a, 3)) in epoch 1, \
                    \(fmt(b, 3)) in epoch \(ratios.count)
                    """
                        + (b < a
                            ? " - the updates shrank to \(pct(b / a)) of epoch 1's."
                            : " - the updates have not shrunk."))
            }
            let after = squashing(r.cell, last.saturation), before = squashing(r.cell, first.saturation)
            if let worst = after.worst {
                let start = squashing(r.cell, first.saturation.filter { $0.gate == worst.gate }).worst?.fraction
                var s = """
                    \(r.model) most saturated squashing path after training: \(worst.gate) with \
                    \(pct(worst.fraction)) of activations where the derivative is near 0, from \
                    \(pct(start ?? .nan)) at initialisation
                    """
                if !after.memory.isEmpty {
                    let held = after.memory.map { m in
                        let start = before.memory.first { $0.gate == m.gate }?.fraction ?? .nan
                        return "\(m.gate) held \(m.position) for \(pct(m.fraction)) (from \(pct(start)))"
                    }
                    s += "; its state is kept (memory, not saturation) where " + held.joined(separator: " and ")
                }
                lines.append(s + ".")
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

    /// Every model's training and (dashed) validation loss per epoch, and each baseline as a flat grey line, in
    /// name order: a dictionary's own order changes from one process to the next, and the chart with it.
    static func lossSeries(_ results: [TaskTraining.ModelResult], baselines: [String: Double]) -> [LineSeries] {
        var loss = trainingAndValidation(results.map { ($0.model, $0.history) })
        for (name, v) in baselines.sorted(by: { $0.key < $1.key }) {
            loss.append(
                LineSeries(
                    name: name, y: [Double](repeating: v, count: results.first?.history.count ?? 1), dashed: true,
                    color: "#888888"))
        }
        return loss
    }

    static func figures(
        task: String, label: String, results: [TaskTraining.ModelResult], trackers: [(CellKind, WeightEvolution)],
        objective: Objective, baselines: [String: Double], split: String = "test", folder: RunFolder,
        report: inout HTMLReport
    ) throws {
        let base = "real/\(task)"
        let loss = lossSeries(results, baselines: objective == .meanSquaredError ? baselines : [:])
        var row: [(Chart, String, String)] = [
            (
                LineChart(
                    title: "\(label): loss per epoch", xLabel: "epoch",
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
                        title: "\(label): validation accuracy per epoch", xLabel: "epoch", yLabel: "accuracy",
                        series: acc), "\(base)/accuracy.svg", "Accuracy on the held-out set after each epoch."
                ))
        }
        // W_hh spectral norm and saturation, every task; a cell without W_hh (minGRU, minLSTM) has no line.
        let recurrent = results.enumerated().filter { $0.element.cell.hasRecurrentWeights }
        let spectral = recurrent.map {
            LineSeries(
                name: $0.element.model, x: $0.element.evolution.map { Double($0.epoch) },
                y: $0.element.evolution.map { $0.stats["rnn.weight_hh_l0"]?.spectralNorm ?? .nan },
                color: Palette.color($0.offset))
        }
        if !spectral.isEmpty {
            row.append(
                (
                    LineChart(
                        title: "\(label): spectral norm of W_hh", xLabel: "epoch (0 = init)",
                        yLabel: "largest singular value", series: spectral, markers: true),
                    "\(base)/spectral_norm.svg",
                    "Largest singular value of the recurrent weight matrix after each epoch."
                ))
        }
        try folder.figureRow(row, into: &report)
        let without = results.filter { !$0.cell.hasRecurrentWeights }.map(\.model)
        if !without.isEmpty {
            report.paragraph(
                "\(without.joined(separator: ", ")) \(without.count == 1 ? "has" : "have") no recurrent weight matrix "
                    + "W_hh (the gates read only the input; the state enters elementwise), so no W_hh figure shows "
                    + "\(without.count == 1 ? "it" : "them").")
        }
        try saturationFigures(task: task, label: label, results: results, folder: folder, report: &report)
        try weightEvolutionFigures(
            task: task, label: label, results: results, trackers: trackers, folder: folder, report: &report)
        tables(results: results, trackers: trackers, split: split, report: &report)
    }

    static func saturationFigures(
        task: String, label: String, results: [TaskTraining.ModelResult], folder: RunFolder,
        report: inout HTMLReport
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
            title: "\(label): saturation after training", yLabel: "fraction saturated",
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

    /// The weight blocks whose distributions are drawn: W_ih and W_hh, per gate block where the cell has several.
    static func distributionBlocks(_ cell: CellKind) -> [(name: String, title: String)] {
        cell.weightMatrices.flatMap { m in
            cell.gateCount == 1
                ? [("rnn.weight_\(m)_l0", "W_\(m)")]
                : cell.gateNames.map { ("rnn.weight_\(m)_l0[\($0)]", "W_\(m), gate \($0)") }
        }
    }

    /// A few epochs spread over the run (first, quarters, last), for the overlaid-density view.
    static func fewEpochs(_ count: Int) -> [Int] {
        Array(Set([0, count / 4, count / 2, 3 * count / 4, count - 1].filter { $0 >= 0 && $0 < count })).sorted()
    }

    static func weightEvolutionFigures(
        task: String, label: String, results: [TaskTraining.ModelResult], trackers: [(CellKind, WeightEvolution)],
        folder: RunFolder, report: inout HTMLReport
    ) throws {
        report.section("How the weights evolve (\(task))", level: 4)
        for (cell, tracker) in trackers where !tracker.snapshots.isEmpty {
            try distributionFigures(cell, tracker, task: task, folder: folder, report: &report)
            try statisticsFigure(cell, tracker, task: task, folder: folder, report: &report)
        }
        report.list(gateMovement(trackers))
    }

    /// One model's weight distributions: ridgelines per gate block and epoch, the assignment's overlaid densities
    /// at a few epochs, and a histogram with its density for every epoch (linked).
    static func distributionFigures(
        _ cell: CellKind, _ tracker: WeightEvolution, task: String, folder: RunFolder, report: inout HTMLReport
    ) throws {
        let epochs = tracker.snapshots.map(\.epoch)
        guard let lastEpoch = epochs.last else { return }
        let blocks = distributionBlocks(cell)
        let ridges: [Chart] = blocks.map { b in
            RidgelineChart(
                title: b.title, xLabel: "weight",
                rows: epochs.indices.map {
                    (label: "epoch \(epochs[$0])", values: tracker.samples[b.name]?[$0] ?? [])
                },
                width: 300)
        }
        let perGate =
            cell.gateCount > 1 ? " of each gate block (\(cell.gateNames.joined(separator: ", ")))" : ""
        try folder.figure(
            SmallMultiples(
                title: "\(cell.displayName): weight distributions per gate block, every epoch", panels: ridges,
                columns: max(2, cell.gateCount)),
            "real/\(task)/\(cell.rawValue)_ridgelines.svg",
            caption:
                """
                Kernel density (Scott bandwidth) of the input weights W_ih (first row) and recurrent weights \
                W_hh (second row)\(perGate), one ridge per epoch from 0 (initialisation, top) to \(lastEpoch) \
                (bottom).
                """,
            into: &report)
        let few = fewEpochs(epochs.count)
        let fewText = few.map { String(epochs[$0]) }.joined(separator: ", ")
        let matrices = cell.weightMatrices.map { ("rnn.weight_\($0)_l0", "W_\($0)") }
        let overlays: [Chart] = matrices.map { name, title in
            DensityChart(
                title: "\(cell.displayName): \(title) at epochs \(fewText)",
                xLabel: "weight",
                samples: few.map { (name: "epoch \(epochs[$0])", values: tracker.samples[name]?[$0] ?? []) },
                width: 420, height: 300)
        }
        try folder.figureRow(
            [
                (
                    SmallMultiples(
                        title: "\(cell.displayName): W_ih and W_hh densities overlaid", panels: overlays, columns: 2
                    ),
                    "real/\(task)/\(cell.rawValue)_kde_overlay.svg",
                    """
                    Kernel densities of all of W_ih and all of W_hh at epochs \
                    \(few.map { String(epochs[$0]) }.joined(separator: ", ")), overlaid.
                    """
                )
            ], into: &report)
        let histograms: [Chart] = epochs.indices.flatMap { i in
            matrices.map { name, title in
                HistogramChart(
                    title: "\(title), epoch \(epochs[i])", xLabel: "weight",
                    values: tracker.samples[name]?[i] ?? [], width: 300, height: 190) as Chart
            }
        }
        try folder.linkedFigure(
            SmallMultiples(
                title: "\(cell.displayName): histogram and density of W_ih and W_hh, every epoch",
                panels: histograms, columns: 2),
            "real/\(task)/\(cell.rawValue)_histograms.svg",
            caption:
                """
                histogram with its kernel density of W_ih (left) and W_hh (right) for every epoch from 0 to \
                \(lastEpoch) (\(cell.displayName))
                """,
            into: &report)
    }

    /// One model's update-to-weight ratios, gradient norms and spectral norm per W_hh block, per epoch.
    static func statisticsFigure(
        _ cell: CellKind, _ tracker: WeightEvolution, task: String, folder: RunFolder, report: inout HTMLReport
    ) throws {
        let blocks = distributionBlocks(cell)
        let names = cell.weightMatrices.map { "rnn.weight_\($0)_l0" } + (cell.gateCount > 1 ? blocks.map(\.name) : [])
        let snaps = Array(tracker.snapshots.dropFirst())
        /// One line per parameter or block over the epochs, on a log scale.
        func perEpoch(
            _ title: String, _ yLabel: String, _ names: [String],
            _ value: (WeightEvolution.Snapshot, String) -> Double?
        ) -> LineChart {
            LineChart(
                title: "\(cell.displayName): \(title)", xLabel: "epoch", yLabel: yLabel,
                series: names.enumerated().map { i, n in
                    LineSeries(
                        name: n.replacingOccurrences(of: "rnn.", with: ""), x: snaps.map { Double($0.epoch) },
                        y: snaps.map { value($0, n) ?? .nan }, color: Palette.color(i))
                },
                yScale: .log, width: 420, height: 300)
        }
        let ratio = perEpoch("update / weight ratio", "||dW|| / ||W||", names) { $0.updateRatio[$1] }
        let grads = perEpoch(
            "gradient norm per epoch", "mean ||dL/dW||",
            ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "fc.weight"]
        ) { $0.gradientNorms[$1] }
        let hhBlocks =
            cell.gateCount > 1 ? blocks.map(\.name).filter { $0.contains("weight_hh") } : ["rnn.weight_hh_l0"]
        let gateSpectral = LineChart(
            title: "\(cell.displayName): spectral norm per W_hh block", xLabel: "epoch (0 = init)",
            yLabel: "sigma_max",
            series: hhBlocks.enumerated().map { i, n in
                LineSeries(
                    name: n.replacingOccurrences(of: "rnn.weight_hh_l0", with: "W_hh"),
                    x: tracker.snapshots.map { Double($0.epoch) },
                    y: tracker.snapshots.map { $0.stats[n]?.spectralNorm ?? .nan }, color: Palette.color(i))
            },
            width: 420, height: 300)
        // A panel with nothing finite to draw (a one-epoch run has no update ratio yet) is left out.
        let panels: [LineChart] = [ratio, grads, gateSpectral].filter { chart in
            chart.series.contains { $0.y.contains(where: \.isFinite) }
        }
        try folder.figure(
            SmallMultiples(
                title: "\(cell.displayName): weight statistics per epoch", panels: panels, columns: 3),
            "real/\(task)/\(cell.rawValue)_weight_stats.svg",
            caption:
                """
                Update-to-weight ratio ||W_e - W_{e-1}|| / ||W_{e-1}|| per matrix and gate block; gradient \
                norms per parameter; spectral norm of each gate block of W_hh.
                """,
            into: &report)
    }

    /// Which W_hh gate block of each gated model moved most and least from its initialisation; the RNN's W_hh.
    static func gateMovement(_ trackers: [(CellKind, WeightEvolution)]) -> [String] {
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
        return moved
    }

    static func tables(
        results: [TaskTraining.ModelResult], trackers: [(CellKind, WeightEvolution)], split: String,
        report: inout HTMLReport
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
            headers: ["model", "parameters", "\(split) loss", "\(split) accuracy", "epochs", "s/epoch", "checkpoints"],
            rows: results.map { r in
                [
                    r.model, String(r.parameters), fmt(r.testLoss, 4), r.testAccuracy.map(pct) ?? "-",
                    String(r.history.count),
                    fmt(r.history.map(\.seconds).reduce(0, +) / Double(max(r.history.count, 1)), 3),
                    r.checkpoints + "/epoch_NNN.safetensors"
                ]
            })
    }

    static func writeCSV(task: String, results: [TaskTraining.ModelResult], folder: RunFolder) throws {
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

extension TaskReport {
    /// The loss gradient reaching each step, at initialisation and after training.
    struct Flow {
        var model: String
        var initial: [Double], trained: [Double]
    }

    static func gradientFlowFigure(
        task: String, label: String, _ flow: [Flow], folder: RunFolder, report: inout HTMLReport
    ) throws {
        guard let steps = flow.first?.trained.count, steps > 1 else { return }
        let series = beforeAndAfter(flow.map { ($0.model, $0.initial, $0.trained) })
        try folder.figure(
            LineChart(
                title: "\(label): ||dL/dh_t|| across time", xLabel: "time step t", yLabel: "gradient norm",
                series: series, yScale: .log),
            "real/\(task)/gradient_through_time.svg",
            caption:
                """
                Norm of the loss gradient reaching the top layer's hidden state at each step (probe batch mean), at \
                initialisation (dashed) and after training (solid).
                """,
            into: &report)
    }

    /// How much of the gradient at the last step reaches the first, per model, before and after training.
    static func gradientFlowFindings(_ flow: [Flow]) -> [Finding] {
        guard flow.count > 0, (flow.first?.trained.count ?? 0) > 1 else { return [] }
        let parts: [String] = flow.map { f in
            let a = GradientFlow.firstToLastRatio(f.initial), b = GradientFlow.firstToLastRatio(f.trained)
            return "\(f.model) \(fmt(a, 3)) -> \(fmt(b, 3))"
        }
        return [
            .detail(
                "||dL/dh_1|| / ||dL/dh_T|| on the probe batch, initialisation -> after training: "
                    + parts.joined(separator: ", ") + ".",
                numbers: Dictionary(
                    uniqueKeysWithValues: flow.map { ($0.model, GradientFlow.firstToLastRatio($0.trained)) }))
        ]
    }

    /// `values` averaged over at most `bins` equal runs of consecutive entries, with the first step of each run.
    static func binned(_ values: [Double], bins: Int) -> (means: [Double], starts: [Int]) {
        let width = max(1, (values.count + bins - 1) / bins)
        let starts = Array(stride(from: 0, to: values.count, by: width))
        let means = starts.map { a in
            let run = values[a..<min(a + width, values.count)]
            return run.reduce(0, +) / Double(run.count)
        }
        return (means, starts)
    }

    /// ||dL/dh_t|| over training: per model a heatmap of epochs (rows) x time steps (columns, binned to at most 60),
    /// log10 of the norm on the probe batch, so a reader sees the vanishing change as training goes on.
    static func gradientOverTrainingFigure(
        task: String, label: String, _ results: [TaskTraining.ModelResult], folder: RunFolder,
        report: inout HTMLReport
    ) throws {
        let panels: [Chart] = results.compactMap { r in
            let rows = r.evolution.map(\.stepGradientNorms)
            guard let steps = rows.first?.count, steps > 1, rows.allSatisfy({ $0.count == steps }) else { return nil }
            let bins = rows.map { binned($0, bins: 60) }
            let starts = bins[0].starts
            return Heatmap(
                title: "\(r.model): log10 ||dL/dh_t||",
                values: bins.map { $0.means.map { Foundation.log10(max($0, 1e-30)) } },
                rowLabels: r.evolution.map { "epoch \($0.epoch)" },
                columnLabels: starts.enumerated().map { i, t in i % 10 == 0 ? "t=\(t + 1)" : "" },
                scale: .sequential, annotate: false, width: 160 + 9 * Double(starts.count),
                height: 120 + 16 * Double(rows.count))
        }
        guard !panels.isEmpty else { return }
        try folder.figure(
            SmallMultiples(
                title: "\(label): the gradient through time, epoch by epoch", panels: panels, columns: 1),
            "real/\(task)/gradient_over_training.svg",
            caption:
                """
                Each row an epoch (0 = initialisation), each column a time step (runs of steps averaged where there \
                are many): log10 of the loss gradient reaching the top layer's hidden state, probe batch mean. A \
                norm of 0 (below Float's range, flushed to zero) is drawn at 1e-30, the scale's floor.
                """,
            into: &report)
    }

    /// Per model, ||dL/dh_1|| / ||dL/dh_T|| at the first and last epoch and every epoch where it crosses 1 (the
    /// first step gets more gradient than the last, or less, from then on): events in the gradient's path.
    static func gradientOverTrainingFindings(_ results: [TaskTraining.ModelResult]) -> [Finding] {
        results.compactMap { r in
            let ratios = r.evolution.map { GradientFlow.firstToLastRatio($0.stepGradientNorms) }
            guard let first = ratios.first, let last = ratios.last, ratios.count > 1, first.isFinite else { return nil }
            let flips = ratios.indices.dropFirst().filter { e in
                ratios[e].isFinite && ratios[e - 1].isFinite && (ratios[e] - 1) * (ratios[e - 1] - 1) < 0
            }
            let events =
                flips.isEmpty
                ? "it never crosses 1"
                : "it crosses 1 at epoch "
                    + flips.map { e in
                        "\(r.evolution[e].epoch) (\(fmt(ratios[e - 1], 3)) -> \(fmt(ratios[e], 3)))"
                    }.joined(separator: ", ")
            return .detail(
                """
                \(r.model) ||dL/dh_1|| / ||dL/dh_T|| over training: \(fmt(first, 3)) at initialisation, \
                \(fmt(last, 3)) after epoch \(r.evolution.last!.epoch); \(events).
                """, numbers: ["initial": first, "final": last, "crossings": Double(flips.count)])
        }
    }

    /// Per model one colour: its training loss solid and its validation loss dashed, per epoch.
    package static func trainingAndValidation(_ runs: [(model: String, history: [EpochRecord])]) -> [LineSeries] {
        runs.enumerated().flatMap { i, r in
            [
                LineSeries(name: "\(r.model) train", y: r.history.map(\.trainLoss), color: Palette.color(i)),
                LineSeries(
                    name: "\(r.model) val", y: r.history.map { $0.validationLoss ?? .nan }, dashed: true,
                    color: Palette.color(i))
            ]
        }
    }

    /// Per model one colour: its curve at initialisation dashed, after training solid, over steps 1...T.
    package static func beforeAndAfter(_ curves: [(model: String, initial: [Double], trained: [Double])])
        -> [LineSeries]
    {
        curves.enumerated().flatMap { i, c in
            let t = (1...max(c.trained.count, 1)).map(Double.init)
            return [
                LineSeries(name: "\(c.model) init", x: t, y: c.initial, dashed: true, color: Palette.color(i)),
                LineSeries(name: "\(c.model) trained", x: t, y: c.trained, color: Palette.color(i))
            ]
        }
    }
}

extension CellKind {
    /// Whether the cell has a recurrent weight W_hh (minGRU and minLSTM have none).
    var hasRecurrentWeights: Bool { recurrentWeight != .none }
    /// The weight matrices the figures draw: "ih", and "hh" where the cell has one.
    var weightMatrices: [String] { hasRecurrentWeights ? ["ih", "hh"] : ["ih"] }
}
