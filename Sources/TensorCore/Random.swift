import Foundation

/// Seeded xoshiro256** generator: the same seed gives the same stream on every machine, so the same seed
/// gives bit-identical initialisation, shuffling and training.
public struct SeededRandom: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spareNormal: Double?

    /// A generator whose whole stream follows from `seed`.
    public init(seed: UInt64) {
        // SplitMix64 expands the seed into the 256-bit state (the generator's authors' recommendation).
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform draw from [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    /// Standard normal by Box-Muller (the second value of each pair is kept for the next call).
    public mutating func normal() -> Double {
        if let z = spareNormal { spareNormal = nil; return z }
        var u = unit()
        while u <= 0 { u = unit() }
        let v = unit()
        let r = (-2 * Foundation.log(u)).squareRoot()
        spareNormal = r * Foundation.sin(2 * .pi * v)
        return r * Foundation.cos(2 * .pi * v)
    }

    /// Uniform integer in 0..<n without modulo bias.
    public mutating func int(below n: Int) -> Int { Int.random(in: 0..<n, using: &self) }

    /// A random permutation of 0..<n (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, int(below: i + 1)) } }
        return p
    }
}
