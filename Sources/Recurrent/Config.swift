import Foundation
import TensorCore

/// The function a gate block applies, and what "saturated" means for it.
public enum GateActivation: String, Codable, Sendable {
    case sigmoid, tanh, relu
    /// A linear block (minGRU's and minLSTM's candidate h~): never saturates.
    case identity

    /// Whether an activation value sits in this function's low / high saturated range, where its derivative
    /// nearly vanishes: sigmoid below 0.05 or above 0.95 (derivative < 0.05), tanh beyond -0.95 / 0.95
    /// (derivative < 0.1), ReLU exactly 0 (a dead unit passes no gradient; ReLU has no high saturation).
    public func saturation(_ v: Double) -> (low: Bool, high: Bool) {
        switch self {
        case .sigmoid: (v < 0.05, v > 0.95)
        case .tanh: (v < -0.95, v > 0.95)
        case .relu: (v == 0, false)
        case .identity: (false, false)
        }
    }
}

/// Vanilla RNN activation, as nn.RNN's `nonlinearity`.
public enum Nonlinearity: String, Codable, Sendable {
    case tanh, relu
    var activation: GateActivation { self == .tanh ? .tanh : .relu }
}

/// Where the GRU applies its reset gate.
public enum GRUVariant: String, Codable, Sendable {
    /// PyTorch / cuDNN: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
    case resetAfter = "reset_after"
    /// The original (Cho et al. 2014; Keras reset_after=False): n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
    case resetBefore = "reset_before"
}

/// Shape and kind of a stacked recurrent network (batch-first, like nn.RNN/LSTM/GRU(batch_first=True)).
public struct RecurrentConfig: Codable, Equatable, Sendable {
    /// The cell family of every layer.
    public var cell: CellKind
    /// Features per step of the input.
    public var inputSize: Int
    /// Units per layer (H).
    public var hiddenSize: Int
    /// Stacked layers; layer k > 0 reads layer k - 1's hidden states.
    public var numLayers: Int
    /// The vanilla RNN's and IndRNN's activation.
    public var nonlinearity: Nonlinearity
    /// Where the GRU applies its reset gate.
    public var gruVariant: GRUVariant

    /// A configuration; the defaults are PyTorch's (tanh, reset-after GRU, one layer).
    public init(
        cell: CellKind, inputSize: Int, hiddenSize: Int, numLayers: Int = 1,
        nonlinearity: Nonlinearity = .tanh, gruVariant: GRUVariant = .resetAfter
    ) {
        self.cell = cell; self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.numLayers = numLayers
        self.nonlinearity = nonlinearity; self.gruVariant = gruVariant
    }

    /// Gate blocks times hidden units: the width of W_ih's rows.
    public var gateWidth: Int { cell.gateCount * hiddenSize }
    /// The activation of each gate block, in gate order (for saturation statistics).
    public var gateActivations: [GateActivation] { cell.cellType.gateActivations(self) }
    /// Features layer `layer` reads per step.
    public func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : hiddenSize }

    /// The cell type of this configuration.
    public var cellType: any RecurrentCell.Type { cell.cellType }
    /// The cell's layout facts at this configuration.
    public var layout: CellLayout { cell.cellType.layout(self) }

    /// PyTorch's parameter names and shapes, layer by layer: weight_ih_l{k} [G*H, in], weight_hh_l{k} (the
    /// cell's shape: [G*H, H], or [H] for IndRNN's element-wise recurrence), bias_ih_l{k} [G*H], bias_hh_l{k} [G*H];
    /// a cell without a recurrent weight (minGRU, minLSTM) has only weight_ih_l{k} and bias_ih_l{k}.
    public var parameterLayout: [(name: String, shape: [Int])] {
        let recurrent = layout.recurrentWeight
        return (0..<numLayers).flatMap { k in
            let n = LayerParameterNames(layer: k, hasHidden: recurrent != .none)
            var entries: [(name: String, shape: [Int])] = [(n.wih, [gateWidth, layerInputSize(k)])]
            if let whh = n.whh {
                entries.append((whh, recurrent == .diagonal ? [hiddenSize] : [gateWidth, hiddenSize]))
            }
            entries.append((n.bih, [gateWidth]))
            if let bhh = n.bhh { entries.append((bhh, [gateWidth])) }
            return entries
        }
    }

    /// Layer k's parameter names.
    public func parameterNames(layer k: Int) -> LayerParameterNames {
        LayerParameterNames(layer: k, hasHidden: layout.hasHiddenParameters)
    }

    /// Scalars in all of the stack's weights and biases.
    public var parameterCount: Int { parameterLayout.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// About how many bytes training this stack on batches of `batch` sequences of `steps` holds, with numbers of
    /// `scalarSize` bytes: the weights about six times over (themselves, gradients, two optimizer moments, the
    /// transposed and packed copies a pass works on) and, per layer, every step's gates and their gradients,
    /// states, input and input gradient, plus the batch-first copies of the top layer's outputs and their
    /// gradients. Counted in Double, so sizes far past memory give a large number, never an overflow trap.
    public func memoryEstimate(batch: Int, steps: Int, scalarSize: Int = 4) -> Double {
        let H = Double(hiddenSize), G = Double(cell.gateCount) * H, B = Double(batch), T = Double(steps)
        let form = layout.recurrentWeight
        let recurrent = form == .matrix ? G * H : form == .diagonal ? H : 0, biases = form == .none ? G : 2 * G
        func layer(input: Double) -> Double {
            6 * (G * input + recurrent + biases) + 3 * T * B * G + 3 * (T + 1) * B * H + 2 * T * B * input
        }
        let upper = Double(max(numLayers - 1, 0))
        let scalars = 5 * T * B * H + layer(input: Double(inputSize)) + upper * layer(input: H)
        return scalars * Double(scalarSize)
    }

    /// Throws, naming the sizes and the memory they need, when training on batches of `batch` x `steps` needs
    /// more than `available` bytes (default: the machine's physical memory), so that a size typed one digit too
    /// long ends in a message instead of a failed allocation or an overflow trap.
    public func checkMemory(
        batch: Int, steps: Int, scalarSize: Int = 4,
        available: UInt64 = ProcessInfo.processInfo.physicalMemory
    ) throws {
        let need = memoryEstimate(batch: batch, steps: steps, scalarSize: scalarSize)
        guard need > Double(available) else { return }
        func size(_ bytes: Double) -> String {
            let units = ["bytes", "KB", "MB", "GB", "TB", "PB"]
            var v = bytes, i = 0
            while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
            return v >= 1e4 ? String(format: "%.2g %@", v, units[i]) : String(format: "%.0f %@", v, units[i])
        }
        throw ShapeError(
            """
            \(cell.displayName) with hidden size \(hiddenSize), input size \(inputSize) and \(numLayers) \
            layer\(numLayers == 1 ? "" : "s") on batches of \(batch) sequence\(batch == 1 ? "" : "s") of \(steps) \
            step\(steps == 1 ? "" : "s") needs about \
            \(size(need)) of memory; this machine has \(size(Double(available))). Use smaller sizes.
            """
        )
    }

    /// A short description: "LSTM(28->128, layers 1)".
    public var description: String {
        let settings = cell.cellType.settings(self).map { ", " + $0 }.joined()
        return "\(cell.displayName)(\(inputSize)->\(hiddenSize), layers \(numLayers)\(settings))"
    }
}

