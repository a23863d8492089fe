import Synchronization
import Dispatch

/// The kernel for a strip of `rows` rows (the tile's row count or one of its remainder sizes).
@inlinable @inline(__always)
func microKernel<T: Real>(
    rows: Int, k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    switch rows {
    #if RNNLAB_SIMD_AVX512
    case 12: kernel12(k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    #endif
    #if RNNLAB_SIMD_AVX512 || arch(arm64)
    case 8: kernel8(k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    #endif
    #if !RNNLAB_SIMD_AVX512 && !arch(arm64)
    case 6: kernel6(k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    #endif
    case 4: kernel4(k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    case 2: kernel2(k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    default: kernel1(k: k, a: a, csA: csA, b: b, ldb: ldb, c: c, accumulate: accumulate)
    }
}

/// The kernel for a strip of `rows` rows over `tiles` consecutive column tiles: tile p of B at b + p * tileStride,
/// of C at c + p * nr. The 1- and 2-row strips take four and two tiles per kernel call where they can.
@inlinable @inline(__always)
func sweepTiles<T: Real>(
    rows: Int, tiles: Int, k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    tileStride: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let nr = GEMMTile.columns(T.self)
    var p = 0
    if rows == 1 {
        while p + 4 <= tiles {
            kernel1x4(
                k: k, a: a, csA: csA, b: b + p * tileStride, ldb: ldb, tileStride: tileStride, c: c + p * nr,
                accumulate: accumulate)
            p += 4
        }
    } else if rows == 2 {
        while p + 2 <= tiles {
            kernel2x2(
                k: k, a: a, rsA: rsA, csA: csA, b: b + p * tileStride, ldb: ldb, tileStride: tileStride,
                c: c + p * nr, ldc: ldc, accumulate: accumulate)
            p += 2
        }
    }
    while p < tiles {
        microKernel(
            rows: rows, k: k, a: a, rsA: rsA, csA: csA, b: b + p * tileStride, ldb: ldb, c: c + p * nr, ldc: ldc,
            accumulate: accumulate)
        p += 1
    }
}

/// c += a * b. A fused multiply-add where the build targets FMA (AVX2, AVX-512, and always on arm64); a plain
/// multiply and add on the x86-64 baseline, where llvm.fma would become a libm call per lane.
@inlinable @inline(__always)
func madd<V: SIMD>(_ c: inout V, _ a: V, _ b: V) where V.Scalar: FloatingPoint {
    #if RNNLAB_SIMD_AVX2 || RNNLAB_SIMD_AVX512 || arch(arm64)
    c.addProduct(a, b)
    #else
    c += a * b
    #endif
}

@inlinable @inline(__always)
func loadVector<V: SIMD>(_ p: UnsafePointer<V.Scalar>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

@inlinable @inline(__always)
func storeVector<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<V.Scalar>, accumulate: Bool) where V.Scalar: FloatingPoint {
    UnsafeMutableRawPointer(p).storeBytes(of: accumulate ? loadVector(UnsafePointer(p)) + v : v, as: V.self)
}

// The kernels below differ only in their row count. They are unrolled by hand: Swift keeps accumulators in
// registers only as separate named variables (an array or tuple of them goes through memory).

/// 12 rows x 2 vectors of C: 24 accumulators. Per k: two vector loads of B, 12 broadcasts of A, 24 FMAs.
@inlinable @inline(__always)
func kernel12<T: Real>(
    k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let w = T.Vector.scalarCount
    var c0a = T.Vector(), c0b = T.Vector()
    var c1a = T.Vector(), c1b = T.Vector()
    var c2a = T.Vector(), c2b = T.Vector()
    var c3a = T.Vector(), c3b = T.Vector()
    var c4a = T.Vector(), c4b = T.Vector()
    var c5a = T.Vector(), c5b = T.Vector()
    var c6a = T.Vector(), c6b = T.Vector()
    var c7a = T.Vector(), c7b = T.Vector()
    var c8a = T.Vector(), c8b = T.Vector()
    var c9a = T.Vector(), c9b = T.Vector()
    var c10a = T.Vector(), c10b = T.Vector()
    var c11a = T.Vector(), c11b = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0: T.Vector = loadVector(pb), b1: T.Vector = loadVector(pb + w)
        let a0 = T.Vector(repeating: pa[0]); madd(&c0a, a0, b0); madd(&c0b, a0, b1)
        let a1 = T.Vector(repeating: pa[rsA]); madd(&c1a, a1, b0); madd(&c1b, a1, b1)
        let a2 = T.Vector(repeating: pa[2 * rsA]); madd(&c2a, a2, b0); madd(&c2b, a2, b1)
        let a3 = T.Vector(repeating: pa[3 * rsA]); madd(&c3a, a3, b0); madd(&c3b, a3, b1)
        let a4 = T.Vector(repeating: pa[4 * rsA]); madd(&c4a, a4, b0); madd(&c4b, a4, b1)
        let a5 = T.Vector(repeating: pa[5 * rsA]); madd(&c5a, a5, b0); madd(&c5b, a5, b1)
        let a6 = T.Vector(repeating: pa[6 * rsA]); madd(&c6a, a6, b0); madd(&c6b, a6, b1)
        let a7 = T.Vector(repeating: pa[7 * rsA]); madd(&c7a, a7, b0); madd(&c7b, a7, b1)
        let a8 = T.Vector(repeating: pa[8 * rsA]); madd(&c8a, a8, b0); madd(&c8b, a8, b1)
        let a9 = T.Vector(repeating: pa[9 * rsA]); madd(&c9a, a9, b0); madd(&c9b, a9, b1)
        let a10 = T.Vector(repeating: pa[10 * rsA]); madd(&c10a, a10, b0); madd(&c10b, a10, b1)
        let a11 = T.Vector(repeating: pa[11 * rsA]); madd(&c11a, a11, b0); madd(&c11b, a11, b1)
        pa += csA; pb += ldb
    }
    storeVector(c0a, c, accumulate: accumulate); storeVector(c0b, c + w, accumulate: accumulate)
    storeVector(c1a, c + ldc, accumulate: accumulate); storeVector(c1b, c + ldc + w, accumulate: accumulate)
    storeVector(c2a, c + 2 * ldc, accumulate: accumulate); storeVector(c2b, c + 2 * ldc + w, accumulate: accumulate)
    storeVector(c3a, c + 3 * ldc, accumulate: accumulate); storeVector(c3b, c + 3 * ldc + w, accumulate: accumulate)
    storeVector(c4a, c + 4 * ldc, accumulate: accumulate); storeVector(c4b, c + 4 * ldc + w, accumulate: accumulate)
    storeVector(c5a, c + 5 * ldc, accumulate: accumulate); storeVector(c5b, c + 5 * ldc + w, accumulate: accumulate)
    storeVector(c6a, c + 6 * ldc, accumulate: accumulate); storeVector(c6b, c + 6 * ldc + w, accumulate: accumulate)
    storeVector(c7a, c + 7 * ldc, accumulate: accumulate); storeVector(c7b, c + 7 * ldc + w, accumulate: accumulate)
    storeVector(c8a, c + 8 * ldc, accumulate: accumulate); storeVector(c8b, c + 8 * ldc + w, accumulate: accumulate)
    storeVector(c9a, c + 9 * ldc, accumulate: accumulate); storeVector(c9b, c + 9 * ldc + w, accumulate: accumulate)
    storeVector(c10a, c + 10 * ldc, accumulate: accumulate); storeVector(c10b, c + 10 * ldc + w, accumulate: accumulate)
    storeVector(c11a, c + 11 * ldc, accumulate: accumulate); storeVector(c11b, c + 11 * ldc + w, accumulate: accumulate)
}

/// 8 rows x 2 vectors of C: 16 accumulators. Per k: two vector loads of B, 8 broadcasts of A, 16 FMAs.
@inlinable @inline(__always)
func kernel8<T: Real>(
    k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let w = T.Vector.scalarCount
    var c0a = T.Vector(), c0b = T.Vector()
    var c1a = T.Vector(), c1b = T.Vector()
    var c2a = T.Vector(), c2b = T.Vector()
    var c3a = T.Vector(), c3b = T.Vector()
    var c4a = T.Vector(), c4b = T.Vector()
    var c5a = T.Vector(), c5b = T.Vector()
    var c6a = T.Vector(), c6b = T.Vector()
    var c7a = T.Vector(), c7b = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0: T.Vector = loadVector(pb), b1: T.Vector = loadVector(pb + w)
        let a0 = T.Vector(repeating: pa[0]); madd(&c0a, a0, b0); madd(&c0b, a0, b1)
        let a1 = T.Vector(repeating: pa[rsA]); madd(&c1a, a1, b0); madd(&c1b, a1, b1)
        let a2 = T.Vector(repeating: pa[2 * rsA]); madd(&c2a, a2, b0); madd(&c2b, a2, b1)
        let a3 = T.Vector(repeating: pa[3 * rsA]); madd(&c3a, a3, b0); madd(&c3b, a3, b1)
        let a4 = T.Vector(repeating: pa[4 * rsA]); madd(&c4a, a4, b0); madd(&c4b, a4, b1)
        let a5 = T.Vector(repeating: pa[5 * rsA]); madd(&c5a, a5, b0); madd(&c5b, a5, b1)
        let a6 = T.Vector(repeating: pa[6 * rsA]); madd(&c6a, a6, b0); madd(&c6b, a6, b1)
        let a7 = T.Vector(repeating: pa[7 * rsA]); madd(&c7a, a7, b0); madd(&c7b, a7, b1)
        pa += csA; pb += ldb
    }
    storeVector(c0a, c, accumulate: accumulate); storeVector(c0b, c + w, accumulate: accumulate)
    storeVector(c1a, c + ldc, accumulate: accumulate); storeVector(c1b, c + ldc + w, accumulate: accumulate)
    storeVector(c2a, c + 2 * ldc, accumulate: accumulate); storeVector(c2b, c + 2 * ldc + w, accumulate: accumulate)
    storeVector(c3a, c + 3 * ldc, accumulate: accumulate); storeVector(c3b, c + 3 * ldc + w, accumulate: accumulate)
    storeVector(c4a, c + 4 * ldc, accumulate: accumulate); storeVector(c4b, c + 4 * ldc + w, accumulate: accumulate)
    storeVector(c5a, c + 5 * ldc, accumulate: accumulate); storeVector(c5b, c + 5 * ldc + w, accumulate: accumulate)
    storeVector(c6a, c + 6 * ldc, accumulate: accumulate); storeVector(c6b, c + 6 * ldc + w, accumulate: accumulate)
    storeVector(c7a, c + 7 * ldc, accumulate: accumulate); storeVector(c7b, c + 7 * ldc + w, accumulate: accumulate)
}

/// 6 rows x 2 vectors of C: 12 accumulators. Per k: two vector loads of B, 6 broadcasts of A, 12 FMAs.
@inlinable @inline(__always)
func kernel6<T: Real>(
    k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let w = T.Vector.scalarCount
    var c0a = T.Vector(), c0b = T.Vector()
    var c1a = T.Vector(), c1b = T.Vector()
    var c2a = T.Vector(), c2b = T.Vector()
    var c3a = T.Vector(), c3b = T.Vector()
    var c4a = T.Vector(), c4b = T.Vector()
    var c5a = T.Vector(), c5b = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0: T.Vector = loadVector(pb), b1: T.Vector = loadVector(pb + w)
        let a0 = T.Vector(repeating: pa[0]); madd(&c0a, a0, b0); madd(&c0b, a0, b1)
        let a1 = T.Vector(repeating: pa[rsA]); madd(&c1a, a1, b0); madd(&c1b, a1, b1)
        let a2 = T.Vector(repeating: pa[2 * rsA]); madd(&c2a, a2, b0); madd(&c2b, a2, b1)
        let a3 = T.Vector(repeating: pa[3 * rsA]); madd(&c3a, a3, b0); madd(&c3b, a3, b1)
        let a4 = T.Vector(repeating: pa[4 * rsA]); madd(&c4a, a4, b0); madd(&c4b, a4, b1)
        let a5 = T.Vector(repeating: pa[5 * rsA]); madd(&c5a, a5, b0); madd(&c5b, a5, b1)
        pa += csA; pb += ldb
    }
    storeVector(c0a, c, accumulate: accumulate); storeVector(c0b, c + w, accumulate: accumulate)
    storeVector(c1a, c + ldc, accumulate: accumulate); storeVector(c1b, c + ldc + w, accumulate: accumulate)
    storeVector(c2a, c + 2 * ldc, accumulate: accumulate); storeVector(c2b, c + 2 * ldc + w, accumulate: accumulate)
    storeVector(c3a, c + 3 * ldc, accumulate: accumulate); storeVector(c3b, c + 3 * ldc + w, accumulate: accumulate)
    storeVector(c4a, c + 4 * ldc, accumulate: accumulate); storeVector(c4b, c + 4 * ldc + w, accumulate: accumulate)
    storeVector(c5a, c + 5 * ldc, accumulate: accumulate); storeVector(c5b, c + 5 * ldc + w, accumulate: accumulate)
}

/// 4 rows x 2 vectors of C: 8 accumulators. Per k: two vector loads of B, 4 broadcasts of A, 8 FMAs.
@inlinable @inline(__always)
func kernel4<T: Real>(
    k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let w = T.Vector.scalarCount
    var c0a = T.Vector(), c0b = T.Vector()
    var c1a = T.Vector(), c1b = T.Vector()
    var c2a = T.Vector(), c2b = T.Vector()
    var c3a = T.Vector(), c3b = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0: T.Vector = loadVector(pb), b1: T.Vector = loadVector(pb + w)
        let a0 = T.Vector(repeating: pa[0]); madd(&c0a, a0, b0); madd(&c0b, a0, b1)
        let a1 = T.Vector(repeating: pa[rsA]); madd(&c1a, a1, b0); madd(&c1b, a1, b1)
        let a2 = T.Vector(repeating: pa[2 * rsA]); madd(&c2a, a2, b0); madd(&c2b, a2, b1)
        let a3 = T.Vector(repeating: pa[3 * rsA]); madd(&c3a, a3, b0); madd(&c3b, a3, b1)
        pa += csA; pb += ldb
    }
    storeVector(c0a, c, accumulate: accumulate); storeVector(c0b, c + w, accumulate: accumulate)
    storeVector(c1a, c + ldc, accumulate: accumulate); storeVector(c1b, c + ldc + w, accumulate: accumulate)
    storeVector(c2a, c + 2 * ldc, accumulate: accumulate); storeVector(c2b, c + 2 * ldc + w, accumulate: accumulate)
    storeVector(c3a, c + 3 * ldc, accumulate: accumulate); storeVector(c3b, c + 3 * ldc + w, accumulate: accumulate)
}

// The 2- and 1-row kernels sum k in one chain per accumulator, in order, like every larger kernel: a row's result
// is then the same bit for bit whichever kernel computes it, so how rows are split into strips (and between
// threads) never changes a number. One row's two chains cannot cover the FMA latency, so where the product has
// the columns, these kernels walk two or four column tiles at once (8 accumulators), `tileStride` apart in B.

/// 2 rows x 2 vectors of C: 4 accumulators.
@inlinable @inline(__always)
func kernel2<T: Real>(
    k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let w = T.Vector.scalarCount
    var c0a = T.Vector(), c0b = T.Vector(), c1a = T.Vector(), c1b = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0: T.Vector = loadVector(pb), b1: T.Vector = loadVector(pb + w)
        let a0 = T.Vector(repeating: pa[0]), a1 = T.Vector(repeating: pa[rsA])
        madd(&c0a, a0, b0); madd(&c0b, a0, b1); madd(&c1a, a1, b0); madd(&c1b, a1, b1)
        pa += csA; pb += ldb
    }
    storeVector(c0a, c, accumulate: accumulate); storeVector(c0b, c + w, accumulate: accumulate)
    storeVector(c1a, c + ldc, accumulate: accumulate); storeVector(c1b, c + ldc + w, accumulate: accumulate)
}

