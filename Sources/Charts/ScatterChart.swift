import Foundation

/// One set of points of a scatter chart, optionally joined as a trajectory.
public struct ScatterSeries {
    /// Legend name, points, dashing and colour (nil: the palette's next).
    public var name: String
    /// The points, in order.
    public var points: [(x: Double, y: Double)]
    /// A text label per point (words along a trajectory).
    public var labels: [String]?
    /// Join consecutive points with arrows (a trajectory through time).
    public var trajectory: Bool
    /// A series; `trajectory` joins the points with arrows in order.
    public init(name: String, points: [(x: Double, y: Double)], labels: [String]? = nil, trajectory: Bool = false) {
        self.name = name; self.points = points; self.labels = labels; self.trajectory = trajectory
    }
}

/// Points with optional labels; trajectories drawn as arrows from each point to the next.
public struct ScatterChart: Chart {
    /// The title and the axis labels.
    public var title: String, xLabel: String, yLabel: String
    /// The series.
    public var series: [ScatterSeries]
    /// Size in pixels.
    public var width: Double, height: Double
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, xLabel: String, yLabel: String, series: [ScatterSeries], width: Double = 600,
        height: Double = 440
    ) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.width = width;
        self.height = height
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        let pts = series.flatMap { $0.points }.filter { $0.x.isFinite && $0.y.isFinite }
        guard !pts.isEmpty else { throw ChartError("\(title): no finite points to plot") }
        let xa = try Axis(values: pts.map(\.x), scale: .linear), ya = try Axis(values: pts.map(\.y), scale: .linear)
        let f = Frame(
            width: width, height: height, left: yAxisMargin(ya), right: 16 + legendWidth(series.map(\.name)), top: 34,
            bottom: 44)
        var svg = SVGDocument(width: width, height: height)
        drawAxes(&svg, f, x: xa, y: ya, title: title, xLabel: xLabel, yLabel: yLabel)
        var skipped = 0
        var placed: [(Double, Double, Double)] = []  // label boxes already drawn: x, y, width
        for (i, s) in series.enumerated() {
            let color = Palette.color(i)
            let px = s.points.map { p -> (Double, Double)? in
                p.x.isFinite && p.y.isFinite ? (f.x(xa.unit(p.x)), f.y(ya.unit(p.y))) : nil
            }
            skipped += px.filter { $0 == nil }.count
            svg.raw("<g class=\"scatter-series\" data-name=\"\(SVGDocument.escape(s.name))\">")
            if s.trajectory {
                for k in 1..<max(px.count, 1) {
                    guard let a = px[k - 1], let b = px[k] else { continue }
                    let dx = b.0 - a.0, dy = b.1 - a.1, len = (dx * dx + dy * dy).squareRoot()
                    guard len > 8 else { continue }
                    // stop short of the points so arrowheads stay visible
                    let ux = dx / len, uy = dy / len
                    svg.element(
                        "line",
                        [
                            ("x1", SVGDocument.num(a.0 + ux * 4)), ("y1", SVGDocument.num(a.1 + uy * 4)),
                            ("x2", SVGDocument.num(b.0 - ux * 5)), ("y2", SVGDocument.num(b.1 - uy * 5)),
                            ("stroke", color), ("stroke-width", "1.4"), ("stroke-opacity", "0.8"),
                            ("marker-end", "url(#arrow)"), ("class", "arrow")
                        ])
                }
            }
            for (k, p) in px.enumerated() {
                guard let p else { continue }
                let label = s.labels.map { $0.indices.contains(k) ? $0[k] : "" } ?? ""
                svg.circle(p.0, p.1, r: 4, fill: color, title: label.isEmpty ? s.name : "\(s.name): \(label)")
                guard !label.isEmpty else { continue }
                // place the label right of the point, else left, else above; skip if every spot is taken
                let w = textWidth(label, size: 10)
                let spots = [
                    (p.0 + 6, p.1 - 5, "start"), (p.0 - 6, p.1 - 5, "end"), (p.0, p.1 - 9, "middle"),
                    (p.0, p.1 + 15, "middle")
                ]
                for (x, y, anchor) in spots {
                    let left = anchor == "start" ? x : anchor == "end" ? x - w : x - w / 2
                    let clash = placed.contains { abs($0.1 - y) < 11 && left < $0.0 + $0.2 && $0.0 < left + w }
                    if !clash && left >= f.left && left + w <= f.left + f.plotWidth + 10 {
                        svg.text(x, y, label, size: 10, anchor: anchor, fill: "#333", cls: "point-label")
                        placed.append((left, y, w))
                        break
                    }
                }
            }
            svg.raw("</g>")
        }
        drawLegend(&svg, f, entries: series.enumerated().map { ($0.element.name, Palette.color($0.offset), nil) })
        drawNote(&svg, f, skippedNote(skipped, "non-finite points"))
        return svg.render()
    }
}
