import Foundation
import TensorCore
import SequenceData

/// One epoch's measurements.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// The epoch, from 1.
    public var epoch: Int
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Double
    /// Loss on the validation set after the epoch.
    public var validationLoss: Double?
    /// Training accuracy (classifiers).
    public var trainAccuracy: Double?
    /// Validation accuracy (classifiers).
    public var validationAccuracy: Double?
    public var seconds: Double  // wall time of this epoch's training
    public var meanGradientNorm: Double  // global gradient norm before clipping, averaged over batches
    /// The largest global gradient norm of the epoch, before clipping.
    public var maxGradientNorm: Double
    /// Per parameter (state-dict name): L2 norm of its gradient before clipping, averaged over the epoch's batches.
    public var parameterGradientNorms: [String: Double]
    /// What trained the epoch when it was not rnnlab ("PyTorch 2.13.0", written by scripts/continue_in_pytorch.py).
    public var trainedBy: String? = nil

    /// A record of these measurements.
    public init(
        epoch: Int, trainLoss: Double, validationLoss: Double?, trainAccuracy: Double?, validationAccuracy: Double?,
        seconds: Double, meanGradientNorm: Double, maxGradientNorm: Double,
        parameterGradientNorms: [String: Double] = [:]
    ) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.validationLoss = validationLoss;
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy; self.seconds = seconds; self.meanGradientNorm = meanGradientNorm;
        self.maxGradientNorm = maxGradientNorm
        self.parameterGradientNorms = parameterGradientNorms
    }
}

/// How a `Trainer` trains.
public struct TrainingOptions: Sendable {
    /// Epochs to train (a resumed run continues up to this count).
    public var epochs: Int
    /// Sequences per batch.
    public var batchSize: Int
    /// Clip the global gradient norm to this (nil: no clipping).
    public var clipNorm: Double?
    /// Truncated BPTT window in steps (nil: through the whole sequence).
    public var truncation: Int?
    /// Seed of the per-epoch shuffles.
    public var shuffleSeed: UInt64
    /// Exponential learning-rate decay: epoch e trains at lr * decay^(e - 1) (PyTorch's ExponentialLR, stepped
    /// per epoch).
    public var learningRateDecay: Double
    /// Options; by default no clipping, full BPTT and a constant learning rate.
    public init(
        epochs: Int, batchSize: Int, clipNorm: Double? = nil, truncation: Int? = nil, shuffleSeed: UInt64 = 0,
        learningRateDecay: Double = 1
    ) {
        self.epochs = epochs; self.batchSize = batchSize; self.clipNorm = clipNorm; self.truncation = truncation;
        self.shuffleSeed = shuffleSeed
        self.learningRateDecay = learningRateDecay
    }
}

/// Raised when training cannot go on; what was saved before stays saved.
public struct TrainingError: Error, CustomStringConvertible {
    /// What went wrong, and what was kept.
    public let description: String
}

/// Hooks into the loop: progress display, checkpoints, statistics. Defaults do nothing.
public protocol TrainingCallback: AnyObject {
    func trainingWillStart(totalEpochs: Int, batchesPerEpoch: Int)
    /// After each optimizer step: the batch's loss and its global gradient norm before clipping.
    func batchDidEnd(epoch: Int, batch: Int, of total: Int, loss: Double, gradientNorm: Double)
    /// Called after each epoch with its record (losses, accuracies, time, gradient norms before clipping).
    func epochDidEnd(_ record: EpochRecord) throws
}

extension TrainingCallback {
    /// Does nothing by default.
    public func trainingWillStart(totalEpochs: Int, batchesPerEpoch: Int) {}
    /// Does nothing by default.
    public func batchDidEnd(epoch: Int, batch: Int, of total: Int, loss: Double, gradientNorm: Double) {}
    /// Does nothing by default.
    public func epochDidEnd(_ record: EpochRecord) throws {}
}

/// The training loop: shuffled mini-batches, forward + BPTT, optional clipping, optimizer step, validation.
/// Shuffling is seeded per epoch (seed, epoch), so a run resumed at epoch k sees the same batches as an
/// uninterrupted one.
public final class Trainer<T: Real> {
    /// The model being trained.
    public let model: SequenceModel<T>
    /// The optimizer and its state.
    public var optimizer: Optimizer<T>
    /// How it trains.
    public var options: TrainingOptions
    /// Called after every batch and epoch (progress, checkpoints, measurements).
    public var callbacks: [TrainingCallback] = []
    /// Every epoch trained so far, including resumed ones.
    public private(set) var history: [EpochRecord] = []

    /// A trainer for `model`.
    public init(model: SequenceModel<T>, optimizer: OptimizerKind, options: TrainingOptions) {
        self.model = model
        self.optimizer = Optimizer(optimizer, for: model.parameters)
        self.options = options
    }

    /// Continue from a saved state: the epochs already done, their records, and the optimizer's moments.
    public func resume(history: [EpochRecord], optimizerState: ParameterSet<T>, optimizerStep: Int) throws {
        self.history = history
        try optimizer.restore(state: optimizerState, step: optimizerStep)
    }

