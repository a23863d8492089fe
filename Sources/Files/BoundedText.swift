import Foundation

/// A piece of a user's file as an error message quotes it: at most `limit` characters (then its length), control
/// characters shown as escapes, so a 10 MB field gives one short line and terminal escape sequences (OSC, CSI) in
/// a field are never sent to the terminal.
public enum BoundedText {
    /// `text` with its control characters escaped (`\u{1B}`), cut to `limit` characters and, when cut, its length in
    /// bytes.
    public static func quote(_ text: some StringProtocol, limit: Int = 80) -> String {
        var out = "", shown = 0
        for ch in text {
            guard shown < limit else { return out + "... (\(text.utf8.count) bytes)" }
            shown += 1
            if ch.unicodeScalars.contains(where: isControl) {
                out += ch.unicodeScalars.map { isControl($0) ? escape($0) : String($0) }.joined()
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7F...0x9F).contains(s.value) || (0x202A...0x202E).contains(s.value)
            || (0x2066...0x2069).contains(s.value)
    }

    static func escape(_ s: Unicode.Scalar) -> String {
        switch s {
        case "\n": "\\n"
        case "\t": "\\t"
        case "\r": "\\r"
        default: "\\u{\(String(s.value, radix: 16, uppercase: true))}"
        }
    }

    /// A whole message with its control characters escaped, apart from line breaks and tabs between its sentences.
    public static func clean(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: { isControl($0) && $0 != "\n" && $0 != "\t" }) else {
            return message
        }
        return message.unicodeScalars.map { isControl($0) && $0 != "\n" && $0 != "\t" ? escape($0) : String($0) }
            .joined()
    }
}
