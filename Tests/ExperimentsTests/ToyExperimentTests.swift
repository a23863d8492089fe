import Foundation
@testable import Workbench
import XCTest
import Interchange
import TensorCore
import Recurrent
import Charts
@testable import Experiments
import Datasets

final class ToyTaskTests: XCTestCase {
    func testSineTargetsAreTheCleanNextValue() {
        var rng = SeededRandom(seed: 1)
        let s = SineTask(count: 4, steps: 10, noise: 0.1, rng: &rng)
        XCTAssertEqual(s.inputs.shape, [4, 10, 1])
        for n in 0..<4 {
            for t in 0..<9 { XCTAssertEqual(s.targets.data[n * 10 + t], s.clean.data[n * 10 + t + 1], accuracy: 1e-6) }
        }
        let noise = zip(s.inputs.data, s.clean.data).map { Double($0 - $1) }
        XCTAssertGreaterThan(noise.map { abs($0) }.max()!, 0.01)  // inputs are noisy
        XCTAssertEqual(s.slice(1..<3).count, 2)
    }

    func testAddingTargetIsTheSumOfTheTwoMarkedValues() {
        var rng = SeededRandom(seed: 2)
        let task = AddingTask(count: 20, steps: 30, rng: &rng).data
        guard case .values(let y) = task.targets else { return XCTFail("value targets expected") }
        for n in 0..<20 {
            var sum: Float = 0, marks = 0
            for t in 0..<30 where task.inputs.data[(n * 30 + t) * 2 + 1] == 1 {
                sum += task.inputs.data[(n * 30 + t) * 2]; marks += 1
            }
            XCTAssertEqual(marks, 2)
            XCTAssertEqual(y.data[n], sum, accuracy: 1e-6)
        }
    }

    func testCharWindowsAreShiftedByOne() {
        let task = CharTask(
            text: "abcdefghij" + String(repeating: "xyz", count: 10), steps: 5, stride: 2, validationFraction: 0.25)
        let first = task.train.tokens[0], labels = Array(task.train.labels[0..<5])
        XCTAssertEqual(first.map { task.vocabulary[$0] }, Array("abcde"))
        XCTAssertEqual(labels.map { task.vocabulary[$0] }, Array("bcdef"))
        XCTAssertGreaterThan(task.validation.count, 0)
    }

}

final class FindingsTests: XCTestCase {
    func record(_ e: Int, _ val: Double, _ s: Double = 1) -> EpochRecord {
        EpochRecord(
            epoch: e, trainLoss: val, validationLoss: val, trainAccuracy: nil, validationAccuracy: nil, seconds: s,
            meanGradientNorm: 1, maxGradientNorm: 1)
    }

    func testThresholdEpochAndSecondsAreMeasuredNotAssumed() {
        let h = [record(1, 0.5, 2), record(2, 0.2, 2), record(3, 0.05, 2)]
        XCTAssertEqual(ToyExperiment.firstBelow(h, 0.1)?.0, 3)
        XCTAssertEqual(ToyExperiment.firstBelow(h, 0.1)?.1, 6)
        XCTAssertNil(ToyExperiment.firstBelow(h, 0.01))
    }

