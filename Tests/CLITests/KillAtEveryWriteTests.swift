import Foundation
import Interchange
import TestSupport
import XCTest

/// A kill at any write (`RNNLAB_KILL_AT_WRITE`, the fault points of `AtomicFile.write`): the run's first writes of
/// settings, every checkpoint, optimizer state and ledger, and its report, each killed with SIGKILL before and after
/// its rename. The same command then resumes and ends with the weights and optimizer state of an untouched run.
extension CLITests {
    /// The state a run ends with: every checkpoint's bytes, and every optimizer file's tensors (its metadata holds the
    /// history with wall-clock seconds).
    func finalState(_ run: String) throws -> [String: Data] {
        let folder = dir.appendingPathComponent("\(run)/real/train/lstm")
        var state: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasPrefix("epoch_") {
            let url = folder.appendingPathComponent(name)
            if name.hasSuffix(".optimizer.safetensors") {
                let file = try SafetensorsFile(contentsOf: url)
                for tensor in file.names {
                    state["\(name) \(tensor)"] = try Data(
                        file.tensor(tensor, as: Float.self).data.flatMap {
                            withUnsafeBytes(of: $0.bitPattern) { Array($0) }
                        })
                }
            } else {
                state[name] = try Data(contentsOf: url)
            }
        }
        return state
    }

    /// `command` killed at each of its writes in turn, at both phases, into a copy of `start` (nil: an empty
    /// folder); after each kill `check` reads the folder, then the same command reruns and must end in `expected`.
    /// Returns how many writes were killed.
    func killAtEveryWrite(
        _ command: (String) throws -> [String], from start: String?, expected: [String: Data],
        check: (String) throws -> Void = { _ in }
    ) throws -> Int {
        var killed = 0
        for phase in ["temporary", "renamed"] {
            for write in 1... {
                let run = "kill-\(phase)-\(write)"
                if let start {
                    try FileManager.default.copyItem(
                        at: dir.appendingPathComponent(start), to: dir.appendingPathComponent(run))
                }
                let faulted = try ChildProcess.run(
                    Self.binary, try command(run), environment: ["RNNLAB_KILL_AT_WRITE": "\(write):\(phase)"])
                if faulted.status == 0 { break }  // past its last write
                XCTAssertTrue(
                    String(decoding: faulted.output, as: UTF8.self).contains("fault point: killed at write \(write)"))
                killed += 1
                try check(run)
                let rerun = try rnnlab(try command(run))
                XCTAssertEqual(rerun.status, 0, "\(run): \(rerun.output)")
                XCTAssertEqual(try finalState(run), expected, "\(run) resumed to other weights")
                try FileManager.default.removeItem(at: dir.appendingPathComponent(run))
            }
        }
        return killed
    }

    func testAKillAtAnyWriteResumesToTheSameWeights() throws {
        XCTAssertEqual(try rnnlab(try train("reference", ["--epochs", "2"])).status, 0)
        let expected = try finalState("reference")
        XCTAssertEqual(expected.keys.filter { !$0.contains(" ") }.count, 3, "epochs 0, 1 and 2")
        let killed = try killAtEveryWrite({ try self.train($0, ["--epochs", "2"]) }, from: nil, expected: expected)
        XCTAssertGreaterThan(killed, 30, "settings, 3 checkpoints, 2 optimizer states, their ledgers, the report")
    }

    /// An extension (2 to 3 epochs) killed at any write leaves a folder that never reads as a finished run of more
    /// epochs than it has, and resumes to the weights of a run trained to 3 epochs straight.
    func testAKilledExtensionLeavesAConsistentFolder() throws {
        XCTAssertEqual(try rnnlab(try train("three")).status, 0)
        XCTAssertEqual(try rnnlab(try train("two", ["--epochs", "2"])).status, 0)
        try _ = killAtEveryWrite(
            { try self.train($0) }, from: "two", expected: try finalState("three"),
            check: { run in
                let folder = self.dir.appendingPathComponent(run)
                let report = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
                let config =
                    try JSONSerialization.jsonObject(
                        with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any]
                let results =
                    try JSONSerialization.jsonObject(
                        with: Data(contentsOf: folder.appendingPathComponent("results.json"))) as? [String: Any]
                let trained = (results?["models"] as? [[String: Any]])?.first?["history"] as? [Any]
                if config?["epochs"] as? Int == 3 {
                    XCTAssertTrue(
                        report.contains("Training not finished") || trained?.count == 3,
                        "\(run): config.json says 3 epochs beside a report that reads as finished with fewer")
                }
            })
    }
}
