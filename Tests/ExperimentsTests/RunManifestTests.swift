import Foundation
@testable import Workbench
import XCTest
import TestSupport
import Datasets
import Interchange
@testable import Experiments
import Files

/// A run folder remembers its settings; a rerun resumes only what matches, and a failing part never costs
/// the report.
final class RunManifestTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)")
        try Fixtures.seattleDataFolder(in: dir)
    }
    override func tearDownWithError() throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.deletingLastPathComponent().path)) ?? []
        where name.hasPrefix(dir.lastPathComponent) {
            try? FileManager.default.removeItem(at: dir.deletingLastPathComponent().appendingPathComponent(name))
        }
    }

    /// A small Experiment 2 study: the temperature task on the tiny fixture.
    func options(seed: UInt64 = 7, epochs: Int = 2, fresh: Bool = false) -> Study.Options {
        var real = RealDataExperiment.Options(quick: true)
        real.tasks = [.seattleTemperature]; real.forecastEpochs = epochs; real.forecastHidden = 4
        var options = Study.Options(
            quick: true, seed: seed, chosen: ["real"], dataDirectory: dir.appendingPathComponent("data"),
            fresh: fresh, arguments: ["rnnlab", "real", "--seed", String(seed)])
        options.set(RealDataExperiment.self, real)
        return options
    }
    var out: URL { dir.appendingPathComponent("run") }
    func modified(_ name: String) throws -> Date {
        try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(name).path)[.modificationDate]
            as! Date
    }

    func testManifestRecordsSettingsCodeAndDataChecksums() throws {
        _ = try Study.run(options(), out: out)
        let m = try XCTUnwrap(try RunManifest.read(out))
        XCTAssertEqual(m.seed, 7)
        XCTAssertEqual(try m.parts["real"]?.decoded(RealDataExperiment.Options.self).forecastEpochs, 2)
        XCTAssertNil(m.parts["toy"])
        XCTAssertTrue(m.invocations[0].codeVersion.hasPrefix(CodeVersion.release))
        XCTAssertEqual(m.invocations[0].arguments, ["rnnlab", "real", "--seed", "7"])
        let csv = dir.appendingPathComponent("data/seattle-weather.csv").standardizedFileURL.path
        XCTAssertEqual(m.data[csv], Checksum.sha256(try Data(contentsOf: URL(fileURLWithPath: csv))))
    }

    func testOtherSettingsStopBeforeTrainingAndNameTheFields() throws {
        _ = try Study.run(options(), out: out)
        let before = try modified("report.html")
        XCTAssertThrowsError(try Study.run(options(seed: 8, epochs: 3), out: out)) { error in
            let text = "\(error)"
            XCTAssertTrue(error is RunFolderError)
            XCTAssertTrue(text.contains(self.out.path), text)
            XCTAssertTrue(text.contains("seed: 7 -> 8"), text)
            XCTAssertTrue(text.contains("real.forecastEpochs: 2 -> 3"), text)
            XCTAssertTrue(text.contains("--fresh"), text)
        }
        XCTAssertEqual(try modified("report.html"), before, "nothing may be written when the settings differ")
        XCTAssertEqual(
            CheckpointStore(directory: out.appendingPathComponent("real/seattle_temperature/lstm")).savedEpochs(),
            [1, 2])

        // Changed data is a difference too.
        try Data(("date,temp_max\n" + (0..<60).map { "2012-01-\($0),\($0 % 7)\n" }.joined()).utf8)
            .write(to: dir.appendingPathComponent("data/seattle-weather.csv"))
        XCTAssertThrowsError(try Study.run(options(), out: out)) {
            XCTAssertTrue("\($0)".contains("seattle-weather.csv: sha256"), "\($0)")
        }
    }

    func testSameSettingsResumeAndTheReportSaysFromWhichEpoch() throws {
        _ = try Study.run(options(), out: out)
        let second = try Study.run(options(), out: out)
        XCTAssertNotNil(second.history.previous)
        let html = try String(contentsOf: second.report, encoding: .utf8)
        XCTAssertTrue(html.contains("This run continues the run begun"), "the report must say it resumed")
        XCTAssertTrue(
            html.contains("Resumed from this folder&#39;s checkpoints: RNN after epoch 2 (saved ")
                || html.contains("Resumed from this folder's checkpoints: RNN after epoch 2 (saved "))
        let results = try JSONDecoder().decode(
            RealDataExperiment.Summary.self, from: Data(contentsOf: out.appendingPathComponent("real/results.json")))
        XCTAssertEqual(results.tasks[0].models.map(\.resumedFromEpoch), [2, 2, 2])
        XCTAssertEqual(try RunManifest.read(out)?.invocations.count, 2)
    }

    func testFreshMovesTheEarlierRunAsideAndLosesNothing() throws {
        _ = try Study.run(options(), out: out)
        let outcome = try Study.run(options(seed: 8, fresh: true), out: out)
        let moved = try XCTUnwrap(outcome.history.movedTo)
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: moved.appendingPathComponent("real/seattle_temperature/gru/epoch_002.safetensors").path))
        XCTAssertEqual(try RunManifest.read(moved)?.seed, 7)
        XCTAssertEqual(try RunManifest.read(out)?.seed, 8)
        XCTAssertNil(outcome.history.previous)
    }

    func testAFolderOfResultsWithoutManifestIsNotReused() throws {
        try FileManager.default.createDirectory(
            at: out.appendingPathComponent("real"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try Study.run(options(), out: out)) {
            XCTAssertTrue("\($0)".contains("no manifest.json"), "\($0)")
        }
    }

    /// --fresh moves only an rnnlab run: a folder of someone's files, or of results no manifest describes, stays.
    func testFreshLeavesFoldersThatAreNotRunsAlone() throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: out.appendingPathComponent("thesis.tex"))
        XCTAssertThrowsError(try Study.run(options(fresh: true), out: out)) {
            XCTAssertTrue("\($0)".contains("holds no rnnlab run (no manifest.json or config.json)"), "\($0)")
        }
        try FileManager.default.createDirectory(
            at: out.appendingPathComponent("real"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try Study.run(options(fresh: true), out: out))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["real", "thesis.tex"],
            "nothing moved, nothing written")
    }

    /// While one run holds the folder, a second is refused by name before it reads or writes anything.
    func testASecondRunIntoAHeldFolderIsRefused() throws {
        let holder = try RunLock(out, command: "rnnlab real --seed 8")
        XCTAssertThrowsError(try Study.run(options(), out: out)) {
            XCTAssertTrue(
                "\($0)".contains("is in use by another rnnlab run (pid \(getpid()): rnnlab real --seed 8"), "\($0)")
        }
        XCTAssertThrowsError(try Study.run(options(fresh: true), out: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [RunLock.fileName])
        holder.release()
        _ = try Study.run(options(), out: out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(RunLock.fileName).path))
    }

    /// An --out that is a file, or lies under one, ends in one line naming it and the system's reason.
    func testAnOutputFolderThatCannotBeMadeIsNamed() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try Study.run(options(), out: file)) {
            XCTAssertEqual("\($0)", "\(file.path) is a file, not a folder; choose another --out")
        }
        XCTAssertThrowsError(try RunFolder(file.appendingPathComponent("run"))) {
            XCTAssertTrue(
                "\($0)".hasSuffix("run: cannot create the folder (Not a directory); choose another --out"), "\($0)")
        }
        XCTAssertThrowsError(try AtomicFile.write("{}", to: file.appendingPathComponent("sub/x.json"))) {
            XCTAssertTrue("\($0)".contains("sub: cannot create the folder (Not a directory)"), "\($0)")
        }
    }

    func testAFailingTaskIsReportedAndTheReportIsStillWritten() throws {
        _ = try Study.run(options(), out: out)
        // A damaged first epoch leaves nothing intact to resume from: the task is shown as failed, the study still
        // ends in a report.
        try Data("not safetensors".utf8).write(
            to: out.appendingPathComponent("real/seattle_temperature/lstm/epoch_001.safetensors"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("report.html"))
        let outcome = try Study.run(options(), out: out)
        XCTAssertEqual(outcome.failures.count, 1)
        XCTAssertTrue(outcome.failures[0].contains("seattle_temperature"), outcome.failures[0])
        XCTAssertTrue(outcome.failures[0].contains("epoch_001.safetensors is 15 bytes"), outcome.failures[0])
        let html = try String(contentsOf: outcome.report, encoding: .utf8)
        XCTAssertTrue(html.contains("seattle_temperature: failed"))
        XCTAssertTrue(html.contains("rerun it with --fresh"), "the report says the same command would fail again")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("findings.json").path))
    }

    /// findings.json carries the Answers section's entries, typed, with their numbers; the report opens with them.
    func testFindingsCarryTheAnswersAndTheReportOpensWithThem() throws {
        let outcome = try Study.run(options(), out: out)
        let saved = try JSONDecoder().decode(
            StudyFindings.self, from: Data(contentsOf: out.appendingPathComponent("findings.json")))
        XCTAssertEqual(saved.answers.map(\.item), ["Q2.1", "Q2.2", "Q2.3", "Q2.4", "Q2.5"])
        XCTAssertEqual(saved.answers, outcome.answers)
        XCTAssertEqual(saved.findings, outcome.findings)
        XCTAssertEqual(saved.answers[1].numbers["weight files"], 9, "3 models x (initial + 2 epochs)")
        XCTAssertTrue(saved.answers[0].summary.contains("Seattle temperature"), saved.answers[0].summary)
        XCTAssertEqual(saved.answers[0].table?.rows.count, 3)
        XCTAssertEqual(saved.answers[0].figure, "real/seattle_temperature/loss.svg", "no accuracy: the task's loss")
        XCTAssertEqual(saved.states.map(\.model), ["RNN", "LSTM", "GRU"], "a learning state per model")
        let html = try String(contentsOf: outcome.report, encoding: .utf8)
        let answers = try XCTUnwrap(html.range(of: "id=\"answers\"")),
            experiment = try XCTUnwrap(html.range(of: "<h2 id=\"experiment-2"))
        XCTAssertLessThan(answers.lowerBound, experiment.lowerBound)
        XCTAssertTrue(html.contains("<a href=\"real/seattle_temperature/loss.svg\">seattle_temperature/loss.svg</a>"))
    }

    /// `rnnlab report`: a finished run's report, findings and figures written again from the folder, without training;
    /// a model whose checkpoints stop short is refused by name and nothing is trained.
    func testAFinishedRunIsRenderedAgainWithoutTraining() throws {
        let first = try Study.run(options(), out: out)
        let svgs = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".svg") }
            .sorted()
        let svg = try String(contentsOf: out.appendingPathComponent(svgs[0]), encoding: .utf8)
        let weights = try Data(
            contentsOf: out.appendingPathComponent("real/seattle_temperature/gru/epoch_002.safetensors"))
        for name in svgs + ["report.html", "findings.json"] {
            try FileManager.default.removeItem(at: out.appendingPathComponent(name))
        }
        var other = options(seed: 99, epochs: 5)  // the settings come from the folder, not from here
        other.arguments = ["rnnlab", "report", out.path]
        let again = try Study.render(other, out: out)
        XCTAssertEqual(again.answers, first.answers)
        XCTAssertEqual(again.findings, first.findings)
        XCTAssertEqual(
            try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".svg") }.sorted(), svgs
        )
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent(svgs[0]), encoding: .utf8), svg)
        XCTAssertEqual(
            try Data(contentsOf: out.appendingPathComponent("real/seattle_temperature/gru/epoch_002.safetensors")),
            weights, "nothing trained")
        let html = try String(contentsOf: again.report, encoding: .utf8)
        XCTAssertFalse(html.contains("Resumed from this folder"), "the run it renders trained from the start")
        XCTAssertEqual(try RunManifest.read(out)?.invocations.count, 1, "rendering is no run of its own")

        // An unfinished model is refused by name.
        try FileManager.default.removeItem(
            at: out.appendingPathComponent("real/seattle_temperature/gru/epoch_002.safetensors"))
        let partial = try Study.render(other, out: out)
        XCTAssertEqual(partial.failures.count, 1)
        XCTAssertTrue(
            partial.failures[0].contains("seattle_temperature GRU has 1 of its 2 epochs"), partial.failures[0])
        XCTAssertFalse(
            FileManager.default.fileExists(
                atPath: out.appendingPathComponent("real/seattle_temperature/gru/epoch_002.safetensors").path))
    }

    /// A manifest written before parts were keyed by name (format 1) is read: each experiment's settings become
    /// its part's.
    func testAFormatOneManifestIsRead() throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data(
            """
            {"format": 1, "created": "2026-11-01T00:00:00Z", "seed": 7, "quick": true, "data": {},
             "real": {"forecastEpochs": 2, "seed": 7}, "invocations": [{"started": "2026-11-01T00:00:00Z",
             "codeVersion": "0.4.0", "arguments": ["rnnlab", "real"], "threads": 2, "experiments": [2]}]}
            """.utf8
        ).write(to: out.appendingPathComponent(RunManifest.fileName))
        let m = try XCTUnwrap(try RunManifest.read(out))
        XCTAssertEqual(m.parts.keys.sorted(), ["real"])
        XCTAssertEqual(m.parts["real"], .object(["forecastEpochs": .integer(2), "seed": .integer(7)]))
        XCTAssertEqual(m.invocations[0].parts, ["experiment 2"])
    }

    /// Folders and files that are not a command's own are left alone: --fresh does not move a JavaScript project
    /// (its config.json is no training config), compare does not write over a run's config.json, and the gallery
    /// does not write among other files (a home folder).
    func testCommandsLeaveWhatIsNotTheirsAlone() throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data(#"{"name": "web", "scripts": {}}"#.utf8).write(to: out.appendingPathComponent("config.json"))
        XCTAssertFalse(RunManifest.isRunFolder(out))
        XCTAssertThrowsError(try Study.run(options(fresh: true), out: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["config.json"])

        _ = try Study.run(options(), out: dir.appendingPathComponent("study"))
        XCTAssertThrowsError(
            try RunManifest.refuseOverwritingARun(dir.appendingPathComponent("study/manifest.json"))
        ) { XCTAssertTrue("\($0)".contains("is a file of the run in"), "\($0)") }
        XCTAssertNoThrow(try RunManifest.refuseOverwritingARun(dir.appendingPathComponent("study/compare.html")))

        XCTAssertThrowsError(try Gallery.write(to: out)) {
            XCTAssertTrue("\($0)".contains("holds other files (config.json"), "\($0)")
        }
        let gallery = dir.appendingPathComponent("gallery")
        XCTAssertEqual(try Gallery.write(to: gallery).count, 9)
        XCTAssertEqual(try Gallery.write(to: gallery).count, 9, "an earlier gallery is written over")
    }
}
