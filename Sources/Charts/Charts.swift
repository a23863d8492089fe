import Foundation

/// Anything that renders to a standalone SVG document.
public protocol Chart {
    var title: String { get }
    var width: Double { get }
    var height: Double { get }
    func svg() throws -> String
    /// The chart's data for the report's script (Explorable.swift), as JSON; nil for a chart that stays a picture.
    var explorableData: String? { get }
}

/// Splits finite runs; counts what was skipped.
func finiteRuns(_ xs: [Double], _ ys: [Double], _ ok: (Double, Double) -> Bool) -> (
    runs: [[(Double, Double)]], skipped: Int
) {
    var runs: [[(Double, Double)]] = [[]], skipped = 0
    for (x, y) in zip(xs, ys) {
        if x.isFinite && y.isFinite && ok(x, y) {
            runs[runs.count - 1].append((x, y))
        } else {
            skipped += 1
            if !runs[runs.count - 1].isEmpty { runs.append([]) }
        }
    }
    return (runs.filter { !$0.isEmpty }, skipped)
}

func skippedNote(_ n: Int, _ what: String = "non-finite values") -> String? { n > 0 ? "\(n) \(what) skipped" : nil }

func yAxisMargin(_ axis: Axis) -> Double { 34 + (axis.ticks().map { textWidth(formatTick($0), size: 11) }.max() ?? 20) }

// MARK: - Line chart

/// One line of a line chart.
public struct LineSeries {
    /// Legend name, points, dashing and colour (nil: the palette's next).
    public var name: String, x: [Double], y: [Double], dashed: Bool, color: String?
    /// A line through (x[i], y[i]).
    public init(name: String, x: [Double], y: [Double], dashed: Bool = false, color: String? = nil) {
        self.name = name; self.x = x; self.y = y; self.dashed = dashed; self.color = color
    }
    /// y against 1, 2, 3, ... (epochs, steps).
    public init(name: String, y: [Double], startingAt first: Double = 1, dashed: Bool = false, color: String? = nil) {
        self.init(name: name, x: y.indices.map { first + Double($0) }, y: y, dashed: dashed, color: color)
    }
}

/// Several series over a shared x axis; linear or log y. Non-finite points (and non-positive ones on a log
/// axis) break the line and are counted in a note.
public struct LineChart: Chart {
    /// The title and the axis labels.
    public var title: String, xLabel: String, yLabel: String
    /// The lines.
    public var series: [LineSeries]
    /// Linear or logarithmic y axis.
    public var yScale: AxisScale
    /// Linear or logarithmic x axis.
    public var xScale: AxisScale
    /// Size in pixels.
    public var width: Double, height: Double
    /// Whether each point gets a marker.
    public var markers: Bool
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, xLabel: String, yLabel: String, series: [LineSeries], yScale: AxisScale = .linear,
        xScale: AxisScale = .linear, markers: Bool = false, width: Double = 640, height: Double = 380
    ) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.yScale = yScale
        self.xScale = xScale; self.markers = markers; self.width = width; self.height = height
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        guard !series.isEmpty, series.contains(where: { !$0.y.isEmpty }) else {
            throw ChartError("\(title): no data to plot")
        }
        for s in series where s.x.count != s.y.count {
            throw ChartError("\(title): series '\(s.name)' has \(s.x.count) x and \(s.y.count) y values")
        }
        let ok: (Double, Double) -> Bool = { x, y in (yScale == .linear || y > 0) && (xScale == .linear || x > 0) }
        let cleaned = series.map { finiteRuns($0.x, $0.y, ok) }
        let xs = cleaned.flatMap { $0.runs.flatMap { $0.map(\.0) } },
            ys = cleaned.flatMap { $0.runs.flatMap { $0.map(\.1) } }
        let xa = try Axis(values: xs, scale: xScale, pad: false), ya = try Axis(values: ys, scale: yScale)
        let f = Frame(
            width: width, height: height, left: yAxisMargin(ya), right: 16 + legendWidth(series.map(\.name)), top: 34,
            bottom: 44)
        var svg = SVGDocument(width: width, height: height)
        drawAxes(&svg, f, x: xa, y: ya, title: title, xLabel: xLabel, yLabel: yLabel)
        var legend: [(String, String, String?)] = []
        for (i, s) in series.enumerated() {
            let color = s.color ?? Palette.color(i), dash = s.dashed ? "6 4" : nil
            svg.raw("<g class=\"line-series\" data-name=\"\(SVGDocument.escape(s.name))\">")
            for run in cleaned[i].runs {
                let pts = run.map { (f.x(xa.unit($0.0)), f.y(ya.unit($0.1))) }
                if pts.count == 1 {
                    svg.circle(pts[0].0, pts[0].1, r: 2.5, fill: color)
                } else {
                    svg.polyline(pts, stroke: color, dash: dash)
                }
                if markers && pts.count > 1 {
                    for p in pts { svg.circle(p.0, p.1, r: 2.5, fill: color, cls: "marker") }
                }
            }
            svg.raw("</g>")
            legend.append((s.name, color, dash))
        }
        drawLegend(&svg, f, entries: legend)
        drawNote(
            &svg, f,
            skippedNote(
                cleaned.reduce(0) { $0 + $1.skipped },
                yScale == .log ? "non-finite or non-positive values" : "non-finite values"))
        return svg.render()
    }
}

