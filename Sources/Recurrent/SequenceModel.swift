import SequenceData
import TensorCore

/// Where the output head reads the recurrent outputs.
public enum HeadMode: String, Codable, Sendable {
    case everyStep  // a prediction at every time step (sequence-to-sequence, next-value, char-LM)
    case lastStep  // one prediction per sequence from the last step (classification, forecasting)
}

/// What the model is trained to minimise.
public enum Objective: String, Codable, Sendable { case meanSquaredError, crossEntropy }

/// Loss and, for classification, the number of correct predictions in a batch.
public struct BatchResult { public var loss: Double; public var correct: Int; public var count: Int }

/// [Embedding] -> stacked RNN/LSTM/GRU -> Linear head. Parameter names are those of a PyTorch module with
/// attributes `embedding` (nn.Embedding), `rnn` (nn.RNN/LSTM/GRU, batch_first=True) and `fc` (nn.Linear),
/// so `model.load_state_dict(safetensors.torch.load_file(path))` works on the checkpoints.
public final class SequenceModel<T: Real> {
    /// Token ids to vectors, for token inputs.
    public var embedding: Embedding<T>?
    /// The recurrent stack.
    public let rnn: RecurrentNetwork<T>
    /// The output layer.
    public var head: Linear<T>
    /// Whether the head reads every step or the last.
    public let headMode: HeadMode
    /// The loss the model is trained with.
    public let objective: Objective
    /// dL/dh_t of the top recurrent layer from the last `forwardBackward`, [B, T, H] (gradient-flow plots).
    public var lastHiddenGradient: Tensor<T>? { rnn.hiddenGradient() }

    /// A model of these parts.
    public init(
        embedding: Embedding<T>?, rnn: RecurrentNetwork<T>, head: Linear<T>, headMode: HeadMode, objective: Objective
    ) {
        self.embedding = embedding; self.rnn = rnn; self.head = head; self.headMode = headMode;
        self.objective = objective
    }

    /// Threads for the recurrent stack's and the head's GEMMs.
    public var threads: Int {
        get { rnn.threads }
        set { rnn.threads = newValue; head.threads = newValue }
    }

    /// All parameters under their PyTorch state_dict names.
    public var parameters: ParameterSet<T> {
        get {
            var set = ParameterSet<T>()
            for (n, t) in zip(embedding?.parameters.names ?? [], embedding?.parameters.tensors ?? []) {
                set.append("embedding.\(n)", t)
            }
            for (n, t) in zip(rnn.parameters.names, rnn.parameters.tensors) { set.append("rnn.\(n)", t) }
            for (n, t) in zip(head.parameters.names, head.parameters.tensors) { set.append("fc.\(n)", t) }
            return set
        }
        set {
            var i = 0
            if embedding != nil { embedding!.parameters.tensors[0] = newValue.tensors[0]; i = 1 }
            for j in 0..<rnn.parameters.count { rnn.parameters.tensors[j] = newValue.tensors[i + j] }
            i += rnn.parameters.count
            head.parameters.tensors[0] = newValue.tensors[i]; head.parameters.tensors[1] = newValue.tensors[i + 1]
        }
    }

    /// Lets `body` change every parameter in place: the tensors are moved out of the layers (no copy) into one
    /// ParameterSet with the state-dict names, and moved back afterwards.
    public func updateParameters(_ body: (inout ParameterSet<T>) -> Void) {
        let names = parameters.names
        var set = ParameterSet(
            names: names,
            tensors: (embedding?.parameters.takeTensors() ?? []) + rnn.parameters.takeTensors()
                + head.parameters.takeTensors())
        body(&set)
        parameters = set
    }

    /// Loads a state dict by name, checking every name and shape.
    public func load(_ saved: ParameterSet<T>) throws {
        var p = parameters
        try p.load(from: saved)
        parameters = p
    }

    /// Head outputs: [B*T, out] (every step, row b*T + t) or [B, out] (last step).
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func predict(_ input: SequenceBatch<T>.Input) throws -> Tensor<T> {
        try run(input).prediction
    }

    struct Pass { var x: Tensor<T>; var features: Tensor<T>; var prediction: Tensor<T>; var batch: Int; var steps: Int }

    @_specialize(where T == Float) @_specialize(where T == Double)
    func run(_ input: SequenceBatch<T>.Input) throws -> Pass {
        let x: Tensor<T>
        switch input {
        case .dense(let d): x = d
        case .tokens(let ids, let b, let t):
            guard let embedding else { throw ShapeError("token input needs a model with an embedding layer") }
            x = try embedding.forward(ids, batch: b, steps: t)
        }
        let out = try rnn.forward(x, outputs: headMode == .everyStep ? .every : .last).output
        let B = x.shape[0], Tn = x.shape[1], H = out.shape[2]
        // Every step's output, or the last step's, row b.
        let features = try out.reshaped([out.shape[0] * out.shape[1], H])
        return Pass(x: x, features: features, prediction: try head.forward(features), batch: B, steps: Tn)
    }

