import Foundation
import Statistics
import TensorCore

/// Low-dimensional views of hidden states: exact PCA and exact t-SNE, plus the similarity measures the
/// encoder comparison uses. Points are rows of an n x d matrix.
public enum Projection {
    /// Symmetric eigen-decomposition by cyclic Jacobi rotations (exact to rounding for the small matrices here).
    /// Returns eigenvalues descending and the matching unit eigenvectors.
    public static func symmetricEigen(_ a: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
        let n = a.count
        var m = a, v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { off += m[i][j] * m[i][j] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where abs(m[p][q]) > 1e-300 {
                    let theta = (m[q][q] - m[p][p]) / (2 * m[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let mkp = m[k][p], mkq = m[k][q]
                        m[k][p] = c * mkp - s * mkq; m[k][q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {
                        let mpk = m[p][k], mqk = m[q][k]
                        m[p][k] = c * mpk - s * mqk; m[q][k] = s * mpk + c * mqk
                    }
                    for k in 0..<n {
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq; v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { m[$0][$0] > m[$1][$1] }
        return (order.map { m[$0][$0] }, order.map { j in (0..<n).map { v[$0][j] } })
    }

    /// Principal components of a set of vectors and the data projected on them.
    public struct PCAResult {
        public var coordinates: [[Double]]  // n x k
        public var explainedVariance: [Double]  // of all components, descending
        /// Share of the total variance each component holds.
        public var explainedRatio: [Double] {
            let t = explainedVariance.reduce(0, +); return explainedVariance.map { t > 0 ? $0 / t : 0 }
        }
        /// Participation ratio (sum lambda)^2 / sum lambda^2: how many directions the points really use.
        public var effectiveDimensionality: Double {
            let s = explainedVariance.reduce(0, +), s2 = explainedVariance.reduce(0) { $0 + $1 * $1 }
            return s2 > 0 ? s * s / s2 : 0
        }
    }

    /// Exact PCA: centre, eigen-decompose the d x d covariance (or the n x n Gram matrix when n < d), project.
    /// Component signs are fixed so the largest-magnitude loading is positive (reproducible output).
    public static func pca(_ x: [[Double]], components k: Int = 2) -> PCAResult {
        let n = x.count, d = x.first?.count ?? 0
        guard n > 0, d > 0 else { return PCAResult(coordinates: [], explainedVariance: []) }
        let mean = (0..<d).map { j in x.reduce(0) { $0 + $1[j] } / Double(n) }
        let c = x.map { row in zip(row, mean).map { $0 - $1 } }
        let denom = Double(max(n - 1, 1))
        var coords: [[Double]], values: [Double]
        if n < d {
            // Gram trick: eigenvectors u of C C^T give scores sqrt(lambda) u (same non-zero spectrum).
            let g = (0..<n).map { i in (0..<n).map { j in zip(c[i], c[j]).reduce(0) { $0 + $1.0 * $1.1 } / denom } }
            let e = symmetricEigen(g)
            values = e.values.map { max($0, 0) }
            coords = (0..<n).map { i in
                (0..<min(k, n)).map { comp in e.vectors[comp][i] * (values[comp] * denom).squareRoot() }
            }
            for comp in 0..<min(k, n) {
                // sign: make the loading with the largest magnitude positive, via the implied direction
                let dir = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + c[$1][j] * e.vectors[comp][$1] } }
                if let big = dir.max(by: { abs($0) < abs($1) }), big < 0 {
                    for i in 0..<n { coords[i][comp] = -coords[i][comp] }
                }
            }
        } else {
            let cov = (0..<d).map { a in (0..<d).map { b in c.reduce(0) { $0 + $1[a] * $1[b] } / denom } }
            let e = symmetricEigen(cov)
            values = e.values.map { max($0, 0) }
            var vecs = e.vectors
            for comp in vecs.indices {
                if let big = vecs[comp].max(by: { abs($0) < abs($1) }), big < 0 { vecs[comp] = vecs[comp].map { -$0 } }
            }
            coords = c.map { row in (0..<min(k, d)).map { comp in zip(row, vecs[comp]).reduce(0) { $0 + $1.0 * $1.1 } }
            }
        }
        while coords.first.map({ $0.count < k }) ?? false { coords = coords.map { $0 + [0] } }
        return PCAResult(coordinates: coords, explainedVariance: values)
    }

    /// Exact t-SNE (van der Maaten & Hinton 2008): Gaussian affinities with per-point bandwidths found by
    /// bisection to match the perplexity, symmetrised; Student-t similarities in 2-D; gradient descent with
    /// momentum (0.5 then 0.8), adaptive gains and early exaggeration 12 for the first 250 of `iterations`.
    /// The perplexity is capped at (n - 1) / 3 so small point sets stay meaningful. PCA initialisation with a
    /// seeded jitter.
    public static func tsne(
        _ x: [[Double]], perplexity requested: Double = 30, iterations: Int = 1000, seed: UInt64 = 0
    ) -> (coordinates: [[Double]], perplexity: Double, kl: Double) {
        let n = x.count
        guard n > 2 else { return (x.map { _ in [0, 0] }, 0, 0) }
        let perplexity = max(1, min(requested, Double(n - 1) / 3))
        let pj = tsneAffinities(x, perplexity: perplexity)
        var y = tsneStart(x, seed: seed)
        var velocity = y.map { _ in [0.0, 0.0] }, gains = y.map { _ in [1.0, 1.0] }
        let eta = max(Double(n) / 12, 50)
        var kl = 0.0
        for it in 0..<iterations {
            let exaggeration = it < 250 ? 12.0 : 1.0, momentum = it < 250 ? 0.5 : 0.8
            var num = [[Double]](repeating: [Double](repeating: 0, count: n), count: n), z = 0.0
            for i in 0..<n {
                for j in (i + 1)..<n {
                    let dx = y[i][0] - y[j][0], dy = y[i][1] - y[j][1], q = 1 / (1 + dx * dx + dy * dy)
                    num[i][j] = q; num[j][i] = q; z += 2 * q
                }
            }
            for i in 0..<n {
                var g = [0.0, 0.0]
                for j in 0..<n where j != i {
                    let m = (exaggeration * pj[i][j] - num[i][j] / z) * num[i][j]
                    g[0] += 4 * m * (y[i][0] - y[j][0]); g[1] += 4 * m * (y[i][1] - y[j][1])
                }
                for a in 0..<2 {
                    gains[i][a] = (g[a] > 0) != (velocity[i][a] > 0) ? gains[i][a] + 0.2 : max(gains[i][a] * 0.8, 0.01)
                    velocity[i][a] = momentum * velocity[i][a] - eta * gains[i][a] * g[a]
                }
            }
            for i in 0..<n { y[i][0] += velocity[i][0]; y[i][1] += velocity[i][1] }
            let cx = y.reduce(0) { $0 + $1[0] } / Double(n), cy = y.reduce(0) { $0 + $1[1] } / Double(n)
            for i in 0..<n { y[i][0] -= cx; y[i][1] -= cy }
            if it == iterations - 1 {
                kl = 0
                for i in 0..<n {
                    for j in 0..<n where i != j { kl += pj[i][j] * log(pj[i][j] / max(num[i][j] / z, 1e-12)) }
                }
            }
        }
        return (y, perplexity, kl)
    }

    /// t-SNE's joint affinities p_ij = (p_j|i + p_i|j) / 2n, each conditional Gaussian's bandwidth found by
    /// bisection so that its entropy is log(perplexity); floored at 1e-12.
    static func tsneAffinities(_ x: [[Double]], perplexity: Double) -> [[Double]] {
        let n = x.count
        var d2 = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in (i + 1)..<n {
                let s = zip(x[i], x[j]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }; d2[i][j] = s; d2[j][i] = s
            }
        }
        // conditional P(j|i) with entropy log(perplexity)
        var p = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        let target = log(perplexity)
        for i in 0..<n {
            var beta = 1.0, lo = 0.0, hi = Double.infinity
            let scale = d2[i].filter { $0 > 0 }.min() ?? 1
            for _ in 0..<100 {
                var sum = 0.0, hsum = 0.0
                for j in 0..<n where j != i {
                    let w = exp(-beta * d2[i][j] / scale); p[i][j] = w; sum += w; hsum += w * d2[i][j] / scale
                }
                if sum == 0 { beta /= 2; continue }
                let entropy = log(sum) + beta * hsum / sum
                for j in 0..<n where j != i { p[i][j] /= sum }
                if abs(entropy - target) < 1e-6 { break }
                if entropy > target {
                    lo = beta; beta = hi.isFinite ? (beta + hi) / 2 : beta * 2
                } else {
                    hi = beta; beta = (beta + lo) / 2
                }
            }
        }
        var pj = p
        for i in 0..<n { for j in 0..<n { pj[i][j] = max((p[i][j] + p[j][i]) / (2 * Double(n)), 1e-12) } }
        return pj
    }

    /// t-SNE's starting layout: the first two principal components, scaled to sd 1e-4, with a seeded jitter.
    static func tsneStart(_ x: [[Double]], seed: UInt64) -> [[Double]] {
        let n = x.count
        // PCA initialisation scaled to sd 1e-4 (scikit-learn's default since 1.2): far fewer bad local minima than a
        // random start on small point sets. A tiny seeded jitter breaks ties between identical points.
        var rng = SeededRandom(seed: seed)
        let start = pca(x, components: 2).coordinates
        let sd = (start.reduce(0) { $0 + $1[0] * $1[0] } / Double(n)).squareRoot()
        return start.map {
            [
                ($0[0] / max(sd, 1e-300)) * 1e-4 + rng.normal() * 1e-8,
                ($0[1] / max(sd, 1e-300)) * 1e-4 + rng.normal() * 1e-8
            ]
        }
    }

    /// cos(a, b); 0 when either is zero.
    public static func cosine(_ a: [Double], _ b: [Double]) -> Double { Stats.cosine(a, b) }

    /// Euclidean norm.
    public static func norm(_ a: [Double]) -> Double { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
