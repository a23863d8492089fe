import Foundation
import Workbench
import Statistics

/// Q3.5 answered from the memory probe: which encoder's state decodes earlier words beyond what the current word
/// alone gives, and how far back.
extension Answers {
    /// The probe's comparisons: per lag from 1, each encoder against the current-word control over the held-out
    /// items, and every pair of encoders (over their initialisations, or over the items with one).
    static func memoryFamily(_ m: MemoryProbe.Result) -> ComparisonFamily {
        var out: [Comparison] = []
        for lag in m.lags where lag.lag > 0 {
            let measure = "word \(lag.lag) back"
            out += lag.encoders.compactMap {
                Compare.againstBaseline(
                    model: $0.encoder, perSeed: [$0.items],
                    baseline: ("current word and position", lag.currentWordItems),
                    measure: "\(measure) against the current word and position", lowerIsBetter: false)
            }
            out +=
                (lag.encoders.first?.accuracy.count ?? 0) > 1
                ? Compare.allPairs(
                    lag.encoders.map { SeedSeries(model: $0.encoder, values: $0.accuracy) }, measure: measure,
                    lowerIsBetter: false, positive: false)
                : Compare.pairsOverItems(
                    lag.encoders.map { ($0.encoder, $0.items) }, measure: measure, lowerIsBetter: false)
        }
        return ComparisonFamily(item: "Q3.5", out)
    }

    /// Per encoder, the lags at which it decodes the earlier word beyond the template control after Holm.
    static func memoryHorizons(_ m: MemoryProbe.Result, _ family: ComparisonFamily) -> [(encoder: String, lags: [Int])]
    {
        (m.lags.first?.encoders ?? []).map { e in
            (
                e.encoder,
                m.lags.filter { lag in
                    family.held.contains {
                        $0.first == e.encoder
                            && $0.measure == "word \(lag.lag) back against the current word and position"
                    }
                }.map(\.lag)
            )
        }
    }

    static func memoryAnswer(_ m: MemoryProbe.Result, initialisations: Int) -> Answer {
        let family = memoryFamily(m), horizons = memoryHorizons(m, family)
        let each = horizons.map { h in
            h.lags.isEmpty
                ? "\(h.encoder) at no lag"
                : "\(h.encoder) at lag\(h.lags.count == 1 ? "" : "s") "
                    + h.lags.map(String.init).joined(separator: ", ")
        }
        let longest = horizons.max { ($0.lags.max() ?? 0) < ($1.lags.max() ?? 0) }
        let top = longest?.lags.max() ?? 0
        let alone = horizons.filter { ($0.lags.max() ?? 0) == top }
        let verdict =
            top == 0
            ? "no encoder's state holds earlier words beyond what the current word and its position give"
            : alone.count == 1
                ? "by this measure \(alone[0].encoder) keeps the longest memory (\(top) word\(top == 1 ? "" : "s") "
                    + "back)"
                : "\(list(alone.map(\.encoder))) reach equally far back (\(top) word\(top == 1 ? "" : "s"))"
        func cell(_ values: [Double]) -> String {
            OverSeeds.withInterval(values, positive: false) { TaskReport.pct($0) }
        }
        let rows =
            (m.lags.first?.encoders ?? []).indices.map { e in
                [m.lags[0].encoders[e].encoder] + m.lags.map { cell($0.encoders[e].accuracy) }
            }
            + [["current word and position"] + m.lags.map { TaskReport.pct($0.currentWord) }]
            + [["shuffled labels"] + m.lags.map { cell($0.encoders.flatMap(\.shuffled)) }]
            + [["most frequent word"] + m.lags.map { TaskReport.pct($0.majority) }]
        return Answer(
            item: "Q3.5", question: "Compare the encoders.",
            summary: """
                A linear probe decodes the word k back from the untrained encoders' states, on held-out questions, \
                beyond what the current word and its position give for: \(each.joined(separator: "; ")); \(verdict).
                """,
            answer: """
                \(m.questions) questions, \(m.folds) folds by question, \(initialisations) initialisation\
                \(initialisations == 1 ? "" : "s") per encoder; \(family.correction). The cosine between states \
                (Q3.3) is kept as a description only: it does not track memory (it can rise with distance).
                """,
            table: AnswerTable(headers: ["probe accuracy"] + m.lags.map { "lag \($0.lag)" }, rows: rows),
            figure: "fusion/memory_probe.svg", family: family,
            numbers: Dictionary(
                uniqueKeysWithValues: horizons.map { ("\($0.encoder) memory lags", Double($0.lags.max() ?? 0)) }),
            figures: ["fusion/word_similarity.svg"],
            caveat: "untrained encoders: the differences are the architectures' dynamics, not learned behaviour.")
    }
}
