import Dispatch

/// How many threads the big kernels may use (GEMM splits its rows across them). 1 = fully sequential.
public enum Compute {
    nonisolated(unsafe) public static var threads = 1
}

/// Whether an operand is used as stored or transposed (BLAS's 'N' / 'T').
public enum Transpose { case none, transposed }

/// C[m,n] = (accumulate ? C : 0) + sum_k op(A)[m,k] * op(B)[k,n], all row-major with leading dimensions.
///   A is [m,k] (lda >= k), or [k,m] when transA (lda >= m); B is [k,n] (ldb >= n), or [n,k] when transB.
/// Every combination BPTT needs: NN (dh_prev = dG W_hh), NT (x W_ih^T), TN (dW = dG^T x).
/// Register tiling: a 4 x 32 block of C lives in eight SIMD16 accumulators while k runs; B is walked
/// row by row (contiguous along n) and A is broadcast one scalar at a time, so NN and TN share one
/// kernel through A's row/column strides. NT first transposes B once (it is always the small weight).
@inlinable
@_specialize(where T == Float) @_specialize(where T == Double)
public func gemm<T: Real>(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                          a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                          c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, threads: Int = Compute.threads) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }
        return
    }
    if transB == .transposed {
        let bt = UnsafeMutablePointer<T>.allocate(capacity: k * n)
        defer { bt.deallocate() }
        transpose(b, rows: n, cols: k, ld: ldb, into: bt)
        gemm(transA, .none, m: m, n: n, k: k, a: a, lda: lda, b: UnsafePointer(bt), ldb: n, c: c, ldc: ldc,
             accumulate: accumulate, threads: threads)
        return
    }
    let (rsA, csA) = transA == .none ? (lda, 1) : (1, lda)
    if threads > 1 && m >= 8 && m * n * k >= 1 << 17 {
        // Split rows of C into contiguous chunks, a multiple of the 4-row tile each.
        let chunk = ((m + threads - 1) / threads + 3) & ~3
        let parts = (m + chunk - 1) / chunk
        let aBits = UInt(bitPattern: a), bBits = UInt(bitPattern: b), cBits = UInt(bitPattern: c)
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let m0 = p * chunk, rows = min(chunk, m - m0)
            let ap = UnsafePointer<T>(bitPattern: aBits)! + m0 * rsA
            let cp = UnsafeMutablePointer<T>(bitPattern: cBits)! + m0 * ldc
            gemmBlocked(m: rows, n: n, k: k, a: ap, rsA: rsA, csA: csA,
                        b: UnsafePointer<T>(bitPattern: bBits)!, ldb: ldb, c: cp, ldc: ldc, accumulate: accumulate)
        }
    } else {
        gemmBlocked(m: m, n: n, k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
    }
}

/// Array convenience: C = op(A) op(B) (+ C), shapes taken from the tensors.
@inlinable
public func matmul<T: Real>(_ a: Tensor<T>, _ b: Tensor<T>, transA: Transpose = .none, transB: Transpose = .none,
                            into c: inout Tensor<T>, accumulate: Bool = false) {
    precondition(a.rank == 2 && b.rank == 2 && c.rank == 2, "matmul takes matrices")
    let (m, k) = transA == .none ? (a.shape[0], a.shape[1]) : (a.shape[1], a.shape[0])
    let (kb, n) = transB == .none ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
    precondition(k == kb && c.shape == [m, n], "matmul shapes \(a.shape) x \(b.shape) -> \(c.shape) disagree")
    a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            c.data.withUnsafeMutableBufferPointer { cp in
                gemm(transA, transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: a.shape[1], b: bp.baseAddress!,
                     ldb: b.shape[1], c: cp.baseAddress!, ldc: n, accumulate: accumulate)
            }
        }
    }
}

/// dst[c, r] = src[r, c] for a rows x cols source with leading dimension ld; dst is dense cols x rows.
@inlinable
public func transpose<T: Real>(_ src: UnsafePointer<T>, rows: Int, cols: Int, ld: Int, into dst: UnsafeMutablePointer<T>) {
    // 8x8 blocks keep both sides in cache lines.
    let bs = 8
    for r0 in stride(from: 0, to: rows, by: bs) {
        for c0 in stride(from: 0, to: cols, by: bs) {
            for r in r0..<min(r0 + bs, rows) {
                for cc in c0..<min(c0 + bs, cols) { dst[cc * rows + r] = src[r * ld + cc] }
            }
        }
    }
}

