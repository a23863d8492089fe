import Foundation
import Statistics
import TensorCore
import Recurrent
import SequenceData

/// Forward + backward timing of one recurrent network, reported so it lines up with a PyTorch script
/// timing nn.LSTM(batch_first=True) on the same shapes: timesteps/s counts batch x sequence steps.
/// A second figure times whole training steps through `Trainer` (batch assembly, the network, a linear
/// head with cross-entropy on the last step, clipping, Adam), the path every experiment runs.
package struct BenchmarkSpec: Codable, Sendable {
    package var cell: CellKind
    package var hidden: Int, input: Int, batch: Int, steps: Int, layers: Int
    package var threads: Int
    package var iterations: Int
    package var inputGradient: Bool
    package init(
        cell: CellKind, hidden: Int, input: Int, batch: Int, steps: Int, layers: Int = 1, threads: Int = 1,
        iterations: Int = 20, inputGradient: Bool = false
    ) {
        self.cell = cell; self.hidden = hidden; self.input = input; self.batch = batch; self.steps = steps
        self.layers = layers; self.threads = threads; self.iterations = iterations; self.inputGradient = inputGradient
    }
}

extension BenchmarkSpec {
    /// Throws, naming the field, for a size or count that cannot be run.
    package func validate() throws {
        for (name, value) in [
            ("hidden", hidden), ("input", input), ("batch", batch), ("seq", steps), ("layers", layers),
            ("threads", threads), ("iterations", iterations)
        ] where value < 1 {
            throw ShapeError("--\(name) must be at least 1 (got \(value))")
        }
        try RecurrentConfig(cell: cell, inputSize: input, hiddenSize: hidden, numLayers: layers)
            .checkMemory(batch: batch, steps: steps)
    }
}

package struct BenchmarkResult: Codable, Sendable {
    package var spec: BenchmarkSpec
    package var precision: String
    package var simd: String
    package var forwardMilliseconds: Double  // median per iteration
    package var backwardMilliseconds: Double
    package var totalMilliseconds: Double
    package var timestepsPerSecond: Double  // batch * steps / (forward + backward)
    package var gflops: Double  // GEMM floating-point operations only
    package var trainingStepMilliseconds: Double  // mean over one epoch of `iterations` batches
    package var trainingTimestepsPerSecond: Double
    /// For a gate-only cell (minGRU, minLSTM), which runs as a scan over time: forward + backward run step by
    /// step instead, to set beside totalMilliseconds.
    package var stepByStepMilliseconds: Double?
}

