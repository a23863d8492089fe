/// One measured statement of a report: its sentence, whether it is a headline of its section (a comparison, a
/// verdict) or a detail, and the numbers it states, by name, so a reader of findings.json need not parse the text.
package struct Finding: Codable, Sendable, Equatable, CustomStringConvertible {
    package enum Rank: String, Codable, Sendable { case headline, detail }
    package var rank: Rank
    package var text: String
    package var numbers: [String: Double]

    package init(_ rank: Rank, _ text: String, numbers: [String: Double] = [:]) {
        self.rank = rank; self.text = text; self.numbers = numbers
    }

    /// A headline states its numbers.
    package static func headline(_ text: String, numbers: [String: Double]) -> Finding {
        Finding(.headline, text, numbers: numbers)
    }
    package static func detail(_ text: String, numbers: [String: Double] = [:]) -> Finding {
        Finding(.detail, text, numbers: numbers)
    }

    package var description: String { text }
}

extension Array where Element == Finding {
    /// A sentence computed in place joins the list as a detail.
    package mutating func append(_ text: String) { append(.detail(text)) }
}
