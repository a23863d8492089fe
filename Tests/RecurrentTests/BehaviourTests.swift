import Foundation
import XCTest
import TensorCore
@testable import Recurrent
import SequenceData

final class ConsistencyTests: XCTestCase {
    /// A batch of B sequences gives the same outputs and summed gradients as B runs of one sequence. The LSTMs at
    /// H = 16q + 8 run the last 8 units of two batch rows in one 16-lane window (an odd B leaves one row alone).
    func testSequentialEqualsBatched() throws {
        let sharedWindows = [8, 24, 40].map { RecurrentConfig(cell: .lstm, inputSize: 3, hiddenSize: $0) }
        for c in GradientCheckTests.configs + sharedWindows {
            var rng = SeededRandom(seed: 31)
            let net = RecurrentNetwork<Double>(config: c, rng: &rng)
            let B = 5, T = 7, H = c.hiddenSize
            let x = Tensor<Double>.uniform([B, T, c.inputSize], -1, 1, rng: &rng)
            let g = Tensor<Double>.uniform([B, T, H], -1, 1, rng: &rng)
            let batched = try net.forward(x)
            var gBatched = net.parameters.zerosLike()
            let bBatched = try net.backward(dOutput: g, into: &gBatched)
            var gSeq = net.parameters.zerosLike()
            for b in 0..<B {
                let xb = try Tensor(
                    shape: [1, T, c.inputSize], data: Array(x.data[(b * T * c.inputSize)..<((b + 1) * T * c.inputSize)])
                )
                let gb = try Tensor(shape: [1, T, H], data: Array(g.data[(b * T * H)..<((b + 1) * T * H)]))
                let out = try net.forward(xb)
                XCTAssertEqual(
                    out.output.data, Array(batched.output.data[(b * T * H)..<((b + 1) * T * H)]).map { $0 },
                    accuracy: 1e-13)
                let back = try net.backward(dOutput: gb, into: &gSeq)
                XCTAssertEqual(
                    back.dx!.data, Array(bBatched.dx!.data[(b * T * c.inputSize)..<((b + 1) * T * c.inputSize)]),
                    accuracy: 1e-13)
            }
            for (a, b) in zip(gSeq.tensors, gBatched.tensors) { XCTAssertEqual(a.data, b.data, accuracy: 1e-12) }
        }
    }

    /// Truncated BPTT with window k equals running k-step chunks whose initial state is a constant
    /// (the previous chunk's final state), summing their gradients.
    func testTruncatedBPTTEqualsDetachedChunks() throws {
        for c in GradientCheckTests.configs {
            var rng = SeededRandom(seed: 41)
            let net = RecurrentNetwork<Double>(config: c, rng: &rng)
            let B = 2, T = 9, k = 3, H = c.hiddenSize
            let x = Tensor<Double>.uniform([B, T, c.inputSize], -1, 1, rng: &rng)
            let g = Tensor<Double>.uniform([B, T, H], -1, 1, rng: &rng)
            _ = try net.forward(x)
            var gTrunc = net.parameters.zerosLike()
            let tb = try net.backward(dOutput: g, into: &gTrunc, truncation: k)
            var gChunks = net.parameters.zerosLike()
            var h: Tensor<Double>? = nil, cs: Tensor<Double>? = nil
            for start in stride(from: 0, to: T, by: k) {
                let out = try net.forward(steps(x, start, start + k), h0: h, c0: cs)
                let back = try net.backward(dOutput: steps(g, start, start + k), into: &gChunks)
                XCTAssertEqual(back.dx!.data, steps(tb.dx!, start, start + k).data, accuracy: 1e-12)
                h = out.hn; cs = out.cn
            }
            for (a, b) in zip(gChunks.tensors, gTrunc.tensors) { XCTAssertEqual(a.data, b.data, accuracy: 1e-12) }
            // and truncation really changes something compared with full BPTT
            _ = try net.forward(x)
            var gFull = net.parameters.zerosLike()
            _ = try net.backward(dOutput: g, into: &gFull)
            XCTAssertGreaterThan(abs(gFull.tensors[1].data[0] - gTrunc.tensors[1].data[0]), 1e-9, c.description)
        }
    }

