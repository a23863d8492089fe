import Foundation

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
