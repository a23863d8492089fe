import Foundation
import Charts

/// The report's views of `UnitsOverText`: the passage coloured by each model's best unit, a unit picker, and each
/// model's gate saturation, for the study's character models and for `rnnlab train --kind text` runs alike.
extension UnitsOverText {
    /// Writes `units.json` under `prefix` and adds the section's text, coloured passages, picker and figures.
    package static func present(_ units: [ModelUnits], prefix: String, folder: RunFolder, report: inout HTMLReport)
        throws
    {
        try folder.writeJSON(units, to: "\(prefix)units.json")
        report.section("Units over text", level: 4)
        report.paragraph(
            """
            Each trained model's units against features of a held-out passage (position in the line, inside quotes \
            or brackets, inside a word, after a space, line end, digit), over every signal of the top layer (h, the \
            cell state c where there is one, each gate): the unit that correlates best with a feature, against the \
            best unit of the same network untrained (the same search) and a random trained unit; all matches in \
            \(prefix)units.json. The passage, coloured by each model's best unit:
            """)
        report.html(coloured(units))
        report.html(picker(units))
        for m in units where !m.saturation.isEmpty {
            let chart = ScatterChart(
                title: "\(m.model): how often each gate unit saturates",
                xLabel: "share of steps below 0.1 (left-saturated)",
                yLabel: "share of steps above 0.9 (right-saturated)",
                series: m.saturation.map { g in
                    ScatterSeries(name: g.gate, points: zip(g.left, g.right).map { (x: $0, y: $1) })
                })
            try folder.figure(
                chart, "\(prefix)\(m.model.lowercased())_gate_saturation.svg",
                caption:
                    """
                    One point per unit and gate (Karpathy et al. 2015): near the top left the gate is almost always \
                    open, near the bottom right almost always shut, near the origin it varies with the text.
                    """, into: &report)
        }
    }

    /// The passage coloured by the best match's unit (blue negative, red positive, white 0), one block per model.
    static func coloured(_ units: [ModelUnits]) -> String {
        units.compactMap { m -> String? in
            guard let top = Match.top(m.matches), m.activation.count == m.passage.count else { return nil }
            let spans = zip(m.passage, m.activation).map { c, a -> String in
                "<span style=\"background:\(colour(a))\">\(HTMLReport.escape(String(c)))</span>"
            }
            return """
                <p><b>\(HTMLReport.escape(m.model)) \(HTMLReport.escape(top.signal)) unit \(top.unit)</b> (r = \
                \(fmt(top.r, 2)) with "\(HTMLReport.escape(top.feature))"): red where the unit is high, blue where \
                low.</p><pre class="units">\(spans.joined())</pre>
                """
        }.joined()
    }

    /// White at 0, red towards 1, blue towards -1.
    static func colour(_ a: Double) -> String {
        let v = max(-1, min(1, a)), fade = Int(255 * (1 - abs(v)))
        return v >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
    }

    /// A unit picker per model: the first characters of the passage coloured by any h unit the reader chooses
    /// (needs scripting; the data sit beside it as JSON).
    static func picker(_ units: [ModelUnits]) -> String {
        let blocks = units.map { m -> String in
            // One string per Character, as the states are: the script splitting text itself would count code
            // points (a CRLF, a combining mark or an emoji is one Character but two or more code points).
            let chars = m.passage.prefix(min(pickerLength, m.pickerStates.count)).map { String($0) }
            let payload = try? JSONSerialization.data(
                withJSONObject: ["chars": chars, "states": m.pickerStates], options: .sortedKeys)
            let json = HTMLReport.scriptSafe(payload ?? Data())
            let options = (0..<(m.pickerStates.first?.count ?? 0)).map { "<option>\($0)</option>" }.joined()
            return """
                <div class="unit-picker"><label>\(HTMLReport.escape(m.model)) h unit <select>\(options)</select>\
                </label><pre class="units"></pre><script type="application/json">\(json)</script></div>
                """
        }
        return """
            <p>Any unit: choose one to colour the first \(pickerLength) characters by its h (needs scripting).</p>\
            \(blocks.joined())<script>//<![CDATA[
            document.querySelectorAll(".unit-picker").forEach(function (box) {
              var d = JSON.parse(box.querySelector("script").textContent), pre = box.querySelector("pre");
              var select = box.querySelector("select");
              function paint() {
                var u = +select.value;
                pre.textContent = "";
                d.chars.forEach(function (c, t) {
                  var v = Math.max(-1, Math.min(1, d.states[t][u] / 100)), f = Math.round(255 * (1 - Math.abs(v)));
                  var span = document.createElement("span");
                  span.style.background = v >= 0 ? "rgb(255," + f + "," + f + ")" : "rgb(" + f + "," + f + ",255)";
                  span.title = "unit " + u + ": " + (d.states[t][u] / 100).toFixed(2);
                  span.textContent = c;
                  pre.appendChild(span);
                });
              }
              select.addEventListener("change", paint);
              paint();
            });
            //]]></script>
            """
    }
}
