import Foundation

// MARK: - Scatter with labels and trajectories

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

// MARK: - Heatmap

/// How heatmap values map to colours.
public enum ColorScale: String, Codable, Sendable {
    case sequential  // viridis from min to max
    case diverging  // blue-white-red, symmetric around zero
}

/// A matrix as coloured cells, with row and column labels and a colour bar.
public struct Heatmap: Chart {
    /// The title.
    public var title: String
    /// The matrix, row by row.
    public var values: [[Double]]
    /// Labels of the rows and columns.
    public var rowLabels: [String], columnLabels: [String]
    /// The colour scale.
    public var scale: ColorScale
    /// The values mapped to the scale's ends (nil: the data's range).
    public var range: (Double, Double)?
    /// Whether each cell shows its value.
    public var annotate: Bool
    /// Cells outlined to pick them out (a question's own image), as (row, column), and what the outline means.
    public var marked: [(row: Int, column: Int)] = [], markedMeaning: String? = nil
    /// Size in pixels.
    public var width: Double, height: Double
    /// A chart of this data; each argument sets the property of the same name.
    public init(
        title: String, values: [[Double]], rowLabels: [String], columnLabels: [String], scale: ColorScale = .sequential,
        range: (Double, Double)? = nil, annotate: Bool? = nil, width: Double? = nil, height: Double? = nil,
        marked: [(row: Int, column: Int)] = [], markedMeaning: String? = nil
    ) {
        self.marked = marked; self.markedMeaning = markedMeaning
        self.title = title; self.values = values; self.rowLabels = rowLabels; self.columnLabels = columnLabels;
        self.scale = scale
        self.range = range
        let cols = values.first?.count ?? 0
        self.annotate = annotate ?? (values.count <= 14 && cols <= 14)
        let rowLabelWidth = (rowLabels.map { textWidth($0, size: 11) }.max() ?? 0)
        let colLabelHeight = (columnLabels.map { textWidth($0, size: 11) }.max() ?? 0) * 0.75
        self.width = width ?? max(360, 110 + rowLabelWidth + Double(cols) * 34)
        self.height = height ?? max(260, 80 + colLabelHeight + Double(values.count) * 26)
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        let (lo, hi) = try colorRange()
        let cols = values[0].count
        let rowLabelWidth = (rowLabels.map { textWidth($0, size: 11) }.max() ?? 0) + 12
        let colLabelHeight = (columnLabels.map { textWidth($0, size: 11) }.max() ?? 0) * 0.75 + 14
        let f = Frame(
            width: width, height: height, left: rowLabelWidth, right: 80, top: 32 + colLabelHeight, bottom: 16)
        let cw = f.plotWidth / Double(cols), ch = f.plotHeight / Double(values.count)
        var svg = SVGDocument(width: width, height: height)
        svg.text(width / 2, 20, title, size: 15, weight: "bold", cls: "title")
        let skipped = drawCells(&svg, f, cell: (cw, ch), range: (lo, hi))
        // Every label when cells are 12 px or more; every n-th below (Int only after the clamp: a cell may be 0 px).
        func step(_ size: Double) -> Int { Int(min(max((12 / size).rounded(.up), 1), 1e6)) }
        let rowStep = step(ch), colStep = step(cw)
        for (r, l) in rowLabels.enumerated() where r % rowStep == 0 {
            svg.text(f.left - 6, f.top + (Double(r) + 0.5) * ch + 4, l, size: 11, anchor: "end", cls: "row-label")
        }
        for (c, l) in columnLabels.enumerated() where c % colStep == 0 {
            let x = f.left + (Double(c) + 0.5) * cw
            svg.text(x + 3, f.top - 6, l, size: 11, anchor: "start", rotate: -45, cls: "column-label")
        }
        drawColorBar(&svg, f, range: (lo, hi))
        let notes = [markedMeaning.map { "outlined: \($0)" }, skippedNote(skipped, "non-finite cells (grey)")]
            .compactMap { $0 }
        drawNote(
            &svg, Frame(width: width, height: height + 8, left: 0, right: 0, top: 0, bottom: 0),
            notes.isEmpty ? nil : notes.joined(separator: "; "))
        return svg.render()
    }

    /// The values at the colour scale's ends, after checking the matrix and its labels: the given range, or the
    /// finite values' (symmetric around zero on a diverging scale), widened by 1 each way when it is one value.
    func colorRange() throws -> (Double, Double) {
        guard !values.isEmpty, let cols = values.first?.count, cols > 0 else {
            throw ChartError("\(title): empty matrix")
        }
        guard values.allSatisfy({ $0.count == cols }) else { throw ChartError("\(title): rows have different lengths") }
        guard rowLabels.count == values.count, columnLabels.count == cols else {
            throw ChartError(
                """
                \(title): \(values.count)x\(cols) matrix with \(rowLabels.count) row and \(columnLabels.count) \
                column labels
                """
            )
        }
        let finite = values.flatMap { $0 }.filter(\.isFinite)
        guard !finite.isEmpty else { throw ChartError("\(title): no finite values") }
        var (lo, hi) = range ?? (finite.min()!, finite.max()!)
        if scale == .diverging && range == nil { let m = max(abs(lo), abs(hi), 1e-12); lo = -m; hi = m }
        if lo == hi { lo -= 1; hi += 1 }
        return (lo, hi)
    }

