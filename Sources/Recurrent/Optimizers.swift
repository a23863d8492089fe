import Foundation
import TensorCore

/// Optimizers with PyTorch's update rules and defaults.
public enum OptimizerKind: Codable, Equatable, Sendable {
    /// buf = momentum buf + g;  p -= lr (nesterov ? g + momentum buf : buf)   (torch.optim.SGD, dampening 0)
    case sgd(lr: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0)
    /// m, v moments with bias correction;  p -= lr m^ / (sqrt(v^) + eps)     (torch.optim.Adam)
    case adam(
        lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0)
    /// v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps)            (torch.optim.RMSprop)
    case rmsprop(lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8, momentum: Double = 0)
    /// s += g^2;  p -= lr g / (sqrt(s) + eps)                                  (torch.optim.Adagrad)
    case adagrad(lr: Double = 1e-2, eps: Double = 1e-10)

    /// The optimizer's name as PyTorch spells it ("Adam").
    public var name: String {
        switch self {
        case .sgd: "SGD";
        case .adam: "Adam";
        case .rmsprop: "RMSprop";
        case .adagrad: "Adagrad"
        }
    }

    /// The base learning rate.
    public var learningRate: Double {
        switch self {
        case .sgd(let lr, _, _, _), .adam(let lr, _, _, _, _), .rmsprop(let lr, _, _, _), .adagrad(let lr, _): lr
        }
    }
}

/// An optimizer and its state (moment buffers named "<slot>.<parameter>", plus the step count), so a
/// checkpoint can hold it and a resumed run continues exactly.
public struct Optimizer<T: Real> {
    /// The algorithm and its hyperparameters.
    public var kind: OptimizerKind
    /// Updates made so far (Adam's bias correction uses it).
    public private(set) var step = 0
    /// Multiplies the learning rate (a schedule sets it per epoch); 1 = the kind's own rate.
    public var learningRateScale = 1.0
    /// Per-parameter moments, named "exp_avg.<name>" and so on as in torch's state dict.
    public var state: ParameterSet<T>

    /// An optimizer with zero state for these parameters.
    public init(_ kind: OptimizerKind, for parameters: ParameterSet<T>) {
        self.kind = kind
        let slots: [String]
        switch kind {
        case .sgd(_, let m, _, _): slots = m != 0 ? ["momentum_buffer"] : []
        case .adam: slots = ["exp_avg", "exp_avg_sq"]
        case .rmsprop(_, _, _, let m): slots = m != 0 ? ["square_avg", "momentum_buffer"] : ["square_avg"]
        case .adagrad: slots = ["sum"]
        }
        state = ParameterSet()
        for slot in slots {
            for (n, t) in zip(parameters.names, parameters.tensors) {
                state.append("\(slot).\(n)", Tensor(zeros: t.shape))
            }
        }
    }

    /// Restores moments and step count saved from an optimizer of the same kind over the same parameters.
    public mutating func restore(state saved: ParameterSet<T>, step: Int) throws {
        try state.load(from: saved)
        self.step = step
    }

