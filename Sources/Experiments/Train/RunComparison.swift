import Foundation
import Charts
import Interchange
import Datasets
import Files

/// `rnnlab compare`: runs of `rnnlab train` on one page, so the effect of one knob can be seen: their loss and
/// accuracy curves, final numbers and weight statistics, and the settings in which they differ.
package enum RunComparison {
    struct Run {
        var name: String
        var config: [String: String]
        var result: RealDataExperiment.TaskResult
    }

    static func load(_ folder: URL) throws -> Run {
        func read(_ file: String) throws -> Data {
            let url = folder.appendingPathComponent(file)
            guard let d = try? Data(contentsOf: url) else {
                throw DataError("\(url.path): missing (is \(folder.path) a finished rnnlab train run?)")
            }
            return d
        }
        let configData = try read("config.json")
        guard let object = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw DataError("\(folder.appendingPathComponent("config.json").path): not a JSON object")
        }
        let config = object.mapValues { v -> String in
            if let d = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]) {
                return String(decoding: d, as: UTF8.self)
            }
            return "\(v)"
        }
        do {
            let result = try JSONDecoder().decode(RealDataExperiment.TaskResult.self, from: try read("results.json"))
            return Run(name: folder.lastPathComponent, config: config, result: result)
        } catch let e as DataError { throw e } catch {
            throw DataError("\(folder.appendingPathComponent("results.json").path): unreadable (\(error))")
        }
    }

    /// The settings that differ between the runs, one row per setting.
    static func differences(_ runs: [Run]) -> [[String]] {
        let keys = Set(runs.flatMap { $0.config.keys }).sorted()
        return keys.compactMap { k in
            let values = runs.map { $0.config[k] ?? "-" }
            return Set(values).count > 1 ? [k] + values : nil
        }
    }

    package static func write(runs folders: [URL], to page: URL) throws -> URL {
        let runs = try folders.map(load)
        var report = HTMLReport(title: "rnnlab compare: \(runs.map(\.name).joined(separator: ", "))")
        let diff = differences(runs)
        report.paragraph(
            diff.isEmpty
                ? "The runs have the same settings."
                : "The runs differ in \(diff.map { $0[0] }.joined(separator: ", ")); everything else is equal.")
        report.table(headers: ["setting"] + runs.map(\.name), rows: diff, caption: "Settings that differ")
        var loss: [LineSeries] = [], accuracy: [LineSeries] = []
        var rows: [[String]] = []
        var i = 0
        for run in runs {
            for m in run.result.models {
                let label = "\(run.name) \(m.model)"
                loss.append(
                    LineSeries(name: label, y: m.history.map { $0.validationLoss ?? .nan }, color: Palette.color(i)))
                if m.history.contains(where: { $0.validationAccuracy != nil }) {
                    accuracy.append(
                        LineSeries(
                            name: label, y: m.history.map { $0.validationAccuracy ?? .nan }, color: Palette.color(i)))
                }
                let last = m.evolution.last?.stats["rnn.weight_hh_l0"]
                rows.append([
                    run.name, m.model, String(m.parameters), String(m.history.count), fmt(m.testLoss, 4),
                    m.testAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "-",
                    last.map { fmt($0.std, 3) } ?? "-", last?.spectralNorm.map { fmt($0, 3) } ?? "-"
                ])
                i += 1
            }
        }
        var charts: [Chart] = [
            LineChart(
                title: "Validation loss per epoch", xLabel: "epoch", yLabel: "loss", series: loss, yScale: .log,
                width: 560, height: 360)
        ]
        if !accuracy.isEmpty {
            charts.append(
                LineChart(
                    title: "Validation accuracy per epoch", xLabel: "epoch", yLabel: "accuracy", series: accuracy,
                    width: 560, height: 360))
        }
        report.blocks.append(
            .figure(
                svg: try SmallMultiples(title: "Curves", panels: charts, columns: 2).svg(),
                caption: "Every model of every run.", file: nil))
        report.table(
            headers: [
                "run", "model", "parameters", "epochs", "validation loss", "accuracy", "W_hh std", "W_hh spectral norm"
            ],
            rows: rows, caption: "After the last epoch")
        let all = runs.flatMap { r in r.result.models.map { (r.name, $0) } }
        if let best = all.min(by: { $0.1.testLoss < $1.1.testLoss }) {
            report.paragraph(
                "Lowest validation loss: \(best.0) \(best.1.model) (\(fmt(best.1.testLoss, 4)))"
                    + (best.1.testAccuracy.map { String(format: ", accuracy %.1f%%", 100 * $0) } ?? "") + ".")
        }
        try AtomicFile.write(report.render(), to: page)
        return page
    }
}