    /// The colour ramp of the scale.
    var stops: [(Double, Double, Double)] { scale == .sequential ? Palette.viridis : Palette.diverging }

    /// The cells (grey where a value is not finite), their values when annotated, and the outlines of the marked
    /// ones; returns how many were not finite.
    func drawCells(
        _ svg: inout SVGDocument, _ f: Frame, cell: (width: Double, height: Double), range: (lo: Double, hi: Double)
    ) -> Int {
        let (cw, ch) = cell, (lo, hi) = range
        var skipped = 0
        svg.raw("<g class=\"cells\" data-min=\"\(lo)\" data-max=\"\(hi)\">")
        for (r, row) in values.enumerated() {
            for (c, v) in row.enumerated() {
                let x = f.left + Double(c) * cw, y = f.top + Double(r) * ch
                guard v.isFinite else {
                    skipped += 1
                    svg.rect(
                        x, y, cw, ch, fill: "#dddddd", stroke: "white", cls: "cell missing",
                        title: "\(rowLabels[r]) / \(columnLabels[c]): \(v)")
                    continue
                }
                let t = (v - lo) / (hi - lo)
                svg.rect(
                    x, y, cw, ch, fill: Palette.ramp(stops, t), stroke: "white", cls: "cell",
                    title: "\(rowLabels[r]) / \(columnLabels[c]): \(formatTick(v))")
                if annotate && cw >= 26 {
                    let dark = scale == .sequential ? t < 0.6 : abs(t - 0.5) > 0.3
                    svg.text(
                        x + cw / 2, y + ch / 2 + 4, String(format: abs(v) >= 100 ? "%.0f" : "%.2f", v),
                        size: min(10, ch * 0.6),
                        fill: dark ? "white" : "#222", cls: "cell-value")
                }
            }
        }
        for (r, c) in marked where values.indices.contains(r) && values[0].indices.contains(c) {
            svg.rect(
                f.left + Double(c) * cw + 1, f.top + Double(r) * ch + 1, cw - 2, ch - 2, fill: "none", stroke: "#111",
                strokeWidth: 2, cls: "marked")
        }
        svg.raw("</g>")
        return skipped
    }

    /// The colour bar right of the cells, labelled with the range's ends.
    func drawColorBar(_ svg: inout SVGDocument, _ f: Frame, range: (lo: Double, hi: Double)) {
        let bx = f.left + f.plotWidth + 18, bh = min(f.plotHeight, 200)
        for i in 0..<50 {
            let t0 = Double(i) / 50
            svg.rect(
                bx, f.top + bh * (1 - t0 - 0.02), 14, bh / 50 + 0.5, fill: Palette.ramp(stops, t0 + 0.01),
                cls: "colorbar")
        }
        svg.text(bx + 18, f.top + 8, formatTick(range.hi), size: 10, anchor: "start", cls: "colorbar-label")
        svg.text(bx + 18, f.top + bh, formatTick(range.lo), size: 10, anchor: "start", cls: "colorbar-label")
    }
}

// MARK: - Grouped bars

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

// MARK: - Small multiples

/// A grid of charts in one SVG (each keeps its own axes), e.g. one panel per model or per gate.
public struct SmallMultiples: Chart {
    /// The title.
    public var title: String
    /// The charts, row by row.
    public var panels: [Chart]
    /// Charts per row.
    public var columns: Int
    /// The grid's width.
    public var width: Double { Double(min(columns, panels.count)) * (panels.map(\.width).max() ?? 0) }
    /// The grid's height.
    public var height: Double {
        let rows = (panels.count + columns - 1) / max(columns, 1)
        return 34 + Double(rows) * (panels.map(\.height).max() ?? 0)
    }
    /// A grid of these charts.
    public init(title: String, panels: [Chart], columns: Int = 3) {
        self.title = title; self.panels = panels; self.columns = max(columns, 1)
    }

    /// The chart as a standalone SVG document; throws when there is nothing to draw.
    public func svg() throws -> String {
        guard !panels.isEmpty else { throw ChartError("\(title): no panels") }
        let pw = panels.map(\.width).max()!, ph = panels.map(\.height).max()!
        var svg = SVGDocument(width: width, height: height)
        svg.text(width / 2, 22, title, size: 16, weight: "bold", cls: "title")
        for (i, p) in panels.enumerated() {
            // A nested <svg> keeps each panel's coordinates; the arrow marker is defined once, by the outer
            // document, so the ids stay unique.
            let inner = try p.svg().replacingOccurrences(of: SVGDocument.arrowMarker + "\n", with: "")
            let x = Double(i % columns) * pw, y = 34 + Double(i / columns) * ph
            svg.raw(
                "<g class=\"panel\" transform=\"translate(\(SVGDocument.num(x)) \(SVGDocument.num(y)))\">" + inner
                    + "</g>")
        }
        return svg.render()
    }
}
