/// A grow-only scratch buffer owned by a layer: allocated once, reused across calls, so the time loop
/// never allocates.
public final class Buffer<T: Real> {
    /// The storage.
    public private(set) var pointer: UnsafeMutablePointer<T>
    /// Elements allocated.
    public private(set) var capacity: Int

    /// A buffer of `capacity` elements.
    public init(_ capacity: Int = 0) {
        self.capacity = capacity
        pointer = .allocate(capacity: max(capacity, 1))
        pointer.initialize(repeating: 0, count: max(capacity, 1))
    }

    /// Makes room for n values (contents are not kept when it grows) and returns the pointer.
    @discardableResult
    public func ensure(_ n: Int) -> UnsafeMutablePointer<T> {
        if n > capacity {
            pointer.deallocate()
            pointer = .allocate(capacity: n)
            pointer.initialize(repeating: 0, count: n)
            capacity = n
        }
        return pointer
    }

    /// Copies `values` in, growing as needed.
    public func load(_ values: [T]) {
        ensure(values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Sets the first `n` elements to zero.
    public func zero(_ n: Int) { pointer.update(repeating: 0, count: n) }

    /// A copy of the first `n` elements.
    public func array(_ n: Int) -> [T] { Array(UnsafeBufferPointer(start: pointer, count: n)) }

    deinit { pointer.deallocate() }
}