    func testRacingFindingsNameTheOrderAndTheMisses() {
        func summary(_ name: String, _ losses: [Double], secondsPerEpoch: Double) -> ToyExperiment.ModelSummary {
            let h = losses.enumerated().map { record($0.offset + 1, $0.element, secondsPerEpoch) }
            let hit = ToyExperiment.firstBelow(h, 0.1)
            return .init(
                cell: named(name), parameters: 10, history: h, threshold: 0.1, epochReachingThreshold: hit?.0,
                secondsToThreshold: hit?.1,
                finalValidationLoss: losses.last!, totalSeconds: secondsPerEpoch * Double(losses.count))
        }
        let lines = ToyExperiment.racingFindings(
            [
                summary("RNN", [0.5, 0.4, 0.3], secondsPerEpoch: 1),
                summary("LSTM", [0.5, 0.09, 0.05], secondsPerEpoch: 4),
                summary("GRU", [0.3, 0.2, 0.08], secondsPerEpoch: 1)
            ], task: "t", metric: "MSE"
        ).map(\.text)
        XCTAssertTrue(
            lines[0].contains("LSTM at epoch 2 (8 s of training), then GRU at epoch 3 (3 s of training)"), lines[0])
        // One epoch ahead at this threshold, tied at 0.8x of it: no ranking.
        XCTAssertTrue(
            lines[0].contains(
                "not a ranking: the leader or its lead of under 2 epochs changes with the threshold (<= 0.08: LSTM "
                    + "(epoch 3), <= 0.1: LSTM (epoch 2), <= 0.125: LSTM (epoch 2))"), lines[0])
        let robust = ToyExperiment.racingFindings(
            [
                summary("LSTM", [0.5, 0.05, 0.04, 0.03], secondsPerEpoch: 1),
                summary("GRU", [0.5, 0.4, 0.3, 0.05], secondsPerEpoch: 1)
            ], task: "t", metric: "MSE"
        ).map(\.text)
        XCTAssertTrue(robust[0].contains("the same model leads by 2 or more epochs at 0.8x and 1.25x"), robust[0])
        XCTAssertTrue(
            lines[1].hasPrefix("In wall-clock time GRU got there first (GRU 3 s, LSTM 8 s, beyond twice the spread"),
            lines[1])
        XCTAssertTrue(lines[2].contains("Never reached MSE <= 0.1 in 3 epochs: RNN (best 0.3)"), lines[2])
        // Three epochs of a falling curve leave a wide noise band: the two lowest are not ranked.
        XCTAssertTrue(lines[3].contains("LSTM and GRU are indistinguishable on this run (0.03 apart"), lines[3])
        // Epoch times: LSTM slower than both beyond their (zero) spread, GRU's equal to RNN's: no order claimed.
        XCTAssertTrue(
            lines[4].contains(
                "LSTM 4x, GRU 1x the RNN's time per epoch; the epoch times of GRU and RNN (1 [1, 1] s against"),
            lines[4])
    }

    /// Ahead in wall-clock time only beyond the spread of the epoch times: the same totals with steady epochs
    /// make a lead, with scattered ones none.
    func testWallClockLeadNeedsAGapBeyondTheSpreadOfEpochTimes() {
        func racer(_ name: String, _ epochSeconds: [Double], reachedAt epoch: Int) -> ToyExperiment.ModelSummary {
            .init(
                cell: named(name), parameters: 10,
                history: epochSeconds.enumerated().map { record($0.offset + 1, 0.5, $0.element) }, threshold: 0.1,
                epochReachingThreshold: epoch, secondsToThreshold: epochSeconds.prefix(epoch).reduce(0, +),
                finalValidationLoss: 0.05, totalSeconds: epochSeconds.reduce(0, +))
        }
        let steady = ToyExperiment.wallClockFinding(
            racer("GRU", [1, 1, 1, 1], reachedAt: 3), racer("LSTM", [2, 2, 2, 2], reachedAt: 2))
        XCTAssertEqual(
            steady.text,
            """
            In wall-clock time GRU got there first (GRU 3 s, LSTM 4 s, beyond twice the spread of their epoch times, \
            0 s): its epochs took less time, though it needed more of them than LSTM.
            """)
        XCTAssertEqual(steady.numbers["LSTM seconds"], 4)
        let scattered = ToyExperiment.wallClockFinding(
            racer("GRU", [0.2, 1.8, 1, 1], reachedAt: 3), racer("LSTM", [1, 3, 2, 2], reachedAt: 2))
        XCTAssertTrue(
            scattered.text.hasPrefix(
                "In wall-clock time GRU and LSTM are indistinguishable (GRU 3 s, LSTM 4 s; the gap is inside twice"),
            scattered.text)
    }

