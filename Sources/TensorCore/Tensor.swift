/// Errors raised by tensor construction and shape checks; the message names what is wrong.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    /// What does not fit, with the shapes.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// The number of elements of `shape`, or nil when a dimension is negative or the product overflows Int
/// (shapes read from files are checked with this before anything is allocated).
public func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}

/// A contiguous, row-major buffer of `T` with a shape. Value semantics (copy on write through Array).
public struct Tensor<T: Real>: Equatable {
    /// The extent of each dimension, row-major.
    public private(set) var shape: [Int]
    /// The elements, row-major.
    public var data: [T]

    /// A tensor of this shape and data; throws when the counts differ.
    public init(shape: [Int], data: [T]) throws {
        guard let n = elementCount(shape) else {
            throw ShapeError("invalid shape \(shape): a negative dimension or too many elements")
        }
        guard n == data.count else {
            throw ShapeError("shape \(shape) needs \(n) values but \(data.count) were given")
        }
        self.shape = shape
        self.data = data
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.data = [T](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor whose every element `fill` writes (into uninitialised storage: no zeroing pass first).
    public init(shape: [Int], filledBy fill: (UnsafeMutablePointer<T>) -> Void) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let n = shape.reduce(1, *)
        self.shape = shape
        self.data = [T](unsafeUninitializedCapacity: n) { buffer, count in
            if n > 0 { fill(buffer.baseAddress!) }
            count = n
        }
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: T) {
        self.shape = shape
        self.data = [T](repeating: value, count: shape.reduce(1, *))
    }

    /// The number of elements.
    public var count: Int { data.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Moves the storage out, leaving an empty tensor behind (hands a buffer on without a copy).
    public mutating func take() -> Tensor {
        var out = Tensor(unchecked: [0], [])
        swap(&out, &self)
        return out
    }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, data: data)
    }

    /// Builds without checking; for internal call sites that computed `data.count` from `shape`.
    @usableFromInline init(unchecked shape: [Int], _ data: [T]) {
        self.shape = shape
        self.data = data
    }

    /// Throws unless the shape equals `expected`; `what` names the tensor in the message.
    public func expectShape(_ expected: [Int], _ what: String) throws {
        guard shape == expected else { throw ShapeError("\(what): expected shape \(expected), got \(shape)") }
    }

    /// Element (i, j) of a matrix.
    public subscript(_ i: Int, _ j: Int) -> T {
        get { data[i * shape[1] + j] }
        set { data[i * shape[1] + j] = newValue }
    }
}
