import Foundation

/// A page measured in headless Chromium (Debian's `chromium`): the page is loaded in an iframe of a given width
/// beside a harness whose script measures it after the page's own scripts ran, and writes what it found as JSON into
/// the DOM that Chromium dumps. Nil where Chromium is not installed.
public enum Browser {
    /// The Chromium binary on PATH, if any.
    public static var chromium: URL? {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
                let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        return nil
    }

    /// Loads `page` at `width` CSS pixels and runs `measure`, a JavaScript expression over `d` (the page's document)
    /// and `win` (its window) whose value is returned decoded from JSON.
    public static func measure(_ page: URL, width: Int, measure: String) throws -> Any? {
        guard let chromium else { return nil }
        let harness = page.deletingLastPathComponent().appendingPathComponent(".harness-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: harness) }
        let html = """
            <!DOCTYPE html><html><body><iframe id="f" src="\(page.lastPathComponent)" \
            style="width:\(width)px;height:900px;border:0"></iframe><script>
            document.getElementById("f").addEventListener("load", function () {
              var d = this.contentDocument, win = this.contentWindow;
              setTimeout(function () {
                var out;
                try { out = JSON.stringify(\(measure)); } catch (e) { out = JSON.stringify({ error: String(e) }); }
                var p = document.createElement("pre"); p.id = "probe"; p.textContent = out;
                document.body.appendChild(p);
              }, 300);
            });
            </script></body></html>
            """
        try html.write(to: harness, atomically: true, encoding: .utf8)
        let (_, output) = try ChildProcess.run(
            chromium,
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                "--virtual-time-budget=8000", "--dump-dom", harness.absoluteString
            ], discardErrors: true)
        let dom = String(decoding: output, as: UTF8.self)
        guard let start = dom.range(of: "<pre id=\"probe\">"),
            let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex)
        else {
            throw NSError(
                domain: "Browser", code: 1, userInfo: [NSLocalizedDescriptionKey: "no probe in \(dom.prefix(300))"])
        }
        let text = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
        return try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    }
}
