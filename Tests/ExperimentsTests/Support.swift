import Foundation
@testable import Experiments
import Workbench
import Recurrent

/// The cell a test names by its display name ("RNN", "LSTM", "GRU", "IndRNN").
func named(_ displayName: String) -> CellKind {
    CellKind.allCases.first { $0.displayName == displayName }!
}

/// The first 3,000 bytes of Debian's fortunes `literature` (and one more entry), kept with the dataset tests.
let fortuneExcerpt = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../DatasetsTests/Fixtures/fortunes-literature-head").standardizedFileURL

/// Experiment 1 in miniature: every task, a few epochs on little data.
func miniatureToy() -> ToyExperiment.Options {
    var o = ToyExperiment.Options(quick: true)
    o.sineEpochs = 2; o.sineCount = 40; o.charEpochs = 1; o.charHidden = 16; o.charLimit = 1200; o.charSteps = 20
    o.charCorpusFile = fortuneExcerpt.path; o.charPrime = "A "
    o.exploding.steps = 10; o.exploding.count = 64; o.exploding.epochs = 1; o.exploding.hidden = 8
    o.addingEpochs = 1; o.addingCount = 64; o.addingSteps = 20; o.addingHidden = 8
    return o
}
