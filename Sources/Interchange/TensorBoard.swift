import Foundation
import TensorBoardProto
import Files

/// Writes TensorBoard event files (events.out.tfevents.*): TFRecord framing (length, masked CRC-32C of the
/// length, the serialized tensorflow.Event, masked CRC-32C of the data) around Event messages built with
/// swift-protobuf (TensorBoardProto, generated from TensorBoard's own descriptors). TensorBoard's reader opens them.
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
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.fileVersion = "brain.Event:2"
        try write(event)
    }

    deinit { try? handle.close() }

    /// Scalar summary (Summary.Value.simple_value).
    public func scalar(_ tag: String, _ value: Double, step: Int, wallTime: Double = Date().timeIntervalSince1970)
        throws
    {
        var v = Tensorboard_Summary.Value()
        v.tag = tag
        v.simpleValue = Float(value)
        try summaryEvent(v, step: step, wallTime: wallTime)
    }

    /// Histogram summary (HistogramProto: min, max, num, sum, sum_squares, bucket_limit, bucket) with `bins`
    /// equal-width buckets (bucket_limit = right edges, the last the largest double, as TensorFlow writes).
    public func histogram(
        _ tag: String, _ values: [Double], step: Int, bins: Int = 30, wallTime: Double = Date().timeIntervalSince1970
    ) throws {
        let v = values.filter(\.isFinite)
        guard let lo = v.min(), let hi = v.max() else { return }
        let width = hi > lo ? (hi - lo) / Double(bins) : 1
        var counts = [Double](repeating: 0, count: bins)
        for x in v { counts[min(Int((x - lo) / width), bins - 1)] += 1 }
        var h = Tensorboard_HistogramProto()
        h.min = lo; h.max = hi; h.num = Double(v.count)
        h.sum = v.reduce(0, +); h.sumSquares = v.reduce(0) { $0 + $1 * $1 }
        h.bucketLimit = (1..<bins).map { lo + Double($0) * width } + [Double.greatestFiniteMagnitude]
        h.bucket = counts
        var value = Tensorboard_Summary.Value()
        value.tag = tag
        value.histo = h
        try summaryEvent(value, step: step, wallTime: wallTime)
    }

    /// Flushes the file to disk.
    public func flush() throws { try handle.synchronize() }

    func summaryEvent(_ value: Tensorboard_Summary.Value, step: Int, wallTime: Double) throws {
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        event.summary.value = [value]
        try write(event)
    }

    func write(_ event: Tensorboard_Event) throws { try write(try event.serializedData()) }

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