    func costSummary(_ name: String, epochSeconds: [Double]) -> ToyExperiment.ModelSummary {
        .init(
            cell: named(name), parameters: 10,
            history: epochSeconds.enumerated().map { record($0.offset + 1, 0.5, $0.element) },
            threshold: 0.1, epochReachingThreshold: nil, secondsToThreshold: nil, finalValidationLoss: 0.5,
            totalSeconds: epochSeconds.reduce(0, +))
    }

    /// The order of the epoch times is stated only beyond their spread: in order, reversed, indistinguishable, or
    /// not judged from one epoch.
    func testCostSentenceFollowsTheMeasuredTimesAndTheirSpread() {
        let ordered = ToyExperiment.costComparison([
            costSummary("RNN", epochSeconds: [0.9, 1, 1.1]), costSummary("LSTM", epochSeconds: [2.9, 3, 3.1]),
            costSummary("GRU", epochSeconds: [1.9, 2, 2.1])
        ])
        XCTAssertEqual(
            ordered,
            """
            ; LSTM 3x, GRU 2x the RNN's time per epoch, in the order of the gate blocks each step computes (RNN 1, \
            LSTM 4, GRU 3), beyond the spread of the epoch times.
            """)
        let reversed = ToyExperiment.costComparison([
            costSummary("RNN", epochSeconds: [1.9, 2, 2.1]), costSummary("LSTM", epochSeconds: [0.9, 1, 1.1]),
            costSummary("GRU", epochSeconds: [2.9, 3, 3.1])
        ])
        XCTAssertTrue(reversed.hasPrefix("; LSTM 0.5x, GRU 1.5x the RNN's time per epoch, not in the order"), reversed)
        // Epoch times are positive: geometric means with the interval of their logarithms.
        XCTAssertTrue(
            reversed.contains("LSTM (0.997 [0.777, 1.28] s) took less time per epoch than RNN (2 [1.76, 2.26] s)"),
            reversed)
        XCTAssertTrue(reversed.contains("LSTM (0.997 [0.777, 1.28] s) took less time per epoch than GRU"), reversed)
        // The same means with a wide spread: no order claimed either way.
        let noisy = ToyExperiment.costComparison([
            costSummary("RNN", epochSeconds: [1, 2, 3]), costSummary("LSTM", epochSeconds: [0.5, 1, 1.5]),
            costSummary("GRU", epochSeconds: [2, 3, 4])
        ])
        XCTAssertTrue(
            noisy.contains("; the epoch times of LSTM and RNN (0.909 [0.229, 3.61] s against 1.82 [0.457, 7.22] s)"),
            noisy)
        XCTAssertTrue(
            noisy.hasSuffix(
                """
                are indistinguishable (95% intervals overlap), so the order of the gate blocks each step computes \
                (RNN 1, LSTM 4, GRU 3) is neither shown nor contradicted.
                """), noisy)
        XCTAssertFalse(noisy.contains("not in the order"), noisy)
        let single = ToyExperiment.costComparison([
            costSummary("RNN", epochSeconds: [1]), costSummary("LSTM", epochSeconds: [3])
        ])
        XCTAssertEqual(
            single,
            """
            ; LSTM 3x the RNN's time per epoch; one epoch each, no spread to judge the order of the gate blocks \
            (RNN 1, LSTM 4) by.
            """)
    }

    func gradients(_ name: String, jacobian: [Double], ratio: Double) -> ToyExperiment.GradientSummary {
        .init(
            cell: named(name), lossGradientInit: [1, 1], lossGradientTrained: [ratio, 1], jacobianInit: jacobian,
            jacobianTrained: jacobian,
            ratioInit: 1, ratioTrained: ratio, gateCarryPerUnit: [])
    }

