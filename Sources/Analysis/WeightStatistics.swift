import Foundation
import TensorCore
import Recurrent

/// Summary statistics of a block of weights.
public struct WeightStats: Codable, Sendable, Equatable {
    /// Mean, standard deviation, largest |w| and Frobenius norm.
    public var mean: Double, std: Double, maxAbs: Double, frobenius: Double
    /// Largest singular value of a matrix (a 1 x 1 W_hh of a one-unit network included); nil for vectors.
    public var spectralNorm: Double?

    /// The statistics of `v`; with rows and cols also its spectral norm.
    public init(_ v: [Double], rows: Int? = nil, cols: Int? = nil) {
        let n = Double(max(v.count, 1))
        let m = v.reduce(0, +) / n
        mean = m
        std = (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n).squareRoot()
        maxAbs = v.reduce(0) { max($0, abs($1)) }
        frobenius = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if let rows, let cols, rows >= 1, cols >= 1, rows * cols == v.count {
            spectralNorm = WeightStats.spectralNorm(v, rows: rows, cols: cols)
        } else {
            spectralNorm = nil
        }
    }

    /// sigma_max(W) by power iteration on W^T W (deterministic start), to relative accuracy ~1e-8.
    public static func spectralNorm(_ w: [Double], rows: Int, cols: Int, iterations: Int = 300) -> Double {
        var v = (0..<cols).map { 1 + 0.01 * Double($0 % 7) }
        var sigma = 0.0
        for _ in 0..<iterations {
            var u = [Double](repeating: 0, count: rows)
            for i in 0..<rows { var s = 0.0; for j in 0..<cols { s += w[i * cols + j] * v[j] }; u[i] = s }
            var nv = [Double](repeating: 0, count: cols)
            for i in 0..<rows { let ui = u[i]; if ui != 0 { for j in 0..<cols { nv[j] += w[i * cols + j] * ui } } }
            let norm = nv.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return 0 }
            let next = norm.squareRoot()  // ||W^T W v|| -> sigma^2 for unit v
            v = nv.map { $0 / norm }
            if abs(next - sigma) <= 1e-10 * next { return next }
            sigma = next
        }
        return sigma
    }
}

/// The named pieces of a recurrent network's weights that are worth watching separately: every tensor,
/// and each gate block of the weight matrices (LSTM i, f, g, o; GRU r, z, n).
public struct WeightBlock: Sendable {
    public let name: String  // "rnn.weight_hh_l0[f]" or "fc.weight"
    public let parameter: String  // state-dict name
    public let gate: String?  // nil for a whole tensor
    public let rows: Range<Int>  // row range inside the tensor
    /// Columns of the tensor (1 for vectors).
    public let cols: Int

    /// Blocks of a model's parameters: each whole tensor, plus one per gate for the recurrent weight matrices.
    public static func blocks<T: Real>(of params: ParameterSet<T>, cell: CellKind, hidden: Int) -> [WeightBlock] {
        var out: [WeightBlock] = []
        for (name, t) in zip(params.names, params.tensors) {
            let cols = t.rank == 2 ? t.shape[1] : 1
            let rows = t.rank == 2 ? t.shape[0] : t.count
            out.append(WeightBlock(name: name, parameter: name, gate: nil, rows: 0..<rows, cols: cols))
            if name.hasPrefix("rnn.weight_") && cell.gateCount > 1 {
                for (g, gate) in cell.gateNames.enumerated() {
                    out.append(
                        WeightBlock(
                            name: "\(name)[\(gate)]", parameter: name, gate: gate,
                            rows: (g * hidden)..<((g + 1) * hidden), cols: cols))
                }
            }
        }
        return out
    }

    /// This block's values in `params`.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func values<T: Real>(in params: ParameterSet<T>) -> [Double] {
        guard let t = params[parameter] else { return [] }
        return t.data[(rows.lowerBound * cols)..<(rows.upperBound * cols)].map(Double.init)
    }
}

/// Fractions of gate activations in their saturated ranges on one forward pass: sigmoid gates below 0.05 or
/// above 0.95 (nearly closed / open, derivative < 0.05), tanh units with |value| > 0.95 (derivative < 0.1).
public struct SaturationStats: Codable, Sendable, Equatable {
    /// The gate's name.
    public var gate: String
    public var low: Double, high: Double  // sigmoid: < 0.05, > 0.95; tanh: < -0.95, > 0.95
    /// Mean activation.
    public var mean: Double
    /// The saturated share at either end.
    public var total: Double { low + high }

    /// A gate's shares at each end and its mean activation.
    public init(gate: String, low: Double, high: Double, mean: Double) {
        self.gate = gate; self.low = low; self.high = high; self.mean = mean
    }

    /// Per gate for the last forward pass of layer `layer`, each by the rule of the activation its cell
    /// applies there (`GateActivation.saturation`; a ReLU's "low" counts dead units).
    @_specialize(where T == Float) @_specialize(where T == Double)
    public static func measure<T: Real>(_ net: RecurrentNetwork<T>, layer: Int = 0) throws -> [SaturationStats] {
        let c = net.config, H = c.hiddenSize, G = c.gateWidth
        return try net.withGateActivations(layer: layer) { acts in
            let rows = acts.count / G
            var out: [SaturationStats] = []
            for (g, (name, activation)) in zip(c.cell.gateNames, c.gateActivations).enumerated() {
                var lo = 0, hi = 0, sum = 0.0
                for r in 0..<rows {
                    for j in 0..<H {
                        let v = Double(acts[r * G + g * H + j])
                        sum += v
                        let (low, high) = activation.saturation(v)
                        if low { lo += 1 } else if high { hi += 1 }
                    }
                }
                let n = Double(max(rows * H, 1))
                out.append(SaturationStats(gate: name, low: Double(lo) / n, high: Double(hi) / n, mean: sum / n))
            }
            return out
        }
    }
}

/// Per-unit statistics of gate activations.
public enum GateStatistics {
    /// Per hidden unit, the mean activation of gate block `block` of layer `layer` over every row and step of
    /// the last forward pass (for the keep gate, LSTM f or GRU z: how much of the state each unit carries).
    @_specialize(where T == Float) @_specialize(where T == Double)
    /// Per unit, the mean fraction of the previous state layer `layer` kept over the last forward pass, read where
    /// the cell's carry path says (a gate's activation or a saved coefficient); nil for a cell without one.
    public static func meanCarry<T: Real>(_ net: RecurrentNetwork<T>, layer: Int = 0) throws -> [Double]? {
        switch net.config.cellType.carryPath?.source {
        case .gate(let block): return try meanActivation(net, block: block, layer: layer)
        case .saved(let name):
            guard let values = net.savedValues(name, layer: layer) else { return nil }
            let H = net.config.hiddenSize, rows = values.count / H
            var mean = [Double](repeating: 0, count: H)
            for row in 0..<rows { for j in 0..<H { mean[j] += Double(values[row * H + j]) / Double(rows) } }
            return mean
        case nil: return nil
        }
    }

    public static func meanActivation<T: Real>(_ net: RecurrentNetwork<T>, block: Int, layer: Int = 0) throws
        -> [Double]
    {
        let H = net.config.hiddenSize, G = net.config.gateWidth
        return try net.withGateActivations(layer: layer) { acts in
            let rows = acts.count / G
            var mean = [Double](repeating: 0, count: H)
            for row in 0..<rows { for j in 0..<H { mean[j] += Double(acts[row * G + block * H + j]) / Double(rows) } }
            return mean
        }
    }
}
