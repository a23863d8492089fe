import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Charts

/// Parses SVG/XHTML as XML and counts elements by name and class.
final class XMLCounter: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:], classes: [String: Int] = [:], attributes: [[String: String]] = []
    var texts: [String] = []
    var current = ""
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes a: [String: String] = [:]
    ) {
        elements[name, default: 0] += 1
        for c in (a["class"] ?? "").split(separator: " ") { classes[String(c), default: 0] += 1 }
        attributes.append(a.merging(["_element": name]) { x, _ in x })
        current = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current) }
    }

    static func parse(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> XMLCounter {
        let c = XMLCounter()
        let p = XMLParser(data: Data(xml.utf8))
        p.delegate = c
        XCTAssertTrue(p.parse(), "not well-formed XML: \(p.parserError.map { "\($0)" } ?? "")", file: file, line: line)
        return c
    }

    func first(withClass cls: String) -> [String: String]? {
        attributes.first { ($0["class"] ?? "").split(separator: " ").contains(Substring(cls)) }
    }
}

final class ChartsTests: XCTestCase {
    func testLineChartMarksAxisRangeAndLegend() throws {
        let chart = LineChart(
            title: "Loss <train & val>", xLabel: "epoch", yLabel: "loss",
            series: [
                LineSeries(name: "RNN", y: [1, 0.5, 0.25]), LineSeries(name: "LSTM", y: [0.9, 0.3, 0.1], dashed: true)
            ])
        let c = XMLCounter.parse(try chart.svg())
        XCTAssertEqual(c.classes["series"], 2)
        XCTAssertEqual(c.classes["legend"], 2)
        XCTAssertTrue(c.texts.contains("Loss <train & val>"))
        let area = c.first(withClass: "plot-area")!
        XCTAssertEqual(Double(area["data-xmin"]!), 1); XCTAssertEqual(Double(area["data-xmax"]!), 3)
        XCTAssertLessThanOrEqual(Double(area["data-ymin"]!)!, 0.1);
        XCTAssertGreaterThanOrEqual(Double(area["data-ymax"]!)!, 1)
        XCTAssertNil(c.classes["note"])
    }

    func testLogAxisSkipsNonFiniteAndNonPositiveAndSaysSo() throws {
        let chart = LineChart(
            title: "grad", xLabel: "t", yLabel: "|dL/dh|",
            series: [LineSeries(name: "RNN", y: [1e-6, 1e-5, .nan, 1e-3, 1e-2, 0, 1, .infinity, 10])], yScale: .log)
        let svg = try chart.svg()
        let c = XMLCounter.parse(svg)
        XCTAssertEqual(c.classes["series"], 2)  // two runs of two points become lines,
        XCTAssertEqual(c.classes["point"], 2)  // the isolated 1 and 10 become dots
        XCTAssertEqual(c.classes["note"], 1)
        XCTAssertTrue(svg.contains("3 non-finite or non-positive values skipped"))
        let area = c.first(withClass: "plot-area")!
        XCTAssertEqual(Double(area["data-ymin"]!), 1e-6); XCTAssertEqual(Double(area["data-ymax"]!), 10)
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
    }

    func testEmptyInputIsAClearError() {
        XCTAssertThrowsError(try LineChart(title: "L", xLabel: "", yLabel: "", series: []).svg()) {
            XCTAssertTrue("\($0)".contains("L: no data"))
        }
        XCTAssertThrowsError(try HistogramChart(title: "H", xLabel: "", values: [.nan]).svg()) {
            XCTAssertTrue("\($0)".contains("no finite values"))
        }
        XCTAssertThrowsError(try Heatmap(title: "M", values: [], rowLabels: [], columnLabels: []).svg()) {
            XCTAssertTrue("\($0)".contains("empty matrix"))
        }
        XCTAssertThrowsError(
            try GroupedBarChart(title: "B", yLabel: "", categories: ["a"], groups: [("g", [1, 2])]).svg()
        ) {
            XCTAssertTrue("\($0)".contains("has 2 values for 1 categories"))
        }
    }

