import Foundation
import Interchange
import Recurrent
import SequenceData
import TensorCore

/// How the gate biases of a gated cell start.
package enum GateInit: String, Codable, CaseIterable, Sendable {
    /// b_f = 1 for the LSTM's forget gate, everything else PyTorch's default (Keras' unit_forget_bias;
    /// Jozefowicz et al. 2015). Memory at the start: about 1 / (1 - sigmoid(1)) = 3.7 steps.
    case forgetBias = "forget-bias"
    /// Chrono initialisation (Tallec and Ollivier 2018): the keep gate's bias log(U(1, T - 1)) per unit (LSTM f,
    /// GRU z), the LSTM input gate's its negative; memories from 2 to T steps at the start.
    case chrono
    /// b_f = 0 for the LSTM's forget gate (Hochreiter and Schmidhuber's plain start): it keeps half of its state a
    /// step, about 2 steps of memory.
    case zeroForgetBias = "forget-bias-0"

    /// The initialisations Experiment 2 compares on pixel-by-pixel MNIST (the long task's two remedies).
    package static let pixelRemedies: [GateInit] = [.forgetBias, .chrono]
}

extension CellKind {
    /// The cells the study compares unless `--cells` names others (any registered cell can join).
    package static let studied: [CellKind] = [.rnn, .lstm, .gru]

    /// A comma-separated list of cell names ("rnn,lstm,gru"), each known and none twice.
    package static func list(_ text: String) throws -> [CellKind] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let unknown = names.filter { CellKind(rawValue: $0) == nil }
        let known = CellKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard unknown.isEmpty, !names.isEmpty else {
            throw InputError(description: "--cells: unknown \(unknown); known: \(known)")
        }
        guard Set(names).count == names.count else {
            throw InputError(description: "--cells: \(text) names a cell twice")
        }
        return names.compactMap(CellKind.init(rawValue:))
    }
}

/// The optimizers a user can choose, each at the recipe's learning rate with PyTorch's other defaults.
package enum OptimizerName: String, Codable, CaseIterable, Sendable {
    case adam, sgd, rmsprop, adagrad
    func kind(lr: Double) -> OptimizerKind {
        switch self {
        case .adam: .adam(lr: lr)
        case .sgd: .sgd(lr: lr)
        case .rmsprop: .rmsprop(lr: lr)
        case .adagrad: .adagrad(lr: lr)
        }
    }
    var displayName: String { kind(lr: 0).name }
}

