import Synchronization
import Dispatch

/// Whether an operand is used as stored or transposed (BLAS's 'N' / 'T').
public enum Transpose { case none, transposed }

/// C[m,n] = (accumulate ? C : 0) + sum_k op(A)[m,k] * op(B)[k,n], all row-major with leading dimensions.
///   A is [m,k] (lda >= k), or [k,m] when transA (lda >= m); B is [k,n] (ldb >= n), or [n,k] when transB.
/// Every combination BPTT needs: NN (dh_prev = dG W_hh), NT (x W_ih^T), TN (dW = dG^T x).
/// Register tiling: a `GEMMTile.rows` x 2-vector block of C lives in accumulators while k runs, sized for the
/// build's instruction set (see `GEMMTile`); B is walked row by row (contiguous along n) and A is broadcast
/// one scalar at a time, so NN and TN share one kernel through A's row/column strides. NT first transposes B
/// once (it is always the small weight).
///
/// `sumsOfA` (A transposed only) also adds each of A's columns, summed over k, into sums[0..<m], k ascending from the
/// sum's value on entry: the bias gradient (the column sums of dG) read while the product packs dG, instead of in a
/// pass of its own over it (cuBLASLt's BGRADA epilogue). The same additions in the same order as `addColumnSums`.
@inlinable
@_specialize(where T == Float) @_specialize(where T == Double)
public func gemm<T: Real>(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, threads: Int = 1, sumsOfA: UnsafeMutablePointer<T>? = nil,
    blocking: GEMMBlocking = .detected
) {
    precondition(sumsOfA == nil || transA == .transposed, "sumsOfA is the column sums of a transposed A")
    if m == 0 { return }
    if n == 0 {
        if let sumsOfA { addColumnSums(a, rows: k, cols: m, ld: lda, into: sumsOfA) }
        return
    }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }
        return
    }
    if transB == .transposed {
        let bt = UnsafeMutablePointer<T>.allocate(capacity: k * n)
        defer { bt.deallocate() }
        transpose(b, rows: n, cols: k, ld: ldb, into: bt)
        gemm(
            transA, .none, m: m, n: n, k: k, a: a, lda: lda, b: UnsafePointer(bt), ldb: n, c: c, ldc: ldc,
            accumulate: accumulate, threads: threads, sumsOfA: sumsOfA, blocking: blocking)
        return
    }
    if n == 1 && transA == .transposed {
        gemvTransposed(
            m: m, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, sumsOfA: sumsOfA)
        return
    }
    multiply(
        transA, m: m, n: n, k: k, a: a, lda: lda, b: ColumnBlocks(b, ld: ldb, blocking: blocking), c: c, ldc: ldc,
        accumulate: accumulate, threads: threads, sumsOfA: sumsOfA)
}

/// [C1 | C2] += A^T [B1 | B2]: two products of one transposed A in one, A packed once (the weight gradients
/// dW_ih += dG^T x and dW_hh += dG^T h_{t-1} of a cell whose hidden side has the input side's dG: packing dG, 13 MB
/// at LSTM H128 B64 T100, cost a third of the separate dW_ih product). B1 [k, n1] and B2 [k, n2] stay in their own
/// buffers; the packing of B reads each row from both. C1 [m, n1] and C2 [m, n2] are copied side by side into
/// `workspace` (m x (n1 + n2) scalars) and back, so every element gets the additions, in the order, of its own
/// product. `sumsOfA` as in `gemm`. Bit-identical to the two `gemm` calls either way.
@inlinable
@_specialize(where T == Float) @_specialize(where T == Double)
public func gemmTransposedSideBySide<T: Real>(
    m: Int, k: Int, a: UnsafePointer<T>, lda: Int, b1: UnsafePointer<T>, ldb1: Int, n1: Int,
    c1: UnsafeMutablePointer<T>,
    b2: UnsafePointer<T>, ldb2: Int, n2: Int, c2: UnsafeMutablePointer<T>, workspace c: UnsafeMutablePointer<T>,
    threads: Int = 1, sumsOfA: UnsafeMutablePointer<T>? = nil, blocking: GEMMBlocking = .detected
) {
    // Apart where one product costs more kernel tiles: one column beside whole tiles (pixel-by-pixel MNIST's
    // x_t beside H = 128) adds a zero-padded tile that its own one-column product (`gemvTransposed`) does not.
    // Apart, too, where packing A once saves less copying than packing B adds: apart, a B of under two column
    // tiles is read in place, and side by side B is always packed (RNN H32 I32: dG is [6400, 32], [x | h] is
    // [6400, 64]; one product measured 2-3% slower over the layer).
    let n = n1 + n2, nr = GEMMTile.columns(T.self), tiles = { ($0 + nr - 1) / nr }
    let apartTiles = tiles(n2) + (n1 == 1 ? 0 : tiles(n1))
    let readInPlace = (n1 < 2 * nr ? n1 : 0) + (n2 < 2 * nr ? n2 : 0)
    if m == 0 || k == 0 || n1 == 0 || n2 == 0 || tiles(n) > apartTiles || m <= readInPlace {
        gemm(
            .transposed, .none, m: m, n: n1, k: k, a: a, lda: lda, b: b1, ldb: ldb1, c: c1, ldc: n1,
            accumulate: true, threads: threads, sumsOfA: sumsOfA, blocking: blocking)
        gemm(
            .transposed, .none, m: m, n: n2, k: k, a: a, lda: lda, b: b2, ldb: ldb2, c: c2, ldc: n2,
            accumulate: true, threads: threads, blocking: blocking)
        return
    }
    for i in 0..<m {
        (c + i * n).update(from: c1 + i * n1, count: n1)
        (c + i * n + n1).update(from: c2 + i * n2, count: n2)
    }
    multiply(
        .transposed, m: m, n: n, k: k, a: a, lda: lda,
        b: ColumnBlocks(b1, ld: ldb1, columns: n1, b2, ld: ldb2, blocking: blocking),
        c: c, ldc: n, accumulate: true, threads: threads, sumsOfA: sumsOfA)
    for i in 0..<m {
        (c1 + i * n1).update(from: c + i * n, count: n1)
        (c2 + i * n2).update(from: c + i * n + n1, count: n2)
    }
}

