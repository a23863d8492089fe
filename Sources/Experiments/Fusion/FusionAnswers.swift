import Foundation
import Workbench
import Statistics

/// Q3's items answered from Experiment 3's summary.
extension Answers {
    static func fusion(_ s: FusionExperiment.Summary) -> [Answer] {
        [imageFeatures(s), trajectories(s), heatmaps(s), alignment(s), encoderComparison(s)]
    }

    /// A measure of the encoders over their initialisations, every pair compared (nil with one initialisation).
    static func spreadFamily(_ s: FusionExperiment.Summary, item: String, measure: String, what: String)
        -> ComparisonFamily?
    {
        s.spread?.measures[measure].map {
            ComparisonFamily(item: item, Compare.allPairs($0, measure: what, lowerIsBetter: false, positive: true))
        }
    }

    /// "RNN 6.31 [6.09, 6.53]" over the initialisations, or the first one's value.
    static func overInits(_ s: FusionExperiment.Summary, _ measure: String, _ model: String, first: Double) -> String {
        s.spread?.measures[measure]?.first { $0.model == model }.map {
            OverSeeds.withInterval($0.values, positive: true) { fmt($0, 3) }
        } ?? fmt(first, 3)
    }

    /// With pretrained word vectors, what the seeded random ones give instead (mean over the initialisations).
    static func randomVectorsClause(_ spread: SeedComparison?) -> String {
        guard let series = spread?.measures["adjacent cosine" + FusionExperiment.randomWordVectors] else { return "" }
        let values = series.map { "\($0.model) \(OverSeeds.withInterval($0.values, positive: false) { fmt($0, 3) })" }
        return " With seeded random word vectors instead, cos(h_t, h_t-1) over \(series.first?.values.count ?? 0) "
            + "initialisations: " + values.joined(separator: ", ") + "."
    }

    static func imageFeatures(_ s: FusionExperiment.Summary) -> Answer {
        let top = s.imageTop5.sorted { $0.key < $1.key }.map { image, classes -> (String, String, Double) in
            let first = classes.first ?? "- 0"
            let p = Double(first.split(separator: " ").last ?? "0") ?? 0
            return (image, String(first.split(separator: " ").dropLast().joined(separator: " ")), p)
        }
        let sure = top.filter { $0.2 >= 0.5 }.sorted { $0.2 > $1.2 }
        let named = sure.map { "\($0.1) \(TaskReport.pct($0.2)) for \($0.0)" }.joined(separator: ", ")
        return Answer(
            item: "Q3.1", question: "Extract image features with a pretrained CNN.",
            summary: """
                The pretrained \(s.backbone) turns each of the \(top.count) images into one feature vector; it is \
                more than 50% sure of its first ImageNet class for \(sure.count) of them\
                \(sure.isEmpty ? "" : " (\(named))").
                """,
            table: AnswerTable(
                headers: ["image", "top-1 class", "probability"],
                rows: top.map { [$0.0, $0.1, TaskReport.pct($0.2)] }),
            figure: "fusion/top1.svg", numbers: ["images": Double(top.count)])
    }

    static func trajectories(_ s: FusionExperiment.Summary) -> Answer {
        let family = spreadFamily(s, item: "Q3.2", measure: "trajectory length", what: "trajectory length")
        let lead = family.flatMap { leader($0, measure: "trajectory length") }
        let shares = s.metrics.map(\.pcaExplained2)
        return Answer(
            item: "Q3.2", question: "Encode the questions with RNN, LSTM and GRU; show hidden-state trajectories.",
            summary: (lead.map {
                "Each word moves the untrained \($0.model)'s state furthest (the longest trajectories), beyond "
                    + "\(list($0.beaten)) after Holm's correction"
            } ?? "No encoder's trajectory is longer than another's beyond the noise")
                + "; the 2-D PCA maps hold \(TaskReport.pct(shares.min() ?? .nan)) to "
                + "\(TaskReport.pct(shares.max() ?? .nan)) of the states' variance.",
            answer: family.map { ranking($0, measure: "trajectory length", better: "longer") + "." } ?? "",
            table: AnswerTable(
                headers: ["encoder", "trajectory length per question", "PCA 2-D share", "effective dimensionality"],
                rows: s.metrics.map {
                    [
                        $0.encoder, overInits(s, "trajectory length", $0.encoder, first: $0.meanTrajectoryLength),
                        TaskReport.pct($0.pcaExplained2), fmt($0.effectiveDimensionality, 3)
                    ]
                }),
            figure: "fusion/pca_trajectories.svg", family: family,
            numbers: Dictionary(uniqueKeysWithValues: s.metrics.map { ("\($0.encoder) PCA share", $0.pcaExplained2) }),
            figures: ["fusion/tsne_trajectories.svg"],
            caveat: "untrained encoders, \(s.spread?.seeds.count ?? 1) initialisation(s); the maps show the first.")
    }

