import Foundation
import XCTest
import TensorCore
import Datasets
import Archives
@testable import Interchange
import Vision
import Files

/// Every parser of outside bytes, fed seeded mutations of the real fixtures: each case parses or throws the
/// parser's own error naming the file; none may trap or read out of bounds (a trap ends this process).
final class ParserFuzzTests: XCTestCase {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    func fixture(_ path: String) throws -> Data { try Data(contentsOf: Self.tests.appendingPathComponent(path)) }

    func testSafetensors() throws {
        let parity = Self.tests.appendingPathComponent("RecurrentTests/Fixtures/parity")
        var files = try FileManager.default.contentsOfDirectory(atPath: parity.path).filter {
            $0.hasSuffix(".safetensors")
        }.sorted()
            .prefix(3).map { try Data(contentsOf: parity.appendingPathComponent($0)) }
        files.append(Self.halfPrecisionFile())
        fuzz("safetensors", fixtures: files, seed: 1, isClear: { $0 is FileFormatError }) { bytes, source in
            let f = try SafetensorsFile(bytes: bytes, source: source)
            for name in f.names { _ = try f.tensor(name, as: Double.self) }
        }
    }

    /// A small safetensors file with F16, BF16 and I64 tensors (the parity fixtures are F32 / F64 only).
    static func halfPrecisionFile() -> Data {
        let header =
            #"{"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]},"#
            + #""c":{"dtype":"I64","shape":[1],"data_offsets":[14,22]},"__metadata__":{"format":"pt"}}"#
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: [
            0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40, 0x00, 0x00, 0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 7, 0, 0, 0, 0, 0, 0, 0
        ])
        return d
    }

    func testTorchCheckpointsZipAndLegacyPickle() throws {
        let files = [
            try fixture("VisionTests/Fixtures/tiny_zip.pth"), try fixture("VisionTests/Fixtures/tiny_legacy.pth")
        ]
        fuzz("pth", fixtures: files, seed: 2, isClear: { $0 is FileFormatError || $0 is ArchiveError }) {
            bytes, source in
            _ = try TorchCheckpoint.load(data: bytes, source: source)
        }
    }

    func testIDX() throws {
        let files = [
            try fixture("DatasetsTests/Fixtures/tiny-images-idx3-ubyte"),
            try fixture("DatasetsTests/Fixtures/tiny-labels-idx1-ubyte")
        ]
        fuzz("idx", fixtures: files, seed: 3, isClear: { $0 is DataError }) { bytes, source in
            _ = try IDXFile(data: bytes, source: source)
        }
    }

    func testCSV() throws {
        let files = [
            try fixture("DatasetsTests/Fixtures/seattle-weather-tiny.csv"),
            try fixture("DatasetsTests/Fixtures/stocks-tiny.csv")
        ]
        fuzz("csv", fixtures: files, seed: 4, isClear: { $0 is DataError }) { bytes, source in
            let t = try CSVTable(data: bytes, source: source)
            if t.header.contains("temp_max") { _ = try t.numbers("temp_max") }
        }
    }

    func testZip() throws {
        fuzz(
            "zip", fixtures: [try fixture("DatasetsTests/Fixtures/tiny.whl")], seed: 5, isClear: { $0 is ArchiveError }
        ) {
            bytes, source in
            let z = try ZipArchive(data: bytes, source: source)
            for e in z.entries { _ = try z.extract(e.name) }
        }
    }

    func testGzip() throws {
        let files = [
            try fixture("DatasetsTests/Fixtures/tiny-images-idx3-ubyte.gz"),
            try fixture("DatasetsTests/Fixtures/mnist_tiny.csv.gz")
        ]
        fuzz("gzip", fixtures: files, seed: 6, isClear: { $0 is ArchiveError }) { bytes, source in
            _ = try Decompress.inflate(bytes, format: .gzip, what: source)
        }
    }

    func testBzip2() throws {
        fuzz(
            "bzip2", fixtures: [try fixture("DatasetsTests/Fixtures/rotten_tiny.csv.bz2")], seed: 7,
            isClear: { $0 is ArchiveError }
        ) { bytes, source in
            _ = try Decompress.bunzip2(bytes, what: source)
        }
    }

    func testPNGAndJPEG() throws {
        let files = [
            try fixture("VisionTests/Fixtures/photo.jpg"), try fixture("VisionTests/Fixtures/photo_resized.png")
        ]
        fuzz("image", fixtures: files, seed: 8, isClear: { $0 is ImageError }) { bytes, source in
            let img = try RGBImage(data: bytes, source: source)
            XCTAssertEqual(img.pixels.count, img.width * img.height * 3)
        }
    }

    /// Hand-made hostile files: each names its defect.
    func testHostileHeadersAreRefusedByName() throws {
        // safetensors: a shape whose element count overflows Int
        let overflow = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#
        var st = Data()
        withUnsafeBytes(of: UInt64(overflow.utf8.count).littleEndian) { st.append(contentsOf: $0) }
        st.append(contentsOf: Array(overflow.utf8))
        XCTAssertThrowsError(try SafetensorsFile(bytes: st, source: "big.safetensors")) {
            XCTAssertTrue("\($0)".contains("impossible shape"), "\($0)")
        }
        // IDX: four dimensions of 2^32 - 1
        let idx = Data([0, 0, 8, 4] + [UInt8](repeating: 0xFF, count: 16))
        XCTAssertThrowsError(try IDXFile(data: idx, source: "big.idx")) {
            XCTAssertTrue("\($0)".contains("too many"), "\($0)")
        }
        // IDX labels outside 0-9
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9]).write(to: dir.appendingPathComponent("images"))
        try Data([0, 0, 8, 1, 0, 0, 0, 1, 200]).write(to: dir.appendingPathComponent("labels"))
        XCTAssertThrowsError(
            try ImageSet(
                idxImages: dir.appendingPathComponent("images"), idxLabels: dir.appendingPathComponent("labels"))
        ) {
            XCTAssertTrue("\($0)".contains("label 200 of image 0 is not a class 0-9"), "\($0)")
        }
    }

    /// The legacy pickle's storage record and tensor view, with negative, huge and overflowing numbers.
    func testLegacyPickleWithHostileNumbers() throws {
        let legacy = [UInt8](try fixture("VisionTests/Fixtures/tiny_legacy.pth"))
        // The storage element counts are the little-endian Int64s right after the keys list; set each to a
        // hostile value in turn.
        let keysEnd = try XCTUnwrap(Self.endOfPickles(legacy, count: 5))
        for value: Int64 in [-1, Int64.max, Int64.max / 2, 1 << 62, Int64.min] {
            var d = legacy
            withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { d[keysEnd + i] = b } }
            XCTAssertThrowsError(try TorchCheckpoint.load(data: Data(d), source: "hostile.pth")) { error in
                XCTAssertTrue(error is FileFormatError, "\(error)")
                XCTAssertTrue("\(error)".contains("hostile.pth"), "\(error)")
            }
        }
    }

    /// The byte offset after the legacy format's `count` header pickles (where the first storage's element
    /// count stands).
    static func endOfPickles(_ d: [UInt8], count: Int) -> Int? {
        var u = Unpickler(data: Data(d), source: "legacy")
        for _ in 0..<count { guard (try? u.load()) != nil else { return nil } }
        return u.position
    }
}