// MARK: - Histogram and density

/// A histogram of one sample, optionally with its Gaussian KDE drawn over it (both as densities).
public struct HistogramChart: Chart {
    /// The title and the x-axis label.
    public var title: String, xLabel: String
    /// The values whose distribution is drawn.
    public var values: [Double]
    /// Histogram bins (nil: the Freedman-Diaconis rule).
    public var bins: Int?
    /// Whether a kernel-density curve is drawn over the bars.
    public var showDensity: Bool
    /// The kernel-density bandwidth rule (Scott by default, as scipy).
    public var bandwidth: Bandwidth
    /// Size in pixels.
    public var width: Double, height: Double
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, xLabel: String, values: [Double], bins: Int? = nil, showDensity: Bool = true,
        bandwidth: Bandwidth = .scott, width: Double = 520, height: Double = 340
    ) {
        self.title = title; self.xLabel = xLabel; self.values = values; self.bins = bins; self.showDensity = showDensity
        self.bandwidth = bandwidth; self.width = width; self.height = height
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { throw ChartError("\(title): no finite values for a histogram") }
        let n = bins ?? Density.suggestedBins(v)
        var lo = v.min()!, hi = v.max()!
        if lo == hi { lo -= 0.5; hi += 0.5 }
        let counts = Density.histogram(v, bins: n, lo: lo, hi: hi)
        let bw = (hi - lo) / Double(n)
        let dens = counts.map { Double($0) / (Double(v.count) * bw) }
        let grid = (0...200).map { lo + (hi - lo) * Double($0) / 200 }
        let kde = showDensity ? Density.kde(v, at: grid, rule: bandwidth) : []
        let xa = Axis(lo: lo, hi: hi), ya = try Axis(values: dens + kde + [0], scale: .linear, includeZero: true)
        let names = showDensity ? ["histogram", "KDE (\(bandwidth.rawValue))"] : []
        let f = Frame(
            width: width, height: height, left: yAxisMargin(ya), right: 16 + legendWidth(names), top: 34, bottom: 44)
        var svg = SVGDocument(width: width, height: height)
        drawAxes(&svg, f, x: xa, y: ya, title: title, xLabel: xLabel, yLabel: "density")
        for (i, d) in dens.enumerated() {
            let x0 = f.x(xa.unit(lo + Double(i) * bw)), x1 = f.x(xa.unit(lo + Double(i + 1) * bw))
            svg.rect(
                x0, f.y(ya.unit(d)), x1 - x0, f.y(ya.unit(0)) - f.y(ya.unit(d)), fill: Palette.color(0),
                stroke: "white", opacity: 0.55, cls: "bar",
                title: "[\(formatTick(lo + Double(i) * bw)), \(formatTick(lo + Double(i + 1) * bw))): \(counts[i])")
        }
        if showDensity {
            svg.polyline(
                zip(grid, kde).map { (f.x(xa.unit($0.0)), f.y(ya.unit($0.1))) }, stroke: Palette.color(1), cls: "kde")
            drawLegend(
                &svg, f,
                entries: [("histogram", Palette.color(0), nil), ("KDE (\(bandwidth.rawValue))", Palette.color(1), nil)])
        }
        drawNote(&svg, f, skippedNote(values.count - v.count))
        return svg.render()
    }
}

/// Overlaid KDE curves of several samples (e.g. one weight matrix per model).
public struct DensityChart: Chart {
    /// The title and the x-axis label.
    public var title: String, xLabel: String
    /// The named samples whose densities are overlaid.
    public var samples: [(name: String, values: [Double])]
    /// The kernel-density bandwidth rule (Scott by default, as scipy).
    public var bandwidth: Bandwidth
    /// Size in pixels.
    public var width: Double, height: Double
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, xLabel: String, samples: [(name: String, values: [Double])], bandwidth: Bandwidth = .scott,
        width: Double = 560, height: Double = 340
    ) {
        self.title = title; self.xLabel = xLabel; self.samples = samples; self.bandwidth = bandwidth;
        self.width = width; self.height = height
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        let all = samples.flatMap { $0.values.filter(\.isFinite) }
        guard !all.isEmpty else { throw ChartError("\(title): no finite values for a density") }
        let (lo, hi) = paddedRange(samples.map { $0.values.filter(\.isFinite) }, rule: bandwidth)
        let grid = (0...200).map { lo + (hi - lo) * Double($0) / 200 }
        let curves = samples.map { Density.kde($0.values, at: grid, rule: bandwidth) }
        return try LineChart(
            title: title, xLabel: xLabel, yLabel: "density",
            series: zip(samples, curves).map { LineSeries(name: $0.0.name, x: grid, y: $0.1) },
            width: width, height: height
        ).svg()
    }
}

