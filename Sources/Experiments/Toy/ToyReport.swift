import Foundation
import Workbench
import Recurrent
import Charts

/// Experiment 1 drawn: its section of the report and its figures, from the measurements alone (`rnnlab report`
/// draws a finished run again from them).
enum ToyReport {
    static func render(_ s: ToyExperiment.Summary, _ folder: RunFolder, _ report: inout HTMLReport) throws {
        let o = s.options
        report.section("Experiment 1: RNN, LSTM and GRU from scratch on toy sequences")
        let seedNote =
            o.seeds > 1
            ? """
             Every model is also trained from \(o.seeds - 1) more seed\(o.seeds > 2 ? "s" : "") (weights and batch \
            order; the data fixed), and every comparison is made over the \(o.seeds) seeds; the figures show the \
            first.
            """
            : " One seed (--seeds 1): the comparisons below are within a single run, with its epoch-to-epoch noise."
        report.paragraph(
            """
            Each model is built and trained here with hand-written forward and backpropagation-through-time code \
            (no autograd), all three from the same seed and the same data, with PyTorch's default initialisation \
            (and the LSTM's forget-gate bias set to 1, as Keras does). Loss curves, gradient flow through time \
            and the findings below are computed from this run.\(seedNote)
            """
        )
        try gradientChecks(s.gradientChecks, o.cells, folder, &report)
        for task in s.tasks {
            guard let row = ToyTask.named(task.key) else { continue }
            try render(task, row, s, folder, &report)
        }
        try ExplodingGradients.render(s.exploding, folder, &report)
    }

    /// One row of the toy table: its description, loss figures, gradient figures, findings and results table, with
    /// the task's own measurements where it has them.
    static func render(
        _ task: ToyExperiment.TaskResult, _ row: ToyTask, _ s: ToyExperiment.Summary, _ folder: RunFolder,
        _ report: inout HTMLReport
    ) throws {
        report.section(row.heading(s.options), level: 3)
        report.paragraph(row.describe(s.options, s, task))
        try lossFigures(
            folder, &report, name: "toy/\(row.key)", title: row.lossTitle, summaries: task.models, yLabel: row.yLabel,
            baseline: row.baselineLine)
        try row.afterLoss?(s, folder, &report)
        try gradientFigures(folder, &report, name: "toy/\(row.key)", title: row.title, gradients: task.gradients)
        report.list(task.findings.map(\.text))
        try row.afterFindings?(s, folder, &report)
        resultsTable(&report, task.models, metric: row.metric.replacingOccurrences(of: "validation", with: "val"))
    }

    /// The character models read from the inside: units over text, gates over time, and samples after training.
    static func insideTheCharacterModels(_ s: ToyExperiment.Summary, _ folder: RunFolder, _ report: inout HTMLReport)
        throws
    {
        try UnitsOverText.present(s.text.units, prefix: "toy/", folder: folder, report: &report)
        report.section("Gates over time", level: 4)
        try GatesOverTime.draw(
            s.text.gates, path: { "toy/chars_gates_\($0.rawValue).svg" }, folder: folder, report: &report)
        let samples = s.text.samples
        report.table(
            headers: ["model", "temperature 0.5", "temperature 1.0"],
            rows: s.models("chars").map {
                [$0.model, samples[$0.model]?["0.5"] ?? "", samples[$0.model]?["1.0"] ?? ""]
            },
            caption: "Samples after training, primed with \"\(s.options.charPrime)\"")
    }

    /// Every compared cell's BPTT against central differences in Double (two layers, every entry), stated first, with
    /// its figure: the digits of agreement (-log10 of the largest relative error) beside the tolerance's 7.
    static func gradientChecks(
        _ checks: [GradientCheck.Result], _ cells: [CellKind], _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        report.paragraph(
            "Gradient check of this build (Double, central differences, every parameter, input and initial-state "
                + "entry; largest relative error): "
                + checks.map { "\($0.network) \(fmt($0.maxError, 2))" }.joined(separator: ", ") + ".")
        try folder.figure(
            GroupedBarChart(
                title: "Gradient check: digits of agreement with central differences",
                yLabel: "-log10 largest relative error", categories: cells.map(\.displayName),
                groups: [
                    (name: "measured", values: checks.map { -log10(max($0.maxError, 1e-300)) }),
                    (name: "tolerance 1e-7", values: checks.map { _ in 7 })
                ], height: 300),
            "toy/gradient_check.svg",
            caption: "Each cell's analytic BPTT gradient against central differences in Double: a bar above the "
                + "tolerance's passes.",
            into: &report)
    }

