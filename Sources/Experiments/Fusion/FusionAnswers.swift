import Foundation

/// Q3's items answered from Experiment 3's summary.
extension Answers {
    static func fusion(_ s: FusionExperiment.Summary) -> [Answer] {
        let m = s.metrics, images = s.imageTop5.count, questions = s.items.count
        let top1 = s.imageTop5.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.first ?? "-")" }
        let byEncoder = { (key: (FusionExperiment.EncoderMetrics) -> Double, show: (Double) -> String) in
            m.map { "\($0.encoder) \(show(key($0)))" }.joined(separator: ", ")
        }
        let three = { (v: Double) in fmt(v, 3) }, percent = { (v: Double) in String(format: "%.0f%%", 100 * v) }
        let chance = 1.0 / Double(max(images, 1))
        let initialisations = "one random initialisation per encoder (seed \(s.seed))"
        return [
            Answer(
                item: "Q3.1", question: "Extract image features with a pretrained CNN.",
                answer: "\(s.backbone) (ImageNet weights) on \(images) images; its top-1 class with probability: "
                    + top1.joined(separator: "; ") + ".",
                numbers: ["images": Double(images)], figures: [], caveat: nil),
            Answer(
                item: "Q3.2", question: "Encode the questions with RNN, LSTM and GRU; show hidden-state trajectories.",
                answer: """
                    \(questions) questions, untrained encoders. Share of the states' variance in the 2-D PCA map: \
                    \(byEncoder(\.pcaExplained2, percent)); effective dimensionality \
                    \(byEncoder(\.effectiveDimensionality, three)); trajectory length per question \
                    \(byEncoder(\.meanTrajectoryLength, three)).
                    """,
                numbers: Dictionary(uniqueKeysWithValues: m.map { ("\($0.encoder) PCA share", $0.pcaExplained2) }),
                figures: ["fusion/pca_trajectories.svg", "fusion/tsne_trajectories.svg"], caveat: initialisations),
            Answer(
                item: "Q3.3", question: "Show word-by-word hidden-state similarity heatmaps.",
                answer: "Mean cos(h_t, h_t+k) over every question for k = 1, 2, 3: "
                    + m.map { "\($0.encoder) " + $0.similarityAtLag.map(three).joined(separator: ", ") }.joined(
                        separator: "; ") + ". A slower fall with k is a longer memory of earlier words."
                    + randomVectorsClause(s.spread),
                numbers: Dictionary(
                    uniqueKeysWithValues: m.map { ("\($0.encoder) lag 3", $0.similarityAtLag.last ?? .nan) }),
                figures: ["fusion/word_similarity.svg"], caveat: initialisations),
            Answer(
                item: "Q3.4", question: "Compute image-question cosine similarities.",
                answer: "The question's own image is the most similar (random projection / label bridge): "
                    + byEncoder({ $0.projectionMatchRate }, percent) + " / "
                    + byEncoder({ $0.labelBridgeMatchRate }, percent)
                    + " of \(questions) questions; chance \(percent(chance)). "
                    + FusionExperiment.alignmentVerdict(
                        m.map(\.projectionMatchRate), method: "random projection", chance: chance, questions: questions)
                    + " "
                    + FusionExperiment.alignmentVerdict(
                        m.map(\.labelBridgeMatchRate), method: "label bridge", chance: chance, questions: questions),
                numbers: ["chance": chance],
                figures: ["fusion/similarity_projection.svg", "fusion/similarity_label_bridge.svg"],
                caveat: "\(questions) questions: a match rate's binomial standard error is about "
                    + "\(percent((chance * (1 - chance) / Double(max(questions, 1))).squareRoot())) points."),
            encoderComparison(s.metrics, spread: s.spread, seed: s.seed)
        ]
    }

    /// With pretrained word vectors, what the seeded random ones give instead (mean over the initialisations).
    static func randomVectorsClause(_ spread: SeedComparison?) -> String {
        guard let series = spread?.measures["similarity at lag 3" + FusionExperiment.randomWordVectors] else {
            return ""
        }
        let values = series.map { "\($0.model) \(OverSeeds.withInterval($0.values) { fmt($0, 3) })" }
        return " With seeded random word vectors instead (over \(series.first?.values.count ?? 0) initialisations): "
            + values.joined(separator: ", ") + "."
    }

    /// Q3.5 over the encoder initialisations when there are several, else the one run's values with that caveat.
    static func encoderComparison(_ metrics: [FusionExperiment.EncoderMetrics], spread: SeedComparison?, seed: UInt64)
        -> Answer
    {
        let measures: [(String, String, Bool)] = [
            ("similarity at lag 3", "mean cos(h_t, h_t+3), the memory of earlier words", false),
            ("adjacent cosine", "mean cos(h_t, h_t-1), how much of the state survives a word", false),
            ("trajectory length", "mean trajectory length, how far each word moves the state", false)
        ]
        let compared = measures.compactMap { key, what, lower in
            overSeeds(
                spread, key, lowerIsBetter: lower,
                what: "\(what) (each seed a new random initialisation of every encoder)",
                best: "highest")
        }
        let single = metrics.map {
            "\($0.encoder): lag-3 similarity \(fmt($0.similarityAtLag.last ?? .nan, 3)), adjacent cosine "
                + "\(fmt($0.meanAdjacentCosine, 3)), trajectory length \(fmt($0.meanTrajectoryLength, 3))"
        }
        return Answer(
            item: "Q3.5", question: "Compare the encoders.",
            answer: compared.isEmpty
                ? single.joined(separator: "; ") + "." : compared.map(\.text).joined(separator: " "),
            numbers: compared.reduce(into: [:]) { $0.merge($1.numbers) { $1 } },
            figures: ["fusion/word_similarity.svg", "fusion/own_image_similarity.svg"],
            caveat: compared.isEmpty
                ? "one random initialisation per encoder (seed \(seed)): the differences are not tested against "
                    + "initialisation noise."
                : "untrained encoders: the differences are the architectures' dynamics, not learned behaviour.")
    }
}
