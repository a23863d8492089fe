import Files
import Foundation
import Workbench
import Interchange
import Recurrent
import XCTest

/// The run folder attacked as an adversary would: two writers, edited checkpoints, thread counts, huge weights,
/// folders that are not runs. Each through the real binary.
extension CLITests {
    func train(_ out: String, _ extra: [String] = []) throws -> [String] {
        let data = try writeTemperatures(700).appendingPathComponent("seattle-weather.csv")
        return [
            "train", "--kind", "csv", "--data", data.path, "--column", "temp_max", "--window", "10", "--hidden", "16",
            "--epochs", "3", "--threads", "1", "--out", dir.appendingPathComponent(out).path
        ] + extra
    }

    func checkpoint(_ run: String, _ cell: String, _ epoch: Int, optimizer: Bool = false) -> URL {
        dir.appendingPathComponent(
            "\(run)/real/train/\(cell)/"
                + String(format: "epoch_%03d%@.safetensors", epoch, optimizer ? ".optimizer" : ""))
    }

    /// A 12-epoch training started into `run` in the background, returned once it holds the folder's lock: held,
    /// not just created (the lock file appears, opened with O_CREAT, a moment before its flock is taken, and the
    /// holder is written after it; a second run started in between could take the lock first). `finish` waits for
    /// it and checks that it ended with the weights of the same training run alone.
    func startHolding(_ run: String) throws -> (pid: Int32, lock: URL, finish: () throws -> Void) {
        let first = try start(try train(run, ["--epochs", "12", "--hidden", "48"]))
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = first.pipe.fileHandleForReading.readDataToEndOfFile(); drained.signal()
        }
        let lock = dir.appendingPathComponent("\(run)/\(RunLock.fileName)")
        let deadline = Date().addingTimeInterval(60)
        while !(((try? String(contentsOf: lock, encoding: .utf8)) ?? "").contains("(since ")) && Date() < deadline {
            usleep(1_000)
        }
        return (
            first.process.processIdentifier, lock,
            {
                first.process.waitUntilExit()
                drained.wait()
                XCTAssertEqual(first.process.terminationStatus, 0)
                let solo = try self.rnnlab(try self.train("solo-\(run)", ["--epochs", "12", "--hidden", "48"]))
                XCTAssertEqual(solo.status, 0, solo.output)
                XCTAssertEqual(
                    try Data(contentsOf: self.checkpoint(run, "lstm", 12)),
                    try Data(contentsOf: self.checkpoint("solo-\(run)", "lstm", 12)))
            }
        )
    }

    /// A second run into a folder another run is writing is refused by name; the first ends as a solo run does.
    func testASecondWriterIsRefusedAndTheFirstEqualsASoloRun() throws {
        let (pid, lock, finish) = try startHolding("shared")
        let second = try rnnlab(try train("shared", ["--epochs", "12", "--hidden", "48", "--seed", "8"]))
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(
            second.output.contains(
                "is in use by another rnnlab run (pid \(pid): rnnlab train"),
            second.output)
        let fresh = try rnnlab(try train("shared", ["--epochs", "12", "--hidden", "48", "--fresh"]))
        XCTAssertTrue(fresh.output.contains("is in use by another rnnlab run"), "--fresh waits for the lock too")
        try finish()
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock.path), "the lock goes with its run")
    }

    /// One byte changed in the newest checkpoint: the rerun says so, goes on from the epoch before, and ends with the
    /// weights an untouched run has.
    func testAnEditedCheckpointIsDetectedAndRetrained() throws {
        XCTAssertEqual(try rnnlab(try train("a")).status, 0)
        let last = checkpoint("a", "lstm", 3), original = try Data(contentsOf: last)
        var edited = original
        edited[edited.count - 3] ^= 0x10
        try edited.write(to: last)
        let rerun = try rnnlab(try train("a"))
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertTrue(rerun.output.contains("passed over"), rerun.output)
        XCTAssertTrue(rerun.output.contains("epoch_003.safetensors does not match the SHA-256"), rerun.output)
        XCTAssertTrue(rerun.output.contains("resuming after epoch 2"), rerun.output)
        XCTAssertEqual(try Data(contentsOf: last), original, "epoch 3 retrained to the same weights")
    }

    /// The same seed gives the same weights on every thread count (slices of odd size included).
    func testEveryThreadCountGivesTheSameWeights() throws {
        var reference: [String: Data] = [:]
        for threads in [1, 2, 3, 5, 7] {
            let run = "threads\(threads)"
            let r = try rnnlab(
                try train(run, ["--hidden", "72", "--batch", "61", "--epochs", "2", "--threads", String(threads)]))
            XCTAssertEqual(r.status, 0, r.output)
            for cell in ["lstm", "gru", "rnn"]
            where FileManager.default.fileExists(atPath: checkpoint(run, cell, 2).path) {
                let weights = try Data(contentsOf: checkpoint(run, cell, 2))
                if let ref = reference[cell] {
                    XCTAssertEqual(weights, ref, "\(cell): \(threads) threads vs 1")
                } else {
                    reference[cell] = weights
                }
            }
        }
        XCTAssertFalse(reference.isEmpty)
    }

    /// A weight of 1e30 (re-recorded in the ledger, so it is taken as written) once trapped the study's histograms:
    /// the run now ends in a report.
    func testAHugeWeightStillGivesAReport() throws {
        XCTAssertEqual(try rnnlab(try train("huge", ["--epochs", "2"])).status, 0)
        let url = checkpoint("huge", "lstm", 2)
        let file = try SafetensorsFile(contentsOf: url)
        var weights = try file.parameterSet(as: Float.self)
        weights.tensors[0].data[0] = 1e30
        let bytes = SafetensorsFile.encode(weights, metadata: file.metadata)
        try bytes.write(to: url)
        let ledgerURL = url.deletingLastPathComponent().appendingPathComponent("checkpoints.json")
        var ledger = try JSONSerialization.jsonObject(with: Data(contentsOf: ledgerURL)) as! [String: Any]
        var files = ledger["files"] as! [String: Any]
        files[url.lastPathComponent] = ["bytes": bytes.count, "sha256": Checksum.sha256(bytes)]
        ledger["files"] = files
        try JSONSerialization.data(withJSONObject: ledger).write(to: ledgerURL)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("huge/report.html"))
        let rerun = try rnnlab(try train("huge", ["--epochs", "2"]))
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("huge/report.html").path))
    }

    /// Folders that are not runs are never moved or written into by --fresh; / is refused; a run that fails before
    /// writing leaves no folder behind.
    func testFoldersThatAreNotRunsAreLeftAlone() throws {
        let plain = dir.appendingPathComponent("documents")
        try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: plain.appendingPathComponent("letter.txt"))
        let fresh = try rnnlab(try train("documents", ["--fresh"]))
        XCTAssertNotEqual(fresh.status, 0)
        XCTAssertTrue(fresh.output.contains("holds no rnnlab run (no manifest.json or config.json)"), fresh.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: plain.path), ["letter.txt"])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("documents") },
            ["documents"])

        let root = try rnnlab(["all", "--quick", "--out", "/"])
        XCTAssertTrue(root.output.contains("/ is the root folder, not a run folder"), root.output)

        let failed = try rnnlab([
            "train", "--kind", "csv", "--data", dir.appendingPathComponent("none.csv").path, "--column", "x",
            "--out", dir.appendingPathComponent("never").path
        ])
        XCTAssertTrue(failed.output.contains("none.csv does not exist"), failed.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path))
    }

    /// A folder, a FIFO, a device file or a symbolic link loop where a file belongs: one line naming it.
    func testWhatIsNotAFileIsNamed() throws {
        let fifo = dir.appendingPathComponent("fifo"), loop = dir.appendingPathComponent("loop")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: loop.path, withDestinationPath: loop.path)
        let cases = [
            (dir.path, "is a folder, not a file"), (fifo.path, "is a named pipe (FIFO), not a file"),
            ("/dev/zero", "is a character device, not a file"), (loop.path, "is a symbolic link loop")
        ]
        for (path, expected) in cases {
            let r = try rnnlab(["classify", "--backbone", "resnet18", "--weights", path, "x.png"])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.output.contains("Error: \(path) \(expected)"), r.output)
        }
    }
}

extension CLITests {
    /// The lock file deleted by hand while a run holds the folder: a second run, --fresh included, is still refused
    /// (the folder itself is locked), and the first ends as a solo run does.
    func testADeletedLockFileLetsNoSecondRunIn() throws {
        let (_, lock, finish) = try startHolding("held")
        try FileManager.default.removeItem(at: lock)
        let fresh = try rnnlab(try train("held", ["--epochs", "12", "--hidden", "48", "--fresh"]))
        XCTAssertNotEqual(fresh.status, 0)
        XCTAssertTrue(
            fresh.output.contains("is in use by another rnnlab run (its .rnnlab.lock was deleted)"), fresh.output)
        try finish()
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("held") }, ["held"],
            "nothing moved aside")
    }
}
