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

    package struct Summary: Codable, Sendable {
        package var options: Options
        package var sine: [ModelSummary]
        package var sineGradients: [GradientSummary]
        package var chars: [ModelSummary]
        package var charGradients: [GradientSummary]
        package var charSamples: [String: [String: String]]  // model -> temperature -> text
        package var adding: [ModelSummary]
        package var addingGradients: [GradientSummary]
        package var exploding: ExplodingGradients.Summary
        /// Per task, the measures compared over every seed (absent with one seed).
        package var seeds: [String: SeedComparison]
        /// Per task, the trivial predictor every model is judged against (its loss on the validation split).
        package var baselines: [String: TrivialBaseline]
        /// Per task, every further seed's models (the first seed's are `sine`, `chars` and `adding`).
        package var replicas: [String: [[ModelSummary]]]
        /// The adding problem: per model, the per-step factor of ||dh_T/dh_t|| at initialisation, every seed.
        package var addingInitialFactors: [SeedSeries]
        /// The adding problem's LSTM from each forget-gate initialisation, every seed (the intervention).
        package var addingGateInits: [GateInitArm]
        /// BPTT against central differences in Double, checked in this run.
        package var gradientChecks: [GradientCheck.Result]
        package var findings: [Finding]

        /// Every seed's models of a task ("sine", "chars", "adding"), the run's own seed first.
        package func runs(_ task: String) -> [[ModelSummary]] {
            let first = task == "sine" ? sine : task == "chars" ? chars : adding
            return [first] + (replicas[task] ?? [])
        }
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

    package static func run(options o: Options, context: RunContext, report: inout HTMLReport) throws -> Summary {
        report.section("Experiment 1: RNN, LSTM and GRU from scratch on toy sequences")
        let seedNote =
            o.seeds > 1
            ? """
             Every model is also trained from \(o.seeds - 1) more seed\(o.seeds > 2 ? "s" : "") (weights and batch \
            order; the data fixed), and every comparison is made over the \(o.seeds) seeds; the figures show the \
            first.
            """
            : " One seed (--seeds 1): the comparisons below are within a single run, with its epoch-to-epoch noise."
        report.paragraph(
            """
            Each model is built and trained here with hand-written forward and backpropagation-through-time code \
            (no autograd), all three from the same seed and the same data, with PyTorch's default initialisation \
            (and the LSTM's forget-gate bias set to 1, as Keras does). Loss curves, gradient flow through time \
            and the findings below are computed from this run.\(seedNote)
            """
        )
        let checks = try gradientChecks(o.cells, context.folder, &report)
        let sine = try sineTask(o, context, &report)
        let (chars, samples) = try characterTask(o, context, &report)
        let adding = try addingTask(o, context, &report)
        let exploding = try ExplodingGradients.run(
            options: o.exploding, seed: o.seed, context: context, report: &report)
        let summary = Summary(
            options: o, sine: sine.summaries, sineGradients: sine.gradients, chars: chars.summaries,
            charGradients: chars.gradients, charSamples: samples,
            adding: adding.outcome.summaries, addingGradients: adding.outcome.gradients, exploding: exploding,
            seeds: ["sine": sine.seeds, "chars": chars.seeds, "adding": adding.outcome.seeds].compactMapValues { $0 },
            baselines: ["sine": sine.baseline, "chars": chars.baseline, "adding": adding.outcome.baseline],
            replicas: ["sine": sine.replicas, "chars": chars.replicas, "adding": adding.outcome.replicas],
            addingInitialFactors: adding.factors, addingGateInits: adding.arms,
            gradientChecks: checks,
            findings: sine.findings + chars.findings + adding.outcome.findings + exploding.findings)
        try context.folder.writeJSON(summary, to: "toy/results.json")
        return summary
    }

    /// Every compared cell's BPTT against central differences in Double (two layers, every entry), stated first, with
    /// its figure: the digits of agreement (-log10 of the largest relative error) beside the tolerance's 7.
    static func gradientChecks(_ cells: [CellKind], _ folder: RunFolder, _ report: inout HTMLReport) throws
        -> [GradientCheck.Result]
    {
        let checks = try cells.map {
            try GradientCheck.run(RecurrentConfig(cell: $0, inputSize: 3, hiddenSize: 4, numLayers: 2))
        }
        report.paragraph(
            "Gradient check of this build (Double, central differences, every parameter, input and initial-state "
                + "entry; largest relative error): "
                + checks.map { "\($0.network) \(fmt($0.maxError, 2))" }.joined(separator: ", ") + ".")
        try folder.figure(
            GroupedBarChart(
                title: "Gradient check: digits of agreement with central differences",
                yLabel: "-log10 largest relative error", categories: cells.map(\.displayName),
                groups: [
                    (name: "measured", values: checks.map { -log10(max($0.maxError, 1e-300)) }),
                    (name: "tolerance 1e-7", values: checks.map { _ in 7 })
                ], height: 300),
            "toy/gradient_check.svg",
            caption: "Each cell's analytic BPTT gradient against central differences in Double: a bar above the "
                + "tolerance's passes.",
            into: &report)
        return checks
    }

    /// One toy task's outcome: its models' summaries and gradients (first seed), the comparison over every seed,
    /// and its findings.
    struct TaskOutcome {
        var summaries: [ModelSummary]
        /// The further seeds' models.
        var replicas: [[ModelSummary]]
        var gradients: [GradientSummary]
        var seeds: SeedComparison?
        var baseline: TrivialBaseline
        var findings: [Finding]
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

    /// What every toy task shows after its loss figures: the gradient-flow figures, the history and gradient CSVs, and
    /// its findings (the comparison over seeds, the first seed's race, the gradients through time; a task with a loss
    /// at every step says so in them).
    static func commonOutputs(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String, metric: String,
        summaries: [ModelSummary], gradients: [GradientSummary], seeds: [Finding]?, _ o: Options, steps: Int,
        lossAtEveryStep: Bool
    ) throws -> [Finding] {
        try gradientFigures(folder, &report, name: "toy/\(name)", title: title, gradients: gradients)
        try writeHistoryCSV(folder, "toy/\(name)_history.csv", summaries)
        try writeGradientCSV(folder, "toy/\(name)_gradients.csv", gradients)
        let task = name == "chars" ? "characters" : name
        return (seeds ?? []) + single(racingFindings(summaries, task: task, metric: metric), seeds: o.seeds)
            + gradientFindings(gradients, steps: steps, task: lossAtEveryStep ? title : nil)
    }

    /// With several seeds the comparison over them leads; the first seed's own race becomes a detail.
    static func single(_ findings: [Finding], seeds: Int) -> [Finding] {
        guard seeds > 1 else { return findings }
        return findings.map { Finding(.detail, "First seed: " + $0.text, numbers: $0.numbers) }
    }

    static func sineTask(_ o: Options, _ context: RunContext, _ report: inout HTMLReport) throws -> TaskOutcome {
        let folder = context.folder
        var rng = SeededRandom(seed: o.seed)
        let sine = SineTask(count: o.sineCount, steps: o.sineSteps, noise: 0.1, rng: &rng)
        let split = o.sineCount * 8 / 10
        let sineTrain = sine.slice(0..<split), sineVal = sine.slice(split..<o.sineCount)
        let recipe = ModelRecipe(
            inputSize: 1, hidden: o.sineHidden, outputs: 1, headMode: .everyStep, objective: .meanSquaredError,
            learningRate: 0.01, epochs: o.sineEpochs, batch: 32, clip: nil, weights: .sineModels)
        let models = try recipe.trainEachCell(
            o.cells, seed: o.seed, label: "sine", train: sineTrain, validation: sineVal, context: context,
            prepare: recipe.checkpointed("toy/sine", seed: o.seed, context: context))
        let summaries = models.map { summarize($0.cell, $0.model, $0.history, threshold: 0.01) }
        let probe = sineVal.batch(Array(0..<min(32, sineVal.count)))
        let gradients = try models.map { try gradientSummary($0.cell, $0.model, initial: $0.initial, batch: probe) }
        let seeds = try overSeeds(
            recipe, main: summaries, o, name: "sine", train: sineTrain, validation: sineVal, context: context,
            metric: "validation MSE")

        report.section("Sine-wave next-value prediction", level: 3)
        report.paragraph(
            """
            \(o.sineCount) noisy sine sequences of length \(o.sineSteps) (frequency 0.2-0.5 rad/step, random \
            phase, input noise sd 0.1), 80/20 split; \(recipe.settings); a linear decoder on every step \
            predicting the clean next value.
            """
        )
        try lossFigures(folder, &report, name: "toy/sine", title: "Sine", summaries: summaries, yLabel: "MSE")
        try predictionFigure(folder, &report, sine: sine, index: split, models: models.map { ($0.cell, $0.model) })
        let findings = try commonOutputs(
            folder, &report, name: "sine", title: "Sine", metric: "validation MSE", summaries: summaries,
            gradients: gradients, seeds: seeds?.findings, o, steps: o.sineSteps, lossAtEveryStep: true)
        report.list(findings.map(\.text))
        resultsTable(&report, summaries, metric: "val MSE")
        return TaskOutcome(
            summaries: summaries, replicas: seeds?.replicas ?? [], gradients: gradients, seeds: seeds?.comparison,
            baseline: .trainingMean(sineTrain, sineVal), findings: findings)
    }

    static func characterTask(_ o: Options, _ context: RunContext, _ report: inout HTMLReport) throws
        -> (TaskOutcome, samples: [String: [String: String]])
    {
        let folder = context.folder
        let (corpusName, corpus) = try characterCorpus(o, context.cache)
        let text = String(corpus.prefix(o.charLimit ?? Int.max))
        let chars = CharTask(text: text, steps: o.charSteps, stride: o.charSteps / 2, validationFraction: 0.1)
        let recipe = ModelRecipe(
            inputSize: 24, hidden: o.charHidden, outputs: chars.vocabulary.count, vocabulary: chars.vocabulary.count,
            headMode: .everyStep, objective: .crossEntropy, learningRate: 0.005, epochs: o.charEpochs, batch: 32,
            clip: 5, weights: .characterModels)
        let models = try recipe.trainEachCell(
            o.cells, seed: o.seed, label: "chars", train: chars.train, validation: chars.validation, context: context,
            prepare: recipe.checkpointed("toy/chars", seed: o.seed, context: context))
        let summaries = models.map { summarize($0.cell, $0.model, $0.history, threshold: 2.0) }
        let probe = chars.validation.batch(Array(0..<min(32, chars.validation.count)))
        let gradients = try models.map { try gradientSummary($0.cell, $0.model, initial: $0.initial, batch: probe) }
        let seeds = try overSeeds(
            recipe, main: summaries, o, name: "chars", train: chars.train, validation: chars.validation,
            context: context, metric: "validation loss")
        let samples = try characterSamples(models, chars.vocabulary, o)
        // A held-out passage: the first 1000 characters of the validation text, from a line start.
        let heldOut = text.suffix(max(0, text.count - Int(Double(text.count) * 0.9)))
        let units = try UnitsOverText.measure(
            models, passage: UnitsOverText.passage(from: heldOut), index: chars.index, seed: o.seed)
        report.section("Character-level text generation", level: 3)
        let excerpt = text.count < corpus.count ? " (the first \(text.count) of \(corpus.count))" : ""
        report.paragraph(
            """
            Corpus: \(corpusName), \(text.count) characters\(excerpt), vocabulary of \(chars.vocabulary.count) \
            characters; last 10% held out. Windows of \(o.charSteps) characters (stride \(o.charSteps / 2)); \
            \(recipe.settings). Loss is cross-entropy per character in nats; perplexity = e^loss.
            """
        )
        try lossFigures(
            folder, &report, name: "toy/chars", title: "Characters", summaries: summaries,
            yLabel: "cross-entropy (nats/char)")
        let findings =
            try commonOutputs(
                folder, &report, name: "chars", title: "Characters", metric: "validation loss", summaries: summaries,
                gradients: gradients, seeds: seeds?.findings, o, steps: o.charSteps, lossAtEveryStep: true)
            + summaries.map {
                Finding.detail(
                    """
                    \($0.model): validation \(fmt($0.finalValidationLoss, 3)) nats/char = perplexity \
                    \(fmt(exp($0.finalValidationLoss), 3)) = \(fmt($0.finalValidationLoss / log(2), 3)) bits/char.
                    """,
                    numbers: ["nats per char": $0.finalValidationLoss, "perplexity": exp($0.finalValidationLoss)])
            }
            + UnitsOverText.findings(units)
        report.list(findings.map(\.text))
        try UnitsOverText.present(units, prefix: "toy/", folder: folder, report: &report)
        report.section("Gates over time", level: 4)
        try GatesOverTime.textFigure(
            models, passage: Array(units.first?.passage ?? ""), index: chars.index, folder: folder, report: &report)
        report.table(
            headers: ["model", "temperature 0.5", "temperature 1.0"],
            rows: summaries.map { [$0.model, samples[$0.model]!["0.5"]!, samples[$0.model]!["1.0"]!] },
            caption: "Samples after training, primed with \"\(o.charPrime)\"")
        let outcome = TaskOutcome(
            summaries: summaries, replicas: seeds?.replicas ?? [], gradients: gradients, seeds: seeds?.comparison,
            baseline: .classPrior(
                train: chars.train.labels, validation: chars.validation.labels, test: nil,
                classes: chars.vocabulary.count, name: "unigram"),
            findings: findings)
        return (outcome, samples)
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

    /// The adding task's outcome, its models' per-step gradient factors at initialisation (every seed) and the
    /// LSTM's forget-gate initialisations (the intervention).
    struct AddingOutcome { var outcome: TaskOutcome, factors: [SeedSeries], arms: [GateInitArm] }

    static func addingTask(_ o: Options, _ context: RunContext, _ report: inout HTMLReport) throws -> AddingOutcome {
        let folder = context.folder
        var ar = SeededRandom(seed: SeedStream.addingData.seed(o.seed))
        let addTrain = AddingTask(count: o.addingCount, steps: o.addingSteps, rng: &ar).data
        let addVal = AddingTask(count: 500, steps: o.addingSteps, rng: &ar).data
        let recipe = ModelRecipe(
            inputSize: 2, hidden: o.addingHidden, outputs: 1, headMode: .lastStep, objective: .meanSquaredError,
            learningRate: 0.005, epochs: o.addingEpochs, batch: 32, clip: 1, weights: .addingModels)
        let models = try recipe.trainEachCell(
            o.cells, seed: o.seed, label: "adding", train: addTrain, validation: addVal, context: context,
            prepare: recipe.checkpointed("toy/adding", seed: o.seed, context: context))
        let summaries = models.map { summarize($0.cell, $0.model, $0.history, threshold: AddingTask.baselineMSE / 2) }
        let probe = addVal.batch(Array(0..<min(32, addVal.count)))
        let gradients = try models.map { try gradientSummary($0.cell, $0.model, initial: $0.initial, batch: probe) }
        let seeds = try overSeeds(
            recipe, main: summaries, o, name: "adding", train: addTrain, validation: addVal, context: context,
            metric: "validation MSE")
        let seedList = OverSeeds.seeds(o.seed, count: o.seeds)
        let factors = try o.cells.map { cell in
            SeedSeries(
                model: cell.displayName,
                values: try seedList.map { try initialFactor(recipe, cell, seed: $0, probe: probe, context: context) })
        }
        let lstm = ([summaries] + (seeds?.replicas ?? [])).compactMap { $0.first { $0.cell == .lstm } }
        let arms =
            o.addingGateInits && o.cells.contains(.lstm)
            ? try gateInitArms(
                recipe, o, main: lstm,
                mainFactors: factors.first { $0.model == CellKind.lstm.displayName }?.values ?? [],
                train: addTrain, validation: addVal, probe: probe, context: context) : []

        report.section("Long-range memory: the adding problem (T = \(o.addingSteps))", level: 3)
        report.paragraph(
            """
            Each step carries a random value in [0, 1] and a marker; the target, read only at the last step, is \
            the sum of the two marked values (one in each half). Always answering 1.0 gives MSE 1/6 = \
            \(fmt(AddingTask.baselineMSE, 3)); the threshold below is half of that. \(o.addingCount) training and \
            500 validation sequences; \(recipe.settings). With the loss only at the last step, every gradient \
            reaching an early step has travelled back through the whole recurrence, which is where vanishing \
            gradients show.
            """
        )
        try lossFigures(
            folder, &report, name: "toy/adding", title: "Adding problem", summaries: summaries, yLabel: "MSE",
            baseline: AddingTask.baselineMSE)
        let findings = try commonOutputs(
            folder, &report, name: "adding", title: "Adding", metric: "validation MSE", summaries: summaries,
            gradients: gradients, seeds: seeds?.findings, o, steps: o.addingSteps, lossAtEveryStep: false)
        report.list(findings.map(\.text))
        resultsTable(&report, summaries, metric: "val MSE")
        let outcome = TaskOutcome(
            summaries: summaries, replicas: seeds?.replicas ?? [], gradients: gradients, seeds: seeds?.comparison,
            baseline: .trainingMean(addTrain, addVal), findings: findings)
        return AddingOutcome(outcome: outcome, factors: factors, arms: arms)
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
        _ recipe: ModelRecipe, _ o: Options, main: [ModelSummary], mainFactors: [Double],
        train: TensorSequenceDataset<Float>,
        validation: TensorSequenceDataset<Float>, probe: SequenceBatch<Float>, context: RunContext
    ) throws -> [GateInitArm] {
        let seeds = OverSeeds.seeds(o.seed, count: o.seeds), threshold = AddingTask.baselineMSE / 2
        var arms = [GateInitArm(gateInit: .forgetBias, runs: main, initialFactors: mainFactors)]
        for gateInit in [GateInit.zeroForgetBias, .chrono] {
            var r = recipe
            r.gateInit = gateInit; r.steps = o.addingSteps
            let dir = "toy/adding/\(gateInit.rawValue)", label = "adding LSTM (\(gateInit.rawValue))"
            let first = try r.trainEachCell(
                [.lstm], seed: o.seed, label: label, train: train, validation: validation, context: context,
                prepare: r.checkpointed(dir, seed: o.seed, context: context))
            let more = try r.replicates(
                [.lstm], seeds: seeds, label: label, directory: dir, train: train, validation: validation,
                context: context)
            let runs = ([first] + more).map { summarize(.lstm, $0[0].model, $0[0].history, threshold: threshold) }
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

    // MARK: - figures and tables

    static func lossFigures(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String, summaries: [ModelSummary],
        yLabel: String, baseline: Double? = nil
    ) throws {
        var series = TaskReport.trainingAndValidation(summaries.map { ($0.model, $0.history) })
        if let baseline, let n = summaries.first?.history.count {
            series.append(
                LineSeries(name: "baseline", y: [Double](repeating: baseline, count: n), dashed: true, color: "#888888")
            )
        }
        try folder.figureRow(
            [
                (
                    LineChart(title: "\(title): loss per epoch", xLabel: "epoch", yLabel: yLabel, series: series),
                    "\(name)_loss.svg", "Training (solid) and validation (dashed) loss, linear scale."
                ),
                (
                    LineChart(
                        title: "\(title): loss per epoch (log)", xLabel: "epoch", yLabel: yLabel, series: series,
                        yScale: .log), "\(name)_loss_log.svg", "The same on a log scale."
                )
            ], into: &report)
    }

    static func predictionFigure(
        _ folder: RunFolder, _ report: inout HTMLReport, sine: SineTask, index: Int,
        models: [(CellKind, SequenceModel<Float>)]
    ) throws {
        let T = sine.inputs.shape[1]
        let x = try Tensor<Float>(shape: [1, T, 1], data: Array(sine.inputs.data[(index * T)..<((index + 1) * T)]))
        var series = [
            LineSeries(
                name: "clean target", x: (1...T).map(Double.init),
                y: sine.targets.data[(index * T)..<((index + 1) * T)].map(Double.init), color: "#000000"),
            LineSeries(
                name: "noisy input", x: (0..<T).map(Double.init), y: x.data.map(Double.init), dashed: true,
                color: "#999999")
        ]
        for (i, (cell, model)) in models.enumerated() {
            let p = try model.predict(.dense(x))
            series.append(
                LineSeries(
                    name: cell.displayName, x: (1...T).map(Double.init), y: p.data.map(Double.init),
                    color: Palette.color(i)))
        }
        try folder.figure(
            LineChart(
                title: "Predictions on a validation sequence", xLabel: "time step", yLabel: "value", series: series),
            "toy/sine_predictions.svg", caption: "Each model's one-step-ahead prediction against the clean next value.",
            into: &report)
    }

    static func gradientFigures(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String, gradients: [GradientSummary]
    ) throws {
        let loss = TaskReport.beforeAndAfter(gradients.map { ($0.model, $0.lossGradientInit, $0.lossGradientTrained) })
        let jac = TaskReport.beforeAndAfter(gradients.map { ($0.model, $0.jacobianInit, $0.jacobianTrained) })
        try folder.figureRow(
            [
                (
                    LineChart(
                        title: "\(title): ||dL/dh_t|| across time", xLabel: "time step t", yLabel: "gradient norm",
                        series: loss, yScale: .log), "\(name)_grad_norms.svg",
                    """
                    Norm of the loss gradient reaching the hidden state at each step (batch mean), at \
                    initialisation (dashed) and after training (solid).
                    """
                ),
                (
                    LineChart(
                        title: "\(title): ||dh_T/dh_t||_F across time", xLabel: "time step t", yLabel: "Jacobian norm",
                        series: jac, yScale: .log), "\(name)_jacobian.svg",
                    """
                    How strongly the last hidden state depends on the state at step t (Frobenius norm of the \
                    Jacobian, batch mean).
                    """
                )
            ], into: &report)
    }

    static func resultsTable(_ report: inout HTMLReport, _ s: [ModelSummary], metric: String) {
        report.table(
            headers: [
                "model", "parameters", "final train", "final \(metric)", "best \(metric)",
                "epoch <= \(fmt(s.first?.threshold ?? .nan, 3))", "seconds to it", "s/epoch"
            ],
            rows: s.map { m in
                [
                    m.model, String(m.parameters), fmt(m.history.last?.trainLoss ?? .nan), fmt(m.finalValidationLoss),
                    fmt(m.history.compactMap(\.validationLoss).min() ?? .nan),
                    m.epochReachingThreshold.map(String.init) ?? "not reached",
                    m.secondsToThreshold.map { fmt($0, 3) } ?? "-",
                    fmt(m.totalSeconds / Double(max(m.history.count, 1)), 3)
                ]
            })
    }

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