/// The blocked product of `gemm` once its special shapes are handled: on one thread, on several splitting C's rows,
/// or (A transposed and deep) on several sharing each k-slab's packing.
@inlinable
func multiply<T: Real>(
    _ transA: Transpose, m: Int, n: Int, k: Int, a: UnsafePointer<T>, lda: Int, b: ColumnBlocks<T>,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, threads: Int, sumsOfA: UnsafeMutablePointer<T>?
) {
    func rows(_ m0: Int, _ rows: Int) {
        let transposed = transA == .transposed
        gemmBlocked(
            m: rows, n: n, k: k, a: a + (transposed ? m0 : m0 * lda), lda: lda, transposedA: transposed, b: b,
            c: c + m0 * ldc, ldc: ldc, accumulate: accumulate, sumsOfA: sumsOfA.map { $0 + m0 })
    }
    let splits = threads > 1 && m >= 8 && m * n * k >= 1 << 17
    if splits && transA == .transposed && k > GEMMTile.depth {
        gemmTransposedShared(
            m: m, n: n, k: k, a: a, lda: lda, b: b, c: c, ldc: ldc, accumulate: accumulate,
            parts: min(threads, (m + GEMMTile.rows - 1) / GEMMTile.rows), sumsOfA: sumsOfA)
    } else if splits {
        // Split rows of C between the threads in contiguous chunks of whole register tiles.
        let tr = GEMMTile.rows
        forEachSlice(of: (m + tr - 1) / tr, parts: threads) { tiles in
            let m0 = tiles.lowerBound * tr
            rows(m0, min(tiles.upperBound * tr, m) - m0)
        }
    } else {
        rows(0, m)
    }
}

/// B of a product, [k, n] row-major: one matrix (ld apart rows), or two side by side, [B1 | B2], each in its own
/// buffer (`gemmTransposedSideBySide`). The kernels read one matrix in place, or B packed into panels; two are
/// always packed, each panel row copied from the one or both that hold its columns.
@usableFromInline
struct ColumnBlocks<T: Real> {
    @usableFromInline let left: UnsafePointer<T>, ldLeft: Int, leftColumns: Int
    @usableFromInline let right: UnsafePointer<T>?, ldRight: Int
    /// Columns (nc) whose kc-deep block one pass over C's rows reads, from the product's `GEMMBlocking`.
    @usableFromInline let blockColumns: Int

