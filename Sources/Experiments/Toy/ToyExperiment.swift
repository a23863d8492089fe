import Foundation
import Workbench
import Datasets
import TensorCore
import Recurrent
import SequenceData
import Analysis
import Charts

/// Experiment 1: RNN, LSTM and GRU from scratch on toy sequences (sine next-value prediction, character-level
/// text, the adding problem), with loss curves, gradient flow through time and insights computed from the
/// measurements.
package enum ToyExperiment {
    package struct Options: Codable, Sendable {
        package var seed: UInt64 = 7
        package var sineEpochs = 60, sineHidden = 24, sineCount = 800, sineSteps = 30
        package var charEpochs = 20, charHidden = 96, charSteps = 50
        /// Use only the first n characters of the corpus (nil: all of it).
        package var charLimit: Int? = nil
        /// A text file to learn instead of the fortune collections (nil: Debian's fortunes).
        package var charCorpusFile: String? = nil
        /// The text the samples start from.
        package var charPrime = "The "
        package var addingEpochs = 20, addingSteps = 100, addingHidden = 32, addingCount = 2000
        /// Whether the adding problem's LSTM is trained again with its forget-gate bias at 0 and with chrono
        /// initialisation, every seed: the intervention that tests the "why" of Q1.4.
        package var addingGateInits = true
        package var exploding = ExplodingGradients.Options()
        /// Seeds every model trains from (the run's seed first); comparisons are made over all of them.
        package var seeds = 3
        /// The cells compared.
        package var cells = CellKind.studied
        package init(quick: Bool = false) {
            if quick {
                sineEpochs = 15; charEpochs = 3; charLimit = 20_000; addingEpochs = 4; addingCount = 800
                exploding.epochs = 2; exploding.count = 600; seeds = 1; addingGateInits = false
            }
        }
    }

    /// What each task reports per model, for results.json.
    package struct ModelSummary: Codable, Sendable {
        package var cell: CellKind
        package var model: String { cell.displayName }
        package var parameters: Int
        package var history: [EpochRecord]
        package var threshold: Double
        package var epochReachingThreshold: Int?
        package var secondsToThreshold: Double?
        package var finalValidationLoss: Double
        package var totalSeconds: Double
    }

    package struct GradientSummary: Codable, Sendable {
        package var cell: CellKind
        package var model: String { cell.displayName }
        package var lossGradientInit: [Double], lossGradientTrained: [Double]  // ||dL/dh_t||
        package var jacobianInit: [Double], jacobianTrained: [Double]  // ||dh_T/dh_t||_F
        package var ratioInit: Double, ratioTrained: Double  // first / last step, loss gradient
        /// Per hidden unit, the mean over the probe batch and all steps of the gate that carries the old state:
        /// LSTM forget gate f, GRU update gate z (trained weights). Empty for the RNN.
        package var gateCarryPerUnit: [Double]
    }

    /// One toy task's measurements, a row of the experiment: its models from every seed, their gradient flow, the
    /// trivial predictor they are judged against, and the findings the numbers support.
    package struct TaskResult: Codable, Sendable {
        /// "sine", "chars" or "adding": its row in `ToyTask.all` and its folder under toy/.
        package var key: String
        /// The models' settings (hidden size, learning rate, batch, clipping, initialisation).
        package var recipe: String
        /// The first seed's models.
        package var models: [ModelSummary]
        /// Every further seed's models.
        package var replicas: [[ModelSummary]]
        /// The first seed's gradient flow, per model.
        package var gradients: [GradientSummary]
        /// The measures compared over every seed (absent with one seed).
        package var seeds: SeedComparison?
        /// The trivial predictor every model is judged against (its loss on the validation split).
        package var baseline: TrivialBaseline
        package var findings: [Finding]

        /// Every seed's models, the run's own seed first.
        package var runs: [[ModelSummary]] { [models] + replicas }
    }

    /// One noisy validation sequence of the sine task, with each model's one-step-ahead prediction.
    package struct SinePrediction: Codable, Sendable {
        package var input: [Double], target: [Double]
        package var predictions: [SeedSeries]
    }

    /// The character task's text and what was read inside its models.
    package struct TextMeasurements: Codable, Sendable {
        /// The corpus's name, its length and the part of it used, and the characters the models know.
        package var corpus: String, corpusCharacters: Int, characters: Int, vocabulary: Int
        /// Model -> temperature ("0.5", "1.0") -> text sampled after training.
        package var samples: [String: [String: String]]
        package var units: [UnitsOverText.ModelUnits]
        package var gates: [GatesOverTime.Reading]
    }

    package struct Summary: Codable, Sendable {
        package var options: Options
        /// The tasks, in `ToyTask.all`'s order.
        package var tasks: [TaskResult]
        package var sinePrediction: SinePrediction
        package var text: TextMeasurements
        package var exploding: ExplodingGradients.Summary
        /// The adding problem: per model, the per-step factor of ||dh_T/dh_t|| at initialisation, every seed.
        package var addingInitialFactors: [SeedSeries]
        /// The adding problem's LSTM from each forget-gate initialisation, every seed (the intervention).
        package var addingGateInits: [GateInitArm]
        /// BPTT against central differences in Double, checked in this run.
        package var gradientChecks: [GradientCheck.Result]

        /// The task `key` ("sine", "chars", "adding").
        package func task(_ key: String) -> TaskResult? { tasks.first { $0.key == key } }
        /// Every seed's models of a task, the run's own seed first.
        package func runs(_ key: String) -> [[ModelSummary]] { task(key)?.runs ?? [] }
        /// The first seed's gradient flow of a task, per model.
        package func gradients(_ key: String) -> [GradientSummary] { task(key)?.gradients ?? [] }
        /// The first seed's models of a task.
        package func models(_ key: String) -> [ModelSummary] { task(key)?.models ?? [] }
        /// Every task's findings in order, then the exploding-gradient runs'.
        package var findings: [Finding] { tasks.flatMap(\.findings) + exploding.findings }
    }

    /// One forget-gate initialisation of the adding problem's LSTM: its run from every seed and the per-step gradient
    /// factor each started with.
    package struct GateInitArm: Codable, Sendable {
        package var gateInit: GateInit
        package var runs: [ModelSummary]
        package var initialFactors: [Double]
    }

    /// First epoch whose validation loss is at or below `threshold`, and the training seconds up to it.
    static func firstBelow(_ h: [EpochRecord], _ threshold: Double) -> (Int, Double)? {
        var seconds = 0.0
        for r in h {
            seconds += r.seconds
            if let v = r.validationLoss, v <= threshold { return (r.epoch, seconds) }
        }
        return nil
    }

    static func summarize(_ cell: CellKind, _ model: SequenceModel<Float>, _ h: [EpochRecord], threshold: Double)
        -> ModelSummary
    {
        let hit = firstBelow(h, threshold)
        return ModelSummary(
            cell: cell, parameters: model.parameters.scalarCount, history: h, threshold: threshold,
            epochReachingThreshold: hit?.0, secondsToThreshold: hit?.1,
            finalValidationLoss: h.last?.validationLoss ?? .nan, totalSeconds: h.reduce(0) { $0 + $1.seconds })
    }

    /// Experiment 1 measured: every task trained (resuming from toy/'s checkpoints) from every seed and measured,
    /// toy/results.json and the CSVs written. The report is drawn after, from the summary (`ToyReport`).
    package static func measure(_ o: Options, _ context: RunContext) throws -> Summary {
        let checks = try o.cells.map {
            try GradientCheck.run(RecurrentConfig(cell: $0, inputSize: 3, hiddenSize: 4, numLayers: 2))
        }
        let (sine, prediction) = try sineTask(o, context)
        let (chars, text) = try characterTask(o, context)
        let adding = try addingTask(o, context)
        let exploding = try ExplodingGradients.measure(options: o.exploding, seed: o.seed, context: context)
        let summary = Summary(
            options: o, tasks: [sine, chars, adding.task], sinePrediction: prediction, text: text,
            exploding: exploding, addingInitialFactors: adding.factors, addingGateInits: adding.arms,
            gradientChecks: checks)
        try context.folder.writeJSON(summary, to: "toy/results.json")
        return summary
    }

    /// The task's models from every further seed (`o.seeds`) and their final validation loss over all seeds, described
    /// (the comparisons are judged in the Answers); nil with one seed.
    static func overSeeds<D: SequenceDataset>(
        _ recipe: ModelRecipe, main: [ModelSummary], _ o: Options, name: String, train: D, validation: D,
        context: RunContext, metric: String
    ) throws -> (comparison: SeedComparison, findings: [Finding], replicas: [[ModelSummary]])?
    where D.Scalar == Float {
        guard o.seeds > 1 else { return nil }
        let seeds = OverSeeds.seeds(o.seed, count: o.seeds)
        let threshold = main.first?.threshold ?? .nan
        let more = try recipe.replicates(
            main.map(\.cell), seeds: seeds, label: name, directory: "toy/\(name)", train: train,
            validation: validation, context: context
        ).map { $0.map { summarize($0.cell, $0.model, $0.history, threshold: threshold) } }
        let runs = [main] + more
        let loss = main.indices.map { i in
            SeedSeries(model: main[i].model, values: runs.map { $0[i].finalValidationLoss })
        }
        let findings = [
            OverSeeds.describe(
                loss, what: "final \(metric) on \(name)", positive: true, lowerIsBetter: true, answer: "Q1.2")
        ].compactMap { $0 }
        return (SeedComparison(seeds: seeds, measures: ["final \(metric)": loss]), findings, more)
    }

    /// One row of the toy table measured: its models trained (resuming) from every seed, their gradient flow on a
    /// validation probe, the history and gradient CSVs, and the findings (the comparison over seeds, the first seed's
    /// race, the gradients through time). Returns the trained models and the probe for the task's own measurements.
    static func measure<D: SequenceDataset>(
        _ row: ToyTask, _ recipe: ModelRecipe, _ o: Options, train: D, validation: D, baseline: TrivialBaseline,
        context: RunContext
    ) throws -> (result: TaskResult, trained: [ModelRecipe.Trained], probe: SequenceBatch<Float>)
    where D.Scalar == Float {
        let models = try recipe.trainSeed(
            0, of: OverSeeds.seeds(o.seed, count: o.seeds), o.cells, label: row.key, directory: "toy/\(row.key)",
            train: train, validation: validation, context: context)
        let summaries = models.map { summarize($0.cell, $0.model, $0.history, threshold: row.threshold) }
        let probe = validation.batch(Array(0..<min(32, validation.count)))
        let gradients = try models.map { try gradientSummary($0.cell, $0.model, initial: $0.initial, batch: probe) }
        let seeds = try overSeeds(
            recipe, main: summaries, o, name: row.key, train: train, validation: validation, context: context,
            metric: row.metric)
        try writeHistoryCSV(context.folder, "toy/\(row.key)_history.csv", summaries)
        try writeGradientCSV(context.folder, "toy/\(row.key)_gradients.csv", gradients)
        let findings =
            (seeds?.findings ?? [])
            + single(racingFindings(summaries, task: row.name, metric: row.metric), seeds: o.seeds)
            + gradientFindings(gradients, steps: row.steps(o), task: row.lossAtEveryStep ? row.title : nil)
        let result = TaskResult(
            key: row.key, recipe: recipe.settings, models: summaries, replicas: seeds?.replicas ?? [],
            gradients: gradients, seeds: seeds?.comparison, baseline: baseline, findings: findings)
        return (result, models, probe)
    }

    /// With several seeds the comparison over them leads; the first seed's own race becomes a detail.
    static func single(_ findings: [Finding], seeds: Int) -> [Finding] {
        guard seeds > 1 else { return findings }
        return findings.map { Finding(.detail, "First seed: " + $0.text, numbers: $0.numbers) }
    }

    static func sineTask(_ o: Options, _ context: RunContext) throws -> (TaskResult, SinePrediction) {
        let s = SineSetup(o)
        let (result, models, _) = try measure(
            .sine, s.recipe, o, train: s.train, validation: s.validation,
            baseline: .trainingMean(s.train, s.validation), context: context)
        return (result, try predictions(sine: s.sine, index: s.split, models: models))
    }

    /// Each model's one-step-ahead prediction on the validation sequence `index`, beside its input and clean target.
    static func predictions(sine: SineTask, index: Int, models: [ModelRecipe.Trained]) throws -> SinePrediction {
        let T = sine.inputs.shape[1], steps = (index * T)..<((index + 1) * T)
        let x = try Tensor<Float>(shape: [1, T, 1], data: Array(sine.inputs.data[steps]))
        return SinePrediction(
            input: x.data.map(Double.init), target: sine.targets.data[steps].map(Double.init),
            predictions: try models.map {
                SeedSeries(model: $0.cell.displayName, values: try $0.model.predict(.dense(x)).data.map(Double.init))
            })
    }

    static func characterTask(_ o: Options, _ context: RunContext) throws -> (TaskResult, TextMeasurements) {
        let (corpusName, corpus) = try characterCorpus(o, context.cache)
        let setup = CharacterSetup(o, corpus: corpus)
        let text = setup.text, chars = setup.chars, recipe = setup.recipe
        let baseline = TrivialBaseline.classPrior(
            train: chars.train.labels, validation: chars.validation.labels, test: nil,
            classes: chars.vocabulary.count, name: "unigram")
        var (result, models, _) = try measure(
            .chars, recipe, o, train: chars.train, validation: chars.validation, baseline: baseline, context: context)
        let samples = try characterSamples(models, chars.vocabulary, o)
        // A held-out passage: the first 1000 characters of the validation text, from a line start.
        let heldOut = text.suffix(max(0, text.count - Int(Double(text.count) * 0.9)))
        let units = try UnitsOverText.measure(
            models, passage: UnitsOverText.passage(from: heldOut), index: chars.index, seed: o.seed)
        result.findings +=
            result.models.map {
                Finding.detail(
                    """
                    \($0.model): validation \(fmt($0.finalValidationLoss, 3)) nats/char = perplexity \
                    \(fmt(exp($0.finalValidationLoss), 3)) = \(fmt($0.finalValidationLoss / log(2), 3)) bits/char.
                    """,
                    numbers: ["nats per char": $0.finalValidationLoss, "perplexity": exp($0.finalValidationLoss)])
            } + UnitsOverText.findings(units)
        let gates = try GatesOverTime.measureText(
            models, passage: Array(units.first?.passage ?? ""), index: chars.index)
        let measured = TextMeasurements(
            corpus: corpusName, corpusCharacters: corpus.count, characters: text.count,
            vocabulary: chars.vocabulary.count, samples: samples, units: units, gates: gates)
        return (result, measured)
    }

    /// Text sampled from each trained character model at temperatures 0.5 and 1, every model from the same stream.
    static func characterSamples(_ models: [ModelRecipe.Trained], _ vocabulary: [Character], _ o: Options) throws
        -> [String: [String: String]]
    {
        var samples: [String: [String: String]] = [:]
        for m in models {
            var r = SeededRandom(seed: SeedStream.characterSampling.seed(o.seed))
            for temperature in [0.5, 1.0] {
                samples[m.cell.displayName, default: [:]][String(temperature)] = try TextSampler.sample(
                    m.model, vocabulary: vocabulary, prime: o.charPrime, length: 240, temperature: temperature,
                    rng: &r)
            }
        }
        return samples
    }

    /// The adding task's row, its models' per-step gradient factors at initialisation (every seed) and the LSTM's
    /// forget-gate initialisations (the intervention).
    struct AddingOutcome { var task: TaskResult, factors: [SeedSeries], arms: [GateInitArm] }

    static func addingTask(_ o: Options, _ context: RunContext) throws -> AddingOutcome {
        let setup = AddingSetup(o)
        let addTrain = setup.train, addVal = setup.validation, recipe = setup.recipe
        let (result, _, probe) = try measure(
            .adding, recipe, o, train: addTrain, validation: addVal, baseline: .trainingMean(addTrain, addVal),
            context: context)
        let seedList = OverSeeds.seeds(o.seed, count: o.seeds)
        let factors = try o.cells.map { cell in
            SeedSeries(
                model: cell.displayName,
                values: try seedList.map { try initialFactor(recipe, cell, seed: $0, probe: probe, context: context) })
        }
        let lstm = result.runs.compactMap { $0.first { $0.cell == .lstm } }
        let arms =
            AddingSetup.armsRun(o)
            ? try gateInitArms(
                setup, o, main: lstm,
                mainFactors: factors.first { $0.model == CellKind.lstm.displayName }?.values ?? [], probe: probe,
                context: context) : []
        return AddingOutcome(task: result, factors: factors, arms: arms)
    }

    /// The geometric mean over the steps of ||dh_T/dh_t||'s per-step factor for `cell` at the initial weights `seed`
    /// gives it (the weights its training starts from), on the probe batch: measured before any training.
    static func initialFactor(
        _ recipe: ModelRecipe, _ cell: CellKind, seed: UInt64, probe: SequenceBatch<Float>, context: RunContext
    ) throws -> Double {
        guard case .dense(let x) = probe.input else { return .nan }
        let model = recipe.build(cell, seed: seed, threads: context.threads)
        return GradientFlow.perStepFactor(try GradientFlow.jacobianNorms(model.rnn, input: x))
    }

    /// The adding problem's LSTM from every seed with its forget-gate bias at 0 and with chrono initialisation,
    /// checkpointed under toy/adding/INIT, beside the main runs (forget bias 1): the intervention on the per-step
    /// gradient factor at initialisation.
    static func gateInitArms(
        _ setup: AddingSetup, _ o: Options, main: [ModelSummary], mainFactors: [Double], probe: SequenceBatch<Float>,
        context: RunContext
    ) throws -> [GateInitArm] {
        let seeds = OverSeeds.seeds(o.seed, count: o.seeds), threshold = AddingTask.baselineMSE / 2
        var arms = [GateInitArm(gateInit: .forgetBias, runs: main, initialFactors: mainFactors)]
        for gateInit in AddingSetup.otherGateInits {
            let r = AddingSetup.armRecipe(setup.recipe, gateInit, o)
            let trained = try seeds.indices.map { try setup.trainArm(gateInit, $0, o, context) }
            let runs = trained.map { summarize(.lstm, $0.model, $0.history, threshold: threshold) }
            let factors = try seeds.map { try initialFactor(r, .lstm, seed: $0, probe: probe, context: context) }
            arms.append(GateInitArm(gateInit: gateInit, runs: runs, initialFactors: factors))
        }
        return arms
    }

    // MARK: - measurements

    /// Gradient flow of one model on a fixed batch, at its initial weights and after training.
    static func gradientSummary(
        _ cell: CellKind, _ model: SequenceModel<Float>, initial: ParameterSet<Float>, batch: SequenceBatch<Float>
    ) throws -> GradientSummary {
        let trained = model.parameters
        /// What the recurrent layers read: the dense input, or the embedded tokens.
        func recurrentInput() throws -> Tensor<Float> {
            switch batch.input {
            case .dense(let x): return x
            case .tokens(let ids, let b, let steps):
                guard let embedding = model.embedding else { throw ShapeError("token input without an embedding") }
                return try embedding.forward(ids, batch: b, steps: steps)
            }
        }
        func measure() throws -> ([Double], [Double]) {
            var g = model.parameters.zerosLike()
            _ = try model.forwardBackward(batch, into: &g)
            return (
                GradientFlow.stepNorms(model.lastHiddenGradient!),
                try GradientFlow.jacobianNorms(model.rnn, input: try recurrentInput())
            )
        }
        model.parameters = initial
        let (li, ji) = try measure()
        model.parameters = trained
        let (lt, jt) = try measure()
        // What carries the state forward, as the cell states it (LSTM f, GRU z, minGRU 1 - z; probe batch, trained).
        _ = try model.rnn.forward(try recurrentInput())
        let carry = try GateStatistics.meanCarry(model.rnn) ?? []
        return GradientSummary(
            cell: cell, lossGradientInit: li, lossGradientTrained: lt, jacobianInit: ji,
            jacobianTrained: jt,
            ratioInit: GradientFlow.firstToLastRatio(li), ratioTrained: GradientFlow.firstToLastRatio(lt),
            gateCarryPerUnit: carry)
    }

    /// The character task's text and its name: the user's file, or Debian's fortune collections.
    static func characterCorpus(_ o: Options, _ cache: DataCache) throws -> (name: String, text: String) {
        guard let path = o.charCorpusFile else { return (FortuneCorpus.description, try cache.fortunes()) }
        let url = URL(fileURLWithPath: path)
        let data = try DataError.contents(of: url)
        guard let text = String(data: data, encoding: .utf8), !text.isEmpty else {
            throw DataError("\(path): the corpus is not UTF-8 text, or empty")
        }
        try cache.ledger?.record(url)
        return (url.lastPathComponent, text)
    }

    // MARK: - results files

    static func writeHistoryCSV(_ folder: RunFolder, _ path: String, _ s: [ModelSummary]) throws {
        var rows: [[String]] = []
        for m in s {
            for r in m.history {
                rows.append([
                    m.model, String(r.epoch), String(r.trainLoss), r.validationLoss.map { String($0) } ?? "",
                    r.trainAccuracy.map { String($0) } ?? "",
                    r.validationAccuracy.map { String($0) } ?? "", String(r.seconds), String(r.meanGradientNorm),
                    String(r.maxGradientNorm)
                ])
            }
        }
        try folder.writeCSV(
            [
                "model", "epoch", "train_loss", "val_loss", "train_acc", "val_acc", "seconds", "mean_grad_norm",
                "max_grad_norm"
            ], rows, to: path)
    }

    static func writeGradientCSV(_ folder: RunFolder, _ path: String, _ g: [GradientSummary]) throws {
        var rows: [[String]] = []
        for x in g {
            for t in x.lossGradientInit.indices {
                rows.append([
                    x.model, String(t + 1), String(x.lossGradientInit[t]), String(x.lossGradientTrained[t]),
                    x.jacobianInit.indices.contains(t) ? String(x.jacobianInit[t]) : "",
                    x.jacobianTrained.indices.contains(t) ? String(x.jacobianTrained[t]) : ""
                ])
            }
        }
        try folder.writeCSV(
            ["model", "step", "dL_dh_norm_init", "dL_dh_norm_trained", "dhT_dht_norm_init", "dhT_dht_norm_trained"],
            rows, to: path)
    }
}
