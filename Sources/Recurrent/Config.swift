import TensorCore

/// The three recurrent cell families.
public enum CellKind: String, Codable, CaseIterable, Sendable {
    case rnn, lstm, gru
    /// Gate blocks stacked in W_ih / W_hh, in PyTorch's order: RNN 1; LSTM 4 (i, f, g, o); GRU 3 (r, z, n).
    public var gateCount: Int {
        switch self {
        case .rnn: 1;
        case .lstm: 4;
        case .gru: 3
        }
    }
    public var gateNames: [String] {
        switch self {
        case .rnn: ["h"];
        case .lstm: ["i", "f", "g", "o"];
        case .gru: ["r", "z", "n"]
        }
    }
    public var displayName: String {
        switch self {
        case .rnn: "RNN";
        case .lstm: "LSTM";
        case .gru: "GRU"
        }
    }
}

/// Vanilla RNN activation, as nn.RNN's `nonlinearity`.
public enum Nonlinearity: String, Codable, Sendable { case tanh, relu }

/// Where the GRU applies its reset gate.
public enum GRUVariant: String, Codable, Sendable {
    /// PyTorch / cuDNN: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
    case resetAfter = "reset_after"
    /// The original (Cho et al. 2014; Keras reset_after=False): n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
    case resetBefore = "reset_before"
}

/// Shape and kind of a stacked recurrent network (batch-first, like nn.RNN/LSTM/GRU(batch_first=True)).
public struct RecurrentConfig: Codable, Equatable, Sendable {
    public var cell: CellKind
    public var inputSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var nonlinearity: Nonlinearity
    public var gruVariant: GRUVariant

    public init(
        cell: CellKind, inputSize: Int, hiddenSize: Int, numLayers: Int = 1,
        nonlinearity: Nonlinearity = .tanh, gruVariant: GRUVariant = .resetAfter
    ) {
        self.cell = cell; self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.numLayers = numLayers
        self.nonlinearity = nonlinearity; self.gruVariant = gruVariant
    }

    public var gateWidth: Int { cell.gateCount * hiddenSize }
    public func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : hiddenSize }

    /// PyTorch's parameter names and shapes, layer by layer: weight_ih_l{k} [G*H, in], weight_hh_l{k} [G*H, H],
    /// bias_ih_l{k} [G*H], bias_hh_l{k} [G*H].
    public var parameterLayout: [(name: String, shape: [Int])] {
        (0..<numLayers).flatMap { k in
            [
                ("weight_ih_l\(k)", [gateWidth, layerInputSize(k)]), ("weight_hh_l\(k)", [gateWidth, hiddenSize]),
                ("bias_ih_l\(k)", [gateWidth]), ("bias_hh_l\(k)", [gateWidth])
            ]
        }
    }

    public var parameterCount: Int { parameterLayout.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    public var description: String {
        var s = "\(cell.displayName)(\(inputSize)->\(hiddenSize), layers \(numLayers)"
        if cell == .rnn { s += ", \(nonlinearity.rawValue)" }
        if cell == .gru { s += ", \(gruVariant.rawValue)" }
        return s + ")"
    }
}
