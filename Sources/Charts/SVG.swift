import Foundation

/// Why a chart could not be drawn.
public struct ChartError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, naming the input.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// Okabe-Ito colours, distinguishable with the common forms of colour blindness; ordered for contrast.
public enum Palette {
    /// The Okabe-Ito colour-blind-safe palette, in order.
    public static let categorical = [
        "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"
    ]
    /// The i-th palette colour, cycling.
    public static func color(_ i: Int) -> String { categorical[i % categorical.count] }

    /// Viridis (sequential, perceptually uniform), sampled at 9 stops and interpolated.
    static let viridis: [(Double, Double, Double)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)
    ]
    /// Blue - white - red (ColorBrewer RdBu reversed), for signed values centred on zero.
    static let diverging: [(Double, Double, Double)] = [
        (33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247),
        (253, 219, 199), (239, 138, 98), (178, 24, 43)
    ]

    /// Colour at t in [0, 1] along a ramp.
    static func ramp(_ stops: [(Double, Double, Double)], _ t: Double) -> String {
        let u = (t.isNaN ? 0.5 : min(max(t, 0), 1)) * Double(stops.count - 1)
        let i = min(Int(u), stops.count - 2), f = u - Double(i)
        let a = stops[i], b = stops[i + 1]
        func c(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return String(format: "#%02X%02X%02X", c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }
}

/// A small SVG writer: elements appended as text, every attribute value escaped.
public struct SVGDocument {
    /// Size in pixels.
    public let width: Double, height: Double
    var body: [String] = []

    /// An empty document of this size.
    public init(width: Double, height: Double) { self.width = width; self.height = height }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A coordinate with two decimals; kept within +-1e9 px (a value far off the chart must not reach Int).
    static func num(_ v: Double) -> String {
        let r = ((v.isNaN ? 0 : min(max(v, -1e9), 1e9)) * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    mutating func raw(_ s: String) { body.append(s) }

    mutating func element(_ name: String, _ attrs: [(String, String)], text: String? = nil) {
        let a = attrs.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
        if let text {
            body.append("<\(name)\(a)>\(Self.escape(text))</\(name)>")
        } else {
            body.append("<\(name)\(a)/>")
        }
    }

    mutating func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#333", width: Double = 1,
        dash: String? = nil, cls: String? = nil
    ) {
        var a = [
            ("x1", Self.num(x1)), ("y1", Self.num(y1)), ("x2", Self.num(x2)), ("y2", Self.num(y2)), ("stroke", stroke),
            ("stroke-width", Self.num(width))
        ]
        if let dash { a.append(("stroke-dasharray", dash)) }
        if let cls { a.append(("class", cls)) }
        element("line", a)
    }

    mutating func rect(
        _ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, opacity: Double? = nil,
        strokeWidth: Double? = nil, cls: String? = nil, title: String? = nil
    ) {
        var a = [
            ("x", Self.num(x)), ("y", Self.num(y)), ("width", Self.num(max(w, 0))), ("height", Self.num(max(h, 0))),
            ("fill", fill)
        ]
        if let stroke { a.append(("stroke", stroke)) }
        if let strokeWidth { a.append(("stroke-width", Self.num(strokeWidth))) }
        if let opacity { a.append(("fill-opacity", Self.num(opacity))) }
        if let cls { a.append(("class", cls)) }
        if let title {
            body.append(
                "<rect" + a.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
                    + "><title>\(Self.escape(title))</title></rect>")
        } else {
            element("rect", a)
        }
    }

    mutating func text(
        _ x: Double, _ y: Double, _ s: String, size: Double = 12, anchor: String = "middle", rotate: Double? = nil,
        weight: String? = nil, fill: String = "#222", cls: String? = nil
    ) {
        var a = [
            ("x", Self.num(x)), ("y", Self.num(y)), ("font-size", Self.num(size)), ("text-anchor", anchor),
            ("fill", fill)
        ]
        if let rotate { a.append(("transform", "rotate(\(Self.num(rotate)) \(Self.num(x)) \(Self.num(y)))")) }
        if let weight { a.append(("font-weight", weight)) }
        if let cls { a.append(("class", cls)) }
        element("text", a, text: s)
    }

    mutating func polyline(
        _ pts: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil, fill: String = "none",
        cls: String = "series"
    ) {
        var a = [
            ("points", pts.map { "\(Self.num($0.0)),\(Self.num($0.1))" }.joined(separator: " ")), ("fill", fill),
            ("stroke", stroke),
            ("stroke-width", Self.num(width)), ("stroke-linejoin", "round"), ("class", cls)
        ]
        if let dash { a.append(("stroke-dasharray", dash)) }
        element("polyline", a)
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, cls: String = "point", title: String? = nil)
    {
        let a = [
            ("cx", Self.num(x)), ("cy", Self.num(y)), ("r", Self.num(r)), ("fill", fill), ("stroke", "white"),
            ("stroke-width", "0.8"), ("class", cls)
        ]
        if let title {
            body.append(
                "<circle" + a.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
                    + "><title>\(Self.escape(title))</title></circle>")
        } else {
            element("circle", a)
        }
    }

    /// The arrowhead marker that lines with marker-end="url(#arrow)" use (HTMLReport renames it per figure,
    /// so ids stay unique in a page holding many charts).
    static let arrowMarker =
        """
        <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" \
        markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" \
        fill=\"context-stroke\"/></marker></defs>
        """

    /// The whole report as one self-contained HTML page.
    public func render() -> String {
        let content = body.joined(separator: "\n")
        let defs = content.contains("url(#arrow)") ? Self.arrowMarker + "\n" : ""
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.num(width))" height="\(Self.num(height))" \
            viewBox="0 0 \(Self.num(width)) \(Self.num(height))" font-family="Helvetica, Arial, sans-serif">
            \(defs)<rect x="0" y="0" width="\(Self.num(width))" height="\(Self.num(height))" fill="white"/>
            \(content)
            </svg>
            """
    }
}

/// Approximate rendered width of a label in a sans-serif font (average glyph ~0.58 em), used to keep
/// tick labels, legends and titles from overlapping.
func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.58 }

/// Short, readable tick labels: 0.001, 2.5, 1e+04, 1e-05.
func formatTick(_ v: Double) -> String {
    if v == 0 { return "0" }
    guard v.isFinite else { return v.isNaN ? "nan" : v > 0 ? "inf" : "-inf" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 {
        let e = Int(Foundation.log10(a).rounded(.down)), m = v / Foundation.pow(10, Double(e))
        let ms = abs(m - m.rounded()) < 1e-9 ? String(Int(m.rounded())) : String(format: "%.1f", m)
        return "\(ms)e\(e)"
    }
    var s = String(format: "%.4f", v)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}