    /// With several threads the batch is split and each slice runs the recurrence on its own: every thread count
    /// gives the same numbers bit for bit (the GEMM gives a row the same arithmetic in whichever strip it lands),
    /// including slices of odd size and the LSTM's H = 16q + 8 path that pairs batch rows.
    func testEveryThreadCountGivesBitIdenticalResults() throws {
        for cell in CellKind.allCases {
            for (batch, hidden) in [(61, 96), (122, 24)] {
                checkThreadCounts(Float.self, cell, batch: batch, hidden: hidden)
            }
            checkThreadCounts(Double.self, cell, batch: 61, hidden: 96)
        }
    }

    func checkThreadCounts<T: Real>(_ type: T.Type, _ cell: CellKind, batch: Int, hidden: Int) {
        var rng = SeededRandom(seed: 51)
        let config = RecurrentConfig(cell: cell, inputSize: 5, hiddenSize: hidden, numLayers: 2)
        let net = RecurrentNetwork<T>(config: config, rng: &rng)
        // Every cell's per-step work is above the split threshold, except IndRNN's element-wise recurrence (and
        // the RNN's and GRU's at H24, whose case is the LSTM's paired rows).
        let matrix = config.parameterLayout[1].shape.count == 2, split = hidden == 96 || cell == .lstm
        XCTAssertEqual(net.batchParts(batch, threads: 3), matrix && split ? 3 : 1, "\(cell) H\(hidden) split in three")
        let x = Tensor<T>.uniform([batch, 6, 5], -1, 1, rng: &rng),
            g = Tensor<T>.uniform([batch, 6, hidden], -1, 1, rng: &rng)
        func run(_ threads: Int) throws -> [[T]] {
            net.threads = threads
            let out = try net.forward(x)
            var grads = net.parameters.zerosLike()
            let back = try net.backward(dOutput: g, into: &grads, truncation: 4)
            return [out.output.data, back.dh0.data, net.hiddenGradient()!.data, back.dx!.data]
                + grads.tensors.map(\.data)
        }
        guard let one = try? run(1) else { return XCTFail("\(cell) did not run") }
        for threads in [2, 3, 5, 7] {
            XCTAssertEqual(try run(threads), one, "\(cell) B\(batch) H\(hidden) \(T.self): \(threads) threads vs 1")
        }
    }

    /// Asked for the last step only, the forward pass returns exactly the last step of the full output (and the same
    /// final states); the top layer's dL/dh_t is there only after a backward pass.
    func testLastStepOutputIsTheFullOutputsLastStep() throws {
        var rng = SeededRandom(seed: 53)
        let (B, Tn, H) = (3, 9, 16)
        let net = RecurrentNetwork<Float>(
            config: RecurrentConfig(cell: .gru, inputSize: 2, hiddenSize: H, numLayers: 2), rng: &rng)
        XCTAssertNil(net.hiddenGradient())
        let x = Tensor<Float>.uniform([B, Tn, 2], -1, 1, rng: &rng)
        let every = try net.forward(x), last = try net.forward(x, outputs: .last)
        XCTAssertEqual(last.output.shape, [B, 1, H])
        var expected = [Float]()
        for b in 0..<B { expected += every.output.data[((b * Tn + Tn - 1) * H)..<((b * Tn + Tn) * H)] }
        XCTAssertEqual(last.output.data, expected)
        XCTAssertEqual(last.hn.data, every.hn.data)
        var grads = net.parameters.zerosLike()
        _ = try net.backward(dOutput: Tensor<Float>.uniform([B, Tn, H], -1, 1, rng: &rng), into: &grads)
        XCTAssertEqual(net.hiddenGradient()?.shape, [B, Tn, H])
    }

