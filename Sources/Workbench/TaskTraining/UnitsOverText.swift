import Foundation
import Analysis
import Charts
import Recurrent
import TensorCore

/// Units over text: which unit of each trained character model follows a feature of the text (position in the
/// line, quotes, brackets, words, spaces, line ends, digits), measured on a held-out passage over every signal of
/// the top layer (h; for a cell with a cell state, c; each gate's activation), against two baselines: the best
/// unit of the same network untrained (the same search, so the same selection luck) and a random unit. Karpathy,
/// Johnson and Fei-Fei (2015) found such units in character LSTMs, and plotted how often each gate sits near 0 or
/// near 1; both are here, with a unit picker for the page.
package enum UnitsOverText {
    /// The unit of a trained model that follows one feature best, and what the baselines reach.
    struct Match: Codable, Sendable, Equatable {
        var feature: String
        /// The signal the unit was read from: "h", "c" or "gate f".
        var signal: String
        var unit: Int
        var r: Double
        /// The best |r| of any unit and signal of the untrained network (initial weights) for this feature.
        var untrainedBest: Double
        /// |r| of the same signal's unit before training, and of a seeded random h unit after training.
        var sameUnitUntrained: Double, randomUnit: Double
        /// Well above the baselines: |r| at least 0.3 and at least 0.2 above the untrained network's best.
        var followsFeature: Bool { abs(r) >= 0.3 && abs(r) - untrainedBest >= 0.2 }
        /// How far |r| is above the untrained network's best: what ranks the matches.
        var margin: Double { abs(r) - untrainedBest }

        /// The match furthest above the untrained network.
        static func top(_ matches: [Match]) -> Match? { matches.max { $0.margin < $1.margin } }
    }

    /// How often each unit of one sigmoid gate sits below 0.1 (left-saturated) and above 0.9 (right-saturated)
    /// over the passage, Karpathy et al.'s thresholds.
    struct GateSaturation: Codable, Sendable, Equatable {
        var gate: String
        /// Whether this gate keeps the state (LSTM f, GRU z): held open it is memory.
        var keepsState: Bool
        var left: [Double], right: [Double]
    }

    package struct ModelUnits: Codable, Sendable {
        var model: String
        package var passage: String
        var matches: [Match]
        /// The best match's signal at every character of the passage, on -1...1 for colouring (a sigmoid gate as
        /// 2a - 1, c as tanh c).
        var activation: [Double]
        /// h of every unit at the first `pickerLength` characters, x100 and rounded, for the page's unit picker.
        var pickerStates: [[Int]]
        var saturation: [GateSaturation]
    }

    /// One signal of the top layer over the passage, [time][unit].
    struct Signal {
        var name: String, activation: GateActivation?
        var values: [[Double]]
    }

    static let pickerLength = 300

    /// The passage the units are read on: the first 1000 characters of held-out text, from its first line start.
    package static func passage<Text: Collection<Character>>(from text: Text) -> [Character] {
        let start = text.firstIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        // A text whose only line break is its last character has nothing after it: start at its beginning then.
        let from = text[start...].contains { $0 != "\n" } ? start : text.startIndex
        return Array(text[from...].prefix(1000))
    }

    /// The top layer's signals at every character of `ids`: h, c for a cell with a cell state, each gate block.
    static func signals(_ model: SequenceModel<Float>, _ ids: [Int]) throws -> [Signal] {
        guard let embedding = model.embedding else { throw ShapeError("a character model has an embedding") }
        let rnn = model.rnn, config = rnn.config, H = config.hiddenSize, top = config.numLayers - 1
        let out = try rnn.forward(try embedding.forward(ids, batch: 1, steps: ids.count)).output
        let rows = { (flat: [Float], width: Int, offset: Int) in
            (0..<ids.count).map { t in flat[(t * width + offset)..<(t * width + offset + H)].map(Double.init) }
        }
        var list = [Signal(name: "h", activation: nil, values: rows(out.data, H, 0))]
        if let c = rnn.cellStates(layer: top) { list.append(Signal(name: "c", activation: nil, values: rows(c, H, 0))) }
        let names = config.cell.gateNames, kinds = config.gateActivations, acts = try rnn.gateActivations(layer: top)
        if names.count > 1 {
            for block in names.indices {
                list.append(
                    Signal(
                        name: "gate \(names[block])", activation: kinds[block],
                        values: rows(acts, config.gateWidth, block * H)))
            }
        }
        return list
    }

    /// Every model's best unit per feature on `passage`, trained against untrained and a random unit.
    package static func measure(
        _ models: [ModelRecipe.Trained], passage: [Character], index: [Character: Int], seed: UInt64
    ) throws -> [ModelUnits] {
        let ids = passage.compactMap { index[$0] }
        let known = passage.filter { index[$0] != nil }
        // A feature the passage never varies (no digits in it) has nothing to correlate with.
        let features = TextFeatures.compute(known).filter { f in f.values.contains { $0 != f.values.first } }
        return try models.map { m in
            let (untrained, trained) = try m.beforeAndAfter { try signals(m.model, ids) }
            var rng = SeededRandom(seed: SeedStream.unitBaseline.seed(seed))
            let random = Int(rng.unit() * Double(m.model.rnn.config.hiddenSize))
            let matches = features.compactMap { f in match(f, trained, untrained, random: random) }
            let top = Match.top(matches)
            let shown = top.flatMap { t in trained.first { $0.name == t.signal }.map { ($0, t.unit) } }
            return ModelUnits(
                model: m.cell.displayName, passage: String(known), matches: matches,
                activation: shown.map { signal, unit in signal.values.map { colourValue($0[unit], signal) } } ?? [],
                pickerStates: trained[0].values.prefix(pickerLength).map { $0.map { Int(($0 * 100).rounded()) } },
                saturation: saturation(trained, cell: m.cell))
        }
    }

    /// The best (signal, unit) of the trained network for one feature, with its baselines.
    static func match(
        _ f: (name: String, values: [Double]), _ trained: [Signal], _ untrained: [Signal], random: Int
    ) -> Match? {
        let best = trained.compactMap { s in UnitCorrelation.best(s.values, f.values).map { (s.name, $0) } }
            .max { abs($0.1.r) < abs($1.1.r) }
        guard let (signal, unit) = best, let before = untrained.first(where: { $0.name == signal }) else { return nil }
        let untrainedBest = untrained.map { UnitCorrelation.perUnit($0.values, f.values).map(abs).max() ?? 0 }.max()
        return Match(
            feature: f.name, signal: signal, unit: unit.unit, r: unit.r, untrainedBest: untrainedBest ?? 0,
            sameUnitUntrained: abs(UnitCorrelation.pearson(before.values.map { $0[unit.unit] }, f.values)),
            randomUnit: abs(UnitCorrelation.pearson(trained[0].values.map { $0[random] }, f.values)))
    }

    /// A value of `signal` on -1...1 for colouring: a sigmoid gate's 2a - 1, c squashed by tanh, h as it is.
    static func colourValue(_ a: Double, _ signal: Signal) -> Double {
        signal.activation == .sigmoid ? 2 * a - 1 : signal.name == "c" ? Foundation.tanh(a) : a
    }

    /// Per sigmoid gate, each unit's share of steps below 0.1 and above 0.9.
    static func saturation(_ signals: [Signal], cell: CellKind) -> [GateSaturation] {
        // The gate block the cell keeps its state with, when its carry path is a gate (LSTM f, GRU z).
        var keep: String?
        if case .gate(let block) = cell.cellType.carryPath?.source { keep = "gate \(cell.gateNames[block])" }
        return signals.filter { $0.activation == .sigmoid }.map { s in
            let steps = Double(max(s.values.count, 1)), units = s.values.first?.count ?? 0
            func share(_ test: (Double) -> Bool) -> [Double] {
                (0..<units).map { j in Double(s.values.filter { test($0[j]) }.count) / steps }
            }
            return GateSaturation(
                gate: s.name, keepsState: s.name == keep, left: share { $0 < 0.1 }, right: share { $0 > 0.9 })
        }
    }

    /// Per model, the unit that follows a feature furthest above the untrained network's best, or that none does;
    /// and how many units of each gate sit near 0 or 1 for most of the passage.
    package static func findings(_ units: [ModelUnits]) -> [Finding] {
        units.map { m in
            guard let top = Match.top(m.matches) else { return Finding.detail("\(m.model): no unit measured.") }
            let numbers =
                "r = \(fmt(top.r, 2)); the untrained network's best unit |r| \(fmt(top.untrainedBest, 2)), "
                + "the same unit untrained \(fmt(top.sameUnitUntrained, 2)), a random trained h unit "
                + fmt(top.randomUnit, 2)
            let text =
                top.followsFeature
                ? "\(m.model) \(top.signal) unit \(top.unit) follows \"\(top.feature)\" on the held-out passage: "
                    + "\(numbers)."
                : """
                No \(m.model) unit follows a text feature well above the untrained network (|r| >= 0.3 and 0.2 \
                above its best): the closest is \(top.signal) unit \(top.unit) with "\(top.feature)", \(numbers).
                """
            return Finding(
                .detail, text, numbers: ["r": top.r, "untrained best": top.untrainedBest, "unit": Double(top.unit)])
        } + units.compactMap(saturationFinding)
    }

    /// "LSTM gates over the passage (below 0.1 / above 0.9 for over half of it): f 3 / 40 of 96 units (held open,
    /// the state kept: memory), ..."
    static func saturationFinding(_ m: ModelUnits) -> Finding? {
        guard !m.saturation.isEmpty else { return nil }
        let parts = m.saturation.map { g -> String in
            let shut = g.left.filter { $0 > 0.5 }.count, open = g.right.filter { $0 > 0.5 }.count
            let meaning = g.keepsState && open > 0 ? " (held open keeps the state: memory, not saturation)" : ""
            return "\(g.gate) \(shut) / \(open) of \(g.left.count) units\(meaning)"
        }
        return .detail(
            "\(m.model) gates on the held-out passage, units below 0.1 / above 0.9 for over half of it: "
                + parts.joined(separator: "; ") + ".")
    }
}
