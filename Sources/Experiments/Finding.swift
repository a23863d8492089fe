/// One measured statement of a report: its sentence, whether it leads the report ("At a glance") or sits in
/// its section, and the numbers it states, by name, so a reader of findings.json need not parse the text.
public struct Finding: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Rank: String, Codable, Sendable { case headline, detail }
    public var rank: Rank
    public var text: String
    public var numbers: [String: Double]

    public init(_ rank: Rank, _ text: String, numbers: [String: Double] = [:]) {
        self.rank = rank; self.text = text; self.numbers = numbers
    }

    /// A headline states its numbers.
    public static func headline(_ text: String, numbers: [String: Double]) -> Finding {
        Finding(.headline, text, numbers: numbers)
    }
    public static func detail(_ text: String, numbers: [String: Double] = [:]) -> Finding {
        Finding(.detail, text, numbers: numbers)
    }

    public var description: String { text }
}

extension Array where Element == Finding {
    /// A sentence computed in place joins the list as a detail.
    mutating func append(_ text: String) { append(.detail(text)) }
}
