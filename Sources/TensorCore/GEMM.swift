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
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, threads: Int = 1, sumsOfA: UnsafeMutablePointer<T>? = nil
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
            accumulate: accumulate, threads: threads, sumsOfA: sumsOfA)
        return
    }
    if n == 1 && transA == .transposed {
        gemvTransposed(
            m: m, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, sumsOfA: sumsOfA)
        return
    }
    multiply(
        transA, m: m, n: n, k: k, a: a, lda: lda, b: ColumnBlocks(b, ld: ldb), c: c, ldc: ldc,
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
    threads: Int = 1, sumsOfA: UnsafeMutablePointer<T>? = nil
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
            accumulate: true, threads: threads, sumsOfA: sumsOfA)
        gemm(
            .transposed, .none, m: m, n: n2, k: k, a: a, lda: lda, b: b2, ldb: ldb2, c: c2, ldc: n2,
            accumulate: true, threads: threads)
        return
    }
    for i in 0..<m {
        (c + i * n).update(from: c1 + i * n1, count: n1)
        (c + i * n + n1).update(from: c2 + i * n2, count: n2)
    }
    multiply(
        .transposed, m: m, n: n, k: k, a: a, lda: lda, b: ColumnBlocks(b1, ld: ldb1, columns: n1, b2, ld: ldb2),
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

    /// One matrix.
    @inlinable init(_ b: UnsafePointer<T>, ld: Int) { self.init(b, ld: ld, columns: Int.max, nil, ld: 0) }
    /// [b1 | b2], b1 with `columns` columns.
    @inlinable init(_ b1: UnsafePointer<T>, ld ld1: Int, columns: Int, _ b2: UnsafePointer<T>?, ld ld2: Int) {
        (left, ldLeft, leftColumns, right, ldRight) = (b1, ld1, columns, b2, ld2)
    }

    /// The one matrix, read in place; nil for two.
    @inlinable var inPlace: (b: UnsafePointer<T>, ld: Int)? { right == nil ? (left, ldLeft) : nil }

    /// B from row k0 on.
    @inlinable func rows(from k0: Int) -> ColumnBlocks {
        ColumnBlocks(left + k0 * ldLeft, ld: ldLeft, columns: leftColumns, right.map { $0 + k0 * ldRight }, ld: ldRight)
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
    /// Columns of B (nc, a multiple of the tile width) whose kc-deep block one pass over the rows reads: half of this
    /// CPU's L2 (`GEMMBlocking.current`).
    @inlinable public static func blockColumns<T: Real>(_ type: T.Type) -> Int { GEMMBlocking.current.columns(T.self) }

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

/// Cache blocking over k (a kc-deep slab of B stays in L2) around the register-tiled kernels. Columns beyond the
/// last multiple of the tile width are packed, zero-padded, into one tile-wide panel per slab, so they run through
/// the same kernels instead of a strided scalar loop.
///
/// A transposed (the weight gradients dW = dG^T X over all steps, k = T x B thousands deep) is packed: the kernels
/// read a strip of A^T at one k per iteration, and read from A as stored a strip's consecutive k sit lda apart (2 KB
/// at H128: a new line and every other k a new page, which the prefetchers do not follow). So each kc-deep slab of A
/// is first copied, whole rows at a time, into one contiguous [kc, rows] panel per row strip (`StripPanels`), and
/// each kc x nc block of B into contiguous column panels; the kernels then read both in order. A stored as used (NN:
/// x W_ih^T, dL/dx = dG W_ih) is read in place. The k order of every sum is the kernels', so no packing changes a
/// number.
@inlinable
func gemmBlocked<T: Real>(
    m: Int, n: Int, k: Int, a: UnsafePointer<T>, lda: Int, transposedA: Bool,
    b: ColumnBlocks<T>, c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool,
    sumsOfA: UnsafeMutablePointer<T>? = nil
) {
    let kc = GEMMTile.depth
    let packedA: UnsafeMutablePointer<T>? =
        transposedA ? .allocate(capacity: StripPanels<T>.count(rows: m, depth: kc)) : nil
    defer { packedA?.deallocate() }
    withSlabScratch(T.self, n: n, b: b, packsB: transposedA) { scratch in
        var k0 = 0
        while k0 < k {
            let kb = min(kc, k - k0)
            let strips = packedA.map {
                StripPanels(packing: a + k0 * lda, lda: lda, rows: m, depth: kb, into: $0, sums: sumsOfA)
            }
            multiplySlab(
                strips: strips, a: a + k0, lda: lda, rows: 0..<m, n: n, depth: kb, b: b.rows(from: k0), c: c, ldc: ldc,
                accumulate: accumulate || k0 > 0, scratch: scratch)
            k0 += kb
        }
    }
}

/// One thread's scratch for `multiplySlab`: B's kc x nc block packed in column panels (when B is packed, and has at
/// least two whole tiles, or is two matrices), its zero-padded tail panel and a tile for the tail's products.
@usableFromInline
struct SlabScratch<T: Real> {
    @usableFromInline let panels: UnsafeMutablePointer<T>?, tailPanel: UnsafeMutablePointer<T>
    @usableFromInline let tile: UnsafeMutablePointer<T>

    @inlinable init(panels: UnsafeMutablePointer<T>?, tailPanel: UnsafeMutablePointer<T>, tile: UnsafeMutablePointer<T>)
    {
        (self.panels, self.tailPanel, self.tile) = (panels, tailPanel, tile)
    }
}

/// Calls body with a `SlabScratch` for products with n columns of b, freed afterwards.
@inlinable
func withSlabScratch<T: Real, R>(
    _ type: T.Type, n: Int, b: ColumnBlocks<T>, packsB: Bool, _ body: (SlabScratch<T>) -> R
) -> R {
    let kc = GEMMTile.depth, nr = GEMMTile.columns(T.self), mr = GEMMTile.rows
    let full = n / nr * nr, tail = n - full, nc = GEMMTile.blockColumns(T.self)
    let packs = b.inPlace == nil || packsB && full >= 2 * nr
    let panels: UnsafeMutablePointer<T>? = packs ? .allocate(capacity: kc * min(nc, full)) : nil
    defer { panels?.deallocate() }
    return withUnsafeTemporaryAllocation(of: T.self, capacity: tail > 0 ? kc * nr + mr * nr : 1) { scratch in
        let panel = scratch.baseAddress!
        return body(SlabScratch(panels: panels, tailPanel: panel, tile: panel + (tail > 0 ? kc * nr : 0)))
    }
}

/// C's rows `rows` (whole strips) += one k-slab's product: A's slab from its packed strips, or in place at `a`
/// (rows lda apart) when nil, times B's `depth` rows from b. Column blocks of nc, so the kc x nc block of B each
/// pass over the rows reads stays in L2; the padded tail goes with the last block.
@inlinable
func multiplySlab<T: Real>(
    strips: StripPanels<T>?, a: UnsafePointer<T>, lda: Int, rows: Range<Int>, n: Int, depth kb: Int,
    b bk: ColumnBlocks<T>, c: UnsafeMutablePointer<T>, ldc: Int, accumulate acc: Bool, scratch: SlabScratch<T>
) {
    let nr = GEMMTile.columns(T.self), nc = GEMMTile.blockColumns(T.self)
    let full = n / nr * nr, tail = n - full
    if tail > 0 { _ = PackedPanels(packing: bk, rows: kb, columns: full..<n, into: scratch.tailPanel) }
    var j0 = 0
    repeat {
        let j1 = min(j0 + nc, full), last = j1 == full, tiles = (j1 - j0) / nr
        // The block's column tiles: packed into contiguous panels, or read in place.
        let source: (b: UnsafePointer<T>, rowStride: Int, tileStride: Int)
        if let panels = scratch.panels {
            let packed = PackedPanels(packing: bk, rows: kb, columns: j0..<j1, into: panels)
            source = (packed.base, nr, packed.panelStride)
        } else {
            let matrix = bk.inPlace!
            source = (matrix.b + j0, matrix.ld, nr)
        }
        // One strip of rows (height `height`, from row i) across the block's column tiles.
        func strip(_ height: Int, _ i: Int, _ ai: UnsafePointer<T>, rsA: Int, csA: Int) {
            let ci = c + i * ldc
            sweepTiles(
                rows: height, tiles: tiles, k: kb, a: ai, rsA: rsA, csA: csA, b: source.b, ldb: source.rowStride,
                tileStride: source.tileStride, c: ci + j0, ldc: ldc, accumulate: acc)
            if last && tail > 0 {
                microKernel(
                    rows: height, k: kb, a: ai, rsA: rsA, csA: csA, b: scratch.tailPanel, ldb: nr, c: scratch.tile,
                    ldc: nr, accumulate: false)
                GEMMTile.keep(scratch.tile, rows: height, width: tail, into: ci + full, ldc: ldc, accumulate: acc)
            }
        }
        if let strips {
            strips.forEach { height, i, ai in if rows.contains(i) { strip(height, i, ai, rsA: 1, csA: height) } }
        } else {
            GEMMTile.forEachStrip(rows.count) { height, i in
                strip(height, rows.lowerBound + i, a + (rows.lowerBound + i) * lda, rsA: lda, csA: 1)
            }
        }
        j0 = j1
    } while j0 < full
}

/// A^T B on several threads that share each k-slab's packing: the threads first pack the slab together, each a
/// share of its k rows read whole, then each multiplies its own row strips of C from the shared panels. Splitting C's
/// rows alone, each thread packed its part of every row of A, and rows read in part defeat the prefetchers (see
/// `StripPanels`): on two threads the packing took longer than on one (LSTM H128 B64 T100: 3.3 ms against 2.4 ms a
/// batch, Zen 4). Work is handed out as tickets in one order (slab s: its pack parts, then its multiply parts), and a
/// task waits only for tasks of earlier tickets (the packs of its slab; the multiply of the slab before for the same
/// rows; a panel buffer's previous slab), so it finishes however many threads the pool runs it on. The same
/// arithmetic as one thread: every C element sums its slabs in order, and `sumsOfA` adds each column's k in order
/// (from the packed panels, by the thread that owns those rows).
@inlinable
func gemmTransposedShared<T: Real>(
    m: Int, n: Int, k: Int, a: UnsafePointer<T>, lda: Int, b: ColumnBlocks<T>,
    c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool, parts: Int, sumsOfA: UnsafeMutablePointer<T>?
) {
    let kc = GEMMTile.depth, mr = GEMMTile.rows, slabs = (k + kc - 1) / kc
    let tiles = (m + mr - 1) / mr, size = StripPanels<T>.count(rows: m, depth: kc)
    // Part p multiplies rows rowsOf(p) (whole tiles; the last part takes the remainder strips).
    func rowsOf(_ p: Int) -> Range<Int> {
        let chunk = (tiles + parts - 1) / parts
        return min(p * chunk * mr, m)..<min((p + 1) * chunk * mr, m)
    }
    let buffers = UnsafeMutablePointer<T>.allocate(capacity: 2 * size)
    defer { buffers.deallocate() }
    let counters = SlabCounters(slabs: slabs, parts: parts)
    defer { counters.free() }
    forEachSlice(of: parts, parts: parts) { _ in
        withSlabScratch(T.self, n: n, b: b, packsB: true) { scratch in
            while true {
                let ticket = counters.nextTicket()
                guard ticket < slabs * 2 * parts else { return }
                let slab = ticket / (2 * parts), task = ticket % (2 * parts), k0 = slab * kc, kb = min(kc, k - k0)
                let buffer = buffers + (slab % 2) * size
                if task < parts {
                    // Pack rows of this slab; the buffer's previous slab (two back) must be multiplied first.
                    if slab >= 2 { counters.waitUntilMultiplied(slab: slab - 2) }
                    let share = (kb + parts - 1) / parts, rows = min(task * share, kb)..<min((task + 1) * share, kb)
                    StripPanels<T>.pack(a + k0 * lda, lda: lda, rows: m, depth: kb, kRows: rows, into: buffer)
                    counters.packed(slab: slab)
                } else {
                    let part = task - parts
                    counters.waitUntilPacked(slab: slab)
                    if slab >= 1 { counters.waitUntilMultiplied(slab: slab - 1, part: part) }
                    let strips = StripPanels(base: buffer, rows: m, depth: kb), rows = rowsOf(part)
                    if let sumsOfA { strips.addColumnSums(rows: rows, into: sumsOfA) }
                    multiplySlab(
                        strips: strips, a: a, lda: lda, rows: rows, n: n, depth: kb, b: b.rows(from: k0), c: c,
                        ldc: ldc, accumulate: accumulate || k0 > 0, scratch: scratch)
                    counters.multiplied(slab: slab, part: part)
                }
            }
        }
    }
}

/// The shared counters of `gemmTransposedShared`: the next ticket, and per slab the pack parts done and per part the
/// slabs multiplied. Waits spin (a slab's tasks take tens of microseconds).
@usableFromInline
struct SlabCounters {
    @usableFromInline let ticket: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let packs: UnsafeMutablePointer<Atomic<Int>>  // per slab: pack parts done
    @usableFromInline let progress: UnsafeMutablePointer<Atomic<Int>>  // per part: slabs multiplied
    @usableFromInline let slabs: Int, parts: Int

    @inlinable init(slabs: Int, parts: Int) {
        (self.slabs, self.parts) = (slabs, parts)
        ticket = .allocate(capacity: 1)
        ticket.initialize(to: Atomic(0))
        packs = .allocate(capacity: slabs)
        for i in 0..<slabs { (packs + i).initialize(to: Atomic(0)) }
        progress = .allocate(capacity: parts)
        for i in 0..<parts { (progress + i).initialize(to: Atomic(0)) }
    }

    @inlinable func free() {
        ticket.deinitialize(count: 1); ticket.deallocate()
        packs.deinitialize(count: slabs); packs.deallocate()
        progress.deinitialize(count: parts); progress.deallocate()
    }

    @inlinable func nextTicket() -> Int { ticket.pointee.wrappingAdd(1, ordering: .relaxed).oldValue }
    @inlinable func packed(slab: Int) { packs[slab].add(1, ordering: .releasing) }
    @inlinable func multiplied(slab: Int, part: Int) { progress[part].store(slab + 1, ordering: .releasing) }

    @inlinable func waitUntilPacked(slab: Int) {
        while packs[slab].load(ordering: .acquiring) < parts {}
    }
    /// Until part `part` (every part when nil) has multiplied slab `slab`.
    @inlinable func waitUntilMultiplied(slab: Int, part: Int? = nil) {
        for p in part.map({ $0..<($0 + 1) }) ?? 0..<parts {
            while progress[p].load(ordering: .acquiring) <= slab {}
        }
    }
}

/// A slab of a transposed A (`rows` columns of A from `a`, `depth` rows of it lda apart) laid out as the kernels
/// read it: one contiguous [depth, height] panel per row strip (the strips of `GEMMTile.forEachStrip`). Filled
/// row by row of A, whole rows (a thread's share of them) at a time: the prefetchers follow that, and not rows read
/// in part (13 MB of dG at H128 packed in 0.43-0.55 ms reading 2 KB rows whole, 2.2-2.5 ms reading them in 1 KB
/// halves or strip by strip, on the Zen 4 core of the README). Consecutive panels sit one cache line more than their
/// size apart: at kc 256 a 12-row panel is 12 KB, and without the gap the same k of every panel would fall in one
/// L1 set. `sums`, when given, gets each column of the slab added to it, k ascending, from the rows as they are read.
@usableFromInline
struct StripPanels<T: Real> {
    @usableFromInline let base: UnsafeMutablePointer<T>
    @usableFromInline let rows: Int, depth: Int

    /// Scalars the panels of `rows` rows at k-depth `depth` take, gaps included.
    @inlinable static func count(rows: Int, depth: Int) -> Int {
        rows * depth + ((rows + GEMMTile.rows - 1) / GEMMTile.rows + 4) * gap
    }
    @inlinable static var gap: Int { 64 / MemoryLayout<T>.stride }

    @inlinable init(
        packing a: UnsafePointer<T>, lda: Int, rows: Int, depth: Int, into base: UnsafeMutablePointer<T>,
        sums: UnsafeMutablePointer<T>? = nil
    ) {
        Self.pack(a, lda: lda, rows: rows, depth: depth, kRows: 0..<depth, into: base, sums: sums)
        self.init(base: base, rows: rows, depth: depth)
    }

    /// The panels at `base`, already packed.
    @inlinable init(base: UnsafeMutablePointer<T>, rows: Int, depth: Int) {
        (self.base, self.rows, self.depth) = (base, rows, depth)
    }

    /// Packs A's rows `kRows` of the slab (whole rows of A) into their places in the panels.
    @inlinable static func pack(
        _ a: UnsafePointer<T>, lda: Int, rows: Int, depth: Int, kRows: Range<Int>, into base: UnsafeMutablePointer<T>,
        sums: UnsafeMutablePointer<T>? = nil
    ) {
        // The whole-tile strips in one sweep over A's rows, then the few remainder strips (under a tile of rows).
        let mr = GEMMTile.rows, whole = rows / mr, stride = mr * depth + Self.gap
        for kk in kRows {
            let src = a + kk * lda, dst = base + kk * mr
            for s in 0..<whole { copyRow(src + s * mr, count: mr, to: dst + s * stride) }
            if let sums { addRow(src, count: rows, into: sums) }
        }
        var at = whole * stride, first = whole * mr
        for height in GEMMTile.remainderRows {
            while first + height <= rows {
                for kk in kRows { copyRow(a + kk * lda + first, count: height, to: base + at + kk * height) }
                at += height * depth + Self.gap
                first += height
            }
        }
    }

    /// sums[i] += the slab's column i, k ascending, for the strips whose first row is in `rows` (each column's running
    /// sum kept in a register across k, then stored: the same additions in the same order as row by row).
    @inlinable func addColumnSums(rows: Range<Int>, into sums: UnsafeMutablePointer<T>) {
        forEach { height, first, panel in
            guard rows.contains(first) else { return }
            // Lanes j..<j+width of every k row into their running sums, as long as whole vectors of V fit.
            func sumColumns<V: SIMD>(_: V.Type, from j: inout Int) where V.Scalar == T {
                while j + V.scalarCount <= height {
                    var acc = UnsafeRawPointer(sums + first + j).loadUnaligned(as: V.self)
                    for kk in 0..<depth { acc += UnsafeRawPointer(panel + kk * height + j).loadUnaligned(as: V.self) }
                    UnsafeMutableRawPointer(sums + first + j).storeBytes(of: acc, as: V.self)
                    j += V.scalarCount
                }
            }
            var j = 0
            sumColumns(SIMD8<T>.self, from: &j)
            sumColumns(SIMD4<T>.self, from: &j)
            while j < height {
                var acc = sums[first + j]
                for kk in 0..<depth { acc += panel[kk * height + j] }
                sums[first + j] = acc
                j += 1
            }
        }
    }

    /// Calls body(height, firstRow, panel) for every strip.
    @inlinable func forEach(_ body: (Int, Int, UnsafePointer<T>) -> Void) {
        var at = 0
        GEMMTile.forEachStrip(rows) { height, first in
            body(height, first, UnsafePointer(base + at))
            at += height * depth + Self.gap
        }
    }
}

/// B [k, n] laid out once for the micro-kernels, for a weight that many products read unchanged (the recurrent
/// weight at every time step): one contiguous [k, nr] panel per column tile of nr = `GEMMTile.columns`, the last
/// zero-padded. A step's product then streams each panel in order, instead of reading nr columns out of rows
/// ldb apart (at H = 512, W_hh^T's rows are 8 KB apart: a new page per k, and the AVX2 build's per-step
/// product ran at 62% of peak). A view can start at any row (`rows(_:)`), and keep the first columns.
public struct PackedPanels<T: Real> {
    /// Row 0 of the first panel.
    public let base: UnsafePointer<T>
    /// k: rows of the view.
    public let rows: Int
    /// n: columns of the view.
    public let columns: Int
    /// Elements from one panel to the next.
    public let panelStride: Int

    /// Scalars the panels of a [rows, columns] matrix occupy.
    public static func count(rows: Int, columns: Int) -> Int {
        let nr = GEMMTile.columns(T.self)
        return (columns + nr - 1) / nr * nr * rows
    }

    /// Packs B [rows, columns] (leading dimension ld) into `storage`, at least `count(rows:columns:)` scalars.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public init(packing b: UnsafePointer<T>, rows: Int, columns: Int, ld: Int, into storage: UnsafeMutablePointer<T>) {
        self.init(packing: ColumnBlocks(b, ld: ld), rows: rows, columns: 0..<columns, into: storage)
    }

    /// Packs the columns `columns` of b's first `rows` rows.
    @inlinable
    init(packing b: ColumnBlocks<T>, rows: Int, columns: Range<Int>, into storage: UnsafeMutablePointer<T>) {
        let nr = GEMMTile.columns(T.self), stride = rows * nr
        for p in 0..<((columns.count + nr - 1) / nr) {
            let panel = storage + p * stride, c0 = columns.lowerBound + p * nr, width = min(nr, columns.upperBound - c0)
            for kk in 0..<rows {
                let dst = panel + kk * nr
                b.copy(row: kk, columns: c0, count: width, to: dst)
                if width < nr { (dst + width).update(repeating: 0, count: nr - width) }
            }
        }
        self.init(base: storage, rows: rows, columns: columns.count, panelStride: stride)
    }

    @usableFromInline init(base: UnsafePointer<T>, rows: Int, columns: Int, panelStride: Int) {
        (self.base, self.rows, self.columns, self.panelStride) = (base, rows, columns, panelStride)
    }

    /// The rows `range` of this view (all its columns).
    public func rows(_ range: Range<Int>) -> PackedPanels<T> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        return PackedPanels(
            base: base + range.lowerBound * GEMMTile.columns(T.self), rows: range.count, columns: columns,
            panelStride: panelStride)
    }

    /// The first `count` columns of this view.
    public func prefix(columns count: Int) -> PackedPanels<T> {
        precondition(count >= 0 && count <= columns, "\(count) columns of \(columns)")
        return PackedPanels(base: base, rows: rows, columns: count, panelStride: panelStride)
    }
}