/// Cache blocking over k (a KC-deep slab of B stays in L2) around the register-tiled kernels. Columns beyond
/// the last multiple of 16 are packed, zero-padded, into a 16-wide panel once per slab, so they run through
/// the same SIMD kernels instead of a strided scalar loop.
@inlinable
func gemmBlocked<T: Real>(m: Int, n: Int, k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int,
                          b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    let kc = 256
    let full = n & ~15, tail = n - full
    let panel = UnsafeMutablePointer<T>.allocate(capacity: tail > 0 ? kc * 16 : 1)
    let tile = UnsafeMutablePointer<T>.allocate(capacity: 8 * 16)
    defer { panel.deallocate(); tile.deallocate() }
    var k0 = 0
    while k0 < k {
        let kb = min(kc, k - k0)
        let acc = accumulate || k0 > 0
        let ak = a + k0 * csA, bk = b + k0 * ldb
        if tail > 0 {
            for r in 0..<kb {
                let dst = panel + r * 16, src = bk + r * ldb + full
                for j in 0..<16 { dst[j] = j < tail ? src[j] : 0 }
            }
        }
        // The padded tail: compute a rows x 16 tile, then keep its first `tail` columns.
        func tailStrip(_ rows: Int, _ i: Int) {
            guard tail > 0 else { return }
            if rows == 4 {
                kernel4x16(k: kb, a: ak + i * rsA, rsA: rsA, csA: csA, b: panel, ldb: 16, c: tile, ldc: 16, accumulate: false)
            } else {
                kernel1x16(k: kb, a: ak + i * rsA, csA: csA, b: panel, ldb: 16, c: tile, accumulate: false)
            }
            for r in 0..<rows {
                let dst = c + (i + r) * ldc + full, src = tile + r * 16
                for j in 0..<tail { dst[j] = acc ? dst[j] + src[j] : src[j] }
            }
        }
        var i = 0
        #if RNNLAB_SIMD_AVX512
        // 32 vector registers: an 8 x 32 Float tile (16 accumulators) halves the loads per FMA.
        if T.self == Float.self {
            while i + 8 <= m {
                rowBlock8(n: full, k: kb, a: ak + i * rsA, rsA: rsA, csA: csA, b: bk, ldb: ldb, c: c + i * ldc, ldc: ldc, accumulate: acc)
                tailStrip(4, i); tailStrip(4, i + 4)
                i += 8
            }
        }
        #endif
        while i + 4 <= m {
            rowBlock(rows: 4, n: full, k: kb, a: ak + i * rsA, rsA: rsA, csA: csA, b: bk, ldb: ldb, c: c + i * ldc, ldc: ldc, accumulate: acc)
            tailStrip(4, i)
            i += 4
        }
        while i < m {
            rowBlock(rows: 1, n: full, k: kb, a: ak + i * rsA, rsA: rsA, csA: csA, b: bk, ldb: ldb, c: c + i * ldc, ldc: ldc, accumulate: acc)
            tailStrip(1, i)
            i += 1
        }
        k0 += kb
    }
}

/// One strip of `rows` (4 or 1) rows of C across n columns (a multiple of 16): 32-wide tiles, then a 16-wide one.
@inlinable @inline(__always)
func rowBlock<T: Real>(rows: Int, n: Int, k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int,
                       b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    var j = 0
    if rows == 4 {
        while j + 32 <= n { kernel4x32(k: k, a: a, rsA: rsA, csA: csA, b: b + j, ldb: ldb, c: c + j, ldc: ldc, accumulate: accumulate); j += 32 }
        while j + 16 <= n { kernel4x16(k: k, a: a, rsA: rsA, csA: csA, b: b + j, ldb: ldb, c: c + j, ldc: ldc, accumulate: accumulate); j += 16 }
    } else {
        while j + 16 <= n { kernel1x16(k: k, a: a, csA: csA, b: b + j, ldb: ldb, c: c + j, accumulate: accumulate); j += 16 }
    }
}

