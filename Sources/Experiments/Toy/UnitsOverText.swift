import Foundation
import Analysis
import Charts
import Recurrent
import TensorCore

/// Units over text: which hidden unit of each trained character model follows a feature of the text (position in
/// the line, quotes, brackets, words, spaces, line ends, digits), measured on a held-out passage, against two
/// baselines: the best unit of the same network untrained (the same search, so the same selection luck) and a
/// random unit. Karpathy, Johnson and Fei-Fei (2015) found such units in character LSTMs.
enum UnitsOverText {
    /// The unit of a trained model that follows one feature best, and what the baselines reach.
    struct Match: Codable, Sendable, Equatable {
        var feature: String
        var unit: Int
        var r: Double
        /// The best |r| of any unit of the untrained network (initial weights) for this feature.
        var untrainedBest: Double
        /// |r| of the same unit before training, and of a seeded random unit after training.
        var sameUnitUntrained: Double, randomUnit: Double
        /// Well above the baselines: |r| at least 0.3 and at least 0.2 above the untrained network's best.
        var followsFeature: Bool { abs(r) >= 0.3 && abs(r) - untrainedBest >= 0.2 }
        /// How far |r| is above the untrained network's best: what ranks the matches.
        var margin: Double { abs(r) - untrainedBest }

        /// The match furthest above the untrained network.
        static func top(_ matches: [Match]) -> Match? { matches.max { $0.margin < $1.margin } }
    }

    struct ModelUnits: Codable, Sendable {
        var model: String
        var passage: String
        var matches: [Match]
        /// The best match's unit activation at every character of the passage (for the coloured text).
        var activation: [Double]
    }

    /// The top layer's hidden state h_t at every character of `ids`, [time][unit].
    static func states(_ model: SequenceModel<Float>, _ ids: [Int]) throws -> [[Double]] {
        guard let embedding = model.embedding else { throw ShapeError("a character model has an embedding") }
        let out = try model.rnn.forward(try embedding.forward(ids, batch: 1, steps: ids.count)).output
        let H = model.rnn.config.hiddenSize
        return (0..<ids.count).map { t in out.data[(t * H)..<((t + 1) * H)].map(Double.init) }
    }

    /// Every model's best unit per feature on `passage`, trained against untrained and a random unit.
    static func measure(
        _ models: [ModelRecipe.Trained], passage: [Character], index: [Character: Int], seed: UInt64
    ) throws -> [ModelUnits] {
        let ids = passage.compactMap { index[$0] }
        let known = passage.filter { index[$0] != nil }
        // A feature the passage never varies (no digits in it) has nothing to correlate with.
        let features = TextFeatures.compute(known).filter { f in f.values.contains { $0 != f.values.first } }
        return try models.map { m in
            let (untrained, trained) = try m.beforeAndAfter { try states(m.model, ids) }
            var rng = SeededRandom(seed: SeedStream.unitBaseline.seed(seed))
            let random = Int(rng.unit() * Double(m.model.rnn.config.hiddenSize))
            let matches = features.compactMap { f -> Match? in
                guard let best = UnitCorrelation.best(trained, f.values) else { return nil }
                let before = UnitCorrelation.perUnit(untrained, f.values).map(abs)
                return Match(
                    feature: f.name, unit: best.unit, r: best.r, untrainedBest: before.max() ?? 0,
                    sameUnitUntrained: before[best.unit],
                    randomUnit: abs(UnitCorrelation.pearson(trained.map { $0[random] }, f.values)))
            }
            let top = Match.top(matches)
            return ModelUnits(
                model: m.cell.displayName, passage: String(known), matches: matches,
                activation: top.map { t in trained.map { $0[t.unit] } } ?? [])
        }
    }

    /// Per model, the unit that follows a feature furthest above the untrained network's best, or that none does.
    static func findings(_ units: [ModelUnits]) -> [Finding] {
        units.map { m in
            guard let top = Match.top(m.matches) else { return Finding.detail("\(m.model): no unit measured.") }
            let numbers =
                "r = \(fmt(top.r, 2)); the untrained network's best unit |r| \(fmt(top.untrainedBest, 2)), "
                + "the same unit untrained \(fmt(top.sameUnitUntrained, 2)), a random trained unit "
                + fmt(top.randomUnit, 2)
            let text =
                top.followsFeature
                ? "\(m.model) unit \(top.unit) follows \"\(top.feature)\" on the held-out passage: \(numbers)."
                : """
                No \(m.model) unit follows a text feature well above the untrained network (|r| >= 0.3 and 0.2 \
                above its best): the closest is unit \(top.unit) with "\(top.feature)", \(numbers).
                """
            return Finding(
                .detail, text, numbers: ["r": top.r, "untrained best": top.untrainedBest, "unit": Double(top.unit)])
        }
    }

    /// The passage coloured by the best match's unit (blue negative, red positive, white 0), one block per model.
    static func coloured(_ units: [ModelUnits]) -> String {
        units.compactMap { m -> String? in
            guard let top = Match.top(m.matches), m.activation.count == m.passage.count else { return nil }
            let spans = zip(m.passage, m.activation).map { c, a -> String in
                let v = max(-1, min(1, a)), fade = Int(255 * (1 - abs(v)))
                let colour = v >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
                return "<span style=\"background:\(colour)\">\(HTMLReport.escape(String(c)))</span>"
            }
            return """
                <p><b>\(HTMLReport.escape(m.model)) unit \(top.unit)</b> (r = \(fmt(top.r, 2)) with \
                "\(HTMLReport.escape(top.feature))"): red where the unit is positive, blue where negative.</p>\
                <pre class="units">\(spans.joined())</pre>
                """
        }.joined()
    }
}
