import Foundation
import Archives
import TensorCore

/// The IDX format of MNIST and Fashion-MNIST (plain or .gz): magic 0x00 0x00 <type> <rank>, then rank
/// big-endian UInt32 dimensions, then the data (type 0x08 = unsigned bytes, the only one these files use).
public struct IDXFile {
    /// The dimensions from the header.
    public let shape: [Int]
    /// The data, row-major.
    public let bytes: [UInt8]

    /// Reads an IDX file (gzip too).
    public init(contentsOf url: URL) throws {
        try self.init(data: try readingArchive { try Decompress.readFile(url) }, source: url.path)
    }

    /// Parses IDX bytes; `source` names them in errors.
    public init(data: Data, source: String) throws {
        let d = [UInt8](data)
        guard d.count >= 4, d[0] == 0, d[1] == 0 else {
            throw DataError("\(source): not an IDX file (bad magic number)")
        }
        guard d[2] == 0x08 else {
            throw DataError(
                "\(source): IDX element type 0x\(String(d[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(d[3])
        guard rank >= 1, d.count >= 4 + 4 * rank else { throw DataError("\(source): truncated IDX header") }
        shape = (0..<rank).map { i in (0..<4).reduce(0) { $0 << 8 | Int(d[4 + 4 * i + $1]) } }
        let start = 4 + 4 * rank
        guard let n = elementCount(shape), d.count - start == n else {
            throw DataError(
                """
                \(source): IDX header says \(shape) = \(elementCount(shape).map(String.init) ?? "too many") \
                values but the file holds \(d.count - start)
                """
            )
        }
        bytes = Array(d[start...])
    }
}