    /// Per-step factors below 1 are said to shrink, above 1 to grow; the vanilla-RNN sentence follows its own numbers.
    func testGradientSentencesFollowTheFactors() {
        // ||dh_T/dh_t|| for t = 1...5 with factor 0.5 per step (RNN) and 2 per step (GRU)
        let shrinking = [0.0625, 0.125, 0.25, 0.5, 1], growing = [16.0, 8, 4, 2, 1]
        let lines = ToyExperiment.gradientFindings(
            [gradients("RNN", jacobian: shrinking, ratio: 1e-6), gradients("GRU", jacobian: growing, ratio: 2)],
            steps: 5
        ).map(\.text)
        let compounding = lines.first { $0.hasPrefix("Per-step factor") }!
        XCTAssertTrue(compounding.contains("RNN 0.5^4 = 0.0625"), compounding)
        XCTAssertTrue(
            compounding.contains("shrinks geometrically for RNN; above 1, it grows geometrically for GRU"), compounding)
        let vanilla = lines.first { $0.hasPrefix("The vanilla RNN") }!
        XCTAssertTrue(vanilla.contains("0.5 at initialisation (the gradient vanishes (x0.0625 over 4 steps))"), vanilla)
        XCTAssertTrue(vanilla.contains("almost no gradient from the loss reaches the first step"), vanilla)

        let exploding = ToyExperiment.gradientFindings([gradients("RNN", jacobian: growing, ratio: 1e4)], steps: 5).map(
            \.text)
        let v2 = exploding.first { $0.hasPrefix("The vanilla RNN") }!
        XCTAssertTrue(v2.contains("2 at initialisation (the gradient explodes (x16 over 4 steps))"), v2)
        XCTAssertTrue(v2.contains("the first steps get far larger gradients than the last"), v2)
        XCTAssertFalse(exploding.joined().contains("shrinks"))
        // Without an RNN there is no vanilla-RNN sentence.
        XCTAssertFalse(
            ToyExperiment.gradientFindings([gradients("GRU", jacobian: growing, ratio: 2)], steps: 5).map(\.text)
                .contains {
                    $0.hasPrefix("The vanilla RNN")
                })
    }
}

final class ToyExperimentRunTests: XCTestCase {
    /// A miniature run end to end: the report, the JSON/CSV results and every figure exist and parse.
    /// Experiment 1 in miniature: every task a few sequences and epochs.
    func miniature() -> ToyExperiment.Options { miniatureToy() }

