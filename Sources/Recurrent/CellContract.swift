import TensorCore

/// What a recurrent cell is, in two parts: the math it must state (its gates and their activations, its forward
/// step beside its backward step, its ONNX operator or none), and layout facts with defaults (``CellLayout``: the
/// shape of its recurrent weight, whether it has hidden biases or a cell state, which gate keeps the state, which
/// per-step values it saves for its backward step). One loop in `RecurrentNetwork` drives every cell, and the
/// stack, checkpoints and analysis ask the cell instead of branching on its kind.
///
/// Adding a cell: a type conforming to this protocol in a file of its own, one line in `CellKind.builtIn` (or
/// `CellKind.register(_:)` from outside the library), and its tests (AddACell.md).
public protocol RecurrentCell {
    /// The name in files and options ("lstm").
    static var name: String { get }
    /// The name in reports ("LSTM").
    static var displayName: String { get }
    /// Gate blocks stacked in weight_ih (and weight_hh), in PyTorch's order where PyTorch has the cell;
    /// G = gateNames.count.
    static var gateNames: [String] { get }
    /// The activation each gate block applies, for saturation statistics.
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation]

    /// One step for a batch: `s.gates` holds the step's input projection plus the folded biases on entry and
    /// must hold the gate activations on exit; writes h_t (and c_t) and the values `layout.saved` names.
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig)
    /// The step's backward: from dL/dh_t (and dL/dc_t) to the gate pre-activation gradients and dL/dh_{t-1}
    /// (and dL/dc_{t-1}, in place).
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig)

    /// The standard ONNX operator that computes this cell, or nil when ONNX has none (export then says so).
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator?

    // Layout facts and shared steps, with defaults below.

    /// Parameter shapes, state and saved values (default: a full W_hh, both biases, no cell state).
    static func layout(_ config: RecurrentConfig) -> CellLayout
    /// The configuration settings this cell reads, for descriptions ("tanh", "reset_after").
    static func settings(_ config: RecurrentConfig) -> [String]
    /// How the cell keeps its previous state around the squashing, for reports; nil when nothing does (RNN).
    static var carryPath: CarryPath? { get }
    /// Fresh recurrent weights of one gate block, drawn in order (the stack concatenates the G blocks).
    static func initialRecurrentBlock(_ initializer: Initializer, hidden H: Int, rng: inout SeededRandom) -> [Double]
    /// dW_hh += over all steps, dG_h^T [G, rows] x (what W_hh multiplied) [rows, H]; and dG_h's column sums into
    /// `q.hiddenBiasSums` when given.
    static func addRecurrentWeightGradient<T: Real>(
        _ q: SequenceGradients<T>, into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig)
}

/// The shape of a cell's recurrent weight weight_hh.
public enum RecurrentWeightForm: Sendable {
    /// [G*H, H]: h_{t-1} W_hh^T, packed once per pass for the step products.
    case matrix
    /// [H]: one weight per unit, multiplying h_{t-1} element-wise (IndRNN's u); its spectral norm is max |u|.
    case diagonal
    /// No weight_hh (and no bias_hh): the gates read x_t only (minGRU, minLSTM).
    case none
}

/// Facts about a cell's parameters and buffers that the stack reads, with the defaults of a PyTorch-style cell.
public struct CellLayout: Sendable {
    /// weight_hh's shape.
    public var recurrentWeight: RecurrentWeightForm
    /// Whether the cell carries a cell state c beside h (and so takes c0 and returns c_n).
    public var cellState: Bool
    /// The gate block whose biases a forget-gate bias initialisation sets, if the cell has such a gate.
    public var forgetGate: Int?
    /// The gate block that decides how much of the previous state is kept (LSTM f, GRU z), if any.
    public var carryGate: Int?
    /// The gate block whose bias chrono initialisation sets to minus the carry gate's (LSTM i), if any.
    public var writeGate: Int?
    /// The names of the [B, H] values a forward step saves for its backward step (StepBuffers.saved).
    public var saved: [String]
    /// Gate blocks whose b_hh the step adds itself (the GRU's b_hn, inside the reset product); every other
    /// column of b_hh simply adds to the pre-activation and is folded into the input projection.
    public var hiddenBiasInsideStep: Set<Int>
    /// Whether the gradients of the hidden-side pre-activations differ from the input-side ones and need a buffer
    /// of their own (StepGradients.dGh; the GRU's reset-after n gate).
    public var separateHiddenGradients: Bool
    /// Whether dW_ih and dW_hh are one product over all steps, dG^T [x_t | h_{t-1}]: W_hh multiplies h_{t-1} in every
    /// gate (the default `addRecurrentWeightGradient`) and the hidden side's dG is the input side's (LSTM, Elman RNN).
    /// The stack then reads dG once for both (`gemmTransposedSideBySide`); otherwise it calls the input product and
    /// the cell's `addRecurrentWeightGradient` apart. Off unless a cell says so: the cell that overrides the recurrent
    /// product must not be summed as if it did not.
    public var oneWeightGradientProduct: Bool

