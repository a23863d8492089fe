import Foundation
import XCTest

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import Charts

/// The data the report's script draws from is the data the SVG drew: both are parsed and compared point by point.
final class ExplorableTests: XCTestCase {
    /// Every `g.line-series` of an SVG: its name and the pixel points of its polylines and lone circles, in order.
    final class SeriesReader: NSObject, XMLParserDelegate {
        var series: [(name: String, points: [(Double, Double)])] = []
        var inSeries = false
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if name == "g", attributes["class"] == "line-series" {
                series.append((attributes["data-name"] ?? "", [])); inSeries = true
            } else if inSeries, name == "polyline", let points = attributes["points"] {
                series[series.count - 1].points += points.split(separator: " ").map {
                    let xy = $0.split(separator: ",").map { Double($0)! }
                    return (xy[0], xy[1])
                }
            } else if inSeries, name == "circle", attributes["class"] != "marker", let x = attributes["cx"],
                let y = attributes["cy"]
            {
                series[series.count - 1].points.append((Double(x)!, Double(y)!))
            }
        }
        func parser(
            _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
        ) { if name == "g" { inSeries = false } }
    }

    func testTheScriptsDataIsTheSVGsData() throws {
        let chart = LineChart(
            title: "loss", xLabel: "epoch", yLabel: "MSE",
            series: [
                LineSeries(name: "LSTM train", y: [0.9, 0.5, .nan, 0.3, 0.25, 0.2]),
                LineSeries(name: "GRU <val>", x: [1, 2, 4, 8], y: [1.2, 0.7, 0.4, 0.1], dashed: true)
            ])
        let reader = SeriesReader()
        let parser = XMLParser(data: Data(try chart.svg().utf8))
        parser.delegate = reader
        XCTAssertTrue(parser.parse())
        let data = try JSONDecoder().decode(
            ExplorableLineData.self, from: Data(try XCTUnwrap(chart.explorableData).utf8))
        XCTAssertEqual(data.series.map(\.name), reader.series.map(\.name))
        XCTAssertEqual(data.series.map(\.dashed), [false, true])
        XCTAssertNil(data.series[0].y[2], "a non-finite value is null, breaking the line as in the SVG")
        // Pixels are an affine map of the data on each axis: fitted on two points, it reproduces every other one.
        let pairs = zip(data.series, reader.series).flatMap { d, svg in
            zip(zip(d.x, d.y).compactMap { x, y in x.flatMap { x in y.map { (x, $0) } } }, svg.points).map { ($0, $1) }
        }
        XCTAssertEqual(pairs.count, 9)
        XCTAssertEqual(reader.series.map(\.points.count), [5, 4])
        let (a, b) = (pairs[0], pairs[pairs.count - 1])
        for (value, pixel) in pairs {
            let x = a.1.0 + (value.0 - a.0.0) / (b.0.0 - a.0.0) * (b.1.0 - a.1.0)
            let y = a.1.1 + (value.1 - a.0.1) / (b.0.1 - a.0.1) * (b.1.1 - a.1.1)
            XCTAssertEqual(pixel.0, x, accuracy: 0.05); XCTAssertEqual(pixel.1, y, accuracy: 0.05)
        }
    }

    /// A report with a line chart carries its data and the script once; with no explorable figure, no script.
    func testTheReportCarriesTheDataAndTheScriptOnce() throws {
        var report = HTMLReport(title: "t")
        let chart = LineChart(title: "c", xLabel: "x", yLabel: "y", series: [LineSeries(name: "a</script>", y: [1, 2])])
        try report.figure(chart, caption: "one", file: "c.svg")
        try report.figure(chart, caption: "two")
        let html = report.render()
        XCTAssertEqual(html.components(separatedBy: "class=\"chart-data\"").count - 1, 2)
        XCTAssertEqual(html.components(separatedBy: "document.querySelectorAll(\"figure.explorable\")").count - 1, 1)
        XCTAssertFalse(html.contains("a</script>"), "the data cannot close its script element")
        XCTAssertTrue(html.contains("<img src=\"c.svg\""), "the picture stays for readers without scripting")
        var plain = HTMLReport(title: "t")
        try plain.figure(Heatmap(title: "h", values: [[1]], rowLabels: ["r"], columnLabels: ["c"]), caption: "h")
        XCTAssertFalse(plain.render().contains("<script>"))
    }
}