/// One model of a task, as data: the network around the cell, its head, and how it trains. Every model the
/// experiments train is built, trained and described from one of these, so the settings a report states are
/// the settings the code ran.
package struct ModelRecipe {
    package init(
        inputSize: Int, hidden: Int, outputs: Int, vocabulary: Int? = nil, headMode: HeadMode, objective: Objective,
        learningRate: Double, decay: Double = 1.0, epochs: Int, batch: Int, clip: Double? = nil, weights: SeedStream,
        gateInit: GateInit = .forgetBias, steps: Int? = nil, layers: Int = 1, optimizer: OptimizerName = .adam,
        initializer: Initializer = .pytorchDefault, gruVariant: GRUVariant = .resetAfter,
        nonlinearity: Nonlinearity = .tanh, truncation: Int? = nil
    ) {
        self.inputSize = inputSize; self.hidden = hidden; self.outputs = outputs; self.vocabulary = vocabulary;
        self.headMode = headMode; self.objective = objective; self.learningRate = learningRate; self.decay = decay;
        self.epochs = epochs; self.batch = batch; self.clip = clip; self.weights = weights; self.gateInit = gateInit;
        self.steps = steps; self.layers = layers; self.optimizer = optimizer; self.initializer = initializer;
        self.gruVariant = gruVariant; self.nonlinearity = nonlinearity; self.truncation = truncation
    }
    var inputSize: Int
    var hidden: Int
    var outputs: Int
    /// A learned token embedding in front of the network (nn.Embedding(vocabulary, inputSize)).
    var vocabulary: Int? = nil
    var headMode: HeadMode
    var objective: Objective
    var learningRate: Double
    /// Learning rate multiplied by this after every epoch (1: constant).
    var decay = 1.0
    var epochs: Int
    var batch: Int
    var clip: Double?
    /// The stream the weights are drawn from; every cell starts from the same seed.
    var weights: SeedStream
    package var gateInit = GateInit.forgetBias
    /// The sequence length chrono initialisation spreads the memories over.
    package var steps: Int? = nil
    var layers = 1
    var optimizer = OptimizerName.adam
    var initializer = Initializer.pytorchDefault
    var gruVariant = GRUVariant.resetAfter
    var nonlinearity = Nonlinearity.tanh
    /// Truncated BPTT window (nil: through the whole sequence).
    var truncation: Int? = nil

    /// PyTorch's default initialisation, plus a forget-gate bias of 1 where the cell has a forget gate (the LSTM),
    /// as Keras does by default (unit_forget_bias) and Jozefowicz et al. (2015) recommend.
    static let forgetGateBias = 1.0

    /// The model for `cell`, drawn in a fixed order (embedding, recurrent layers, head) from the recipe's stream.
    package func build(_ cell: CellKind, seed: UInt64, threads: Int) -> SequenceModel<Float> {
        var rng = SeededRandom(seed: weights.seed(seed))
        let embedding = vocabulary.map { Embedding<Float>(vocabularySize: $0, dimension: inputSize, rng: &rng) }
        let chrono = gateInit == .chrono ? steps : nil
        let rnn = RecurrentNetwork<Float>(
            config: RecurrentConfig(
                cell: cell, inputSize: inputSize, hiddenSize: hidden, numLayers: layers, nonlinearity: nonlinearity,
                gruVariant: gruVariant),
            initializer: initializer, forgetGateBias: gateInit == .zeroForgetBias ? 0 : Self.forgetGateBias,
            chronoSteps: chrono, rng: &rng)
        let model = SequenceModel(
            embedding: embedding, rnn: rnn, head: Linear(inputSize: hidden, outputSize: outputs, rng: &rng),
            headMode: headMode, objective: objective)
        model.threads = threads
        return model
    }

    func trainer(for model: SequenceModel<Float>, shuffleSeed: UInt64) -> Trainer<Float> {
        Trainer(
            model: model, optimizer: optimizer.kind(lr: learningRate),
            options: TrainingOptions(
                epochs: epochs, batchSize: batch, clipNorm: clip, truncation: truncation, shuffleSeed: shuffleSeed,
                learningRateDecay: decay))
    }

    /// The training settings as a report states them: "embedding 24, hidden 96, batch 32, Adam lr 0.005,
    /// gradient clipping at norm 5, 25 epochs".
    package var settings: String {
        var parts: [String] = []
        if vocabulary != nil { parts.append("embedding \(inputSize)") }
        parts.append("hidden \(hidden)" + (layers > 1 ? " x \(layers) layers" : ""))
        parts.append("batch \(batch)")
        parts.append(
            "\(optimizer.displayName) lr \(fmt(learningRate, 3))"
                + (decay == 1 ? "" : " decayed by \(fmt(decay, 3)) per epoch"))
        if initializer != .pytorchDefault { parts.append("\(initializer.rawValue) initialisation") }
        if gruVariant != .resetAfter { parts.append("GRU \(gruVariant.rawValue)") }
        if nonlinearity != .tanh { parts.append("\(nonlinearity.rawValue) activation") }
        if let truncation { parts.append("truncated BPTT every \(truncation) steps") }
        parts.append(clip.map { "gradient clipping at norm \(fmt($0, 3))" } ?? "no gradient clipping")
        if gateInit == .chrono, let steps { parts.append("chrono initialisation of the gate biases (T = \(steps))") }
        if gateInit == .zeroForgetBias { parts.append("forget-gate bias 0") }
        parts.append("\(epochs) epoch\(epochs == 1 ? "" : "s")")
        return parts.joined(separator: ", ")
    }

    /// A model trained by `trainEachCell`: its weights before training and its per-epoch history.
    package struct Trained {
        package var cell: CellKind
        package var model: SequenceModel<Float>
        var trainer: Trainer<Float>
        package var initial: ParameterSet<Float>
        package var history: [EpochRecord]

        /// `measure` at the model's initial weights, then at its trained weights (which the model holds again after,
        /// whatever `measure` throws).
        func beforeAndAfter<R>(_ measure: () throws -> R) throws -> (initial: R, trained: R) {
            let trained = model.parameters
            model.parameters = initial
            let before: R
            do { before = try measure() } catch {
                model.parameters = trained
                throw error
            }
            model.parameters = trained
            return (before, try measure())
        }
    }

    /// A `prepare` for `trainEachCell` that checkpoints every epoch under FOLDER/`directory`/CELL and resumes from
    /// the newest intact checkpoint there, so a rerun of a finished run trains nothing again. The checkpoints name
    /// their run (seed and this recipe's settings): another run's files are refused, not resumed.
    package func checkpointed(_ directory: String, seed: UInt64, context: RunContext)
        -> (CellKind, SequenceModel<Float>, Trainer<Float>) throws -> [TrainingCallback]
    {
        { cell, model, trainer in
            let description = "\(cell.displayName) \(model.rnn.config.description), \(settings)"
            let store = CheckpointStore(
                directory: context.folder.url("\(directory)/\(cell.rawValue)"), run: "seed \(seed); \(description)")
            return [
                try Self.resumeOrStart(
                    store, label: "\(directory) \(cell.displayName)", description: description, model: model,
                    trainer: trainer, context: context)
            ]
        }
    }

    /// Resumes `trainer` from the newest intact checkpoint in `store` (damaged newer epochs logged as passed over),
    /// or saves the initial weights as epoch 0; `restoring` runs with the restored checkpoint before training
    /// resumes, `starting` after epoch 0 is saved. Returns the callback that saves every epoch.
    static func resumeOrStart(
        _ store: CheckpointStore, label: String, description: String, model: SequenceModel<Float>,
        trainer: Trainer<Float>, context: RunContext,
        restoring: (CheckpointStore.Restored<Float>) throws -> Void = { _ in }, starting: () throws -> Void = {}
    ) throws -> CheckpointCallback<Float> {
        if let restored = try store.latest(as: Float.self) {
            for problem in restored.passedOver { context.logger.warning("\(label): passed over \(problem)") }
            try restoring(restored)
            try trainer.resume(restored, in: store)
            context.logger.info("\(label): resuming after epoch \(restored.epoch)")
        } else {
            try store.saveInitial(model: model.parameters, description: description)
            try starting()
        }
        return CheckpointCallback(store: store, trainer: trainer, description: description)
    }

    /// The same cells trained from every further seed of a comparison (`seeds` after the run's own, which the caller
    /// trained), each checkpointed under `directory`/seedK/CELL so a rerun resumes them: one list per seed.
    package func replicates<D: SequenceDataset>(
        _ cells: [CellKind], seeds: [UInt64], label: String, directory: String, train: D, validation: D,
        context: RunContext
    ) throws -> [[Trained]] where D.Scalar == Float {
        try seeds.indices.dropFirst().map { k in
            try trainSeed(
                k, of: seeds, cells, label: label, directory: directory, train: train, validation: validation,
                context: context)
        }
    }

    /// The cells trained (or resumed) from seed number `k` of a comparison over `seeds`: the run's own seed (k = 0)
    /// checkpointed under `directory`/CELL, a further one under `directory`/seedK+1/CELL. A shard of a study trains
    /// one seed this way; the study's own pass then finds it finished.
    package func trainSeed<D: SequenceDataset>(
        _ k: Int, of seeds: [UInt64], _ cells: [CellKind], label: String, directory: String, train: D,
        validation: D, context: RunContext
    ) throws -> [Trained] where D.Scalar == Float {
        let folder = k == 0 ? directory : "\(directory)/seed\(k + 1)"
        return try trainEachCell(
            cells, seed: seeds[k], label: k == 0 ? label : "\(label) seed \(k + 1)", train: train,
            validation: validation, context: context, prepare: checkpointed(folder, seed: seeds[k], context: context))
    }

    /// The work of training `cells` from one seed, in multiply-adds: per sequence step of every epoch, each gate's
    /// input and recurrent products ((input + hidden) x hidden per layer), about three times over for the forward pass
    /// and BPTT. Only ratios are used: a shard's time limit is this times the seconds a calibration run took per unit.
    package func work(_ cells: [CellKind], samples: Int, steps: Int) -> Double {
        let perStep = cells.reduce(0.0) { sum, cell in
            sum + Double(cell.gateCount) * Double(hidden) * Double(inputSize + hidden * 2 * layers - hidden)
        }
        return 3 * perStep * Double(samples) * Double(steps) * Double(epochs)
    }

    /// The one path every experiment trains by: for each cell, build the model from the recipe, let `prepare`
    /// resume it or attach callbacks of its own (checkpoints, weight tracking), then fit it, with progress
    /// under "label CELL".
    package func trainEachCell<D: SequenceDataset>(
        _ cells: [CellKind], seed: UInt64, label: String, train: D, validation: D, context: RunContext,
        prepare: (CellKind, SequenceModel<Float>, Trainer<Float>) throws -> [TrainingCallback] = { _, _, _ in [] }
    ) throws -> [Trained] where D.Scalar == Float {
        try cells.map { cell in
            let model = build(cell, seed: seed, threads: context.threads)
            let initial = model.parameters
            let trainer = trainer(for: model, shuffleSeed: seed)
            let own = try prepare(cell, model, trainer)
            try context.requireTrained("\(label) \(cell.displayName)", done: trainer.history.count, of: epochs)
            trainer.callbacks = context.progressCallbacks("\(label) \(cell.displayName)") + own
            let history = try trainer.fit(train: train, validation: validation)
            return Trained(cell: cell, model: model, trainer: trainer, initial: initial, history: history)
        }
    }
}

extension GateInit {
    /// The setting in a few words ("forget-gate bias 1").
    package var setting: String {
        switch self {
        case .forgetBias: "forget-gate bias 1"
        case .zeroForgetBias: "forget-gate bias 0"
        case .chrono: "chrono"
        }
    }
}