    public init(
        recurrentWeight: RecurrentWeightForm = .matrix, cellState: Bool = false, forgetGate: Int? = nil,
        carryGate: Int? = nil, writeGate: Int? = nil, saved: [String] = [], hiddenBiasInsideStep: Set<Int> = [],
        separateHiddenGradients: Bool = false, oneWeightGradientProduct: Bool = false
    ) {
        self.recurrentWeight = recurrentWeight; self.cellState = cellState; self.forgetGate = forgetGate
        self.carryGate = carryGate ?? forgetGate; self.writeGate = writeGate; self.saved = saved
        self.hiddenBiasInsideStep = hiddenBiasInsideStep; self.separateHiddenGradients = separateHiddenGradients
        self.oneWeightGradientProduct = oneWeightGradientProduct
    }

    /// Whether the layer has weight_hh and bias_hh.
    public var hasHiddenParameters: Bool { recurrentWeight != .none }
}

/// How a cell keeps a copy of its previous state from one step to the next: what measures the kept fraction (a
/// gate's activation, or a per-step value the cell saves) and the equation that makes it a path around the
/// squashing, for the reports that explain memory and gradient flow.
public struct CarryPath: Sendable {
    /// Where the kept fraction is read after a forward pass.
    public enum Source: Sendable, Equatable {
        /// The activation of a gate block (LSTM f, GRU z).
        case gate(Int)
        /// A saved per-step value (minGRU's and minLSTM's coefficient a_t).
        case saved(String)
    }
    /// "forget gate f", "carry 1 - z".
    public var name: String
    public var source: Source
    /// The update that makes it an identity-like path, in words and symbols.
    public var equation: String

    public init(name: String, source: Source, equation: String) {
        self.name = name; self.source = source; self.equation = equation
    }
}

/// The standard ONNX operator a cell exports as, with its gate order and attributes.
public struct ONNXOperator: Sendable, Equatable {
    /// An attribute value of the operator.
    public enum Attribute: Sendable, Equatable {
        case int(Int)
        case strings([String])
    }
    /// "RNN", "LSTM" or "GRU".
    public var name: String
    /// ONNX's gate blocks, as indices of the cell's blocks (LSTM: ONNX i, o, f, c from PyTorch's i, f, g, o).
    public var gateOrder: [Int]
    /// Attributes besides hidden_size, by name ("activations", "linear_before_reset").
    public var attributes: [(String, Attribute)]

    public init(name: String, gateOrder: [Int], attributes: [(String, Attribute)] = []) {
        self.name = name; self.gateOrder = gateOrder; self.attributes = attributes
    }

    public static func == (a: ONNXOperator, b: ONNXOperator) -> Bool {
        a.name == b.name && a.gateOrder == b.gateOrder && a.attributes.elementsEqual(b.attributes) { $0 == $1 }
    }
}

/// The per-step [B, H] values a cell saves for its backward step, by the names its layout declares
/// (LSTM "tanh_c"): `s.saved("tanh_c")` points at this step's rows.
public struct SavedValues<T: Real> {
    let names: [String]
    let base: UnsafeMutablePointer<T>
    /// Scalars from one named value's buffer to the next.
    let stride: Int

    /// This step's (or, in `SequenceGradients`, every step's) rows of the value called `name`.
    public func callAsFunction(_ name: String) -> UnsafeMutablePointer<T> {
        guard let i = names.firstIndex(of: name) else {
            preconditionFailure("the cell saves no value called \(name); its layout declares \(names)")
        }
        return base + i * stride
    }

    /// The same values `offset` scalars further on (another step, another slice of the batch).
    func advanced(by offset: Int) -> SavedValues { SavedValues(names: names, base: base + offset, stride: stride) }
}

