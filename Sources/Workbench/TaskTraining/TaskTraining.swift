import Foundation
import Statistics
import Logging
import TensorCore
import Recurrent
import SequenceData
import Datasets
import Analysis
import Interchange
import Charts
import Files

/// One sequence task trained and measured into a run folder, as Experiment 2 and `rnnlab train` do: every cell
/// trained from the run's seed with a checkpoint every epoch (resumed on a rerun) and its weights tracked, read once on
/// the test split, trained again from further seeds, judged against the task's trivial baseline, and reported.
package enum TaskTraining {
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
        /// A series forecaster's errors in the series' units on the validation period (`rnnlab train`).
        package var forecastErrors: ForecastErrors? = nil
        /// A classifier's confusion matrix and per-class scores on the validation split (`rnnlab train`).
        package var classScores: ClassificationScores? = nil
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
        package init(
            task: String, description: String, models: [ModelResult], baselines: [String: Double], findings: [Finding],
            seeds: SeedComparison? = nil, testCount: Int? = nil, skipped: String? = nil, failure: String? = nil
        ) {
            self.task = task; self.description = description; self.models = models; self.baselines = baselines;
            self.findings = findings; self.seeds = seeds; self.testCount = testCount; self.skipped = skipped;
            self.failure = failure
        }
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

    /// How often a task's test split was read: once per trained model, after its last epoch, and never for a decision.
    package final class ReadCount: @unchecked Sendable { var count = 0 }

    package struct Task {
        package var key: String, title: String, description: String
        /// The short name chart titles use ("MNIST rows"), so a figure opened on its own says what it shows.
        package var label: String
        package var train: TensorSequenceDataset<Float>?, test: TensorSequenceDataset<Float>?
        package var tokens: (TokenSequenceDataset<Float>, TokenSequenceDataset<Float>, vocabulary: Int)?
        /// The split every per-epoch number and every decision uses, carved out of the training data
        /// (`carveValidation`); nil: the held-out split plays both parts (`rnnlab train`'s validation share).
        package var validation: TensorSequenceDataset<Float>? = nil, tokenValidation: TokenSequenceDataset<Float>? = nil
        package let testReads = ReadCount()
        package var inputSize: Int, outputs: Int, hidden: Int, epochs: Int, batch: Int, lr: Double, clip: Double?
        package var objective: Objective
        /// A series forecast: its trivial baseline is the naive last value, not the training mean.
        package var series = false
        package var decay = 1.0
        package var baselines: [String: Double] = [:]
        package var gateInit = GateInit.forgetBias
        /// Steps per sequence (chrono initialisation spreads the memories up to it).
        package var steps: Int? = nil
        /// Seeds each model trains from (the run's seed first).
        package var seeds = 1
        /// Whether the report shows the gates over time for the first validation sequence (pixel MNIST: a digit).
        package var showsGatesOverTime = false
        /// A character model's held-out text and its character ids: the report adds units over text and gates over
        /// the passage, as the study's character models get.
        package var heldOutText: (passage: [Character], index: [Character: Int])? = nil
        /// Gate initialisations to train the LSTM with as well, side by side with `gateInit`.
        package var compareGateInits: [GateInit] = []
        /// A series in its own units: its forecasts of the validation period are also read in them (`rnnlab train`).
        package var units: SeriesForecasts.Units? = nil
        /// A classifier's class names: its validation split is also read per class (`rnnlab train`).
        package var classNames: [String]? = nil
        /// What the held-out split is called: "test" in the study; `rnnlab train`'s is its validation split.
        package var heldOutName = "test"
        /// Whether the task is the study's (its findings may point to the Answers) or a user's own run.
        package var inStudy = true
        /// The cells trained, and the whole recipe when a user set it (`rnnlab train`); nil: built from the fields.
        package var cells = CellKind.studied
        package var custom: ModelRecipe? = nil

        package init(
            key: String, label: String? = nil, title: String, description: String,
            train: TensorSequenceDataset<Float>? = nil, test: TensorSequenceDataset<Float>? = nil,
            tokens: (TokenSequenceDataset<Float>, TokenSequenceDataset<Float>, vocabulary: Int)? = nil,
            validation: TensorSequenceDataset<Float>? = nil, tokenValidation: TokenSequenceDataset<Float>? = nil,
            inputSize: Int, outputs: Int, hidden: Int, epochs: Int, batch: Int, lr: Double, clip: Double?,
            objective: Objective, series: Bool = false, decay: Double = 1.0, baselines: [String: Double] = [:],
            gateInit: GateInit = .forgetBias, steps: Int? = nil, seeds: Int = 1, showsGatesOverTime: Bool = false,
            heldOutText: (passage: [Character], index: [Character: Int])? = nil, compareGateInits: [GateInit] = [],
            cells: [CellKind] = CellKind.studied, custom: ModelRecipe? = nil
        ) {
            self.key = key; self.title = title; self.description = description; self.label = label ?? key
            self.train = train; self.test = test; self.tokens = tokens
            self.validation = validation; self.tokenValidation = tokenValidation
            self.inputSize = inputSize; self.outputs = outputs; self.hidden = hidden; self.epochs = epochs
            self.batch = batch; self.lr = lr; self.clip = clip; self.objective = objective; self.series = series
            self.decay = decay; self.baselines = baselines; self.gateInit = gateInit; self.steps = steps
            self.seeds = seeds; self.showsGatesOverTime = showsGatesOverTime; self.heldOutText = heldOutText
            self.compareGateInits = compareGateInits; self.cells = cells; self.custom = custom
        }

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
        package mutating func carveValidation(fraction: Double, seed: UInt64, chronological: Bool) {
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

    /// A task that stopped with `error`: its result naming the failure, and what a rerun does.
    package static func failedTask(_ key: String, _ error: Error, rerun: String, logger: Logger)
        -> (result: TaskResult, advice: String)
    {
        logger.error("\(key) failed: \(error)")
        return (
            TaskResult(task: key, description: "", models: [], baselines: [:], findings: [], failure: "\(error)"),
            retryAdvice(error, rerun: rerun)
        )
    }

    // MARK: - training with checkpoints and weight tracking

    /// What one task measured, as its drawing reads it: the results, and what the figures read beyond them (the
    /// weights sampled every epoch, the gradient through time, gates over time, inside the character models).
    package struct Measured {
        package var result: TaskResult
        let title: String, label: String, objective: Objective
        let trackers: [(CellKind, WeightEvolution)]
        let flow: [TaskReport.Flow]
        /// Gates over the first validation sequence (pixel MNIST), per model.
        let gates: [GatesOverTime.Reading]
        let inside: InsideTheCharacterModels?
        /// The findings the task's list states before the gate-initialisation comparison's.
        let listed: [Finding]
        let steps: Int
        /// A series' forecasts of the validation period in its units, per model.
        var forecasts: [SeriesForecasts.ModelForecasts] = []
        var units: SeriesForecasts.Units? = nil
        /// A classifier's scores per model on the validation split, and its class names.
        var classScores: [ClassificationScores] = [], classNames: [String]? = nil
        /// What the held-out split is called.
        var heldOut = "test"
    }

    /// A character model's held-out passage read by its units and gates, or how few characters of it the model knows.
    struct InsideTheCharacterModels {
        var units: [UnitsOverText.ModelUnits], gates: [GatesOverTime.Reading], known: Int
    }

    /// One task measured: every model trained (resuming), read once on the test split, trained from further seeds,
    /// its gradient flow and weights' evolution measured, and the findings the numbers support; its CSV written.
    package static func measure(_ task: Task, _ seed: UInt64, _ context: RunContext) throws -> Measured {
        let recipe = task.recipe
        let tracking = Tracking(task: task, seed: seed, context: context), probe = tracking.probe

        var (trained, results) = try trainAndTest(task, seed, context, tracking)
        let flow = try gradientThroughTime(probe, trained)
        let seeds = try overSeeds(task, seed, context, main: results)
        let baseline = task.trivialBaseline
        let forecasts =
            try task.units.map { units in
                try SeriesForecasts.measure(trained, windows: task.validation ?? task.test!, units: units)
            } ?? []
        for (i, f) in forecasts.enumerated() { results[i].forecastErrors = f.errors }
        let scores = try task.classNames.map { try ClassifierReadings.measure(trained, task, classes: $0) } ?? []
        for (i, s) in scores.enumerated() { results[i].classScores = s }
        let read = [
            task.units.flatMap { SeriesForecasts.finding(forecasts, units: $0, split: "validation") },
            task.classNames.flatMap {
                ClassifierReadings.finding(scores, models: results.map(\.model), classes: $0, split: "validation")
            }
        ].compactMap { $0 }
        let findings = try judged(task, results, trained, tracking, flow, seeds?.findings ?? []) + read
        var gates: [GatesOverTime.Reading] = []
        if task.showsGatesOverTime, let v = task.validation, case .dense(let x) = v.batch([0]).input {
            gates = try GatesOverTime.measure(
                trained, input: { _ in x }, labels: nil, what: "the \(x.shape[1]) steps of one validation sequence")
        }
        let inside = try task.heldOutText.map { try insideTheCharacterModels($0, trained, seed) }
        try TaskReport.writeCSV(task: task.key, results: results, folder: context.folder)
        var result = TaskResult(
            task: task.key, description: task.fullDescription, models: results, baselines: task.baselines,
            findings: findings, seeds: seeds?.comparison, testCount: task.testCount)
        result.baseline = baseline; result.baselineItems = task.baselineItems
        result.replicas = seeds?.replicas ?? []
        result.validationCount = task.validation?.count ?? task.tokenValidation?.count
        result.clip = recipe.clip
        if !task.compareGateInits.isEmpty, let i = trained.firstIndex(where: { $0.cell == .lstm }) {
            let runs = try compareGateInits(task, seed, context, main: trained[i], mainRead: results[i], probe: probe)
            result.gateInits = runs
            result.findings += GateInitComparison.findings(runs, steps: task.steps ?? 0, chosen: task.gateInit)
        }
        return Measured(
            result: result, title: task.title, label: task.label, objective: recipe.objective,
            trackers: trained.map { ($0.cell, tracking.trackers[$0.cell]!) }, flow: flow, gates: gates,
            inside: inside, listed: findings + (inside.map { UnitsOverText.findings($0.units) } ?? []),
            steps: task.steps ?? 1, forecasts: forecasts, units: task.units, classScores: scores,
            classNames: task.classNames, heldOut: task.heldOutName)
    }

    /// The task's findings: over seeds, its results against the baselines, how the weights evolved, the gradient
    /// through time and over training, and each model's events in order.
    static func judged(
        _ task: Task, _ results: [ModelResult], _ trained: [ModelRecipe.Trained], _ tracking: Tracking,
        _ flow: [TaskReport.Flow], _ overSeeds: [Finding]
    ) throws -> [Finding] {
        let recipe = task.recipe, baseline = task.trivialBaseline
        let states = results.map {
            Judge.learning(
                task: task.key, model: $0.model, seed: 1, history: $0.history, testAccuracy: $0.testAccuracy,
                testCount: task.testCount, baseline: baseline, split: task.heldOutName)
        }
        return overSeeds
            + TaskReport.findings(
                task: task.key, results: results, baselines: task.baselines, objective: recipe.objective,
                clip: recipe.clip, testCount: task.testCount, seeds: task.seeds, states: states,
                split: task.heldOutName, inStudy: task.inStudy)
            + TaskReport.comparison(
                zip(zip(results, trained), states).map { ModelEvolution($0.0, tracking.trackers[$0.1.cell]!, $1) })
            + TaskReport.gradientFlowFindings(flow)
            + TaskReport.gradientOverTrainingFindings(results)
            + results.compactMap { r in
                EventChain.account(
                    EventChain.events(
                        history: r.history, snapshots: r.evolution, cell: r.cell, chance: baseline?.chance,
                        validationSamples: task.validation?.count ?? task.tokenValidation?.count, clip: recipe.clip),
                    run: "Events in order, \(r.model)"
                ).map { Finding.detail($0) }
            }
    }

    /// Every model of the task trained from the run's seed (checkpointed, tracked, resumed), then read once on the
    /// test split.
    static func trainAndTest(_ task: Task, _ seed: UInt64, _ context: RunContext, _ tracking: Tracking) throws
        -> (trained: [ModelRecipe.Trained], results: [ModelResult])
    {
        let recipe = task.recipe
        let trained = try trainTracked(task, seed, context, tracking)
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
                : context.folder.readJSON(Recorded.self, from: "real/results.json")?.tasks
                    .first { $0.task == task.key }?.models ?? []
        }

        /// What a study's real/results.json holds of its tasks.
        struct Recorded: Decodable { var tasks: [TaskResult] }

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
    static func overSeeds(_ task: Task, _ seed: UInt64, _ context: RunContext, main: [ModelResult]) throws
        -> (comparison: SeedComparison, findings: [Finding], replicas: [[ReplicaResult]])?
    {
        guard task.seeds > 1 else { return nil }
        let seeds = OverSeeds.seeds(seed, count: task.seeds), recipe = task.recipe, dir = "real/\(task.key)"
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
        let label = task.label
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
        _ task: Task, _ seed: UInt64, _ context: RunContext, main: ModelRecipe.Trained, mainRead: ModelResult,
        probe: SequenceBatch<Float>
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
            runs.append(try run(other, try trainLSTM(task, seed, gateInit: other, context)))
        }
        return runs
    }

    /// ||dL/dh_t|| of the top layer at every step on the task's probe batch (the first 128 held-out sequences),
    /// at each model's initial weights and after training.
    static func gradientThroughTime(_ probe: SequenceBatch<Float>, _ trained: [ModelRecipe.Trained]) throws
        -> [TaskReport.Flow]
    {
        return try trained.map { m in
            func norms() throws -> [Double] {
                var g = m.model.parameters.zerosLike()
                _ = try m.model.forwardBackward(probe, into: &g)
                return GradientFlow.stepNorms(m.model.lastHiddenGradient!)
            }
            let (initial, trained) = try m.beforeAndAfter(norms)
            return TaskReport.Flow(model: m.cell.displayName, initial: initial, trained: trained)
        }
    }
}

extension TaskTraining {
    /// Units over text and gates over time for a character model's held-out passage (its first 1000 characters
    /// from a line start); nothing read where the passage has fewer than 2 characters the model knows.
    static func insideTheCharacterModels(
        _ text: (passage: [Character], index: [Character: Int]), _ trained: [ModelRecipe.Trained], _ seed: UInt64
    ) throws -> InsideTheCharacterModels {
        let passage = UnitsOverText.passage(from: text.passage)
        let known = passage.filter { text.index[$0] != nil }.count
        guard known >= 2 else { return InsideTheCharacterModels(units: [], gates: [], known: known) }
        return InsideTheCharacterModels(
            units: try UnitsOverText.measure(trained, passage: passage, index: text.index, seed: seed),
            gates: try GatesOverTime.measureText(trained, passage: passage, index: text.index), known: known)
    }
}