package enum Benchmark {
    /// The SIMD level this binary was compiled for (see Package.swift).
    package static var simdLevel: String {
        #if RNNLAB_SIMD_AVX512
        "avx512"
        #elseif RNNLAB_SIMD_AVX2
        "avx2+fma"
        #else
        "baseline"
        #endif
    }

    package static func run(_ spec: BenchmarkSpec) throws -> BenchmarkResult {
        try spec.validate()
        var rng = SeededRandom(seed: 42)
        let config = RecurrentConfig(
            cell: spec.cell, inputSize: spec.input, hiddenSize: spec.hidden, numLayers: spec.layers)
        let net = RecurrentNetwork<Float>(config: config, rng: &rng)
        net.threads = spec.threads
        let x = Tensor<Float>.uniform([spec.batch, spec.steps, spec.input], -1, 1, rng: &rng)
        let dOut = Tensor<Float>.uniform([spec.batch, spec.steps, spec.hidden], -1, 1, rng: &rng)
        let (f, b) = try time(net, x, dOut, spec)
        var stepByStep: Double?
        if net.scanningCell != nil {
            net.scansOverTime = false
            let t = try time(net, x, dOut, spec)
            stepByStep = t.forward + t.backward
        }
        // GEMM flops per layer: forward x W_ih^T and h W_hh^T; backward dh_prev, dW_hh, dW_ih (+ dx).
        let G = Double(config.gateWidth), H = Double(spec.hidden), n = Double(spec.batch * spec.steps)
        var flops = 0.0
        for k in 0..<spec.layers {
            let inSize = Double(config.layerInputSize(k))
            let dx = (k > 0 || spec.inputGradient) ? 1.0 : 0.0
            flops += 2 * n * G * (inSize * (2 + dx) + (config.layout.recurrentWeight == .matrix ? H * 3 : 0))
        }
        let step = try trainingStepSeconds(spec, config: config, rng: &rng)
        return BenchmarkResult(
            spec: spec, precision: "float32", simd: simdLevel, forwardMilliseconds: f,
            backwardMilliseconds: b, totalMilliseconds: f + b,
            timestepsPerSecond: n / ((f + b) / 1000), gflops: flops / ((f + b) / 1000) / 1e9,
            trainingStepMilliseconds: step * 1000, trainingTimestepsPerSecond: n / step,
            stepByStepMilliseconds: stepByStep)
    }

    /// Median forward and backward milliseconds of `net` over the spec's iterations, after two warm-up iterations.
    static func time(_ net: RecurrentNetwork<Float>, _ x: Tensor<Float>, _ dOut: Tensor<Float>, _ spec: BenchmarkSpec)
        throws -> (forward: Double, backward: Double)
    {
        var grads = net.parameters.zerosLike()
        var fwd = [Double](), bwd = [Double]()
        for i in 0..<(spec.iterations + 2) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try net.forward(x)
            let t1 = DispatchTime.now().uptimeNanoseconds
            grads.zero()
            _ = try net.backward(dOutput: dOut, into: &grads, inputGradient: spec.inputGradient)
            let t2 = DispatchTime.now().uptimeNanoseconds
            if i >= 2 { fwd.append(Double(t1 - t0) / 1e6); bwd.append(Double(t2 - t1) / 1e6) }
        }
        return (Stats.median(fwd), Stats.median(bwd))
    }

    /// Seconds per training step: the second of two epochs (the first warms up) of `iterations` batches of
    /// random sequences with 10 classes, Adam(lr 1e-3) and clipping at norm 1.
    static func trainingStepSeconds(_ spec: BenchmarkSpec, config: RecurrentConfig, rng: inout SeededRandom) throws
        -> Double
    {
        let count = spec.batch * spec.iterations
        let model = SequenceModel<Float>(
            embedding: nil, rnn: RecurrentNetwork(config: config, rng: &rng),
            head: Linear(inputSize: spec.hidden, outputSize: 10, rng: &rng),
            headMode: .lastStep, objective: .crossEntropy)
        model.threads = spec.threads
        let data = TensorSequenceDataset<Float>(
            inputs: .uniform([count, spec.steps, spec.input], -1, 1, rng: &rng),
            targets: .classes((0..<count).map { _ in rng.int(below: 10) }))
        let trainer = Trainer<Float>(
            model: model, optimizer: .adam(), options: TrainingOptions(epochs: 2, batchSize: spec.batch, clipNorm: 1))
        let history = try trainer.fit(train: data, validation: nil)
        return history[1].seconds / Double(spec.iterations)
    }
}

/// GEMM throughput on the products a recurrent layer of `spec`'s shape runs, against the core's measured peak.
package struct GEMMBenchmarkResult: Codable, Sendable {
    package struct Shape: Codable, Sendable {
        package var name: String
        package var m: Int, n: Int, k: Int
        package var transA: Bool
        package var milliseconds: Double
        package var gflops: Double
        package var fractionOfPeak: Double
    }
    package var cpu: String
    package var simd: String
    /// Register tile, rows x columns of Float.
    package var tile: String
    /// The caches this CPU reports and the blocking derived from them.
    package var caches: String, blocking: String
    package var threads: Int
    package var peakGflops: Double
    package var shapes: [Shape]
    /// The same products under the blocking another CPU's caches give (`otherCaches`), on this machine: how much
    /// the blocking alone moves them. Absent when that blocking is this one.
    package var otherCaches: String?, otherBlocking: String?
    package var shapesWithOtherBlocking: [Shape]?
}

