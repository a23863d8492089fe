import Foundation
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
        package var exploding = ExplodingGradients.Options()
        /// Seeds every model trains from (the run's seed first); comparisons are made over all of them.
        package var seeds = 3
        /// The cells compared.
        package var cells = CellKind.studied
        package init(quick: Bool = false) {
            if quick {
                sineEpochs = 15; charEpochs = 3; charLimit = 20_000; addingEpochs = 4; addingCount = 800
                exploding.epochs = 2; exploding.count = 600; seeds = 1
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
        /// BPTT against central differences in Double, checked in this run.
        package var gradientChecks: [GradientCheck.Result]
        package var findings: [Finding]
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
        let checks = try gradientChecks(o.cells, &report)
        let sine = try sineTask(o, context, &report)
        let (chars, samples) = try characterTask(o, context, &report)
        let adding = try addingTask(o, context, &report)
        let exploding = try ExplodingGradients.run(
            options: o.exploding, seed: o.seed, context: context, report: &report)
        let summary = Summary(
            options: o, sine: sine.summaries, sineGradients: sine.gradients, chars: chars.summaries,
            charGradients: chars.gradients, charSamples: samples,
            adding: adding.summaries, addingGradients: adding.gradients, exploding: exploding,
            seeds: ["sine": sine.seeds, "chars": chars.seeds, "adding": adding.seeds].compactMapValues { $0 },
            gradientChecks: checks,
            findings: sine.findings + chars.findings + adding.findings + exploding.findings)
        try context.folder.writeJSON(summary, to: "toy/results.json")
        return summary
    }

    /// Every compared cell's BPTT against central differences in Double (two layers, every entry), stated first.
    static func gradientChecks(_ cells: [CellKind], _ report: inout HTMLReport) throws -> [GradientCheck.Result] {
        let checks = try cells.map {
            try GradientCheck.run(RecurrentConfig(cell: $0, inputSize: 3, hiddenSize: 4, numLayers: 2))
        }
        report.paragraph(
            "Gradient check of this build (Double, central differences, every parameter, input and initial-state "
                + "entry; largest relative error): "
                + checks.map { "\($0.network) \(fmt($0.maxError, 2))" }.joined(separator: ", ") + ".")
        return checks
    }

    /// One toy task's outcome: its models' summaries and gradients (first seed), the comparison over every seed,
    /// and its findings.
    struct TaskOutcome {
        var summaries: [ModelSummary]
        var gradients: [GradientSummary]
        var seeds: SeedComparison?
        var findings: [Finding]
    }

    /// The task's models from every further seed (`o.seeds`), and their final validation loss and epoch reaching
    /// the threshold compared over all seeds; nil with one seed.
    static func overSeeds<D: SequenceDataset>(
        _ recipe: ModelRecipe, main: [ModelSummary], _ o: Options, name: String, train: D, validation: D,
        context: RunContext, metric: String
    ) throws -> (comparison: SeedComparison, findings: [Finding])? where D.Scalar == Float {
        guard o.seeds > 1 else { return nil }
        let seeds = OverSeeds.seeds(o.seed, count: o.seeds)
        let threshold = main.first?.threshold ?? .nan
        let more = try recipe.replicates(
            main.map(\.cell), seeds: seeds, label: name, directory: "toy/\(name)", train: train,
            validation: validation, context: context)
        let runs = [main] + more.map { $0.map { summarize($0.cell, $0.model, $0.history, threshold: threshold) } }
        let loss = main.indices.map { i in
            SeedSeries(model: main[i].model, values: runs.map { $0[i].finalValidationLoss })
        }
        let never = recipe.epochs + 1
        let epochs = main.indices.map { i in
            SeedSeries(model: main[i].model, values: runs.map { Double($0[i].epochReachingThreshold ?? never) })
        }
        let findings = [
            OverSeeds.compare(loss, lowerIsBetter: true, what: "final \(metric) on \(name)", best: "lowest"),
            OverSeeds.compare(
                epochs, lowerIsBetter: true,
                what: """
                    epoch reaching \(metric) <= \(fmt(threshold, 3)) on \(name) (a seed that never reached it counts \
                    as \(never))
                    """, best: "first")
        ].compactMap { $0 }
        return (
            SeedComparison(seeds: seeds, measures: ["final \(metric)": loss, "epoch reaching threshold": epochs]),
            findings
        )
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
        return TaskOutcome(summaries: summaries, gradients: gradients, seeds: seeds?.comparison, findings: findings)
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
            summaries: summaries, gradients: gradients, seeds: seeds?.comparison, findings: findings)
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
                samples[m.cell.displayName, default: [:]][String(temperature)] = try sampleText(
                    m.model, vocabulary: vocabulary, prime: o.charPrime, length: 240, temperature: temperature,
                    rng: &r)
            }
        }
        return samples
    }

    static func addingTask(_ o: Options, _ context: RunContext, _ report: inout HTMLReport) throws -> TaskOutcome {
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
        return TaskOutcome(summaries: summaries, gradients: gradients, seeds: seeds?.comparison, findings: findings)
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

    /// The most characters one sample may ask for (a million: minutes of one-character steps, and a page count no
    /// terminal wants).
    static let maxSampleLength = 1_000_000

    /// Samples `length` characters after `prime`, feeding one character at a time and carrying the state.
    static func sampleText(
        _ model: SequenceModel<Float>, vocabulary: [Character], prime: String, length: Int, temperature: Double,
        rng: inout SeededRandom
    ) throws -> String {
        guard (0...maxSampleLength).contains(length) else {
            throw DataError("the sample length must be between 0 and \(maxSampleLength) characters (got \(length))")
        }
        guard let embedding = model.embedding else { return "" }
        let index = Dictionary(vocabulary.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var h: Tensor<Float>? = nil, c: Tensor<Float>? = nil
        var out = prime
        var ids = prime.compactMap { index[$0] }
        guard !ids.isEmpty else { throw DataError("the prime \"\(prime)\" has no character the model knows") }
        var next = 0
        for step in 0..<(ids.count + length - 1) {
            let id = step < ids.count ? ids[step] : next
            let r = try model.rnn.forward(try embedding.forward([id], batch: 1, steps: 1), h0: h, c0: c)
            h = r.hn; c = r.cn
            guard step >= ids.count - 1 else { continue }
            let raw = try model.head.forward(try r.output.reshaped([1, model.rnn.config.hiddenSize])).data
                .map(Double.init)
            let logits = raw.map { $0 / temperature }
            let m = logits.max()!
            let p = logits.map { exp($0 - m) }, total = p.reduce(0, +)
            var u = rng.unit() * total
            next = p.count - 1
            for (k, pk) in p.enumerated() { u -= pk; if u <= 0 { next = k; break } }
            // A temperature so low that logits / T leave Double's range (inf - inf = nan) is the limit T -> 0:
            // the most likely character.
            if !total.isFinite { next = raw.indices.max { raw[$0] < raw[$1] }! }
            out.append(vocabulary[next])
            ids.append(next)
        }
        return out
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

    // MARK: - findings (text computed from the numbers)

    /// Whether "first to the threshold" is a property of the models or of the threshold: the leader (by epoch) at
    /// 0.8x and 1.25x the threshold too, and its lead. A leader that changes, or a lead under two epochs, is no
    /// ranking.
    static func thresholdRobustness(_ s: [ModelSummary], threshold: Double) -> String {
        func leaders(_ t: Double) -> [(String, Int)] {
            s.compactMap { m in firstBelow(m.history, t).map { (m.model, $0.0) } }.sorted { $0.1 < $1.1 }
        }
        let levels = [0.8, 1, 1.25].map { threshold * $0 }
        let firsts = levels.map { leaders($0) }
        let named = zip(levels, firsts).map { t, l in
            "<= \(fmt(t, 3)): " + (l.first.map { "\($0.0) (epoch \($0.1))" } ?? "none")
        }.joined(separator: ", ")
        let same = firsts.allSatisfy { $0.first?.0 == firsts[1].first?.0 }
        let clear = firsts.allSatisfy { l in l.count < 2 || l[1].1 - l[0].1 >= 2 }
        return same && clear && firsts[1].count > 1
            ? "the same model leads by 2 or more epochs at 0.8x and 1.25x this threshold (\(named))"
            : "not a ranking: the leader or its lead of under 2 epochs changes with the threshold (\(named))"
    }

    /// The model that reached the threshold in fewer seconds (`clock`) against the one that took fewer epochs
    /// (`epochs`): ahead in wall-clock time only where the gap exceeds twice the spread of the two times (each
    /// epoch time's standard deviation times the square root of the epochs summed).
    static func wallClockFinding(_ clock: ModelSummary, _ epochs: ModelSummary) -> Finding {
        func spread(_ m: ModelSummary) -> Double {
            Density.std(m.history.map(\.seconds).filter(\.isFinite))
                * Double(m.epochReachingThreshold ?? 0).squareRoot()
        }
        let a = clock.secondsToThreshold ?? .nan, b = epochs.secondsToThreshold ?? .nan
        let noise = 2 * (spread(clock) * spread(clock) + spread(epochs) * spread(epochs)).squareRoot()
        let times = "\(clock.model) \(fmt(a, 2)) s, \(epochs.model) \(fmt(b, 2)) s"
        let numbers = ["\(clock.model) seconds": a, "\(epochs.model) seconds": b, "twice the spread": noise]
        guard b - a > noise else {
            return .detail(
                """
                In wall-clock time \(clock.model) and \(epochs.model) are indistinguishable (\(times); the gap is \
                inside twice the spread of their epoch times, \(fmt(noise, 2)) s).
                """, numbers: numbers)
        }
        return .detail(
            """
            In wall-clock time \(clock.model) got there first (\(times), beyond twice the spread of their epoch times, \
            \(fmt(noise, 2)) s): its epochs took less time, though it needed more of them than \(epochs.model).
            """, numbers: numbers)
    }

    static func racingFindings(_ s: [ModelSummary], task: String, metric: String) -> [Finding] {
        var lines: [Finding] = []
        let reached = s.filter { $0.epochReachingThreshold != nil }.sorted {
            ($0.epochReachingThreshold!, $0.secondsToThreshold!) < ($1.epochReachingThreshold!, $1.secondsToThreshold!)
        }
        let threshold = fmt(s.first?.threshold ?? .nan, 3)
        if let first = reached.first {
            let order = reached.map {
                "\($0.model) at epoch \($0.epochReachingThreshold!) (\(fmt($0.secondsToThreshold!, 2)) s of training)"
            }.joined(separator: ", then ")
            let robustness = Self.thresholdRobustness(s, threshold: s.first?.threshold ?? .nan)
            lines.append(
                .headline(
                    "First to reach \(metric) <= \(threshold) on \(task): \(order); \(robustness).",
                    numbers: Dictionary(
                        uniqueKeysWithValues: reached.flatMap {
                            [
                                ("\($0.model) epoch", Double($0.epochReachingThreshold!)),
                                ("\($0.model) seconds", $0.secondsToThreshold!)
                            ]
                        })))
            let fastestClock = reached.min { $0.secondsToThreshold! < $1.secondsToThreshold! }!
            if fastestClock.model != first.model { lines.append(wallClockFinding(fastestClock, first)) }
        }
        let missed = s.filter { $0.epochReachingThreshold == nil }
        if !missed.isEmpty {
            let bests = missed.map {
                "\($0.model) (best \(fmt($0.history.compactMap(\.validationLoss).min() ?? .nan, 3)))"
            }
            lines.append(
                "Never reached \(metric) <= \(threshold) in \(s.first?.history.count ?? 0) epochs: "
                    + bests.joined(separator: ", ") + ".")
        }
        let lowest = Verdicts.lowest(s.map { ($0.model, $0.history.compactMap(\.validationLoss)) })
        lines.append(
            "Final \(metric): " + s.map { "\($0.model) \(fmt($0.finalValidationLoss, 3))" }.joined(separator: ", ")
                + "; \(lowest).")
        lines.append(
            "Parameters: " + s.map { "\($0.model) \($0.parameters)" }.joined(separator: ", ") + "; seconds per epoch: "
                + s.map { "\($0.model) \(fmt($0.totalSeconds / Double(max($0.history.count, 1)), 2))" }.joined(
                    separator: ", ") + costComparison(s))
        return lines
    }

    /// How each model's epoch time compares with the vanilla RNN's, and whether the times follow the number of gate
    /// blocks a step computes (LSTM 4, GRU 3, RNN 1): a model with more blocks is slower or faster than one with fewer
    /// only where the 95% intervals of their epoch times are apart; where they overlap the sentence says so.
    static func costComparison(_ s: [ModelSummary]) -> String {
        let perEpoch = s.map { ($0.cell, $0.totalSeconds / Double(max($0.history.count, 1))) }
        guard let rnn = perEpoch.first(where: { $0.0 == .rnn }), rnn.1 > 0, perEpoch.count > 1
        else { return "." }
        let others = perEpoch.filter { $0.0 != rnn.0 }
        let text =
            "; " + others.map { "\($0.0.displayName) \(fmt($0.1 / rnn.1, 2))x" }.joined(separator: ", ")
            + " the RNN's time per epoch"
        let counts = perEpoch.map { "\($0.0.displayName) \($0.0.gateCount)" }.joined(separator: ", ")
        guard s.allSatisfy({ $0.history.filter(\.seconds.isFinite).count > 1 }) else {
            return text + "; one epoch each, no spread to judge the order of the gate blocks (\(counts)) by."
        }
        // Each model's epoch times: their interval, and the same as text ("1.02 [0.98, 1.06]").
        let times = s.map { m in
            let t = m.history.map(\.seconds)
            return (m, OverSeeds.interval(t), OverSeeds.withInterval(t) { fmt($0, 3) })
        }
        var reversed: [String] = [], tied: [String] = []
        for (a, ia, shownA) in times {
            for (b, ib, shownB) in times where a.cell.gateCount > b.cell.gateCount && ia.low <= ib.high {
                if ia.high < ib.low {
                    reversed.append("\(a.model) (\(shownA) s) took less time per epoch than \(b.model) (\(shownB) s)")
                } else {
                    tied.append("\(a.model) and \(b.model) (\(shownA) s against \(shownB) s)")
                }
            }
        }
        if !reversed.isEmpty {
            return text + ", not in the order of the gate blocks each step computes (\(counts)): "
                + reversed.joined(separator: "; ") + ", the 95% intervals of their epoch times apart."
        }
        if !tied.isEmpty {
            return text + "; the epoch times of " + tied.joined(separator: "; ")
                + " are indistinguishable (95% intervals overlap), so the order of the gate blocks each step computes ("
                + counts + ") is neither shown nor contradicted."
        }
        return text
            + ", in the order of the gate blocks each step computes (\(counts)), beyond the spread of the epoch times."
    }

    /// What the gradients through time show and why, from the measured factors and gate statistics. `task`
    /// names a task whose loss sits at every step (sine, characters): its sentences say so and carry its name,
    /// and the ratio of first- to last-step gradient, which there mixes in each step's own loss, is left out.
    static func gradientFindings(_ g: [GradientSummary], steps: Int, task: String? = nil) -> [Finding] {
        var lines: [Finding] = []
        if let task {
            return everyStepGradientFindings(g, steps: steps, lossAtLastStep: false).map {
                .detail("\(task): " + $0.text, numbers: $0.numbers)
            }
        }
        lines.append(
            .headline(
                "||dL/dh_1|| / ||dL/dh_T|| (how much of the loss gradient at the last step survives back to the first)"
                    + " at initialisation: "
                    + g.map { "\($0.model) \(fmt($0.ratioInit, 3))" }.joined(separator: ", ") + "; after training: "
                    + g.map { "\($0.model) \(fmt($0.ratioTrained, 3))" }.joined(separator: ", ") + ".",
                numbers: Dictionary(
                    uniqueKeysWithValues: g.flatMap {
                        [("\($0.model) initial", $0.ratioInit), ("\($0.model) trained", $0.ratioTrained)]
                    })))
        if let rnn = g.first(where: { $0.cell == .rnn }) {
            for other in g where other.cell != .rnn {
                let times = other.ratioTrained / rnn.ratioTrained
                if times.isFinite {
                    lines.append(
                        "After training, \(other.model) keeps \(fmt(times, 3))x the RNN's share of gradient at step 1.")
                }
            }
        }
        return Array(lines.prefix(1)) + everyStepGradientFindings(g, steps: steps, lossAtLastStep: true)
            + lines.dropFirst()
    }

    /// The sentences that hold whatever the loss: per-step Jacobian factors, the carry gates, the vanilla path.
    static func everyStepGradientFindings(_ g: [GradientSummary], steps: Int, lossAtLastStep: Bool) -> [Finding] {
        var lines: [Finding] = []
        let perStep = g.map { ($0.model, GradientFlow.perStepFactor($0.jacobianInit)) }
        lines.append(
            "Per-step factor of ||dh_T/dh_t|| at initialisation (geometric mean over \(steps - 1) steps): "
                + perStep.map { "\($0.0) \(fmt($0.1, 3))" }.joined(separator: ", ") + ". "
                + compounding(perStep, steps: steps))
        for x in g where !x.gateCarryPerUnit.isEmpty {
            let u = x.gateCarryPerUnit, mean = u.reduce(0, +) / Double(u.count), open = u.filter { $0 > 0.95 }.count
            // gate^(T-1): what the gated identity path of the most open unit passes from the last step to the first
            let best = u.max()!, span = fmt(pow(best, Double(steps - 1)), 3)
            let path = x.cell.cellType.carryPath
            let gate = path?.name ?? "carry", equation = path?.equation ?? ""
            lines.append(
                """
                \(x.model) \(gate) (trained, probe batch): mean \(fmt(mean, 3)); \(open) of \(u.count) units \
                average above 0.95; the most open unit \(fmt(best, 3)), whose path passes \
                \(fmt(best, 3))^\(steps - 1) = \(span) across the sequence. \(equation)
                """
                    + (open > 0
                        ? " Those open units are the memory."
                        : """
                         No unit keeps its gate open, so this model cannot carry information across the whole \
                        sequence yet.
                        """)
            )
        }
        if let rnn = g.first(where: { $0.cell == .rnn }) {
            lines.append(vanillaPath(rnn, steps: steps, lossAtLastStep: lossAtLastStep))
        }
        return lines
    }

    /// What the per-step factors compound to over the sequence: below 1 the dependence shrinks, above 1 it grows.
    static func compounding(_ perStep: [(String, Double)], steps: Int) -> String {
        let n = steps - 1
        let parts = perStep.filter { $0.1.isFinite }.map {
            "\($0.0) \(fmt($0.1, 3))^\(n) = \(fmt(pow($0.1, Double(n)), 3))"
        }
        guard !parts.isEmpty else { return "" }
        let shrink = perStep.filter { $0.1 < 1 }.map(\.0), grow = perStep.filter { $0.1 > 1 }.map(\.0)
        var text = "Compounded over the sequence: " + parts.joined(separator: ", ")
        if !shrink.isEmpty {
            text +=
                """
                ; below 1, the dependence of the last state on the first shrinks geometrically for \
                \(shrink.joined(separator: ", "))
                """
        }
        if !grow.isEmpty { text += "; above 1, it grows geometrically for \(grow.joined(separator: ", "))" }
        return text + "."
    }

    /// The vanilla RNN's Jacobian is diag(1 - h_t^2) W_hh at every step; what that measured to here.
    /// `lossAtLastStep`: the loss sits only at the last step, so dL/dh_1 / dL/dh_T measures what survives the
    /// recurrence (with a loss at every step it also holds each step's own loss, and is left out).
    static func vanillaPath(_ rnn: GradientSummary, steps: Int, lossAtLastStep: Bool = true) -> String {
        let before = GradientFlow.perStepFactor(rnn.jacobianInit),
            after = GradientFlow.perStepFactor(rnn.jacobianTrained)
        func verdict(_ f: Double) -> String { "the gradient " + Verdicts.gradientPath(factor: f, steps: steps - 1) }
        var text =
            """
            The vanilla RNN has no gated path: dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh at every step. Its measured \
            per-step factor is \(fmt(before, 3)) at initialisation (\(verdict(before)))
            """
        if after.isFinite { text += " and \(fmt(after, 3)) after training (\(verdict(after)))" }
        guard lossAtLastStep else { return text + "." }
        let r = rnn.ratioTrained
        text += "; after training ||dL/dh_1|| / ||dL/dh_T|| = \(fmt(r, 3))"
        text +=
            r < 1e-3
            ? ", so almost no gradient from the loss reaches the first step."
            : r > 1e3 ? ", so the first steps get far larger gradients than the last." : "."
        return text
    }

    // MARK: - figures and tables

    static func lossFigures(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String, summaries: [ModelSummary],
        yLabel: String, baseline: Double? = nil
    ) throws {
        var series: [LineSeries] = []
        for (i, s) in summaries.enumerated() {
            series.append(LineSeries(name: "\(s.model) train", y: s.history.map(\.trainLoss), color: Palette.color(i)))
            series.append(
                LineSeries(
                    name: "\(s.model) val", y: s.history.map { $0.validationLoss ?? .nan }, dashed: true,
                    color: Palette.color(i)))
        }
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

    /// Per model one colour: its curve at initialisation dashed, after training solid, over steps 1...T.
    static func beforeAndAfter(_ curves: [(model: String, initial: [Double], trained: [Double])]) -> [LineSeries] {
        curves.enumerated().flatMap { i, c in
            let t = (1...max(c.trained.count, 1)).map(Double.init)
            return [
                LineSeries(name: "\(c.model) init", x: t, y: c.initial, dashed: true, color: Palette.color(i)),
                LineSeries(name: "\(c.model) trained", x: t, y: c.trained, color: Palette.color(i))
            ]
        }
    }

    static func gradientFigures(
        _ folder: RunFolder, _ report: inout HTMLReport, name: String, title: String, gradients: [GradientSummary]
    ) throws {
        let loss = beforeAndAfter(gradients.map { ($0.model, $0.lossGradientInit, $0.lossGradientTrained) })
        let jac = beforeAndAfter(gradients.map { ($0.model, $0.jacobianInit, $0.jacobianTrained) })
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
