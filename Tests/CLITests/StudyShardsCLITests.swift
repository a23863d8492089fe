import Foundation
import TestSupport
import XCTest

/// A study in shards under Slurm: `rnnlab toy --quick --seeds 3 --slurm` on a one-node cluster the test starts
/// (skipped, saying why, where Slurm cannot start) gives the checkpoints and findings of the same study in one
/// process; a shard cancelled mid-training makes the merge fail naming it, and submitting again runs only that
/// shard, resumed from its checkpoint.
extension CLITests {
    func toyStudy(_ out: String, _ extra: [String] = []) -> [String] {
        let corpus = Fixtures.dataset("fortunes-literature-head").path
        return [
            "toy", "--quick", "--seeds", "3", "--corpus", corpus, "--threads", "1", "--out",
            dir.appendingPathComponent(out).path
        ] + extra
    }

    /// Every .safetensors file under `run` by its path inside it: the weights files whole, the optimizer files'
    /// tensors (their header's history holds each epoch's seconds).
    func checkpoints(_ run: String) throws -> [String: Data] {
        let root = dir.appendingPathComponent(run)
        let paths = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter {
            $0.hasSuffix(".safetensors")
        }
        return try Dictionary(
            uniqueKeysWithValues: paths.map { path in
                let data = try Data(contentsOf: root.appendingPathComponent(path))
                guard path.hasSuffix(".optimizer.safetensors"), data.count >= 8 else { return (path, data) }
                let header = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                return (path, data.dropFirst(8 + header))
            })
    }

    /// The paths whose files differ between two runs' checkpoints, or are in one only.
    func differing(_ a: [String: Data], _ b: [String: Data]) -> [String] {
        Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
    }

    /// findings.json without what wall-clock time decides: the speed findings, the answers' tables (their
    /// seconds-per-epoch column) and every field of seconds.
    func timelessFindings(_ run: String) throws -> NSDictionary {
        let data = try Data(contentsOf: dir.appendingPathComponent("\(run)/findings.json"))
        func strip(_ value: Any) -> Any? {
            if let d = value as? [String: Any] {
                if let text = d["text"] as? String, text.contains("per epoch") { return nil }
                var kept: [String: Any] = [:]
                for (k, v) in d where !k.lowercased().contains("second") && k != "table" { kept[k] = strip(v) }
                return kept
            }
            if let a = value as? [Any] { return a.compactMap(strip) }
            return value
        }
        return strip(try JSONSerialization.jsonObject(with: data)) as! NSDictionary
    }

    /// Submits `arguments` with `--slurm` (and `environment`); the array's and the merge's job ids.
    func submitStudy(_ arguments: [String], environment: [String: String] = [:]) throws
        -> (array: String?, merge: String)
    {
        let (status, data) = try ChildProcess.run(Self.binary, arguments + ["--slurm"], environment: environment)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(status, 0, text)
        func id(after marker: String) -> String? {
            text.range(of: marker).map { String(text[$0.upperBound...].prefix { $0.isNumber }) }
        }
        return (id(after: "Slurm job array "), try XCTUnwrap(id(after: "the merge as job "), text))
    }

    func testAStudyInShardsUnderSlurmEqualsTheStudyInOneProcess() throws {
        try checkStudyInShards({ self.toyStudy($0) }, minutes: 2)
    }

    /// The whole quick study from 3 seeds, on the data cache's real datasets and
    /// pretrained weights (opt-in: CI has no copy of them).
    func testTheWholeQuickStudyInShardsUnderSlurmEqualsOneProcess() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["RNNLAB_E2E"] == "1" else { throw XCTSkip("set RNNLAB_E2E=1 to run (the whole study's data)") }
        let data = env["RNNLAB_DATA"] ?? FileManager.default.currentDirectoryPath + "/data-cache"
        try checkStudyInShards(
            {
                [
                    "all", "--quick", "--seeds", "3", "--threads", "1", "--data", data, "--out",
                    self.dir.appendingPathComponent($0).path
                ]
            },
            minutes: 10)
    }

    /// `study(OUT)` in one process and in shards under a local Slurm, where the adding task's second seed (shard 6
    /// of jobs.txt: the toy tasks come first, seed by seed) is cancelled mid-training and submitted again.
    func checkStudyInShards(_ study: (String) -> [String], minutes: Double) throws {
        let cluster = try localSlurm()
        defer { cluster.stop() }
        XCTAssertEqual(try rnnlab(study("here")).status, 0)

        // The adding task's second seed stops after its LSTM's first epoch (the test's pause point) and is
        // cancelled there: the merge runs after the array and fails naming it.
        let pause = ["RNNLAB_PAUSE_AT_WRITE": "toy/adding/seed2/lstm/checkpoints.json:2"]
        let first = try submitStudy(study("slurm"), environment: pause)
        let array = try XCTUnwrap(first.array)
        let shards = dir.appendingPathComponent("slurm/shards")
        let task = "\(array)_5"  // jobs.txt: sine, chars, adding for seed 1, then seed 2: adding-seed2 is line 6
        let log = shards.appendingPathComponent("slurm-\(task).out")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8))?.contains("paused") ?? false) {
            usleep(200_000)
        }
        XCTAssertTrue(try String(contentsOf: log, encoding: .utf8).contains("paused after writing"))
        _ = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/scancel"), [task])
        XCTAssertTrue(try cluster.waitFor([array, first.merge], seconds: 60 * minutes), "the array and merge ended")
        let merged = try String(
            contentsOf: shards.appendingPathComponent("slurm-\(first.merge).out"), encoding: .utf8)
        XCTAssertTrue(merged.contains("1 shard(s) did not finish"), merged)
        XCTAssertTrue(merged.contains("toy/adding-seed2"), merged)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("slurm/report.html").path))

        // Submitted again: only that shard runs, resumed from its checkpoint, and the merge writes the report.
        let second = try submitStudy(study("slurm"))
        let again = try XCTUnwrap(second.array)
        XCTAssertTrue(try cluster.waitFor([again, second.merge], seconds: 60 * minutes), "the shard and merge ended")
        let resumed = try String(contentsOf: shards.appendingPathComponent("slurm-\(again)_5.out"), encoding: .utf8)
        XCTAssertTrue(resumed.contains("toy/adding/seed2 LSTM: resuming after epoch 1"), resumed)
        let ran = try FileManager.default.contentsOfDirectory(atPath: shards.path).filter {
            $0.hasPrefix("slurm-\(again)_")
        }
        XCTAssertEqual(ran, ["slurm-\(again)_5.out"], "only the unfinished shard ran again")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("slurm/report.html").path))
        let here = try checkpoints("here")
        XCTAssertGreaterThan(here.count, 400)
        XCTAssertEqual(differing(try checkpoints("slurm"), here), [], "every checkpoint byte for byte")
        XCTAssertEqual(try timelessFindings("slurm"), try timelessFindings("here"))
    }
}
