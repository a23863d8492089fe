import Foundation
import Workbench
import ArgumentParser
import Charts

extension GateInit: ExpressibleByArgument {}

/// Experiment 2 as a part of the study: `rnnlab real`, the manifest's "real".
extension RealDataExperiment: StudyPart {
    package static let name = "real"
    package static let title = "Experiment 2"
    package static let abstract =
        """
        Experiment 2: real data, checkpoints every epoch, weight evolution (resumes an interrupted run in the same \
        --out).
        """

    package struct CommandOptions: ParsableArguments {
        @Option(help: "Epochs of row-by-row MNIST.") var mnistEpochs: Int?
        @Option(help: "Epochs of pixel-by-pixel MNIST.") var pixelEpochs: Int?
        @Option(help: "Seeds of pixel-by-pixel MNIST, the longest task (default 1; at most --seeds).")
        var pixelSeeds: Int?
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
            help: "Comma-separated tasks to run (\(TaskName.known)).",
            transform: { try TaskName.parseList($0) })
        var tasks: [TaskName]?
        package init() {}

        package func validate() throws {
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
    }

    package static func defaults(quick: Bool) -> Options { Options(quick: quick) }

    package static func applying(_ shared: StudySettings, to options: Options) -> Options {
        var o = options
        o.seed = shared.seed; o.seeds = shared.seeds ?? o.seeds; o.cells = shared.cells ?? o.cells
        return o
    }

    package static func applying(_ c: CommandOptions, to options: Options) throws -> Options {
        var o = options
        if let v = c.mnistEpochs { o.mnistEpochs = v }
        if let v = c.pixelEpochs { o.pixelEpochs = v }
        if let v = c.pixelSeeds { o.pixelSeeds = v }
        if let v = c.pixelTrain { o.pixelTrain = v }
        if let v = c.pixelLr { o.pixelLearningRate = v }
        if let v = c.pixelInit { o.pixelGateInit = v }
        if c.noInitComparison { o.pixelCompareGateInits = false }
        if let v = c.fashionEpochs { o.fashionEpochs = v }
        if let v = c.forecastEpochs { o.forecastEpochs = v }
        o.pixelPermuted = c.permuted
        o.tasks = c.tasks.map(Set.init)
        return o
    }

    /// Every chosen task from each of its seeds: one shard apiece ("mnist_pixels-seed1").
    package static func shards(_ o: Options) -> [PartShard] {
        chosenTasks(o).flatMap { name in
            (0..<seeds(name, o)).map { k in
                PartShard(
                    "\(name.rawValue)-seed\(k + 1)",
                    work: { TaskTraining.work(try prepared(name, o, $0), seedIndex: k) },
                    train: { try TaskTraining.train(try prepared(name, o, $0.cache), o.seed, seedIndex: k, $0) })
            }
        }
    }

    package static func judge(_ measured: Measured) -> PartJudgement {
        let summary = measured.summary
        let verdicts = RealDataVerdicts(summary.tasks)
        return PartJudgement(
            findings: summary.findings, answers: Answers.real(summary, verdicts), states: verdicts.states,
            failures: summary.tasks.compactMap { t in t.failure.map { "Experiment 2, \(t.task): \($0)" } })
    }
}

extension RealDataExperiment.TaskName {
    static let known = allCases.map(\.rawValue).joined(separator: ", ")

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

/// Options are checked before anything runs: one line naming the option and what it accepts.
package func requireAtLeast(_ minimum: Int, _ value: Int?, _ option: String) throws {
    if let value, value < minimum { throw ValidationError("--\(option) must be at least \(minimum) (got \(value))") }
}
