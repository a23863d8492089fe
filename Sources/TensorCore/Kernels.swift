/// Element-wise and reduction kernels on raw buffers: simple loops the compiler vectorises.

/// 16 lanes at p (unaligned): the unit of the explicit-vector element loops (GEMM tiles, cell steps).
@inlinable @inline(__always)
public func load16<T: Real>(_ p: UnsafePointer<T>) -> SIMD16<T> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<T>.self) }

@inlinable @inline(__always)
public func store16<T: Real>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<T>.self) }

/// y[i] += alpha * x[i]
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func axpy<T: Real>(_ n: Int, _ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>) {
    for i in 0..<n { y[i] += alpha * x[i] }
}

/// Adds `bias` (length cols) to every row of a rows x cols matrix (leading dimension ld).
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func addRowVector<T: Real>(_ m: UnsafeMutablePointer<T>, rows: Int, cols: Int, ld: Int, _ bias: UnsafePointer<T>) {
    for r in 0..<rows {
        let row = m + r * ld
        for j in 0..<cols { row[j] += bias[j] }
    }
}

/// out[j] += sum_r m[r, j]: the bias gradient of a batch of rows.
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func addColumnSums<T: Real>(_ m: UnsafePointer<T>, rows: Int, cols: Int, ld: Int, into out: UnsafeMutablePointer<T>) {
    for r in 0..<rows {
        let row = m + r * ld
        for j in 0..<cols { out[j] += row[j] }
    }
}

/// Batch-first [B, T, F] <-> time-major [T, B, F] (the recurrence walks time, so each step's rows are contiguous).
@_specialize(where T == Float) @_specialize(where T == Double)
@inlinable
public func swapLeadingAxes<T: Real>(_ src: UnsafePointer<T>, _ d0: Int, _ d1: Int, _ f: Int, into dst: UnsafeMutablePointer<T>) {
    for i in 0..<d0 {
        for j in 0..<d1 {
            (dst + (j * d0 + i) * f).update(from: src + (i * d1 + j) * f, count: f)
        }
    }
}

/// Sum of squares, accumulated in Double for stability on long vectors.
@_specialize(where T == Float) @_specialize(where T == Double)
public func sumOfSquares<T: Real>(_ x: [T]) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) } }

extension Array where Element: Real {
    public var sumOfSquares: Double { TensorCore.sumOfSquares(self) }
}
