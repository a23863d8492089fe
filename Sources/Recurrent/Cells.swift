import TensorCore

/// One time step of one layer for a whole batch: the pointers a cell reads and writes.
/// Layout per step: `gates` [B, G*H] holds x_t W_ih^T + biases on entry (the hoisted input projection)
/// and the gate activations on exit; h/c are [B, H]; `aux` [B, H] is what the backward pass needs besides
/// the gates (LSTM: tanh(c_t); GRU reset-after: W_hn h + b_hn; GRU reset-before: r * h_{t-1}).
@usableFromInline
struct StepBuffers<T: Real> {
    let batch: Int, hidden: Int
    let gates: UnsafeMutablePointer<T>
    let hPrev: UnsafeMutablePointer<T>, hNext: UnsafeMutablePointer<T>
    let cPrev: UnsafeMutablePointer<T>, cNext: UnsafeMutablePointer<T>
    let aux: UnsafeMutablePointer<T>
    let scratch: UnsafeMutablePointer<T>  // [B, G*H]
    let whhT: UnsafePointer<T>  // [H, G*H]
    let whh: UnsafePointer<T>  // [G*H, H]
    let bhh: UnsafePointer<T>  // [G*H]
    /// The recurrent matrix this pass multiplies by, packed for the GEMM kernels once per pass instead of read
    /// strided at every step: W_hh^T [H, G*H] in the forward step, W_hh [G*H, H] in the backward step (empty
    /// for a cell whose recurrent weight is not a matrix).
    let recurrent: PackedPanels<T>
}

/// Backward-step pointers: dh [B,H] is dL/dh_t (everything that reaches h_t); dc [B,H] is dL/dc_t on entry
/// and becomes dL/dc_{t-1} on exit; dhPrev [B,H] receives dL/dh_{t-1} through the recurrence;
/// dGi / dGh [B, G*H] receive the gradients of the input-side and hidden-side pre-activations.
@usableFromInline
struct StepGradients<T: Real> {
    let dh: UnsafeMutablePointer<T>, dc: UnsafeMutablePointer<T>
    let dhPrev: UnsafeMutablePointer<T>
    let dGi: UnsafeMutablePointer<T>, dGh: UnsafeMutablePointer<T>
}

/// The small cell protocol: a forward step and, beside it, its backward step, plus everything else that is
/// particular to a cell: its gates, the shape and initialisation of its recurrent weight, its state, and the
/// facts the stack asks instead of branching on the cell kind. One loop in `RecurrentNetwork` drives every cell.
///
/// Adding a cell: a type conforming to this protocol (its own file, like IndRNNCell.swift), a case in
/// `CellKind`, and one line in each of the three switches below.
protocol RecurrentCell {
    static var displayName: String { get }
    /// Gate blocks stacked in W_ih (and W_hh), in PyTorch's order; G = gateNames.count.
    static var gateNames: [String] { get }
    /// The activation each gate block applies, for saturation statistics.
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation]
    /// The configuration settings this cell reads, for descriptions ("tanh", "reset_after").
    static func settings(_ config: RecurrentConfig) -> [String]

    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig)

    /// Shape of weight_hh_l{k}: [G*H, H] for a full recurrent matrix.
    static func recurrentWeightShape(hidden H: Int) -> [Int]
    /// Whether weight_hh holds only the diagonal of the recurrence (IndRNN's u: h_{t-1} is multiplied element-wise),
    /// so there is no matrix to pack for the step products, and its spectral norm is max |u|.
    static var recurrentWeightIsDiagonal: Bool { get }
    /// Fresh recurrent weights of one gate block, drawn in order (the stack concatenates the G blocks).
    static func initialRecurrentBlock(_ initializer: Initializer, hidden H: Int, rng: inout SeededRandom) -> [Double]
    /// What the forward step reads as `whhT` from weight_hh as stored: W_hh^T [H, G*H] by default.
    static func prepareRecurrentWeight<T: Real>(
        _ whh: UnsafePointer<T>, hidden H: Int, into whhT: UnsafeMutablePointer<T>, _ config: RecurrentConfig)
    /// Whether the cell carries a cell state c beside h (and so takes c0 and returns c_n).
    static var hasCellState: Bool { get }
    /// The gate block whose biases a forget-gate bias initialisation sets, if the cell has such a gate.
    static var forgetGateBlock: Int? { get }
    /// The gate block that decides how much of the previous state is kept (LSTM f, GRU z), if any.
    static var carryGateBlock: Int? { get }
    /// The gate block whose bias chrono initialisation sets to minus the carry gate's (LSTM i), if any.
    static var chronoInputBlock: Int? { get }
    /// Whether b_hh of gate column j simply adds to the pre-activation, so it can be folded into the hoisted
    /// input projection (the GRU's n gate keeps b_hn inside the reset product).
    static func foldsHiddenBias(column j: Int, hidden H: Int, _ config: RecurrentConfig) -> Bool
    /// Whether the gradients of the hidden-side pre-activations differ from the input-side ones and need a
    /// buffer of their own (the GRU's reset-after n gate).
    static func hasSeparateHiddenGradients(_ config: RecurrentConfig) -> Bool
    /// dW_hh += over all steps, dG_h^T [G, rows] x (what W_hh multiplied) [rows, H].
    static func addRecurrentWeightGradient<T: Real>(
        dGh: UnsafePointer<T>, hs: UnsafePointer<T>, aux: UnsafePointer<T>, rows: Int, hidden H: Int,
        into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig)
}

