import Foundation
import Workbench
import TensorCore
import Recurrent
import SequenceData
import Analysis
import Charts

/// Q1's exploding gradients, shown rather than described. A ReLU RNN whose recurrent matrix is rho * I (the
/// identity-initialised IRNN of Le et al. 2015, scaled): while a unit is active, dh_t/dh_{t-1} = rho exactly,
/// so the gradient reaching step t scales as rho^(T - t): it vanishes below 1 and explodes above 1. The same
/// network with rho above 1 is then trained twice on the adding problem with plain SGD, from the same weights
/// and batches: once without clipping and once with the gradient norm clipped, and every batch's loss and
/// gradient norm are recorded.
package enum ExplodingGradients {
    package struct Options: Codable, Equatable, Sendable {
        /// Spectral radii of W_hh = rho * I whose gradients through time are compared at initialisation.
        package var radii: [Double] = [0.9, 1.0, 1.05, 1.1]
        /// The radius the two training runs start from.
        package var trainingRadius = 1.05
        package var steps = 30, hidden = 32, count = 2000, epochs = 4
        package var learningRate = 1e-3, clip = 1.0
    }

    /// One training run: each batch's loss and gradient norm (before clipping), and how it ended.
    package struct Run: Codable, Sendable {
        package var clip: Double?
        package var batchLosses: [Double]
        package var batchGradientNorms: [Double]
        /// Why training stopped early (the loss was no longer a number), nil when it finished.
        package var stopped: String?
        package var validationLoss: Double?
    }

    package struct Summary: Codable, Sendable {
        package var options: Options
        /// ||dL/dh_t|| at initialisation for each radius, t = 1...T.
        package var gradientThroughTime: [[Double]]
        /// Measured geometric-mean growth per step of ||dL/dh_t|| going back in time, per radius.
        package var perStepGrowth: [Double]
        package var unclipped: Run, clipped: Run
        package var findings: [Finding]
    }

    /// Records every batch's loss and gradient norm.
    final class BatchRecorder: TrainingCallback {
        var losses: [Double] = [], norms: [Double] = []
        func batchDidEnd(epoch: Int, batch: Int, of total: Int, loss: Double, gradientNorm: Double) {
            losses.append(loss); norms.append(gradientNorm)
        }
    }

    static func model(radius: Double, _ o: Options, seed: UInt64) -> SequenceModel<Float> {
        var rng = SeededRandom(seed: SeedStream.explodingModels.seed(seed))
        let config = RecurrentConfig(cell: .rnn, inputSize: 2, hiddenSize: o.hidden, nonlinearity: .relu)
        let rnn = RecurrentNetwork<Float>(config: config, rng: &rng)
        var identity = [Float](repeating: 0, count: o.hidden * o.hidden)
        for j in 0..<o.hidden { identity[j * o.hidden + j] = Float(radius) }
        rnn.parameters["weight_hh_l0"] = try! Tensor(shape: [o.hidden, o.hidden], data: identity)
        return SequenceModel(
            embedding: nil, rnn: rnn, head: Linear(inputSize: o.hidden, outputSize: 1, rng: &rng),
            headMode: .lastStep, objective: .meanSquaredError)
    }

    /// The gradient through time at initialisation per radius, and the two training runs; toy/exploding.json
    /// written. Drawn after by `render`.
    package static func measure(options o: Options, seed: UInt64, context: RunContext) throws -> Summary {
        var dataRng = SeededRandom(seed: SeedStream.explodingData.seed(seed))
        let trainData = AddingTask(count: o.count, steps: o.steps, rng: &dataRng).data
        let validation = AddingTask(count: 500, steps: o.steps, rng: &dataRng).data
        let probe = validation.batch(Array(0..<min(32, validation.count)))

        // Gradient through time at initialisation, one curve per radius.
        var curves: [[Double]] = []
        for rho in o.radii {
            let m = model(radius: rho, o, seed: seed)
            var g = m.parameters.zerosLike()
            _ = try m.forwardBackward(probe, into: &g)
            curves.append(GradientFlow.stepNorms(m.lastHiddenGradient!))
        }
        // Growth per step going back in time: (||dL/dh_1|| / ||dL/dh_T||)^(1/(T-1)).
        let growth = curves.map { GradientFlow.perStepFactor($0) }

        let data = (train: trainData, validation: validation)
        let (unclipped, clipped) = try trainedRuns(o, seed: seed, data: data, context: context)
        let findings = Self.findings(o, growth: growth, unclipped: unclipped, clipped: clipped)

        let summary = Summary(
            options: o, gradientThroughTime: curves, perStepGrowth: growth, unclipped: unclipped, clipped: clipped,
            findings: findings)
        try context.folder.writeJSON(summary, to: "toy/exploding.json")
        return summary
    }

    /// The unclipped and the clipped run: trained, or when a finished run is rendered again (`rnnlab report`), the
    /// ones toy/exploding.json recorded (they keep no checkpoints).
    static func trainedRuns(
        _ o: Options, seed: UInt64,
        data: (train: TensorSequenceDataset<Float>, validation: TensorSequenceDataset<Float>), context: RunContext
    ) throws -> (Run, Run) {
        if !context.trains {
            let saved = context.folder.readJSON(Summary.self, from: "toy/exploding.json")
            if let saved, try JSONValue(encoding: saved.options) == JSONValue(encoding: o) {
                return (saved.unclipped, saved.clipped)
            }
            try context.requireTrained("toy/exploding.json (exploding gradients)", done: 0, of: o.epochs)
        }
        return (
            try train(o, seed: seed, clip: nil, data: data, context: context),
            try train(o, seed: seed, clip: o.clip, data: data, context: context)
        )
    }

    /// The rho = `trainingRadius` network trained with plain SGD, every batch's loss and gradient norm recorded; a
    /// loss that stops being a number ends the run (its reason kept).
    static func train(
        _ o: Options, seed: UInt64, clip: Double?,
        data: (train: TensorSequenceDataset<Float>, validation: TensorSequenceDataset<Float>), context: RunContext
    ) throws -> Run {
        let m = model(radius: o.trainingRadius, o, seed: seed)
        m.threads = context.threads
        let trainer = Trainer(
            model: m, optimizer: .sgd(lr: o.learningRate),
            options: TrainingOptions(epochs: o.epochs, batchSize: 32, clipNorm: clip, shuffleSeed: seed))
        let recorder = BatchRecorder()
        let label = clip.map { "exploding, clipped at \(fmt($0, 3))" } ?? "exploding, unclipped"
        trainer.callbacks = context.progressCallbacks(label) + [recorder]
        var stopped: String? = nil, validationLoss: Double? = nil
        do {
            validationLoss = try trainer.fit(train: data.train, validation: data.validation).last?.validationLoss
        } catch let e as TrainingError {
            stopped = e.description
        }
        return Run(
            clip: clip, batchLosses: recorder.losses, batchGradientNorms: recorder.norms, stopped: stopped,
            validationLoss: validationLoss)
    }

    /// Sentences from the measurements: the growth per step at each radius, the largest loss and gradient of
    /// each run, where the loss first jumped tenfold above its start, and how each run ended.
    static func findings(_ o: Options, growth: [Double], unclipped: Run, clipped: Run) -> [Finding] {
        var lines: [Finding] = []
        let n = o.steps - 1
        let factors: String = zip(o.radii, growth).map { "rho \(fmt($0.0, 3)): \(fmt($0.1, 3))" }.joined(
            separator: ", ")
        let verdicts: String = zip(o.radii, growth).map { rho, g in
            "rho \(fmt(rho, 3)) " + Verdicts.gradientPath(factor: g, steps: n)
        }.joined(separator: ", ")
        lines.append(
            .detail(
                "Gradient growth per step going back in time at initialisation (measured): \(factors). \(verdicts).",
                numbers: Dictionary(uniqueKeysWithValues: zip(o.radii.map { "rho \($0)" }, growth))))
        func describe(_ r: Run, _ name: String) -> String {
            let first = r.batchLosses.first ?? .nan
            let finite = r.batchLosses.filter(\.isFinite)
            let spike = r.batchLosses.firstIndex { !$0.isFinite || $0 > 10 * first }
            var s =
                "\(name): first batch loss \(fmt(first, 3)), largest \(fmt(finite.max() ?? .nan, 3)), largest "
                + "gradient norm \(fmt(r.batchGradientNorms.filter(\.isFinite).max() ?? .nan, 3))"
            if let spike {
                s += "; the loss jumped above ten times its start at batch \(spike + 1)"
            } else if r.stopped == nil {
                s += "; the loss never rose above ten times its start"
            }
            if let stopped = r.stopped {
                s += "; training stopped: \(stopped.split(separator: ";").first ?? "")"
            } else if let v = r.validationLoss {
                let versus = v < AddingTask.baselineMSE ? "below" : "not below"
                s +=
                    "; it finished with validation MSE \(fmt(v, 3)), \(versus) the constant guess's "
                    + "\(fmt(AddingTask.baselineMSE, 3))"
            }
            return s + "."
        }
        lines.append(
            .headline(
                describe(unclipped, "Without clipping (rho \(fmt(o.trainingRadius, 3)), SGD)"),
                numbers: [
                    "largest loss": unclipped.batchLosses.filter(\.isFinite).max() ?? .nan,
                    "largest gradient norm": unclipped.batchGradientNorms.filter(\.isFinite).max() ?? .nan
                ]))
        lines.append(.detail(describe(clipped, "With clipping at norm \(fmt(o.clip, 3))")))
        return lines
    }
}
