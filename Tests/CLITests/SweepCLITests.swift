import Foundation
import TestSupport
import XCTest

/// `rnnlab train --sweep`: 2 hidden sizes x 2 seeds, trained here one after another and as a job array on a
/// one-node Slurm cluster started by the test (skipped, saying why, where Slurm cannot start), with the same
/// weights both ways; `rnnlab compare` groups the seeds.
extension CLITests {
    func sweep(_ out: String, _ extra: [String] = []) throws -> [String] {
        try train(out, ["--epochs", "2", "--sweep", "hidden=4,6", "--sweep", "seed=1..2"] + extra)
    }

    func sweepCheckpoints(_ out: String) throws -> [String: Data] {
        var found: [String: Data] = [:]
        for run in ["hidden-4_seed-1", "hidden-4_seed-2", "hidden-6_seed-1", "hidden-6_seed-2"] {
            found[run] = try Data(contentsOf: checkpoint("\(out)/\(run)", "lstm", 2))
        }
        return found
    }

    func testASweepRunsHereAndComparesItsSeeds() throws {
        let local = try rnnlab(try sweep("local"))
        XCTAssertEqual(local.status, 0, local.output)
        XCTAssertTrue(local.output.contains("[4/4] hidden-6_seed-2"), local.output)
        let weights = try sweepCheckpoints("local")
        XCTAssertNotEqual(weights["hidden-4_seed-1"], weights["hidden-4_seed-2"], "the seed is swept")
        let page = dir.appendingPathComponent("compare.html").path
        let runs = ["hidden-4_seed-1", "hidden-4_seed-2", "hidden-6_seed-1", "hidden-6_seed-2"].map {
            dir.appendingPathComponent("local/\($0)").path
        }
        XCTAssertEqual(try rnnlab(["compare"] + runs + ["--out", page]).status, 0)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.contains("Over seeds (forecast MSE (normalised units)): every setting but the seed"))
        XCTAssertTrue(html.contains("<td>hidden 4</td><td>LSTM</td><td>2</td>"), "two seeds per setting")
        // The same sweep again resumes every run and trains nothing.
        let again = try rnnlab(try sweep("local"))
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try sweepCheckpoints("local"), weights)
        // --jobs-only plans and runs nothing.
        let planned = try rnnlab(try sweep("planned", ["--jobs-only"]))
        XCTAssertTrue(planned.output.contains("4 runs planned"), planned.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint("planned/hidden-4_seed-1", "lstm", 1).path))
    }

    /// A one-node Slurm cluster on this machine, or the test skipped saying why there is none.
    func localSlurm() throws -> LocalSlurm {
        switch LocalSlurm.start() {
        case .success(let cluster): return cluster
        case .failure(let why): throw XCTSkip("no local Slurm cluster: \(why)")
        }
    }

    func testASweepAsASlurmArrayEqualsTheSweepHere() throws {
        let cluster = try localSlurm()
        defer { cluster.stop() }
        XCTAssertEqual(try rnnlab(try sweep("here")).status, 0)
        let submitted = try rnnlab(try sweep("slurm", ["--slurm"]))
        XCTAssertEqual(submitted.status, 0, submitted.output)
        let marker = try XCTUnwrap(submitted.output.range(of: "Slurm job array "), submitted.output)
        let id = String(submitted.output[marker.upperBound...].prefix { $0.isNumber })
        XCTAssertFalse(id.isEmpty, submitted.output)
        XCTAssertTrue(try cluster.waitFor([id], seconds: 120), "the array ended within 2 minutes")
        XCTAssertEqual(try sweepCheckpoints("slurm"), try sweepCheckpoints("here"), "the same weights either way")
    }
}