extension RecurrentCell {
    static func settings(_ config: RecurrentConfig) -> [String] { [] }
    static func recurrentWeightShape(hidden H: Int) -> [Int] { [gateNames.count * H, H] }
    static var recurrentWeightIsDiagonal: Bool { false }
    /// PyTorch: U(-1/sqrt(H), 1/sqrt(H)); Xavier: U(-a, a), a = sqrt(6 / 2H) per square block; orthogonal
    /// (Keras' recurrent default) per block.
    static func initialRecurrentBlock(_ initializer: Initializer, hidden H: Int, rng: inout SeededRandom) -> [Double] {
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
    static func prepareRecurrentWeight<T: Real>(
        _ whh: UnsafePointer<T>, hidden H: Int, into whhT: UnsafeMutablePointer<T>, _ config: RecurrentConfig
    ) {
        transpose(whh, rows: gateNames.count * H, cols: H, ld: H, into: whhT)
    }
    static var hasCellState: Bool { false }
    static var forgetGateBlock: Int? { nil }
    static var carryGateBlock: Int? { forgetGateBlock }
    static var chronoInputBlock: Int? { nil }
    static func foldsHiddenBias(column j: Int, hidden H: Int, _ config: RecurrentConfig) -> Bool { true }
    static func hasSeparateHiddenGradients(_ config: RecurrentConfig) -> Bool { false }
    /// W_hh multiplies h_{t-1} in every gate: one GEMM over all steps.
    static func addRecurrentWeightGradient<T: Real>(
        dGh: UnsafePointer<T>, hs: UnsafePointer<T>, aux: UnsafePointer<T>, rows: Int, hidden H: Int,
        into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig
    ) {
        let G = config.gateWidth
        gemm(
            .transposed, .none, m: G, n: H, k: rows, a: dGh, lda: G, b: hs, ldb: H, c: dW, ldc: H, accumulate: true,
            threads: threads)
    }
}

extension CellKind {
    /// The cell type behind this name: the one place that maps names to cells.
    var cellType: any RecurrentCell.Type {
        switch self {
        case .rnn: ElmanCell.self
        case .lstm: LSTMCell.self
        case .gru: GRUCell.self
        case .indrnn: IndRNNCell.self
        }
    }
}

extension RecurrentConfig {
    /// The cell type of this configuration, for the facts the stack asks it (not the per-step calls below).
    var cellType: any RecurrentCell.Type { cell.cellType }

