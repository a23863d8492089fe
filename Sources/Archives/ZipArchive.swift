import Foundation
import Files

/// Reads entries of a zip archive (wheels, torch.save files): the central directory, then each entry's
/// stored or deflated bytes. No zip64, no encryption: neither occurs in the files this project reads.
public struct ZipArchive {
    /// One member of the archive.
    public struct Entry {
        /// The member's path inside the archive.
        public let name: String
        /// The uncompressed size and CRC-32 the central directory records.
        public let size: Int, crc32: UInt32
        let method: UInt16, compressedSize: Int, localHeaderOffset: Int
    }

    /// Where the archive came from, for error messages.
    public let source: String
    let data: Data
    /// Every member, in the central directory's order.
    public private(set) var entries: [Entry] = []

    /// The archive in a file.
    public init(contentsOf url: URL) throws {
        let d: Data
        do { d = try InputFile.contents(of: url) } catch { throw ArchiveError("\(error)") }
        try self.init(data: d, source: url.path)
    }

    /// An archive in memory; `source` names it in errors.
    public init(data: Data, source: String) throws {
        self.data = data; self.source = source
        func u16(_ o: Int) -> Int { Int(data[data.startIndex + o]) | Int(data[data.startIndex + o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
        guard data.count >= 22 else { throw ArchiveError("\(source): not a zip archive (too short)") }
        var eocd = -1
        for o in stride(from: data.count - 22, through: max(0, data.count - 22 - 65535), by: -1)
        where u32(o) == 0x0605_4b50 { eocd = o; break }
        guard eocd >= 0 else { throw ArchiveError("\(source): not a zip archive (no end-of-central-directory record)") }
        let count = u16(eocd + 10), dirOffset = u32(eocd + 16)
        var p = dirOffset
        for _ in 0..<count {
            guard p + 46 <= data.count, u32(p) == 0x0201_4b50 else {
                throw ArchiveError("\(source): corrupt zip central directory")
            }
            let nameLength = u16(p + 28), extra = u16(p + 30), comment = u16(p + 32)
            guard p + 46 + nameLength <= data.count else {
                throw ArchiveError("\(source): corrupt zip central directory")
            }
            let name = String(
                decoding: data[(data.startIndex + p + 46)..<(data.startIndex + p + 46 + nameLength)], as: UTF8.self)
            entries.append(
                Entry(
                    name: name, size: u32(p + 24), crc32: UInt32(u32(p + 16)), method: UInt16(u16(p + 10)),
                    compressedSize: u32(p + 20), localHeaderOffset: u32(p + 42)))
            p += 46 + nameLength + extra + comment
        }
        try checkLayout()
    }

    /// Each entry's bytes within the archive and apart from every other entry's: several directory entries pointing
    /// at one compressed member (a zip bomb: 8 entries, one 1 GB member, 8 GB asked for) are refused before anything
    /// is inflated.
    func checkLayout() throws {
        func u16(_ o: Int) -> Int { Int(data[data.startIndex + o]) | Int(data[data.startIndex + o + 1]) << 8 }
        var spans: [(range: Range<Int>, name: String)] = []
        for e in entries {
            let h = e.localHeaderOffset
            guard h + 30 <= data.count, u16(h) | u16(h + 2) << 16 == 0x0403_4b50 else {
                throw ArchiveError("\(source): corrupt local header for '\(BoundedText.quote(e.name))'")
            }
            let end = h + 30 + u16(h + 26) + u16(h + 28) + e.compressedSize
            guard end <= data.count else {
                throw ArchiveError("\(source): truncated entry '\(BoundedText.quote(e.name))'")
            }
            spans.append((h..<end, e.name))
        }
        spans.sort { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(spans, spans.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw ArchiveError(
                """
                \(source): entries '\(BoundedText.quote(a.name))' and '\(BoundedText.quote(b.name))' share bytes \
                (a zip bomb, or a damaged archive); nothing was extracted
                """)
        }
    }

    /// The most one entry may inflate to: half this machine's memory (an entry declaring more is refused before
    /// inflating).
    static let entryBudget = Int(ProcessInfo.processInfo.physicalMemory / 2)

    /// The member with this path, if any.
    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The bytes of an entry, inflated if deflated, checked against the CRC-32 the archive records.
    public func extract(_ name: String) throws -> Data {
        let bytes = try extractUnchecked(name)
        let e = entry(named: name)!
        guard CRC32.of(bytes) == e.crc32 else {
            throw ArchiveError("\(source): entry '\(name)' does not match its CRC-32 (the archive is damaged)")
        }
        return bytes
    }

    func extractUnchecked(_ name: String) throws -> Data {
        guard let e = entry(named: name) else { throw ArchiveError("\(source): no entry '\(name)' in the archive") }
        func u16(_ o: Int) -> Int { Int(data[data.startIndex + o]) | Int(data[data.startIndex + o + 1]) << 8 }
        let h = e.localHeaderOffset
        guard h + 30 <= data.count, u16(h) | u16(h + 2) << 16 == 0x0403_4b50 else {
            throw ArchiveError("\(source): corrupt local header for '\(name)'")
        }
        let start = h + 30 + u16(h + 26) + u16(h + 28)
        guard start + e.compressedSize <= data.count else { throw ArchiveError("\(source): truncated entry '\(name)'") }
        let raw = data.subdata(in: (data.startIndex + start)..<(data.startIndex + start + e.compressedSize))
        switch e.method {
        case 0: return raw
        case 8:
            guard e.size <= Self.entryBudget else {
                throw ArchiveError(
                    "\(source): entry '\(BoundedText.quote(name))' declares \(e.size) bytes, over half this machine's "
                        + "memory"
                )
            }
            let out = try Decompress.inflate(raw, format: .raw, what: "\(source):\(name)", limit: e.size)
            guard out.count == e.size else {
                throw ArchiveError("\(source): entry '\(name)' inflated to \(out.count) bytes, expected \(e.size)")
            }
            return out
        default: throw ArchiveError("\(source): entry '\(name)' uses unsupported compression method \(e.method)")
        }
    }
}