    func testHistogramBinsAndKDEIntegratesToOne() throws {
        var values: [Double] = []
        for i in 0..<1000 { values.append(sin(Double(i)) + cos(Double(i) * 0.37)) }
        let c = XMLCounter.parse(try HistogramChart(title: "w", xLabel: "value", values: values, bins: 25).svg())
        XCTAssertEqual(c.classes["bar"], 25)
        XCTAssertEqual(c.classes["kde"], 1)
        let grid = (0...2000).map { -4 + 8 * Double($0) / 2000 }
        let d = Density.kde(values, at: grid)
        XCTAssertEqual(d.reduce(0, +) * 8 / 2000, 1, accuracy: 1e-3)
        // binned evaluation of a large sample agrees with the exact one
        let big = (0..<20000).map { sin(Double($0) * 1.3) }
        let exactish = Density.kde(Array(big.prefix(5000)), at: [0, 0.5])
        let binned = Density.kde(big, at: [0, 0.5])
        XCTAssertEqual(binned[0], exactish[0], accuracy: 0.05 * exactish[0])
    }

    func testBandwidthRulesMatchScipy() {
        let v = [1.0, 2, 3, 4, 10]
        let s = 12.5.squareRoot()  // the sample standard deviation (ddof = 1), as scipy's gaussian_kde takes it
        XCTAssertEqual(Density.bandwidth(v, rule: .scott), s * pow(5, -0.2), accuracy: 1e-15)
        XCTAssertEqual(Density.bandwidth(v, rule: .silverman), s * pow(3.75, -0.2), accuracy: 1e-15)
    }

    func testRidgelineOneRidgePerRow() throws {
        let rows = (1...6).map { e in (label: "epoch \(e)", values: (0..<300).map { sin(Double($0)) * Double(e) / 6 }) }
        let c = XMLCounter.parse(try RidgelineChart(title: "W_hh", xLabel: "weight", rows: rows).svg())
        XCTAssertEqual(c.classes["ridge"], 6)
        XCTAssertEqual(c.classes["row-label"], 6)
    }

    func testScatterTrajectoryArrowsAndLabels() throws {
        let pts = [(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 2.0, y: 0.5), (x: .nan, y: 1), (x: 3.0, y: 2.0)]
        let s = ScatterSeries(
            name: "what color is the circle", points: pts, labels: ["what", "color", "is", "the", "circle"],
            trajectory: true)
        let svg = try ScatterChart(title: "PCA", xLabel: "PC1", yLabel: "PC2", series: [s]).svg()
        let c = XMLCounter.parse(svg)
        XCTAssertEqual(c.classes["point"], 4)
        XCTAssertEqual(c.classes["arrow"], 2)  // the arrows into and out of the NaN point are dropped
        XCTAssertEqual(c.classes["point-label"], 4)
        XCTAssertTrue(svg.contains("1 non-finite points skipped"))
    }

    func testHeatmapCellsLabelsAndColorbar() throws {
        let m = [[1.0, -0.5, 0.2], [0.3, .nan, -1.0]]
        let svg = try Heatmap(
            title: "cos", values: m, rowLabels: ["a", "b"], columnLabels: ["x", "y", "z"], scale: .diverging
        ).svg()
        let c = XMLCounter.parse(svg)
        XCTAssertEqual(c.classes["cell"], 6)
        XCTAssertEqual(c.classes["missing"], 1)
        XCTAssertEqual(c.classes["row-label"], 2); XCTAssertEqual(c.classes["column-label"], 3)
        XCTAssertEqual(c.classes["colorbar"], 50)
        let cells = c.first(withClass: "cells")!
        XCTAssertEqual(Double(cells["data-min"]!), -1); XCTAssertEqual(Double(cells["data-max"]!), 1)
        XCTAssertThrowsError(try Heatmap(title: "bad", values: [[1, 2]], rowLabels: ["a"], columnLabels: ["x"]).svg())
    }

