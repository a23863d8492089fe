import Foundation
import Charts
import Interchange
import TensorCore
import Files

/// One chart of every kind on synthetic data, written as SVG files plus an HTML page: a quick way to see
/// what the chart module draws (and to check it by eye after changing it).
package enum Gallery {
    /// The files it writes into its folder.
    static let names = ["loss", "gradients", "histogram", "ridgeline", "trajectory", "heatmap", "bars", "grid"]

    /// Writes the gallery into `dir`, which must be empty or hold an earlier gallery: it never writes over files
    /// of its own names in a folder of other things (the home folder, a project).
    package static func write(to dir: URL) throws -> [URL] {
        let own = Set(names.map { "\($0).svg" } + ["gallery.html"])
        let present = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        if let other = present.sorted().first(where: { !own.contains($0) }) {
            throw FileFormatError(
                "\(dir.path) holds other files (\(BoundedText.quote(other)), ...); the gallery writes only into an "
                    + "empty folder or an earlier gallery's: choose another --out")
        }
        var rng = SeededRandom(seed: 1)
        let epochs = (1...30).map(Double.init)
        let losses = LineChart(
            title: "Training loss", xLabel: "epoch", yLabel: "MSE",
            series: [
                LineSeries(name: "RNN", x: epochs, y: epochs.map { 0.5 * exp(-$0 / 12) + 0.02 }),
                LineSeries(name: "LSTM", x: epochs, y: epochs.map { 0.5 * exp(-$0 / 5) + 0.005 }),
                LineSeries(name: "GRU", x: epochs, y: epochs.map { 0.5 * exp(-$0 / 4) + 0.006 }),
                LineSeries(
                    name: "LSTM (val)", x: epochs, y: epochs.map { 0.5 * exp(-$0 / 5) + 0.01 }, dashed: true,
                    color: Palette.color(1))
            ],
            yScale: .log)
        let steps = (1...100).map(Double.init)
        let grads = LineChart(
            title: "Gradient norm ||dL/dh_t|| across time", xLabel: "time step t", yLabel: "norm",
            series: [
                LineSeries(name: "RNN", x: steps, y: steps.map { pow(0.8, 100 - $0) }),
                LineSeries(name: "LSTM", x: steps, y: steps.map { 0.3 * pow(0.98, 100 - $0) }),
                LineSeries(name: "GRU", x: steps, y: steps.map { 0.4 * pow(0.97, 100 - $0) })
            ], yScale: .log)
        let weights = (0..<4000).map { _ in rng.normal() * 0.1 }
        let hist = HistogramChart(title: "W_hh values", xLabel: "weight", values: weights)
        let ridge = RidgelineChart(
            title: "W_hh across epochs", xLabel: "weight",
            rows: (1...8).map { e in
                (label: "epoch \(e)", values: weights.map { $0 * (1 + Double(e) / 4) + 0.02 * Double(e) })
            })
        let words = ["what", "shape", "is", "in", "the", "image", "?"]
        var walk = (0.0, 0.0)
        let traj = words.map { _ -> (x: Double, y: Double) in
            walk = (walk.0 + rng.uniform(-1, 2), walk.1 + rng.uniform(-1, 1)); return (x: walk.0, y: walk.1)
        }
        let scatter = ScatterChart(
            title: "Hidden-state trajectory (PCA)", xLabel: "PC1", yLabel: "PC2",
            series: [ScatterSeries(name: "LSTM", points: traj, labels: words, trajectory: true)])
        let sim = words.indices.map { i in words.indices.map { j in exp(-Double(abs(i - j)) / 2) * (i == j ? 1 : 0.9) }
        }
        let heat = Heatmap(
            title: "Cosine similarity of hidden states", values: sim, rowLabels: words, columnLabels: words,
            scale: .diverging)
        let bars = GroupedBarChart(
            title: "Gate saturation", yLabel: "fraction saturated", categories: ["input", "forget", "cell", "output"],
            groups: [("epoch 1", [0.05, 0.1, 0.02, 0.04]), ("epoch 10", [0.2, 0.35, 0.1, 0.15])])
        let grid = SmallMultiples(title: "Small multiples", panels: [hist, bars], columns: 2)
        let drawn: [any Chart] = [losses, grads, hist, ridge, scatter, heat, bars, grid]
        let charts = zip(names, drawn).map { ($0, $1) }
        var report = HTMLReport(title: "RNNLab chart gallery")
        report.section("Every chart kind")
        var urls: [URL] = []
        for (name, chart) in charts {
            let url = dir.appendingPathComponent("\(name).svg")
            try AtomicFile.write(try chart.svg(), to: url)
            urls.append(url)
            try report.figure(chart, caption: chart.title, file: "\(name).svg")
        }
        let page = dir.appendingPathComponent("gallery.html")
        try AtomicFile.write(report.render(), to: page)
        return urls + [page]
    }
}