extension Nonlinearity {
    /// ONNX's name of the activation ("Tanh", "Relu").
    var onnx: String { self == .tanh ? "Tanh" : "Relu" }

    /// h = act(pre), in place over n values (the vanilla RNN's and IndRNN's step).
    @inline(__always)
    func apply<T: Real>(_ p: UnsafeMutablePointer<T>, _ n: Int) {
        if self == .tanh {
            T.tanhInPlace(p, n)
        } else {
            for i in 0..<n { p[i] = max(p[i], 0) }
        }
    }

    /// d pre = dh * act'(pre) over n values, from h = act(pre): tanh' = 1 - h^2, relu' = [h > 0].
    /// Explicit 16-lane vectors: d is h itself (dG is written over the activations), and with the two overlapping the
    /// compiler's own vector loop fell back to scalar code. Not inlined: in the cells' generic entry points (reached
    /// through the cell protocol) the vector code made every call look up SIMD16<T>'s metadata before dispatching to
    /// the Float body (9% of the Q1 RNN's backward pass).
    @inline(never) @_specialize(where T == Float) @_specialize(where T == Double)
    func backward<T: Real>(dh: UnsafePointer<T>, h: UnsafePointer<T>, into d: UnsafeMutablePointer<T>, _ n: Int) {
        var i = 0
        if self == .tanh {
            while i + 16 <= n {
                let hv = load16(h + i)
                store16(load16(dh + i) * (1 - hv * hv), d + i)
                i += 16
            }
            while i < n { d[i] = dh[i] * (1 - h[i] * h[i]); i += 1 }
        } else {
            while i + 16 <= n {
                store16(SIMD16<T>().replacing(with: load16(dh + i), where: load16(h + i) .> 0), d + i)
                i += 16
            }
            while i < n { d[i] = h[i] > 0 ? dh[i] : 0; i += 1 }
        }
    }
}

/// One layer's parameter names, PyTorch's: weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (the hidden
/// ones nil for a cell without a recurrent weight).
public struct LayerParameterNames: Sendable, Equatable {
    public let wih: String, whh: String?, bih: String, bhh: String?

    init(layer k: Int, hasHidden: Bool) {
        wih = "weight_ih_l\(k)"; bih = "bias_ih_l\(k)"
        whh = hasHidden ? "weight_hh_l\(k)" : nil
        bhh = hasHidden ? "bias_hh_l\(k)" : nil
    }
}

/// Where one layer's tensors sit in a ParameterSet (the stack's parameters or their gradients), found by name.
struct LayerSlots {
    let wih: Int, whh: Int?, bih: Int, bhh: Int?

    init<T: Real>(_ names: LayerParameterNames, in set: ParameterSet<T>) {
        wih = set.index(of: names.wih)!; bih = set.index(of: names.bih)!
        whh = names.whh.flatMap(set.index(of:)); bhh = names.bhh.flatMap(set.index(of:))
    }
}
