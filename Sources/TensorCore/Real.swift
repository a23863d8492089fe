import Foundation
import RealModule

/// The scalar types the library computes in: Float for speed, Double for gradient checks and references.
/// It refines swift-numerics' `Real` (the ecosystem's generic floating-point protocol: exp, log, tanh and the
/// other elementary functions), and adds what the kernels need: the build's register vector and in-place
/// vector activations (the hot element-wise loops).
public protocol Real: RealModule.Real, BinaryFloatingPoint, SIMDScalar, Sendable, LosslessStringConvertible, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The widest vector of Self that one register of this build holds (GEMM's unit; see `GEMMTile`).
    associatedtype Vector: SIMD where Vector.Scalar == Self
    /// Replaces p[0..<n] by tanh(p).
    static func tanhInPlace(_ p: UnsafeMutablePointer<Self>, _ n: Int)
    /// Replaces p[0..<n] by the logistic sigmoid 1 / (1 + e^-p).
    static func sigmoidInPlace(_ p: UnsafeMutablePointer<Self>, _ n: Int)
    /// tanh and sigmoid of 16 lanes, for element loops that fuse several steps into one pass.
    static func tanh(_ v: SIMD16<Self>) -> SIMD16<Self>
    static func sigmoid(_ v: SIMD16<Self>) -> SIMD16<Self>
    /// The safetensors dtype name: "F32" or "F64".
    static var dtypeName: String { get }
}

/// One register's worth of lanes, chosen at build time (Package.swift sets RNNLAB_SIMD_*):
/// zmm (512 bits) on AVX-512, ymm (256) on AVX2, 128 bits (NEON q, SSE xmm) otherwise.
#if RNNLAB_SIMD_AVX512
/// The Float vector one register of this build holds.
public typealias FloatRegister = SIMD16<Float>
/// The Double vector one register of this build holds.
public typealias DoubleRegister = SIMD8<Double>
#elseif RNNLAB_SIMD_AVX2
/// The Float vector one register of this build holds.
public typealias FloatRegister = SIMD8<Float>
/// The Double vector one register of this build holds.
public typealias DoubleRegister = SIMD4<Double>
#else
/// The Float vector one register of this build holds.
public typealias FloatRegister = SIMD4<Float>
/// The Double vector one register of this build holds.
public typealias DoubleRegister = SIMD2<Double>
#endif

extension Float: Real {
    /// This build's register vector.
    public typealias Vector = FloatRegister
    /// The safetensors dtype name.
    public static var dtypeName: String { "F32" }

    /// Rational minimax tanh (the one Eigen and TensorFlow use for float): odd degree-13 numerator over an
    /// even degree-6 denominator on [-9, 9], within a few ulp of libm and 16 lanes at a time.
    @inlinable @inline(__always)
    public static func tanh(_ v: SIMD16<Float>) -> SIMD16<Float> {
        // Clamp with masked selects (SIMD.clamped lowers to a per-lane loop).
        var x = v
        x.replace(with: SIMD16(repeating: 9), where: x .> 9)
        x.replace(with: SIMD16(repeating: -9), where: x .< -9)
        let x2 = x * x
        var p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
        p = p * x2 + -8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = x * p
        var q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        return p / q
    }

    /// sigmoid(x) = (1 + tanh(x/2)) / 2, exact identity; reuses the vector tanh.
    @inlinable @inline(__always)
    public static func sigmoid(_ v: SIMD16<Float>) -> SIMD16<Float> { tanh(v * 0.5) * 0.5 + 0.5 }

    /// Replaces p[0..<n] by tanh(p).
    @inlinable public static func tanhInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        mapInPlace(p, n) { tanh($0) }
    }
    /// Replaces p[0..<n] by 1 / (1 + e^-p).
    @inlinable public static func sigmoidInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        mapInPlace(p, n) { sigmoid($0) }
    }

    /// p[i] = f(p[i]) for i < n, 16 lanes at a time; the last partial vector goes through f zero-padded.
    @inlinable @inline(__always)
    static func mapInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ f: (SIMD16<Float>) -> SIMD16<Float>) {
        var i = 0
        while i + 16 <= n { store16(f(load16(p + i)), p + i); i += 16 }
        if i < n {
            var v = SIMD16<Float>()
            for j in 0..<(n - i) { v[j] = p[i + j] }
            let r = f(v)
            for j in 0..<(n - i) { p[i + j] = r[j] }
        }
    }
}

extension Double: Real {
    /// This build's register vector.
    public typealias Vector = DoubleRegister
    /// The safetensors dtype name.
    public static var dtypeName: String { "F64" }
    // Double is the reference precision: libm, exactly as PyTorch's float64 path.
    @inlinable static func logistic(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    /// Replaces p[0..<n] by tanh(p).
    @inlinable public static func tanhInPlace(_ p: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { p[i] = Foundation.tanh(p[i]) }
    }
    /// Replaces p[0..<n] by 1 / (1 + e^-p).
    @inlinable public static func sigmoidInPlace(_ p: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { p[i] = logistic(p[i]) }
    }
    /// tanh of 16 lanes, through libm.
    @inlinable public static func tanh(_ v: SIMD16<Double>) -> SIMD16<Double> { eachLane(v) { Foundation.tanh($0) } }
    /// The logistic sigmoid of 16 lanes, through libm.
    @inlinable public static func sigmoid(_ v: SIMD16<Double>) -> SIMD16<Double> { eachLane(v, logistic) }
    @inlinable static func eachLane(_ v: SIMD16<Double>, _ f: (Double) -> Double) -> SIMD16<Double> {
        var r = v
        for i in 0..<16 { r[i] = f(v[i]) }
        return r
    }
}
