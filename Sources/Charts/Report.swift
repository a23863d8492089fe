import Foundation

/// An HTML report: sections of paragraphs, tables and SVG figures, opening offline in any browser. A figure saved
/// as a file beside the report is shown from that file, loaded lazily (a study's 281 figures inline made a 5 MB
/// page); one without a file is inline.
public struct HTMLReport: Sendable {
    /// One piece of a report, in order.
    public enum Block: Sendable {
        case heading(String, level: Int, id: String)
        case paragraph(String)
        case list([String])
        /// `data`: the chart's JSON for the page's script, which makes it explorable (nil: a picture only).
        case figure(svg: String, caption: String, file: String?, data: String? = nil)
        case figureRow([(svg: String, caption: String, file: String?, data: String?)])
        case table(headers: [String], rows: [[String]], caption: String?)
        case code(String)
        case html(String)
    }

    /// The title.
    public var title: String
    /// The report's content, in order.
    public var blocks: [Block] = []
    /// An empty report with this title.
    public init(title: String) { self.title = title }

    /// Text made safe for HTML.
    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    /// A link anchor made of the text's letters and digits.
    public static func anchor(_ s: String) -> String {
        String(s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    /// Runs `body` on an empty report and appends what it wrote only when it completes, so a part that fails
    /// part-way leaves no half-written section behind.
    public mutating func staged<R>(_ body: (inout HTMLReport) throws -> R) rethrows -> R {
        var part = HTMLReport(title: title)
        let result = try body(&part)
        blocks += part.blocks
        return result
    }

    /// Starts a section (heading level 2-4) with a link anchor.
    public mutating func section(_ title: String, level: Int = 2) {
        blocks.append(.heading(title, level: level, id: Self.anchor(title)))
    }
    /// Adds a paragraph.
    public mutating func paragraph(_ text: String) { blocks.append(.paragraph(text)) }
    /// Adds a bulleted list.
    public mutating func list(_ items: [String]) { blocks.append(.list(items)) }
    /// Adds preformatted text.
    public mutating func code(_ text: String) { blocks.append(.code(text)) }
    /// Raw HTML, for content the builder does not model (already escaped by the caller).
    public mutating func html(_ raw: String) { blocks.append(.html(raw)) }
    /// Adds a table.
    public mutating func table(headers: [String], rows: [[String]], caption: String? = nil) {
        blocks.append(.table(headers: headers, rows: rows, caption: caption))
    }
    /// Renders the chart inline; `file` (relative path of the same SVG saved beside the report) adds a link.
    public mutating func figure(_ chart: Chart, caption: String, file: String? = nil) throws {
        blocks.append(.figure(svg: try chart.svg(), caption: caption, file: file, data: chart.explorableData))
    }
    /// Adds charts side by side, each with its caption and file.
    public mutating func figureRow(_ charts: [(Chart, String, String?)]) throws {
        blocks.append(.figureRow(try charts.map { (try $0.0.svg(), $0.1, $0.2, $0.0.explorableData) }))
    }

    /// `index` numbers the figure in the page: ids inside its SVG get it as a suffix, so the many inline
    /// charts of one report never share an id.
    /// A figure with `data` is explorable: the page's script redraws it from the JSON beside the picture.
    static func figureHTML(_ svg: String, _ caption: String, _ file: String?, data: String? = nil, index: Int)
        -> String
    {
        let open = data == nil ? "<figure>" : "<figure class=\"explorable\">"
        let script = data.map { "<script type=\"application/json\" class=\"chart-data\">\($0)</script>" } ?? ""
        if let file {
            let src = attribute(file)
            let fileLink = data == nil ? "" : " <a class=\"svg-file\" href=\"\(src)\">(SVG file)</a>"
            return """
                \(open)<a href="\(src)"><img src="\(src)" loading="lazy" alt="\(attribute(caption))"\
                \(size(svg))></a>\(script)<figcaption>\(escape(caption))\(fileLink)</figcaption></figure>
                """
        }
        let unique = svg.replacingOccurrences(of: "id=\"arrow\"", with: "id=\"arrow-\(index)\"")
            .replacingOccurrences(of: "url(#arrow)", with: "url(#arrow-\(index))")
        return "\(open)\(unique)\(script)<figcaption>\(escape(caption))</figcaption></figure>"
    }

    /// Text made safe inside a double-quoted HTML attribute.
    public static func attribute(_ s: String) -> String { escape(s).replacingOccurrences(of: "\"", with: "&quot;") }

    /// The SVG's own width and height as img attributes, so the page lays out before the file loads.
    static func size(_ svg: String) -> String {
        func attribute(_ name: String) -> String? {
            guard let r = svg.range(of: " \(name)=\""), let end = svg[r.upperBound...].firstIndex(of: "\"") else {
                return nil
            }
            return String(svg[r.upperBound..<end])
        }
        guard let w = attribute("width"), let h = attribute("height") else { return "" }
        return " width=\"\(w)\" height=\"\(h)\""
    }

    /// The whole report as one self-contained HTML page.
    public func render() -> String {
        var toc: [String] = [], body: [String] = []
        var figures = 0, used: [String: Int] = [:], explorable = false
        func figureHTML(_ svg: String, _ caption: String, _ file: String?, _ data: String?) -> String {
            figures += 1
            explorable = explorable || data != nil
            return Self.figureHTML(svg, caption, file, data: data, index: figures)
        }
        for b in blocks {
            switch b {
            case let .heading(t, level, anchor):
                // Every section and subsection in the contents; a repeated title gets its own anchor.
                used[anchor, default: 0] += 1
                let id = used[anchor]! == 1 ? anchor : "\(anchor)-\(used[anchor]!)"
                toc.append("<li class=\"toc\(level)\"><a href=\"#\(id)\">\(Self.escape(t))</a></li>")
                body.append("<h\(level) id=\"\(id)\">\(Self.escape(t))</h\(level)>")
            case .paragraph(let t): body.append("<p>\(Self.escape(t))</p>")
            case .list(let items): body.append("<ul>" + items.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ul>")
            case .code(let t): body.append("<pre>\(Self.escape(t))</pre>")
            case .html(let h): body.append(h)
            case let .figure(svg, caption, file, data): body.append(figureHTML(svg, caption, file, data))
            case .figureRow(let figs):
                body.append(
                    "<div class=\"row\">" + figs.map { figureHTML($0.svg, $0.caption, $0.file, $0.data) }.joined()
                        + "</div>")
            case let .table(headers, rows, caption):
                var t = "<table>"
                if let caption { t += "<caption>\(Self.escape(caption))</caption>" }
                t += "<tr>" + headers.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>"
                for r in rows { t += "<tr>" + r.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>" }
                body.append(t + "</table>")
            }
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font-family:Helvetica,Arial,sans-serif;max-width:1280px;margin:2em auto;padding:0 1em;color:#222;\
            line-height:1.45}
            h1{border-bottom:2px solid #0072B2;padding-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd}
            figure{display:inline-block;margin:.6em;vertical-align:top;max-width:100%} \
            figure svg,figure img{max-width:100%;height:auto}
            figcaption{font-size:.9em;color:#555;max-width:640px} .row{display:flex;flex-wrap:wrap;gap:.4em}
            .row figure{flex:1 1 380px;max-width:calc(50% - 1.4em);margin:.3em}
            .row figure svg,.row figure img{width:100%}
            table{border-collapse:collapse;margin:1em 0;font-size:.92em} \
            td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
            th{background:#f2f6fa} td:first-child,th:first-child{text-align:left} \
            caption{font-weight:bold;text-align:left;padding:.3em 0}
            pre{background:#f6f6f6;padding:.8em;overflow-x:auto} nav ul{columns:2;list-style:none;padding-left:0}
            .toc2{font-weight:bold;margin-top:.3em} .toc3{margin-left:1.2em;font-size:.92em} \
            .toc4{margin-left:2.4em;font-size:.88em}
            .svg-file{font-size:.85em} @media print{.chart-tip{display:none}}
            .answer{border-top:1px solid #e4e9ee;margin-top:.5em} .quote{margin:.4em 0;color:#123}
            .caveat,.links{font-size:.88em;color:#555}
            .evidence{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start} .evidence table{margin:0}
            .evidence figure{flex:1 1 360px;min-width:300px;max-width:600px;margin:0}
            .evidence img{width:100%;height:auto}
            details{margin:.4em 0;font-size:.9em} summary{cursor:pointer;color:#0072B2}
            table{max-width:100%;overflow-x:auto;display:block}
            @media (max-width:700px){body{padding:0 .5em;margin:1em auto} figure{margin:.6em 0} \
            .row figure{flex-basis:100%;max-width:100%;margin:.3em 0} .evidence figure{min-width:0} nav ul{columns:1}}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <nav><ul>\(toc.joined())</ul></nav>
            \(body.joined(separator: "\n"))
            \(explorable ? "<script>//<![CDATA[\n\(Self.explorableScript)\n//]]></script>" : "")
            </body></html>
            """
    }
}