    static func heatmaps(_ s: FusionExperiment.Summary) -> Answer {
        let family = spreadFamily(s, item: "Q3.3", measure: "adjacent cosine", what: "cos(h_t, h_t-1)")
        let lead = family.flatMap { leader($0, measure: "cos(h_t, h_t-1)") }
        return Answer(
            item: "Q3.3", question: "Show word-by-word hidden-state similarity heatmaps.",
            summary: (lead.map {
                "The \($0.model)'s adjacent states are the most alike (cos(h_t, h_t-1)), above \(list($0.beaten)) "
                    + "after Holm's correction"
            } ?? "No encoder keeps adjacent states more alike than another beyond the noise")
                + ": a description of how much each word changes the state, not a measure of memory (Q3.5 "
                + "measures it).",
            answer: (family.map { ranking($0, measure: "cos(h_t, h_t-1)", better: "higher") + "." } ?? "")
                + randomVectorsClause(s.spread),
            table: AnswerTable(
                headers: ["encoder", "cos(h_t, h_t-1)", "cos(h_t, h_t+2)", "cos(h_t, h_t+3)"],
                rows: s.metrics.map { m in
                    [m.encoder, overInits(s, "adjacent cosine", m.encoder, first: m.meanAdjacentCosine)]
                        + m.similarityAtLag.dropFirst().map { fmt($0, 3) }
                }),
            figure: "fusion/word_similarity.svg", family: family,
            numbers: Dictionary(
                uniqueKeysWithValues: s.metrics.map { ("\($0.encoder) adjacent", $0.meanAdjacentCosine) }),
            caveat: "lags 2 and 3 from the first initialisation.")
    }

    static func alignment(_ s: FusionExperiment.Summary) -> Answer {
        let m = s.metrics, questions = s.items.count, images = max(s.imageTop5.count, 1)
        let chance = 1.0 / Double(images)
        let se = (chance * (1 - chance) / Double(max(questions, 1))).squareRoot()
        // Each fusion's mean match rate over the encoders, placed against chance by two binomial standard errors.
        let methods = [
            ("random projection", m.map(\.projectionMatchRate)), ("label bridge", m.map(\.labelBridgeMatchRate))
        ]
        .map { name, rates -> (String, Double, Int) in
            let mean = Stats.mean(rates)
            return (name, mean, abs(mean - chance) <= 2 * se ? 0 : mean > chance ? 1 : -1)
        }
        let each = methods.map { "\(TaskReport.pct($0.1)) with the \($0.0)" }.joined(separator: " and ")
        let verdict =
            methods.allSatisfy({ $0.2 == 0 })
            ? "Neither fusion ties a question to its own image beyond chance"
            : methods.filter { $0.2 > 0 }.isEmpty
                ? "No fusion ties a question to its own image above chance"
                : "The \(list(methods.filter { $0.2 > 0 }.map(\.0))) ties questions to their own images above chance"
        return Answer(
            item: "Q3.4", question: "Compute image-question cosine similarities.",
            summary: """
                \(verdict): the own image is the most similar of \(images) for \(each) of the \(questions) questions \
                (mean over the encoders), against chance \(TaskReport.pct(chance)) +- \(fmt(200 * se, 2)) points \
                (two standard errors).
                """,
            answer: FusionExperiment.alignmentVerdict(
                m.map(\.projectionMatchRate), method: "random projection", chance: chance, questions: questions)
                + " "
                + FusionExperiment.alignmentVerdict(
                    m.map(\.labelBridgeMatchRate), method: "label bridge", chance: chance, questions: questions),
            table: AnswerTable(
                headers: [
                    "encoder", "own image most similar: projection", "label bridge", "mean-pooled: projection",
                    "mean-pooled: label bridge"
                ],
                rows: m.map {
                    [
                        $0.encoder, TaskReport.pct($0.projectionMatchRate),
                        TaskReport.pct($0.labelBridgeMatchRate),
                        TaskReport.pct($0.meanPooledProjectionMatchRate),
                        TaskReport.pct($0.meanPooledLabelBridgeMatchRate)
                    ]
                }),
            figure: "fusion/similarity_label_bridge.svg", numbers: ["chance": chance],
            figures: ["fusion/similarity_projection.svg", "fusion/own_image_similarity.svg"],
            caveat: "\(questions) questions and \(images) images, chance \(TaskReport.pct(chance)); one "
                + "initialisation per encoder (seed \(s.seed)).")
    }

    static func encoderComparison(_ s: FusionExperiment.Summary) -> Answer {
        guard let memory = s.memory else {
            return Answer(item: "Q3.5", question: "Compare the encoders.", summary: "The memory probe did not run.")
        }
        return memoryAnswer(memory, initialisations: s.spread?.seeds.count ?? 1)
    }
}