extension Benchmark {
    /// The CPU model as /proc/cpuinfo names it.
    package static var cpuModel: String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").first { $0.hasPrefix("model name") }.map {
            $0.split(separator: ":", maxSplits: 1).last!
                .trimmingCharacters(in: .whitespaces)
        } ?? "unknown"
    }

    /// The products of one layer: per step [B,H]x[H,G] (forward) and [B,G]x[G,H] (dh_prev), the input
    /// projection [B*T,I]x[I,G], and the weight gradients over all steps: dW_hh = dG^T H and dW_ih = dG^T X, or both as
    /// one product where the cell's layout says so (`split`: the columns of the first of two Bs side by side).
    /// The step products multiply by the recurrent matrix packed once per pass, as the network runs them.
    package static func gemmShapes(
        _ s: BenchmarkSpec
    ) -> [(name: String, m: Int, n: Int, k: Int, transA: Bool, packedB: Bool, split: Int?)] {
        let G = s.cell.gateCount * s.hidden, rows = s.batch * s.steps
        let steps: [(String, Int, Int, Int, Bool, Bool, Int?)] = [
            ("step forward h W_hh^T", s.batch, G, s.hidden, false, true, nil),
            ("step backward dG W_hh", s.batch, s.hidden, G, false, true, nil),
            ("input projection X W_ih^T", rows, G, s.input, false, false, nil)
        ]
        if RecurrentConfig(cell: s.cell, inputSize: s.input, hiddenSize: s.hidden).layout.oneWeightGradientProduct {
            let both = (
                "weight gradients [dW_ih | dW_hh] = dG^T [X | H]", G, s.input + s.hidden, rows, true, false, s.input
            )
            return steps + [both]
        }
        return steps + [
            ("weight gradient dW_hh = dG^T H", G, s.hidden, rows, true, false, nil),
            ("weight gradient dW_ih = dG^T X", G, s.input, rows, true, false, nil)
        ]
    }

    /// Caches of the machines the project runs on (an Intel Xeon Emerald Rapids core, an AMD EPYC Zen 4/5 core): the
    /// first whose blocking differs from this CPU's is timed here too, so the effect of the blocking alone shows.
    package static let comparedCaches: [(name: String, caches: CacheSizes)] = [
        ("Intel Xeon (Emerald Rapids)", CacheSizes(l1d: 48 << 10, l2: 2 << 20, l3: 160 << 20)),
        ("AMD EPYC (Zen 4/5)", CacheSizes(l1d: 32 << 10, l2: 1 << 20, l3: 32 << 20))
    ]

    package static func gemm(_ spec: BenchmarkSpec) throws -> GEMMBenchmarkResult {
        try spec.validate()
        let peak = PeakThroughput.measureFloatGFLOPS() * Double(spec.threads)
        let mine = GEMMBlocking.detected
        var result = GEMMBenchmarkResult(
            cpu: cpuModel, simd: simdLevel, tile: "\(GEMMTile.rows)x\(GEMMTile.columns(Float.self))",
            caches: CacheSizes.detected.description, blocking: mine.description, threads: spec.threads,
            peakGflops: peak, shapes: try gemmShapes(spec, peak: peak, blocking: mine))
        if let other = comparedCaches.first(where: { GEMMBlocking.derived(from: $0.caches) != mine }) {
            let blocking = GEMMBlocking.derived(from: other.caches)
            result.otherCaches = "\(other.name): \(other.caches)"
            result.otherBlocking = blocking.description
            result.shapesWithOtherBlocking = try gemmShapes(spec, peak: peak, blocking: blocking)
        }
        return result
    }

    /// Every product of `gemmShapes` with `blocking`, timed: best of 5 rounds of at least 50 ms each.
    static func gemmShapes(_ spec: BenchmarkSpec, peak: Double, blocking: GEMMBlocking) throws
        -> [GEMMBenchmarkResult.Shape]
    {
        var rng = SeededRandom(seed: 42)
        var shapes: [GEMMBenchmarkResult.Shape] = []
        for s in gemmShapes(spec) {
            let a = Tensor<Float>.uniform([s.m * s.k], -1, 1, rng: &rng),
                b = Tensor<Float>.uniform([s.k * s.n], -1, 1, rng: &rng)
            var c = [Float](repeating: 0, count: s.m * s.n)
            let lda = s.transA ? s.m : s.k
            let panelStorage = Buffer<Float>(), workspace = Buffer<Float>()
            let panels =
                !s.packedB
                ? nil
                : b.data.withUnsafeBufferPointer {
                    PackedPanels(
                        packing: $0.baseAddress!, rows: s.k, columns: s.n, ld: s.n,
                        into: panelStorage.ensure(PackedPanels<Float>.count(rows: s.k, columns: s.n)))
                }
            func once() {
                a.data.withUnsafeBufferPointer { ap in
                    b.data.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            if let panels {
                                TensorCore.gemm(
                                    m: s.m, a: ap.baseAddress!, lda: lda, b: panels, c: cp.baseAddress!, ldc: s.n,
                                    accumulate: false, blocking: blocking)
                                return
                            }
                            if let n1 = s.split {
                                let b2 = bp.baseAddress! + s.k * n1, c2 = cp.baseAddress! + s.m * n1
                                gemmTransposedSideBySide(
                                    m: s.m, k: s.k, a: ap.baseAddress!, lda: lda, b1: bp.baseAddress!, ldb1: n1,
                                    n1: n1, c1: cp.baseAddress!, b2: b2, ldb2: s.n - n1, n2: s.n - n1, c2: c2,
                                    workspace: workspace.ensure(s.m * s.n), threads: spec.threads, blocking: blocking)
                                return
                            }
                            TensorCore.gemm(
                                s.transA ? .transposed : .none, .none, m: s.m, n: s.n, k: s.k, a: ap.baseAddress!,
                                lda: lda,
                                b: bp.baseAddress!, ldb: s.n, c: cp.baseAddress!, ldc: s.n, accumulate: false,
                                threads: spec.threads, blocking: blocking)
                        }
                    }
                }
            }
            // Best of 5 rounds, each repeating the product for at least 50 ms.
            once()
            var best = Double.infinity
            for _ in 0..<5 {
                var reps = 0
                let start = DispatchTime.now().uptimeNanoseconds
                var elapsed = 0.0
                repeat {
                    once(); reps += 1; elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                } while elapsed < 0.05
                best = min(best, elapsed / Double(reps))
            }
            let gflops = 2 * Double(s.m) * Double(s.n) * Double(s.k) / best / 1e9
            shapes.append(
                .init(
                    name: s.name, m: s.m, n: s.n, k: s.k, transA: s.transA, milliseconds: best * 1e3, gflops: gflops,
                    fractionOfPeak: gflops / peak))
        }
        return shapes
    }
}