    /// Experiment 1 is drawn from its measurements alone: with every checkpoint, figure, report and findings.json of a
    /// finished run deleted, `rnnlab report` (Study.render) draws the same figures and findings from toy/results.json.
    /// Without toy/results.json either, it is refused by the model that has no checkpoints.
    func testAToyRunIsDrawnAgainFromItsSavedMeasurements() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("toy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var study = Study.Options(quick: true, registered: [ToyExperiment.self], dataDirectory: dir)
        study.set(ToyExperiment.self, miniature())
        let first = try Study.run(study, out: dir)
        let files = FileManager.default
        func svgs() throws -> [String: Data] {
            let paths = try files.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".svg") }
            return try Dictionary(
                uniqueKeysWithValues: paths.map { ($0, try Data(contentsOf: dir.appendingPathComponent($0))) })
        }
        let drawn = try svgs()
        XCTAssertGreaterThan(drawn.count, 20)
        for task in ["sine", "chars", "adding"] { try files.removeItem(at: dir.appendingPathComponent("toy/\(task)")) }
        for path in Array(drawn.keys) + ["report.html", "findings.json", "toy/units.json"] {
            try files.removeItem(at: dir.appendingPathComponent(path))
        }
        let again = try Study.render(study, out: dir)
        XCTAssertEqual(again.failures, [])
        XCTAssertEqual(try svgs(), drawn, "every figure byte for byte")
        XCTAssertEqual(again.findings, first.findings)
        XCTAssertEqual(again.answers, first.answers)
        XCTAssertTrue(files.fileExists(atPath: dir.appendingPathComponent("report.html").path))

        try files.removeItem(at: dir.appendingPathComponent("toy/results.json"))
        let unmeasured = try Study.render(study, out: dir)
        XCTAssertEqual(unmeasured.failures.count, 1)
        XCTAssertTrue(unmeasured.failures[0].contains("sine RNN"), unmeasured.failures[0])
    }

    /// Gates over time: one panel per gate block, units x steps, each value in its activation's range.
    func testGatesOverTimeReadsEveryGateBlockAtEveryStep() throws {
        let recipe = ModelRecipe(
            inputSize: 4, hidden: 6, outputs: 5, vocabulary: 5, headMode: .everyStep, objective: .crossEntropy,
            learningRate: 0.01, epochs: 1, batch: 2, clip: nil, weights: .characterModels)
        let model = recipe.build(.lstm, seed: 1, threads: 1)
        let lstm = try GatesOverTime.read(
            model.rnn, try model.embedding!.forward([0, 1, 2, 3, 4, 0, 1], batch: 1, steps: 7), units: 3)
        XCTAssertEqual(lstm.map(\.gate), ["i", "f", "g", "o"])
        XCTAssertEqual(lstm.map(\.activation), [.sigmoid, .sigmoid, .tanh, .sigmoid])
        for p in lstm {
            XCTAssertEqual(p.values.count, 3)
            XCTAssertTrue(p.values.allSatisfy { $0.count == 7 })
            let range: ClosedRange<Double> = p.activation == .sigmoid ? 0...1 : -1...1
            XCTAssertTrue(p.values.joined().allSatisfy { range.contains($0) }, p.gate)
        }
        let gru = recipe.build(.gru, seed: 1, threads: 1)
        let input = try gru.embedding!.forward([0, 1], batch: 1, steps: 2)
        XCTAssertEqual(try GatesOverTime.read(gru.rnn, input, units: 9)[0].values.count, 6, "at most the hidden size")
        XCTAssertEqual(GatesOverTime.label("\n"), "\u{23CE}")

        // The untrained panels read the input as the untrained model makes it (its own embedding): the input is
        // asked once at each weight set, and the model holds its trained weights again after.
        let trainedWeights = model.parameters
        var initialWeights = model.parameters
        initialWeights.tensors[0].data[0] += 1
        let m = ModelRecipe.Trained(
            cell: .lstm, model: model, trainer: recipe.trainer(for: model, shuffleSeed: 1), initial: initialWeights,
            history: [])
        var seen: [Float] = []
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gates-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = HTMLReport(title: "t")
        let readings = try GatesOverTime.measure(
            [m],
            input: { t in
                seen.append(t.model.parameters.tensors[0].data[0])
                return try t.model.embedding!.forward([0, 1], batch: 1, steps: 2)
            }, labels: ["a", "b"], what: "two characters")
        XCTAssertEqual(seen, [initialWeights.tensors[0].data[0], trainedWeights.tensors[0].data[0]])
        XCTAssertEqual(model.parameters.tensors[0].data, trainedWeights.tensors[0].data)
        // Drawn from the readings alone, after a round trip through JSON (as a saved run is drawn again).
        let saved = try JSONDecoder().decode(
            [GatesOverTime.Reading].self, from: try JSONEncoder().encode(readings))
        XCTAssertEqual(saved, readings)
        try GatesOverTime.draw(saved, path: { "g_\($0.rawValue).svg" }, folder: try RunFolder(dir), report: &report)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("g_lstm.svg").path))
    }

    /// Experiment 1 with `o` into `dir`, its data cache there too, measured and then drawn into `report`.
    func run(_ o: ToyExperiment.Options, in dir: URL, report: inout HTMLReport) throws -> ToyExperiment.Summary {
        let folder = try RunFolder(dir)
        let s = try ToyExperiment.measure(o, RunContext(folder: folder, cache: DataCache(directory: dir)))
        try ToyReport.render(s, folder, &report)
        return s
    }

    /// Any registered cell joins the study by a setting (--cells): here IndRNN and minGRU beside the GRU, through
    /// training, gradient flow (minGRU's carry read from its saved 1 - z), the in-run gradient check and the answers.
    func testTheCellsComparedAreASetting() throws {
        var o = miniature()
        o.cells = try CellKind.list("gru,indrnn,mingru")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("toy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = HTMLReport(title: "test")
        let s = try run(o, in: dir, report: &report)
        XCTAssertEqual(s.models("sine").map(\.model), ["GRU", "IndRNN", "minGRU"])
        XCTAssertEqual(s.gradientChecks.count, 3)
        let minGRU = try XCTUnwrap(s.gradients("adding").first { $0.cell == .mingru })
        XCTAssertEqual(minGRU.gateCarryPerUnit.count, o.addingHidden)
        XCTAssertTrue(minGRU.gateCarryPerUnit.allSatisfy { $0 > 0 && $0 < 1 })
        let answers = Answers.toy(s, ToyVerdicts(s))
        XCTAssertTrue(answers[3].answer.contains("minGRU (carry 1 - z) "), answers[3].answer)
        XCTAssertEqual(answers.map(\.item), ["Q1.1", "Q1.2", "Q1.3", "Q1.4", "Q1.5", "Q1.6"])
        XCTAssertTrue(answers[0].table?.rows.contains { $0[0].hasPrefix("IndRNN(") } ?? false)
        XCTAssertThrowsError(try CellKind.list("gru,tcn")) { XCTAssertTrue("\($0)".hasPrefix("--cells: unknown")) }
        XCTAssertThrowsError(try CellKind.list("gru,gru")) { XCTAssertTrue("\($0)".contains("names a cell twice")) }
        let study = Study.Options(cells: [.lstm])
        XCTAssertEqual(study.options(ToyExperiment.self).cells, [.lstm])
        XCTAssertEqual(study.options(RealDataExperiment.self).cells, [.lstm])
        XCTAssertEqual(study.options(FusionExperiment.self).cells, [.lstm])
    }

    func testMiniatureRunWritesReportResultsAndFigures() throws {
        var o = miniature()
        o.seeds = 2; o.addingGateInits = true
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("toy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = HTMLReport(title: "test")
        let s = try run(o, in: dir, report: &report)
        XCTAssertEqual(s.models("sine").map(\.model), ["RNN", "LSTM", "GRU"])
        XCTAssertEqual(s.models("sine")[0].history.count, 2)
        XCTAssertEqual(s.gradients("adding")[0].lossGradientInit.count, 20)
        XCTAssertEqual(s.gradients("adding")[1].gateCarryPerUnit.count, 8)
        XCTAssertTrue(s.findings.contains { $0.text.contains("||dL/dh_1|| / ||dL/dh_T||") })
        // Every model also from a second seed: each measure has one value per seed and per model, compared over both.
        XCTAssertEqual(s.task("sine")?.seeds?.seeds, OverSeeds.seeds(o.seed, count: 2))
        for task in ["sine", "chars", "adding"] {
            let measures = try XCTUnwrap(s.task(task)?.seeds?.measures)
            XCTAssertEqual(measures.count, 1, task)
            for series in measures.values.joined() { XCTAssertEqual(series.values.count, 2, task) }
            XCTAssertEqual(s.runs(task).count, 2, "the second seed's models kept for the learning states")
            XCTAssertNotNil(s.task(task)?.baseline)
        }
        let sineLoss = try XCTUnwrap(s.task("sine")?.seeds?.measures["final validation MSE"])
        XCTAssertEqual(
            sineLoss.map { $0.values[0] }, s.models("sine").map(\.finalValidationLoss), "the first seed is the run's")
        XCTAssertNotEqual(sineLoss[0].values[0], sineLoss[0].values[1])
        XCTAssertTrue(s.findings.contains { $0.rank == .headline && $0.text.contains("over 2 seeds") })
        // Every task, model and seed has its learning state, and the factor at initialisation every seed.
        XCTAssertEqual(ToyVerdicts(s).states.count, 3 * 3 * 2)
        XCTAssertEqual(s.addingInitialFactors.map(\.values.count), [2, 2, 2])
        // The intervention: the adding LSTM from every seed with each forget-gate initialisation, checkpointed apart.
        XCTAssertEqual(s.addingGateInits.map(\.gateInit), [.forgetBias, .zeroForgetBias, .chrono])
        XCTAssertEqual(s.addingGateInits.map(\.runs.count), [2, 2, 2])
        XCTAssertEqual(s.addingGateInits[0].initialFactors, s.addingInitialFactors[1].values, "the main LSTM's")
        XCTAssertEqual(ToyVerdicts(s).intervention?.arms.count, 3)
        for path in ["toy/adding/forget-bias-0/lstm", "toy/adding/chrono/seed2/lstm"] {
            XCTAssertEqual(CheckpointStore(directory: dir.appendingPathComponent(path)).savedEpochs().last, 1, path)
        }
        XCTAssertTrue(
            s.findings.contains { $0.rank == .detail && $0.text.hasPrefix("First seed: Final validation MSE") })
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("toy").path)
        for f in [
            "results.json", "sine_history.csv", "adding_gradients.csv", "sine_loss.svg", "adding_jacobian.svg",
            "sine_predictions.svg", "units.json", "chars_gates_lstm.svg", "chars_gates_gru.svg"
        ] {
            XCTAssertTrue(files.contains(f), f)
        }
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("toy/results.json")))
            as? [String: Any]
        XCTAssertEqual(
            (json?["tasks"] as? [[String: Any]])?.compactMap { $0["key"] as? String }, ["sine", "chars", "adding"])
        XCTAssertTrue(report.render().contains("adding problem"))
        XCTAssertTrue(report.render().contains("<pre class=\"units\">"), "the passage coloured by a unit")
        XCTAssertEqual(
            s.findings.filter { $0.text.contains("follows") && $0.numbers["untrained best"] != nil }.count, 3,
            "one units-over-text sentence per model")
        XCTAssertEqual(s.text.samples["GRU"]?["0.5"]?.hasPrefix("A "), true)
        XCTAssertTrue(report.render().contains("Corpus: fortunes-literature-head, 1200 characters (the first 1200 of"))

        // Every model checkpoints each epoch; the same run again resumes them all and trains nothing again.
        for task in ["sine", "chars", "adding"] {
            for cell in ["rnn", "lstm", "gru"] {
                XCTAssertEqual(
                    CheckpointStore(directory: dir.appendingPathComponent("toy/\(task)/\(cell)")).savedEpochs().last,
                    task == "sine" ? 2 : 1, "\(task) \(cell)")
                XCTAssertEqual(
                    CheckpointStore(directory: dir.appendingPathComponent("toy/\(task)/seed2/\(cell)")).savedEpochs()
                        .last, task == "sine" ? 2 : 1, "\(task) \(cell), second seed")
            }
        }
        let lastWrite =
            try FileManager.default.attributesOfItem(
                atPath: dir.appendingPathComponent("toy/sine/lstm/epoch_002.safetensors").path)[.modificationDate]
            as? Date
        var again = HTMLReport(title: "test")
        let rerun = try run(o, in: dir, report: &again)
        XCTAssertEqual(rerun.models("sine").map(\.history), s.models("sine").map(\.history))
        XCTAssertEqual(rerun.models("adding").map(\.history), s.models("adding").map(\.history))
        XCTAssertEqual(rerun.tasks.map(\.seeds), s.tasks.map(\.seeds), "the second seed resumed too")
        XCTAssertEqual(
            try FileManager.default.attributesOfItem(
                atPath: dir.appendingPathComponent("toy/sine/lstm/epoch_002.safetensors").path)[.modificationDate]
                as? Date, lastWrite, "nothing retrained")
    }
}

