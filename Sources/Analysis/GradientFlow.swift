import Foundation
import TensorCore
import Recurrent

/// How gradients travel back through time: the quantities behind "vanishing / exploding gradients".
public enum GradientFlow {
    /// Mean over the batch of ||dL/dh_t|| for every step t, from dL/dh [B, T, H].
    @_specialize(where T == Float) @_specialize(where T == Double)
    public static func stepNorms<T: Real>(_ dlDh: Tensor<T>) -> [Double] {
        let B = dlDh.shape[0], Tn = dlDh.shape[1], H = dlDh.shape[2]
        return (0..<Tn).map { t in
            (0..<B).reduce(0.0) { acc, b in
                let row = dlDh.data[((b * Tn + t) * H)..<((b * Tn + t + 1) * H)]
                return acc + row.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            } / Double(B)
        }
    }

    /// ||dh_T / dh_t||_F (Frobenius norm of the Jacobian of the last hidden state with respect to the state
    /// at step t, through the top layer's recurrence), averaged over the batch. One backward pass per unit
    /// of h_T: seeding dL/dh_T = e_i gives row i of every Jacobian at once, since samples are independent.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public static func jacobianNorms<T: Real>(_ net: RecurrentNetwork<T>, input x: Tensor<T>) throws -> [Double] {
        let out = try net.forward(x)
        let B = out.output.shape[0], Tn = out.output.shape[1], H = out.output.shape[2]
        var sq = [Double](repeating: 0, count: B * Tn)
        var scratch = net.parameters.zerosLike()
        for i in 0..<H {
            var seed = Tensor<T>(zeros: [B, Tn, H])
            for b in 0..<B { seed.data[(b * Tn + Tn - 1) * H + i] = 1 }
            _ = try net.backward(dOutput: seed, into: &scratch, inputGradient: false, retainForward: true)
            let dlDh = net.hiddenGradient()!
            for k in 0..<(B * Tn) {
                var s = 0.0
                for j in 0..<H { let v = Double(dlDh.data[k * H + j]); s += v * v }
                sq[k] += s
            }
        }
        return (0..<Tn).map { t in (0..<B).reduce(0.0) { $0 + sq[$1 * Tn + t].squareRoot() } / Double(B) }
    }

    /// ratio of the first step's value to the last step's (e.g. ||dL/dh_1|| / ||dL/dh_T||).
    public static func firstToLastRatio(_ v: [Double]) -> Double {
        guard let f = v.first, let l = v.last, l != 0 else { return .nan }
        return f / l
    }

    /// Geometric-mean shrink (or growth) factor per step between the first and last step: ratio^(1/(T-1)).
    public static func perStepFactor(_ v: [Double]) -> Double {
        guard v.count > 1 else { return .nan }
        return pow(firstToLastRatio(v), 1 / Double(v.count - 1))
    }
}