    /// One matrix.
    @inlinable init(_ b: UnsafePointer<T>, ld: Int, blocking: GEMMBlocking) {
        self.init(b, ld: ld, columns: Int.max, nil, ld: 0, blocking: blocking)
    }
    /// [b1 | b2], b1 with `columns` columns.
    @inlinable init(
        _ b1: UnsafePointer<T>, ld ld1: Int, columns: Int, _ b2: UnsafePointer<T>?, ld ld2: Int, blocking: GEMMBlocking
    ) {
        self.init(b1, ld: ld1, columns: columns, b2, ld: ld2, blockColumns: blocking.columns(T.self))
    }
    @inlinable init(
        _ b1: UnsafePointer<T>, ld ld1: Int, columns: Int, _ b2: UnsafePointer<T>?, ld ld2: Int, blockColumns: Int
    ) {
        (left, ldLeft, leftColumns, right, ldRight, self.blockColumns) = (b1, ld1, columns, b2, ld2, blockColumns)
    }

    /// The one matrix, read in place; nil for two.
    @inlinable var inPlace: (b: UnsafePointer<T>, ld: Int)? { right == nil ? (left, ldLeft) : nil }

    /// B from row k0 on.
    @inlinable func rows(from k0: Int) -> ColumnBlocks {
        ColumnBlocks(
            left + k0 * ldLeft, ld: ldLeft, columns: leftColumns, right.map { $0 + k0 * ldRight }, ld: ldRight,
            blockColumns: blockColumns)
    }

    /// Copies row kk's columns first..<first + count to dst.
    @inlinable @inline(__always)
    func copy(row kk: Int, columns first: Int, count: Int, to dst: UnsafeMutablePointer<T>) {
        let inLeft = max(0, min(count, leftColumns - first))
        if inLeft > 0 { copyRow(left + kk * ldLeft + first, count: inLeft, to: dst) }
        if inLeft < count, let right {
            copyRow(right + kk * ldRight + (first + inLeft - leftColumns), count: count - inLeft, to: dst + inLeft)
        }
    }
}

/// Array convenience: C = op(A) op(B) (+ C), shapes taken from the tensors.
@inlinable
public func matmul<T: Real>(
    _ a: Tensor<T>, _ b: Tensor<T>, transA: Transpose = .none, transB: Transpose = .none,
    into c: inout Tensor<T>, accumulate: Bool = false, threads: Int = 1
) {
    precondition(a.rank == 2 && b.rank == 2 && c.rank == 2, "matmul takes matrices")
    let (m, k) = transA == .none ? (a.shape[0], a.shape[1]) : (a.shape[1], a.shape[0])
    let (kb, n) = transB == .none ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
    precondition(k == kb && c.shape == [m, n], "matmul shapes \(a.shape) x \(b.shape) -> \(c.shape) disagree")
    a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            c.data.withUnsafeMutableBufferPointer { cp in
                gemm(
                    transA, transB, m: m, n: n, k: k, a: ap.baseAddress!, lda: a.shape[1], b: bp.baseAddress!,
                    ldb: b.shape[1], c: cp.baseAddress!, ldc: n, accumulate: accumulate, threads: threads)
            }
        }
    }
}

/// dst[c, r] = src[r, c] for a rows x cols source with leading dimension ld; dst is dense cols x rows.
/// Specialised entry points: the cells call it from generic code (`prepareRecurrentWeight`), where the unspecialised
/// body ran element by element through witness tables (6% of an MNIST-rows forward pass).
@inlinable
@_specialize(where T == Float) @_specialize(where T == Double)
public func transpose<T: Real>(
    _ src: UnsafePointer<T>, rows: Int, cols: Int, ld: Int, into dst: UnsafeMutablePointer<T>
) {
    // 8x8 blocks keep both sides in cache lines; pointers step through a block (no index products per element).
    let bs = 8
    for r0 in stride(from: 0, to: rows, by: bs) {
        let rEnd = min(r0 + bs, rows)
        for c0 in stride(from: 0, to: cols, by: bs) {
            let n = min(bs, cols - c0)
            for r in r0..<rEnd {
                var s = src + r * ld + c0, d = dst + c0 * rows + r
                for _ in 0..<n {
                    d.pointee = s.pointee
                    s += 1; d += rows
                }
            }
        }
    }
}