    /// A head on the last step only hands BPTT its gradient as the top layer's dL/dh_T (no [B, T, H] tensor of zeros):
    /// every gradient is the same bits as with that output gradient, for every cell (scanned ones included).
    func testLastStepGradientAsFinalStateEqualsAZeroPaddedOutputGradient() throws {
        for cell in CellKind.allCases {
            var rng = SeededRandom(seed: 52)
            let (B, Tn, H, L) = (5, 7, 24, 2)
            let net = RecurrentNetwork<Float>(
                config: RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: H, numLayers: L), rng: &rng)
            let x = Tensor<Float>.uniform([B, Tn, 3], -1, 1, rng: &rng)
            let last = Tensor<Float>.uniform([B, H], -1, 1, rng: &rng)
            var padded = Tensor<Float>(zeros: [B, Tn, H]), top = Tensor<Float>(zeros: [L, B, H])
            for b in 0..<B {
                for j in 0..<H {
                    padded.data[(b * Tn + Tn - 1) * H + j] = last.data[b * H + j]
                    top.data[((L - 1) * B + b) * H + j] = last.data[b * H + j]
                }
            }
            func run(dOutput: Tensor<Float>?, dhn: Tensor<Float>?) throws -> [[Float]] {
                _ = try net.forward(x)
                var grads = net.parameters.zerosLike()
                let back = try net.backward(dOutput: dOutput, dhn: dhn, into: &grads)
                return [back.dh0.data, net.hiddenGradient()!.data, back.dx!.data] + grads.tensors.map(\.data)
            }
            let viaOutput = try run(dOutput: padded, dhn: nil), viaState = try run(dOutput: nil, dhn: top)
            XCTAssertEqual(viaState, viaOutput, "\(cell)")
            XCTAssertTrue(viaOutput.last!.contains { $0 != 0 }, "\(cell): the gradient reached the weights")
        }
    }

    /// A backward pass writes dG over the forward pass's gate activations, reading each before writing its place:
    /// the same bits as a pass that keeps them (PyTorch's retain_graph) in a buffer of its own, for every cell, at
    /// widths with whole, overlapping (17) and paired (24) 16-lane windows, with and without truncation. The gate
    /// activations then are gone, and so is the forward pass: asking for either is a clear error.
    func testBackwardOverTheGatesEqualsABackwardThatKeepsThem() throws {
        let configs =
            CellKind.allCases.flatMap { cell in
                [17, 24, 32].map { RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: $0, numLayers: 2) }
            } + [RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 17, numLayers: 2, gruVariant: .resetBefore)]
        for c in configs {
            for truncation in [nil, 3] {
                var rng = SeededRandom(seed: 57)
                let net = RecurrentNetwork<Float>(config: c, rng: &rng)
                let (B, Tn) = (3, 7)
                let x = Tensor<Float>.uniform([B, Tn, 3], -1, 1, rng: &rng)
                let g = Tensor<Float>.uniform([B, Tn, c.hiddenSize], -1, 1, rng: &rng)
                func backward(retaining: Bool) throws -> [[Float]] {
                    var grads = net.parameters.zerosLike()
                    let back = try net.backward(
                        dOutput: g, into: &grads, truncation: truncation, retainForward: retaining)
                    return [back.dh0.data, net.hiddenGradient()!.data, back.dx!.data] + grads.tensors.map(\.data)
                }
                let label = "\(c.cell) H\(c.hiddenSize) \(c.gruVariant) truncation \(String(describing: truncation))"
                _ = try net.forward(x)
                let gates = try (0..<2).map { try net.gateActivations(layer: $0) }
                let kept = try backward(retaining: true)
                XCTAssertEqual(try (0..<2).map { try net.gateActivations(layer: $0) }, gates, label)
                XCTAssertEqual(try backward(retaining: false), kept, label)
                XCTAssertThrowsError(try net.gateActivations(layer: 0), label) {
                    XCTAssertTrue("\($0)".contains("run a forward pass first"))
                }
                XCTAssertThrowsError(try backward(retaining: false), label) {
                    XCTAssertTrue("\($0)".contains("backward needs a forward pass first"))
                }
            }
        }
    }

    /// From the zero initial state the first step skips its product with h_{t-1}: the same bits as from an h0 (and c0)
    /// of zeros given explicitly, which runs it, for every cell and both GRU variants.
    func testFirstStepFromTheZeroStateEqualsOneFromGivenZeros() throws {
        let configs =
            CellKind.allCases.map { RecurrentConfig(cell: $0, inputSize: 3, hiddenSize: 20, numLayers: 2) }
            + [RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 20, numLayers: 2, gruVariant: .resetBefore)]
        for c in configs {
            var rng = SeededRandom(seed: 58)
            let net = RecurrentNetwork<Float>(config: c, rng: &rng)
            let (B, Tn, H) = (3, 5, c.hiddenSize)
            let x = Tensor<Float>.uniform([B, Tn, 3], -1, 1, rng: &rng)
            let g = Tensor<Float>.uniform([B, Tn, H], -1, 1, rng: &rng)
            func run(zeros: Tensor<Float>?) throws -> [[Float]] {
                let out = try net.forward(x, h0: zeros, c0: c.cell.hasCellState ? zeros : nil)
                var grads = net.parameters.zerosLike()
                let back = try net.backward(dOutput: g, into: &grads)
                return [out.output.data, out.hn.data, back.dh0.data, back.dx!.data] + grads.tensors.map(\.data)
            }
            XCTAssertEqual(try run(zeros: nil), try run(zeros: Tensor(zeros: [2, B, H])), "\(c.cell) \(c.gruVariant)")
        }
    }

    func testShapeErrorsNameTheProblem() throws {
        var rng = SeededRandom(seed: 1)
        let net = RecurrentNetwork<Float>(config: RecurrentConfig(cell: .lstm, inputSize: 3, hiddenSize: 4), rng: &rng)
        XCTAssertThrowsError(try net.forward(Tensor(zeros: [2, 5, 4]))) {
            XCTAssertTrue("\($0)".contains("expected [batch, steps, 3], got [2, 5, 4]"))
        }
        XCTAssertThrowsError(try net.forward(Tensor(zeros: [2, 5, 3]), h0: Tensor(zeros: [1, 3, 4]))) {
            XCTAssertTrue("\($0)".contains("h0: expected shape [1, 2, 4]"))
        }
        var g = net.parameters.zerosLike()
        _ = try net.forward(Tensor(zeros: [2, 5, 3]))
        XCTAssertThrowsError(try net.backward(dOutput: Tensor(zeros: [2, 4, 4]), into: &g)) {
            XCTAssertTrue("\($0)".contains("dOutput"))
        }
        var bad = net.parameters
        bad.tensors[1] = Tensor(zeros: [16, 5])
        XCTAssertThrowsError(try RecurrentNetwork(config: net.config, parameters: bad)) {
            XCTAssertTrue("\($0)".contains("weight_hh_l0: expected shape [16, 4], got [16, 5]"))
        }
        var renamed = ParameterSet<Float>()
        for (n, t) in zip(net.parameters.names, net.parameters.tensors) {
            renamed.append(n == "bias_hh_l0" ? "bias_hh" : n, t)
        }
        XCTAssertThrowsError(try RecurrentNetwork(config: net.config, parameters: renamed)) {
            XCTAssertTrue("\($0)".contains("missing parameters: bias_hh_l0"))
        }
    }

    func testInitializersAndForgetBias() {
        var rng = SeededRandom(seed: 2)
        let c = RecurrentConfig(cell: .lstm, inputSize: 5, hiddenSize: 8)
        let d = RecurrentNetwork<Double>(config: c, rng: &rng)
        let bound = 1 / 8.0.squareRoot()
        XCTAssertTrue(d.parameters.tensors.allSatisfy { $0.data.allSatisfy { abs($0) <= bound } })
        let o = RecurrentNetwork<Double>(config: c, initializer: .orthogonal, forgetGateBias: 1, rng: &rng)
        let whh = o.parameters["weight_hh_l0"]!
        for gate in 0..<4 {  // each H x H block is orthogonal
            for i in 0..<8 {
                var s = 0.0; for j in 0..<8 { s += whh[gate * 8 + i, j] * whh[gate * 8 + i, j] };
                XCTAssertEqual(s, 1, accuracy: 1e-12)
            }
        }
        XCTAssertEqual(Array(o.parameters["bias_ih_l0"]!.data[8..<16]), [Double](repeating: 1, count: 8))
        XCTAssertEqual(o.parameters["bias_ih_l0"]!.data[0], 0)
    }
}

