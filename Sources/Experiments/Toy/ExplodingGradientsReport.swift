import Foundation
import Workbench
import Analysis
import Charts

/// The exploding-gradient runs drawn: the setting, the gradient through time per radius and both runs per batch.
extension ExplodingGradients {
    /// The section: the figures and the findings, from the measurements.
    static func render(_ s: Summary, _ folder: RunFolder, _ report: inout HTMLReport) throws {
        try figures(
            s.options, curves: s.gradientThroughTime, unclipped: s.unclipped, clipped: s.clipped, folder, &report)
        report.list(s.findings.map(\.text))
    }

    /// The setting in words, the gradient through time per radius, and both runs' loss and gradient norm per batch.
    static func figures(
        _ o: Options, curves: [[Double]], unclipped: Run, clipped: Run, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        report.section("Exploding gradients, shown (and what clipping does)", level: 3)
        report.paragraph(
            """
            A vanilla ReLU RNN (hidden \(o.hidden)) whose recurrent matrix is rho * I: while a unit is active, \
            dh_t/dh_{t-1} = rho, so the loss gradient reaching step t scales as rho^(T - t). Left: the gradient \
            through time at initialisation on the adding problem (T = \(o.steps)) for rho = \
            \(o.radii.map { fmt($0, 3) }.joined(separator: ", ")). Right: the same network with rho = \
            \(fmt(o.trainingRadius, 3)) trained with plain SGD (lr \(fmt(o.learningRate, 3)), batch 32, \
            \(o.epochs) epochs of \(o.count) sequences) from the same weights and batches, without clipping and \
            with the gradient norm clipped at \(fmt(o.clip, 3)).
            """)
        let t = (1...o.steps).map(Double.init)
        let through = LineChart(
            title: "ReLU RNN, W_hh = rho I: ||dL/dh_t|| at initialisation", xLabel: "time step t",
            yLabel: "gradient norm",
            series: zip(o.radii, curves).enumerated().map { i, c in
                LineSeries(name: "rho = \(fmt(c.0, 3))", x: t, y: c.1, color: Palette.color(i))
            }, yScale: .log)
        let runs = [("no clipping", unclipped), ("clipped at \(fmt(o.clip, 3))", clipped)]
        /// Each run's finite values per batch (a run stops where its loss stops being a number).
        func perBatch(_ values: (Run) -> [Double]) -> [LineSeries] {
            runs.enumerated().compactMap { i, r in
                let finite = values(r.1).prefix { $0.isFinite }
                guard !finite.isEmpty else { return nil }
                return LineSeries(
                    name: r.0, x: (1...finite.count).map(Double.init), y: Array(finite), color: Palette.color(i))
            }
        }
        let lossChart = LineChart(
            title: "rho = \(fmt(o.trainingRadius, 3)): training loss per batch", xLabel: "batch", yLabel: "MSE",
            series: perBatch(\.batchLosses), yScale: .log)
        let normChart = LineChart(
            title: "rho = \(fmt(o.trainingRadius, 3)): gradient norm per batch (before clipping)", xLabel: "batch",
            yLabel: "||g||", series: perBatch(\.batchGradientNorms), yScale: .log)
        try folder.figureRow(
            [
                (
                    through, "toy/exploding_gradient_through_time.svg",
                    "Loss gradient reaching each step at initialisation (batch mean, log scale), one curve per rho."
                ),
                (
                    lossChart, "toy/exploding_loss.svg",
                    """
                    Training loss of every batch (log scale) without and with clipping, from the same start; a \
                    curve ends where its loss stopped being a finite number.
                    """
                ),
                (
                    normChart, "toy/exploding_gradient_norm.svg",
                    "Global gradient norm of every batch before clipping (log scale)."
                )
            ], into: &report)
    }
}
