import Foundation
import Files
import Archives

/// What a numeric column's empty cells (or NA, NaN, null) become.
public enum MissingValues: String, Codable, CaseIterable, Sendable {
    /// Refuse the column, naming the first missing cell.
    case error
    /// Drop the rows with a missing value (the series closes up around the gap).
    case skip
    /// Fill each gap on the straight line between its neighbours (the nearest value before the first or after
    /// the last known one), as pandas' interpolate(limit_direction="both").
    case interpolate
}

/// RFC 4180 CSV: delimiter-separated fields (a comma by default), double-quoted fields may hold the delimiter,
/// quotes ("") and newlines.
public struct CSVTable {
    /// The column names.
    public let header: [String]
    /// The fields of every row after the header.
    public let rows: [[String]]
    /// Where the data came from, for error messages.
    public let source: String

    /// Parses RFC 4180 CSV; a malformed row is named with its line.
    public init(text: String, source: String, hasHeader: Bool = true, delimiter: Unicode.Scalar = ",") throws {
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
            if c == delimiter {
                row.append(field); field = ""; afterQuote = false
                continue
            }
            switch c {
            case "\"":
                guard field.isEmpty && !afterQuote else {
                    throw DataError("\(source): line \(line): stray quote inside an unquoted field")
                }
                inQuotes = true
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
    public init(contentsOf url: URL, hasHeader: Bool = true, delimiter: Unicode.Scalar = ",") throws {
        try self.init(
            data: try readingArchive { try Decompress.readFile(url) }, source: url.path, hasHeader: hasHeader,
            delimiter: delimiter)
    }

    /// CSV bytes, UTF-8 (or Latin-1 when not valid UTF-8).
    public init(data: Data, source: String, hasHeader: Bool = true, delimiter: Unicode.Scalar = ",") throws {
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw DataError("\(source): not text")
        }
        try self.init(text: text, source: source, hasHeader: hasHeader, delimiter: delimiter)
    }

    /// The index of column `name`; throws naming the columns there are.
    public func column(_ name: String) throws -> Int {
        let found = header.indices.filter { header[$0] == name }
        guard let i = found.first else {
            throw DataError(
                "\(source): no column '\(BoundedText.quote(name))' (columns: "
                    + "\(BoundedText.quote(header.joined(separator: ", "), limit: 200)))"
            )
        }
        guard found.count == 1 else {
            throw DataError(
                "\(source): \(found.count) columns are named '\(BoundedText.quote(name))' (columns "
                    + "\(found.map { String($0 + 1) }.joined(separator: ", "))), so which one is meant cannot be told; "
                    + "rename all but one")
        }
        return i
    }

    /// A numeric column; names the first row that does not parse. Empty cells and NA, NaN, null are missing values,
    /// handled as `missing` says; `missingCount` is how many there were.
    public func numbers(_ name: String, missing: MissingValues = .error) throws -> [Double] {
        try numbersCountingMissing(name, missing: missing).values
    }

    /// The numeric column `name` and how many of its cells were missing.
    public func numbersCountingMissing(_ name: String, missing: MissingValues = .error) throws
        -> (values: [Double], missingCount: Int)
    {
        let r = try numbersWithRows(name, missing: missing)
        return (r.values, r.missingCount)
    }

    /// The numeric column `name`, each value's row as error messages count them (the header is row 1), and how many
    /// cells were missing (skipped ones have no row in the result).
    public func numbersWithRows(_ name: String, missing: MissingValues = .error) throws
        -> (values: [Double], rows: [Int], missingCount: Int)
    {
        let i = try column(name)
        let cells = try rows.enumerated().map { r, row -> Double? in
            let text = row[i].trimmingCharacters(in: .whitespaces)
            if Self.missingMarks.contains(text.lowercased()) {
                guard missing != .error else {
                    throw DataError(
                        """
                        \(source): row \(r + 2), column '\(BoundedText.quote(name))' has no value \
                        ('\(BoundedText.quote(row[i]))'); pass --missing skip or \
                        --missing interpolate to go on
                        """)
                }
                return nil
            }
            guard let v = Self.decimal(text), v.isFinite else {
                throw DataError(
                    "\(source): row \(r + 2), column '\(BoundedText.quote(name))': "
                        + "'\(BoundedText.quote(row[i]))' is not a number"
                )
            }
            return v
        }
        let known = cells.enumerated().compactMap { i, v in v.map { (i, $0) } }
        guard !known.isEmpty || cells.isEmpty else {
            throw DataError("\(source): column '\(BoundedText.quote(name))' has no values, only missing ones")
        }
        let missingCount = cells.count - known.count
        if missing == .skip { return (known.map(\.1), known.map { $0.0 + 2 }, missingCount) }
        return (Self.interpolated(cells, known), cells.indices.map { $0 + 2 }, missingCount)
    }

    /// A number in decimal notation ("-1.5", ".5", "2e-3"), as pandas reads one; nil for anything else Swift's
    /// `Double(_:)` would also take ("0x1p3", "0x10", "infinity"), which in a data file is more likely a mistake.
    static func decimal(_ text: String) -> Double? {
        var digits = 0, seenPoint = false, seenExponent = false, exponentDigits = 0
        var previous: Unicode.Scalar? = nil
        for c in text.unicodeScalars {
            defer { previous = c }
            switch c {
            case "0"..."9": if seenExponent { exponentDigits += 1 } else { digits += 1 }
            case "." where !seenPoint && !seenExponent: seenPoint = true
            case "e" where !seenExponent && digits > 0, "E" where !seenExponent && digits > 0: seenExponent = true
            case "+", "-": guard previous == nil || previous == "e" || previous == "E" else { return nil }
            default: return nil
            }
        }
        guard digits > 0, !seenExponent || exponentDigits > 0 else { return nil }
        return Double(text)
    }

    /// What counts as a missing cell (lower-cased), as pandas' default NA strings do.
    static let missingMarks: Set<String> = ["", "na", "n/a", "nan", "null"]

    /// Gaps filled on the line between the known neighbours, and with the nearest known value at either end.
    static func interpolated(_ cells: [Double?], _ known: [(Int, Double)]) -> [Double] {
        var out = [Double](repeating: 0, count: cells.count), k = 0
        for i in cells.indices {
            if let v = cells[i] { out[i] = v; continue }
            while k + 1 < known.count && known[k + 1].0 < i { k += 1 }
            let before = known[k].0 < i ? known[k] : nil
            let after = known[k].0 > i ? known[k] : (k + 1 < known.count ? known[k + 1] : nil)
            switch (before, after) {
            case let (b?, a?): out[i] = b.1 + (a.1 - b.1) * Double(i - b.0) / Double(a.0 - b.0)
            case let (b?, nil): out[i] = b.1
            case let (nil, a?): out[i] = a.1
            case (nil, nil): out[i] = 0  // not reached: there is a known value
            }
        }
        return out
    }
}
