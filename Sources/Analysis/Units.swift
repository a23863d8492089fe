import Foundation
import Statistics

/// Features of a text computed from the text alone, one value per character, to find the hidden units that follow
/// them (Karpathy, Johnson and Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks").
public enum TextFeatures {
    /// The features in a fixed order, each with one value per character of `text`:
    /// - position in line: characters since the last line break (0 at a line's first character);
    /// - inside quotes: 1 between an opening and a closing double quote (the quotes themselves included);
    /// - inside brackets: 1 where ( [ { are open (the brackets themselves included);
    /// - inside a word: 1 on a letter that follows a letter;
    /// - after a space: 1 on the character after a space;
    /// - line end: 1 on the character before a line break;
    /// - digit: 1 on a decimal digit.
    public static func compute(_ text: [Character]) -> [(name: String, values: [Double])] {
        var position: [Double] = [], quotes: [Double] = [], brackets: [Double] = []
        var column = 0.0, inQuote = false, depth = 0
        for c in text {
            position.append(column)
            column = c == "\n" ? 0 : column + 1
            if c == "\"" {
                inQuote.toggle()
                quotes.append(1)
            } else {
                quotes.append(inQuote ? 1 : 0)
            }
            if "([{".contains(c) { depth += 1 }
            brackets.append(depth > 0 ? 1 : 0)
            if ")]}".contains(c) { depth = max(0, depth - 1) }
        }
        let n = text.count
        let word = (0..<n).map { i in i > 0 && text[i].isLetter && text[i - 1].isLetter ? 1.0 : 0 }
        let afterSpace = (0..<n).map { i in i > 0 && text[i - 1] == " " ? 1.0 : 0 }
        let lineEnd = (0..<n).map { i in i + 1 < n && text[i + 1] == "\n" ? 1.0 : 0 }
        let digit = text.map { $0.isASCII && $0.isNumber ? 1.0 : 0 }
        return [
            ("position in line", position), ("inside quotes", quotes), ("inside brackets", brackets),
            ("inside a word", word), ("after a space", afterSpace), ("line end", lineEnd), ("digit", digit)
        ]
    }
}

/// Which hidden unit follows a feature best: Pearson correlation of every unit's activation over time with the
/// feature, the unit of largest |r|.
public enum UnitCorrelation {
    /// Pearson correlation of two equally long series; 0 when either is constant.
    public static func pearson(_ a: [Double], _ b: [Double]) -> Double { Stats.pearson(a, b) }

    /// The correlation of every unit with `feature`; `activations` is [time][unit].
    public static func perUnit(_ activations: [[Double]], _ feature: [Double]) -> [Double] {
        guard let units = activations.first?.count else { return [] }
        return (0..<units).map { u in pearson(activations.map { $0[u] }, feature) }
    }

    /// The unit whose activation correlates most (in absolute value) with `feature`, and that correlation.
    public static func best(_ activations: [[Double]], _ feature: [Double]) -> (unit: Int, r: Double)? {
        let r = perUnit(activations, feature)
        guard let u = r.indices.max(by: { abs(r[$0]) < abs(r[$1]) }) else { return nil }
        return (u, r[u])
    }
}