/// The register tile of this build: C is computed in blocks of `rows` x (2 x T.Vector) held in registers.
/// Sized so accumulators, the two B vectors and one broadcast fit the register file without spilling:
///   AVX-512 (32 zmm): 12 rows, 24 accumulators of 16 floats (a 12 x 32 Float tile)
///   AVX2 + FMA (16 ymm): 6 rows, 12 accumulators of 8 floats (6 x 16)
///   arm64 NEON (32 q): 8 rows, 16 accumulators of 4 floats (8 x 8)
///   x86-64 baseline SSE (16 xmm): 6 rows, 12 accumulators (6 x 8)
/// Rows left over run through the smaller kernels in `remainderRows` (each also fits the register file).
public enum GEMMTile {
    #if RNNLAB_SIMD_AVX512
    /// Rows of C one micro-kernel call keeps in registers on this instruction set.
    public static let rows = 12
    @usableFromInline static let remainderRows = [8, 4, 2, 1]
    #elseif RNNLAB_SIMD_AVX2
    /// Rows of C one micro-kernel call keeps in registers on this instruction set.
    public static let rows = 6
    @usableFromInline static let remainderRows = [4, 2, 1]
    #elseif arch(arm64)
    /// Rows of C one micro-kernel call keeps in registers on this instruction set.
    public static let rows = 8
    @usableFromInline static let remainderRows = [4, 2, 1]
    #else
    /// Rows of C one micro-kernel call keeps in registers on this instruction set.
    public static let rows = 6
    @usableFromInline static let remainderRows = [4, 2, 1]
    #endif
    /// Columns of one tile for scalar type T (two vectors).
    @inlinable public static func columns<T: Real>(_ type: T.Type) -> Int { 2 * T.Vector.scalarCount }
    /// The k block (kc): every product sums k in slabs this deep, each from zero, then adds the slab to C (the same on
    /// every machine: see `GEMMBlocking`).
    public static let depth = 256

    /// C[0..<rows, 0..<width] = (accumulate ? C : 0) + tile, for the first `width` columns of a tile computed
    /// apart (the zero-padded last columns of a product).
    @inlinable static func keep<T: Real>(
        _ tile: UnsafePointer<T>, rows: Int, width: Int, into c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
    ) {
        let nr = columns(T.self)
        for r in 0..<rows {
            let dst = c + r * ldc, src = tile + r * nr
            for j in 0..<width { dst[j] = accumulate ? dst[j] + src[j] : src[j] }
        }
    }

    /// Calls body(height, firstRow) for the strips that cover m rows: whole tiles, then the remainder kernels
    /// largest first. Every kernel gives a row the same arithmetic, so the split does not change the result.
    @inlinable static func forEachStrip(_ m: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i + rows <= m { body(rows, i); i += rows }
        for height in remainderRows {
            while i + height <= m { body(height, i); i += height }
        }
    }
}

/// C[m, 1] = (accumulate ? C : 0) + A^T b, A stored [k, m]: the weight gradient of a one-column input (dW_ih at
/// input size 1: the Q1 sine task, pixel-by-pixel MNIST). The tiled kernels would compute a whole zero-padded tile
/// of columns for the one (16x the work on AVX2, 32x on AVX-512); here each k adds b[k] times a row of A to vectors
/// of partial sums, whole rows at a time (read in column chunks, the rows' parts defeated the prefetchers, as in
/// `StripPanels`). Every element sums its k-slab in the kernels' order (from zero, ascending k, one multiply-add
/// each; the last partial vector's lanes as the vector lanes) and then adds the slab to C as they do, so the result
/// is bit-identical to the tiled path. `sumsOfA` as in `gemm`, added from the rows as they are read.
@inlinable
func gemvTransposed<T: Real>(
    m: Int, k: Int, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, sumsOfA: UnsafeMutablePointer<T>?
) {
    let kc = GEMMTile.depth, w = T.Vector.scalarCount, whole = m / w * w
    withUnsafeTemporaryAllocation(of: T.Vector.self, capacity: (m + w - 1) / w) { sums in
        var k0 = 0
        while k0 < k {
            let kb = min(kc, k - k0), acc = accumulate || k0 > 0
            sums.initialize(repeating: T.Vector())
            for kk in k0..<(k0 + kb) {
                let row = a + kk * lda, x = T.Vector(repeating: b[kk * ldb])
                var v = 0
                for j in stride(from: 0, to: whole, by: w) {
                    let r: T.Vector = loadVector(row + j)
                    madd(&sums[v], x, r)
                    if let sumsOfA { storeVector(r, sumsOfA + j, accumulate: true) }
                    v += 1
                }
                if whole < m {
                    var lanes = T.Vector()
                    for l in 0..<(m - whole) { lanes[l] = row[whole + l] }
                    madd(&sums[v], x, lanes)
                    if let sumsOfA { for l in 0..<(m - whole) { sumsOfA[whole + l] += row[whole + l] } }
                }
            }
            for i in 0..<m {
                let v = sums[i / w][i % w]
                c[i * ldc] = acc ? c[i * ldc] + v : v
            }
            k0 += kb
        }
    }
}