/// 2 rows x two column tiles (4 vectors) of C: 8 accumulators.
@inlinable @inline(__always)
func kernel2x2<T: Real>(
    k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int, tileStride: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
) {
    let w = T.Vector.scalarCount, nr = 2 * w
    var c0a = T.Vector(), c0b = T.Vector(), c1a = T.Vector(), c1b = T.Vector()
    var c0c = T.Vector(), c0d = T.Vector(), c1c = T.Vector(), c1d = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0: T.Vector = loadVector(pb), b1: T.Vector = loadVector(pb + w)
        let b2: T.Vector = loadVector(pb + tileStride), b3: T.Vector = loadVector(pb + tileStride + w)
        let a0 = T.Vector(repeating: pa[0]), a1 = T.Vector(repeating: pa[rsA])
        madd(&c0a, a0, b0); madd(&c0b, a0, b1); madd(&c1a, a1, b0); madd(&c1b, a1, b1)
        madd(&c0c, a0, b2); madd(&c0d, a0, b3); madd(&c1c, a1, b2); madd(&c1d, a1, b3)
        pa += csA; pb += ldb
    }
    storeVector(c0a, c, accumulate: accumulate); storeVector(c0b, c + w, accumulate: accumulate)
    storeVector(c1a, c + ldc, accumulate: accumulate); storeVector(c1b, c + ldc + w, accumulate: accumulate)
    storeVector(c0c, c + nr, accumulate: accumulate); storeVector(c0d, c + nr + w, accumulate: accumulate)
    storeVector(c1c, c + ldc + nr, accumulate: accumulate)
    storeVector(c1d, c + ldc + nr + w, accumulate: accumulate)
}

