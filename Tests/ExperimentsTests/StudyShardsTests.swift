import Foundation
@testable import Workbench
import XCTest
import TestSupport
import Datasets
@testable import Experiments
import Files

/// A study in shards, in one process: the real-data part's shards (a task from each seed) trained one by one, then
/// the merge, equal the study run whole; the merge names the shards that did not finish, and a running shard keeps
/// the study (and a second copy of itself) out.
final class StudyShardsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("shards-\(UUID().uuidString)")
        try Fixtures.seattleDataFolder(in: dir)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The temperature task on the tiny fixture from 2 seeds, with or without --merge.
    func options(merge: Bool = false) -> Study.Options {
        var real = RealDataExperiment.Options(quick: true)
        real.tasks = [.seattleTemperature]; real.forecastEpochs = 3; real.forecastHidden = 4; real.seeds = 2
        var options = Study.Options(
            quick: true, chosen: ["real"], dataDirectory: dir.appendingPathComponent("data"),
            arguments: ["rnnlab", "real"])
        options.set(RealDataExperiment.self, real)
        options.merge = merge
        return options
    }

    func weights(_ run: URL) throws -> [String: Data] {
        let paths = try FileManager.default.subpathsOfDirectory(atPath: run.path).filter {
            $0.hasSuffix(".safetensors") && !$0.hasSuffix(".optimizer.safetensors")
        }
        return try Dictionary(
            uniqueKeysWithValues: paths.map { ($0, try Data(contentsOf: run.appendingPathComponent($0))) })
    }

    func testShardsThenTheMergeEqualTheStudyRunWhole() throws {
        let whole = dir.appendingPathComponent("whole"), sharded = dir.appendingPathComponent("sharded")
        let reference = try Study.run(options(), out: whole)
        let listed = try StudyShards.plan(options(), out: sharded)
        XCTAssertEqual(listed.map(\.shard.name), ["real/seattle_temperature-seed1", "real/seattle_temperature-seed2"])
        XCTAssertEqual(listed.map(\.finished), [false, false])
        XCTAssertGreaterThan(try listed[0].shard.work(DataCache(directory: dir.appendingPathComponent("data"))), 0)

        let first = try StudyShards.run(listed[0].shard.name, out: sharded, options: options())
        XCTAssertTrue(first.hasPrefix("trained in"), first)
        XCTAssertEqual(try StudyShards.run(listed[0].shard.name, out: sharded, options: options()), "already finished")

        // The merge before the second shard has run: refused, naming it and what runs it.
        XCTAssertThrowsError(try Study.run(options(merge: true), out: sharded)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("1 shard(s) did not finish"), text)
            XCTAssertTrue(text.contains("rnnlab shard \(sharded.path) real/seattle_temperature-seed2"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sharded.appendingPathComponent("report.html").path))

        // A running shard keeps the study and a second copy of itself out; the study keeps shards out.
        let held = try ShardLock(folder: sharded, name: listed[1].shard.name, command: "test")
        XCTAssertThrowsError(try Study.run(options(), out: sharded)) { error in
            XCTAssertTrue("\(error)".contains("1 shard(s) of this study are running"), "\(error)")
        }
        XCTAssertThrowsError(try StudyShards.run(listed[1].shard.name, out: sharded, options: options())) { error in
            XCTAssertTrue(
                "\(error)".contains("seattle_temperature-seed2 of \(sharded.path) is running already (host"), "\(error)"
            )
        }
        XCTAssertThrowsError(try Study.render(options(), out: sharded)) { error in
            XCTAssertTrue("\(error)".contains("is in use by a shard of its study (host"), "\(error)")
        }
        held.release()
        do {
            let study = try RunLock(sharded, command: "rnnlab real")
            XCTAssertThrowsError(try ShardLock(folder: sharded, name: listed[1].shard.name, command: "test")) { e in
                XCTAssertTrue("\(e)".contains("in use by the study itself"), "\(e)")
            }
            study.release()
        }

        _ = try StudyShards.run(listed[1].shard.name, out: sharded, options: options())
        let merged = try Study.run(options(merge: true), out: sharded)
        XCTAssertEqual(merged.failures, [])
        XCTAssertEqual(try weights(sharded), try weights(whole), "every weights file byte for byte")
        XCTAssertGreaterThan(try weights(whole).count, 20)
        func timeless(_ o: Study.Outcome) -> [String] { o.findings.map(\.text).filter { !$0.contains("per epoch") } }
        XCTAssertEqual(timeless(merged), timeless(reference))
        XCTAssertEqual(merged.answers.map(\.answer), reference.answers.map(\.answer))
    }
}
