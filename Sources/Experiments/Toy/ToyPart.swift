import Foundation
import Workbench
import ArgumentParser
import Charts

/// Experiment 1 as a part of the study: `rnnlab toy`, the manifest's "toy".
extension ToyExperiment: StudyPart {
    package static let name = "toy"
    package static let title = "Experiment 1"
    package static let abstract = "Experiment 1: RNN/LSTM/GRU on sine, characters and the adding problem."

    package struct CommandOptions: ParsableArguments {
        @Option(help: "A UTF-8 text file for the character model (default: Debian's fortune collections).")
        var corpus: String?
        @Option(help: "Text the character samples start from.") var prime: String?
        @Option(help: "Epochs of the character model.") var charEpochs: Int?
        package init() {}

        package func validate() throws {
            try requireAtLeast(1, charEpochs, "char-epochs")
            if let prime, prime.isEmpty { throw ValidationError("--prime must not be empty") }
        }
    }

    package static func defaults(quick: Bool) -> Options { Options(quick: quick) }

    package static func applying(_ shared: StudySettings, to options: Options) -> Options {
        var o = options
        o.seed = shared.seed; o.seeds = shared.seeds ?? o.seeds; o.cells = shared.cells ?? o.cells
        return o
    }

    package static func applying(_ command: CommandOptions, to options: Options) throws -> Options {
        var o = options
        o.charCorpusFile = command.corpus
        if let prime = command.prime { o.charPrime = prime }
        if let epochs = command.charEpochs { o.charEpochs = epochs }
        return o
    }

    /// toy/results.json, when it was measured with these settings.
    package static func saved(_ options: Options, in folder: RunFolder) -> Summary? {
        guard let saved = folder.readJSON(Summary.self, from: "toy/results.json"),
            let recorded = try? JSONValue(encoding: saved.options), recorded == (try? JSONValue(encoding: options))
        else { return nil }
        return saved
    }

    package static func render(
        _ summary: Summary, _ judgement: PartJudgement, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        try ToyReport.render(summary, folder, &report)
    }

    package static func judge(_ summary: Summary) -> PartJudgement {
        let verdicts = ToyVerdicts(summary)
        return PartJudgement(
            findings: summary.findings, answers: Answers.toy(summary, verdicts), states: verdicts.states)
    }
}