/// The assignment's Q1 workload, as `shared/baselines/q1_sine.py` times it in PyTorch: 800 sine sequences of
/// 30 steps (640 for training), hidden 24, input 1, batch 32, Adam lr 0.01, a linear decoder on every step,
/// MSE, 60 epochs; the timed region is the training loop only.
package struct Q1Result: Codable, Sendable {
    package var model: String
    package var threads: Int
    package var epochs: Int, steps: Int
    /// Seconds of the 60-epoch loop over the repetitions: min, median, max.
    package var timeSeconds: [Double]
    package var millisecondsPerStepMedian: Double
    package var finalTrainLoss: Double
}

extension Benchmark {
    package static func q1(threads: Int = 1, repetitions: Int = 3, cells: [CellKind] = CellKind.studied) throws
        -> [Q1Result]
    {
        guard repetitions >= 1, threads >= 1 else { throw ShapeError("--reps and --threads must be at least 1") }
        var rng = SeededRandom(seed: 0)
        let sine = SineTask(count: 800, steps: 30, noise: 0.1, rng: &rng)
        let train = sine.slice(0..<640)
        var out: [Q1Result] = []
        for cell in cells {
            var times: [Double] = [], last = Double.nan
            for rep in 0..<(repetitions + 1) {  // the first run warms up
                var r = SeededRandom(seed: 1)
                let model = SequenceModel<Float>(
                    embedding: nil,
                    rnn: RecurrentNetwork(config: RecurrentConfig(cell: cell, inputSize: 1, hiddenSize: 24), rng: &r),
                    head: Linear(inputSize: 24, outputSize: 1, rng: &r), headMode: .everyStep,
                    objective: .meanSquaredError)
                model.threads = threads
                let trainer = Trainer(
                    model: model, optimizer: .adam(lr: 0.01),
                    options: TrainingOptions(epochs: rep == 0 ? 2 : 60, batchSize: 32, shuffleSeed: 0))
                let start = DispatchTime.now().uptimeNanoseconds
                let h = try trainer.fit(train: train, validation: nil)
                if rep > 0 {
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9);
                    last = h.last?.trainLoss ?? .nan
                }
            }
            times.sort()
            let steps = 60 * 20
            out.append(
                Q1Result(
                    model: cell.rawValue, threads: threads, epochs: 60, steps: steps,
                    timeSeconds: [times.first!, times[times.count / 2], times.last!],
                    millisecondsPerStepMedian: 1000 * times[times.count / 2] / Double(steps), finalTrainLoss: last))
        }
        return out
    }
}
