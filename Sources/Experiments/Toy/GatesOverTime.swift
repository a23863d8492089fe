import Foundation
import Charts
import Recurrent
import TensorCore

/// Gates over time: the top layer's gate activations, units x time steps, while a model reads a held-out passage,
/// before and after training: where a gate opens, shuts or saturates as the text goes by.
enum GatesOverTime {
    /// One gate block of one network reading the passage: [unit][step] for the first units.
    struct Panel {
        var gate: String, activation: GateActivation
        var values: [[Double]]
    }

    /// Every gate block of the top layer after a forward pass over `ids` (batch 1), its first `units` units.
    static func read(_ model: SequenceModel<Float>, _ ids: [Int], units: Int) throws -> [Panel] {
        guard let embedding = model.embedding else { throw ShapeError("a character model has an embedding") }
        _ = try model.rnn.forward(try embedding.forward(ids, batch: 1, steps: ids.count))
        let config = model.rnn.config, H = config.hiddenSize, width = config.gateWidth
        let acts = model.rnn.gateActivations(layer: config.numLayers - 1)
        let names = config.cell.gateNames, kinds = config.gateActivations
        return names.indices.map { block -> Panel in
            let values: [[Double]] = (0..<min(units, H)).map { j in
                ids.indices.map { t in Double(acts[t * width + block * H + j]) }
            }
            return Panel(gate: names[block], activation: kinds[block], values: values)
        }
    }

    /// A character as a column label: line breaks and spaces made visible.
    static func label(_ c: Character) -> String { c == "\n" ? "\u{23CE}" : c == " " ? "\u{2423}" : String(c) }

    /// Per model, the panels untrained and trained side by side (one row per gate), on the gate's own range.
    static func figure(
        _ models: [ModelRecipe.Trained], passage: [Character], index: [Character: Int], units: Int = 12,
        folder: RunFolder, report: inout HTMLReport
    ) throws {
        let text = Array(passage.filter { index[$0] != nil }.prefix(60))
        let ids = text.map { index[$0]! }
        for m in models {
            let trainedWeights = m.model.parameters
            m.model.parameters = m.initial
            let before = try read(m.model, ids, units: units)
            m.model.parameters = trainedWeights
            let after = try read(m.model, ids, units: units)
            let panels: [Chart] = zip(before, after).flatMap { pair in
                [(pair.0, "initialisation"), (pair.1, "trained")].map { panel, when -> Chart in
                    Heatmap(
                        title: "\(m.cell.displayName) \(panel.gate) (\(panel.activation.rawValue)), \(when)",
                        values: panel.values, rowLabels: panel.values.indices.map { "unit \($0)" },
                        columnLabels: text.map(label), scale: panel.activation == .sigmoid ? .sequential : .diverging,
                        range: panel.activation == .sigmoid ? (0, 1) : (-1, 1), annotate: false,
                        width: 140 + 12 * Double(text.count), height: 150 + 14 * Double(panel.values.count))
                }
            }
            try folder.figure(
                SmallMultiples(
                    title: "\(m.cell.displayName): gates over the first \(text.count) held-out characters",
                    panels: panels, columns: 2),
                "toy/chars_gates_\(m.cell.rawValue).svg",
                caption:
                    """
                    Gate activations of the first \(panels.isEmpty ? 0 : before[0].values.count) units (rows) at \
                    every character (columns; the line break and space shown as symbols), at initialisation (left) \
                    and after training (right); sigmoid gates on 0-1, tanh paths on -1 to 1.
                    """,
                into: &report)
        }
    }
}
