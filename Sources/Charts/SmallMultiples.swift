import Foundation

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
