import Foundation
import TestSupport
import XCTest

@testable import Charts

/// Report pages as a browser draws them (headless Chromium; skipped with a message where it is not installed): on
/// a 390 px phone no horizontal scroll and no chart squeezed below 300 px, and the explorable charts' log axes
/// labelled as the SVGs are.
final class PageInBrowserTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        try XCTSkipIf(Browser.chromium == nil, "Chromium is not installed (Debian: apt-get install chromium)")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// A page with what made phones scroll sideways: a wide table, a row of two charts, a long line of code.
    func page() throws -> URL {
        var report = HTMLReport(title: "Phone")
        let x = (1...20).map(Double.init)
        let loss = LineChart(
            title: "Loss, 0.05 to 3", xLabel: "epoch", yLabel: "loss",
            series: [LineSeries(name: "LSTM", x: x, y: x.map { 3 * pow(0.05 / 3, ($0 - 1) / 19) })], yScale: .log)
        let wide = LineChart(
            title: "Gradient norms over 36 decades", xLabel: "step", yLabel: "norm",
            series: [LineSeries(name: "RNN", x: x, y: x.map { pow(10, -18 + 36 * ($0 - 1) / 19) })], yScale: .log)
        try report.figureRow([(loss, "Loss.", nil), (wide, "Norms.", nil)])
        report.table(
            headers: (1...12).map { "a rather long column heading \($0)" },
            rows: [(1...12).map { "value-without-breaks-\($0)" }])
        report.code(String(repeating: "x = f(y) ", count: 40))
        report.paragraph("A paragraph of ordinary words that wraps as a paragraph should on a small screen.")
        let url = dir.appendingPathComponent("report.html")
        try report.render().write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testAPhoneWidePageHasNoSidewaysScrollAndReadableCharts() throws {
        let found =
            try Browser.measure(
                try page(), width: 390,
                measure: """
                    { scroll: d.documentElement.scrollWidth, inner: win.innerWidth,
                      charts: Array.from(d.querySelectorAll("figure svg")).map(function (e) {
                        return Math.round(e.getBoundingClientRect().width); }) }
                    """) as? [String: Any]
        let r = try XCTUnwrap(found, "Chromium gave no measurement")
        XCTAssertLessThanOrEqual(r["scroll"] as? Int ?? .max, r["inner"] as? Int ?? 0, "no sideways scroll: \(r)")
        let charts = try XCTUnwrap(r["charts"] as? [Int])
        XCTAssertEqual(charts.count, 2)
        XCTAssertTrue(charts.allSatisfy { $0 >= 300 }, "charts a phone can read: \(charts)")
    }

    /// The explorable redraw keeps the labels below 1 on a log axis of under three decades (0.05-3: it drew 1, 2, 3
    /// only) and labels at most 7 decades on a wide one (it drew all 37, overlapping).
    func testExplorableLogAxesAreLabelledAsTheSVGsAre() throws {
        let found =
            try Browser.measure(
                try page(), width: 1200,
                measure: """
                    Array.from(d.querySelectorAll("svg.explorable-chart")).map(function (svg) {
                      return Array.from(svg.querySelectorAll("text[text-anchor=end]")).map(function (t) {
                        return t.textContent; }); })
                    """) as? [[String]]
        let labels = try XCTUnwrap(found, "Chromium gave no measurement")
        XCTAssertEqual(labels.count, 2, "both charts redrawn")
        let small = labels[0].compactMap(Double.init)
        XCTAssertTrue(small.contains { $0 < 1 }, "labels below 1: \(labels[0])")
        XCTAssertGreaterThanOrEqual(small.count, 3, "\(labels[0])")
        XCTAssertLessThanOrEqual(labels[1].count, 7, "a wide log axis labels at most 7 decades: \(labels[1])")
        XCTAssertGreaterThanOrEqual(labels[1].count, 3)
    }

    /// Zoomed between two sparse points, the line still crosses the view (it drew lone dots, or nothing).
    func testAZoomBetweenSparsePointsKeepsTheLine() throws {
        var report = HTMLReport(title: "Zoom")
        try report.figure(
            LineChart(
                title: "Three points", xLabel: "x", yLabel: "y",
                series: [LineSeries(name: "a", x: [1, 10, 20], y: [1, 3, 2])]), caption: "Sparse.")
        let url = dir.appendingPathComponent("zoom.html")
        try report.render().write(to: url, atomically: true, encoding: .utf8)
        let found =
            try Browser.measure(
                url, width: 900,
                measure: """
                    (function () {
                      var svg = d.querySelector("svg.explorable-chart");
                      var area = svg.querySelector("rect[style*=crosshair]"), box = area.getBoundingClientRect();
                      function at(type, f) {
                        area.dispatchEvent(new win.MouseEvent(type, { bubbles: true, clientY: box.top + 20,
                          clientX: box.left + f * box.width }));
                      }
                      at("mousedown", 0.2); at("mousemove", 0.3); at("mouseup", 0.3);
                      svg = d.querySelector("svg.explorable-chart");
                      return { lines: svg.querySelectorAll("polyline").length,
                               empty: svg.textContent.indexOf("no visible data") >= 0 };
                    })()
                    """) as? [String: Any]
        let r = try XCTUnwrap(found, "Chromium gave no measurement")
        XCTAssertEqual(r["empty"] as? Bool, false, "\(r)")
        XCTAssertEqual(r["lines"] as? Int, 1, "the segment from x = 1 to x = 10 crosses the view: \(r)")
    }
}