    // A switch, not an existential metatype: static calls let the compiler specialise each cell for T.
    @_specialize(where T == Float) @_specialize(where T == Double)
    func forwardStep<T: Real>(_ s: StepBuffers<T>) {
        switch cell {
        case .rnn: ElmanCell.forward(s, self)
        case .lstm: LSTMCell.forward(s, self)
        case .gru: GRUCell.forward(s, self)
        case .indrnn: IndRNNCell.forward(s, self)
        }
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    func backwardStep<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>) {
        switch cell {
        case .rnn: ElmanCell.backward(s, g, self)
        case .lstm: LSTMCell.backward(s, g, self)
        case .gru: GRUCell.backward(s, g, self)
        case .indrnn: IndRNNCell.backward(s, g, self)
        }
    }
}

/// h_t = act(x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.
enum ElmanCell: RecurrentCell {
    static let displayName = "RNN", gateNames = ["h"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [config.nonlinearity.activation] }
    static func settings(_ config: RecurrentConfig) -> [String] { [config.nonlinearity.rawValue] }
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let n = s.batch * s.hidden, H = s.hidden
        gemm(m: s.batch, a: s.hPrev, lda: H, b: s.recurrent, c: s.gates, ldc: H, accumulate: true)
        if config.nonlinearity == .tanh {
            T.tanhInPlace(s.gates, n)
        } else {
            for i in 0..<n { s.gates[i] = max(s.gates[i], 0) }
        }
        s.hNext.update(from: s.gates, count: n)
    }

    // d pre = dh * act'(pre), with tanh' = 1 - h^2 and relu' = [h > 0]; dh_{t-1} = d pre W_hh.
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let n = s.batch * s.hidden, H = s.hidden
        let h = s.gates
        if config.nonlinearity == .tanh {
            for i in 0..<n { g.dGi[i] = g.dh[i] * (1 - h[i] * h[i]) }
        } else {
            for i in 0..<n { g.dGi[i] = h[i] > 0 ? g.dh[i] : 0 }
        }
        gemm(m: s.batch, a: g.dGi, lda: H, b: s.recurrent, c: g.dhPrev, ldc: H, accumulate: false)
    }
}

