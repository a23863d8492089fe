import Foundation
import TensorCore
import Recurrent

/// Forward + backward timing of one recurrent network, reported so it lines up with a PyTorch script
/// timing nn.LSTM(batch_first=True) on the same shapes: timesteps/s counts batch x sequence steps.
/// A second figure times whole training steps through `Trainer` (batch assembly, the network, a linear
/// head with cross-entropy on the last step, clipping, Adam), the path every experiment runs.
public struct BenchmarkSpec: Codable, Sendable {
    public var cell: CellKind
    public var hidden: Int, input: Int, batch: Int, steps: Int, layers: Int
    public var threads: Int
    public var iterations: Int
    public var inputGradient: Bool
    public init(cell: CellKind, hidden: Int, input: Int, batch: Int, steps: Int, layers: Int = 1, threads: Int = 1,
                iterations: Int = 20, inputGradient: Bool = false) {
        self.cell = cell; self.hidden = hidden; self.input = input; self.batch = batch; self.steps = steps
        self.layers = layers; self.threads = threads; self.iterations = iterations; self.inputGradient = inputGradient
    }
}

extension BenchmarkSpec {
    /// Throws, naming the field, for a size or count that cannot be run.
    public func validate() throws {
        for (name, value) in [("hidden", hidden), ("input", input), ("batch", batch), ("seq", steps), ("layers", layers),
                              ("threads", threads), ("iterations", iterations)] where value < 1 {
            throw ShapeError("--\(name) must be at least 1 (got \(value))")
        }
    }
}

public struct BenchmarkResult: Codable, Sendable {
    public var spec: BenchmarkSpec
    public var precision: String
    public var simd: String
    public var forwardMilliseconds: Double      // median per iteration
    public var backwardMilliseconds: Double
    public var totalMilliseconds: Double
    public var timestepsPerSecond: Double       // batch * steps / (forward + backward)
    public var gflops: Double                   // GEMM floating-point operations only
    public var trainingStepMilliseconds: Double // mean over one epoch of `iterations` batches
    public var trainingTimestepsPerSecond: Double
}

public enum Benchmark {
    /// The SIMD level this binary was compiled for (see Package.swift).
    public static var simdLevel: String {
        #if RNNLAB_SIMD_AVX512
        "avx512"
        #elseif RNNLAB_SIMD_AVX2
        "avx2+fma"
        #else
        "baseline"
        #endif
    }

    public static func run(_ spec: BenchmarkSpec) throws -> BenchmarkResult {
        try spec.validate()
        let saved = Compute.threads
        Compute.threads = spec.threads
        defer { Compute.threads = saved }
        var rng = SeededRandom(seed: 42)
        let config = RecurrentConfig(cell: spec.cell, inputSize: spec.input, hiddenSize: spec.hidden, numLayers: spec.layers)
        let net = RecurrentNetwork<Float>(config: config, rng: &rng)
        let x = Tensor<Float>.uniform([spec.batch, spec.steps, spec.input], -1, 1, rng: &rng)
        let dOut = Tensor<Float>.uniform([spec.batch, spec.steps, spec.hidden], -1, 1, rng: &rng)
        var grads = net.parameters.zerosLike()
        var fwd = [Double](), bwd = [Double]()
        for i in 0..<(spec.iterations + 2) {   // two warm-up iterations
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try net.forward(x)
            let t1 = DispatchTime.now().uptimeNanoseconds
            grads.zero()
            _ = try net.backward(dOutput: dOut, into: &grads, inputGradient: spec.inputGradient)
            let t2 = DispatchTime.now().uptimeNanoseconds
            if i >= 2 { fwd.append(Double(t1 - t0) / 1e6); bwd.append(Double(t2 - t1) / 1e6) }
        }
        let median = { (v: [Double]) in v.sorted()[v.count / 2] }
        let f = median(fwd), b = median(bwd)
        // GEMM flops per layer: forward x W_ih^T and h W_hh^T; backward dh_prev, dW_hh, dW_ih (+ dx).
        let G = Double(config.gateWidth), H = Double(spec.hidden), n = Double(spec.batch * spec.steps)
        var flops = 0.0
        for k in 0..<spec.layers {
            let inSize = Double(config.layerInputSize(k))
            let dx = (k > 0 || spec.inputGradient) ? 1.0 : 0.0
            flops += 2 * n * G * (inSize * (2 + dx) + H * 3)
        }
        let step = try trainingStepSeconds(spec, config: config, rng: &rng)
        return BenchmarkResult(spec: spec, precision: "float32", simd: simdLevel, forwardMilliseconds: f,
                               backwardMilliseconds: b, totalMilliseconds: f + b,
                               timestepsPerSecond: n / ((f + b) / 1000), gflops: flops / ((f + b) / 1000) / 1e9,
                               trainingStepMilliseconds: step * 1000, trainingTimestepsPerSecond: n / step)
    }

    /// Seconds per training step: the second of two epochs (the first warms up) of `iterations` batches of
    /// random sequences with 10 classes, Adam(lr 1e-3) and clipping at norm 1.
    static func trainingStepSeconds(_ spec: BenchmarkSpec, config: RecurrentConfig, rng: inout SeededRandom) throws -> Double {
        let count = spec.batch * spec.iterations
        let model = SequenceModel<Float>(embedding: nil, rnn: RecurrentNetwork(config: config, rng: &rng),
                                         head: Linear(inputSize: spec.hidden, outputSize: 10, rng: &rng),
                                         headMode: .lastStep, objective: .crossEntropy)
        let data = TensorSequenceDataset<Float>(inputs: .uniform([count, spec.steps, spec.input], -1, 1, rng: &rng),
                                         targets: .classes((0..<count).map { _ in rng.int(below: 10) }))
        let trainer = Trainer<Float>(model: model, optimizer: .adam(), options: TrainingOptions(epochs: 2, batchSize: spec.batch, clipNorm: 1))
        let history = try trainer.fit(train: data, validation: nil)
        return history[1].seconds / Double(spec.iterations)
    }
}