    func testGroupedBarsAndSmallMultiples() throws {
        let bars = GroupedBarChart(
            title: "final loss", yLabel: "MSE", categories: ["sine", "chars", "adding"],
            groups: [("RNN", [0.1, 2.0, -0.2]), ("LSTM", [0.05, 1.5, 0.1]), ("GRU", [0.04, 1.4, 0.0])])
        XCTAssertEqual(XMLCounter.parse(try bars.svg()).classes["bar"], 9)
        let grid = SmallMultiples(
            title: "all",
            panels: [bars, LineChart(title: "l", xLabel: "x", yLabel: "y", series: [LineSeries(name: "a", y: [1, 2])])],
            columns: 2)
        let c = XMLCounter.parse(try grid.svg())
        XCTAssertEqual(c.classes["panel"], 2)
        XCTAssertEqual(c.elements["svg"], 3)
    }

    func testTickFormattingAndNiceSteps() throws {
        XCTAssertEqual(formatTick(0.25), "0.25"); XCTAssertEqual(formatTick(100000), "1e5");
        XCTAssertEqual(formatTick(0.0001), "1e-4")
        XCTAssertEqual(formatTick(2.5e-5), "2.5e-5")
        XCTAssertEqual(try Axis(values: [0.3, 9.7], scale: .linear).ticks(), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(try Axis(values: [0.003, 40], scale: .log).ticks(), [1e-3, 1e-2, 1e-1, 1, 10, 100])
    }

    /// X tick labels never overlap: their estimated extents are disjoint, even for a narrow chart.
    func testTickLabelsDoNotOverlap() throws {
        let chart = LineChart(
            title: "t", xLabel: "x", yLabel: "y", series: [LineSeries(name: "s", x: [123456, 987654], y: [1, 2])],
            width: 260)
        let c = XMLCounter.parse(try chart.svg())
        let ticks = c.attributes.filter { $0["class"] == "tick" && $0["text-anchor"] == "middle" }
        let xs = ticks.compactMap { Double($0["x"]!) }.sorted()
        for (a, b) in zip(xs, xs.dropFirst()) { XCTAssertGreaterThan(b - a, textWidth("1e6", size: 11)) }
    }

    func testReportIsSelfContainedWellFormedHTML() throws {
        var r = HTMLReport(title: "RNNLab <report>")
        r.section("Experiment 1")
        r.paragraph("LSTM reached loss 0.01 at epoch 7 & RNN never did.")
        try r.figure(
            LineChart(title: "loss", xLabel: "epoch", yLabel: "loss", series: [LineSeries(name: "a", y: [3, 2, 1])]),
            caption: "Loss", file: "fig/loss.svg")
        r.table(headers: ["model", "loss"], rows: [["LSTM", "0.01"]], caption: "Final")
        let html = r.render()
        XCTAssertTrue(html.contains("<a href=\"#experiment-1\">Experiment 1</a>"))
        XCTAssertTrue(html.contains("RNNLab &lt;report&gt;"))
        XCTAssertFalse(html.contains("<script src") || html.contains("<link "))  // nothing external
        // the body (minus the doctype) parses as XML
        let xml = html.replacingOccurrences(of: "<!DOCTYPE html>", with: "").replacingOccurrences(
            of: "<meta charset=\"utf-8\">", with: "<meta charset=\"utf-8\"/>"
        )
        .replacingOccurrences(of: "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", with: "")
        let c = XMLCounter.parse(xml)
        XCTAssertEqual(c.elements["figure"], 1); XCTAssertEqual(c.elements["table"], 1)
    }

    func testIdsStayUniqueAcrossTheFiguresOfAReport() throws {
        let trajectory = ScatterChart(
            title: "PCA", xLabel: "PC1", yLabel: "PC2",
            series: [ScatterSeries(name: "q", points: [(0, 0), (1, 1), (2, 0)], trajectory: true)])
        let line = LineChart(
            title: "loss", xLabel: "epoch", yLabel: "loss", series: [LineSeries(name: "a", y: [3, 2, 1])])
        XCTAssertFalse(try line.svg().contains("<marker"))  // no arrows, no marker definition
        var r = HTMLReport(title: "ids")
        try r.figure(trajectory, caption: "one")
        try r.figureRow([
            (SmallMultiples(title: "encoders", panels: [trajectory, trajectory]), "two", nil), (line, "three", nil)
        ])
        let ids = r.render().matches(of: try Regex("id=\"([^\"]+)\"")).map { String($0.output[1].substring!) }
        XCTAssertEqual(ids.filter { $0.hasPrefix("arrow") }.sorted(), ["arrow-1", "arrow-2"])
        XCTAssertEqual(Set(ids).count, ids.count)
        XCTAssertTrue(r.render().contains("url(#arrow-2)"))
    }
}

final class StagedReportTests: XCTestCase {
    struct Failure: Error {}

