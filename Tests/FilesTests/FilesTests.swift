import Files
import Foundation
import XCTest

final class FilesTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    func testSecondLockOnAFolderIsRefusedNamingTheHolder() throws {
        let run = dir.appendingPathComponent("run")
        let first = try RunLock(run, command: "rnnlab real --seed 7")
        let refused = message { _ = try RunLock(run, command: "rnnlab real --seed 8") }
        XCTAssertTrue(
            refused.contains("is in use by another rnnlab run (pid \(getpid()): rnnlab real --seed 7"), refused)
        first.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent(RunLock.fileName).path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "a folder the lock made and left empty goes")
        let again = try RunLock(run, command: "rnnlab real --seed 8")
        XCTAssertTrue(again.notes.isEmpty, "\(again.notes)")
    }

    func testStaleLockOfADeadHolderIsTakenOverWithANote() throws {
        let run = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        // What a run killed with -9 leaves: the lock file with its holder, but no process holding the lock.
        try Data("pid 99999999: rnnlab all".utf8).write(to: run.appendingPathComponent(RunLock.fileName))
        try Data("half".utf8).write(to: run.appendingPathComponent(".report.html.tmp-123-456"))
        try FileManager.default.createDirectory(
            at: run.appendingPathComponent("toy"), withIntermediateDirectories: true)
        try Data("half".utf8).write(to: run.appendingPathComponent("toy/.a.svg.tmp-123-9"))
        try Data("mine".utf8).write(to: run.appendingPathComponent("notes.tmp-1-2"))
        let lock = try RunLock(run, command: "rnnlab all")
        XCTAssertTrue(
            lock.notes.contains { $0.contains("no longer running (pid 99999999: rnnlab all)") }, "\(lock.notes)")
        XCTAssertTrue(lock.notes.contains { $0.contains("removed 2 temporary file(s)") }, "\(lock.notes)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("notes.tmp-1-2").path))
        lock.release()
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.path), "a folder that was there stays")
    }

    func testMoveAsideKeepsTheLockOnTheNewFolder() throws {
        let run = dir.appendingPathComponent("run"), old = dir.appendingPathComponent("run.previous")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: run.appendingPathComponent("manifest.json"))
        let lock = try RunLock(run, command: "rnnlab all --fresh")
        try lock.moveAside(to: old)
        XCTAssertTrue(FileManager.default.fileExists(atPath: old.appendingPathComponent("manifest.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: old.appendingPathComponent(RunLock.fileName).path))
        let refused = message { _ = try RunLock(run, command: "rnnlab all") }
        XCTAssertTrue(refused.contains("is in use"), refused)
    }

    /// A run's sweep of orphaned temporary files leaves a nested run's alone: its folder holds a lock of its own.
    func testTheSweepSparesANestedRunsTemporaries() throws {
        let parent = dir.appendingPathComponent("r"), child = parent.appendingPathComponent("par/child")
        try FileManager.default.createDirectory(at: child, withIntermediateDirectories: true)
        let childLock = try RunLock(child, command: "child")
        let inFlight = child.appendingPathComponent(".checkpoints.json.tmp-123-456")
        let orphan = parent.appendingPathComponent(".report.html.tmp-77-88")
        try Data("x".utf8).write(to: inFlight)
        try Data("y".utf8).write(to: orphan)
        let parentLock = try RunLock(parent, command: "parent")
        XCTAssertTrue(FileManager.default.fileExists(atPath: inFlight.path), "the nested run's file stays")
        XCTAssertFalse(FileManager.default.fileExists(atPath: orphan.path), "the parent's own orphan goes")
        parentLock.release()
        // With the nested run's lock file deleted by hand, its folder's own lock still marks it.
        try FileManager.default.removeItem(at: child.appendingPathComponent(RunLock.fileName))
        let again = try RunLock(parent, command: "parent")
        XCTAssertTrue(FileManager.default.fileExists(atPath: inFlight.path), "still the nested run's")
        again.release(); childLock.release()
    }

    func testRootAndHomeAreNeverRunFolders() {
        XCTAssertTrue(message { _ = try RunLock(URL(fileURLWithPath: "/"), command: "x") }.contains("the root folder"))
        let home = FileManager.default.homeDirectoryForCurrentUser
        XCTAssertTrue(message { _ = try RunLock(home, command: "x") }.contains("your home folder"))
    }

    func testInputFileNamesWhatAPathIsWhenItIsNotAFile() throws {
        let loop = dir.appendingPathComponent("loop")
        try FileManager.default.createSymbolicLink(atPath: loop.path, withDestinationPath: loop.path)
        let fifo = dir.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let cases: [(URL, String)] = [
            (dir, "is a folder, not a file"), (loop, "is a symbolic link loop"),
            (fifo, "is a named pipe (FIFO), not a file"), (URL(fileURLWithPath: "/dev/zero"), "is a character device"),
            (dir.appendingPathComponent("none"), "does not exist")
        ]
        for (url, expected) in cases {
            let said = message { _ = try InputFile.contents(of: url) }
            XCTAssertTrue(said.hasPrefix(url.path) && said.contains(expected), said)
        }
    }

    func testInputFileReadsRangesAndRefusesPastTheLimit() throws {
        let file = dir.appendingPathComponent("f")
        try Data((0..<100).map { UInt8($0) }).write(to: file)
        let f = try InputFile(file)
        XCTAssertEqual(f.size, 100)
        XCTAssertEqual(Array(try f.read(10..<13)), [10, 11, 12])
        XCTAssertTrue(message { _ = try f.read(90..<101) }.contains("truncated"))
        XCTAssertTrue(message { _ = try f.readAll(limit: 99) }.contains("100 bytes, more than the 99 expected"))
        XCTAssertEqual(try InputFile.contents(of: file).count, 100)
    }
}
