import Foundation
import CZlib
import CBzip2
import Files

/// Errors reading compressed or archived bytes: each names the file (or entry) and what is wrong with it.
public struct ArchiveError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with the archive, naming it.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// Decompression through the system's zlib (gzip, zlib and raw deflate streams) and libbz2.
public enum Decompress {
    /// A gzip stream, or raw deflate (as inside zip entries).
    public enum DeflateFormat { case gzip, raw }

    /// Inflates a whole gzip file (all members) or a raw deflate stream (zip entries); more than `limit` bytes out
    /// (what a zip entry declares) is an error as soon as it is reached, not after.
    public static func inflate(_ data: Data, format: DeflateFormat, what: String, limit: Int = .max) throws -> Data {
        var stream = z_stream()
        let windowBits: Int32 = format == .gzip ? 15 + 32 : -15  // +32: detect gzip/zlib header; negative: raw
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError("\(what): zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.baseAddress else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            while true {
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                out.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
                guard out.count <= limit else {
                    throw ArchiveError("\(what): inflates to more than the \(limit) bytes it declares")
                }
                if status == Z_STREAM_END {
                    // gzip files may hold several members back to back
                    if format == .gzip && stream.avail_in > 0 { inflateReset(&stream); continue }
                    return
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw ArchiveError("\(what): truncated compressed data")
                }
                guard status == Z_OK else {
                    throw ArchiveError("\(what): corrupt compressed data (zlib error \(status))")
                }
            }
        }
        return out
    }

    /// The decompressed bytes of bzip2 data; `what` names it in errors.
    public static func bunzip2(_ data: Data, what: String) throws -> Data {
        var stream = bz_stream()
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else {
            throw ArchiveError("\(what): libbz2 could not start")
        }
        defer { BZ2_bzDecompressEnd(&stream) }
        var out = Data()
        let chunk = 1 << 16
        var buffer = [Int8](repeating: 0, count: chunk)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.baseAddress else { throw ArchiveError("\(what): empty file") }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self))
            stream.avail_in = UInt32(input.count)
            while true {
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { b in
                    stream.next_out = b.baseAddress
                    stream.avail_out = UInt32(chunk)
                    return BZ2_bzDecompress(&stream)
                }
                out.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))].map { UInt8(bitPattern: $0) })
                if status == BZ_STREAM_END { return }
                guard status == BZ_OK else {
                    throw ArchiveError("\(what): corrupt bzip2 data (libbz2 error \(status))")
                }
                if stream.avail_in == 0 && stream.avail_out > 0 { throw ArchiveError("\(what): truncated bzip2 data") }
            }
        }
        return out
    }

    /// Reads a file, decompressing by its magic bytes (gzip 1f 8b, bzip2 "BZh"); anything else as is.
    public static func readFile(_ url: URL) throws -> Data {
        let raw: Data
        do { raw = try InputFile.contents(of: url) } catch { throw ArchiveError("\(error)") }
        if raw.starts(with: [0x1F, 0x8B]) { return try inflate(raw, format: .gzip, what: url.path) }
        if raw.starts(with: Array("BZh".utf8)) { return try bunzip2(raw, what: url.path) }
        return raw
    }
}

/// The CRC-32 of zip and gzip, computed by zlib.
public enum CRC32 {
    /// The CRC-32 of `data`.
    public static func of(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { raw -> UInt32 in
            var crc: uLong = 0
            var p = raw.bindMemory(to: Bytef.self).baseAddress, left = raw.count
            while left > 0, let base = p {  // zlib takes a 32-bit length: feed it in 1 GB pieces
                let n = min(left, 1 << 30)
                crc = CZlib.crc32(crc, base, uInt(n))
                p = base + n; left -= n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
