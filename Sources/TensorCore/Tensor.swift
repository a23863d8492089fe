/// Errors raised by tensor construction and shape checks; the message names what is wrong.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A contiguous, row-major buffer of `T` with a shape. Value semantics (copy on write through Array).
public struct Tensor<T: Real>: Equatable {
    public private(set) var shape: [Int]
    public var data: [T]

    public init(shape: [Int], data: [T]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ShapeError("negative dimension in shape \(shape)") }
        let n = shape.reduce(1, *)
        guard n == data.count else {
            throw ShapeError("shape \(shape) needs \(n) values but \(data.count) were given")
        }
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.data = [T](repeating: 0, count: shape.reduce(1, *))
    }

    public init(shape: [Int], repeating value: T) {
        self.shape = shape
        self.data = [T](repeating: value, count: shape.reduce(1, *))
    }

    public var count: Int { data.count }
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

    public subscript(_ i: Int, _ j: Int) -> T {
        get { data[i * shape[1] + j] }
        set { data[i * shape[1] + j] = newValue }
    }
}
