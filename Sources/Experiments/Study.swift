import Foundation
import Charts
import Datasets
import Interchange

/// The whole study in one run folder: every experiment's results, figures and one combined HTML report.
public enum Study {
    public struct Options: Sendable {
        public var quick: Bool
        public var seed: UInt64
        public var experiments: Set<Int>
        public var dataDirectory: URL
        /// Experiment 2's and 3's settings when not the profile's defaults.
        public var real: RealDataExperiment.Options?
        public var fusion: FusionExperiment.Options?
        public init(quick: Bool = false, seed: UInt64 = 7, experiments: Set<Int> = [1, 2, 3], dataDirectory: URL = DataCache.defaultDirectory,
                    real: RealDataExperiment.Options? = nil, fusion: FusionExperiment.Options? = nil) {
            self.quick = quick; self.seed = seed; self.experiments = experiments; self.dataDirectory = dataDirectory
            self.real = real; self.fusion = fusion
        }
    }

    /// The findings that lead the report: who reached a loss first, accuracy leaders and the quality bar,
    /// how much gradient survives through time, and how the question encoders differ.
    static func headlines(_ findings: [String]) -> [String] {
        let leads = ["First to reach", "Quality bar", "Highest held-out", "||dL/dh_1||", "Trajectory length", "Similarity of adjacent"]
        return findings.filter { f in leads.contains { f.hasPrefix($0) } }
    }

    /// Runs the chosen experiments into `out` and writes report.html; returns the report's URL and the
    /// findings, for the terminal summary.
    public static func run(_ options: Options, out: URL) throws -> (report: URL, findings: [String]) {
        let folder = try RunFolder(out)
        var report = HTMLReport(title: "RNNLab: RNN, LSTM and GRU from scratch")
        report.paragraph("Generated \(ISO8601DateFormatter().string(from: Date())) by rnnlab\(options.quick ? " (quick profile)" : ""), seed \(options.seed). Every number in the text below is measured in this run; the figures are also saved as SVG files beside this report and the raw results as JSON and CSV.")
        var findings: [String] = []
        if options.experiments.contains(1) {
            var o = ToyExperiment.Options(quick: options.quick)
            o.seed = options.seed
            let s = try ToyExperiment.run(options: o, folder: folder, report: &report)
            findings += s.findings
        }
        let cache = DataCache(directory: options.dataDirectory, log: DataCache.logToStandardError)
        if options.experiments.contains(2) {
            var o = options.real ?? RealDataExperiment.Options(quick: options.quick)
            o.seed = options.seed
            let s = try RealDataExperiment.run(options: o, folder: folder, report: &report, cache: cache)
            findings += s.findings
        }
        if options.experiments.contains(3) {
            var o = options.fusion ?? FusionExperiment.Options(quick: options.quick)
            o.seed = options.seed
            do {
                findings += try FusionExperiment.run(options: o, folder: folder, report: &report, cache: cache).findings
            } catch let e as DataError {
                // No network and no cached weights: say so in the report instead of losing the other experiments.
                FileHandle.standardError.write(Data("  skipping experiment 3: \(e)\n".utf8))
                report.paragraph("Experiment 3 was not run: \(e.description)")
            }
        }
        // At a glance: the headline measurements, linked to the sections below (inserted after the introduction).
        let headlines = Self.headlines(findings)
        if !headlines.isEmpty {
            let blocks: [HTMLReport.Block] = [.heading("At a glance", level: 2, id: "at-a-glance"), .list(headlines)]
            report.blocks.insert(contentsOf: blocks, at: min(1, report.blocks.count))
        }
        try folder.writeJSON(findings, to: "findings.json")
        let url = folder.url("report.html")
        try AtomicFile.write(report.render(), to: url)
        return (url, findings)
    }
}
