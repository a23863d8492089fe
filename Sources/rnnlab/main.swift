import TensorCore
import Foundation
func bench(_ ta: Transpose, _ m: Int, _ n: Int, _ k: Int) {
    var rng = SeededRandom(seed: 1)
    let a = Tensor<Float>.uniform(ta == .none ? [m,k] : [k,m], -1, 1, rng: &rng)
    let b = Tensor<Float>.uniform([k,n], -1, 1, rng: &rng)
    var c = Tensor<Float>(zeros: [m,n])
    let reps = max(1, 200_000_000 / (m*n*k))
    matmul(a, ta, b, into: &c)
    let t0 = Date()
    for _ in 0..<reps { matmul(a, ta, b, into: &c, accumulate: true) }
    let dt = Date().timeIntervalSince(t0)
    print(ta, m, n, k, String(format: "%.1f GFLOP/s", 2.0*Double(m*n*k*reps)/dt/1e9))
}
bench(.none, 64, 512, 128); bench(.none, 6400, 512, 32); bench(.transposed, 512, 128, 6400); bench(.none, 6400, 32, 512); bench(.none, 64, 128, 512); bench(.none, 64,32,32); bench(.none, 256,256,256)