/// LSTM, gates [i f g o]:  i,f,o = sigmoid(.), g = tanh(.);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).
enum LSTMCell: RecurrentCell {
    static let displayName = "LSTM", gateNames = ["i", "f", "g", "o"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.sigmoid, .sigmoid, .tanh, .sigmoid] }
    static var hasCellState: Bool { true }
    static var forgetGateBlock: Int? { 1 }  // [i f g o]
    static var chronoInputBlock: Int? { 0 }
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 4 * H
        gemm(m: s.batch, a: s.hPrev, lda: H, b: s.recurrent, c: s.gates, ldc: G, accumulate: true)
        let B = s.batch
        // One pass per 16 units: activations (kept in `gates` for the backward pass), c_t, tanh(c_t), h_t.
        if H % 16 == 0 {
            // Whole vectors only, inline: the windowed driver's closures are not inlined, and cost this pass 10%
            // (LSTM H128 B64 T100 forward: 6.5 ms against 5.9 ms, AMD EPYC AVX-512).
            for b in 0..<B {
                let row = s.gates + b * G
                let cp = s.cPrev + b * H, cn = s.cNext + b * H, tc = s.aux + b * H, hn = s.hNext + b * H
                for j in stride(from: 0, to: H, by: 16) {
                    let (i, f, g, o, c, t) = pointwise(
                        load16(row + j), load16(row + H + j), load16(row + 2 * H + j), load16(row + 3 * H + j),
                        load16(cp + j))
                    store16(i, row + j); store16(f, row + H + j); store16(g, row + 2 * H + j)
                    store16(o, row + 3 * H + j)
                    store16(c, cn + j); store16(t, tc + j); store16(o * t, hn + j)
                }
            }
            return
        }
        if H % 16 == 8 {
            forwardSharingWindows(s)
            return
        }
        for b in 0..<B {
            let row = s.gates + b * G
            let cp = s.cPrev + b * H, cn = s.cNext + b * H, tc = s.aux + b * H, hn = s.hNext + b * H
            forEachWindow16(
                H,
                compute: { j, w in
                    pointwise(
                        load16(row + j, count: w), load16(row + H + j, count: w), load16(row + 2 * H + j, count: w),
                        load16(row + 3 * H + j, count: w), load16(cp + j, count: w))
                },
                store: { j, w, r in
                    let (i, f, g, o, c, t) = r
                    store16(i, row + j, count: w); store16(f, row + H + j, count: w);
                    store16(g, row + 2 * H + j, count: w)
                    store16(o, row + 3 * H + j, count: w); store16(c, cn + j, count: w); store16(t, tc + j, count: w)
                    store16(o * t, hn + j, count: w)
                })
        }
    }

    /// The forward step's pass at H = 16q + 8: the last 8 units of two batch rows share a window (Q1's H24: 24
    /// lanes of work per row, not 32). A function of its own: inlined into `forward`, its half-vector loads made
    /// the compiler split the H % 16 == 0 loop there into 128-bit pieces (H128 forward 6.2 -> 8.7 ms, AVX-512).
    @inline(never)
    static func forwardSharingWindows<T: Real>(_ s: StepBuffers<T>) {
        let H = s.hidden, G = 4 * H, gp = s.gates
        forEachPairedWindow16(
            rows: s.batch, n: H,
            compute: { w in
                pointwise(
                    w.load(gp, ld: G), w.load(gp + H, ld: G), w.load(gp + 2 * H, ld: G), w.load(gp + 3 * H, ld: G),
                    w.load(s.cPrev, ld: H))
            },
            store: { w, r in
                let (i, f, g, o, c, t) = r
                w.store(i, gp, ld: G); w.store(f, gp + H, ld: G); w.store(g, gp + 2 * H, ld: G)
                w.store(o, gp + 3 * H, ld: G); w.store(c, s.cNext, ld: H); w.store(t, s.aux, ld: H)
                w.store(o * t, s.hNext, ld: H)
            })
    }

    /// Gate pre-activations and c_{t-1} of 16 units -> i, f, g, o, c_t, tanh(c_t).
    @inline(__always)
    static func pointwise<T: Real>(
        _ ai: SIMD16<T>, _ af: SIMD16<T>, _ ag: SIMD16<T>, _ ao: SIMD16<T>, _ cPrev: SIMD16<T>
    )
        -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>)
    {
        let i = T.sigmoid(ai), f = T.sigmoid(af), g = T.tanh(ag), o = T.sigmoid(ao)
        let c = f * cPrev + i * g
        return (i, f, g, o, c, T.tanh(c))
    }

    // dc_t += dh o (1 - tanh^2 c);  d i = dc g i(1-i);  d f = dc c_{t-1} f(1-f);  d g = dc i (1-g^2);
    // d o = dh tanh(c) o(1-o);  dc_{t-1} = dc f  (the additive cell path);  dh_{t-1} = dG W_hh.
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 4 * H
        if H % 16 == 8 {
            backwardSharingWindows(s, g)
            gemm(m: s.batch, a: g.dGi, lda: G, b: s.recurrent, c: g.dhPrev, ldc: H, accumulate: false)
            return
        }
        for b in 0..<s.batch {
            let row = s.gates + b * G, d = g.dGi + b * G
            let cp = s.cPrev + b * H, tc = s.aux + b * H, dh = g.dh + b * H, dc = g.dc + b * H
            // 16 units at a time with explicit vectors (a scalar loop does not vectorise: its pointers may
            // alias as far as the compiler knows). Whole vectors inline, as in the forward step (through the
            // windowed driver's closures the LSTM-128 backward took 0.4 ms more per batch, AVX-512).
            if H % 16 == 0 {
                for j in stride(from: 0, to: H, by: 16) {
                    let (di, df, dg, dO, dcPrev) = pointwiseBackward(
                        i: load16(row + j), f: load16(row + H + j), g: load16(row + 2 * H + j),
                        o: load16(row + 3 * H + j), tanhC: load16(tc + j), dh: load16(dh + j), dc: load16(dc + j),
                        cPrev: load16(cp + j))
                    store16(di, d + j); store16(df, d + H + j); store16(dg, d + 2 * H + j)
                    store16(dO, d + 3 * H + j); store16(dcPrev, dc + j)
                }
                continue
            }
            forEachWindow16(
                H,
                compute: { j, w in
                    pointwiseBackward(
                        i: load16(row + j, count: w), f: load16(row + H + j, count: w),
                        g: load16(row + 2 * H + j, count: w),
                        o: load16(row + 3 * H + j, count: w), tanhC: load16(tc + j, count: w),
                        dh: load16(dh + j, count: w),
                        dc: load16(dc + j, count: w), cPrev: load16(cp + j, count: w))
                },
                store: { j, w, r in
                    let (di, df, dg, dO, dcPrev) = r
                    store16(di, d + j, count: w); store16(df, d + H + j, count: w); store16(dg, d + 2 * H + j, count: w)
                    store16(dO, d + 3 * H + j, count: w); store16(dcPrev, dc + j, count: w)
                })
        }
        gemm(m: s.batch, a: g.dGi, lda: G, b: s.recurrent, c: g.dhPrev, ldc: H, accumulate: false)
    }

    /// The backward step's element-wise pass at H = 16q + 8, sharing windows between two batch rows as
    /// `forwardSharingWindows` does (and a function of its own for the same reason).
    @inline(never)
    static func backwardSharingWindows<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>) {
        let H = s.hidden, G = 4 * H, gp = s.gates, d = g.dGi
        forEachPairedWindow16(
            rows: s.batch, n: H,
            compute: { w in
                pointwiseBackward(
                    i: w.load(gp, ld: G), f: w.load(gp + H, ld: G), g: w.load(gp + 2 * H, ld: G),
                    o: w.load(gp + 3 * H, ld: G), tanhC: w.load(s.aux, ld: H), dh: w.load(g.dh, ld: H),
                    dc: w.load(g.dc, ld: H), cPrev: w.load(s.cPrev, ld: H))
            },
            store: { w, r in
                let (di, df, dg, dO, dcPrev) = r
                w.store(di, d, ld: G); w.store(df, d + H, ld: G); w.store(dg, d + 2 * H, ld: G)
                w.store(dO, d + 3 * H, ld: G); w.store(dcPrev, g.dc, ld: H)
            })
    }

    /// 16 units of the step's element-wise backward: dL/d(i, f, g, o pre-activations) and dc_{t-1}.
    @inline(__always)
    static func pointwiseBackward<T: Real>(
        i: SIMD16<T>, f: SIMD16<T>, g: SIMD16<T>, o: SIMD16<T>, tanhC t: SIMD16<T>, dh: SIMD16<T>,
        dc: SIMD16<T>, cPrev: SIMD16<T>
    ) -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>) {
        let dcj = dc + dh * o * (1 - t * t)
        return (dcj * g * i * (1 - i), dcj * cPrev * f * (1 - f), dcj * i * (1 - g * g), dh * t * o * (1 - o), dcj * f)
    }
}