/// Eight rows of C over n columns (a multiple of 16): 8 x 32 tiles, then the 4-row path for a 16-wide remainder.
@inlinable @inline(__always)
func rowBlock8<T: Real>(n: Int, k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int,
                        b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    var j = 0
    while j + 32 <= n {
        kernel8x32(k: k, a: a, rsA: rsA, csA: csA, b: b + j, ldb: ldb, c: c + j, ldc: ldc, accumulate: accumulate)
        j += 32
    }
    if j < n {   // a 16-wide remainder
        rowBlock(rows: 4, n: n - j, k: k, a: a, rsA: rsA, csA: csA, b: b + j, ldb: ldb, c: c + j, ldc: ldc, accumulate: accumulate)
        rowBlock(rows: 4, n: n - j, k: k, a: a + 4 * rsA, rsA: rsA, csA: csA, b: b + j, ldb: ldb, c: c + 4 * ldc + j, ldc: ldc, accumulate: accumulate)
    }
}

/// c += a * b. A fused multiply-add where the build targets FMA; a plain multiply and add on the
/// x86-64 baseline, where llvm.fma would become a libm call per lane.
@inlinable @inline(__always)
func madd<T: Real>(_ c: inout SIMD16<T>, _ a: SIMD16<T>, _ b: SIMD16<T>) {
    #if RNNLAB_SIMD_AVX2 || RNNLAB_SIMD_AVX512
    c.addProduct(a, b)
    #else
    c += a * b
    #endif
}

@inlinable @inline(__always)
func store16<T: Real>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>, accumulate: Bool) {
    store16(accumulate ? load16(p) + v : v, p)
}

@inlinable @inline(__always)
func kernel4x32<T: Real>(k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
                         c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    var c00 = SIMD16<T>(), c01 = SIMD16<T>(), c10 = SIMD16<T>(), c11 = SIMD16<T>()
    var c20 = SIMD16<T>(), c21 = SIMD16<T>(), c30 = SIMD16<T>(), c31 = SIMD16<T>()
    var pa = a, pb = b
    let r1 = rsA, r2 = 2 * rsA, r3 = 3 * rsA
    for _ in 0..<k {
        let b0 = load16(pb), b1 = load16(pb + 16)
        let a0 = SIMD16<T>(repeating: pa[0]), a1 = SIMD16<T>(repeating: pa[r1])
        let a2 = SIMD16<T>(repeating: pa[r2]), a3 = SIMD16<T>(repeating: pa[r3])
        madd(&c00, a0, b0); madd(&c01, a0, b1)
        madd(&c10, a1, b0); madd(&c11, a1, b1)
        madd(&c20, a2, b0); madd(&c21, a2, b1)
        madd(&c30, a3, b0); madd(&c31, a3, b1)
        pa += csA; pb += ldb
    }
    store16(c00, c, accumulate: accumulate); store16(c01, c + 16, accumulate: accumulate)
    store16(c10, c + ldc, accumulate: accumulate); store16(c11, c + ldc + 16, accumulate: accumulate)
    store16(c20, c + 2 * ldc, accumulate: accumulate); store16(c21, c + 2 * ldc + 16, accumulate: accumulate)
    store16(c30, c + 3 * ldc, accumulate: accumulate); store16(c31, c + 3 * ldc + 16, accumulate: accumulate)
}

@inlinable @inline(__always)
func kernel4x16<T: Real>(k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
                         c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    var c0 = SIMD16<T>(), c1 = SIMD16<T>(), c2 = SIMD16<T>(), c3 = SIMD16<T>()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0 = load16(pb)
        madd(&c0, SIMD16<T>(repeating: pa[0]), b0)
        madd(&c1, SIMD16<T>(repeating: pa[rsA]), b0)
        madd(&c2, SIMD16<T>(repeating: pa[2 * rsA]), b0)
        madd(&c3, SIMD16<T>(repeating: pa[3 * rsA]), b0)
        pa += csA; pb += ldb
    }
    store16(c0, c, accumulate: accumulate); store16(c1, c + ldc, accumulate: accumulate)
    store16(c2, c + 2 * ldc, accumulate: accumulate); store16(c3, c + 3 * ldc, accumulate: accumulate)
}