final class ModelGradientTests: XCTestCase {
    /// The whole model (embedding or dense input, RNN, head, loss) against finite differences in Double.
    func testModelLossGradients() throws {
        let cases: [(HeadMode, Objective, Bool)] = [
            (.everyStep, .meanSquaredError, false), (.lastStep, .crossEntropy, false),
            (.lastStep, .crossEntropy, true), (.everyStep, .crossEntropy, true)
        ]
        for (mode, objective, tokens) in cases {
            var rng = SeededRandom(seed: 13)
            let B = 3, T = 4, I = 3, H = 5, O = 4, V = 7
            let emb: Embedding<Double>? = tokens ? Embedding(vocabularySize: V, dimension: I, rng: &rng) : nil
            let model = SequenceModel<Double>(
                embedding: emb,
                rnn: RecurrentNetwork(config: RecurrentConfig(cell: .gru, inputSize: I, hiddenSize: H), rng: &rng),
                head: Linear(inputSize: H, outputSize: O, rng: &rng), headMode: mode, objective: objective)
            let input: SequenceBatch<Double>.Input =
                tokens
                ? .tokens((0..<(B * T)).map { _ in rng.int(below: V) }, batch: B, steps: T)
                : .dense(.uniform([B, T, I], -1, 1, rng: &rng))
            let rows = mode == .everyStep ? B * T : B
            let target: SequenceBatch<Double>.Target =
                objective == .crossEntropy
                ? .classes((0..<rows).map { _ in rng.int(below: O) })
                : .values(.uniform([rows, O], -1, 1, rng: &rng))
            let batch = SequenceBatch(input: input, target: target)
            var grads = model.parameters.zerosLike()
            _ = try model.forwardBackward(batch, into: &grads)
            var params = model.parameters
            for ti in 0..<params.count {
                for j in 0..<params.tensors[ti].count {
                    let base = params.tensors[ti].data[j]
                    params.tensors[ti].data[j] = base + 1e-6; model.parameters = params
                    let up = try model.evaluate(batch).loss
                    params.tensors[ti].data[j] = base - 1e-6; model.parameters = params
                    let down = try model.evaluate(batch).loss
                    params.tensors[ti].data[j] = base; model.parameters = params
                    let n = (up - down) / 2e-6
                    XCTAssertEqual(
                        grads.tensors[ti].data[j], n, accuracy: 1e-7 * max(1, abs(n)),
                        "\(mode) \(objective) \(params.names[ti])[\(j)]")
                }
            }
        }
    }

