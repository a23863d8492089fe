import TensorCore

/// h_t = act(x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.
enum ElmanCell: RecurrentCell {
    static let name = "rnn", displayName = "RNN", gateNames = ["h"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [config.nonlinearity.activation] }
    static func settings(_ config: RecurrentConfig) -> [String] { [config.nonlinearity.rawValue] }
    static func layout(_ config: RecurrentConfig) -> CellLayout { CellLayout(oneWeightGradientProduct: true) }
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? {
        ONNXOperator(name: "RNN", gateOrder: [0], attributes: [("activations", .strings([config.nonlinearity.onnx]))])
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let n = s.batch * s.hidden, H = s.hidden
        if !s.hPrevIsZero { gemm(m: s.batch, a: s.hPrev, lda: H, b: s.recurrent, c: s.gates, ldc: H, accumulate: true) }
        config.nonlinearity.apply(s.gates, n)
        s.hNext.update(from: s.gates, count: n)
    }

    // d pre = dh * act'(pre), with tanh' = 1 - h^2 and relu' = [h > 0]; dh_{t-1} = d pre W_hh.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let n = s.batch * s.hidden, H = s.hidden
        config.nonlinearity.backward(dh: g.dh, h: s.gates, into: g.dGi, n)
        gemm(m: s.batch, a: g.dGi, lda: H, b: s.recurrent, c: g.dhPrev, ldc: H, accumulate: false)
    }
}
