import TensorCore

/// Backpropagation through time checked against central differences in Double, small enough to run inside a
/// study so its report can state this run's evidence: every parameter entry, every input entry and every initial
/// state entry of a random problem, with the loss L = sum(output * G) + sum(h_n * G_h) + sum(c_n * G_c).
package enum GradientCheck {
    package struct Result: Codable, Sendable, Equatable {
        /// The network checked ("LSTM(3, 4, layers=2)").
        package var network: String
        /// Entries compared: parameters, inputs and initial states.
        package var entries: Int
        /// The largest |analytic - numeric| / max(1, |numeric|) over them.
        package var maxError: Double
        package init(network: String, entries: Int, maxError: Double) {
            self.network = network; self.entries = entries; self.maxError = maxError
        }
    }

    /// Checks `config` (Double) on a batch of `batch` sequences of `steps` steps drawn from `seed`.
    package static func run(_ config: RecurrentConfig, batch: Int = 2, steps: Int = 5, seed: UInt64 = 1) throws
        -> Result
    {
        var rng = SeededRandom(seed: seed)
        let net = RecurrentNetwork<Double>(config: config, rng: &rng)
        let (L, H) = (config.numLayers, config.hiddenSize), cellState = config.cell.hasCellState
        var x = Tensor<Double>.uniform([batch, steps, config.inputSize], -1, 1, rng: &rng)
        var h0 = Tensor<Double>.uniform([L, batch, H], -0.5, 0.5, rng: &rng)
        var c0: Tensor<Double>? = cellState ? .uniform([L, batch, H], -0.5, 0.5, rng: &rng) : nil
        let gOut = Tensor<Double>.uniform([batch, steps, H], -1, 1, rng: &rng)
        let gHn = Tensor<Double>.uniform([L, batch, H], -1, 1, rng: &rng)
        let gCn: Tensor<Double>? = cellState ? .uniform([L, batch, H], -1, 1, rng: &rng) : nil
        func loss() throws -> Double {
            let f = try net.forward(x, h0: h0, c0: c0)
            var l = zip(f.output.data, gOut.data).reduce(0) { $0 + $1.0 * $1.1 }
            l += zip(f.hn.data, gHn.data).reduce(0) { $0 + $1.0 * $1.1 }
            if let cn = f.cn, let g = gCn { l += zip(cn.data, g.data).reduce(0) { $0 + $1.0 * $1.1 } }
            return l
        }
        _ = try net.forward(x, h0: h0, c0: c0)
        var grads = net.parameters.zerosLike()
        let back = try net.backward(dOutput: gOut, dhn: gHn, dcn: gCn, into: &grads)
        var worst = 0.0, entries = 0
        /// Central difference of the loss in one entry, nudged by `perturb`, against the analytic `a`.
        func compare(_ a: Double, _ perturb: (Double) -> Void) throws {
            let eps = 1e-6
            perturb(eps)
            let up = try loss()
            perturb(-2 * eps)
            let down = try loss()
            perturb(eps)
            let numeric = (up - down) / (2 * eps)
            worst = max(worst, abs(a - numeric) / max(1, abs(numeric)))
            entries += 1
        }
        for t in net.parameters.tensors.indices {
            for j in net.parameters.tensors[t].data.indices {
                try compare(grads.tensors[t].data[j]) { net.parameters.tensors[t].data[j] += $0 }
            }
        }
        for j in x.data.indices { try compare(back.dx!.data[j]) { x.data[j] += $0 } }
        for j in h0.data.indices { try compare(back.dh0.data[j]) { h0.data[j] += $0 } }
        if let dc0 = back.dc0 { for j in dc0.data.indices { try compare(dc0.data[j]) { c0!.data[j] += $0 } } }
        return Result(network: config.description, entries: entries, maxError: worst)
    }
}
