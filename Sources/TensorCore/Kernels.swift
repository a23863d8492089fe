import Dispatch

/// Element-wise and reduction kernels on raw buffers: simple loops the compiler vectorises.

/// 16 lanes at p (unaligned): the unit of the explicit-vector element loops (GEMM tiles, cell steps).
@inlinable @inline(__always)
public func load16<T: Real>(_ p: UnsafePointer<T>) -> SIMD16<T> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<T>.self)
}

/// Stores 16 lanes at `p`.
@inlinable @inline(__always)
public func store16<T: Real>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<T>.self)
}

/// 16 lanes from two places: lanes 0..<8 at `low`, lanes 8..<16 at `high` (the last 8 units of two rows).
/// Through a 16-lane buffer, as `load16(_:count:)`: assembled from its halves in registers, the vector made LLVM
/// split the whole LSTM step into 128-bit pieces on AVX-512.
@inlinable @inline(__always)
public func load16<T: Real>(low: UnsafePointer<T>, high: UnsafePointer<T>) -> SIMD16<T> {
    withUnsafeTemporaryAllocation(of: T.self, capacity: 16) { buffer in
        let b = UnsafeMutableRawPointer(buffer.baseAddress!)
        b.storeBytes(of: UnsafeRawPointer(low).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
        (b + 8 * MemoryLayout<T>.stride).storeBytes(
            of: UnsafeRawPointer(high).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
        return load16(UnsafePointer(buffer.baseAddress!))
    }
}

/// Stores lanes 0..<8 of v at `low` and lanes 8..<16 at `high` (through a 16-lane buffer, see above).
@inlinable @inline(__always)
public func store16<T: Real>(_ v: SIMD16<T>, low: UnsafeMutablePointer<T>, high: UnsafeMutablePointer<T>) {
    withUnsafeTemporaryAllocation(of: T.self, capacity: 16) { buffer in
        store16(v, buffer.baseAddress!)
        let b = UnsafeRawPointer(buffer.baseAddress!)
        UnsafeMutableRawPointer(low).storeBytes(of: b.loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
        UnsafeMutableRawPointer(high).storeBytes(
            of: (b + 8 * MemoryLayout<T>.stride).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
    }
}

/// The first `count` (1...16) lanes at p, the others zero: the last, partial vector of a row.
@inlinable @inline(__always)
public func load16<T: Real>(_ p: UnsafePointer<T>, count: Int) -> SIMD16<T> {
    if count == 16 { return load16(p) }
    // A short copy into a zeroed 16-lane buffer, then one whole-vector load: per-lane inserts compile to a
    // slow chain, and building the vector in place makes LLVM split it into 128-bit pieces.
    return withUnsafeTemporaryAllocation(of: T.self, capacity: 16) { buffer in
        let b = buffer.baseAddress!
        b.initialize(repeating: 0, count: 16)
        b.update(from: p, count: count)
        return load16(UnsafePointer(b))
    }
}

/// Stores the first `count` (1...16) lanes of v at p.
@inlinable @inline(__always)
public func store16<T: Real>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>, count: Int) {
    if count == 16 { store16(v, p); return }
    withUnsafeTemporaryAllocation(of: T.self, capacity: 16) { buffer in
        store16(v, buffer.baseAddress!)
        p.update(from: buffer.baseAddress!, count: count)
    }
}

/// Runs an element-wise pass over units 0..<n in 16-lane windows: `compute(j, w)` loads and computes the
/// window starting at j (w lanes valid), `store(j, w, result)` writes it. For n >= 16 every window is a
/// whole vector: when n is not a multiple of 16 the last window is the one ending at n, overlapping the one
/// before; it is computed before anything is stored, so a pass that updates its inputs in place reads the
/// original values, and the overlapping lanes are written twice with the same values. Below 16 units the one
/// window is partial (w = n, zero-padded loads).
@inlinable @inline(__always)
public func forEachWindow16<R>(_ n: Int, compute: (_ j: Int, _ w: Int) -> R, store: (_ j: Int, _ w: Int, R) -> Void) {
    guard n >= 16 else {
        if n > 0 { store(0, n, compute(0, n)) }
        return
    }
    let last = n % 16 == 0 ? nil : Optional(compute(n - 16, 16))
    var j = 0
    while j + 16 <= n { store(j, 16, compute(j, 16)); j += 16 }
    if let last { store(n - 16, 16, last) }
}

/// One 16-lane window of a pass over rows of units: lanes 0..<8 are units j..<j+8 of row r0 and lanes 8..<16
/// units j..<j+8 of row r1 when `paired`, otherwise the 16 units from j of row r0.
public struct Window16: Sendable {
    public let r0: Int, r1: Int, j: Int, paired: Bool

    @inlinable init(r0: Int, r1: Int, j: Int, paired: Bool) {
        (self.r0, self.r1, self.j, self.paired) = (r0, r1, j, paired)
    }

    /// This window's lanes of a buffer whose rows are ld apart.
    @inlinable @inline(__always)
    public func load<T: Real>(_ p: UnsafePointer<T>, ld: Int) -> SIMD16<T> {
        paired ? load16(low: p + r0 * ld + j, high: p + r1 * ld + j) : load16(p + r0 * ld + j)
    }

    /// Stores v into this window's lanes of a buffer whose rows are ld apart.
    @inlinable @inline(__always)
    public func store<T: Real>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>, ld: Int) {
        if paired {
            store16(v, low: p + r0 * ld + j, high: p + r1 * ld + j)
        } else {
            store16(v, p + r0 * ld + j)
        }
    }
}

/// An element-wise pass over `rows` rows of n = 16q + 8 units, in 16-lane windows: each row's q whole windows,
/// then the last 8 units of two rows per window (an odd last row fills both halves and is stored once), so no lane
/// is wasted (at n = 24, 24 lanes of work per row instead of the 32 of two overlapping windows). `compute(window)`
/// loads and computes a window, `store(window, result)` writes it.
@inlinable @inline(__always)
public func forEachPairedWindow16<R>(
    rows: Int, n: Int, compute: (Window16) -> R, store: (Window16, R) -> Void
) {
    precondition(n % 16 == 8, "forEachPairedWindow16 takes 16q + 8 units")
    let whole = n - 8, perRow = whole / 16
    // One loop, one call site for each closure: whole windows first, then the paired tails.
    let windows = rows * perRow + (rows + 1) / 2
    for w in 0..<windows {
        let paired = w >= rows * perRow
        let r0 = paired ? 2 * (w - rows * perRow) : w / max(perRow, 1)
        let window = Window16(
            r0: r0, r1: paired ? min(r0 + 1, rows - 1) : r0, j: paired ? whole : (w - r0 * perRow) * 16,
            paired: paired)
        store(window, compute(window))
    }
}

/// y[i] += alpha * x[i]
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func axpy<T: Real>(_ n: Int, _ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>) {
    for i in 0..<n { y[i] += alpha * x[i] }
}

/// Adds `bias` (length cols) to every row of a rows x cols matrix (leading dimension ld).
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func addRowVector<T: Real>(_ m: UnsafeMutablePointer<T>, rows: Int, cols: Int, ld: Int, _ bias: UnsafePointer<T>)
{
    let whole = cols / 16 * 16
    for r in 0..<rows {
        let row = m + r * ld
        for j in stride(from: 0, to: whole, by: 16) { store16(load16(row + j) + load16(bias + j), row + j) }
        for j in whole..<cols { row[j] += bias[j] }
    }
}

/// c[r, j] = x[r] w[j] + bias[j] for `rows` rows (x's rows ldx apart, c's ldc apart): a step's input projection and
/// its bias add in one pass where the input has one feature (pixel-by-pixel MNIST, the Q1 sine). The product is a
/// multiply-add onto zero, as the GEMM kernels form it, and the bias is added after it, as `addRowVector` adds it, so
/// every value equals the GEMM-then-add result bit for bit; through the GEMM a one-deep product cost a tile's stores
/// per 24 multiply-adds (6% of a pixel-MNIST batch).
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func projectOneFeature<T: Real>(
    _ x: UnsafePointer<T>, ldx: Int, rows: Int, weights w: UnsafePointer<T>, bias: UnsafePointer<T>,
    into c: UnsafeMutablePointer<T>, cols: Int, ldc: Int
) {
    let whole = cols / 16 * 16
    for r in 0..<rows {
        let xr = SIMD16<T>(repeating: x[r * ldx]), row = c + r * ldc
        func product(_ w16: SIMD16<T>) -> SIMD16<T> {
            var p = SIMD16<T>()
            madd(&p, xr, w16)
            return p
        }
        for j in stride(from: 0, to: whole, by: 16) { store16(product(load16(w + j)) + load16(bias + j), row + j) }
        if whole < cols {
            let n = cols - whole
            store16(product(load16(w + whole, count: n)) + load16(bias + whole, count: n), row + whole, count: n)
        }
    }
}

/// out[j] += sum_r m[r, j], row by row: the bias gradient of a batch of rows. With threads > 1 and at least 256K
/// elements, each thread sums its own block of at least 64 columns (the same additions in the same order).
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func addColumnSums<T: Real>(
    _ m: UnsafePointer<T>, rows: Int, cols: Int, ld: Int, into out: UnsafeMutablePointer<T>, threads: Int = 1
) {
    forEachSlice(of: cols, parts: rows * cols >= 1 << 18 ? min(threads, cols / 64) : 1) { js in
        // 16 columns at a time with explicit vectors: as a scalar loop the compiler could not vectorise it (out and
        // the rows may alias as far as it knows), and the bias gradients' pass over dG took 7% of a pixel-MNIST batch.
        for r in 0..<rows { addRow(m + r * ld + js.lowerBound, count: js.count, into: out + js.lowerBound) }
    }
}

/// Batch-first [B, T, F] <-> time-major [T, B, F] (the recurrence walks time, so each step's rows are contiguous).
/// With threads > 1 and at least 64K elements, each thread writes its own slice of the destination.
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func swapLeadingAxes<T: Real>(
    _ src: UnsafePointer<T>, _ d0: Int, _ d1: Int, _ f: Int, into dst: UnsafeMutablePointer<T>, threads: Int = 1
) {
    forEachSlice(of: d1, parts: d0 * d1 * f >= 1 << 16 ? threads : 1) { js in
        for j in js {
            for i in 0..<d0 { copyRow(src + (i * d1 + j) * f, count: f, to: dst + (j * d0 + i) * f) }
        }
    }
}

/// dst[j] += src[j] for j in 0..<count, 16 lanes at a time: one row of a column sum.
@inlinable @inline(__always)
func addRow<T: Real>(_ src: UnsafePointer<T>, count: Int, into dst: UnsafeMutablePointer<T>) {
    var j = 0
    while j + 16 <= count { store16(load16(dst + j) + load16(src + j), dst + j); j += 16 }
    while j < count { dst[j] += src[j]; j += 1 }
}

/// dst[0..<count] = src[0..<count] for the short rows the kernels move (a few hundred bytes between batch-first and
/// time-major, a strip's 12 or 6 values into its GEMM panel), where a memmove call per row cost more than the copy:
/// 16-lane vectors, then 8 and 4, then scalars.
@inlinable @inline(__always)
func copyRow<T: Real>(_ src: UnsafePointer<T>, count: Int, to dst: UnsafeMutablePointer<T>) {
    var j = 0
    while j + 16 <= count { store16(load16(src + j), dst + j); j += 16 }
    if j + 8 <= count {
        UnsafeMutableRawPointer(dst + j).storeBytes(
            of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
        j += 8
    }
    if j + 4 <= count {
        UnsafeMutableRawPointer(dst + j).storeBytes(
            of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD4<T>.self), as: SIMD4<T>.self)
        j += 4
    }
    while j < count { dst[j] = src[j]; j += 1 }
}

/// Calls body with `parts` contiguous slices of 0..<count, side by side on as many threads (in one call on this
/// thread when parts <= 1). The slices must touch disjoint memory. Every thread that runs a slice flushes
/// subnormals as `flushSubnormals` says (`Subnormals.flushed` unless given).
@inlinable
public func forEachSlice(
    of count: Int, parts: Int, flushSubnormals: Bool = Subnormals.flushed, _ body: (Range<Int>) -> Void
) {
    let parts = max(1, min(parts, count))
    Subnormals.applyToThisThread(flushSubnormals)
    guard parts > 1 else {
        body(0..<count)
        return
    }
    let chunk = (count + parts - 1) / parts
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            Subnormals.applyToThisThread(flushSubnormals)
            let lo = p * chunk
            if lo < count { body(lo..<min(count, lo + chunk)) }
        }
    }
}

/// Sum of squares, accumulated in Double for stability on long vectors.
@_specialize(where T == Float) @_specialize(where T == Double)
public func sumOfSquares<T: Real>(_ x: [T]) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) } }

extension Array where Element: Real {
    /// The sum of the squared elements, accumulated in Double.
    public var sumOfSquares: Double { TensorCore.sumOfSquares(self) }
}
