import TensorCore

/// The recurrent cell families. Everything a cell is (gates, parameter shapes, state, forward and backward
/// step) lives in its cell type in Cells.swift; this enum names it for files, options and reports.
public enum CellKind: String, Codable, CaseIterable, Sendable {
    case rnn, lstm, gru, indrnn
    /// Gate blocks stacked in W_ih / W_hh, in PyTorch's order: RNN 1; LSTM 4 (i, f, g, o); GRU 3 (r, z, n).
    public var gateCount: Int { cellType.gateNames.count }
    /// The gate blocks' names, in PyTorch's order (LSTM i, f, g, o; GRU r, z, n).
    public var gateNames: [String] { cellType.gateNames }
    /// The name reports use ("LSTM").
    public var displayName: String { cellType.displayName }
    /// Whether the cell carries a cell state c beside h (the LSTM), so it takes c0 and returns c_n.
    public var hasCellState: Bool { cellType.hasCellState }
    /// The gate block that decides how much of the previous state is kept (LSTM f, GRU z); nil without one.
    public var carryGateBlock: Int? { cellType.carryGateBlock }
    /// Whether weight_hh holds only the diagonal of the recurrence (IndRNN's u, multiplying h_{t-1} element-wise):
    /// its largest singular value is then max |u|.
    public var recurrentWeightIsDiagonal: Bool { cellType.recurrentWeightIsDiagonal }
}

/// The function a gate block applies, and what "saturated" means for it.
public enum GateActivation: String, Codable, Sendable {
    case sigmoid, tanh, relu

    /// Whether an activation value sits in this function's low / high saturated range, where its derivative
    /// nearly vanishes: sigmoid below 0.05 or above 0.95 (derivative < 0.05), tanh beyond -0.95 / 0.95
    /// (derivative < 0.1), ReLU exactly 0 (a dead unit passes no gradient; ReLU has no high saturation).
    public func saturation(_ v: Double) -> (low: Bool, high: Bool) {
        switch self {
        case .sigmoid: (v < 0.05, v > 0.95)
        case .tanh: (v < -0.95, v > 0.95)
        case .relu: (v == 0, false)
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

    /// PyTorch's parameter names and shapes, layer by layer: weight_ih_l{k} [G*H, in], weight_hh_l{k} (the
    /// cell's shape: [G*H, H], or [H] for IndRNN's element-wise recurrence), bias_ih_l{k} [G*H], bias_hh_l{k} [G*H].
    public var parameterLayout: [(name: String, shape: [Int])] {
        (0..<numLayers).flatMap { k in
            [
                ("weight_ih_l\(k)", [gateWidth, layerInputSize(k)]),
                ("weight_hh_l\(k)", cell.cellType.recurrentWeightShape(hidden: hiddenSize)),
                ("bias_ih_l\(k)", [gateWidth]), ("bias_hh_l\(k)", [gateWidth])
            ]
        }
    }

    /// Scalars in all of the stack's weights and biases.
    public var parameterCount: Int { parameterLayout.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// A short description: "LSTM(28->128, layers 1)".
    public var description: String {
        let settings = cell.cellType.settings(self).map { ", " + $0 }.joined()
        return "\(cell.displayName)(\(inputSize)->\(hiddenSize), layers \(numLayers)\(settings))"
    }
}
