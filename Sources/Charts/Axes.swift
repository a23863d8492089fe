import Foundation

/// Linear or base-10 logarithmic axis.
public enum AxisScale: String, Codable, Sendable { case linear, log }

/// A numeric axis: its data range, its scale and its ticks.
struct Axis {
    var lo: Double, hi: Double
    var scale: AxisScale

    /// Range covering `values` (finite, and positive for log), padded and rounded to nice ticks.
    init(values: [Double], scale: AxisScale, includeZero: Bool = false, pad: Bool = true) throws {
        self.scale = scale
        var v = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        if includeZero && scale == .linear { v.append(0) }
        guard let mn = v.min(), let mx = v.max() else {
            throw ChartError(
                scale == .log ? "no positive finite values to draw on a log axis" : "no finite values to draw")
        }
        guard (mx - mn).isFinite else {
            throw ChartError("values from \(mn) to \(mx) span more than a Double can hold; nothing to scale an axis to")
        }
        if scale == .log {
            lo = Foundation.pow(10, Foundation.log10(mn).rounded(.down))
            hi = Foundation.pow(10, Foundation.log10(mx).rounded(.up))
            if lo == hi { lo /= 10; hi *= 10 }
        } else if mn == mx {
            lo = mn - (mn == 0 ? 1 : abs(mn) * 0.5); hi = mx + (mx == 0 ? 1 : abs(mx) * 0.5)
        } else {
            let step = Axis.niceStep((mx - mn) / 5)
            lo = pad ? (mn / step).rounded(.down) * step : mn
            hi = pad ? (mx / step).rounded(.up) * step : mx
        }
        // Padding past the largest Double (data near 1.8e308) stays at it.
        lo = max(lo, -Double.greatestFiniteMagnitude); hi = min(hi, Double.greatestFiniteMagnitude)
    }

    init(lo: Double, hi: Double, scale: AxisScale = .linear) { self.lo = lo; self.hi = hi; self.scale = scale }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let e = Foundation.pow(10, Foundation.log10(raw).rounded(.down)), f = raw / e
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * e
    }

    /// Position in [0, 1] along the axis.
    func unit(_ v: Double) -> Double {
        scale == .log
            ? (Foundation.log10(v) - Foundation.log10(lo)) / (Foundation.log10(hi) - Foundation.log10(lo))
            : (v - lo) / (hi - lo)
    }

    /// About `target` ticks at 1-2-5 steps (linear) or powers of ten (log, thinned to fit).
    func ticks(target: Int = 6) -> [Double] {
        // At most ~1000 ticks whatever the range: a step below the values' resolution would never move t.
        guard hi > lo, (hi - lo).isFinite, scale == .linear || lo > 0 else { return lo.isFinite ? [lo] : [] }
        if scale == .log {
            let a = Int(Foundation.log10(lo).rounded()), b = Int(Foundation.log10(hi).rounded())
            let every = max(1, (b - a) / max(target, 1) + ((b - a) % max(target, 1) == 0 ? 0 : 1))
            return stride(from: a, through: b, by: every).map { Foundation.pow(10, Double($0)) }
        }
        let step = Axis.niceStep((hi - lo) / Double(max(target - 1, 1)))
        var t = (lo / step).rounded(.up) * step, out: [Double] = []
        while t <= hi + step * 1e-9 && out.count < 1000 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            guard t + step > t else { break }
            t += step
        }
        return out
    }
}

/// The plot rectangle inside a chart, with the margins that hold title, axis labels and legend.
struct Frame {
    var width: Double, height: Double
    var left: Double, right: Double, top: Double, bottom: Double
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }
    func x(_ u: Double) -> Double { left + u * plotWidth }
    func y(_ u: Double) -> Double { top + (1 - u) * plotHeight }
}

/// Draws title, axes with ticks and labels, grid lines, and the plot-range data attributes the tests read.
func drawAxes(
    _ svg: inout SVGDocument, _ f: Frame, x: Axis, y: Axis, title: String, xLabel: String, yLabel: String,
    xTickLabels: [(Double, String)]? = nil
) {
    svg.text(f.width / 2, 20, title, size: 15, weight: "bold", cls: "title")
    svg.raw(
        """
        <g class=\"plot-area\" data-xmin=\"\(x.lo)\" data-xmax=\"\(x.hi)\" data-ymin=\"\(y.lo)\" \
        data-ymax=\"\(y.hi)\" data-xscale=\"\(x.scale.rawValue)\" data-yscale=\"\(y.scale.rawValue)\">
        """
    )
    svg.rect(f.left, f.top, f.plotWidth, f.plotHeight, fill: "none", stroke: "#999")
    svg.raw("</g>")
    // y ticks: drop labels that would collide vertically
    var lastY = Double.infinity
    for t in y.ticks() {
        let py = f.y(y.unit(t))
        svg.line(f.left, py, f.left + f.plotWidth, py, stroke: "#e5e5e5", cls: "grid")
        svg.line(f.left - 4, py, f.left, py)
        if lastY - py >= 14 {
            svg.text(f.left - 7, py + 4, formatTick(t), size: 11, anchor: "end", cls: "tick"); lastY = py
        }
    }
    // x ticks: fewer ticks until the labels fit side by side
    let labels =
        xTickLabels
        ?? {
            var target = 8
            while true {
                let ts = x.ticks(target: target)
                let widest = ts.map { textWidth(formatTick($0), size: 11) }.max() ?? 0
                if target <= 2 || Double(ts.count) * (widest + 8) <= f.plotWidth {
                    return ts.map { ($0, formatTick($0)) }
                }
                target -= 1
            }
        }()
    var lastRight = -Double.infinity
    for (t, label) in labels {
        let px = f.x(x.unit(t))
        svg.line(px, f.top + f.plotHeight, px, f.top + f.plotHeight + 4)
        let w = textWidth(label, size: 11)
        if px - w / 2 >= lastRight + 4 {
            svg.text(px, f.top + f.plotHeight + 17, label, size: 11, cls: "tick")
            lastRight = px + w / 2
        }
    }
    svg.text(f.left + f.plotWidth / 2, f.height - 8, xLabel, size: 12, cls: "axis-label")
    svg.text(14, f.top + f.plotHeight / 2, yLabel, size: 12, rotate: -90, cls: "axis-label")
}

/// Legend to the right of the plot (outside the data), one row per entry; returns nothing, draws in place.
func drawLegend(_ svg: inout SVGDocument, _ f: Frame, entries: [(String, String, String?)]) {
    var y = f.top + 6
    for (name, color, dash) in entries {
        let x = f.left + f.plotWidth + 12
        svg.line(x, y, x + 22, y, stroke: color, width: 3, dash: dash, cls: "legend-swatch")
        svg.text(x + 28, y + 4, name, size: 11, anchor: "start", cls: "legend")
        y += 17
    }
}

func legendWidth(_ names: [String]) -> Double {
    names.isEmpty ? 0 : 50 + (names.map { textWidth($0, size: 11) }.max() ?? 0)
}

/// A note under the plot, e.g. how many non-finite values were skipped.
func drawNote(_ svg: inout SVGDocument, _ f: Frame, _ note: String?) {
    guard let note else { return }
    svg.text(f.width - 6, f.height - 8, note, size: 10, anchor: "end", fill: "#a33", cls: "note")
}
