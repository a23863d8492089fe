import TensorCore

/// A batch: dense inputs [B, T, I] or token ids (row-major [B, T]), and targets.
public struct SequenceBatch<T: Real> {
    /// The inputs: dense features [B, T, I], or token ids row-major [B, T] for an embedding.
    public enum Input { case dense(Tensor<T>), tokens([Int], batch: Int, steps: Int) }
    /// The targets: values (regression) or class ids, one per sequence or one per step.
    public enum Target { case values(Tensor<T>), classes([Int]) }
    /// The batch's inputs.
    public var input: Input
    /// The batch's targets.
    public var target: Target
    /// A batch of these inputs and targets.
    public init(input: Input, target: Target) { self.input = input; self.target = target }

    /// Time steps per sequence (T).
    public var steps: Int {
        switch input {
        case .dense(let x): x.rank >= 2 ? x.shape[1] : 0
        case .tokens(_, _, let steps): steps
        }
    }
}

/// A source of batches: `count` samples, any subset of which can be gathered into a batch.
public protocol SequenceDataset {
    associatedtype Scalar: Real
    var count: Int { get }
    func batch(_ indices: [Int]) -> SequenceBatch<Scalar>
}

/// Dense sequences x [N, T, I] with value targets [N, ...] or class targets [N] / [N*T].
public struct TensorSequenceDataset<T: Real>: SequenceDataset {
    /// Every sequence, [N, T, I].
    public let inputs: Tensor<T>
    /// Every sequence's targets, in the same order.
    public let targets: SequenceBatch<T>.Target
    /// A dataset of these sequences and targets.
    public init(inputs: Tensor<T>, targets: SequenceBatch<T>.Target) { self.inputs = inputs; self.targets = targets }
    /// The number of sequences.
    public var count: Int { inputs.shape[0] }

    /// The sequences `indices`, in that order, as a dataset of their own.
    public func subset(_ indices: [Int]) -> TensorSequenceDataset<T> {
        let b = batch(indices)
        guard case .dense(let x) = b.input else { preconditionFailure("dense dataset gave token input") }
        return TensorSequenceDataset(inputs: x, targets: b.target)
    }

    /// The sequences at `indices`, gathered into one batch.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func batch(_ indices: [Int]) -> SequenceBatch<T> {
        let per = inputs.count / max(count, 1)
        var x = [T](); x.reserveCapacity(indices.count * per)
        for i in indices { x += inputs.data[(i * per)..<((i + 1) * per)] }
        let input = SequenceBatch<T>.Input.dense(
            try! Tensor(shape: [indices.count] + inputs.shape.dropFirst(), data: x))
        switch targets {
        case .values(let y):
            let py = y.count / max(count, 1)
            var out = [T](); out.reserveCapacity(indices.count * py)
            for i in indices { out += y.data[(i * py)..<((i + 1) * py)] }
            return SequenceBatch(
                input: input, target: .values(try! Tensor(shape: [indices.count] + y.shape.dropFirst(), data: out)))
        case .classes(let c):
            let pc = c.count / max(count, 1)
            return SequenceBatch(input: input, target: .classes(indices.flatMap { c[($0 * pc)..<(($0 + 1) * pc)] }))
        }
    }
}

/// Token sequences (each of length `steps`) with one class per sequence or one per step.
public struct TokenSequenceDataset<T: Real>: SequenceDataset {
    /// Every sequence's token ids (all of one length).
    public let tokens: [[Int]]
    /// The class of each sequence, or of each step (row-major).
    public let labels: [Int]
    /// A dataset of these token sequences and labels.
    public init(tokens: [[Int]], labels: [Int]) { self.tokens = tokens; self.labels = labels }
    /// The number of sequences.
    public var count: Int { tokens.count }

    /// The sequences `indices`, in that order, as a dataset of their own.
    public func subset(_ indices: [Int]) -> TokenSequenceDataset<T> {
        let per = labels.count / max(count, 1)  // one label per sequence, or one per step
        return TokenSequenceDataset(
            tokens: indices.map { tokens[$0] }, labels: indices.flatMap { labels[($0 * per)..<(($0 + 1) * per)] })
    }
    /// The sequences at `indices`, gathered into one batch.
    public func batch(_ indices: [Int]) -> SequenceBatch<T> {
        let steps = indices.first.map { tokens[$0].count } ?? 0
        let per = labels.count / max(count, 1)
        return SequenceBatch(
            input: .tokens(indices.flatMap { tokens[$0] }, batch: indices.count, steps: steps),
            target: .classes(indices.flatMap { labels[($0 * per)..<(($0 + 1) * per)] }))
    }
}
