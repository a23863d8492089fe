import Foundation
import Charts
import Recurrent
import TensorCore

/// Gates over time: the top layer's gate activations, units x time steps, while a model reads a held-out passage,
/// before and after training: where a gate opens, shuts or saturates as the text goes by. Measured (`measure`,
/// `measureText`) apart from drawn (`draw`), so a report is drawn from saved numbers.
package enum GatesOverTime {
    /// One gate block of one network reading the passage: [unit][step] for the first units.
    package struct Panel: Codable, Sendable, Equatable {
        var gate: String, activation: GateActivation
        var values: [[Double]]
    }

    /// One model's gate blocks over one sequence, untrained and trained, with the columns' labels (nil: steps).
    package struct Reading: Codable, Sendable, Equatable {
        package var cell: CellKind
        var before: [Panel], after: [Panel]
        var labels: [String]?
        /// What was read ("the first 60 held-out characters").
        var what: String
    }

    /// Every gate block of the top layer after a forward pass over `input` [1, T, I], its first `units` units.
    static func read(_ rnn: RecurrentNetwork<Float>, _ input: Tensor<Float>, units: Int) throws -> [Panel] {
        _ = try rnn.forward(input)
        let config = rnn.config, H = config.hiddenSize, width = config.gateWidth, steps = input.shape[1]
        let acts = try rnn.gateActivations(layer: config.numLayers - 1)
        let names = config.cell.gateNames, kinds = config.gateActivations
        return names.indices.map { block -> Panel in
            let values: [[Double]] = (0..<min(units, H)).map { j in
                (0..<steps).map { t in Double(acts[t * width + block * H + j]) }
            }
            return Panel(gate: names[block], activation: kinds[block], values: values)
        }
    }

    /// A character as a column label: line breaks and spaces made visible.
    static func label(_ c: Character) -> String { c == "\n" ? "\u{23CE}" : c == " " ? "\u{2423}" : String(c) }

    /// The first 60 characters of `passage` the models know, read by each model's embedding and recurrence.
    package static func measureText(_ models: [ModelRecipe.Trained], passage: [Character], index: [Character: Int])
        throws -> [Reading]
    {
        let text = Array(passage.filter { index[$0] != nil }.prefix(60))
        let ids = text.map { index[$0]! }
        return try measure(
            models,
            input: { m in
                guard let embedding = m.model.embedding else { throw ShapeError("a character model has an embedding") }
                return try embedding.forward(ids, batch: 1, steps: ids.count)
            }, labels: text.map(label), what: "the first \(text.count) held-out characters")
    }

    /// One sequence read by each model untrained and trained (`input` is asked at each, so an embedding reads with
    /// the weights of that moment), its first `units` units.
    package static func measure(
        _ models: [ModelRecipe.Trained], input: (ModelRecipe.Trained) throws -> Tensor<Float>, labels: [String]?,
        what: String, units: Int = 12
    ) throws -> [Reading] {
        try models.map { m in
            let (before, after) = try m.beforeAndAfter { try read(m.model.rnn, try input(m), units: units) }
            return Reading(cell: m.cell, before: before, after: after, labels: labels, what: what)
        }
    }

    /// Per model a figure of its gate blocks (rows) x {initialisation, trained}. Columns are the steps, labelled by
    /// the reading's labels, or without labels runs of consecutive steps averaged to at most 100 columns.
    package static func draw(
        _ readings: [Reading], path: (CellKind) -> String, folder: RunFolder, report: inout HTMLReport
    ) throws {
        for m in readings {
            let labels = m.labels
            let steps = m.before.first?.values.first?.count ?? 0, bins = labels == nil ? 100 : steps
            let starts = TaskReport.binned(Array(repeating: 0, count: steps), bins: bins).starts
            let columns = labels ?? starts.enumerated().map { i, t in i % 10 == 0 ? "t=\(t + 1)" : "" }
            let panels: [Chart] = zip(m.before, m.after).flatMap { pair in
                [(pair.0, "initialisation"), (pair.1, "trained")].map { panel, when -> Chart in
                    Heatmap(
                        title: "\(m.cell.displayName) \(panel.gate) (\(panel.activation.rawValue)), \(when)",
                        values: panel.values.map { TaskReport.binned($0, bins: bins).means },
                        rowLabels: panel.values.indices.map { "unit \($0)" }, columnLabels: columns,
                        scale: panel.activation == .sigmoid ? .sequential : .diverging,
                        range: panel.activation == .sigmoid ? (0, 1) : (-1, 1), annotate: false,
                        width: 140 + (labels == nil ? 6 : 12) * Double(columns.count),
                        height: 150 + 14 * Double(panel.values.count))
                }
            }
            let columnNote =
                labels == nil
                ? "runs of steps averaged where there are many" : "the line break and space shown as symbols"
            try folder.figure(
                SmallMultiples(title: "\(m.cell.displayName): gates over \(m.what)", panels: panels, columns: 2),
                path(m.cell),
                caption:
                    """
                    Gate activations of the first \(m.before.first?.values.count ?? 0) units (rows) over \(m.what) \
                    (columns; \(columnNote)), at initialisation (left) and after training (right); sigmoid gates \
                    on 0-1, tanh paths on -1 to 1.
                    """,
                into: &report)
        }
    }
}
