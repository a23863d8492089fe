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
        var result: TaskTraining.TaskResult
        /// The data's contents (their SHA-256 as preprocessing.json records them, else the path) and what is
        /// predicted of them: runs are ranked only against runs on the same data.
        var dataKey = ""
        /// The data as a reader names them: "co2.csv, column ppm".
        var dataName: String {
            let file = (config["data"].map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "?")
            let target = (config["column"] ?? config["labelColumn"]).map {
                ", column " + $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return URL(fileURLWithPath: file).lastPathComponent + (target ?? "")
        }
        /// What the run's losses measure, so only runs of one kind are ranked together.
        var metric: String {
            switch config["kind"] {
            case "\"csv\"": "forecast MSE (normalised units)"
            case "\"text\"": "cross-entropy per character (nats)"
            default: "classification cross-entropy (nats)"
            }
        }
    }

    /// For each folder the shortest trailing part of its path that no other folder shares ("a", or "other/a" beside
    /// "runs/a").
    static func uniqueNames(_ folders: [URL]) -> [String] {
        let parts = folders.map { $0.standardizedFileURL.pathComponents.filter { $0 != "/" } }
        return parts.map { p in
            for k in 1...max(p.count, 1) {
                let suffix = p.suffix(k)
                if parts.filter({ $0.suffix(k) == suffix }).count == 1 { return suffix.joined(separator: "/") }
            }
            return p.joined(separator: "/")
        }
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
            let result = try JSONDecoder().decode(TaskTraining.TaskResult.self, from: try read("results.json"))
            let prep = (try? Data(contentsOf: folder.appendingPathComponent("preprocessing.json"))).flatMap {
                try? JSONDecoder().decode(UserTraining.Preprocessing.self, from: $0)
            }
            let contents = prep?.sha256.map { $0.values.sorted().joined(separator: ",") } ?? config["data"] ?? ""
            let target = [config["column"], config["textColumn"], config["labelColumn"]].map { $0 ?? "" }
            return Run(
                name: folder.path, config: config, result: result,
                dataKey: ([contents] + target).joined(separator: "|"))
        } catch let e as DataError { throw e } catch {
            throw DataError("\(folder.appendingPathComponent("results.json").path): unreadable (\(error))")
        }
    }

    /// The settings that differ between the runs, one row per setting.
    /// (Where the data sit relative to each run folder is no setting: the data's path itself is compared.)
    static func differences(_ runs: [Run]) -> [[String]] {
        let keys = Set(runs.flatMap { $0.config.keys }).subtracting(["dataFromRun", "labelsFromRun"]).sorted()
        return keys.compactMap { k in
            let values = runs.map { $0.config[k] ?? "-" }
            return Set(values).count > 1 ? [k] + values : nil
        }
    }

    package static func write(runs folders: [URL], to page: URL) throws -> URL {
        try RunManifest.refuseOverwritingARun(page)
        var runs = try folders.map(load)
        for (i, name) in uniqueNames(folders).enumerated() { runs[i].name = name }
        var report = HTMLReport(title: "rnnlab compare: \(runs.map(\.name).joined(separator: ", "))")
        let diff = differences(runs)
        report.paragraph(
            diff.isEmpty
                ? "The runs have the same settings."
                : "The runs differ in \(diff.map { $0[0] }.joined(separator: ", ")); everything else is equal.")
        report.table(headers: ["setting"] + runs.map(\.name), rows: diff, caption: "Settings that differ")
        // Runs are compared only with runs on the same data whose losses measure the same thing.
        let groups = Dictionary(grouping: runs) { "\($0.metric)|\($0.dataKey)" }.values
            .map { $0 }.sorted { ($0[0].metric, $0[0].dataName) < ($1[0].metric, $1[0].dataName) }
        for group in groups {
            if groups.count > 1 {
                report.section("Runs on \(group[0].dataName), measured by \(group[0].metric)", level: 2)
            }
            try compareGroup(group, metric: group[0].metric, into: &report)
        }
        try AtomicFile.write(report.render(), to: page)
        return page
    }

    /// The curves, final numbers and the lowest loss of runs whose losses measure the same `metric`.
    static func compareGroup(_ runs: [Run], metric: String, into report: inout HTMLReport) throws {
        var loss: [LineSeries] = [], accuracy: [LineSeries] = []
        var rows: [[String]] = []
        for (i, (run, m)) in runs.flatMap({ r in r.result.models.map { (r, $0) } }).enumerated() {
            let label = "\(run.name) \(m.model)"
            loss.append(
                LineSeries(name: label, y: m.history.map { $0.validationLoss ?? .nan }, color: Palette.color(i)))
            if m.history.contains(where: { $0.validationAccuracy != nil }) {
                accuracy.append(
                    LineSeries(name: label, y: m.history.map { $0.validationAccuracy ?? .nan }, color: Palette.color(i))
                )
            }
            let last = m.evolution.last?.stats["rnn.weight_hh_l0"]
            rows.append([
                run.name, m.model, String(m.parameters), String(m.history.count), fmt(m.testLoss, 4),
                m.testAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "-",
                last.map { fmt($0.std, 3) } ?? "-", last?.spectralNorm.map { fmt($0, 3) } ?? "-"
            ])
        }
        var charts: [Chart] = [
            LineChart(
                title: "Validation loss per epoch (\(metric))", xLabel: "epoch", yLabel: "loss", series: loss,
                yScale: .log, width: 560, height: 360)
        ]
        if !accuracy.isEmpty {
            charts.append(
                LineChart(
                    title: "Validation accuracy per epoch", xLabel: "epoch", yLabel: "accuracy", series: accuracy,
                    width: 560, height: 360))
        }
        // Side by side, each its own chart: explorable in the page (hover, zoom, hide a run).
        try report.figureRow(charts.map { ($0, "Every model of these runs.", nil) })
        report.table(
            headers: [
                "run", "model", "parameters", "epochs", "validation loss", "accuracy", "W_hh std", "W_hh spectral norm"
            ],
            rows: rows, caption: "After the last epoch")
        if let groups = seedGroups(runs) { return compareOverSeeds(groups, metric: metric, into: &report) }
        let all = runs.flatMap { r in r.result.models.map { (r.name, $0) } }
        if all.count > 1, let best = all.min(by: { $0.1.testLoss < $1.1.testLoss }) {
            report.paragraph(
                "Lowest validation loss (\(metric)): \(best.0) \(best.1.model) (\(fmt(best.1.testLoss, 4)))"
                    + (best.1.testAccuracy.map { String(format: ", accuracy %.1f%%", 100 * $0) } ?? "")
                    + "; one run each, so the difference is not tested against seed noise.")
        }
    }
}
