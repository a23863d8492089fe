import Foundation

/// Writes TensorBoard event files (events.out.tfevents.*): TFRecord framing (length, masked CRC-32C of the
/// length, serialized tensorflow.Event, masked CRC-32C of the data), with scalar and histogram summaries
/// encoded by hand in protobuf wire format. TensorBoard's own reader opens them.
public final class TensorBoardWriter {
    /// The event file being written.
    public let url: URL
    let handle: FileHandle

    /// Starts an events.out.tfevents file in `directory`.
    public init(directory: URL, wallTime: Double = Date().timeIntervalSince1970) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = directory.appendingPathComponent("events.out.tfevents.\(Int(wallTime)).rnnlab")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw FileFormatError("\(url.path): cannot create")
        }
        handle = try FileHandle(forWritingTo: url)
        var event = Proto()
        event.double(1, wallTime)
        event.bytes(3, Data("brain.Event:2".utf8))  // file_version
        try write(event.data)
    }

    deinit { try? handle.close() }

    /// Scalar summary: Summary.Value{tag = 1, simple_value = 2}.
    public func scalar(_ tag: String, _ value: Double, step: Int, wallTime: Double = Date().timeIntervalSince1970)
        throws
    {
        var v = Proto()
        v.bytes(1, Data(tag.utf8))
        v.float(2, Float(value))
        try summaryEvent(v, step: step, wallTime: wallTime)
    }

    /// Histogram summary: HistogramProto{min, max, num, sum, sum_squares, bucket_limit, bucket} with
    /// `bins` equal-width buckets (bucket_limit = right edges, the last +infinity as TensorFlow writes).
    public func histogram(
        _ tag: String, _ values: [Double], step: Int, bins: Int = 30, wallTime: Double = Date().timeIntervalSince1970
    ) throws {
        let v = values.filter(\.isFinite)
        guard let lo = v.min(), let hi = v.max() else { return }
        let width = hi > lo ? (hi - lo) / Double(bins) : 1
        var counts = [Double](repeating: 0, count: bins)
        for x in v { counts[min(Int((x - lo) / width), bins - 1)] += 1 }
        var limits = (1..<bins).map { lo + Double($0) * width }
        limits.append(Double.greatestFiniteMagnitude)
        var h = Proto()
        h.double(1, lo); h.double(2, hi); h.double(3, Double(v.count))
        h.double(4, v.reduce(0, +)); h.double(5, v.reduce(0) { $0 + $1 * $1 })
        h.packedDoubles(6, limits); h.packedDoubles(7, counts)
        var value = Proto()
        value.bytes(1, Data(tag.utf8))
        value.bytes(5, h.data)
        try summaryEvent(value, step: step, wallTime: wallTime)
    }

    /// Flushes the file to disk.
    public func flush() throws { try handle.synchronize() }

    func summaryEvent(_ value: Proto, step: Int, wallTime: Double) throws {
        var summary = Proto()
        summary.bytes(1, value.data)
        var event = Proto()
        event.double(1, wallTime)
        event.varint(2, UInt64(step))
        event.bytes(5, summary.data)
        try write(event.data)
    }

    func write(_ record: Data) throws {
        var out = Data()
        var len = UInt64(record.count).littleEndian
        let lenBytes = withUnsafeBytes(of: &len) { Data($0) }
        out.append(lenBytes)
        Self.appendLE(&out, CRC32C.masked(lenBytes))
        out.append(record)
        Self.appendLE(&out, CRC32C.masked(record))
        do { try handle.write(contentsOf: out) } catch {
            throw FileFormatError("\(url.path): write failed (\(error.localizedDescription))")
        }
    }

    static func appendLE(_ d: inout Data, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) }
    }
}

/// Protocol-buffer wire format, just what event files need.
struct Proto {
    var data = Data()
    mutating func key(_ field: Int, _ wire: Int) { raw(UInt64(field << 3 | wire)) }
    mutating func raw(_ v: UInt64) {
        var x = v
        while x >= 0x80 { data.append(UInt8(x & 0x7F) | 0x80); x >>= 7 }
        data.append(UInt8(x))
    }
    mutating func varint(_ field: Int, _ v: UInt64) { key(field, 0); raw(v) }
    mutating func double(_ field: Int, _ v: Double) {
        key(field, 1); withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }
    mutating func float(_ field: Int, _ v: Float) {
        key(field, 5); withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }
    mutating func bytes(_ field: Int, _ b: Data) { key(field, 2); raw(UInt64(b.count)); data.append(b) }
    mutating func packedDoubles(_ field: Int, _ v: [Double]) {
        var p = Data()
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { p.append(contentsOf: $0) } }
        bytes(field, p)
    }
}

/// CRC-32C (Castagnoli), and TFRecord's masking: rotate right by 15 and add 0xa282ead8.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }
    static func checksum(_ d: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in d { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
    static func masked(_ d: Data) -> UInt32 {
        let c = checksum(d)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}
