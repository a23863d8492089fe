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
    let scratch: UnsafeMutablePointer<T>          // [B, G*H]
    let whhT: UnsafePointer<T>                    // [H, G*H]
    let whh: UnsafePointer<T>                     // [G*H, H]
    let bhh: UnsafePointer<T>                     // [G*H]
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

/// The small cell protocol: a forward step and, beside it, its backward step. One loop in
/// `RecurrentNetwork` drives every cell through these two functions.
protocol RecurrentCell {
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig)
}

extension RecurrentConfig {
    // A switch, not an existential metatype: static calls let the compiler specialise each cell for T.
    @_specialize(where T == Float) @_specialize(where T == Double)
    func forwardStep<T: Real>(_ s: StepBuffers<T>) {
        switch cell {
        case .rnn: ElmanCell.forward(s, self)
        case .lstm: LSTMCell.forward(s, self)
        case .gru: GRUCell.forward(s, self)
        }
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    func backwardStep<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>) {
        switch cell {
        case .rnn: ElmanCell.backward(s, g, self)
        case .lstm: LSTMCell.backward(s, g, self)
        case .gru: GRUCell.backward(s, g, self)
        }
    }
}

/// h_t = act(x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.
enum ElmanCell: RecurrentCell {
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let n = s.batch * s.hidden, H = s.hidden
        gemm(.none, .none, m: s.batch, n: H, k: H, a: s.hPrev, lda: H, b: s.whhT, ldb: H, c: s.gates, ldc: H, accumulate: true, threads: 1)
        if config.nonlinearity == .tanh { T.tanhInPlace(s.gates, n) } else { for i in 0..<n { s.gates[i] = max(s.gates[i], 0) } }
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
        gemm(.none, .none, m: s.batch, n: H, k: H, a: g.dGi, lda: H, b: s.whh, ldb: H, c: g.dhPrev, ldc: H, accumulate: false, threads: 1)
    }
}

/// LSTM, gates [i f g o]:  i,f,o = sigmoid(.), g = tanh(.);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).
enum LSTMCell: RecurrentCell {
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 4 * H
        gemm(.none, .none, m: s.batch, n: G, k: H, a: s.hPrev, lda: H, b: s.whhT, ldb: G, c: s.gates, ldc: G, accumulate: true, threads: 1)
        for b in 0..<s.batch {
            let row = s.gates + b * G
            let cp = s.cPrev + b * H, cn = s.cNext + b * H, tc = s.aux + b * H, hn = s.hNext + b * H
            var j = 0
            // One pass per 16 units: activations (kept in `gates` for the backward pass), c_t, tanh(c_t), h_t.
            while j + 16 <= H {
                let i = T.sigmoid(load16(row + j)), f = T.sigmoid(load16(row + H + j))
                let g = T.tanh(load16(row + 2 * H + j)), o = T.sigmoid(load16(row + 3 * H + j))
                let c = f * load16(cp + j) + i * g, t = T.tanh(c)
                store16(i, row + j); store16(f, row + H + j); store16(g, row + 2 * H + j); store16(o, row + 3 * H + j)
                store16(c, cn + j); store16(t, tc + j); store16(o * t, hn + j)
                j += 16
            }
            if j < H {   // the remaining units, through the pointer kernels
                let n = H - j
                T.sigmoidInPlace(row + j, n); T.sigmoidInPlace(row + H + j, n)
                T.tanhInPlace(row + 2 * H + j, n); T.sigmoidInPlace(row + 3 * H + j, n)
                for u in j..<H {
                    let c = row[H + u] * cp[u] + row[u] * row[2 * H + u]
                    cn[u] = c; tc[u] = c
                }
                T.tanhInPlace(tc + j, n)
                for u in j..<H { hn[u] = row[3 * H + u] * tc[u] }
            }
        }
    }

    // dc_t += dh o (1 - tanh^2 c);  d i = dc g i(1-i);  d f = dc c_{t-1} f(1-f);  d g = dc i (1-g^2);
    // d o = dh tanh(c) o(1-o);  dc_{t-1} = dc f  (the additive cell path);  dh_{t-1} = dG W_hh.
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 4 * H
        for b in 0..<s.batch {
            let row = s.gates + b * G, d = g.dGi + b * G
            let cp = s.cPrev + b * H, tc = s.aux + b * H, dh = g.dh + b * H, dc = g.dc + b * H
            var j = 0
            // 16 units at a time with explicit vectors (the scalar loop below does not vectorise: its
            // pointers may alias as far as the compiler knows).
            while j + 16 <= H {
                let i = load16(row + j), f = load16(row + H + j), gg = load16(row + 2 * H + j), o = load16(row + 3 * H + j)
                let t = load16(tc + j), dhj = load16(dh + j)
                let dcj = load16(dc + j) + dhj * o * (1 - t * t)
                store16(dcj * gg * i * (1 - i), d + j)
                store16(dcj * load16(cp + j) * f * (1 - f), d + H + j)
                store16(dcj * i * (1 - gg * gg), d + 2 * H + j)
                store16(dhj * t * o * (1 - o), d + 3 * H + j)
                store16(dcj * f, dc + j)
                j += 16
            }
            while j < H {
                let i = row[j], f = row[H + j], gg = row[2 * H + j], o = row[3 * H + j], t = tc[j]
                let dcj = dc[j] + dh[j] * o * (1 - t * t)
                d[j] = dcj * gg * i * (1 - i)
                d[H + j] = dcj * cp[j] * f * (1 - f)
                d[2 * H + j] = dcj * i * (1 - gg * gg)
                d[3 * H + j] = dh[j] * t * o * (1 - o)
                dc[j] = dcj * f
                j += 1
            }
        }
        gemm(.none, .none, m: s.batch, n: H, k: G, a: g.dGi, lda: G, b: s.whh, ldb: H, c: g.dhPrev, ldc: H, accumulate: false, threads: 1)
    }
}

