import Foundation
import Charts
import Interchange
import Datasets
import Recurrent
import Logging
import Files

/// A run's output folder: results (JSON, CSV), figures (SVG) and the report, all written atomically.
package struct RunFolder {
    package let root: URL
    package init(_ root: URL) throws {
        self.root = root
        try Self.create(root)
    }

    /// Creates the output folder (and its parents), or says in one line why it cannot be.
    package static func create(_ folder: URL) throws {
        do { try AtomicFile.createFolder(folder) } catch { throw RunFolderError("\(error); choose another --out") }
    }

    package func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    package func writeJSON<V: Encodable>(_ value: V, to relative: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try enc.encode(value), to: url(relative))
    }

    /// CSV with a header row; numbers written with full precision.
    package func writeCSV(_ header: [String], _ rows: [[String]], to relative: String) throws {
        let quote = { (s: String) in
            s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let text = ([header] + rows).map { $0.map(quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
        try AtomicFile.write(text, to: url(relative))
    }

    /// The chart's SVG, or nil with a note in the report saying which figure could not be drawn and why (data
    /// with nothing finite to draw, as a one-unit network's spread gives): one chart never costs the whole report.
    func drawn(_ chart: Chart, _ relative: String, into report: inout HTMLReport) throws -> String? {
        do { return try chart.svg() } catch let error as ChartError {
            report.paragraph("Figure \(relative) (\(chart.title)) was not drawn: \(error.description).")
            return nil
        }
    }

    /// Writes the chart as SVG and adds it to the report as a figure linking to the file.
    package func figure(_ chart: Chart, _ relative: String, caption: String, into report: inout HTMLReport) throws {
        guard let svg = try drawn(chart, relative, into: &report) else { return }
        try AtomicFile.write(svg, to: url(relative))
        report.blocks.append(.figure(svg: svg, caption: caption, file: relative, data: chart.explorableData))
    }

    /// Writes the chart as SVG and links it from the report without embedding it (large grids stay out of
    /// report.html and open on their own).
    package func linkedFigure(_ chart: Chart, _ relative: String, caption: String, into report: inout HTMLReport)
        throws
    {
        guard let svg = try drawn(chart, relative, into: &report) else { return }
        try AtomicFile.write(svg, to: url(relative))
        report.blocks.append(
            .html(
                "<p class=\"linked\"><a href=\"\(HTMLReport.escape(relative))\">\(HTMLReport.escape(relative))</a>: "
                    + "\(HTMLReport.escape(caption))</p>"))
    }

    /// Several charts side by side.
    package func figureRow(_ charts: [(Chart, String, String)], into report: inout HTMLReport) throws {
        var figs: [(svg: String, caption: String, file: String?, data: String?)] = []
        for (chart, relative, caption) in charts {
            guard let svg = try drawn(chart, relative, into: &report) else { continue }
            try AtomicFile.write(svg, to: url(relative))
            figs.append((svg, caption, relative, chart.explorableData))
        }
        if !figs.isEmpty { report.blocks.append(.figureRow(figs)) }
    }
}

/// What to do after a part failed: the same command again resumes from the checkpoints saved before it, unless
/// a file in the run folder is what failed (a damaged checkpoint), which the same command would meet again.
func retryAdvice(_ error: Error, rerun: String) -> String {
    if error is FileFormatError {
        return "A file of this run cannot be used, so the same command would stop here again; rerun it with --fresh "
            + "to move this run aside and start again."
    }
    return "Checkpoints saved before it stay in place, and a rerun into this folder resumes from them: \(rerun)"
}

/// Number formatting for report text.
func fmt(_ v: Double, _ digits: Int = 4) -> String {
    guard v.isFinite else { return v.isNaN ? "n/a" : (v > 0 ? "inf" : "-inf") }
    if v != 0 && (abs(v) < 1e-3 || abs(v) >= 1e5) { return String(format: "%.\(max(digits - 1, 1))e", v) }
    return String(format: "%.\(digits)g", v)
}

/// Makes the callback that shows one model's training progress, given its label ("sine LSTM"); nil shows
/// nothing. The command-line tool passes its terminal printer; the library itself prints nothing.
package typealias ProgressFactory = @Sendable (String) -> TrainingCallback?

/// What an experiment needs besides its settings, passed explicitly rather than read from process-wide state:
/// the folder it writes into, the data cache it reads from, the threads its models may use, where training
/// progress goes, and the command that repeats the run (quoted in failure messages).
package struct RunContext {
    package var folder: RunFolder
    package var cache: DataCache
    package var threads: Int
    package var progress: ProgressFactory
    package var rerun: String
    /// Where status lines go (a skipped, resumed or failed part): swift-log, through whatever handler the
    /// program bootstrapped (the CLI's writes them to standard error).
    package var logger = Logger(label: "rnnlab")

    package init(
        folder: RunFolder, cache: DataCache, threads: Int = 1, progress: @escaping ProgressFactory = { _ in nil },
        rerun: String = "the same command again"
    ) {
        self.folder = folder; self.cache = cache; self.threads = threads; self.progress = progress; self.rerun = rerun
    }

    /// The progress callback for a model, as a list to start a trainer's callbacks with.
    func progressCallbacks(_ label: String) -> [TrainingCallback] { progress(label).map { [$0] } ?? [] }
}

/// Input the user named (a file or folder given on the command line) that cannot be used: the part that needs it
/// fails, unlike data that is merely unavailable (a DataError), which skips it.
package struct InputError: Error, CustomStringConvertible {
    package let description: String
}
