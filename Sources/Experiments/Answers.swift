import Foundation
import Charts
import Recurrent

/// One item of the assignment answered from this run's numbers: the question, the answer with its uncertainty, the
/// numbers behind it by name, the figures that show it (paths in the run folder), and what limits the answer.
package struct Answer: Codable, Sendable, Equatable {
    package var item: String
    package var question: String
    package var answer: String
    package var numbers: [String: Double]
    package var figures: [String]
    package var caveat: String?
}

/// The Answers section: every item of the assignment (Q1.1-Q3.5), each computed from an experiment's summary, so a
/// sentence changes when the numbers do.
enum Answers {
    /// Renders the answers as the report's first section, each with links to its figures.
    static func section(_ answers: [Answer]) -> [HTMLReport.Block] {
        guard !answers.isEmpty else { return [] }
        let e = HTMLReport.escape
        let items = answers.map { a -> String in
            // Named by folder and file ("mnist_rows/loss.svg"): several tasks have a loss.svg.
            let links = a.figures.map { path in
                "<a href=\"\(e(path))\">\(e(path.split(separator: "/").suffix(2).joined(separator: "/")))</a>"
            }
            return """
                <li><b>\(e(a.item)) \(e(a.question))</b> \(e(a.answer))\
                \(a.caveat.map { " <i>Caveat: \(e($0))</i>" } ?? "")\
                \(links.isEmpty ? "" : " Figures: " + links.joined(separator: ", ") + ".")</li>
                """
        }
        return [
            .heading("Answers", level: 2, id: "answers"),
            .paragraph(
                """
                Each item of the assignment, answered from this run's measurements. A comparison is stated only where \
                the difference exceeds its uncertainty (paired over seeds, or intervals apart); otherwise the models \
                are called indistinguishable, with the size of the difference.
                """),
            .html("<ul class=\"answers\">" + items.joined() + "</ul>")
        ]
    }

    /// A finding's numbers under a prefix ("sine: "), for an answer that gathers several.
    static func prefixed(_ numbers: [String: Double], _ prefix: String) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: numbers.map { ("\(prefix)\($0.key)", $0.value) })
    }

    /// The seeds' comparison of one measure of a task, or nil with one seed.
    static func overSeeds(
        _ seeds: SeedComparison?, _ measure: String, lowerIsBetter: Bool, what: String, best: String,
        show: @escaping (Double) -> String = { fmt($0, 3) }
    ) -> Finding? {
        seeds?.measures[measure].flatMap {
            OverSeeds.compare($0, lowerIsBetter: lowerIsBetter, what: what, best: best, show: show)
        }
    }

    /// How many seeds a comparison rests on, as a caveat.
    static func seedCaveat(_ seeds: Int, limit: String = "") -> String? {
        seeds > 1
            ? (limit.isEmpty ? nil : limit)
            : "one seed (--seeds 1): the comparisons carry only that run's epoch-to-epoch noise." + limit
    }
}