/// GRU, gates [r z n]:  r,z = sigmoid(.);  h_t = (1 - z) n + z h_{t-1};
///   reset after  (PyTorch): n = tanh(W_in x + b_in + r (W_hn h_{t-1} + b_hn))
///   reset before (original): n = tanh(W_in x + b_in + W_hn (r h_{t-1}) + b_hn)
/// The input projection arrives with b_ih (all gates) and b_hr, b_hz folded in; b_hn is added here.
enum GRUCell: RecurrentCell {
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 3 * H, B = s.batch
        if config.gruVariant == .resetAfter {
            gemm(.none, .none, m: B, n: G, k: H, a: s.hPrev, lda: H, b: s.whhT, ldb: G, c: s.scratch, ldc: G, accumulate: false, threads: 1)
            for b in 0..<B {
                let row = s.gates + b * G, hh = s.scratch + b * G, hn = s.aux + b * H, hp = s.hPrev + b * H, out = s.hNext + b * H
                var j = 0
                // One pass per 16 units: r, z, W_hn h + b_hn (kept in aux), n and h_t.
                while j + 16 <= H {
                    let r = T.sigmoid(load16(row + j) + load16(hh + j)), z = T.sigmoid(load16(row + H + j) + load16(hh + H + j))
                    let a = load16(hh + 2 * H + j) + load16(s.bhh + 2 * H + j)
                    let n = T.tanh(load16(row + 2 * H + j) + r * a)
                    store16(r, row + j); store16(z, row + H + j); store16(a, hn + j); store16(n, row + 2 * H + j)
                    store16((1 - z) * n + z * load16(hp + j), out + j)
                    j += 16
                }
                if j < H {   // the remaining units, through the pointer kernels
                    let n = H - j
                    for u in j..<H { row[u] += hh[u]; row[H + u] += hh[H + u] }
                    T.sigmoidInPlace(row + j, n); T.sigmoidInPlace(row + H + j, n)
                    for u in j..<H {
                        hn[u] = hh[2 * H + u] + s.bhh[2 * H + u]
                        row[2 * H + u] += row[u] * hn[u]
                    }
                    T.tanhInPlace(row + 2 * H + j, n)
                    for u in j..<H { let z = row[H + u]; out[u] = (1 - z) * row[2 * H + u] + z * hp[u] }
                }
            }
        } else {
            gemm(.none, .none, m: B, n: 2 * H, k: H, a: s.hPrev, lda: H, b: s.whhT, ldb: G, c: s.gates, ldc: G, accumulate: true, threads: 1)
            for b in 0..<B {
                let row = s.gates + b * G, rh = s.aux + b * H, hp = s.hPrev + b * H
                T.sigmoidInPlace(row, 2 * H)
                for j in 0..<H { rh[j] = row[j] * hp[j] }
            }
            // n pre-activation += (r h) W_hn^T + b_hn
            gemm(.none, .none, m: B, n: H, k: H, a: s.aux, lda: H, b: s.whhT + 2 * H, ldb: G, c: s.gates + 2 * H, ldc: G, accumulate: true, threads: 1)
            for b in 0..<B {
                let row = s.gates + b * G, hp = s.hPrev + b * H, hn = s.hNext + b * H
                for j in 0..<H { row[2 * H + j] += s.bhh[2 * H + j] }
                T.tanhInPlace(row + 2 * H, H)
                for j in 0..<H { let z = row[H + j]; hn[j] = (1 - z) * row[2 * H + j] + z * hp[j] }
            }
        }
    }

    // dn = dh (1 - z) (1 - n^2);  dz = dh (h_{t-1} - n) z(1-z);  dh_{t-1} = dh z + (hidden-side terms):
    //   reset after:  dr = dn (W_hn h + b_hn) r(1-r); hidden-side n gradient is dn * r
    //   reset before: d(rh) = dn W_hn;  dr = d(rh) h_{t-1} r(1-r);  dh_{t-1} += d(rh) r
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, G = 3 * H, B = s.batch
        let after = config.gruVariant == .resetAfter
        for b in 0..<B {
            let row = s.gates + b * G, d = g.dGi + b * G, hp = s.hPrev + b * H, dh = g.dh + b * H, dhp = g.dhPrev + b * H
            let aux = s.aux + b * H, dhh = g.dGh + b * G
            var j = 0
            while j + 16 <= H {   // explicit vectors, as in the LSTM
                let r = load16(row + j), z = load16(row + H + j), n = load16(row + 2 * H + j), dhj = load16(dh + j)
                let dn = dhj * (1 - z) * (1 - n * n), dz = dhj * (load16(hp + j) - n) * z * (1 - z)
                store16(dz, d + H + j); store16(dn, d + 2 * H + j); store16(dhj * z, dhp + j)
                if after {
                    let dr = dn * load16(aux + j) * r * (1 - r)
                    store16(dr, d + j); store16(dr, dhh + j); store16(dz, dhh + H + j); store16(dn * r, dhh + 2 * H + j)
                }
                j += 16
            }
            while j < H {
                let r = row[j], z = row[H + j], n = row[2 * H + j]
                let dn = dh[j] * (1 - z) * (1 - n * n)
                d[H + j] = dh[j] * (hp[j] - n) * z * (1 - z)
                d[2 * H + j] = dn
                dhp[j] = dh[j] * z
                if after {
                    d[j] = dn * aux[j] * r * (1 - r)
                    dhh[j] = d[j]; dhh[H + j] = d[H + j]; dhh[2 * H + j] = dn * r
                }
                j += 1
            }
        }
        if after {
            gemm(.none, .none, m: B, n: H, k: G, a: g.dGh, lda: G, b: s.whh, ldb: H, c: g.dhPrev, ldc: H, accumulate: true, threads: 1)
        } else {
            // d(r h) = dn W_hn  -> scratch [B, H]
            gemm(.none, .none, m: B, n: H, k: H, a: g.dGi + 2 * H, lda: G, b: s.whh + 2 * H * H, ldb: H, c: s.scratch, ldc: H, accumulate: false, threads: 1)
            for b in 0..<B {
                let row = s.gates + b * G, d = g.dGi + b * G, hp = s.hPrev + b * H, drh = s.scratch + b * H, dhp = g.dhPrev + b * H
                for j in 0..<H {
                    let r = row[j]
                    d[j] = drh[j] * hp[j] * r * (1 - r)
                    dhp[j] += drh[j] * r
                }
            }
            gemm(.none, .none, m: B, n: H, k: 2 * H, a: g.dGi, lda: G, b: s.whh, ldb: H, c: g.dhPrev, ldc: H, accumulate: true, threads: 1)
        }
    }
}
