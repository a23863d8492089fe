import Foundation
import Workbench
import Recurrent

/// The cell a test names by its display name ("RNN", "LSTM", "GRU", "IndRNN").
func named(_ displayName: String) -> CellKind {
    CellKind.allCases.first { $0.displayName == displayName }!
}

/// The first 3,000 bytes of Debian's fortunes `literature` (and one more entry), kept with the dataset tests.
let fortuneExcerpt = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../DatasetsTests/Fixtures/fortunes-literature-head").standardizedFileURL
