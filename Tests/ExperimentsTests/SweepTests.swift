import Foundation
import XCTest

@testable import Workbench

/// `rnnlab train --sweep`: settings expanded into runs named by their settings, applied by name and type.
final class SweepTests: XCTestCase {
    func testAxesCombineInOrderAndNameTheirRuns() throws {
        let sweep = try Sweep(["hidden=32,64", "seed=1..3", "lr=0.01"])
        XCTAssertEqual(sweep.axes.map(\.key), ["hidden", "seed", "learningRate"], "lr is learningRate")
        let combos = sweep.combinations
        XCTAssertEqual(combos.count, 6)
        XCTAssertEqual(
            combos.map(Sweep.name).prefix(3),
            [
                "hidden-32_seed-1_learningRate-0.01", "hidden-32_seed-2_learningRate-0.01",
                "hidden-32_seed-3_learningRate-0.01"
            ])
        let base = UserTraining.Config(kind: .csv, data: "x.csv")
        var c = base
        c.column = "v"
        let applied = try Sweep.apply(combos[5], to: c)
        XCTAssertEqual(applied.hidden, 64)
        XCTAssertEqual(applied.seed, 3)
        XCTAssertEqual(applied.learningRate, 0.01)
        XCTAssertEqual(try Sweep.apply([("optimizer", "sgd"), ("cells", "gru")], to: c).cells, [.gru])
        for (bad, message) in [
            ("hidden", "--sweep: hidden: no value"), ("hidden=", "write KEY=V1,V2"), ("seed=5..1", "must run upwards"),
            ("hidden=4,4", "empty or repeated")
        ] {
            XCTAssertThrowsError(try Sweep([bad]), bad) {
                XCTAssertTrue("\($0)".contains(message) || "\($0)".contains("write KEY="), "\($0)")
            }
        }
        XCTAssertThrowsError(try Sweep.apply([("depth", "3")], to: c)) {
            XCTAssertTrue("\($0)".contains("no setting 'depth' to sweep (settings: "), "\($0)")
        }
        XCTAssertThrowsError(try Sweep.apply([("hidden", "wide")], to: c)) {
            XCTAssertTrue("\($0)".contains("hidden=wide"), "\($0)")
        }
        XCTAssertThrowsError(try Sweep.apply([("hidden", "0")], to: c)) {
            XCTAssertTrue("\($0)".contains("hidden"), "refused as train refuses it: \($0)")
        }
    }

    /// The plan: every run's config.json, one command per line in jobs.txt, and a Slurm array over them.
    func testThePlanWritesConfigsJobsAndAnArray() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var c = UserTraining.Config(kind: .csv, data: "/data/x.csv")
        c.column = "v"
        let runs = try Sweep(["hidden=8,16", "seed=1..2"]).plan(c, root: root, binary: "/bin/rnnlab", threads: 3)
        XCTAssertEqual(
            runs.map { $0.folder.lastPathComponent },
            [
                "hidden-8_seed-1", "hidden-8_seed-2", "hidden-16_seed-1", "hidden-16_seed-2"
            ])
        let jobs = try String(contentsOf: root.appendingPathComponent("jobs.txt"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(jobs.count, 4)
        XCTAssertEqual(
            String(jobs[2]),
            "/bin/rnnlab train --config \(root.path)/hidden-16_seed-1/config.json --out \(root.path)/hidden-16_seed-1 "
                + "--threads 3")
        let saved = try JSONDecoder().decode(
            UserTraining.Config.self,
            from: Data(contentsOf: root.appendingPathComponent("hidden-16_seed-1/config.json")))
        XCTAssertEqual(saved.hidden, 16)
        XCTAssertEqual(saved.seed, 1)
        let script = try String(contentsOf: root.appendingPathComponent("sweep.sbatch"), encoding: .utf8)
        XCTAssertTrue(script.contains("#SBATCH --array=0-3"))
        XCTAssertTrue(script.contains("#SBATCH --cpus-per-task=3"))
        XCTAssertTrue(script.contains("sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \(root.path)/jobs.txt"))
    }
}
