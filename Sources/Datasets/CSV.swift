import Foundation
import Archives

/// RFC 4180 CSV: comma-separated fields, double-quoted fields may hold commas, quotes ("") and newlines.
public struct CSVTable {
    /// The column names.
    public let header: [String]
    /// The fields of every row after the header.
    public let rows: [[String]]
    /// Where the data came from, for error messages.
    public let source: String

    /// Parses RFC 4180 CSV; a malformed row is named with its line.
    public init(text: String, source: String, hasHeader: Bool = true) throws {
        self.source = source
        var rows: [[String]] = [], row: [String] = [], field = "", inQuotes = false, afterQuote = false
        var line = 1
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? { if let p = pending { pending = nil; return p }; return it.next() }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            inQuotes = false; afterQuote = true; pending = n
                        }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }; field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty && !afterQuote else {
                    throw DataError("\(source): line \(line): stray quote inside an unquoted field")
                }
                inQuotes = true
            case ",": row.append(field); field = ""; afterQuote = false
            case "\r": continue
            case "\n":
                row.append(field); rows.append(row); row = []; field = ""; afterQuote = false; line += 1
            default:
                guard !afterQuote else { throw DataError("\(source): line \(line): text after a closing quote") }
                field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw DataError("\(source): unterminated quoted field at end of file") }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        rows.removeAll { $0 == [""] }
        guard !rows.isEmpty else { throw DataError("\(source): empty CSV file") }
        header = hasHeader ? rows.removeFirst() : []
        let width = hasHeader ? header.count : rows[0].count
        if let bad = rows.firstIndex(where: { $0.count != width }) {
            throw DataError(
                "\(source): row \(bad + (hasHeader ? 2 : 1)) has \(rows[bad].count) fields, expected \(width)")
        }
        self.rows = rows
    }

    /// Reads a CSV file (gzip or bzip2 too).
    public init(contentsOf url: URL, hasHeader: Bool = true) throws {
        try self.init(data: try readingArchive { try Decompress.readFile(url) }, source: url.path, hasHeader: hasHeader)
    }

    /// CSV bytes, UTF-8 (or Latin-1 when not valid UTF-8).
    public init(data: Data, source: String, hasHeader: Bool = true) throws {
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw DataError("\(source): not text")
        }
        try self.init(text: text, source: source, hasHeader: hasHeader)
    }

    /// The index of column `name`; throws naming the columns there are.
    public func column(_ name: String) throws -> Int {
        guard let i = header.firstIndex(of: name) else {
            throw DataError("\(source): no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return i
    }

    /// A numeric column; names the first row that does not parse.
    public func numbers(_ name: String) throws -> [Double] {
        let i = try column(name)
        return try rows.enumerated().map { r, row in
            guard let v = Double(row[i].trimmingCharacters(in: .whitespaces)) else {
                throw DataError("\(source): row \(r + 2), column '\(name)': '\(row[i])' is not a number")
            }
            return v
        }
    }
}
