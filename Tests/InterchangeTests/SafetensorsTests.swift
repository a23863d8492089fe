import Foundation
import XCTest
import TensorCore
import Recurrent
@testable import Interchange
import Files

final class SafetensorsTests: XCTestCase {
    var dir: URL!
    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func sample<T: Real>(_ t: T.Type) -> ParameterSet<T> {
        ParameterSet(
            names: ["rnn.weight_ih_l0", "fc.bias"],
            tensors: [
                try! Tensor(shape: [2, 3], data: [1, -2, 3.5, 4, 5, 6].map { T($0) }),
                try! Tensor(shape: [1], data: [T(0.25)])
            ])
    }

    func testRoundTripF32AndF64WithMetadata() throws {
        let url = dir.appendingPathComponent("w.safetensors")
        try SafetensorsFile.write(sample(Float.self), metadata: ["epoch": "3"], to: url)
        let f = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(f.metadata, ["epoch": "3"])
        XCTAssertEqual(f.entries["fc.bias"]!.dtype, "F32")
        XCTAssertEqual(
            try f.parameterSet(as: Float.self).tensors, [sample(Float.self).tensors[1], sample(Float.self).tensors[0]])
        try SafetensorsFile.write(sample(Double.self), to: url)
        let d = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(d.entries["rnn.weight_ih_l0"]!.dtype, "F64")
        XCTAssertEqual(try d.tensor("rnn.weight_ih_l0", as: Double.self), sample(Double.self).tensors[0])
        // header length is a multiple of 8 (alignment), as the format recommends
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8, 0)
        // no temporary files left behind
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }

    func testReadsThePyTorchFixtureFormat() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("RecurrentTests/Fixtures/parity/lstm_2layer_f32.safetensors")
        let f = try SafetensorsFile(contentsOf: fixture)
        XCTAssertEqual(f.metadata["cell"], "lstm")
        XCTAssertEqual(f.entries["weight_ih_l1"]!.shape, [16, 4])
        XCTAssertEqual(f.entries["weight_ih_l1"]!.dtype, "F32")
    }

    func testMalformedFilesGiveClearErrors() throws {
        let good = SafetensorsFile.encode(sample(Float.self))
        func expect(_ data: Data, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try SafetensorsFile(bytes: data, source: "f.safetensors"), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)", line: line)
            }
        }
        expect(Data([1, 2, 3]), "truncated: 3 bytes")
        expect(good.prefix(20), "truncated: header says")
        expect(good.dropLast(4), "truncated: tensor")
        var header = Data()
        withUnsafeBytes(of: UInt64(5).littleEndian) { header.append(contentsOf: $0) }
        expect(header + Data("{oops".utf8), "not valid JSON")
        func withHeader(_ json: String) -> Data {
            var d = Data(); withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            return d + Data(json.utf8) + Data(count: 16)
        }
        expect(withHeader(#"{"w":{"dtype":"Q8","shape":[2],"data_offsets":[0,2]}}"#), "unsupported dtype Q8")
        expect(
            withHeader(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#),
            "holds 8 bytes, but F32 [3] needs 12")
        expect(withHeader(#"{"w":{"dtype":"F32","shape":[2]}}"#), "malformed header entry")
        let ints = try SafetensorsFile(bytes: withHeader(#"{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#))
        XCTAssertThrowsError(try ints.tensor("n", as: Float.self)) {
            XCTAssertTrue("\($0)".contains("is I64, expected a floating-point tensor"))
        }
        XCTAssertThrowsError(try ints.tensor("missing", as: Float.self)) {
            XCTAssertTrue("\($0)".contains("no tensor named 'missing'"))
        }
    }

    func testWrongParameterNamesOrShapesAreRefusedByName() throws {
        var rng = SeededRandom(seed: 1)
        let config = RecurrentConfig(cell: .gru, inputSize: 2, hiddenSize: 3)
        let net = RecurrentNetwork<Float>(config: config, rng: &rng)
        let url = dir.appendingPathComponent("gru.safetensors")
        try SafetensorsFile.write(net.parameters, to: url)
        let loaded = try RecurrentNetwork(
            config: config, parameters: try SafetensorsFile(contentsOf: url).parameterSet(as: Float.self))
        XCTAssertEqual(loaded.parameters.tensors, net.parameters.tensors)
        let wrong = RecurrentConfig(cell: .gru, inputSize: 2, hiddenSize: 4)
        XCTAssertThrowsError(
            try RecurrentNetwork(
                config: wrong, parameters: try SafetensorsFile(contentsOf: url).parameterSet(as: Float.self))
        ) {
            XCTAssertTrue("\($0)".contains("weight_ih_l0: expected shape [12, 2], got [9, 2]"), "\($0)")
        }
    }

    func testF16AndBF16Decode() {
        XCTAssertEqual(Float16Bits.decode(0x3C00), 1)
        XCTAssertEqual(Float16Bits.decode(0xC000), -2)
        XCTAssertEqual(Float16Bits.decode(0x0001), 0x1p-24)
        XCTAssertTrue(Float16Bits.decode(0x7C00).isInfinite)
    }

    /// BF16 and F16 tensors decode to the floats whose bits they hold (BF16: the upper half of a Float).
    func testBF16AndF16TensorsDecode() throws {
        let values: [Float] = [1, -2, 3.140625, 0.5, -0.0078125, 65280]
        let bf16 = values.map { UInt16($0.bitPattern >> 16) }
        let f16: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x7BFF]  // 1, -2, 2^-24 (subnormal), 65504 (largest)
        let header =
            #"{"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},"#
            + #""h":{"dtype":"F16","shape":[4],"data_offsets":[12,20]}}"#
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        for v in bf16 + f16 { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let f = try SafetensorsFile(bytes: d, source: "half.safetensors")
        let b = try f.tensor("b", as: Float.self)
        XCTAssertEqual(b.shape, [2, 3])
        XCTAssertEqual(b.data, values)
        XCTAssertEqual(try f.tensor("h", as: Double.self).data, [1, -2, 0x1p-24, 65504])
        XCTAssertEqual(try f.parameterSet(as: Float.self).names, ["b", "h"])
    }

    /// A write that fails part-way (the file-size limit stands in for a full disk) leaves the old file whole
    /// and no temporary file behind; a write that succeeds replaces the file by rename, so a reader holding
    /// the old file still reads the old bytes. An in-place write would fail both checks.
    func testAtomicWriteFailureLeavesOldFile() throws {
        let url = dir.appendingPathComponent("keep.bin")
        let old = Data(repeating: 0x61, count: 100)
        try AtomicFile.write(old, to: url)

        var saved = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)  // fail with EFBIG instead of being killed
        var limit = rlimit(rlim_cur: 50, rlim_max: saved.rlim_max)
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
        XCTAssertThrowsError(try AtomicFile.write(Data(repeating: 0x62, count: 4096), to: url)) {
            XCTAssertTrue("\($0)".contains("keep.bin"), "\($0)")
        }
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        XCTAssertEqual(try Data(contentsOf: url), old)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.path), ["keep.bin"], "no temporary file left behind"
        )

        let reader = try FileHandle(forReadingFrom: url)
        defer { try? reader.close() }
        try AtomicFile.write(Data("new".utf8), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data("new".utf8))
        XCTAssertEqual(
            try reader.readToEnd(), old, "the new file must arrive by rename, not by overwriting the old one")
    }
}