    /// A part that fails part-way leaves nothing behind; one that completes appends all it wrote.
    func testStagedSectionsJoinOnlyWhenTheyComplete() throws {
        var report = HTMLReport(title: "t")
        report.paragraph("before")
        XCTAssertThrowsError(
            try report.staged { part in
                part.section("half")
                part.paragraph("written before the error")
                throw Failure()
            })
        XCTAssertEqual(report.blocks.count, 1)
        let value = report.staged { part -> Int in
            part.section("whole")
            part.paragraph("done")
            return 42
        }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(report.blocks.count, 3)
        XCTAssertFalse(report.render().contains("written before the error"))
        XCTAssertTrue(report.render().contains("done"))
    }
}

/// Every chart and the density code fed the values a damaged checkpoint or a diverging run gives (huge, tiny,
/// subnormal, infinite, NaN, constant, spanning the whole Double range, empty): each draws or says why, never traps.
final class ExtremeValueTests: XCTestCase {
    static let extremes: [[Double]] = {
        let special: [Double] = [
            1e30, -1e30, .nan, .infinity, -.infinity, 0, 1e-45, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
            -.greatestFiniteMagnitude, Double(Float.greatestFiniteMagnitude)
        ]
        var sets: [[Double]] = [[], [.nan], [1e30], [0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 1e30]]
        sets += special.map { [Double](repeating: $0, count: 7) }
        sets += special.map { s in (0..<40).map { Double($0) / 10 } + [s] }
        sets.append(special)
        sets.append([.greatestFiniteMagnitude, .greatestFiniteMagnitude / 2, 1, 2, 3, 4, 5])
        sets.append([0.1, 0.1 + 1e-16, 0.1 + 2e-16, 0.1, 0.1, 0.1])
        return sets
    }()

    func draws(_ chart: Chart, _ values: [Double]) {
        do {
            let svg = try chart.svg()
            XCTAssertTrue(svg.hasPrefix("<svg"), "\(values)")
        } catch { XCTAssertTrue(error is ChartError, "\(values): \(error)") }
    }

    func testEveryChartDrawsOrSaysWhyForExtremeValues() {
        for v in Self.extremes {
            let x = v.indices.map(Double.init)
            draws(LineChart(title: "t", xLabel: "x", yLabel: "y", series: [LineSeries(name: "a", x: x, y: v)]), v)
            draws(
                LineChart(
                    title: "t", xLabel: "x", yLabel: "y", series: [LineSeries(name: "a", x: v, y: v)], yScale: .log,
                    xScale: .log), v)
            draws(HistogramChart(title: "t", xLabel: "x", values: v), v)
            draws(HistogramChart(title: "t", xLabel: "x", values: v, bins: 3), v)
            draws(DensityChart(title: "t", xLabel: "x", samples: [("a", v), ("b", [1, 2, 3])]), v)
            draws(RidgelineChart(title: "t", xLabel: "x", rows: [("e0", v), ("e1", v.reversed())]), v)
            draws(
                ScatterChart(
                    title: "t", xLabel: "x", yLabel: "y",
                    series: [ScatterSeries(name: "a", points: zip(x, v).map { ($0, $1) })]), v)
            if !v.isEmpty {
                draws(Heatmap(title: "t", values: [v, v], rowLabels: ["a", "b"], columnLabels: v.map { "\($0)" }), v)
                draws(
                    Heatmap(
                        title: "t", values: [v], rowLabels: ["a"], columnLabels: v.map { "\($0)" }, scale: .diverging,
                        range: (v[0], v[0])), v)
            }
            draws(GroupedBarChart(title: "t", yLabel: "y", categories: v.map { "\($0)" }, groups: [("a", v)]), v)
            _ = Density.suggestedBins(v)
            _ = Density.kde(v + (0..<6000).map(Double.init), at: [0, 1e30, .nan])
            _ = Density.histogram(v, bins: 4, lo: 0, hi: 1)
            _ = Density.histogram(v, bins: 4, lo: 1, hi: 1)
        }
    }

