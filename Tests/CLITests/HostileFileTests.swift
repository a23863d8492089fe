import Foundation
import XCTest
import TestSupport
import Interchange
import Archives

/// The files that crashed rnnlab (issue 38), made here by Tests/CLITests/Hostile/make_hostile_files.py with
/// Python's standard library: each now ends in one line of error and exit status 1, in seconds, under a 6 GB
/// address-space cap, instead of a signal.
final class HostileFileTests: XCTestCase {
    static var files: URL?

    override class func setUp() {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Hostile/make_hostile_files.py")
        if let made = try? ChildProcess.python([script.path, dir.path], interpreter: "python3"), made.status == 0 {
            files = dir
        }
    }
    override class func tearDown() { if let files { try? FileManager.default.removeItem(at: files) } }

    func file(_ name: String) throws -> URL {
        guard let files = Self.files else { throw XCTSkip("python3 could not make the hostile files") }
        return files.appendingPathComponent(name)
    }

    /// rnnlab under `ulimit -v` (KB): exit status, output, seconds.
    func capped(_ args: [String], kb: Int = 6_000_000) throws -> (status: Int32, output: String, seconds: Double) {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "rnnlab is not built")
        let quoted = ([CLITests.binary.path] + args).map { "'\($0)'" }.joined(separator: " ")
        let start = Date()
        let (status, out) = try ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", "ulimit -v \(kb); exec \(quoted)"])
        return (status, String(decoding: out, as: UTF8.self), Date().timeIntervalSince(start))
    }

    func assertOneLineError(_ r: (status: Int32, output: String, seconds: Double), _ expected: String) {
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertEqual(r.output.split(separator: "\n").count, 1, r.output)
        XCTAssertTrue(r.output.contains(expected), r.output)
        XCTAssertLessThan(r.seconds, 30, "in seconds")
    }

    /// Pickles nested 60,000 deep (tuples, lists, inside a zip) were released recursively: SIGSEGV.
    func testDeeplyNestedPicklesEndInAnError() throws {
        for (name, expected) in [
            ("nested_tuple.pkl", "no torch.save magic number"), ("nested_list.pkl", "no torch.save magic number"),
            ("nested_zip.pth", "no tensors found")
        ] {
            let r = try capped(["classify", "--backbone", "resnet18", "--weights", try file(name).path, "x.png"])
            assertOneLineError(r, expected)
        }
    }

    /// 1,000 stride-0 views of a one-element storage asked for 64 GB; storages are counted once, views against them.
    func testBroadcastViewsAreRefusedBeforeTheyAreExpanded() throws {
        let url = try file("stride0.pth")
        XCTAssertThrowsError(try TorchCheckpoint.load(data: Data(contentsOf: url), source: "stride0.pth")) {
            XCTAssertTrue("\($0)".contains("over 4 times the 1 of the storages they view"), "\($0)")
        }
        assertOneLineError(
            try capped(["classify", "--backbone", "resnet18", "--weights", url.path, "x.png"]), "no tensors found")
    }

    /// Zip bombs: 8 directory entries on one member are refused before inflating; a 1 GB storage under a name the
    /// network does not read is never inflated.
    func testZipBombsAreRefusedOrNeverInflated() throws {
        XCTAssertThrowsError(try ZipArchive(data: Data(contentsOf: try file("overlap.pth")), source: "overlap.pth")) {
            XCTAssertTrue("\($0)".contains("share bytes (a zip bomb, or a damaged archive)"), "\($0)")
        }
        for name in ["overlap.pth", "zero_storage.pth"] {
            let r = try capped(["classify", "--backbone", "resnet18", "--weights", try file(name).path, "x.png"])
            assertOneLineError(r, name == "overlap.pth" ? "share bytes" : "no tensors found")
            XCTAssertLessThan(r.seconds, 5, "nothing inflated")
        }
    }

    /// A 100 KB field with OSC and CSI escapes: quoted in 80 characters with its length, the escapes shown, not sent.
    func testAnErrorQuotesABoundedCleanPartOfTheField() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try capped([
            "train", "--kind", "csv", "--data", try file("escape.csv").path, "--column", "value",
            "--out", out.path
        ])
        assertOneLineError(r, "'\\u{1B}]0;pwned\\u{7}\\u{1B}[31mAAAA")
        XCTAssertTrue(r.output.contains("... (100015 bytes)"), r.output)
        XCTAssertFalse(r.output.contains("\u{1B}"), "no escape reaches the terminal")
        XCTAssertLessThan(r.output.count, 400)
    }

    /// A text whose training needs more memory than the process may take is refused up front, naming the estimate.
    func testATextTooLargeForMemoryIsRefusedUpFront() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLITests.binary.path), "rnnlab is not built")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("big.txt")
        try Data(repeating: UInt8(ascii: "a"), count: 30_000_000).write(to: text)
        let r = try capped(
            ["train", "--kind", "text", "--data", text.path, "--out", dir.appendingPathComponent("run").path],
            kb: 2_000_000)
        assertOneLineError(
            r, "training on its 30000000 bytes of text needs about 3.0 GB (about 90 bytes per character)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/report.html").path))
    }
}
