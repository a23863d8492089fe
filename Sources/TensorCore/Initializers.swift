import Foundation

/// Weight initialisation schemes. All draw from a `SeededRandom`, so a seed fixes every weight.
public enum Initializer: String, Codable, CaseIterable, Sendable {
    /// PyTorch's default for nn.RNN/LSTM/GRU: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).
    case pytorchDefault = "pytorch"
    /// Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), per gate block; biases zero.
    case xavier
    /// Keras' recurrent default: orthogonal W_hh blocks, Xavier W_ih, zero biases.
    case orthogonal
}

extension Tensor {
    /// Uniform U(low, high) entries.
    public static func uniform(_ shape: [Int], _ low: Double, _ high: Double, rng: inout SeededRandom) -> Tensor {
        Tensor(unchecked: shape, (0..<shape.reduce(1, *)).map { _ in T(rng.uniform(low, high)) })
    }

    /// Normal N(0, std^2) entries.
    public static func normal(_ shape: [Int], std: Double, rng: inout SeededRandom) -> Tensor {
        Tensor(unchecked: shape, (0..<shape.reduce(1, *)).map { _ in T(rng.normal() * std) })
    }

    /// A rows x cols matrix with orthonormal rows or columns (whichever is fewer), as torch.nn.init.orthogonal_:
    /// QR of a Gaussian matrix with the signs of R's diagonal folded into Q. Gram-Schmidt in Double.
    public static func orthogonal(rows: Int, cols: Int, gain: Double = 1, rng: inout SeededRandom) -> Tensor {
        let tall = rows >= cols
        let (r, c) = tall ? (rows, cols) : (cols, rows)  // r x c, r >= c: orthonormalise the c columns
        var q = [[Double]](repeating: [], count: c)
        for j in 0..<c {
            var v = (0..<r).map { _ in rng.normal() }
            for _ in 0..<2 {  // two passes: re-orthogonalisation keeps it exact to rounding
                for p in 0..<j {
                    let d = zip(v, q[p]).reduce(0) { $0 + $1.0 * $1.1 }
                    for i in 0..<r { v[i] -= d * q[p][i] }
                }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            q[j] = v.map { $0 / norm }
        }
        var out = [T](repeating: 0, count: rows * cols)
        for i in 0..<rows {
            for j in 0..<cols { out[i * cols + j] = T(gain * (tall ? q[j][i] : q[i][j])) }
        }
        return Tensor(unchecked: [rows, cols], out)
    }
}