    func testPyTorchStateDictNames() {
        var rng = SeededRandom(seed: 1)
        let model = SequenceModel<Float>(
            embedding: Embedding(vocabularySize: 10, dimension: 4, rng: &rng),
            rnn: RecurrentNetwork(
                config: RecurrentConfig(cell: .lstm, inputSize: 4, hiddenSize: 6, numLayers: 2), rng: &rng),
            head: Linear(inputSize: 6, outputSize: 2, rng: &rng), headMode: .lastStep, objective: .crossEntropy)
        XCTAssertEqual(
            model.parameters.names,
            [
                "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "fc.weight", "fc.bias"
            ])
        XCTAssertEqual(model.parameters["rnn.weight_ih_l1"]!.shape, [24, 6])
    }

    func testLossValues() throws {
        let (l, g) = try Loss.meanSquaredError(
            Tensor<Double>(shape: [2], data: [1, 3]), Tensor(shape: [2], data: [0, 1]))
        XCTAssertEqual(l, 2.5); XCTAssertEqual(g.data, [1, 2])
        let (ce, cg, correct) = try Loss.crossEntropy(Tensor<Double>(shape: [1, 2], data: [0, 0]), [1])
        XCTAssertEqual(ce, Foundation.log(2), accuracy: 1e-15); XCTAssertEqual(cg.data, [0.5, -0.5]);
        XCTAssertEqual(correct, 0)
        // stable for huge logits
        let (big, _, _) = try Loss.crossEntropy(Tensor<Double>(shape: [1, 2], data: [1000, 0]), [0])
        XCTAssertEqual(big, 0, accuracy: 1e-12)
        XCTAssertThrowsError(try Loss.crossEntropy(Tensor<Double>(zeros: [1, 2]), [2])) {
            XCTAssertTrue("\($0)".contains("label 2 outside 0..<2"))
        }
    }
}

final class OptimizerTests: XCTestCase {
    func set(_ v: [Double]) -> ParameterSet<Double> {
        ParameterSet(names: ["w"], tensors: [try! Tensor(shape: [v.count], data: v)])
    }

