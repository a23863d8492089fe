import TensorCore

/// LSTM, gates [i f g o]:  i,f,o = sigmoid(.), g = tanh(.);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).
enum LSTMCell: RecurrentCell {
    static let name = "lstm", displayName = "LSTM", gateNames = ["i", "f", "g", "o"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.sigmoid, .sigmoid, .tanh, .sigmoid] }
    /// [i f g o]: f keeps the cell state, i writes it; tanh(c_t) is saved for o's and c's gradients.
    static func layout(_ config: RecurrentConfig) -> CellLayout {
        CellLayout(cellState: true, forgetGate: 1, writeGate: 0, saved: ["tanh_c"], oneWeightGradientProduct: true)
    }
    /// ONNX's blocks are i, o, f, c.
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? {
        ONNXOperator(name: "LSTM", gateOrder: [0, 3, 1, 2])
    }
    static let carryPath: CarryPath? = CarryPath(
        name: "forget gate f", source: .gate(1),
        equation: """
            The cell state is updated additively, c_t = f * c_{t-1} + i * g, so dc_t/dc_{t-1} = f elementwise, with no \
            squashing derivative and no weight matrix in between.
            """)

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 4 * H
        if !s.hPrevIsZero { gemm(m: s.batch, a: s.hPrev, lda: H, b: s.recurrent, c: s.gates, ldc: G, accumulate: true) }
        let B = s.batch, tanhC = s.saved("tanh_c")
        // One pass per 16 units: activations (kept in `gates` for the backward pass), c_t, tanh(c_t), h_t.
        if H % 16 == 0 {
            // Whole vectors only, inline: the windowed driver's closures are not inlined, and cost this pass 10%
            // (LSTM H128 B64 T100 forward: 6.5 ms against 5.9 ms, AMD EPYC AVX-512).
            for b in 0..<B {
                let row = s.gates + b * G
                let cp = s.cPrev + b * H, cn = s.cNext + b * H, tc = tanhC + b * H, hn = s.hNext + b * H
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
            let cp = s.cPrev + b * H, cn = s.cNext + b * H, tc = tanhC + b * H, hn = s.hNext + b * H
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
        // The saved value looked up once, not per window (a name lookup per window cost Q1's LSTM 10%).
        let H = s.hidden, G = 4 * H, gp = s.gates, tanhC = s.saved("tanh_c")
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
                w.store(o, gp + 3 * H, ld: G); w.store(c, s.cNext, ld: H); w.store(t, tanhC, ld: H)
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
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 4 * H
        if H % 16 == 8 {
            backwardSharingWindows(s, g)
            gemm(m: s.batch, a: g.dGi, lda: G, b: s.recurrent, c: g.dhPrev, ldc: H, accumulate: false)
            return
        }
        let tanhC = s.saved("tanh_c")
        for b in 0..<s.batch {
            let row = s.gates + b * G, d = g.dGi + b * G
            let cp = s.cPrev + b * H, tc = tanhC + b * H, dh = g.dh + b * H, dc = g.dc + b * H
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
        let H = s.hidden, G = 4 * H, gp = s.gates, d = g.dGi, tanhC = s.saved("tanh_c")
        forEachPairedWindow16(
            rows: s.batch, n: H,
            compute: { w in
                pointwiseBackward(
                    i: w.load(gp, ld: G), f: w.load(gp + H, ld: G), g: w.load(gp + 2 * H, ld: G),
                    o: w.load(gp + 3 * H, ld: G), tanhC: w.load(tanhC, ld: H), dh: w.load(g.dh, ld: H),
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