/// One row x 2 vectors: 2 accumulators.
@inlinable @inline(__always)
func kernel1<T: Real>(
    k: Int, a: UnsafePointer<T>, csA: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, accumulate: Bool
) {
    let w = T.Vector.scalarCount
    var c0 = T.Vector(), c1 = T.Vector()
    var pa = a, pb = b
    for _ in 0..<k {
        let a0 = T.Vector(repeating: pa[0])
        madd(&c0, a0, loadVector(pb)); madd(&c1, a0, loadVector(pb + w))
        pa += csA; pb += ldb
    }
    storeVector(c0, c, accumulate: accumulate); storeVector(c1, c + w, accumulate: accumulate)
}

/// One row x four column tiles (8 vectors) of C: 8 accumulators.
@inlinable @inline(__always)
func kernel1x4<T: Real>(
    k: Int, a: UnsafePointer<T>, csA: Int, b: UnsafePointer<T>, ldb: Int, tileStride: Int,
    c: UnsafeMutablePointer<T>, accumulate: Bool
) {
    let w = T.Vector.scalarCount, nr = 2 * w
    var c0 = T.Vector(), c1 = T.Vector(), c2 = T.Vector(), c3 = T.Vector()
    var c4 = T.Vector(), c5 = T.Vector(), c6 = T.Vector(), c7 = T.Vector()
    var pa = a, pb = b
    let s1 = tileStride, s2 = 2 * tileStride, s3 = 3 * tileStride
    for _ in 0..<k {
        let a0 = T.Vector(repeating: pa[0])
        madd(&c0, a0, loadVector(pb)); madd(&c1, a0, loadVector(pb + w))
        madd(&c2, a0, loadVector(pb + s1)); madd(&c3, a0, loadVector(pb + s1 + w))
        madd(&c4, a0, loadVector(pb + s2)); madd(&c5, a0, loadVector(pb + s2 + w))
        madd(&c6, a0, loadVector(pb + s3)); madd(&c7, a0, loadVector(pb + s3 + w))
        pa += csA; pb += ldb
    }
    storeVector(c0, c, accumulate: accumulate); storeVector(c1, c + w, accumulate: accumulate)
    storeVector(c2, c + nr, accumulate: accumulate); storeVector(c3, c + nr + w, accumulate: accumulate)
    storeVector(c4, c + 2 * nr, accumulate: accumulate); storeVector(c5, c + 2 * nr + w, accumulate: accumulate)
    storeVector(c6, c + 3 * nr, accumulate: accumulate); storeVector(c7, c + 3 * nr + w, accumulate: accumulate)
}
