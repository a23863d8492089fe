import Foundation

/// Debian's `fortunes` package (1:1.99.1, BSD packaging): quotations as plain text, `%` between entries.
/// The character task reads its literary and aphoristic collections, about 115,000 characters of real text.
public enum FortuneCorpus {
    /// Where Debian installs the fortune files.
    public static let directory = URL(fileURLWithPath: "/usr/share/games/fortunes")
    /// The collections read, in this order.
    public static let collections = ["literature", "wisdom"]
    /// The corpus as the report names it.
    public static let description =
        "Debian's fortunes package, collections \(collections.joined(separator: " and ")) (quotations, BSD packaging)"

    /// One collection's text as a reader sees it: entries joined by a blank line instead of `%`, overstrike
    /// underlining (`_` backspace `c`) reduced to the character itself, tabs as spaces.
    public static func clean(_ raw: String) -> String {
        var scalars: [Unicode.Scalar] = []
        for s in raw.unicodeScalars {
            if s == "\u{8}" {
                if !scalars.isEmpty { scalars.removeLast() }  // backspace erases the character before it
            } else {
                scalars.append(s == "\t" ? " " : s)
            }
        }
        let text = String(String.UnicodeScalarView(scalars))
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line == "%" ? "" : String(line.reversed().drop { $0 == " " }.reversed()) }
            .joined(separator: "\n")
    }
}

extension DataCache {
    /// The fortune collections as one text, each file recorded in the run's ledger. Installs Debian's `fortunes`
    /// through the cache's fetcher when it is missing and `install` is set.
    public func fortunes(install: Bool = true, directory: URL = FortuneCorpus.directory) throws -> String {
        let files = FortuneCorpus.collections.map { directory.appendingPathComponent($0) }
        let present = { files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) } }
        if !present() && install {
            aptInstall("fortunes")
        }
        guard present() else {
            throw DataError(
                """
                the character corpus is not installed: run `apt-get install fortunes` (as root), or pass \
                --corpus FILE with a text of your own
                """)
        }
        var parts: [String] = []
        for url in files {
            let data = try DataError.contents(of: url)
            try ledger?.record(url)
            guard let raw = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
                throw DataError("\(url.path): not text")
            }
            parts.append(FortuneCorpus.clean(raw))
        }
        return parts.joined(separator: "\n")
    }
}