    static func lossFigures(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String,
        summaries: [ToyExperiment.ModelSummary],
        yLabel: String, baseline: Double? = nil
    ) throws {
        var series = TaskReport.trainingAndValidation(summaries.map { ($0.model, $0.history) })
        if let baseline, let n = summaries.first?.history.count {
            series.append(
                LineSeries(name: "baseline", y: [Double](repeating: baseline, count: n), dashed: true, color: "#888888")
            )
        }
        try folder.figureRow(
            [
                (
                    LineChart(title: "\(title): loss per epoch", xLabel: "epoch", yLabel: yLabel, series: series),
                    "\(name)_loss.svg", "Training (solid) and validation (dashed) loss, linear scale."
                ),
                (
                    LineChart(
                        title: "\(title): loss per epoch (log)", xLabel: "epoch", yLabel: yLabel, series: series,
                        yScale: .log), "\(name)_loss_log.svg", "The same on a log scale."
                )
            ], into: &report)
    }

    static func predictionFigure(_ p: ToyExperiment.SinePrediction, _ folder: RunFolder, _ report: inout HTMLReport)
        throws
    {
        let T = p.input.count
        var series = [
            LineSeries(name: "clean target", x: (1...T).map(Double.init), y: p.target, color: "#000000"),
            LineSeries(name: "noisy input", x: (0..<T).map(Double.init), y: p.input, dashed: true, color: "#999999")
        ]
        for (i, model) in p.predictions.enumerated() {
            series.append(
                LineSeries(name: model.model, x: (1...T).map(Double.init), y: model.values, color: Palette.color(i)))
        }
        try folder.figure(
            LineChart(
                title: "Predictions on a validation sequence", xLabel: "time step", yLabel: "value", series: series),
            "toy/sine_predictions.svg", caption: "Each model's one-step-ahead prediction against the clean next value.",
            into: &report)
    }

    static func gradientFigures(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String,
        gradients: [ToyExperiment.GradientSummary]
    ) throws {
        let loss = TaskReport.beforeAndAfter(gradients.map { ($0.model, $0.lossGradientInit, $0.lossGradientTrained) })
        let jac = TaskReport.beforeAndAfter(gradients.map { ($0.model, $0.jacobianInit, $0.jacobianTrained) })
        try folder.figureRow(
            [
                (
                    LineChart(
                        title: "\(title): ||dL/dh_t|| across time", xLabel: "time step t", yLabel: "gradient norm",
                        series: loss, yScale: .log), "\(name)_grad_norms.svg",
                    """
                    Norm of the loss gradient reaching the hidden state at each step (batch mean), at \
                    initialisation (dashed) and after training (solid).
                    """
                ),
                (
                    LineChart(
                        title: "\(title): ||dh_T/dh_t||_F across time", xLabel: "time step t", yLabel: "Jacobian norm",
                        series: jac, yScale: .log), "\(name)_jacobian.svg",
                    """
                    How strongly the last hidden state depends on the state at step t (Frobenius norm of the \
                    Jacobian, batch mean).
                    """
                )
            ], into: &report)
    }

    static func resultsTable(_ report: inout HTMLReport, _ s: [ToyExperiment.ModelSummary], metric: String) {
        report.table(
            headers: [
                "model", "parameters", "final train", "final \(metric)", "best \(metric)",
                "epoch <= \(fmt(s.first?.threshold ?? .nan, 3))", "seconds to it", "s/epoch"
            ],
            rows: s.map { m in
                [
                    m.model, String(m.parameters), fmt(m.history.last?.trainLoss ?? .nan), fmt(m.finalValidationLoss),
                    fmt(m.history.compactMap(\.validationLoss).min() ?? .nan),
                    m.epochReachingThreshold.map(String.init) ?? "not reached",
                    m.secondsToThreshold.map { fmt($0, 3) } ?? "-",
                    fmt(m.totalSeconds / Double(max(m.history.count, 1)), 3)
                ]
            })
    }

}
