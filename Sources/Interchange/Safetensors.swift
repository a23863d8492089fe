import Foundation
import TensorCore
import Recurrent
import Files

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" string map), then the raw
/// little-endian data. Reads F32, F64, F16, BF16; writes F32 or F64.
public struct SafetensorsFile {
    /// One tensor's header entry.
    public struct Entry: Equatable {
        /// The dtype name ("F32", "BF16", ...).
        public var dtype: String
        /// The tensor's shape.
        public var shape: [Int]
        public var range: Range<Int>  // byte range inside the data section
    }

    /// The header's __metadata__ strings.
    public var metadata: [String: String]
    /// Every tensor's header entry, by name.
    public var entries: [String: Entry]
    let data: Data  // the data section only
    /// Where the bytes came from, for error messages.
    public let source: String

    /// The tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    static func elementSize(_ dtype: String) -> Int? {
        ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4][dtype]
    }

    /// The longest header read (the safetensors library's own limit): a larger length is a damaged file.
    static let maxHeaderLength = 100_000_000

    /// Reads and checks a safetensors file, by its declared sizes: the header first, then exactly the data section
    /// the header describes (a file longer or shorter than that is refused before its data is read).
    public init(contentsOf url: URL) throws {
        let file = try InputFile(url)
        try self.init(size: file.size, source: url.path, read: file.read)
    }

    /// Checks safetensors bytes in memory.
    public init(bytes: Data, source: String = "safetensors data") throws {
        try self.init(size: bytes.count, source: source) { bytes.subdata(in: $0) }
    }

    /// `size` bytes read by range through `read`: the header length, the header, then the data section it
    /// describes, each checked before the next is read.
    init(size: Int, source: String, read: (Range<Int>) throws -> Data) throws {
        self.source = source
        guard size >= 8 else { throw FileFormatError("\(source): truncated: \(size) bytes, no header length") }
        let headerEnd = 8 + (try Self.headerLength(read(0..<8), available: size - 8, source: source))
        (metadata, entries) = try Self.parseHeader(read(8..<headerEnd), dataCount: size - headerEnd, source: source)
        data = try read(headerEnd..<size)
    }

    /// The first 8 bytes: the header's length, at most what follows them and `maxHeaderLength`.
    static func headerLength(_ first8: Data, available: Int, source: String) throws -> Int {
        let length = first8.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(available) else {
            throw FileFormatError("\(source): truncated: header says \(length) bytes but only \(available) follow")
        }
        guard length <= UInt64(maxHeaderLength) else {
            throw FileFormatError("\(source): header of \(length) bytes, more than safetensors allows (100 MB)")
        }
        return Int(length)
    }

    /// The metadata and entries of a JSON header over a data section of `dataCount` bytes, which the tensors must
    /// fill exactly (trailing bytes are refused, as the safetensors library does).
    static func parseHeader(_ bytes: Data, dataCount: Int, source: String) throws -> (
        [String: String], [String: Entry]
    ) {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: bytes) } catch {
            throw FileFormatError("\(source): header is not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw FileFormatError("\(source): header is not a JSON object")
        }
        var entries: [String: Entry] = [:], end = 0
        for (name, value) in header where name != "__metadata__" {
            let e = try entry(name, value, dataCount: dataCount, source: source)
            entries[name] = e
            end = max(end, e.range.upperBound)
        }
        guard end == dataCount else {
            throw FileFormatError(
                "\(source): \(dataCount - end) bytes after the last tensor's data; not a safetensors file as written")
        }
        return ((header["__metadata__"] as? [String: String]) ?? [:], entries)
    }

    /// One tensor's header entry, checked against the data section's size.
    static func entry(_ name: String, _ value: Any, dataCount: Int, source: String) throws -> Entry {
        guard let e = value as? [String: Any], let dtype = e["dtype"] as? String,
            let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int], offsets.count == 2
        else {
            throw FileFormatError("\(source): tensor '\(name)' has a malformed header entry")
        }
        guard let size = Self.elementSize(dtype) else {
            throw FileFormatError("\(source): tensor '\(name)' has unsupported dtype \(dtype)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else {
            throw FileFormatError("\(source): tensor '\(name)' has invalid shape \(shape) or offsets \(offsets)")
        }
        guard offsets[1] <= dataCount else {
            throw FileFormatError(
                "\(source): truncated: tensor '\(name)' ends at byte \(offsets[1]) of a \(dataCount)-byte data section")
        }
        guard let count = elementCount(shape), case (let expected, false) = count.multipliedReportingOverflow(by: size)
        else {
            throw FileFormatError("\(source): tensor '\(name)' has an impossible shape \(shape)")
        }
        guard offsets[1] - offsets[0] == expected else {
            throw FileFormatError(
                "\(source): tensor '\(name)' holds \(offsets[1] - offsets[0]) bytes, but \(dtype) \(shape) needs "
                    + "\(expected)"
            )
        }
        return Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
    }

    /// The tensor `name`, converted to T. Integer tensors are refused (they are not weights).
    public func tensor<T: Real>(_ name: String, as type: T.Type = T.self) throws -> Tensor<T> {
        guard let e = entries[name] else { throw FileFormatError("\(source): no tensor named '\(name)'") }
        guard e.dtype.hasPrefix("F") || e.dtype == "BF16" else {
            throw FileFormatError("\(source): tensor '\(name)' is \(e.dtype), expected a floating-point tensor")
        }
        let n = e.shape.reduce(1, *)
        var out = [T](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + e.range.lowerBound
            switch e.dtype {
            case "F64":
                for i in 0..<n {
                    out[i] = T(
                        Double(
                            bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                        ))
                }
            case "F32":
                for i in 0..<n {
                    out[i] = T(
                        Float(
                            bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                        ))
                }
            case "BF16":
                for i in 0..<n {
                    out[i] = T(
                        Float(
                            bitPattern: UInt32(
                                UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                    )
                }
            case "F16":
                for i in 0..<n {
                    out[i] = T(
                        Float(
                            Float16Bits.decode(
                                UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))))
                }
            default: break
            }
        }
        return try Tensor(shape: e.shape, data: out)
    }

    /// Every floating-point tensor whose name starts with `prefix` (the prefix removed), in name order.
    public func parameterSet<T: Real>(prefix: String = "", as type: T.Type = T.self) throws -> ParameterSet<T> {
        var set = ParameterSet<T>()
        for name in names where name.hasPrefix(prefix) && entries[name]!.dtype != "I64" && entries[name]!.dtype != "I32"
        {
            set.append(String(name.dropFirst(prefix.count)), try tensor(name, as: T.self))
        }
        return set
    }

    /// Encodes named tensors (in the given order, each in its own precision) with string metadata.
    public static func encode<T: Real>(_ tensors: ParameterSet<T>, metadata: [String: String] = [:]) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for (name, t) in zip(tensors.names, tensors.tensors) {
            let start = body.count
            t.data.withUnsafeBytes { body.append(contentsOf: $0) }  // little-endian hosts (x86-64, arm64)
            header[name] =
                ["dtype": T.dtypeName, "shape": t.shape, "data_offsets": [start, body.count]] as [String: Any]
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))  // 8-byte alignment
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        return out
    }

    /// Writes atomically (temp file + rename).
    public static func write<T: Real>(_ tensors: ParameterSet<T>, metadata: [String: String] = [:], to url: URL) throws
    {
        try AtomicFile.write(encode(tensors, metadata: metadata), to: url)
    }
}

/// IEEE half-precision decoding (no Float16 arithmetic type on x86-64 Linux Swift).
enum Float16Bits {
    static func decode(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1F), mant = UInt32(h & 0x3FF)
        if exp == 0 { return (sign != 0 ? -1 : 1) * Float(mant) * 0x1p-24 }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }
}
