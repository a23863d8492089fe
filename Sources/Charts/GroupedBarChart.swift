import Foundation

/// Bars for each category, one per group, side by side; negative values hang below zero.
public struct GroupedBarChart: Chart {
    /// The title and the y-axis label.
    public var title: String, yLabel: String
    /// The groups along the x axis.
    public var categories: [String]
    /// One bar per category for each named group.
    public var groups: [(name: String, values: [Double])]
    /// Size in pixels.
    public var width: Double, height: Double
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, yLabel: String, categories: [String], groups: [(name: String, values: [Double])],
        width: Double? = nil, height: Double = 360
    ) {
        self.title = title; self.yLabel = yLabel; self.categories = categories; self.groups = groups
        self.width =
            width
            ?? max(480, 160 + Double(categories.count * max(groups.count, 1)) * 22 + legendWidth(groups.map(\.name)))
        self.height = height
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        guard !categories.isEmpty, !groups.isEmpty else { throw ChartError("\(title): no bars to draw") }
        for g in groups where g.values.count != categories.count {
            throw ChartError(
                "\(title): group '\(g.name)' has \(g.values.count) values for \(categories.count) categories")
        }
        let all = groups.flatMap(\.values)
        let ya = try Axis(values: all, scale: .linear, includeZero: true)
        let longest = categories.map { textWidth($0, size: 11) }.max() ?? 0
        let slot0 = (width - yAxisMargin(ya) - 16 - legendWidth(groups.map(\.name))) / Double(categories.count)
        let rotate = longest > slot0 - 6
        let f = Frame(
            width: width, height: height, left: yAxisMargin(ya), right: 16 + legendWidth(groups.map(\.name)), top: 34,
            bottom: rotate ? 30 + longest * 0.72 : 44)
        var svg = SVGDocument(width: width, height: height)
        let xa = Axis(lo: 0, hi: Double(categories.count))
        drawAxes(&svg, f, x: xa, y: ya, title: title, xLabel: "", yLabel: yLabel, xTickLabels: [])
        let slot = f.plotWidth / Double(categories.count), bw = slot * 0.8 / Double(groups.count)
        var skipped = 0
        for (c, name) in categories.enumerated() {
            for (g, group) in groups.enumerated() {
                let v = group.values[c]
                guard v.isFinite else { skipped += 1; continue }
                let x = f.left + Double(c) * slot + slot * 0.1 + Double(g) * bw
                let y0 = f.y(ya.unit(0)), y1 = f.y(ya.unit(v))
                svg.rect(
                    x, min(y0, y1), bw - 1, abs(y1 - y0), fill: Palette.color(g), cls: "bar",
                    title: "\(group.name) / \(name): \(formatTick(v))")
            }
            let cx = f.left + (Double(c) + 0.5) * slot, by = f.top + f.plotHeight + 15
            if rotate {
                svg.text(cx, by, name, size: 11, anchor: "end", rotate: -40, cls: "tick")
            } else {
                svg.text(cx, by, name, size: 11, cls: "tick")
            }
        }
        svg.line(f.left, f.y(ya.unit(0)), f.left + f.plotWidth, f.y(ya.unit(0)), stroke: "#555")
        drawLegend(&svg, f, entries: groups.enumerated().map { ($0.element.name, Palette.color($0.offset), nil) })
        drawNote(&svg, f, skippedNote(skipped))
        return svg.render()
    }
}
