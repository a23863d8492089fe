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

    /// A file `writeJSON` wrote, or nil when it is absent or does not decode as `type`.
    package func readJSON<V: Decodable>(_ type: V.Type, from relative: String) -> V? {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? Data(contentsOf: url(relative))).flatMap { try? dec.decode(type, from: $0) }
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
