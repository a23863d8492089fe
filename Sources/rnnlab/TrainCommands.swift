import ArgumentParser
import Experiments
import Files
import Foundation
import Workbench
import Logging
import Recurrent
import TensorCore
import Datasets

extension UserTraining.DataKind: ExpressibleByArgument {}
extension OptimizerName: ExpressibleByArgument {}
extension GRUVariant: ExpressibleByArgument {}
extension Nonlinearity: ExpressibleByArgument {}
extension Initializer: ExpressibleByArgument {}
extension Prediction.Format: ExpressibleByArgument {}
extension MissingValues: ExpressibleByArgument {}
extension EpochChoice: ExpressibleByArgument {}

/// The --epoch help every command that reads a trained run shares.
let epochHelp: ArgumentHelp = "Which checkpoint: last, best (lowest validation loss) or an epoch number (0: initial)."

/// The settings `rnnlab train` uses when neither a flag nor a --config file gives them (shown in --help).
private let trainDefaults = UserTraining.Config(kind: .text, data: "")

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train RNN / LSTM / GRU / IndRNN on your own data, with checkpoints every epoch and a report.")
    @Option(help: "What the data file is: text, csv, labelled-csv or idx.") var kind: UserTraining.DataKind?
    @Option(help: "The data file (text, CSV, or IDX images).") var data: String?
    @Option(help: "IDX labels file (--kind idx).") var labels: String?
    @Option(help: "CSV column to forecast (--kind csv).") var column: String?
    @Option(help: "Text and label columns (--kind labelled-csv).") var textColumn: String?
    @Option(help: "The label column (--kind labelled-csv).") var labelColumn: String?
    @Option(
        help: "How labelled texts are read: words (lower-cased, punctuation dropped) or chars (every character kept).")
    var tokens: Vocabulary.Tokens?
    @Option(help: "CSV field delimiter, one character (default: a comma; e.g. ';' or a tab).") var delimiter: String?
    @Option(
        help: """
            CSV series: what an empty cell (or NA, NaN, null) becomes: error (the default), skip (drop the row) or \
            interpolate (the line between its neighbours).
            """)
    var missing: MissingValues?
    @Option(
        help: """
            Steps per sequence: CSV window, characters per text window, or words per labelled text (default \
            \(trainDefaults.window)).
            """)
    var window: Int?
    @Option(help: "CSV: forecast this many steps after the window (default \(trainDefaults.horizon): the next value).")
    var horizon: Int?
    @Option(help: "Share held out for validation, 0-1 (default \(trainDefaults.validationFraction)).")
    var validation: Double?
    @Option(help: "Embedding size for text and labelled-csv (default \(trainDefaults.embedding)).") var embedding: Int?
    @Option(
        help: """
            Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")) (default \
            \(trainDefaults.cells.map(\.rawValue).joined(separator: ","))).
            """)
    var cells: String?
    @Option(help: "GRU variant: reset_after (PyTorch, the default) or reset_before.") var gruVariant: GRUVariant?
    @Option(help: "RNN / IndRNN activation: tanh (the default) or relu.") var nonlinearity: Nonlinearity?
    @Option(help: "Hidden units per layer (default \(trainDefaults.hidden)).") var hidden: Int?
    @Option(help: "Stacked recurrent layers (default \(trainDefaults.layers)).") var layers: Int?
    @Option(help: "Weight initialisation: pytorch (the default), xavier or orthogonal.")
    var initialization: Initializer?
    @Option(help: "Gate biases: forget-bias (the default) or chrono.") var gateInit: GateInit?
    @Option(help: "Epochs (default \(trainDefaults.epochs)).") var epochs: Int?
    @Option(help: "Sequences per batch (default \(trainDefaults.batch)).") var batch: Int?
    @Option(help: "Learning rate (default \(trainDefaults.learningRate)).") var lr: Double?
    @Option(help: "Optimizer: adam (the default), sgd, rmsprop or adagrad.") var optimizer: OptimizerName?
    @Option(help: "Gradient-norm clipping, 0: none (default \(trainDefaults.clip.map { "\($0)" } ?? "none")).")
    var clip: Double?
    @Option(help: "Truncated BPTT window in steps (default: through the whole sequence).") var truncation: Int?
    @Option(help: "Repeat a run: its config.json (flags given beside it override it).") var config: String?
    @Option(help: "Output folder.") var out = "runs/train"
    @Option(help: "Random seed: the same seed reproduces the same numbers (default \(trainDefaults.seed)).")
    var seed: UInt64?
    @Option(help: "Threads for the numeric kernels (the default is this machine's core count).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Move an earlier run in --out aside instead of refusing other settings.") var fresh = false
    @Option(
        help: """
            Sweep a setting: KEY=V1,V2 or KEY=FIRST..LAST (repeatable; e.g. --sweep hidden=32,64 --sweep seed=1..5). \
            One run per combination under --out, named by its settings; rnnlab compare groups their seeds.
            """)
    var sweep: [String] = []
    @Flag(help: "With --sweep: write the runs' configs, jobs.txt and sweep.sbatch, and run nothing.") var jobsOnly =
        false
    @Flag(help: "With --sweep: submit the runs as a Slurm job array (sbatch sweep.sbatch).") var slurm = false
    @Option(help: "With --slurm: more sbatch options, e.g. \"--partition cpu --account x\".") var slurmArgs: String?

    func makeConfig() throws -> UserTraining.Config {
        var c: UserTraining.Config
        if let config {
            let d: Data
            do { d = try InputFile.contents(of: URL(fileURLWithPath: config), limit: 1 << 24) } catch {
                throw ValidationError("\(error) (not a config.json written by rnnlab train)")
            }
            do { c = try JSONDecoder().decode(UserTraining.Config.self, from: d) } catch {
                throw ValidationError(
                    "\(config): not a config.json written by rnnlab train (\(UserTraining.Config.describe(error)))")
            }
            if let kind { c.kind = kind }
            if let data { c.data = data; c.dataFromRun = nil }
            if let labels { c.labels = labels; c.labelsFromRun = nil }
            c = try c.locatingData(in: URL(fileURLWithPath: config).deletingLastPathComponent())
        } else {
            guard let kind, let data else { throw ValidationError("give --kind and --data, or --config FILE") }
            c = UserTraining.Config(kind: kind, data: data)
        }
        if let labels { c.labels = labels }
        if let column { c.column = column }
        if let textColumn { c.textColumn = textColumn }
        if let labelColumn { c.labelColumn = labelColumn }
        if let tokens { c.tokens = tokens }
        if let delimiter { c.delimiter = delimiter == "\\t" ? "\t" : delimiter }
        if let missing { c.missing = missing }
        if let window { c.window = window }
        if let validation { c.validationFraction = validation }
        if let horizon { c.horizon = horizon }
        if let embedding { c.embedding = embedding }
        if let cells {
            do { c.cells = try CellKind.list(cells) } catch { throw ValidationError("\(error)") }
        }
        if let gruVariant { c.gruVariant = gruVariant }
        if let nonlinearity { c.nonlinearity = nonlinearity }
        if let hidden { c.hidden = hidden }
        if let layers { c.layers = layers }
        if let initialization { c.initializer = initialization }
        if let gateInit { c.gateInit = gateInit }
        if let epochs { c.epochs = epochs }
        if let batch { c.batch = batch }
        if let lr { c.learningRate = lr }
        if let optimizer { c.optimizer = optimizer }
        if let clip { c.clip = clip == 0 ? nil : clip }
        if let truncation { c.truncation = truncation }
        if let seed { c.seed = seed }
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }

    func validate() throws {
        try requireAtLeast(1, threads, "threads")
        _ = try makeConfig()
        if sweep.isEmpty && (jobsOnly || slurm || slurmArgs != nil) {
            throw ValidationError("--jobs-only, --slurm and --slurm-args go with --sweep")
        }
        if jobsOnly && slurm { throw ValidationError("--jobs-only writes the jobs; --slurm submits them: choose one") }
        do { _ = try Sweep(sweep) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        try RNNLab.prepare()
        let config = try makeConfig()
        if !sweep.isEmpty { return try runSweep(config) }
        let root = URL(fileURLWithPath: out)
        let command = (["rnnlab"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        // One writer per folder, from before --fresh moves anything until the report is written.
        let lock = try RunLock(root, command: command)
        defer { lock.release() }
        for note in lock.notes { Logger(label: "rnnlab").notice("\(out): \(note)") }
        if fresh, let moved = try RunManifest.startFresh(lock) {
            print("The earlier run in \(out) was moved to \(moved.path).")
        }
        let context = RunContext(
            folder: try RunFolder(root), cache: DataCache(fetcher: SystemPackageFetcher()), threads: threads,
            progress: { ProgressPrinter(label: $0) }, rerun: command)
        let report = try UserTraining.run(config, context: context, studyParts: Study.builtIn.map { $0.name })
        print("Open \(report.path) (checkpoints under \(out)/real/train/<cell>/; settings in \(out)/config.json).")
    }
}

extension Train {
    /// The sweep planned under --out (every run's config.json, jobs.txt, sweep.sbatch), then trained here one run
    /// after another, submitted to Slurm, or left for a scheduler.
    func runSweep(_ config: UserTraining.Config) throws {
        let root = URL(fileURLWithPath: out)
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let runs = try Sweep(sweep).plan(config, root: root, binary: binary, threads: threads)
        let jobs = root.appendingPathComponent("jobs.txt").path, script = root.appendingPathComponent("sweep.sbatch")
        if jobsOnly {
            print("\(runs.count) runs planned: one command per line in \(jobs); a Slurm array in \(script.path).")
            return
        }
        if slurm { return try submit(script, runs: runs.count) }
        for (i, run) in runs.enumerated() {
            print("[\(i + 1)/\(runs.count)] \(run.folder.lastPathComponent)")
            let config = run.folder.appendingPathComponent("config.json").path
            let command = "rnnlab train --config \(config) --out \(run.folder.path)"
            let lock = try RunLock(run.folder, command: command)
            defer { lock.release() }
            let context = RunContext(
                folder: try RunFolder(run.folder), cache: DataCache(fetcher: SystemPackageFetcher()),
                threads: threads, progress: { ProgressPrinter(label: $0) }, rerun: command)
            _ = try UserTraining.run(run.config, context: context, studyParts: Study.builtIn.map { $0.name })
        }
        print("\(runs.count) runs under \(out); compare them: rnnlab compare \(out)/*/")
    }

    /// `sbatch [--slurm-args] sweep.sbatch`, its job id printed with how to follow it.
    func submit(_ script: URL, runs: Int) throws {
        let id = try sbatch(splitSlurmArgs(slurmArgs) + [script.path])
        print("Submitted \(runs) runs as Slurm job array \(id); follow them with: squeue -j \(id)")
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample text from a character model trained with rnnlab train --kind text.")
    @Option(help: "The run folder of rnnlab train.") var checkpoint: String
    @Option(help: "Which trained cell to sample from (default: the first).") var cell: CellKind?
    @Option(help: epochHelp) var epoch = EpochChoice.last
    @Option(help: "Text to start from.") var prime = "The "
    @Option(help: "Softmax temperature (> 0; lower is more conservative).") var temperature = 0.8
    @Option(help: "Characters to generate.") var length = 300
    @Option var seed: UInt64 = 1

    func validate() throws {
        try requireAtLeast(1, length, "length")
        if length > Generation.maxLength {
            throw ValidationError("--length must be at most \(Generation.maxLength) (got \(length))")
        }
        if !(temperature > 0 && temperature.isFinite) {
            throw ValidationError("--temperature must be a positive number (got \(temperature))")
        }
    }

    func run() throws {
        let sample = try Generation.sample(
            run: URL(fileURLWithPath: checkpoint), cell: cell, epoch: epoch, prime: prime, temperature: temperature,
            length: length, seed: seed)
        if let note = sample.primeNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        print(sample.text)
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One HTML page comparing runs of rnnlab train: curves, accuracy, weights and config differences.")
    @Argument(help: "Run folders of rnnlab train.") var runs: [String]
    @Option(help: "Where to write the page.") var out = "runs/compare.html"

    func validate() throws { if runs.count < 2 { throw ValidationError("compare needs at least two run folders") } }

    func run() throws {
        let page = try RunComparison.write(runs: runs.map { URL(fileURLWithPath: $0) }, to: URL(fileURLWithPath: out))
        print("Open \(page.path).")
    }
}

/// The run and new data `evaluate` and `predict` read.
struct TrainedRunOptions: ParsableArguments {
    @Option(help: "The run folder of rnnlab train.") var checkpoint: String
    @Option(help: "Which trained cell (default: the run's first).") var cell: CellKind?
    @Option(help: epochHelp) var epoch = EpochChoice.last
    @Option(help: "New data in the format the run was trained on.") var data: String
    @Option(help: "IDX labels file (IDX images).") var labels: String?
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Loss (and accuracy, or forecast errors in the series' units) of a trained rnnlab train model on new data.")
    @OptionGroup var trained: TrainedRunOptions
    @Option(help: "text (a line to read) or json (every number, full precision).") var format = EvaluationFormat.text

    enum EvaluationFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func run() throws {
        let r = try Inference.evaluate(
            run: URL(fileURLWithPath: trained.checkpoint), cell: trained.cell, epoch: trained.epoch,
            data: URL(fileURLWithPath: trained.data),
            labels: trained.labels.map { URL(fileURLWithPath: $0) })
        switch format {
        case .text: for line in r.text { print(line) }
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecasts or classes from a trained rnnlab train model, one record per sample.")
    @OptionGroup var trained: TrainedRunOptions
    @Option(
        help: """
            How to write the predictions, one record per sample: text (tab-separated, rounded), csv (a header, full \
            precision) or jsonl (a JSON object per line, full precision).
            """)
    var format = Prediction.Format.text
    @Option(help: "A CSV series run: name each forecast by this column's value (a date) instead of its row.")
    var indexColumn: String?

    func run() throws {
        let predictions = try Inference.predict(
            run: URL(fileURLWithPath: trained.checkpoint), cell: trained.cell, epoch: trained.epoch,
            data: URL(fileURLWithPath: trained.data),
            labels: trained.labels.map { URL(fileURLWithPath: $0) }, indexColumn: indexColumn)
        for line in try Prediction.render(predictions, as: format) { print(line) }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a trained rnnlab train model as ONNX (standard RNN / LSTM / GRU operators, opset 17).")
    @Option(help: "The run folder of rnnlab train.") var checkpoint: String
    @Option(help: "Which trained cell (default: the run's first).") var cell: CellKind?
    @Option(help: epochHelp) var epoch = EpochChoice.last
    @Option(help: "The ONNX file to write.") var onnx: String

    func run() throws {
        try Inference.exportONNX(
            run: URL(fileURLWithPath: checkpoint), cell: cell, epoch: epoch, to: URL(fileURLWithPath: onnx))
        print("Wrote \(onnx).")
    }
}

extension Vocabulary.Tokens: ExpressibleByArgument {}
