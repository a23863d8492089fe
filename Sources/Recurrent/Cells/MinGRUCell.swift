import TensorCore

/// minGRU (Feng et al. 2024, "Were RNNs All We Needed?"), gates [z h]:
///   z_t = sigmoid(W_z x_t + b_z),  h~_t = W_h x_t + b_h,  h_t = (1 - z_t) h_{t-1} + z_t h~_t.
/// Neither gate reads h_{t-1}: no weight_hh, no bias_hh, and the recurrence is linear in h (a_t = 1 - z_t,
/// b_t = z_t h~_t), so training can scan over time. Its gradient through k steps is the product of (1 - z).
enum MinGRUCell: GateOnlyRecurrence {
    static let name = "mingru", displayName = "minGRU", gateNames = ["z", "h"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.sigmoid, .identity] }
    /// z writes the candidate (1 - z keeps the state), so no block is a keep gate for chrono initialisation.
    static func layout(_ config: RecurrentConfig) -> CellLayout { CellLayout(recurrentWeight: .none, saved: ["carry"]) }
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? { nil }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) { gateOnlyForward(s) }
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        gateOnlyBackward(s, g)
    }
    static let carryPath: CarryPath? = CarryPath(
        name: "carry 1 - z", source: .saved("carry"),
        equation: """
            h_t = (1 - z) * h_{t-1} + z * h~_t is the whole recurrence: dh_t/dh_{t-1} = 1 - z elementwise, with no \
            squashing and no weight matrix at all.
            """)

    // z = sigmoid(pre_z) (kept in the gates);  a = 1 - z;  b = z h~.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func coefficients<T: Real>(
        gates: UnsafeMutablePointer<T>, rows: Int, hidden H: Int, carry: UnsafeMutablePointer<T>,
        input: UnsafeMutablePointer<T>
    ) {
        for r in 0..<rows {
            let zp = gates + r * 2 * H, hp = zp + H, a = carry + r * H, b = input + r * H
            forEachWindow16(
                H,
                compute: { j, w in
                    let z = T.sigmoid(load16(zp + j, count: w))
                    return (z, 1 - z, z * load16(hp + j, count: w))
                },
                store: { j, w, v in
                    store16(v.0, zp + j, count: w); store16(v.1, a + j, count: w); store16(v.2, b + j, count: w)
                })
        }
    }

    // d pre_z = dh (h~ - h_{t-1}) z (1 - z);  d h~ = dh z.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func gateGradients<T: Real>(
        gates: UnsafePointer<T>, hPrev: UnsafePointer<T>, dh: UnsafePointer<T>, rows: Int, hidden H: Int,
        into dG: UnsafeMutablePointer<T>
    ) {
        for r in 0..<rows {
            let zp = gates + r * 2 * H, hp = zp + H, d = dG + r * 2 * H, dhr = dh + r * H, prev = hPrev + r * H
            forEachWindow16(
                H,
                compute: { j, w in
                    let z = load16(zp + j, count: w), g = load16(dhr + j, count: w)
                    let dz = g * (load16(hp + j, count: w) - load16(prev + j, count: w)) * z * (1 - z)
                    return (dz, g * z)
                },
                store: { j, w, v in
                    store16(v.0, d + j, count: w); store16(v.1, d + H + j, count: w)
                })
        }
    }
}

extension CellKind {
    public static let mingru = CellKind(builtIn: MinGRUCell.self)
}
