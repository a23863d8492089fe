import Foundation
import Workbench
import XCTest
import ArgumentParser
import TensorCore
import SequenceData
import Recurrent
import Interchange
import Charts
import Experiments

/// A part of the study defined here, in a test target, not in the library: delayed recall. Each cell reads ten
/// random +-1 values and must give, at the last step, the value `delay` steps before it; it trains with a
/// checkpoint every epoch (resumed on a rerun), is judged against the trivial predictor (the training mean), and
/// answers one item. It reaches the study, the manifest, findings.json and the report through registration alone.
enum DelayedRecall: StudyPart {
    struct Options: Codable, Sendable {
        var seed: UInt64 = 7, cells = CellKind.studied
        var delay = 3, steps = 10, hidden = 8, count = 256, epochs = 12
    }
    struct Run: Codable, Sendable {
        var cell: CellKind, history: [EpochRecord], resumedFrom: Int?
    }
    struct Measurements: Codable, Sendable {
        var runs: [Run], baseline: Double, delay: Int
    }
    struct CommandOptions: ParsableArguments {
        @ArgumentParser.Option(help: "Steps back the value to recall lies.") var delay: Int?
    }

    static let name = "recall", abstract = "Delayed recall: give back the value seen k steps ago."

    static func defaults(quick: Bool) -> Options { Options(epochs: quick ? 6 : 12) }
    static func applying(_ shared: StudySettings, to options: Options) -> Options {
        var o = options
        o.seed = shared.seed; o.cells = shared.cells ?? o.cells
        return o
    }
    static func applying(_ command: CommandOptions, to options: Options) throws -> Options {
        var o = options
        o.delay = command.delay ?? o.delay
        return o
    }

    /// x_t in {-1, 1}; the target is x_(T-delay), read at the last step.
    static func data(_ o: Options, seed: UInt64) throws -> TensorSequenceDataset<Float> {
        var rng = SeededRandom(seed: seed)
        let xs = (0..<(o.count * o.steps)).map { _ in Float(rng.uniform(0, 1) < 0.5 ? -1 : 1) }
        let ys = (0..<o.count).map { xs[$0 * o.steps + o.steps - 1 - o.delay] }
        return TensorSequenceDataset(
            inputs: try Tensor(shape: [o.count, o.steps, 1], data: xs),
            targets: .values(try Tensor(shape: [o.count, 1], data: ys)))
    }

    static func measure(_ o: Options, _ context: RunContext) throws -> Measurements {
        let train = try data(o, seed: o.seed), validation = try data(o, seed: o.seed + 1)
        let runs = try o.cells.map { cell -> Run in
            var rng = SeededRandom(seed: o.seed)
            let model = SequenceModel<Float>(
                embedding: nil,
                rnn: RecurrentNetwork(
                    config: RecurrentConfig(cell: cell, inputSize: 1, hiddenSize: o.hidden), rng: &rng),
                head: Linear(inputSize: o.hidden, outputSize: 1, rng: &rng), headMode: .lastStep,
                objective: .meanSquaredError)
            let trainer = Trainer(
                model: model, optimizer: .adam(lr: 0.02),
                options: TrainingOptions(epochs: o.epochs, batchSize: 32, clipNorm: 5, shuffleSeed: o.seed))
            let store = CheckpointStore(directory: context.folder.url("\(name)/\(cell.rawValue)"))
            let resumed = try trainer.resume(from: store)?.epoch
            if !context.trains && trainer.history.count < o.epochs {
                throw RunFolderError("\(name) \(cell.displayName) is not finished")
            }
            trainer.callbacks = [CheckpointCallback(store: store, trainer: trainer, description: "\(cell)")]
            return Run(cell: cell, history: try trainer.fit(train: train, validation: validation), resumedFrom: resumed)
        }
        return Measurements(runs: runs, baseline: 1, delay: o.delay)  // the mean of +-1 is 0: MSE 1
    }

    static func render(_ m: Measurements, _ judgement: PartJudgement, _ folder: RunFolder, _ report: inout HTMLReport)
        throws
    {
        report.section("Delayed recall (k = \(m.delay))")
        try folder.figure(
            LineChart(
                title: "Delayed recall: validation MSE", xLabel: "epoch", yLabel: "MSE",
                series: m.runs.enumerated().map { i, r in
                    LineSeries(
                        name: r.cell.displayName, y: r.history.map { $0.validationLoss ?? .nan },
                        color: Palette.color(i))
                }),
            "\(name)/loss.svg", caption: "Validation MSE per epoch; the trivial predictor's is 1.", into: &report)
        report.list(judgement.findings.map(\.text))
    }

    static func judge(_ m: Measurements) -> PartJudgement {
        let baseline = TrivialBaseline(name: "training mean", validationLoss: m.baseline)
        let states = m.runs.map {
            Judge.learning(task: name, model: $0.cell.displayName, seed: 1, history: $0.history, baseline: baseline)
        }
        let learned = states.filter { $0.state != .didNotLearn }.map(\.model)
        let best = m.runs.map { $0.history.compactMap(\.validationLoss).min() ?? .nan }
        let sentence =
            learned.isEmpty
            ? "No model recalls the value \(m.delay) steps back better than the training mean."
            : "\(learned.joined(separator: ", ")) recall the value \(m.delay) steps back better than the training mean."
        return PartJudgement(
            findings: [
                .headline(
                    sentence,
                    numbers: Dictionary(
                        uniqueKeysWithValues: zip(m.runs.map { "\($0.cell.displayName) best MSE" }, best)))
            ],
            answers: [
                Answer(
                    item: "R1", question: "Which cells recall a value k steps back?", summary: sentence,
                    figure: "\(name)/loss.svg")
            ],
            states: states)
    }
}