    /// The case that trapped the study: one weight of 1e30 among ordinary ones.
    func testOneHugeWeightStillGetsAHistogram() throws {
        let weights = (0..<500).map { sin(Double($0)) * 0.1 } + [1e30]
        XCTAssertEqual(Density.suggestedBins(weights), 80)
        let svg = try HistogramChart(title: "W_hh", xLabel: "weight", values: weights).svg()
        XCTAssertTrue(svg.contains("<rect"))
    }
}

final class ReportLayoutTests: XCTestCase {
    /// Figures saved beside the report are shown from their files (lazily, with their size); the contents list every
    /// section and subsection, and repeated titles get anchors of their own.
    func testFiguresFromFilesAndContentsWithEverySection() throws {
        var r = HTMLReport(title: "t")
        let chart = LineChart(
            title: "loss", xLabel: "epoch", yLabel: "loss", series: [LineSeries(name: "a", y: [3, 2, 1])])
        r.section("Experiment 1")
        r.section("Sine", level: 3)
        r.blocks.append(.figure(svg: try chart.svg(), caption: "c", file: "toy/sine_loss.svg"))
        r.section("Details", level: 4)
        r.section("Experiment 2")
        r.section("Sine", level: 3)
        try r.figure(chart, caption: "inline")
        let html = r.render()
        XCTAssertTrue(
            html.contains("<img src=\"toy/sine_loss.svg\" loading=\"lazy\" alt=\"c\" width=\"640\" height=\"380\">"),
            html)
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 1, "only the figure without a file is inline")
        for (cls, id) in [("toc2", "experiment-1"), ("toc3", "sine"), ("toc4", "details"), ("toc3", "sine-2")] {
            XCTAssertTrue(html.contains("<li class=\"\(cls)\"><a href=\"#\(id)\">"), "\(cls) \(id)")
        }
        XCTAssertTrue(html.contains("<h3 id=\"sine-2\">Sine</h3>"))
    }
}

final class HeatmapMarkTests: XCTestCase {
    /// Outlined cells are drawn over the matrix and explained; a diverging scale without a range fits the values.
    func testMarkedCellsAndFittedScale() throws {
        let svg = try Heatmap(
            title: "cos", values: [[0.1, -0.2], [0.05, 0.15]], rowLabels: ["Q1", "Q2"], columnLabels: ["a", "b"],
            scale: .diverging, marked: [(0, 1), (1, 0), (5, 5)], markedMeaning: "the question's own image"
        ).svg()
        XCTAssertEqual(svg.components(separatedBy: "class=\"marked\"").count - 1, 2, "cells outside are ignored")
        XCTAssertTrue(
            svg.contains("outlined: the question&#39;s own image")
                || svg.contains("outlined: the question's own image"), svg)
        XCTAssertTrue(svg.contains("data-min=\"-0.2\" data-max=\"0.2\""), "fitted to max |value|, not +-1")
        XCTAssertTrue(svg.contains(">-0.20<") && svg.contains(">0.15<"), "values printed in the cells")
    }
}