/// C[m, n] = (accumulate ? C : 0) + A[m, k] B with B packed (k = b.rows, n = b.columns); A row-major, lda >= k.
/// Never inlined: inlined into the LSTM's step, it made the compiler split the step's 16-lane element-wise code
/// into 4-lane pieces that spilled (forward 0.84 -> 1.21 ms on the MNIST-rows shape, AVX-512).
@inlinable @inline(never)
@_specialize(where T == Float) @_specialize(where T == Double)
public func gemm<T: Real>(
    m: Int, a: UnsafePointer<T>, lda: Int, b: PackedPanels<T>, c: UnsafeMutablePointer<T>, ldc: Int,
    accumulate: Bool
) {
    let n = b.columns, k = b.rows
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }
        return
    }
    let kc = GEMMTile.depth, nr = GEMMTile.columns(T.self), mr = GEMMTile.rows
    // Panels per pass over the rows, so the kc-deep slices of them that pass reads stay in L2.
    let block = GEMMTile.blockColumns(T.self) / nr
    let full = n / nr, tail = n - full * nr
    withUnsafeTemporaryAllocation(of: T.self, capacity: tail > 0 ? mr * nr : 1) { scratch in
        let tile = scratch.baseAddress!
        var k0 = 0
        while k0 < k {
            let kb = min(kc, k - k0), acc = accumulate || k0 > 0
            let bk = b.base + k0 * nr
            var p0 = 0
            repeat {
                let p1 = min(p0 + block, full), last = p1 == full
                GEMMTile.forEachStrip(m) { rows, i in
                    let ai = a + i * lda + k0, ci = c + i * ldc
                    sweepTiles(
                        rows: rows, tiles: p1 - p0, k: kb, a: ai, rsA: lda, csA: 1, b: bk + p0 * b.panelStride, ldb: nr,
                        tileStride: b.panelStride, c: ci + p0 * nr, ldc: ldc, accumulate: acc)
                    if last && tail > 0 {
                        microKernel(
                            rows: rows, k: kb, a: ai, rsA: lda, csA: 1, b: bk + full * b.panelStride, ldb: nr,
                            c: tile, ldc: nr, accumulate: false)
                        GEMMTile.keep(tile, rows: rows, width: tail, into: ci + full * nr, ldc: ldc, accumulate: acc)
                    }
                }
                p0 = p1
            } while p0 < full
            k0 += kb
        }
    }
}

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
