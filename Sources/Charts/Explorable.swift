import Foundation

/// Charts a reader can explore in the report: the figure keeps its SVG file (shown as an image, and all a reader
/// gets with scripting off or on paper), and carries its data as JSON beside it; one inline script, no network,
/// redraws it as an interactive SVG: hover shows the values, clicking a legend entry hides or shows a series, a
/// drag zooms the x range and a double-click resets it.
extension Chart {
    public var explorableData: String? { nil }
}

/// The data the report's script draws a line chart from (non-finite values as null, breaking the line as in the
/// SVG).
struct ExplorableLineData: Codable {
    struct Series: Codable {
        var name: String, color: String, dashed: Bool
        var x: [Double?], y: [Double?]
    }
    var kind = "line"
    var title: String, xLabel: String, yLabel: String
    var xLog: Bool, yLog: Bool
    var width: Double, height: Double
    var series: [Series]
}

extension LineChart {
    public var explorableData: String? {
        let data = ExplorableLineData(
            title: title, xLabel: xLabel, yLabel: yLabel, xLog: xScale == .log, yLog: yScale == .log, width: width,
            height: height,
            series: series.enumerated().map { i, s in
                .init(
                    name: s.name, color: s.color ?? Palette.color(i), dashed: s.dashed,
                    x: s.x.map { $0.isFinite ? $0 : nil }, y: s.y.map { $0.isFinite ? $0 : nil })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let json = try? encoder.encode(data) else { return nil }
        return HTMLReport.scriptSafe(json)
    }
}

extension HTMLReport {
    /// JSON bytes as text safe inside a <script> element and as XML text: <, > and & only as JSON's \u escapes, so
    /// nothing in the data can close the element or break the page.
    public static func scriptSafe(_ json: Data) -> String {
        String(decoding: json, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
            .replacingOccurrences(of: ">", with: "\\u003e").replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// The script that makes figures with data explorable; inlined once in a page that has such figures.
    static let explorableScript = #"""
        (function () {
          var NS = "http://www.w3.org/2000/svg";
          function el(name, attrs, parent) {
            var e = document.createElementNS(NS, name);
            for (var k in attrs) e.setAttribute(k, attrs[k]);
            if (parent) parent.appendChild(e);
            return e;
          }
          function label(x, y, anchor, size, content, parent) {
            var t = el("text", { x: x, y: y, "text-anchor": anchor, "font-size": size }, parent);
            t.textContent = content;
            return t;
          }
          function fmt(v) {
            if (v === 0) return "0";
            var a = Math.abs(v);
            return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(+v.toPrecision(4));
          }
          // A log axis: its decades, every k-th where there are many (at most 7 labels); over fewer than three
          // decades, 1-2-5 steps (then 1-9) so values below 1 keep their labels. Otherwise round linear steps.
          function ticks(lo, hi, log) {
            var t = [], v;
            if (log) {
              var within = function (v) { return v >= lo * 0.999 && v <= hi * 1.001; };
              var e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi)), e;
              for (e = e0; e <= e1; e++) if (within(Math.pow(10, e))) t.push(e);
              if (t.length >= 3) {
                var k = Math.ceil(t.length / 7);
                return t.filter(function (e) { return e % k === 0; }).map(function (e) { return Math.pow(10, e); });
              }
              var steps = [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
              for (var s = 0; s < steps.length; s++) {
                t = [];
                for (e = e0; e <= e1; e++) steps[s].forEach(function (m) {
                  var v = +(m * Math.pow(10, e)).toPrecision(12);
                  if (within(v)) t.push(v);
                });
                if (t.length >= 3) return t;
              }
            }
            t = [];
            var span = hi - lo || 1, mag = Math.pow(10, Math.floor(Math.log10(span / 5)));
            var step = [1, 2, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return span / s <= 6; });
            for (v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push(+v.toPrecision(12));
            return t;
          }
          function scale(lo, hi, log, a, b) {
            var f = log ? Math.log10 : function (v) { return v; }, l = f(lo), h = f(hi);
            if (h === l) { l -= 0.5; h += 0.5; }
            return function (v) { return a + (f(v) - l) / (h - l) * (b - a); };
          }
          function line(fig, d) {
            var hidden = {}, view = null, W = d.width, H = d.height;
            var legendW = 50 + Math.max.apply(null, d.series.map(function (s) { return s.name.length * 6.2; }));
            var L = 70, R = 16 + legendW, T = 34, B = 44;
            var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "explorable-chart",
                                  role: "img", "aria-label": d.title });
            // Zoomed, a point outside the view still draws when its neighbour is inside or across, so the line
            // reaches the edge between sparse points (the plot's clip path cuts it there).
            function inView(s, j) {
              var x = s.x[j];
              if (!view || (x >= view[0] && x <= view[1])) return true;
              var n = x < view[0] ? s.x[j + 1] : s.x[j - 1];
              return n !== undefined && n !== null && (x < view[0] ? n >= view[0] : n <= view[1]);
            }
            function visiblePoints() {
              var pts = [];
              d.series.forEach(function (s, i) {
                if (hidden[i]) return;
                s.x.forEach(function (x, j) {
                  var y = s.y[j];
                  if (x === null || y === null || (d.yLog && y <= 0) || (d.xLog && x <= 0)) return;
                  if (!inView(s, j)) return;
                  pts.push([x, y, i]);
                });
              });
              return pts;
            }
            function draw() {
              while (svg.firstChild) svg.removeChild(svg.firstChild);
              el("rect", { x: 0, y: 0, width: W, height: H, fill: "#fff" }, svg);
              label(W / 2, 20, "middle", 14, d.title, svg).setAttribute("font-weight", "bold");
              var pts = visiblePoints();
              if (!pts.length) label(W / 2, H / 2, "middle", 12, "no visible data", svg);
              var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
              var x0 = view ? view[0] : Math.min.apply(null, xs), x1 = view ? view[1] : Math.max.apply(null, xs);
              var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
              if (!d.yLog) { var pad = (y1 - y0) * 0.05 || Math.abs(y0) * 0.05 || 1; y0 -= pad; y1 += pad; }
              var sx = scale(x0, x1, d.xLog, L, W - R), sy = scale(y0, y1, d.yLog, H - B, T);
              ticks(y0, y1, d.yLog).forEach(function (v) {
                el("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v), stroke: "#eee" }, svg);
                label(L - 6, sy(v) + 4, "end", 11, fmt(v), svg);
              });
              ticks(x0, x1, d.xLog).forEach(function (v) {
                label(sx(v), H - B + 16, "middle", 11, fmt(v), svg);
              });
              el("rect", { x: L, y: T, width: W - R - L, height: H - B - T, fill: "none", stroke: "#888" }, svg);
              label((L + W - R) / 2, H - 8, "middle", 12, d.xLabel, svg);
              el("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", "font-size": 12,
                           transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, svg).textContent = d.yLabel;
              var clip = "clip-" + Math.random().toString(36).slice(2);
              el("rect", { x: L, y: T, width: W - R - L, height: H - B - T },
                 el("clipPath", { id: clip }, el("defs", {}, svg)));
              var plot = el("g", { "clip-path": "url(#" + clip + ")" }, svg);
              d.series.forEach(function (s, i) {
                if (hidden[i]) return;
                var run = [];
                function flush() {
                  if (run.length > 1) el("polyline", { points: run.join(" "), fill: "none", stroke: s.color,
                    "stroke-width": 1.8, "stroke-dasharray": s.dashed ? "6 4" : "none" }, plot);
                  else if (run.length === 1) {
                    var p = run[0].split(",");
                    el("circle", { cx: p[0], cy: p[1], r: 2.5, fill: s.color }, plot);
                  }
                  run = [];
                }
                s.x.forEach(function (x, j) {
                  var y = s.y[j];
                  var ok = x !== null && y !== null && !(d.yLog && y <= 0) && !(d.xLog && x <= 0);
                  if (!ok) { flush(); return; }
                  if (!inView(s, j)) return;
                  run.push(sx(x).toFixed(2) + "," + sy(y).toFixed(2));
                });
                flush();
              });
              d.series.forEach(function (s, i) {
                var y = T + 6 + 17 * i, x = W - R + 12;
                var g = el("g", { "class": "legend-entry", style: "cursor:pointer", opacity: hidden[i] ? 0.35 : 1 },
                           svg);
                el("line", { x1: x, x2: x + 22, y1: y, y2: y, stroke: s.color, "stroke-width": 3,
                              "stroke-dasharray": s.dashed ? "6 4" : "none" }, g);
                el("text", { x: x + 28, y: y + 4, "font-size": 11 }, g).textContent = s.name;
                el("title", {}, g).textContent = (hidden[i] ? "show " : "hide ") + s.name;
                g.addEventListener("click", function () { hidden[i] = !hidden[i]; draw(); });
              });
              var cursor = el("g", { "class": "chart-tip", "pointer-events": "none" }, svg);
              var area = el("rect", { x: L, y: T, width: W - R - L, height: H - B - T, fill: "transparent",
                                      style: "cursor:crosshair" }, svg);
              var inverse = function (px) {
                var f = (px - L) / (W - R - L);
                if (!d.xLog) return x0 + f * (x1 - x0);
                return Math.pow(10, Math.log10(x0) + f * (Math.log10(x1) - Math.log10(x0)));
              };
              function local(ev) { var r = svg.getBoundingClientRect(); return (ev.clientX - r.left) * W / r.width; }
              var dragFrom = null, band = null;
              area.addEventListener("mousedown", function (ev) {
                dragFrom = local(ev);
                band = el("rect", { x: dragFrom, y: T, width: 0, height: H - B - T, fill: "rgba(0,114,178,.12)" }, svg);
              });
              area.addEventListener("mousemove", function (ev) {
                var px = local(ev);
                if (dragFrom !== null) {
                  band.setAttribute("x", Math.min(px, dragFrom));
                  band.setAttribute("width", Math.abs(px - dragFrom));
                }
                while (cursor.firstChild) cursor.removeChild(cursor.firstChild);
                var x = inverse(px), lines = [];
                d.series.forEach(function (s, i) {
                  if (hidden[i]) return;
                  var best = -1, gap = Infinity;
                  s.x.forEach(function (v, j) {
                    if (v !== null && s.y[j] !== null && Math.abs(v - x) < gap) { gap = Math.abs(v - x); best = j; }
                  });
                  if (best < 0 || (view && (s.x[best] < view[0] || s.x[best] > view[1]))) return;
                  if (d.yLog && s.y[best] <= 0) return;
                  el("circle", { cx: sx(s.x[best]), cy: sy(s.y[best]), r: 4, fill: "none", stroke: s.color,
                                 "stroke-width": 2 }, cursor);
                  lines.push([s.name + ": " + fmt(s.y[best]) + " at " + fmt(s.x[best]), s.color]);
                });
                el("line", { x1: px, x2: px, y1: T, y2: H - B, stroke: "#999", "stroke-dasharray": "3 3" }, cursor);
                // The box stays inside the plot area, clear of the legend to its right.
                var bx = Math.max(L + 2, px + 10 + 220 > W - R ? px - 230 : px + 10);
                el("rect", { x: bx, y: T + 4, width: 220, height: 8 + 15 * lines.length, fill: "#fff", stroke: "#ccc",
                             opacity: 0.94 }, cursor);
                lines.forEach(function (l, k) {
                  el("text", { x: bx + 6, y: T + 18 + 15 * k, "font-size": 11, fill: l[1] }, cursor).textContent = l[0];
                });
              });
              area.addEventListener("mouseleave", function () {
                while (cursor.firstChild) cursor.removeChild(cursor.firstChild);
              });
              area.addEventListener("mouseup", function (ev) {
                var px = local(ev);
                if (dragFrom !== null && Math.abs(px - dragFrom) > 5) {
                  var a = inverse(Math.min(px, dragFrom)), b = inverse(Math.max(px, dragFrom));
                  view = [a, b];
                  draw();
                } else if (band) { band.remove(); }
                dragFrom = null; band = null;
              });
              area.addEventListener("dblclick", function () { view = null; draw(); });
            }
            draw();
            return svg;
          }
          document.querySelectorAll("figure.explorable").forEach(function (fig) {
            var data = fig.querySelector("script.chart-data");
            if (!data) return;
            var d = JSON.parse(data.textContent);
            if (d.kind !== "line") return;
            var img = fig.querySelector("img, svg");
            if (!img) return;
            var target = img.parentNode.tagName === "A" ? img.parentNode : img;
            target.parentNode.replaceChild(line(fig, d), target);
            fig.classList.add("explored");
          });
        })();
        """#
}