/// GRU, gates [r z n]:  r,z = sigmoid(.);  h_t = (1 - z) n + z h_{t-1};
///   reset after  (PyTorch): n = tanh(W_in x + b_in + r (W_hn h_{t-1} + b_hn))
///   reset before (original): n = tanh(W_in x + b_in + W_hn (r h_{t-1}) + b_hn)
/// The input projection arrives with b_ih (all gates) and b_hr, b_hz folded in; b_hn is added here.
enum GRUCell: RecurrentCell {
    static let displayName = "GRU", gateNames = ["r", "z", "n"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.sigmoid, .sigmoid, .tanh] }
    static func settings(_ config: RecurrentConfig) -> [String] { [config.gruVariant.rawValue] }
    static var carryGateBlock: Int? { 1 }  // h_t = (1 - z) n + z h_{t-1}
    static func foldsHiddenBias(column j: Int, hidden H: Int, _ config: RecurrentConfig) -> Bool { j < 2 * H }
    static func hasSeparateHiddenGradients(_ config: RecurrentConfig) -> Bool { config.gruVariant == .resetAfter }

    /// Reset-before: W_hr, W_hz multiply h_{t-1}, W_hn multiplies r * h_{t-1} (kept in aux).
    static func addRecurrentWeightGradient<T: Real>(
        dGh: UnsafePointer<T>, hs: UnsafePointer<T>, aux: UnsafePointer<T>, rows: Int, hidden H: Int,
        into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig
    ) {
        let G = 3 * H
        guard config.gruVariant == .resetBefore else {
            gemm(
                .transposed, .none, m: G, n: H, k: rows, a: dGh, lda: G, b: hs, ldb: H, c: dW, ldc: H, accumulate: true,
                threads: threads)
            return
        }
        gemm(
            .transposed, .none, m: 2 * H, n: H, k: rows, a: dGh, lda: G, b: hs, ldb: H, c: dW, ldc: H, accumulate: true,
            threads: threads)
        gemm(
            .transposed, .none, m: H, n: H, k: rows, a: dGh + 2 * H, lda: G, b: aux, ldb: H, c: dW + 2 * H * H, ldc: H,
            accumulate: true, threads: threads)
    }
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 3 * H, B = s.batch
        if config.gruVariant == .resetAfter {
            gemm(m: B, a: s.hPrev, lda: H, b: s.recurrent, c: s.scratch, ldc: G, accumulate: false)
            for b in 0..<B {
                let row = s.gates + b * G, hh = s.scratch + b * G, hn = s.aux + b * H, hp = s.hPrev + b * H,
                    out = s.hNext + b * H
                // One pass per 16 units: r, z, W_hn h + b_hn (kept in aux), n and h_t.
                forEachWindow16(
                    H,
                    compute: { j, w in
                        pointwiseResetAfter(
                            load16(row + j, count: w), load16(hh + j, count: w), load16(row + H + j, count: w),
                            load16(hh + H + j, count: w), load16(row + 2 * H + j, count: w),
                            load16(hh + 2 * H + j, count: w),
                            load16(s.bhh + 2 * H + j, count: w), load16(hp + j, count: w))
                    },
                    store: { j, w, v in
                        let (r, z, a, n, h) = v
                        store16(r, row + j, count: w); store16(z, row + H + j, count: w); store16(a, hn + j, count: w)
                        store16(n, row + 2 * H + j, count: w); store16(h, out + j, count: w)
                    })
            }
        } else {
            gemm(m: B, a: s.hPrev, lda: H, b: s.recurrent.prefix(columns: 2 * H), c: s.gates, ldc: G, accumulate: true)
            for b in 0..<B {
                let row = s.gates + b * G, rh = s.aux + b * H, hp = s.hPrev + b * H
                T.sigmoidInPlace(row, 2 * H)
                for j in 0..<H { rh[j] = row[j] * hp[j] }
            }
            // n pre-activation += (r h) W_hn^T + b_hn (W_hn^T's columns start mid-panel: the unpacked copy)
            gemm(
                .none, .none, m: B, n: H, k: H, a: s.aux, lda: H, b: s.whhT + 2 * H, ldb: G, c: s.gates + 2 * H, ldc: G,
                accumulate: true, threads: 1)
            for b in 0..<B {
                let row = s.gates + b * G, hp = s.hPrev + b * H, hn = s.hNext + b * H
                for j in 0..<H { row[2 * H + j] += s.bhh[2 * H + j] }
                T.tanhInPlace(row + 2 * H, H)
                for j in 0..<H { let z = row[H + j]; hn[j] = (1 - z) * row[2 * H + j] + z * hp[j] }
            }
        }
    }

    /// 16 units of the reset-after step: input-side and hidden-side pre-activations of r, z, n (with b_hn)
    /// and h_{t-1} -> r, z, a = W_hn h + b_hn, n, h_t.
    @inline(__always)
    static func pointwiseResetAfter<T: Real>(
        _ xr: SIMD16<T>, _ hr: SIMD16<T>, _ xz: SIMD16<T>, _ hz: SIMD16<T>, _ xn: SIMD16<T>,
        _ hnW: SIMD16<T>, _ bn: SIMD16<T>, _ hPrev: SIMD16<T>
    )
        -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>)
    {
        let r = T.sigmoid(xr + hr), z = T.sigmoid(xz + hz), a = hnW + bn
        let n = T.tanh(xn + r * a)
        return (r, z, a, n, (1 - z) * n + z * hPrev)
    }

    /// 16 units of the element-wise backward: dL/d(r, z, n pre-activations) and dh_{t-1}'s gated share dh z
    /// (reset-after: dr from the hidden-side n pre-activation W_hn h + b_hn).
    @inline(__always)
    static func pointwiseBackward<T: Real>(
        r: SIMD16<T>, z: SIMD16<T>, n: SIMD16<T>, dh: SIMD16<T>, hPrev: SIMD16<T>, hiddenN: SIMD16<T>
    )
        -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>)
    {
        let dn = dh * (1 - z) * (1 - n * n), dz = dh * (hPrev - n) * z * (1 - z)
        return (dn * hiddenN * r * (1 - r), dz, dn, dh * z)
    }

    // dn = dh (1 - z) (1 - n^2);  dz = dh (h_{t-1} - n) z(1-z);  dh_{t-1} = dh z + (hidden-side terms):
    //   reset after:  dr = dn (W_hn h + b_hn) r(1-r); hidden-side n gradient is dn * r
    //   reset before: d(rh) = dn W_hn;  dr = d(rh) h_{t-1} r(1-r);  dh_{t-1} += d(rh) r
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 3 * H, B = s.batch
        let after = config.gruVariant == .resetAfter
        for b in 0..<B {
            let row = s.gates + b * G, d = g.dGi + b * G, hp = s.hPrev + b * H, dh = g.dh + b * H,
                dhp = g.dhPrev + b * H
            let aux = s.aux + b * H, dhh = g.dGh + b * G
            // Explicit vectors, as in the LSTM.
            forEachWindow16(
                H,
                compute: { j, w in
                    pointwiseBackward(
                        r: load16(row + j, count: w), z: load16(row + H + j, count: w),
                        n: load16(row + 2 * H + j, count: w),
                        dh: load16(dh + j, count: w), hPrev: load16(hp + j, count: w),
                        hiddenN: after ? load16(aux + j, count: w) : SIMD16())
                },
                store: { j, w, v in
                    let (dr, dz, dn, dhPrev) = v
                    store16(dz, d + H + j, count: w); store16(dn, d + 2 * H + j, count: w);
                    store16(dhPrev, dhp + j, count: w)
                    if after {
                        store16(dr, d + j, count: w); store16(dr, dhh + j, count: w); store16(dz, dhh + H + j, count: w)
                        store16(dn * load16(row + j, count: w), dhh + 2 * H + j, count: w)
                    }
                })
        }
        if after {
            gemm(m: B, a: g.dGh, lda: G, b: s.recurrent, c: g.dhPrev, ldc: H, accumulate: true)
        } else {
            // d(r h) = dn W_hn  -> scratch [B, H]
            gemm(
                m: B, a: g.dGi + 2 * H, lda: G, b: s.recurrent.rows(2 * H..<3 * H), c: s.scratch, ldc: H,
                accumulate: false)
            for b in 0..<B {
                let row = s.gates + b * G, d = g.dGi + b * G, hp = s.hPrev + b * H, drh = s.scratch + b * H,
                    dhp = g.dhPrev + b * H
                for j in 0..<H {
                    let r = row[j]
                    d[j] = drh[j] * hp[j] * r * (1 - r)
                    dhp[j] += drh[j] * r
                }
            }
            gemm(m: B, a: g.dGi, lda: G, b: s.recurrent.rows(0..<2 * H), c: g.dhPrev, ldc: H, accumulate: true)
        }
    }
}
