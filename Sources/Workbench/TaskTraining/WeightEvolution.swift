import Foundation
import TensorCore
import Recurrent
import SequenceData
import Analysis
import Interchange

/// Watches a model's weights epoch by epoch: statistics of every tensor and gate block, update-to-weight
/// ratios, gradient norms, gate saturation on a fixed probe batch, value samples for histograms / KDE,
/// and the same as TensorBoard summaries.
package final class WeightEvolution: TrainingCallback {
    package struct Snapshot: Codable, Sendable {
        package var epoch: Int  // 0 = initial weights
        package var stats: [String: WeightStats]  // block name -> stats
        package var updateRatio: [String: Double]  // ||W_e - W_{e-1}||_F / ||W_{e-1}||_F per block
        package var saturation: [SaturationStats]
        package var gradientNorms: [String: Double]  // per parameter, mean over the epoch's batches
        /// ||dL/dh_t|| of the top layer at every step t on the probe batch, with these weights.
        package var stepGradientNorms: [Double] = []
    }

    package let model: SequenceModel<Float>
    let probe: SequenceBatch<Float>
    let blocks: [WeightBlock]
    let tensorboard: TensorBoardWriter?
    package private(set) var snapshots: [Snapshot] = []
    /// Block name -> per-snapshot value samples (at most `sampleSize` values, evenly strided).
    package private(set) var samples: [String: [[Double]]] = [:]
    var previous: ParameterSet<Float>?
    /// The weights of the first snapshot (epoch 0).
    package private(set) var initial: ParameterSet<Float>?
    let sampleSize = 4000

    package init(model: SequenceModel<Float>, probe: SequenceBatch<Float>, tensorboard: TensorBoardWriter?) {
        self.model = model; self.probe = probe; self.tensorboard = tensorboard
        blocks = WeightBlock.blocks(
            of: model.parameters, cell: model.rnn.config.cell, hidden: model.rnn.config.hiddenSize)
    }

    /// Records the current weights as `epoch` (0 for the initial ones); `record` adds losses and gradient norms.
    package func capture(epoch: Int, record: EpochRecord?) throws {
        let params = model.parameters
        var stats: [String: WeightStats] = [:], ratio: [String: Double] = [:]
        for b in blocks {
            let v = b.values(in: params)
            // Spectral norms for the recurrent matrices (each gate block is H x H) and the head.
            let wantsSpectral = b.parameter.contains("weight_hh") || b.parameter == "fc.weight"
            var s = WeightStats(v, rows: wantsSpectral ? b.rows.count : nil, cols: wantsSpectral ? b.cols : nil)
            // A recurrent weight that is the diagonal of diag(u) (the cell says so: IndRNN) has spectral norm max |u|.
            if b.parameter.contains("weight_hh") && model.rnn.config.layout.recurrentWeight == .diagonal {
                s.spectralNorm = s.maxAbs
            }
            stats[b.name] = s
            if let prev = previous {
                let p = b.values(in: prev)
                let diff = zip(v, p).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                let base = p.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                ratio[b.name] = base > 0 ? diff / base : 0
            }
            let stride = max(1, v.count / sampleSize)
            samples[b.name, default: []].append(Swift.stride(from: 0, to: v.count, by: stride).map { v[$0] })
        }
        // One forward and backward pass on the probe: the gates for saturation (kept through the backward pass,
        // which would otherwise write their gradients over them), dL/dh_t for the gradient over time.
        var gradients = model.parameters.zerosLike()
        _ = try model.forwardBackward(probe, into: &gradients, retainForward: true)
        let saturation = try SaturationStats.measure(model.rnn, layer: model.rnn.config.numLayers - 1)
        snapshots.append(
            Snapshot(
                epoch: epoch, stats: stats, updateRatio: ratio, saturation: saturation,
                gradientNorms: record?.parameterGradientNorms ?? [:],
                stepGradientNorms: model.lastHiddenGradient.map(GradientFlow.stepNorms) ?? []))
        previous = params
        if initial == nil { initial = params }
        if let tb = tensorboard {
            try log(
                tb, epoch: epoch, record: record, params: params, stats: stats, ratio: ratio, saturation: saturation)
        }
    }

    func log(
        _ tb: TensorBoardWriter, epoch: Int, record: EpochRecord?, params: ParameterSet<Float>,
        stats: [String: WeightStats],
        ratio: [String: Double], saturation: [SaturationStats]
    ) throws {
        if let r = record {
            try tb.scalar("loss/train", r.trainLoss, step: epoch)
            if let v = r.validationLoss { try tb.scalar("loss/validation", v, step: epoch) }
            if let a = r.trainAccuracy { try tb.scalar("accuracy/train", a, step: epoch) }
            if let a = r.validationAccuracy { try tb.scalar("accuracy/validation", a, step: epoch) }
            try tb.scalar("gradient_norm/global_mean", r.meanGradientNorm, step: epoch)
            for (n, g) in r.parameterGradientNorms.sorted(by: { $0.key < $1.key }) {
                try tb.scalar("gradient_norm/\(n)", g, step: epoch)
            }
        }
        for b in blocks where b.parameter.contains("weight") {
            try tb.histogram("weights/\(b.name)", b.values(in: params), step: epoch)
            if let s = stats[b.name]?.spectralNorm { try tb.scalar("spectral_norm/\(b.name)", s, step: epoch) }
            if let u = ratio[b.name] { try tb.scalar("update_ratio/\(b.name)", u, step: epoch) }
        }
        for s in saturation { try tb.scalar("saturation/\(s.gate)", s.total, step: epoch) }
        try tb.flush()
    }

    /// ||W_now - W_0||_F / ||W_0||_F for each block: how far training moved it from its initialisation.
    package func totalChange() -> [String: Double] {
        guard let first = initial, let last = previous else { return [:] }
        var out: [String: Double] = [:]
        for b in blocks {
            let a = b.values(in: first), z = b.values(in: last)
            let base = a.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            out[b.name] =
                base > 0 ? zip(z, a).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() / base : 0
        }
        return out
    }

    package func epochDidEnd(_ record: EpochRecord) throws { try capture(epoch: record.epoch, record: record) }
}