    /// First steps have closed forms: Adam and Adagrad move by lr * sign(g); RMSprop by lr g / (sqrt(1-alpha)|g|);
    /// SGD with momentum 0.9: p1 = p0 - lr g, p2 = p1 - lr (0.9 g + g).
    func testFirstStepsMatchPyTorchRules() {
        let g = set([0.5, -2])
        var p = set([1, 1]); var o = Optimizer(.adam(lr: 0.1), for: p); o.update(&p, g)
        XCTAssertEqual(p.tensors[0].data, [0.9, 1.1], accuracy: 1e-7)
        p = set([1, 1]); o = Optimizer(.adagrad(lr: 0.1), for: p); o.update(&p, g)
        XCTAssertEqual(p.tensors[0].data, [0.9, 1.1], accuracy: 1e-9)
        p = set([1, 1]); o = Optimizer(.rmsprop(lr: 0.01, alpha: 0.99), for: p); o.update(&p, g)
        XCTAssertEqual(p.tensors[0].data, [1 - 0.1, 1 + 0.1], accuracy: 1e-7)
        p = set([1, 1]); o = Optimizer(.sgd(lr: 0.1, momentum: 0.9), for: p); o.update(&p, g); o.update(&p, g)
        XCTAssertEqual(p.tensors[0].data, [1 - 0.05 - 0.095, 1 + 0.2 + 0.38], accuracy: 1e-12)
        p = set([1, 1]); o = Optimizer(.sgd(lr: 0.1, momentum: 0.9, nesterov: true), for: p); o.update(&p, g)
        XCTAssertEqual(p.tensors[0].data, [1 - 0.1 * 0.95, 1 + 0.1 * 3.8], accuracy: 1e-12)
        XCTAssertEqual(o.state.names, ["momentum_buffer.w"])
    }

    /// The schedule's scale multiplies the step: Adam's first step becomes lr * scale * sign(g); the trainer sets
    /// scale = decay^(epoch - 1).
    func testLearningRateScaleAndExponentialDecay() throws {
        var p = set([1]); var o = Optimizer(.adam(lr: 0.1), for: p)
        o.learningRateScale = 0.5
        o.update(&p, set([3]))
        XCTAssertEqual(p.tensors[0].data[0], 0.95, accuracy: 1e-7)
        let (t, data) = makeTrainer(seed: 9)
        t.options.epochs = 3
        t.options.learningRateDecay = 0.5
        _ = try t.fit(train: data, validation: nil)
        XCTAssertEqual(t.optimizer.learningRateScale, 0.25)
    }

    /// Every optimizer minimises a quadratic.
    func testAllOptimizersConverge() {
        for kind: OptimizerKind in [
            .sgd(lr: 0.1, momentum: 0.9), .adam(lr: 0.1), .rmsprop(lr: 0.01, momentum: 0.5), .adagrad(lr: 0.5)
        ] {
            var p = set([3, -2]); var o = Optimizer(kind, for: p)
            for _ in 0..<2000 { o.update(&p, set(p.tensors[0].data.map { 2 * $0 })) }  // d/dw w^2
            XCTAssertEqual(p.tensors[0].data, [0, 0], accuracy: 1e-3, kind.name)
        }
    }

    func testClippingReportsNormBeforeAndScales() {
        var g = set([3, 4])
        XCTAssertEqual(clipGradientNorm(&g, maxNorm: 1), 5)
        XCTAssertEqual(g.globalNorm, 1, accuracy: 1e-6)
        var small = set([0.3, 0.4])
        XCTAssertEqual(clipGradientNorm(&small, maxNorm: 1), 0.5, accuracy: 1e-15)
        XCTAssertEqual(small.tensors[0].data, [0.3, 0.4])
    }
}

/// A small LSTM learning next-value sine prediction (shared by the training and optimizer tests).
func makeTrainer(seed: UInt64) -> (Trainer<Float>, TensorSequenceDataset<Float>) {
    var rng = SeededRandom(seed: seed)
    let N = 64, T = 10
    var xs = [Float](), ys = [Float]()
    for _ in 0..<N {  // next value of a sine with random phase
        let phase = rng.uniform(0, 6.28)
        for t in 0...T {
            let v = Float(sin(phase + 0.3 * Double(t))); if t < T { xs.append(v) }; if t > 0 { ys.append(v) }
        }
    }
    let data = TensorSequenceDataset(
        inputs: try! Tensor(shape: [N, T, 1], data: xs), targets: .values(try! Tensor(shape: [N, T, 1], data: ys)))
    let model = SequenceModel<Float>(
        embedding: nil,
        rnn: RecurrentNetwork(config: RecurrentConfig(cell: .lstm, inputSize: 1, hiddenSize: 8), rng: &rng),
        head: Linear(inputSize: 8, outputSize: 1, rng: &rng), headMode: .everyStep, objective: .meanSquaredError)
    return (
        Trainer(
            model: model, optimizer: .adam(lr: 0.02),
            options: TrainingOptions(epochs: 15, batchSize: 16, clipNorm: 5, shuffleSeed: 3)), data
    )
}