    /// Loss of a batch without gradients.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func evaluate(_ batch: SequenceBatch<T>) throws -> BatchResult {
        let pass = try run(batch.input)
        let (loss, _, correct) = try lossAndGradient(pass.prediction, batch.target)
        return BatchResult(loss: loss, correct: correct, count: countOf(batch.target))
    }

    /// `evaluate`'s result and, from the same forward pass, per prediction row the squared error averaged over the
    /// outputs or 1 where the largest logit is the label (comparisons paired over test items).
    public func evaluateItems(_ batch: SequenceBatch<T>) throws -> (BatchResult, [Double]) {
        let pass = try run(batch.input)
        let (loss, _, correct) = try lossAndGradient(pass.prediction, batch.target)
        let p = pass.prediction, width = p.shape.last ?? 1, rows = p.count / max(width, 1)
        var items: [Double] = []
        items.reserveCapacity(rows)
        switch batch.target {
        case .classes(let labels):
            for r in 0..<min(rows, labels.count) {
                var best = 0
                for j in 1..<max(width, 1) where p.data[r * width + j] > p.data[r * width + best] { best = j }
                items.append(best == labels[r] ? 1 : 0)
            }
        case .values(let y):
            for r in 0..<rows {
                var sum = 0.0
                for j in 0..<width {
                    let d = Double(p.data[r * width + j]) - Double(y.data[r * width + j])
                    sum += d * d
                }
                items.append(sum / Double(width))
            }
        }
        return (BatchResult(loss: loss, correct: correct, count: countOf(batch.target)), items)
    }

    func countOf(_ target: SequenceBatch<T>.Target) -> Int {
        switch target {
        case .values(let v): v.shape[0];
        case .classes(let c): c.count
        }
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    func lossAndGradient(_ prediction: Tensor<T>, _ target: SequenceBatch<T>.Target) throws -> (Double, Tensor<T>, Int)
    {
        switch (objective, target) {
        case (.meanSquaredError, .values(let y)):
            let (l, g) = try Loss.meanSquaredError(prediction, try y.reshaped(prediction.shape))
            return (l, g, 0)
        case (.crossEntropy, .classes(let labels)):
            let (l, g, c) = try Loss.crossEntropy(prediction, labels)
            return (l, g, c)
        default:
            throw ShapeError("objective \(objective.rawValue) does not match the batch's target kind")
        }
    }

    /// Forward, loss and BPTT for one batch; gradients are added into `grads` (names as `parameters`).
    /// `retainForward` keeps the forward pass's gate activations readable after it (`RecurrentNetwork.backward`).
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func forwardBackward(
        _ batch: SequenceBatch<T>, into grads: inout ParameterSet<T>, truncation: Int? = nil,
        retainForward: Bool = false
    ) throws -> BatchResult {
        let pass = try run(batch.input)
        let (loss, dPred, correct) = try lossAndGradient(pass.prediction, batch.target)
        guard loss.isFinite else { return BatchResult(loss: loss, correct: correct, count: countOf(batch.target)) }
        // Each layer accumulates into its own slice of `grads` (moved, not copied).
        let e = embedding == nil ? 0 : 1, r = rnn.parameters.count
        let dFeatures = grads.withSubset((e + r)..<(e + r + 2), names: head.parameters.names) {
            head.backward(dPred, input: pass.features, into: &$0)
        }

        let B = pass.batch, Tn = pass.steps, H = rnn.config.hiddenSize, L = rnn.config.numLayers
        var dOut: Tensor<T>?, dhn: Tensor<T>?
        if headMode == .everyStep {
            dOut = try dFeatures.reshaped([B, Tn, H])
        } else {
            // Only h_T feeds the head: its gradient enters as the top layer's dL/dh_T, which BPTT adds to the same
            // place a [B, T, H] output gradient would (zero at every other step), without building that tensor.
            var top = Tensor<T>(zeros: [L, B, H])
            top.data.replaceSubrange(((L - 1) * B * H)..<(L * B * H), with: dFeatures.data)
            dhn = top
        }
        let back = try grads.withSubset(e..<(e + r), names: rnn.parameters.names) {
            try rnn.backward(
                dOutput: dOut, dhn: dhn, into: &$0, truncation: truncation, inputGradient: embedding != nil,
                retainForward: retainForward)
        }
        if let embedding, case .tokens(let ids, _, _) = batch.input {
            grads.withSubset(0..<1, names: embedding.parameters.names) {
                embedding.backward(back.dx!, ids: ids, into: &$0)
            }
        }
        return BatchResult(loss: loss, correct: correct, count: countOf(batch.target))
    }
}
