import Recurrent

/// The cell a test names by its display name ("RNN", "LSTM", "GRU", "IndRNN").
func named(_ displayName: String) -> CellKind {
    CellKind.allCases.first { $0.displayName == displayName }!
}