final class OutsidePartTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("outside-part-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func options(delay: Int = 3) -> Study.Options {
        var o = Study.Options(
            quick: true, registered: Study.builtIn + [DelayedRecall.self], chosen: ["recall"],
            dataDirectory: dir.appendingPathComponent("data"), arguments: ["test"])
        o.set(DelayedRecall.self, DelayedRecall.Options(delay: delay, epochs: 6))
        return o
    }

    func weights(_ out: URL, _ cell: String) throws -> Data {
        try Data(contentsOf: out.appendingPathComponent("recall/\(cell)/epoch_006.safetensors"))
    }

    func testAPartFromOutsideRunsResumesAndReportsThroughRegistrationAlone() throws {
        let out = dir.appendingPathComponent("run")
        let first = try Study.run(options(), out: out)
        XCTAssertEqual(first.answers.map(\.item), ["R1"])
        XCTAssertEqual(first.findings.count, 1)
        let manifest = try XCTUnwrap(try RunManifest.read(out))
        XCTAssertEqual(try manifest.parts["recall"]?.decoded(DelayedRecall.Options.self).delay, 3)
        XCTAssertEqual(manifest.invocations.last?.parts, ["recall"])
        let saved = try JSONDecoder().decode(
            StudyFindings.self, from: Data(contentsOf: out.appendingPathComponent("findings.json")))
        XCTAssertEqual(saved.answers, first.answers)
        XCTAssertEqual(saved.states.map(\.model), ["RNN", "LSTM", "GRU"], "judged with the study's learning states")
        let html = try String(contentsOf: first.report, encoding: .utf8)
        XCTAssertTrue(html.contains("Delayed recall (k = 3)"))
        XCTAssertTrue(html.contains("Which cells recall a value k steps back?"), "its answer opens the report")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("recall/loss.svg").path))

        // Interrupted after epoch 4: the rerun resumes from it and ends with the same weights.
        let lstm = try weights(out, "lstm")
        for e in [5, 6] {
            try FileManager.default.removeItem(
                at: out.appendingPathComponent(String(format: "recall/lstm/epoch_%03d.safetensors", e)))
        }
        let second = try Study.run(options(), out: out)
        XCTAssertNotNil(second.history.previous, "the rerun continues the run")
        XCTAssertEqual(try weights(out, "lstm"), lstm)
        XCTAssertEqual(second.answers, first.answers)

        // Other settings are refused by the part's field, before anything runs.
        XCTAssertThrowsError(try Study.run(options(delay: 4), out: out)) {
            XCTAssertTrue("\($0)".contains("recall.delay: 3 -> 4"), "\($0)")
        }

        // Its report and figure written again from the run folder, without training.
        try FileManager.default.removeItem(at: out.appendingPathComponent("report.html"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("findings.json"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("recall/loss.svg"))
        let rendered = try Study.render(options(), out: out)
        XCTAssertEqual(rendered.answers, first.answers)
        XCTAssertEqual(rendered.findings, first.findings)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("recall/loss.svg").path))
    }

    /// A part run into a folder that holds another part's run keeps that part in the report and findings, drawn
    /// again from its checkpoints without training; an unfinished one is noted with the command that finishes it,
    /// and is not this command's failure.
    func testAnotherCommandsPartStaysInTheReport() throws {
        let out = dir.appendingPathComponent("run")
        var first = options()
        first.chosen = ["recall"]; first.arguments = ["rnnlab", "recall", "--out", out.path]
        let recall = try Study.run(first, out: out)
        let trained = try weights(out, "lstm")
        var toy = Study.Options(
            quick: true, registered: Study.builtIn + [DelayedRecall.self], chosen: ["toy"],
            dataDirectory: dir.appendingPathComponent("data"), arguments: ["rnnlab", "toy"])
        var tiny = miniatureToy()
        tiny.addingGateInits = false
        toy.set(ToyExperiment.self, tiny)
        let both = try Study.run(toy, out: out)
        XCTAssertEqual(both.failures, [])
        XCTAssertTrue(both.answers.contains { $0.item == "R1" }, "the recall part's answer kept")
        XCTAssertTrue(both.answers.contains { $0.item == "Q1.1" })
        for finding in recall.findings { XCTAssertTrue(both.findings.contains(finding), finding.text) }
        let html = try String(contentsOf: both.report, encoding: .utf8)
        XCTAssertTrue(html.contains("Delayed recall (k = 3)") && html.contains("Experiment 1"))
        XCTAssertEqual(try weights(out, "lstm"), trained, "drawn from its checkpoints")

        // The recall part unfinished (its last epoch gone): noted, with the command that ran it, not a failure.
        try FileManager.default.removeItem(at: out.appendingPathComponent("recall/gru/epoch_006.safetensors"))
        let again = try Study.run(toy, out: out)
        XCTAssertEqual(again.failures, [])
        let note = try String(contentsOf: again.report, encoding: .utf8)
        XCTAssertTrue(note.contains("recorded in this folder by an earlier command, is not drawn"), note)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: out.appendingPathComponent("recall/gru/epoch_006.safetensors").path),
            "nothing of the recall part trained")
    }
}
