import TensorCore

/// An ordered set of named tensors: a module's parameters, their gradients, or optimizer state.
/// Names follow PyTorch's state_dict keys, so a file written from here loads with load_state_dict.
public struct ParameterSet<T: Real> {
    /// The state-dict names, in order.
    public private(set) var names: [String]
    /// The tensors, in the order of `names`.
    public var tensors: [Tensor<T>]

    /// A set of named tensors.
    public init(names: [String] = [], tensors: [Tensor<T>] = []) {
        precondition(names.count == tensors.count && Set(names).count == names.count, "parameter names must be unique")
        self.names = names; self.tensors = tensors
    }

    /// Zero tensors with the same names and shapes (gradient buffers, optimizer moments).
    public func zerosLike() -> ParameterSet {
        ParameterSet(names: names, tensors: tensors.map { Tensor(zeros: $0.shape) })
    }

    /// Adds a tensor under a new name.
    public mutating func append(_ name: String, _ t: Tensor<T>) {
        precondition(!names.contains(name), "duplicate parameter \(name)")
        names.append(name); tensors.append(t)
    }

    /// The same tensors under `prefix.` names (a submodule inside a model).
    public func prefixed(_ prefix: String) -> ParameterSet {
        ParameterSet(names: names.map { "\(prefix).\($0)" }, tensors: tensors)
    }

    /// The position of `name`, if present.
    public func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// Runs `body` on tensors[range] as a set of their own (named `names`, e.g. a submodule's gradients), moving
    /// the tensors out and back instead of copying them.
    public mutating func withSubset<R>(
        _ range: Range<Int>, names: [String], _ body: (inout ParameterSet<T>) throws -> R
    ) rethrows -> R {
        var sub = ParameterSet(names: names, tensors: range.map { tensors[$0].take() })
        defer { for (k, i) in range.enumerated() { tensors[i] = sub.tensors[k].take() } }
        return try body(&sub)
    }

    /// Moves every tensor out (see `Tensor.take`), leaving empty ones behind.
    public mutating func takeTensors() -> [Tensor<T>] { tensors.indices.map { tensors[$0].take() } }

    /// The tensor named `name`; setting replaces it, or appends a new name.
    public subscript(name: String) -> Tensor<T>? {
        get { index(of: name).map { tensors[$0] } }
        set {
            guard let t = newValue else { return }
            if let i = index(of: name) { tensors[i] = t } else { append(name, t) }
        }
    }

    /// The number of tensors.
    public var count: Int { names.count }
    /// The number of scalars in all tensors.
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// Global L2 norm over every tensor (as torch.nn.utils.clip_grad_norm_ computes it).
    public var globalNorm: Double { tensors.reduce(0.0) { $0 + $1.data.sumOfSquares }.squareRoot() }

    /// Sets every value to zero (gradient buffers between batches).
    public mutating func zero() {
        for i in tensors.indices { tensors[i].data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    /// Replaces values from `other` by name; every name here must be present there with the same shape.
    /// Throws naming the first missing, unexpected or mis-shaped tensor.
    public mutating func load(from other: ParameterSet<T>, allowExtra: Bool = false) throws {
        let missing = names.filter { other.index(of: $0) == nil }
        if !missing.isEmpty { throw ShapeError("missing parameters: \(missing.joined(separator: ", "))") }
        if !allowExtra {
            let extra = other.names.filter { index(of: $0) == nil }
            if !extra.isEmpty { throw ShapeError("unexpected parameters: \(extra.joined(separator: ", "))") }
        }
        for (i, name) in names.enumerated() {
            let t = other[name]!
            try t.expectShape(tensors[i].shape, name)
            tensors[i] = t
        }
    }
}