/// One time step of one layer for a whole batch (or a slice of it): the pointers a cell reads and writes.
/// `gates` [B, G*H] holds x_t W_ih^T + folded biases on entry and the gate activations on exit; h and c are
/// [B, H] (c points at a dummy when the cell has no cell state).
public struct StepBuffers<T: Real> {
    public let batch: Int, hidden: Int
    public let gates: UnsafeMutablePointer<T>
    public let hPrev: UnsafeMutablePointer<T>, hNext: UnsafeMutablePointer<T>
    public let cPrev: UnsafeMutablePointer<T>, cNext: UnsafeMutablePointer<T>
    /// The values the cell's layout declares in `saved`, for this step.
    public let saved: SavedValues<T>
    /// [B, G*H] of scratch, private to this step.
    public let scratch: UnsafeMutablePointer<T>
    /// weight_hh as stored ([G*H, H], or [H] for a diagonal recurrence), and W_hh^T [H, G*H] for a matrix.
    public let whh: UnsafePointer<T>, whhT: UnsafePointer<T>
    /// bias_hh [G*H] (the columns in `hiddenBiasInsideStep` are the step's to add).
    public let bhh: UnsafePointer<T>
    /// The recurrent matrix this pass multiplies by, packed for the GEMM kernels once per pass: W_hh^T [H, G*H] in
    /// the forward step, W_hh [G*H, H] in the backward step (empty unless the recurrent weight is a matrix).
    public let recurrent: PackedPanels<T>
    /// Whether h_{t-1} is all zeros: the first forward step from the zero initial state (no h0 given). A cell may
    /// then skip its product h_{t-1} W_hh^T, which adds exact zeros.
    public let hPrevIsZero: Bool
}

/// Backward-step pointers: dh [B,H] is dL/dh_t (everything that reaches h_t); dc [B,H] is dL/dc_t on entry
/// and becomes dL/dc_{t-1} on exit; dhPrev [B,H] receives dL/dh_{t-1} through the recurrence;
/// dGi / dGh [B, G*H] receive the gradients of the input-side and hidden-side pre-activations (the same buffer
/// unless the layout asks for separate hidden gradients). dGi is the step's `gates` itself: a cell reads each gate
/// activation before it writes that place.
public struct StepGradients<T: Real> {
    public let dh: UnsafeMutablePointer<T>, dc: UnsafeMutablePointer<T>
    public let dhPrev: UnsafeMutablePointer<T>
    public let dGi: UnsafeMutablePointer<T>, dGh: UnsafeMutablePointer<T>
}

/// A layer's whole-sequence buffers for its recurrent weight gradient: `rows` = T*B rows of dG_h [rows, G*H], of
/// h_{t-1} [rows, H] and of each saved value [rows, H].
public struct SequenceGradients<T: Real> {
    public let rows: Int, hidden: Int
    public let dGh: UnsafePointer<T>
    public let hPrev: UnsafePointer<T>
    public let saved: SavedValues<T>
    /// Where dG_h is the cell's own (`CellLayout.separateHiddenGradients`), b_hh's gradient: the recurrent product
    /// adds dG_h's column sums (over rows, ascending) into it as it reads dG_h (`gemm`'s `sumsOfA`); nil otherwise.
    public let hiddenBiasSums: UnsafeMutablePointer<T>?
}

extension RecurrentCell {
    public static func layout(_ config: RecurrentConfig) -> CellLayout { CellLayout() }
    public static func settings(_ config: RecurrentConfig) -> [String] { [] }
    public static var carryPath: CarryPath? { nil }
    /// PyTorch: U(-1/sqrt(H), 1/sqrt(H)); Xavier: U(-a, a), a = sqrt(6 / 2H) per square block; orthogonal
    /// (Keras' recurrent default) per block.
    public static func initialRecurrentBlock(_ initializer: Initializer, hidden H: Int, rng: inout SeededRandom)
        -> [Double]
    {
        switch initializer {
        case .pytorchDefault:
            let s = 1 / Double(H).squareRoot()
            return Tensor<Double>.uniform([H, H], -s, s, rng: &rng).data
        case .xavier:
            let a = (6 / Double(2 * H)).squareRoot()
            return Tensor<Double>.uniform([H, H], -a, a, rng: &rng).data
        case .orthogonal: return Tensor<Double>.orthogonal(rows: H, cols: H, rng: &rng).data
        }
    }
    /// W_hh multiplies h_{t-1} in every gate: one GEMM over all steps.
    public static func addRecurrentWeightGradient<T: Real>(
        _ q: SequenceGradients<T>, into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig
    ) {
        let G = config.gateWidth, H = q.hidden
        gemm(
            .transposed, .none, m: G, n: H, k: q.rows, a: q.dGh, lda: G, b: q.hPrev, ldb: H, c: dW, ldc: H,
            accumulate: true, threads: threads, sumsOfA: q.hiddenBiasSums)
    }
}
