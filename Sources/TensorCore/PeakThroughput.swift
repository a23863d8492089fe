import Synchronization
import Dispatch

/// The core's measured floating-point peak for this build: twelve independent multiply-add chains on the
/// register vector (FMA where the build has it), run long enough to time. GEMM efficiency is stated
/// against this number, so it holds on whatever machine and clock the benchmark runs.
public enum PeakThroughput {
    /// Float GFLOP/s of one thread (a fused multiply-add counts as 2 floating-point operations).
    public static func measureFloatGFLOPS(seconds: Double = 0.2) -> Double {
        var best = 0.0
        for _ in 0..<3 {
            var n = 1 << 16, elapsed = 0.0
            while true {
                let start = DispatchTime.now().uptimeNanoseconds
                sink = fmaChains(n, FloatRegister(repeating: sink))
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if elapsed > seconds / 3 { break }
                n *= 2
            }
            best = max(best, Double(n) * 12 * 2 * Double(FloatRegister.scalarCount) / elapsed / 1e9)
        }
        return best
    }

    nonisolated(unsafe) static var sink: Float = 1e-3

    @inline(__always)
    static func step(_ a: inout FloatRegister, _ m: FloatRegister, _ d: FloatRegister) {
        var t = d; madd(&t, a, m); a = t
    }

    @inline(never)
    static func fmaChains(_ n: Int, _ seed: FloatRegister) -> Float {
        let m = FloatRegister(repeating: 0.999_999), d = seed * 1e-3
        var a0 = seed, a1 = seed + 1, a2 = seed + 2, a3 = seed + 3, a4 = seed + 4, a5 = seed + 5
        var a6 = seed + 6, a7 = seed + 7, a8 = seed + 8, a9 = seed + 9, a10 = seed + 10, a11 = seed + 11
        // a = d + a * m: one dependent multiply-add per chain and step; the values stay finite.
        for _ in 0..<n {
            step(&a0, m, d); step(&a1, m, d); step(&a2, m, d); step(&a3, m, d); step(&a4, m, d); step(&a5, m, d)
            step(&a6, m, d); step(&a7, m, d); step(&a8, m, d); step(&a9, m, d); step(&a10, m, d); step(&a11, m, d)
        }
        let s = (a0 + a1 + a2 + a3) + (a4 + a5 + a6 + a7) + (a8 + a9 + a10 + a11)
        return s.sum() * 1e-9
    }
}