final class TrainingTests: XCTestCase {
    func testLearnsAndIsBitReproducible() throws {
        let (a, data) = makeTrainer(seed: 1)
        let ha = try a.fit(train: data, validation: data)
        XCTAssertLessThan(ha.last!.trainLoss, ha.first!.trainLoss * 0.2)
        let (b, _) = makeTrainer(seed: 1)
        let hb = try b.fit(train: data, validation: data)
        XCTAssertEqual(ha.map(\.trainLoss), hb.map(\.trainLoss))
        XCTAssertEqual(a.model.parameters.tensors, b.model.parameters.tensors)
    }

    /// Stopping after 7 epochs and resuming from saved weights + optimizer state ends where 15 straight epochs end.
    func testResumeContinuesExactly() throws {
        let (full, data) = makeTrainer(seed: 2)
        _ = try full.fit(train: data, validation: nil)
        let (first, _) = makeTrainer(seed: 2)
        first.options.epochs = 7
        let h = try first.fit(train: data, validation: nil)
        let (second, _) = makeTrainer(seed: 2)
        try second.model.load(first.model.parameters)
        try second.resume(history: h, optimizerState: first.optimizer.state, optimizerStep: first.optimizer.step)
        let h2 = try second.fit(train: data, validation: nil)
        XCTAssertEqual(h2.count, 15)
        XCTAssertEqual(second.model.parameters.tensors, full.model.parameters.tensors)
    }

    /// The items of one evaluation pass average to its loss (squared errors) or accuracy (right answers), and the
    /// loss and accuracy are the plain evaluation's, bit for bit.
    func testEvaluationItemsAgreeWithTheEvaluation() throws {
        let (t, data) = makeTrainer(seed: 5)
        let plain = try t.evaluate(data), items = try t.evaluateItems(data)
        XCTAssertEqual(items.loss, plain.loss)
        XCTAssertEqual(items.items.count, data.count * 10, "every step of an every-step head")
        XCTAssertEqual(items.items.reduce(0, +) / Double(items.items.count), plain.loss, accuracy: 1e-5 * plain.loss)
        var rng = SeededRandom(seed: 6)
        let classifier = SequenceModel<Float>(
            embedding: nil,
            rnn: RecurrentNetwork(config: RecurrentConfig(cell: .gru, inputSize: 1, hiddenSize: 6), rng: &rng),
            head: Linear(inputSize: 6, outputSize: 3, rng: &rng), headMode: .lastStep, objective: .crossEntropy)
        let classes = TensorSequenceDataset(
            inputs: data.inputs, targets: .classes((0..<data.count).map { $0 % 3 }))
        let c = Trainer(
            model: classifier, optimizer: .adam(lr: 0.01),
            options: TrainingOptions(epochs: 1, batchSize: 16, clipNorm: nil, shuffleSeed: 1))
        let (loss, accuracy) = try c.evaluate(classes), counted = try c.evaluateItems(classes)
        XCTAssertEqual(counted.loss, loss)
        XCTAssertEqual(counted.accuracy, accuracy)
        XCTAssertEqual(counted.items.reduce(0, +) / Double(data.count), accuracy, accuracy: 1e-12)
    }

    /// A batch size past the data (Int.max included) trains on the whole data per step, as the data's own size does.
    func testBatchLargerThanTheDataIsTheWholeData() throws {
        let (whole, data) = makeTrainer(seed: 4), (huge, _) = makeTrainer(seed: 4)
        whole.options.epochs = 3; huge.options.epochs = 3
        whole.options.batchSize = data.count; huge.options.batchSize = Int.max
        XCTAssertEqual(
            try whole.fit(train: data, validation: data).map(\.trainLoss),
            try huge.fit(train: data, validation: data).map(\.trainLoss))
        XCTAssertEqual(whole.model.parameters.tensors, huge.model.parameters.tensors)
    }