@inlinable @inline(__always)
func kernel1x16<T: Real>(k: Int, a: UnsafePointer<T>, csA: Int, b: UnsafePointer<T>, ldb: Int,
                         c: UnsafeMutablePointer<T>, accumulate: Bool) {
    var c0 = SIMD16<T>(), c1 = SIMD16<T>()
    var pa = a, pb = b
    var kk = 0
    // Two accumulators hide the FMA latency on this single-row path.
    while kk + 2 <= k {
        madd(&c0, SIMD16<T>(repeating: pa[0]), load16(pb))
        madd(&c1, SIMD16<T>(repeating: pa[csA]), load16(pb + ldb))
        pa += 2 * csA; pb += 2 * ldb; kk += 2
    }
    if kk < k { madd(&c0, SIMD16<T>(repeating: pa[0]), load16(pb)) }
    store16(c0 + c1, c, accumulate: accumulate)
}

@inlinable @inline(__always)
func kernel8x32<T: Real>(k: Int, a: UnsafePointer<T>, rsA: Int, csA: Int, b: UnsafePointer<T>, ldb: Int,
                         c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    var c00 = SIMD16<T>(), c01 = SIMD16<T>(), c10 = SIMD16<T>(), c11 = SIMD16<T>()
    var c20 = SIMD16<T>(), c21 = SIMD16<T>(), c30 = SIMD16<T>(), c31 = SIMD16<T>()
    var c40 = SIMD16<T>(), c41 = SIMD16<T>(), c50 = SIMD16<T>(), c51 = SIMD16<T>()
    var c60 = SIMD16<T>(), c61 = SIMD16<T>(), c70 = SIMD16<T>(), c71 = SIMD16<T>()
    var pa = a, pb = b
    for _ in 0..<k {
        let b0 = load16(pb), b1 = load16(pb + 16)
        var s = SIMD16<T>(repeating: pa[0]); madd(&c00, s, b0); madd(&c01, s, b1)
        s = SIMD16<T>(repeating: pa[rsA]); madd(&c10, s, b0); madd(&c11, s, b1)
        s = SIMD16<T>(repeating: pa[2 * rsA]); madd(&c20, s, b0); madd(&c21, s, b1)
        s = SIMD16<T>(repeating: pa[3 * rsA]); madd(&c30, s, b0); madd(&c31, s, b1)
        s = SIMD16<T>(repeating: pa[4 * rsA]); madd(&c40, s, b0); madd(&c41, s, b1)
        s = SIMD16<T>(repeating: pa[5 * rsA]); madd(&c50, s, b0); madd(&c51, s, b1)
        s = SIMD16<T>(repeating: pa[6 * rsA]); madd(&c60, s, b0); madd(&c61, s, b1)
        s = SIMD16<T>(repeating: pa[7 * rsA]); madd(&c70, s, b0); madd(&c71, s, b1)
        pa += csA; pb += ldb
    }
    store16(c00, c, accumulate: accumulate); store16(c01, c + 16, accumulate: accumulate)
    store16(c10, c + ldc, accumulate: accumulate); store16(c11, c + ldc + 16, accumulate: accumulate)
    store16(c20, c + 2 * ldc, accumulate: accumulate); store16(c21, c + 2 * ldc + 16, accumulate: accumulate)
    store16(c30, c + 3 * ldc, accumulate: accumulate); store16(c31, c + 3 * ldc + 16, accumulate: accumulate)
    store16(c40, c + 4 * ldc, accumulate: accumulate); store16(c41, c + 4 * ldc + 16, accumulate: accumulate)
    store16(c50, c + 5 * ldc, accumulate: accumulate); store16(c51, c + 5 * ldc + 16, accumulate: accumulate)
    store16(c60, c + 6 * ldc, accumulate: accumulate); store16(c61, c + 6 * ldc + 16, accumulate: accumulate)
    store16(c70, c + 7 * ldc, accumulate: accumulate); store16(c71, c + 7 * ldc + 16, accumulate: accumulate)
}
