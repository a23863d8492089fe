import Synchronization
import Dispatch

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
    let full = n / nr * nr, tail = n - full, nc = b.blockColumns
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
    let nr = GEMMTile.columns(T.self), nc = bk.blockColumns
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
