import TensorCore

/// Losses return the value and the gradient with respect to their input (PyTorch's 'mean' reduction).
public enum Loss {
    /// mean((p - y)^2) over every element; d/dp = 2 (p - y) / n.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public static func meanSquaredError<T: Real>(_ p: Tensor<T>, _ y: Tensor<T>) throws -> (
        loss: Double, grad: Tensor<T>
    ) {
        guard p.shape == y.shape else { throw ShapeError("MSE: prediction \(p.shape) and target \(y.shape) differ") }
        let n = T(p.count)
        var g = p, sum = 0.0
        for i in 0..<p.count {
            let d = p.data[i] - y.data[i]
            sum += Double(d * d)
            g.data[i] = 2 * d / n
        }
        return (sum / Double(p.count), g)
    }

    /// Softmax cross-entropy on logits [N, C] with class labels [N], averaged over N;
    /// d/dlogits = (softmax - onehot) / N. Log-sum-exp is shifted by the row max for stability.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public static func crossEntropy<T: Real>(_ logits: Tensor<T>, _ labels: [Int]) throws -> (
        loss: Double, grad: Tensor<T>, correct: Int
    ) {
        guard logits.rank == 2, logits.shape[0] == labels.count else {
            throw ShapeError("cross-entropy: logits \(logits.shape) for \(labels.count) labels")
        }
        let c = logits.shape[1]
        if let bad = labels.first(where: { $0 < 0 || $0 >= c }) {
            throw ShapeError("cross-entropy: label \(bad) outside 0..<\(c)")
        }
        var g = logits, loss = 0.0, correct = 0
        let invN = 1 / T(labels.count)
        for (r, label) in labels.enumerated() {
            var mx = -T.infinity, arg = 0
            for j in 0..<c where logits.data[r * c + j] > mx { mx = logits.data[r * c + j]; arg = j }
            if arg == label { correct += 1 }
            var s: T = 0
            for j in 0..<c { let e = T.exp(logits.data[r * c + j] - mx); g.data[r * c + j] = e; s += e }
            loss += Double(T.log(s) + mx - logits.data[r * c + label])
            for j in 0..<c { g.data[r * c + j] = g.data[r * c + j] / s * invN }
            g.data[r * c + label] -= invN
        }
        return (loss / Double(labels.count), g, correct)
    }
}