final class StudyTests: XCTestCase {
    /// The findings that lead the report are marked where they are computed, with the numbers they state.
    func testHeadlinesAreTypedWithTheirNumbers() {
        func summary(_ model: String, epoch: Int?) -> ToyExperiment.ModelSummary {
            ToyExperiment.ModelSummary(
                cell: named(model), parameters: 1, history: [], threshold: 0.2, epochReachingThreshold: epoch,
                secondsToThreshold: epoch.map { Double($0) * 2 }, finalValidationLoss: 0.1, totalSeconds: 8)
        }
        let lines = ToyExperiment.racingFindings(
            [summary("RNN", epoch: nil), summary("GRU", epoch: 3)], task: "t", metric: "MSE")
        let headlines = lines.filter { $0.rank == .headline }
        XCTAssertEqual(headlines.count, 1)
        XCTAssertTrue(headlines[0].text.hasPrefix("First to reach MSE <= 0.2 on t: GRU at epoch 3"), headlines[0].text)
        XCTAssertEqual(headlines[0].numbers, ["GRU epoch": 3, "GRU seconds": 6])
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.rank == .detail })
    }
}

final class ExplodingGradientsTests: XCTestCase {
    /// The sentences follow the measurements: growth above 1 explodes, below 1 vanishes; a stopped run names
    /// its stop, a finished one its validation loss against the constant guess.
    func testFindingsFollowTheMeasurements() {
        var o = ExplodingGradients.Options()
        o.radii = [0.9, 1.2]; o.steps = 11
        let stopped = ExplodingGradients.Run(
            clip: nil, batchLosses: [2, 50], batchGradientNorms: [10, 1e4],
            stopped: "loss became inf at epoch 1, batch 3",
            validationLoss: nil)
        let finished = ExplodingGradients.Run(
            clip: 1, batchLosses: [2, 1.5, 0.1], batchGradientNorms: [10, 8, 2], stopped: nil, validationLoss: 0.05)
        let lines = ExplodingGradients.findings(o, growth: [0.7, 1.5], unclipped: stopped, clipped: finished).map(
            \.text)
        XCTAssertTrue(lines[0].contains("rho 0.9: 0.7, rho 1.2: 1.5"), lines[0])
        XCTAssertTrue(lines[0].contains("rho 0.9 vanishes (x0.0282 over 10 steps)"), lines[0])
        XCTAssertTrue(lines[0].contains("rho 1.2 explodes (x57.7 over 10 steps)"), lines[0])
        // A factor near 1 holds: 0.989 over 49 steps keeps 0.58 of the gradient (the rho = 1 case of the study).
        XCTAssertEqual(
            Verdicts.gradientPath(factor: 0.989, steps: 49),
            "holds (x0.582 over 49 steps, within an order of magnitude)")
        XCTAssertTrue(Verdicts.gradientPath(factor: 0.95, steps: 49).hasPrefix("vanishes"))
        XCTAssertTrue(lines[1].contains("jumped above ten times its start at batch 2"), lines[1])
        XCTAssertTrue(lines[1].contains("training stopped: loss became inf at epoch 1, batch 3"), lines[1])
        XCTAssertTrue(lines[2].contains("never rose above ten times its start"), lines[2])
        XCTAssertTrue(lines[2].contains("validation MSE 0.05, below the constant guess's 0.167"), lines[2])
    }

    /// At initialisation the measured growth per step is rho itself while the units are active.
    func testGrowthPerStepIsTheRadius() throws {
        var o = ExplodingGradients.Options()
        o.radii = [0.9, 1.1]; o.steps = 12; o.count = 64; o.epochs = 1; o.hidden = 8
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("explode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = HTMLReport(title: "t")
        let folder = try RunFolder(dir)
        let s = try ExplodingGradients.measure(
            options: o, seed: 3, context: RunContext(folder: folder, cache: DataCache(directory: dir)))
        try ExplodingGradients.render(s, folder, &report)
        XCTAssertLessThan(s.perStepGrowth[0], 0.95)
        XCTAssertGreaterThan(s.perStepGrowth[1], 1.05)
        XCTAssertNotNil(s.unclipped.stopped ?? s.unclipped.validationLoss.map { "\($0)" })
        XCTAssertEqual(s.clipped.batchLosses.count, 2)  // 64 sequences in batches of 32, one epoch
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("toy/exploding_loss.svg").path))
    }
}