/// Data range widened by three bandwidths so the KDE tails are visible.
func paddedRange(_ groups: [[Double]], rule: Bandwidth) -> (Double, Double) {
    var lo = Double.infinity, hi = -Double.infinity
    for g in groups where !g.isEmpty {
        let h = Density.bandwidth(g, rule: rule)
        lo = min(lo, g.min()! - 3 * h); hi = max(hi, g.max()! + 3 * h)
    }
    return lo < hi ? (lo, hi) : (lo - 1, hi + 1)
}

/// Distributions across an ordered index (epochs), stacked and offset like TensorBoard's histogram
/// 'offset' view: the first row at the top, each later row lower and darker; shared x axis.
public struct RidgelineChart: Chart {
    /// The title and the x-axis label.
    public var title: String, xLabel: String
    /// One ridge per row, top to bottom.
    public var rows: [(label: String, values: [Double])]
    /// The kernel-density bandwidth rule (Scott by default, as scipy).
    public var bandwidth: Bandwidth
    /// How far each ridge reaches into the one above, in row heights.
    public var overlap: Double
    /// Size in pixels.
    public var width: Double, height: Double
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, xLabel: String, rows: [(label: String, values: [Double])], bandwidth: Bandwidth = .scott,
        overlap: Double = 1.8, width: Double = 560, height: Double? = nil
    ) {
        self.title = title; self.xLabel = xLabel; self.rows = rows; self.bandwidth = bandwidth; self.overlap = overlap
        self.width = width; self.height = height ?? min(720, 120 + 24 * Double(rows.count))
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        let finite = rows.map { $0.values.filter(\.isFinite) }
        guard !rows.isEmpty, finite.contains(where: { !$0.isEmpty }) else {
            throw ChartError("\(title): no finite values for a ridgeline")
        }
        let (lo, hi) = paddedRange(finite, rule: bandwidth)
        // About one point per 3 pixels of width: smooth on screen, and many ridges stay light in the report.
        let n = max(40, min(160, Int(width / 3)))
        let grid = (0...n).map { lo + (hi - lo) * Double($0) / Double(n) }
        let curves = finite.map { Density.kde($0, at: grid, rule: bandwidth) }
        let peak = curves.flatMap { $0 }.max() ?? 1
        let labelWidth = 16 + (rows.map { textWidth($0.label, size: 11) }.max() ?? 0)
        let f = Frame(width: width, height: height, left: labelWidth + 8, right: 20, top: 40, bottom: 44)
        let rowStep = f.plotHeight / (Double(rows.count - 1) + overlap)
        let xa = Axis(lo: lo, hi: hi)
        var svg = SVGDocument(width: width, height: height)
        svg.text(width / 2, 20, title, size: 15, weight: "bold", cls: "title")
        svg.raw("<g class=\"plot-area\" data-xmin=\"\(lo)\" data-xmax=\"\(hi)\" data-rows=\"\(rows.count)\">")
        for (i, curve) in curves.enumerated() {
            let base = f.top + overlap * rowStep + Double(i) * rowStep
            let color = Palette.ramp(
                Palette.viridis, rows.count == 1 ? 0.3 : 0.85 - 0.75 * Double(i) / Double(rows.count - 1))
            let pts = zip(grid, curve).map { (f.x(xa.unit($0.0)), base - $0.1 / peak * overlap * rowStep) }
            svg.polyline(
                [(pts[0].0, base)] + pts + [(pts[pts.count - 1].0, base)], stroke: "white", width: 1, fill: color,
                cls: "ridge")
            svg.text(f.left - 6, base - 2, rows[i].label, size: 11, anchor: "end", cls: "row-label")
        }
        svg.raw("</g>")
        let bottom = f.top + f.plotHeight
        svg.line(f.left, bottom, f.left + f.plotWidth, bottom, stroke: "#999")
        var lastRight = -Double.infinity
        for t in xa.ticks(target: 6) {
            let px = f.x(xa.unit(t)), label = formatTick(t), w = textWidth(label, size: 11)
            svg.line(px, bottom, px, bottom + 4)
            if px - w / 2 > lastRight + 4 {
                svg.text(px, bottom + 17, label, size: 11, cls: "tick"); lastRight = px + w / 2
            }
        }
        svg.text(f.left + f.plotWidth / 2, height - 8, xLabel, size: 12, cls: "axis-label")
        drawNote(&svg, f, skippedNote(rows.reduce(0) { $0 + $1.values.count } - finite.reduce(0) { $0 + $1.count }))
        return svg.render()
    }
}