    /// The memory a training pass needs grows with batch and steps; past the machine's memory, or past Int's range,
    /// a check names the sizes instead of reaching a failed allocation or an overflow trap.
    func testMemoryCheckNamesOversizedSettings() throws {
        let config = RecurrentConfig(cell: .lstm, inputSize: 32, hiddenSize: 128)
        let small = config.memoryEstimate(batch: 64, steps: 100)
        // At least every step's gate activations (T x B x 4H Floats), at most a few times the whole cache.
        XCTAssertGreaterThan(small, 100 * 64 * 512 * 4)
        XCTAssertLessThan(small, 20 * 100 * 64 * 512 * 4)
        XCTAssertGreaterThan(config.memoryEstimate(batch: 128, steps: 100), 1.9 * small)
        XCTAssertGreaterThan(config.memoryEstimate(batch: 64, steps: 200), 1.9 * small)
        XCTAssertNoThrow(try config.checkMemory(batch: 64, steps: 100, available: UInt64(small) + 1))
        XCTAssertThrowsError(try config.checkMemory(batch: 64, steps: 100, available: UInt64(small) - 1)) {
            XCTAssertTrue("\($0)".contains("batches of 64 sequences of 100 steps needs about"), "\($0)")
        }
        for huge in [
            RecurrentConfig(cell: .gru, inputSize: 1, hiddenSize: .max),
            RecurrentConfig(cell: .rnn, inputSize: .max, hiddenSize: 8, numLayers: .max),
            RecurrentConfig(cell: .indrnn, inputSize: 1, hiddenSize: 1 << 40)
        ] {
            XCTAssertThrowsError(try huge.checkMemory(batch: .max, steps: .max)) {
                XCTAssertTrue("\($0)".contains("of memory; this machine has"), "\($0)")
            }
        }
    }

    func testNonFiniteLossStopsWithAClearError() throws {
        let (t, data) = makeTrainer(seed: 3)
        var p = t.model.parameters
        p.tensors[p.count - 1].data[0] = .nan
        t.model.parameters = p
        XCTAssertThrowsError(try t.fit(train: data, validation: nil)) {
            XCTAssertTrue("\($0)".contains("loss became nan at epoch 1, batch 1"))
        }
    }
}

func XCTAssertEqual<T: FloatingPoint>(
    _ a: [T], _ b: [T], accuracy: T, _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) where !(abs(x - y) <= accuracy) {
        XCTFail("\(x) != \(y) (accuracy \(accuracy)) \(message)", file: file, line: line)
        return
    }
}

final class ParameterSetTests: XCTestCase {
    func testWithSubsetWorksOnASliceAndPutsItBack() {
        var set = ParameterSet<Double>(
            names: ["a", "b", "c"],
            tensors: [
                Tensor(shape: [1], repeating: 1), Tensor(shape: [2], repeating: 2), Tensor(shape: [1], repeating: 3)
            ])
        let seen = set.withSubset(1..<3, names: ["x", "y"]) { sub -> [String] in
            sub.tensors[0].data[1] = 9
            return sub.names
        }
        XCTAssertEqual(seen, ["x", "y"])
        XCTAssertEqual(set.names, ["a", "b", "c"])
        XCTAssertEqual(set.tensors.map(\.data), [[1], [2, 9], [3]])
    }
}

final class ChronoInitTests: XCTestCase {
    /// Chrono initialisation (Tallec and Ollivier 2018): the keep gate's biases are log(U(1, T-1)), the LSTM's
    /// input-gate biases their negatives, the hidden-side biases of those blocks zero, and nothing else changes.
    func testChronoBiasesAndEverythingElseUnchanged() throws {
        let T = 784, H = 16
        for cell in [CellKind.lstm, .gru] {
            let config = RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: H, numLayers: 2)
            var a = SeededRandom(seed: 5), b = SeededRandom(seed: 5)
            let plain = RecurrentNetwork<Double>(config: config, rng: &a)
            let chrono = RecurrentNetwork<Double>(config: config, chronoSteps: T, rng: &b)
            let keep = cell.carryGateBlock!
            for k in 0..<2 {
                let bih = chrono.parameters["bias_ih_l\(k)"]!.data, bhh = chrono.parameters["bias_hh_l\(k)"]!.data
                let forget = Array(bih[(keep * H)..<((keep + 1) * H)])
                XCTAssertTrue(forget.allSatisfy { $0 >= 0 && $0 <= Foundation.log(Double(T - 1)) }, "\(forget)")
                XCTAssertGreaterThan(Set(forget).count, H / 2, "drawn per unit")
                XCTAssertEqual(Array(bhh[(keep * H)..<((keep + 1) * H)]), [Double](repeating: 0, count: H))
                if cell == .lstm {
                    XCTAssertEqual(Array(bih[0..<H]), forget.map { -$0 })
                    XCTAssertEqual(Array(bhh[0..<H]), [Double](repeating: 0, count: H))
                }
                for name in ["weight_ih_l\(k)", "weight_hh_l\(k)"] {
                    XCTAssertEqual(chrono.parameters[name]!.data, plain.parameters[name]!.data, name)
                }
            }
        }
    }
}
