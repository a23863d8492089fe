import Foundation
import Workbench
import Charts
import Recurrent

/// A small table of an answer's evidence: models (rows) by measures (columns), with intervals and learning states.
package struct AnswerTable: Codable, Sendable, Equatable {
    package var headers: [String]
    package var rows: [[String]]
    package init(headers: [String], rows: [[String]]) { self.headers = headers; self.rows = rows }
}

/// One item of the assignment answered from this run's numbers: one sentence a student can quote, the evidence as a
/// table and one figure shown with it, a few sentences of detail, the comparisons it makes (adjusted together), the
/// numbers behind it by name, further figures, and what limits the answer.
package struct Answer: Codable, Sendable, Equatable {
    package var item: String
    package var question: String
    /// The plain answer, following the learning states and the tests.
    package var summary: String
    /// The detail beyond the table, in a few sentences.
    package var answer: String
    package var table: AnswerTable?
    /// The figure shown inline (a path in the run folder).
    package var figure: String?
    /// The item's comparisons, one family adjusted with Holm's method (nil: it compares nothing).
    package var family: ComparisonFamily?
    package var numbers: [String: Double]
    /// Further figures, linked.
    package var figures: [String]
    package var caveat: String?

    package init(
        item: String, question: String, summary: String, answer: String = "", table: AnswerTable? = nil,
        figure: String? = nil, family: ComparisonFamily? = nil, numbers: [String: Double] = [:],
        figures: [String] = [], caveat: String? = nil
    ) {
        // The plain answer opens a paragraph: its first letter capitalised, whatever clause it begins with.
        self.item = item; self.question = question; self.summary = summary.prefix(1).uppercased() + summary.dropFirst()
        self.answer = answer
        self.table = table; self.figure = figure; self.family = family; self.numbers = numbers
        self.figures = figures; self.caveat = caveat
    }
}

/// The Answers section: every item of the assignment (Q1.1-Q3.5), each computed from an experiment's summary and its
/// verdicts, so a sentence changes when the numbers do.
enum Answers {
    /// Renders the answers as the report's first section: per item the question and its plain answer in one
    /// paragraph, its table beside its figure, and the detail, caveat, family of comparisons and further figures
    /// folded under one line.
    static func section(_ answers: [Answer]) -> [HTMLReport.Block] {
        guard !answers.isEmpty else { return [] }
        return [
            .heading("Answers", level: 2, id: "answers"),
            .html(
                """
                <p>Each item of the assignment, answered from this run's measurements: a sentence to quote, then the \
                evidence. A ranking is claimed only where a comparison holds after Holm's correction over all of the \
                item's comparisons (paired over seeds or over test items); otherwise the models are called \
                indistinguishable, with the size of the difference.</p><details><summary>How a model's learning is \
                judged</summary><p>\(HTMLReport.escape(LearningState.definitions))</p></details>
                """),
            .html(answers.map(html).joined(separator: "\n"))
        ]
    }

    /// One answer as HTML.
    static func html(_ a: Answer) -> String {
        let e = HTMLReport.escape
        func table(_ headers: [String], _ rows: [[String]]) -> String {
            "<table><tr>" + headers.map { "<th>\(e($0))</th>" }.joined() + "</tr>"
                + rows.map { "<tr>" + $0.map { "<td>\(e($0))</td>" }.joined() + "</tr>" }.joined() + "</table>"
        }
        let evidence =
            (a.table.map { table($0.headers, $0.rows) } ?? "")
            + (a.figure.map {
                "<figure><a href=\"\(HTMLReport.attribute($0))\"><img src=\"\(HTMLReport.attribute($0))\" "
                    + "loading=\"lazy\" alt=\"\(HTMLReport.attribute($0))\"></a></figure>"
            } ?? "")
        let links = a.figures.map { "<a href=\"\(HTMLReport.attribute($0))\">\(e(shortName($0)))</a>" }
        let family = a.family.flatMap { f in f.comparisons.isEmpty ? nil : f }
        var folded: [String] = []
        if !a.answer.isEmpty { folded.append("<p>\(e(a.answer))</p>") }
        if let c = a.caveat { folded.append("<p class=\"caveat\"><i>Caveat: \(e(c))</i></p>") }
        if let f = family {
            folded.append("<p>Every comparison (\(e(f.correction))):</p>" + table(ComparisonFamily.headers, f.rows))
        }
        if !links.isEmpty {
            folded.append("<p class=\"links\">More figures: " + links.joined(separator: ", ") + "</p>")
        }
        let what = [
            a.answer.isEmpty ? nil : "detail", a.caveat == nil ? nil : "caveat",
            family.map { "\($0.comparisons.count) comparisons, \($0.held.count) holding" },
            links.isEmpty ? nil : "figures"
        ].compactMap { $0 }
        let more =
            folded.isEmpty
            ? "" : "<details><summary>\(e(what.joined(separator: ", ")))</summary>\(folded.joined())</details>"
        return """
            <section class="answer" id="answer-\(HTMLReport.anchor(a.item))"><p class="quote"><b>\(e(a.item)) \
            \(e(a.question))</b> \(e(a.summary))</p><div class="evidence">\(evidence)</div>\(more)</section>
            """
    }

    /// "mnist_rows/loss.svg": the folder and file, since several tasks have a loss.svg.
    static func shortName(_ path: String) -> String { path.split(separator: "/").suffix(2).joined(separator: "/") }

    /// How many seeds a comparison rests on, as a caveat.
    static func seedCaveat(_ seeds: Int, limit: String = "") -> String? {
        seeds > 1
            ? (limit.isEmpty ? nil : limit)
            : "one seed (--seeds 1): no comparison over seeds is possible; the states are that run's." + limit
    }

    /// The comparisons of one measure among models, as a clause: the pairs that hold after the family's correction
    /// ("GRU lower than RNN (ratio 0.006 [0.004, 0.009], Holm p 0.01)") and those that do not ("indistinguishable").
    static func ranking(_ family: ComparisonFamily, measure: String, better: String) -> String {
        let mine = family.comparisons.filter { $0.measure == measure }
        guard !mine.isEmpty else { return "no comparison over seeds" }
        let held = mine.filter(\.holds).map {
            "\($0.first) \(better) than \($0.second) (\($0.estimateText), Holm p \(fmt($0.adjustedP, 2)))"
        }
        let tied = mine.filter { !$0.holds }.map {
            "\($0.first) and \($0.second) indistinguishable (\($0.estimateText), Holm p \(fmt($0.adjustedP, 2)))"
        }
        return (held + tied).joined(separator: "; ")
    }
}
