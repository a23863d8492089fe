import Synchronization
import Dispatch

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
        // The column blocking does not enter the packing itself.
        self.init(
            packing: ColumnBlocks(b, ld: ld, blocking: .detected), rows: rows, columns: 0..<columns, into: storage)
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
    accumulate: Bool, blocking: GEMMBlocking = .detected
) {
    let n = b.columns, k = b.rows
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }
        return
    }
    let kc = GEMMTile.depth, nr = GEMMTile.columns(T.self), mr = GEMMTile.rows
    // Panels per pass over the rows, so the kc-deep slices of them that pass reads stay in L2.
    let block = blocking.columns(T.self) / nr
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
