import ArgumentParser
import Foundation
import Workbench
import Experiments
import Recurrent
import Datasets

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
    @OptionGroup var machine: MachineOptions
    @Flag(
        help:
            """
            If --out holds an earlier run, move it aside (to OUT.previous-DATE) and start again instead of \
            resuming it.
            """
    ) var fresh = false
    @OptionGroup var shards: ShardOptions

    func validate() throws {
        try shards.validate()
        try requireAtLeast(1, seeds, "seeds")
        if let cells {
            do { _ = try CellKind.list(cells) } catch { throw ValidationError("\(error)") }
        }
    }
}

/// Where the numeric kernels run and where the data is cached.
struct MachineOptions: ParsableArguments {
    @Option(help: "Threads for the numeric kernels (the default is this machine's core count).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Folder caching the downloaded datasets (default $RNNLAB_DATA or ./data-cache).") var data: String?

    func validate() throws { try requireAtLeast(1, threads, "threads") }

    /// A study's options on this machine, its progress printed.
    func studyOptions() -> Study.Options {
        var options = Study.Options(dataDirectory: DataCache.directory(data), threads: threads)
        options.progress = { ProgressPrinter(label: $0) }
        return options
    }
}

struct All: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole study and write one HTML report (the main job).")
    @OptionGroup var options: RunOptions

    func run() throws {
        try RNNLab.prepare()
        try runStudy(options, chosen: nil)
    }
}

/// One part of the study as a subcommand (`rnnlab toy`, `rnnlab real`, ...): the run options every part takes and the
/// part's own, built from the part's registration alone.
struct PartCommand<Part: StudyPart>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Part.name, abstract: Part.abstract)
    }
    @OptionGroup var options: RunOptions
    @OptionGroup var own: Part.CommandOptions

    func run() throws {
        try RNNLab.prepare()
        let settings = try Part.applying(own, to: Part.defaults(quick: options.quick))
        try runStudy(options, chosen: [Part.name]) { $0.set(Part.self, settings) }
    }
}

/// The subcommand of a registered part.
func partCommand(_ part: any StudyPart.Type) -> ParsableCommand.Type {
    func command<P: StudyPart>(_ part: P.Type) -> ParsableCommand.Type { PartCommand<P>.self }
    return command(part)
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            """
            Write a finished run's report.html, findings.json and figures again from its checkpoints, with the \
            settings its manifest.json recorded, without training.
            """)
    @Argument(help: "The run folder (of rnnlab all or one part of the study).") var folder: String
    @OptionGroup var machine: MachineOptions

    func run() throws {
        try RNNLab.prepare()
        var options = machine.studyOptions()
        options.codeVersion = describedCodeVersion()
        let started = Date()
        try finish(try Study.render(options, out: URL(fileURLWithPath: folder)), out: folder, started: started)
    }
}

func runStudy(_ run: RunOptions, chosen: Set<String>?, settings: (inout Study.Options) -> Void = { _ in }) throws {
    let started = Date()
    var options = Study.Options(
        quick: run.quick, seed: run.seed, chosen: chosen, dataDirectory: DataCache.directory(run.machine.data),
        seeds: run.seeds, cells: try run.cells.map(CellKind.list), threads: run.machine.threads, fresh: run.fresh)
    options.progress = { ProgressPrinter(label: $0) }
    options.fetcher = SystemPackageFetcher()
    options.codeVersion = describedCodeVersion()
    settings(&options)
    if run.shards.slurm || run.shards.jobsOnly { return try submitShards(options, run) }
    options.merge = run.shards.merge
    let outcome = try Study.run(options, out: URL(fileURLWithPath: run.out))
    if let moved = outcome.history.movedTo { print("The earlier run in \(run.out) was moved to \(moved.path).") }
    try finish(outcome, out: run.out, started: started)
}

/// The answers, where the report is, and the parts that failed (exit status 1).
func finish(_ outcome: Study.Outcome, out: String, started: Date) throws {
    print("\nAnswers (every measured finding: findings.json):")
    for a in outcome.answers { print("  - \(a.item) \(a.summary)") }
    print(
        String(
            format: "\nDone in %.1f s. Open %@ (figures as SVG and results as JSON/CSV in %@).",
            Date().timeIntervalSince(started), outcome.report.path, out))
    if !outcome.failures.isEmpty {
        print("\n\(outcome.failures.count) part(s) failed (see the report):")
        for f in outcome.failures { print("  - \(f)") }
        throw ExitCode(1)
    }
}
