import Foundation
import Workbench
import ArgumentParser
import Charts
import Recurrent
import Datasets

/// A part of the study, as a cell is a part of a network: one type, registered once, that the study, the command
/// line, the manifest, resume checks and the Answers ask and never name. A part measures into the run folder (its
/// checkpoints resume), then judges what it measured (findings, learning states and its items of the Answers), and
/// last draws its section of the report and its figures from the measurements and the judgement.
///
/// A new part is one type conforming to this protocol, passed in `Study.Options.parts` (the command line registers
/// `Study.builtIn`); nothing else changes.
package protocol StudyPart: SendableMetatype {
    /// Every setting of the part, as manifest.json keeps it under the part's name (a rerun with other settings is
    /// refused field by field).
    associatedtype Options: Codable & Sendable
    /// What the part measured, for the judge and render steps.
    associatedtype Measurements
    /// The part's own command-line options, beside the run options every part takes.
    associatedtype CommandOptions: ParsableArguments

    /// Its key in manifest.json, its subcommand and its folder in a run.
    static var name: String { get }
    /// One line: the subcommand's help.
    static var abstract: String { get }
    /// How the report and the failures name it ("Experiment 2").
    static var title: String { get }
    /// Whether data that cannot be had skips the part with a note in the report instead of failing it.
    static var skipsWithoutData: Bool { get }

    /// The profile's settings (`quick`: the small, fast one).
    static func defaults(quick: Bool) -> Options
    /// `options` with the study's shared settings (seed, seeds, cells) laid over them.
    static func applying(_ shared: StudySettings, to options: Options) -> Options
    /// `options` with the part's command-line options laid over them.
    static func applying(_ command: CommandOptions, to options: Options) throws -> Options

    /// Trains (resuming from the run folder's checkpoints) and measures; writes checkpoints and results files.
    static func measure(_ options: Options, _ context: RunContext) throws -> Measurements
    /// The independent pieces of `measure`'s training (a task from one seed): each trains its own models into the
    /// run folder and writes nothing else, so shards run at once on machines that share the folder, and `measure`
    /// after them trains nothing. What no shard trains, `measure` trains. Default: none.
    static func shards(_ options: Options) -> [PartShard]
    /// The measurements a finished run saved with these settings, for `rnnlab report` to draw without measuring
    /// again; nil where there are none (the part is then measured again from its checkpoints, without training).
    static func saved(_ options: Options, in folder: RunFolder) -> Measurements?
    /// The findings, learning states and answers to the assignment's items that the measurements support.
    static func judge(_ measurements: Measurements) -> PartJudgement
    /// The part's section of the report and its figures, drawn from the measurements and the judgement alone.
    static func render(
        _ measurements: Measurements, _ judgement: PartJudgement, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws
}

extension StudyPart {
    package static var skipsWithoutData: Bool { false }
    package static func saved(_ options: Options, in folder: RunFolder) -> Measurements? { nil }
    package static func shards(_ options: Options) -> [PartShard] { [] }
    package static var title: String { name }

    /// This part with `options` (nil: the profile's defaults) and the study's shared settings, ready to run.
    static func plan(_ options: Options?, _ shared: StudySettings) -> PartPlan {
        let settled = applying(shared, to: options ?? defaults(quick: shared.quick))
        return PartPlan(
            name: name, title: title, skipsWithoutData: skipsWithoutData,
            settings: (try? JSONValue(encoding: settled)) ?? .null,
            shards: shards(settled).map {
                var s = $0; s.name = "\(name)/\(s.name)"; return s
            }
        ) { context, report in
            let measurements =
                try (context.trains ? nil : saved(settled, in: context.folder)) ?? measure(settled, context)
            let judgement = judge(measurements)
            try render(measurements, judgement, context.folder, &report)
            return judgement
        }
    }

    /// This part with the settings manifest.json recorded for it (`rnnlab report` renders a finished run again).
    static func plan(recorded: JSONValue, _ shared: StudySettings) throws -> PartPlan {
        plan(try recorded.decoded(Options.self), shared)
    }
}

/// What every part of a study shares: the profile, the seed, and when set, the seeds and cells of every comparison.
package struct StudySettings: Sendable {
    package var quick: Bool
    package var seed: UInt64
    /// Seeds every model trains from, when not the part's default.
    package var seeds: Int?
    /// The cells every part compares, when not `CellKind.studied`.
    package var cells: [CellKind]?
    package init(quick: Bool = false, seed: UInt64 = 7, seeds: Int? = nil, cells: [CellKind]? = nil) {
        self.quick = quick; self.seed = seed; self.seeds = seeds; self.cells = cells
    }
}

/// What a part's judge step returns to the study: findings, answers, learning states, and the pieces of it that
/// failed while the rest went on.
package struct PartJudgement {
    package var findings: [Finding], answers: [Answer], states: [LearningJudgement], failures: [String]
    package init(
        findings: [Finding], answers: [Answer], states: [LearningJudgement] = [], failures: [String] = []
    ) {
        self.findings = findings; self.answers = answers; self.states = states; self.failures = failures
    }
}

/// One independent piece of a part's training (a task from one seed): it trains its own models into the run folder,
/// resuming from their checkpoints, and writes nothing else.
package struct PartShard: Sendable {
    /// Unique within its part ("sine-seed2"); the study names it PART/NAME ("toy/sine-seed2").
    package var name: String
    /// Its training work in multiply-adds (`ModelRecipe.work`), for a scheduler's time limit; it may read data.
    package var work: @Sendable (DataCache) throws -> Double
    package var train: @Sendable (RunContext) throws -> Void
    package init(
        _ name: String, work: @escaping @Sendable (DataCache) throws -> Double,
        train: @escaping @Sendable (RunContext) throws -> Void
    ) {
        self.name = name; self.work = work; self.train = train
    }
}

/// A part with its settings, ready to run: the type-erased form the study loops over.
package struct PartPlan {
    package let name: String
    let title: String
    let skipsWithoutData: Bool
    /// The settings as manifest.json records them.
    package let settings: JSONValue
    /// Its training in independent pieces (`StudyPart.shards`), named PART/SHARD.
    package let shards: [PartShard]
    let run: (RunContext, inout HTMLReport) throws -> PartJudgement
    /// Whether this run trains it; false: a part the folder holds from an earlier command, drawn again from its
    /// checkpoints and saved measurements so the report and findings keep it.
    var trains = true
    /// The command that finishes it, when not this run's (a part an earlier command ran).
    var rerun: String?
}