    /// Trains the remaining epochs (all, or those after a resume) and returns the whole history.
    public func fit<D: SequenceDataset>(train: D, validation: D?) throws -> [EpochRecord] where D.Scalar == T {
        guard options.batchSize >= 1, options.epochs >= 0 else {
            throw TrainingError(
                description:
                    """
                    batch size must be at least 1 and epochs at least 0 (got \(options.batchSize) and \
                    \(options.epochs))
                    """
            )
        }
        guard train.count >= 1 else { throw TrainingError(description: "the training set is empty") }
        // A batch larger than the data is the whole data (and keeps the index arithmetic below from overflowing).
        let batchSize = min(options.batchSize, train.count)
        var memoryChecked = false
        let batches = (train.count + batchSize - 1) / batchSize
        for cb in callbacks { cb.trainingWillStart(totalEpochs: options.epochs, batchesPerEpoch: batches) }
        var grads = model.parameters.zerosLike()
        for epoch in stride(from: history.count + 1, through: options.epochs, by: 1) {
            let start = Date()
            optimizer.learningRateScale = pow(options.learningRateDecay, Double(epoch - 1))
            // One shuffle stream per (seed, epoch): the seed times a large odd constant plus the epoch, so that
            // small seeds and epoch numbers never meet on the same stream.
            var rng = SeededRandom(seed: options.shuffleSeed &* 1_000_003 &+ UInt64(epoch))
            let order = rng.permutation(train.count)
            var lossSum = 0.0, correct = 0, seen = 0, normSum = 0.0, normMax = 0.0
            var perParameter = [Double](repeating: 0, count: grads.count)
            for b in 0..<batches {
                let idx = Array(order[(b * batchSize)..<min((b + 1) * batchSize, train.count)])
                let batch = train.batch(idx)
                if !memoryChecked {  // before the first pass allocates its caches
                    try model.rnn.config.checkMemory(
                        batch: batchSize, steps: batch.steps, scalarSize: MemoryLayout<T>.size)
                    memoryChecked = true
                }
                grads.zero()
                let r = try model.forwardBackward(batch, into: &grads, truncation: options.truncation)
                guard r.loss.isFinite else {
                    throw TrainingError(
                        description:
                            """
                            loss became \(r.loss) at epoch \(epoch), batch \(b + 1); training stopped, the \
                            checkpoints of earlier epochs are kept (a lower learning rate or gradient clipping \
                            may help)
                            """
                    )
                }
                // One pass over the gradients gives both the per-parameter norms and the global norm.
                let squares = grads.tensors.map { $0.data.sumOfSquares }
                for i in 0..<grads.count { perParameter[i] += squares[i].squareRoot() }
                let norm = squares.reduce(0, +).squareRoot()
                guard norm.isFinite else { throw nonFiniteGradient(norm, epoch: epoch, batch: b + 1, loss: r.loss) }
                if let clip = options.clipNorm { clipGradientNorm(&grads, maxNorm: clip, knownNorm: norm) }
                normSum += norm; normMax = max(normMax, norm)
                model.updateParameters { optimizer.update(&$0, grads) }
                lossSum += r.loss * Double(r.count); correct += r.correct; seen += r.count
                for cb in callbacks {
                    cb.batchDidEnd(epoch: epoch, batch: b + 1, of: batches, loss: r.loss, gradientNorm: norm)
                }
            }
            let seconds = Date().timeIntervalSince(start)
            var record = EpochRecord(
                epoch: epoch, trainLoss: lossSum / Double(seen), validationLoss: nil,
                trainAccuracy: model.objective == .crossEntropy ? Double(correct) / Double(seen) : nil,
                validationAccuracy: nil, seconds: seconds,
                meanGradientNorm: normSum / Double(batches), maxGradientNorm: normMax,
                parameterGradientNorms: Dictionary(
                    uniqueKeysWithValues: zip(grads.names, perParameter.map { $0 / Double(batches) })))
            if let validation {
                let v = try evaluate(validation)
                record.validationLoss = v.loss
                record.validationAccuracy = model.objective == .crossEntropy ? v.accuracy : nil
            }
            history.append(record)
            for cb in callbacks { try cb.epochDidEnd(record) }
        }
        return history
    }

    /// Mean loss and accuracy over a dataset, in batches.
    public func evaluate<D: SequenceDataset>(_ data: D) throws -> (loss: Double, accuracy: Double) where D.Scalar == T {
        let r = try evaluate(data, items: false)
        return (r.loss, r.accuracy)
    }

    /// Mean loss and accuracy over a dataset, and per prediction row (a sequence, or a step of an every-step head) its
    /// squared error averaged over the outputs, or 1 where the largest logit is the label: one pass, the same loss.
    public func evaluateItems<D: SequenceDataset>(_ data: D) throws -> (loss: Double, accuracy: Double, items: [Double])
    where D.Scalar == T {
        try evaluate(data, items: true)
    }

    func evaluate<D: SequenceDataset>(_ data: D, items: Bool) throws -> (
        loss: Double, accuracy: Double, items: [Double]
    )
    where D.Scalar == T {
        guard options.batchSize >= 1 else {
            throw TrainingError(description: "batch size must be at least 1 (got \(options.batchSize))")
        }
        var lossSum = 0.0, correct = 0, seen = 0, perItem: [Double] = []
        let batchSize = min(options.batchSize, max(data.count, 1))
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let batch = data.batch(Array(start..<min(start + batchSize, data.count)))
            let r = try items ? model.evaluateItems(batch) : (model.evaluate(batch), [])
            lossSum += r.0.loss * Double(r.0.count); correct += r.0.correct; seen += r.0.count
            perItem += r.1
        }
        return (lossSum / Double(max(seen, 1)), Double(correct) / Double(max(seen, 1)), perItem)
    }
}

extension Trainer {
    /// A gradient that overflowed while the loss stayed a number: named apart from a loss that is no longer a number
    /// (an update with it would make every weight NaN, and clipping cannot scale an infinite norm).
    func nonFiniteGradient(_ norm: Double, epoch: Int, batch: Int, loss: Double) -> TrainingError {
        TrainingError(
            description:
                """
                the gradient norm became \(norm) at epoch \(epoch), batch \(batch), with the loss still finite \
                (\(loss)): the gradient overflowed; training stopped, the checkpoints of earlier epochs are kept (a \
                lower learning rate, or inputs of smaller magnitude, may help)
                """)
    }
}
