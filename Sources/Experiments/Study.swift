import Foundation
import Workbench
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

/// The whole study in one run folder: every part's results, figures and one combined HTML report. The study
/// loops over its parts (`StudyPart`) and never names one.
package enum Study {
    /// The parts `rnnlab` registers, in the order they run and are reported.
    package static let builtIn: [any StudyPart.Type] = [
        ToyExperiment.self, RealDataExperiment.self, FusionExperiment.self
    ]

    package struct Options: Sendable {
        package var quick: Bool
        package var seed: UInt64
        /// The parts the study knows (`builtIn`, or more: a part from outside is registered here).
        package var registered: [any StudyPart.Type]
        /// The names of the parts to run (nil: every registered part).
        package var chosen: Set<String>?
        package var dataDirectory: URL
        /// Each part's settings by its name, when not the profile's defaults (a part's `Options`).
        package var custom: [String: any Sendable] = [:]
        /// Seeds every part's models train from, when not the part's default.
        package var seeds: Int?
        /// The cells every part compares, when not `CellKind.studied`.
        package var cells: [CellKind]?
        /// Threads the kernels use (recorded in the manifest; results do not depend on it).
        package var threads: Int
        /// Move an earlier run in the folder aside instead of refusing to mix settings.
        package var fresh: Bool
        /// The merge of a study run in shards: refuse, naming them, while any shard has not finished.
        package var merge = false
        /// The command line, for the manifest and for the rerun hint of a failed part.
        package var arguments: [String]
        /// Where training progress goes (the CLI's terminal printer; nothing by default).
        package var progress: ProgressFactory = { _ in nil }
        /// What fetches missing data (the CLI's pip / apt-get); without one, only the cache's files are used.
        package var fetcher: (any PackageFetcher)?
        /// The code that runs the study, for the report and the manifest (the CLI adds the git commit).
        package var codeVersion = CodeVersion.release
        package init(
            quick: Bool = false, seed: UInt64 = 7, registered: [any StudyPart.Type] = Study.builtIn,
            chosen: Set<String>? = nil, dataDirectory: URL = DataCache.defaultDirectory,
            seeds: Int? = nil, cells: [CellKind]? = nil, threads: Int = 1, fresh: Bool = false,
            arguments: [String] = ["rnnlab"] + CommandLine.arguments.dropFirst()
        ) {
            self.quick = quick; self.seed = seed; self.registered = registered; self.chosen = chosen
            self.dataDirectory = dataDirectory; self.seeds = seeds; self.cells = cells
            self.threads = threads
            self.fresh = fresh
            self.arguments = arguments
        }

        /// What every part shares.
        package var shared: StudySettings { StudySettings(quick: quick, seed: seed, seeds: seeds, cells: cells) }

        /// Sets `part`'s settings.
        package mutating func set<P: StudyPart>(_ part: P.Type, _ options: P.Options) { custom[P.name] = options }

        /// `part`'s settings as it runs them: its own (or the profile's) with the shared ones laid over.
        package func options<P: StudyPart>(_ part: P.Type) -> P.Options {
            P.applying(shared, to: custom[P.name] as? P.Options ?? P.defaults(quick: quick))
        }

        /// The chosen parts, in their registered order, with their settings.
        var plans: [PartPlan] {
            func plan<P: StudyPart>(_ part: P.Type) -> PartPlan { P.plan(custom[P.name] as? P.Options, shared) }
            return registered.filter { chosen?.contains($0.name) ?? true }.map { plan($0) }
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

    /// The manifest this run plans to write: its settings, data checksums to come, and this invocation.
    static func plannedManifest(_ options: Options, _ plans: [PartPlan], started: String) -> RunManifest {
        RunManifest(
            created: started, seed: options.seed, quick: options.quick,
            parts: Dictionary(uniqueKeysWithValues: plans.map { ($0.name, $0.settings) }), data: [:],
            invocations: [
                .init(
                    started: started, codeVersion: options.codeVersion, arguments: options.arguments,
                    threads: options.threads, parts: plans.map(\.name))
            ])
    }

    /// Runs the chosen parts into `out` and writes report.html and findings.json. A part that fails
    /// is shown as failed in the report (its error and the command to rerun it) and the others go on; the
    /// report and findings are written whatever happened. Throws `RunFolderError` before running anything
    /// when `out` holds a run with other settings.
    package static func run(_ options: Options, out: URL) throws -> Outcome {
        let ledger = DataLedger()
        let started = ISO8601DateFormatter().string(from: Date())
        let plans = options.plans
        try StudyShards.refuseRunning(plans, out)
        // One writer: held until the report is written (a second run into `out` is refused by name meanwhile).
        let lock = try RunLock(out, command: options.rerunCommand)
        defer { lock.release() }
        if options.merge { try StudyShards.requireFinished(plans, out) }
        for note in lock.notes { Logger(label: "rnnlab").notice("\(out.path): \(note)") }
        let (begun, history) = try RunManifest.begin(
            plannedManifest(options, plans, started: started), in: lock, fresh: options.fresh,
            parts: options.registered.map { $0.name }, ledger: ledger)
        // The parts an earlier command ran into this folder stay in its report and findings, drawn without training.
        let kept = try recordedPlans(begun, options).filter { p in !plans.contains { $0.name == p.name } }.map {
            var p = $0; p.trains = false; return p
        }
        let order = options.registered.map { $0.name }
        let all = (plans + kept).sorted { order.firstIndex(of: $0.name)! < order.firstIndex(of: $1.name)! }
        return try perform(all, options, out: out, started: started, history: history, ledger: ledger) {
            var manifest = begun
            manifest.data.merge(ledger.checksums) { $1 }
            try manifest.write(out)
        }
    }

    /// `rnnlab report`: the report, findings and figures of a finished run in `out` written again from its
    /// checkpoints and saved measurements, with the settings its manifest.json recorded and without training; a
    /// model whose checkpoints stop before its last epoch is refused by name. `options` gives the registered parts,
    /// the data cache, threads and code version; its settings are read from the folder.
    package static func render(_ options: Options, out: URL) throws -> Outcome {
        let ledger = DataLedger()
        let lock = try RunLock(out, command: options.rerunCommand)
        defer { lock.release() }
        guard let manifest = try RunManifest.read(out) else {
            throw RunFolderError("\(out.path) holds no \(RunManifest.fileName): not a run of the study to report on")
        }
        var recorded = recordedOptions(manifest, options)
        // What to run to finish it: the command that made it.
        recorded.arguments = manifest.invocations.last?.arguments ?? options.arguments
        let unknown = recorded.chosen!.subtracting(options.registered.map { $0.name })
        guard unknown.isEmpty else {
            throw RunFolderError("\(out.path) holds parts this rnnlab does not know: \(unknown.sorted())")
        }
        let plans = try recordedPlans(manifest, options)
        let diff = plannedManifest(recorded, plans, started: "").differences(from: manifest, ledger: ledger)
        guard diff.isEmpty else { throw RunFolderError.otherSettings(out, diff) }
        let history = RunFolderHistory(
            previous: manifest.invocations.count > 1
                ? {
                    var m = manifest; m.invocations.removeLast(); return m
                }() : nil)
        return try perform(
            plans, recorded, out: out, started: ISO8601DateFormatter().string(from: Date()), history: history,
            ledger: ledger, trains: false)
    }

    /// Every registered part `manifest` records, with the settings it records for it (the study's seed and profile
    /// too), in registered order.
    static func recordedPlans(_ manifest: RunManifest, _ options: Options) throws -> [PartPlan] {
        var recorded = recordedOptions(manifest, options)
        func decode<P: StudyPart>(_ part: P.Type) throws {
            if let v = manifest.parts[P.name] { recorded.set(part, try v.decoded(P.Options.self)) }
        }
        for part in options.registered { try decode(part) }
        return recorded.plans.map { plan in
            var p = plan
            // What finishes it: the last command that ran it.
            p.rerun = manifest.invocations.last { $0.parts.contains(plan.name) }.map {
                $0.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
            }
            return p
        }
    }

    /// `options` with the study's seed and profile `manifest` records, choosing every part it records.
    static func recordedOptions(_ manifest: RunManifest, _ options: Options) -> Options {
        var recorded = options
        recorded.seed = manifest.seed; recorded.quick = manifest.quick; recorded.seeds = nil; recorded.cells = nil
        recorded.chosen = Set(manifest.parts.keys)
        return recorded
    }

    /// Runs `plans` into `out` in order, then `finishing` (the manifest), then writes findings.json and report.html.
    static func perform(
        _ plans: [PartPlan], _ options: Options, out: URL, started: String, history: RunFolderHistory,
        ledger: DataLedger, trains: Bool = true, finishing: () throws -> Void = {}
    ) throws -> Outcome {
        let logger = Logger(label: "rnnlab")
        let folder = try RunFolder(out)
        var report = HTMLReport(title: "RNNLab: RNN, LSTM and GRU from scratch")
        introduce(&report, options, started: started, history: history)
        var findings: [Finding] = [], failures: [String] = [], answers: [Answer] = []
        var states: [LearningJudgement] = []
        let cache = DataCache(
            directory: options.dataDirectory, ledger: ledger, fetcher: options.fetcher, log: { logger.info("\($0)") })
        var context = RunContext(
            folder: folder, cache: cache, threads: options.threads, progress: options.progress,
            rerun: options.rerunCommand)
        for plan in plans {
            context.trains = trains && plan.trains
            context.rerun = plan.rerun ?? options.rerunCommand
            do {
                let outcome = try report.staged { try plan.run(context, &$0) }
                findings += outcome.findings; answers += outcome.answers; failures += outcome.failures
                states += outcome.states
            } catch  where trains && !plan.trains {
                // A part an earlier command left unfinished is that command's to finish, not this one's failure.
                logger.notice("\(plan.title), recorded in this folder, is not drawn: \(error)")
                report.paragraph("\(plan.title), recorded in this folder by an earlier command, is not drawn: \(error)")
            } catch let e as DataError where plan.skipsWithoutData {
                // No network and no cached weights: say so in the report instead of losing the other parts.
                logger.warning("skipping \(plan.title): \(e)")
                report.paragraph("\(plan.title) was not run: \(e.description)")
            } catch {
                logger.error("\(plan.title) failed: \(error)")
                report.section("\(plan.title): failed", level: 2)
                report.paragraph(
                    "\(plan.title) stopped with an error: \(error). \(retryAdvice(error, rerun: options.rerunCommand))")
                failures.append("\(plan.title): \(error)")
            }
        }
        // The assignment's items answered from the numbers, after the introduction.
        report.blocks.insert(contentsOf: Answers.section(answers), at: min(1, report.blocks.count))
        try finishing()
        try folder.writeJSON(
            StudyFindings(answers: answers, findings: findings, states: states), to: "findings.json")
        let url = folder.url("report.html")
        try AtomicFile.write(report.render(), to: url)
        return Outcome(report: url, answers: answers, findings: findings, failures: failures, history: history)
    }
}
