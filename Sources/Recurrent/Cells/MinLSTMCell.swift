import TensorCore

/// minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"), gates [f i h]:
///   f_t = sigmoid(W_f x_t + b_f),  i_t = sigmoid(W_i x_t + b_i),  h~_t = W_h x_t + b_h,
///   f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),  h_t = f'_t h_{t-1} + i'_t h~_t.
/// The normalised gates sum to one, so h stays a convex mixture of candidates; no gate reads h_{t-1} (no weight_hh,
/// no bias_hh), and the recurrence is linear in h (a_t = f'_t, b_t = i'_t h~_t), so training can scan over time.
enum MinLSTMCell: GateOnlyRecurrence {
    static let name = "minlstm", displayName = "minLSTM", gateNames = ["f", "i", "h"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.sigmoid, .sigmoid, .identity] }
    /// f keeps the state and i writes it: a forget-gate bias or chrono initialisation sets them.
    static func layout(_ config: RecurrentConfig) -> CellLayout {
        CellLayout(recurrentWeight: .none, forgetGate: 0, writeGate: 1, saved: ["carry"])
    }
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? { nil }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) { gateOnlyForward(s) }
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        gateOnlyBackward(s, g)
    }
    static let carryPath: CarryPath? = CarryPath(
        name: "carry f / (f + i)", source: .saved("carry"),
        equation: """
            h_t = f' * h_{t-1} + i' * h~_t with f' = f / (f + i) is the whole recurrence: dh_t/dh_{t-1} = f' \
            elementwise, with no squashing and no weight matrix at all.
            """)

    // f, i = sigmoid(.) (kept in the gates);  a = f / (f + i);  b = i h~ / (f + i).
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func coefficients<T: Real>(
        gates: UnsafeMutablePointer<T>, rows: Int, hidden H: Int, carry: UnsafeMutablePointer<T>,
        input: UnsafeMutablePointer<T>
    ) {
        for r in 0..<rows {
            let fp = gates + r * 3 * H, ip = fp + H, hp = fp + 2 * H, a = carry + r * H, b = input + r * H
            forEachWindow16(
                H,
                compute: { j, w in
                    let f = T.sigmoid(load16(fp + j, count: w)), i = T.sigmoid(load16(ip + j, count: w))
                    let sum = f + i
                    return (f, i, f / sum, i * load16(hp + j, count: w) / sum)
                },
                store: { j, w, v in
                    store16(v.0, fp + j, count: w); store16(v.1, ip + j, count: w)
                    store16(v.2, a + j, count: w); store16(v.3, b + j, count: w)
                })
        }
    }

    // With s = f + i:  d f = dh i (h_{t-1} - h~) / s^2,  d i = dh f (h~ - h_{t-1}) / s^2,  d h~ = dh i / s;
    // through the sigmoids, d pre_f = d f f (1 - f), d pre_i = d i i (1 - i).
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func gateGradients<T: Real>(
        gates: UnsafePointer<T>, hPrev: UnsafePointer<T>, dh: UnsafePointer<T>, rows: Int, hidden H: Int,
        into dG: UnsafeMutablePointer<T>
    ) {
        for r in 0..<rows {
            let fp = gates + r * 3 * H, ip = fp + H, hp = fp + 2 * H, d = dG + r * 3 * H, dhr = dh + r * H
            let prev = hPrev + r * H
            forEachWindow16(
                H,
                compute: { j, w in
                    let f = load16(fp + j, count: w), i = load16(ip + j, count: w), g = load16(dhr + j, count: w)
                    let sum = f + i, gap = load16(prev + j, count: w) - load16(hp + j, count: w)
                    let scaled = g / (sum * sum)
                    return (scaled * i * gap * f * (1 - f), -scaled * f * gap * i * (1 - i), g * i / sum)
                },
                store: { j, w, v in
                    store16(v.0, d + j, count: w); store16(v.1, d + H + j, count: w)
                    store16(v.2, d + 2 * H + j, count: w)
                })
        }
    }
}

extension CellKind {
    public static let minlstm = CellKind(builtIn: MinLSTMCell.self)
}
