import TensorCore

/// GRU, gates [r z n]:  r,z = sigmoid(.);  h_t = (1 - z) n + z h_{t-1};
///   reset after  (PyTorch): n = tanh(W_in x + b_in + r (W_hn h_{t-1} + b_hn))
///   reset before (original): n = tanh(W_in x + b_in + W_hn (r h_{t-1}) + b_hn)
/// The input projection arrives with b_ih (all gates) and b_hr, b_hz folded in; b_hn is added here.
enum GRUCell: RecurrentCell {
    static let name = "gru", displayName = "GRU", gateNames = ["r", "z", "n"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.sigmoid, .sigmoid, .tanh] }
    static func settings(_ config: RecurrentConfig) -> [String] { [config.gruVariant.rawValue] }
    /// z keeps the state (h_t = (1 - z) n + z h_{t-1}); b_hn stays inside the n gate. Saved for the backward step:
    /// reset after, W_hn h_{t-1} + b_hn ("hidden_n", whose gradient differs from the input side's);
    /// reset before, r * h_{t-1} ("reset_h", what W_hn multiplied).
    static func layout(_ config: RecurrentConfig) -> CellLayout {
        let after = config.gruVariant == .resetAfter
        return CellLayout(
            carryGate: 1, saved: [after ? "hidden_n" : "reset_h"], hiddenBiasInsideStep: [2],
            separateHiddenGradients: after)
    }
    /// ONNX's blocks are z, r, h; PyTorch's reset-after GRU is ONNX's linear_before_reset = 1.
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? {
        ONNXOperator(
            name: "GRU", gateOrder: [1, 0, 2],
            attributes: [("linear_before_reset", .int(config.gruVariant == .resetAfter ? 1 : 0))])
    }
    static let carryPath: CarryPath? = CarryPath(
        name: "update gate z", source: .gate(1),
        equation: """
            h_t = (1 - z) * n + z * h_{t-1} keeps a z-weighted copy of the old state, an identity path around the tanh \
            and W_hh.
            """)

    /// Reset-before: W_hr, W_hz multiply h_{t-1}, W_hn multiplies r * h_{t-1}.
    static func addRecurrentWeightGradient<T: Real>(
        _ q: SequenceGradients<T>, into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig
    ) {
        let H = q.hidden, G = 3 * H, rows = q.rows
        guard config.gruVariant == .resetBefore else {
            gemm(
                .transposed, .none, m: G, n: H, k: rows, a: q.dGh, lda: G, b: q.hPrev, ldb: H, c: dW, ldc: H,
                accumulate: true, threads: threads, sumsOfA: q.hiddenBiasSums)
            return
        }
        gemm(
            .transposed, .none, m: 2 * H, n: H, k: rows, a: q.dGh, lda: G, b: q.hPrev, ldb: H, c: dW, ldc: H,
            accumulate: true, threads: threads, sumsOfA: q.hiddenBiasSums)
        gemm(
            .transposed, .none, m: H, n: H, k: rows, a: q.dGh + 2 * H, lda: G, b: q.saved("reset_h"), ldb: H,
            c: dW + 2 * H * H, ldc: H, accumulate: true, threads: threads, sumsOfA: q.hiddenBiasSums.map { $0 + 2 * H })
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 3 * H, B = s.batch
        if config.gruVariant == .resetAfter {
            let hiddenN = s.saved("hidden_n")
            if s.hPrevIsZero {
                s.scratch.update(repeating: 0, count: B * G)
            } else {
                gemm(m: B, a: s.hPrev, lda: H, b: s.recurrent, c: s.scratch, ldc: G, accumulate: false)
            }
            for b in 0..<B {
                let row = s.gates + b * G, hh = s.scratch + b * G, hn = hiddenN + b * H, hp = s.hPrev + b * H,
                    out = s.hNext + b * H
                // One pass per 16 units: r, z, W_hn h + b_hn (saved as hidden_n), n and h_t.
                func compute(_ j: Int, _ w: Int) -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>) {
                    pointwiseResetAfter(
                        load16(row + j, count: w), load16(hh + j, count: w), load16(row + H + j, count: w),
                        load16(hh + H + j, count: w), load16(row + 2 * H + j, count: w),
                        load16(hh + 2 * H + j, count: w),
                        load16(s.bhh + 2 * H + j, count: w), load16(hp + j, count: w))
                }
                func store(_ j: Int, _ w: Int, _ v: (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>)) {
                    let (r, z, a, n, h) = v
                    store16(r, row + j, count: w); store16(z, row + H + j, count: w); store16(a, hn + j, count: w)
                    store16(n, row + 2 * H + j, count: w); store16(h, out + j, count: w)
                }
                // Whole vectors called directly where H allows (inlined: through the windowed driver's closures the
                // pass took 5% of a pixel-MNIST GRU batch in calls and copies), else the windowed driver.
                if H % 16 == 0 {
                    for j in stride(from: 0, to: H, by: 16) { store(j, 16, compute(j, 16)) }
                } else {
                    forEachWindow16(H, compute: compute, store: store)
                }
            }
        } else {
            let resetH = s.saved("reset_h")
            gemm(m: B, a: s.hPrev, lda: H, b: s.recurrent.prefix(columns: 2 * H), c: s.gates, ldc: G, accumulate: true)
            for b in 0..<B {
                let row = s.gates + b * G, rh = resetH + b * H, hp = s.hPrev + b * H
                T.sigmoidInPlace(row, 2 * H)
                for j in 0..<H { rh[j] = row[j] * hp[j] }
            }
            // n pre-activation += (r h) W_hn^T + b_hn (W_hn^T's columns start mid-panel: the unpacked copy)
            gemm(
                .none, .none, m: B, n: H, k: H, a: resetH, lda: H, b: s.whhT + 2 * H, ldb: G, c: s.gates + 2 * H,
                ldc: G,
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

    /// 16 units of the element-wise backward: dL/d(r, z, n pre-activations), the reset-after hidden-side n
    /// gradient dn r, and dh_{t-1}'s gated share dh z (reset-after: dr from the hidden-side n pre-activation
    /// W_hn h + b_hn).
    @inline(__always)
    static func pointwiseBackward<T: Real>(
        r: SIMD16<T>, z: SIMD16<T>, n: SIMD16<T>, dh: SIMD16<T>, hPrev: SIMD16<T>, hiddenN: SIMD16<T>
    )
        -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>)
    {
        let dn = dh * (1 - z) * (1 - n * n), dz = dh * (hPrev - n) * z * (1 - z)
        return (dn * hiddenN * r * (1 - r), dz, dn, dn * r, dh * z)
    }

    // dn = dh (1 - z) (1 - n^2);  dz = dh (h_{t-1} - n) z(1-z);  dh_{t-1} = dh z + (hidden-side terms):
    //   reset after:  dr = dn (W_hn h + b_hn) r(1-r); hidden-side n gradient is dn * r
    //   reset before: d(rh) = dn W_hn;  dr = d(rh) h_{t-1} r(1-r);  dh_{t-1} += d(rh) r
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 3 * H, B = s.batch
        let after = config.gruVariant == .resetAfter, hiddenN = after ? s.saved("hidden_n") : s.scratch
        for b in 0..<B {
            let row = s.gates + b * G, d = g.dGi + b * G, hp = s.hPrev + b * H, dh = g.dh + b * H,
                dhp = g.dhPrev + b * H
            let hn = hiddenN + b * H, dhh = g.dGh + b * G
            // Explicit vectors, as in the LSTM; whole ones called directly where H allows, as in the forward step.
            // Everything is read in compute: dG_i is written over the gates, and the windowed driver stores the
            // window that overlaps the others last.
            func compute(_ j: Int, _ w: Int) -> (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>) {
                pointwiseBackward(
                    r: load16(row + j, count: w), z: load16(row + H + j, count: w),
                    n: load16(row + 2 * H + j, count: w),
                    dh: load16(dh + j, count: w), hPrev: load16(hp + j, count: w),
                    hiddenN: after ? load16(hn + j, count: w) : SIMD16())
            }
            func store(_ j: Int, _ w: Int, _ v: (SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>, SIMD16<T>)) {
                let (dr, dz, dn, dnHidden, dhPrev) = v
                store16(dz, d + H + j, count: w); store16(dn, d + 2 * H + j, count: w);
                store16(dhPrev, dhp + j, count: w)
                if after {
                    store16(dr, d + j, count: w); store16(dr, dhh + j, count: w); store16(dz, dhh + H + j, count: w)
                    store16(dnHidden, dhh + 2 * H + j, count: w)
                }
            }
            if H % 16 == 0 {
                for j in stride(from: 0, to: H, by: 16) { store(j, 16, compute(j, 16)) }
            } else {
                forEachWindow16(H, compute: compute, store: store)
            }
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
