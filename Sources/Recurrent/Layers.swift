import TensorCore

/// y = x W^T + b, W [out, in], b [out] (nn.Linear). Works on rows: x [N, in] -> y [N, out].
public struct Linear<T: Real> {
    public var parameters: ParameterSet<T>  // "weight", "bias"
    /// Threads for its GEMMs.
    public var threads = 1
    /// Input features.
    public var inputSize: Int { parameters.tensors[0].shape[1] }
    /// Output features.
    public var outputSize: Int { parameters.tensors[0].shape[0] }

    /// nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    public init(inputSize: Int, outputSize: Int, rng: inout SeededRandom) {
        let s = 1 / Double(inputSize).squareRoot()
        parameters = ParameterSet(
            names: ["weight", "bias"],
            tensors: [.uniform([outputSize, inputSize], -s, s, rng: &rng), .uniform([outputSize], -s, s, rng: &rng)])
    }

    /// y = x W^T + b for rows x [N, in].
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        guard x.rank == 2, x.shape[1] == inputSize else {
            throw ShapeError("linear input: expected [N, \(inputSize)], got \(x.shape)")
        }
        var y = Tensor<T>(zeros: [x.shape[0], outputSize])
        matmul(x, parameters.tensors[0], transB: .transposed, into: &y, threads: threads)
        y.data.withUnsafeMutableBufferPointer { yp in
            parameters.tensors[1].data.withUnsafeBufferPointer {
                addRowVector(yp.baseAddress!, rows: x.shape[0], cols: outputSize, ld: outputSize, $0.baseAddress!)
            }
        }
        return y
    }

    /// dW += dy^T x, db += sum_rows dy; returns dx = dy W.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func backward(_ dy: Tensor<T>, input x: Tensor<T>, into grads: inout ParameterSet<T>) -> Tensor<T> {
        matmul(dy, x, transA: .transposed, into: &grads.tensors[0], accumulate: true, threads: threads)
        grads.tensors[1].data.withUnsafeMutableBufferPointer { g in
            dy.data.withUnsafeBufferPointer {
                addColumnSums(
                    $0.baseAddress!, rows: dy.shape[0], cols: outputSize, ld: outputSize, into: g.baseAddress!)
            }
        }
        var dx = Tensor<T>(zeros: x.shape)
        matmul(dy, parameters.tensors[0], into: &dx, threads: threads)
        return dx
    }
}

/// Token id -> row of a [vocab, dim] table (nn.Embedding, init N(0, 1)).
public struct Embedding<T: Real> {
    public var parameters: ParameterSet<T>  // "weight"
    /// Rows of the table: the token ids it accepts.
    public var vocabularySize: Int { parameters.tensors[0].shape[0] }
    /// Features per token.
    public var dimension: Int { parameters.tensors[0].shape[1] }

    /// A table drawn from N(0, 1), as nn.Embedding.
    public init(vocabularySize: Int, dimension: Int, rng: inout SeededRandom) {
        parameters = ParameterSet(names: ["weight"], tensors: [.normal([vocabularySize, dimension], std: 1, rng: &rng)])
    }

    /// A table of given (pretrained) vectors, [vocabulary, dimension].
    public init(weight: Tensor<T>) throws {
        guard weight.rank == 2 else { throw ShapeError("embedding weight: expected [vocab, dim], got \(weight.shape)") }
        parameters = ParameterSet(names: ["weight"], tensors: [weight])
    }

    /// ids (row-major [B, T]) -> [B, T, dim].
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func forward(_ ids: [Int], batch: Int, steps: Int) throws -> Tensor<T> {
        guard ids.count == batch * steps else {
            throw ShapeError("token ids: expected \(batch * steps), got \(ids.count)")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw ShapeError("token id \(bad) outside the vocabulary of \(vocabularySize)")
        }
        let d = dimension, w = parameters.tensors[0].data
        var out = [T](repeating: 0, count: ids.count * d)
        for (i, id) in ids.enumerated() { for j in 0..<d { out[i * d + j] = w[id * d + j] } }
        return try Tensor(shape: [batch, steps, d], data: out)
    }

    /// Scatter-adds dOut [B, T, dim] into the rows of the ids used.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func backward(_ dOut: Tensor<T>, ids: [Int], into grads: inout ParameterSet<T>) {
        let d = dimension
        grads.tensors[0].data.withUnsafeMutableBufferPointer { g in
            for (i, id) in ids.enumerated() { for j in 0..<d { g[id * d + j] += dOut.data[i * d + j] } }
        }
    }
}