    /// One step: moves `params` against `grads`.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public mutating func update(_ params: inout ParameterSet<T>, _ grads: ParameterSet<T>) {
        precondition(params.names == grads.names, "gradients do not match parameters")
        step += 1
        let count = params.count
        for i in 0..<count {
            let n = params.tensors[i].count
            // Move this parameter's moment buffers out (no copy), update them in place, move them back.
            var s0 = Tensor<T>(zeros: [0]), s1 = Tensor<T>(zeros: [0])
            if state.count > i { swap(&s0, &state.tensors[i]) }
            if state.count > count + i { swap(&s1, &state.tensors[count + i]) }
            defer {
                if state.count > i { swap(&s0, &state.tensors[i]) }
                if state.count > count + i { swap(&s1, &state.tensors[count + i]) }
            }
            params.tensors[i].data.withUnsafeMutableBufferPointer { pp in
                grads.tensors[i].data.withUnsafeBufferPointer { gp in
                    let p = pp.baseAddress!, g = gp.baseAddress!
                    switch kind {
                    case let .sgd(lr0, mom, nesterov, wd):
                        let lr = lr0 * learningRateScale
                        let lrT = T(lr), momT = T(mom), wdT = T(wd)
                        if mom == 0 {
                            for j in 0..<n { p[j] -= lrT * (g[j] + wdT * p[j]) }
                        } else {
                            s0.data.withUnsafeMutableBufferPointer { bp in
                                let b = bp.baseAddress!
                                for j in 0..<n {
                                    let gj = g[j] + wdT * p[j]
                                    b[j] = momT * b[j] + gj
                                    p[j] -= lrT * (nesterov ? gj + momT * b[j] : b[j])
                                }
                            }
                        }
                    case let .adam(lr0, b1, b2, eps, wd):
                        let lr = lr0 * learningRateScale
                        let c1 = 1 - pow(b1, Double(step)), c2 = 1 - pow(b2, Double(step))
                        let stepSize = T(lr / c1), b1T = T(b1), b2T = T(b2), epsT = T(eps), wdT = T(wd),
                            sc2 = T(c2.squareRoot())
                        s0.data.withUnsafeMutableBufferPointer { mp in
                            s1.data.withUnsafeMutableBufferPointer { vp in
                                let m = mp.baseAddress!, v = vp.baseAddress!
                                for j in 0..<n {
                                    let gj = g[j] + wdT * p[j]
                                    m[j] = b1T * m[j] + (1 - b1T) * gj
                                    v[j] = b2T * v[j] + (1 - b2T) * gj * gj
                                    p[j] -= stepSize * m[j] / (v[j].squareRoot() / sc2 + epsT)
                                }
                            }
                        }
                    case let .rmsprop(lr0, alpha, eps, mom):
                        let lr = lr0 * learningRateScale
                        let lrT = T(lr), aT = T(alpha), epsT = T(eps), momT = T(mom)
                        s0.data.withUnsafeMutableBufferPointer { vp in
                            let v = vp.baseAddress!
                            for j in 0..<n { v[j] = aT * v[j] + (1 - aT) * g[j] * g[j] }
                            if mom == 0 {
                                for j in 0..<n { p[j] -= lrT * g[j] / (v[j].squareRoot() + epsT) }
                            } else {
                                s1.data.withUnsafeMutableBufferPointer { bp in
                                    let b = bp.baseAddress!
                                    for j in 0..<n {
                                        b[j] = momT * b[j] + g[j] / (v[j].squareRoot() + epsT); p[j] -= lrT * b[j]
                                    }
                                }
                            }
                        }
                    case let .adagrad(lr0, eps):
                        let lr = lr0 * learningRateScale
                        let lrT = T(lr), epsT = T(eps)
                        s0.data.withUnsafeMutableBufferPointer { sp in
                            let s = sp.baseAddress!
                            for j in 0..<n { s[j] += g[j] * g[j]; p[j] -= lrT * g[j] / (s[j].squareRoot() + epsT) }
                        }
                    }
                }
            }
        }
    }
}

/// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): if ||g|| > maxNorm, every gradient is
/// scaled by maxNorm / (||g|| + 1e-6). Returns the norm before clipping.
/// `knownNorm` skips recomputing the norm when the caller already has it.
@_specialize(where T == Float) @_specialize(where T == Double)
@discardableResult
public func clipGradientNorm<T: Real>(_ grads: inout ParameterSet<T>, maxNorm: Double, knownNorm: Double? = nil)
    -> Double
{
    let norm = knownNorm ?? grads.globalNorm
    if norm > maxNorm {
        let scale = T(maxNorm / (norm + 1e-6))
        for i in grads.tensors.indices {
            grads.tensors[i].data.withUnsafeMutableBufferPointer { for j in $0.indices { $0[j] *= scale } }
        }
    }
    return norm
}
