import TensorCore

/// Independently recurrent network (Li et al. 2018, "Independently Recurrent Neural Network (IndRNN)"):
///   h_t = act(x_t W_ih^T + b_ih + u * h_{t-1} + b_hh),  act = relu (the paper's) or tanh,
/// with one recurrent weight per unit (u = weight_hh [H], element-wise). A unit's gradient through k steps is
/// the product of its own u * act' factors, so |u| near 1 carries it over long sequences without the mixing
/// of a full W_hh; depth, not recurrence, mixes the units.
enum IndRNNCell: RecurrentCell {
    static let name = "indrnn", displayName = "IndRNN", gateNames = ["h"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [config.nonlinearity.activation] }
    static func settings(_ config: RecurrentConfig) -> [String] { [config.nonlinearity.rawValue] }
    static func layout(_ config: RecurrentConfig) -> CellLayout { CellLayout(recurrentWeight: .diagonal) }
    /// ONNX's RNN operator multiplies by a full matrix; an element-wise recurrence has no standard operator.
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? { nil }

    /// u ~ U(0, 1) under every initializer: each unit starts as a non-negative leak below 1, so none starts
    /// out exploding or flipping sign from step to step (a square-matrix scheme has no meaning for a vector).
    static func initialRecurrentBlock(_ initializer: Initializer, hidden H: Int, rng: inout SeededRandom) -> [Double] {
        (0..<H).map { _ in rng.uniform(0, 1) }
    }

    // pre = (input projection, biases folded) + u * h_{t-1};  h_t = act(pre), kept in `gates` for backward.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let H = s.hidden, u = s.whh
        for b in 0..<s.batch {
            let pre = s.gates + b * H, hp = s.hPrev + b * H
            for j in 0..<H { pre[j] += u[j] * hp[j] }
        }
        let n = s.batch * H
        config.nonlinearity.apply(s.gates, n)
        s.hNext.update(from: s.gates, count: n)
    }

    // d pre = dh * act'(pre) (tanh' = 1 - h^2, relu' = [h > 0]);  dh_{t-1} = d pre * u.
    @_specialize(where T == Float) @_specialize(where T == Double)
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        let H = s.hidden, u = s.whh
        config.nonlinearity.backward(dh: g.dh, h: s.gates, into: g.dGi, s.batch * H)
        for b in 0..<s.batch {
            for j in 0..<H { g.dhPrev[b * H + j] = g.dGi[b * H + j] * u[j] }
        }
    }

    /// du_j += sum over steps and batch rows of d pre_j * h_{t-1, j} (and d pre_j into the hidden bias sums).
    static func addRecurrentWeightGradient<T: Real>(
        _ q: SequenceGradients<T>, into dW: UnsafeMutablePointer<T>, threads: Int, _ config: RecurrentConfig
    ) {
        let H = q.hidden
        for r in 0..<q.rows {
            let d = q.dGh + r * H, h = q.hPrev + r * H
            for j in 0..<H { dW[j] += d[j] * h[j] }
            if let sums = q.hiddenBiasSums { for j in 0..<H { sums[j] += d[j] } }
        }
    }
}
