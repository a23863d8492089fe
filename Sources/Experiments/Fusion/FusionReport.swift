import Foundation
import Workbench
import Recurrent
import Charts
import Analysis
import Statistics

/// Experiment 3 drawn: its section of the report and its figures, from what it measured (`FusionExperiment.run`).
extension FusionExperiment {
    /// Experiment 3's section, drawn from its measurements.
    package static func render(
        _ m: Measured, _ judgement: PartJudgement, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        report.section("Experiment 3: CNN + RNN fusion for visual question answering, without training")
        try describe(m.scene, m.options, folder, &report)
        try trajectoryFigures(m.analyses, m.scene, folder, &report)
        try alignmentFigures(m.analyses, m.scene, m.options, folder, &report)
        encoderTable(m.summary.metrics, &report)
        if let memory = m.summary.memory { try memoryFigure(memory, folder, &report) }
        report.list(m.summary.findings.map(\.text))
    }

    /// The setting in words and the two tables a reader starts from: what the CNN sees, and the questions.
    static func describe(_ scene: Scene, _ o: Options, _ folder: RunFolder, _ report: inout HTMLReport) throws {
        let fallback = scene.note.map { " (\($0))" } ?? ""
        report.paragraph(
            """
            Images: \(scene.images.count) (\(scene.source)), questions: \(scene.items.count). Image features: the \
            \(scene.featureSize)-d pooled output of the pretrained \(scene.backbone) (ImageNet; \
            \(scene.preprocessing))\(fallback). Words: \(scene.embeddings.name). \
            Encoders: RNN, LSTM and GRU with \(o.hidden) hidden units, PyTorch's default initialisation from seed \
            \(o.seed), never trained: what they show is the dynamics the architecture imposes on a word sequence.
            """
        )
        report.table(
            headers: ["image", "\(scene.backbone) top-5 (probability)"],
            rows: scene.images.map { img in
                [
                    img.name,
                    scene.top5[img.name]!.map { "\($0.name) (\(String(format: "%.0f%%", 100 * $0.probability)))" }
                        .joined(separator: ", ")
                ]
            },
            caption: "What the CNN sees")
        try folder.figure(
            GroupedBarChart(
                title: "\(scene.backbone): top-1 class probability per image", yLabel: "probability",
                categories: scene.images.map(\.name),
                groups: [(name: "top-1", values: scene.images.map { scene.top5[$0.name]?.first?.probability ?? 0 })],
                height: 300),
            "fusion/top1.svg", caption: "How sure the pretrained CNN is of its first class for each image.",
            into: &report)
        report.table(
            headers: ["image", "question", "answer (easy-vqa)"],
            rows: scene.items.map { [$0.image, $0.question, $0.answer ?? "-"] }, caption: "Questions")
    }

    /// The encoder's panels of the three state figures: PCA and t-SNE maps with the shown questions' trajectories,
    /// and the word-by-word similarity of one question's states.
    static func mapPanels(_ a: EncoderAnalysis, _ scene: Scene) -> (pca: Chart, tsne: Chart, words: Chart) {
        let shown = scene.shown, name = a.metrics.encoder
        func trajectories(_ coords: [[Double]]) -> [ScatterSeries] {
            var offset = 0, out: [ScatterSeries] = []
            for (q, words) in scene.wordLists.enumerated() {
                defer { offset += words.count }
                guard shown.contains(q) else { continue }
                out.append(
                    ScatterSeries(
                        name: FusionExperiment.shortened(scene.items[q].question, to: 28),
                        points: coords[offset..<(offset + words.count)].map { (x: $0[0], y: $0[1]) }, labels: words,
                        trajectory: true))
            }
            return out
        }
        let share = String(format: "%.0f%%", 100 * a.pcaShare)
        let words = scene.wordLists[scene.wordSimilarityQuestion]
        return (
            ScatterChart(
                title: "\(name): PCA (\(share) of variance)", xLabel: "PC1", yLabel: "PC2",
                series: trajectories(a.pca), width: 560, height: 420),
            ScatterChart(
                title: "\(name): t-SNE (perplexity \(String(format: "%.1f", a.perplexity)))",
                xLabel: "t-SNE 1", yLabel: "t-SNE 2", series: trajectories(a.tsne), width: 560, height: 420),
            Heatmap(
                title: "\(name): cos(h_i, h_j)", values: a.wordSimilarity, rowLabels: words, columnLabels: words,
                scale: .diverging, range: (-1, 1))
        )
    }

    /// Questions (rows) x images (columns): colours fitted to the values (symmetric about 0: cosines of about +-0.2
    /// on a +-1 scale looked blank), the values printed where they fit, each question's own image outlined.
    static func alignmentPanel(_ title: String, _ sim: [[Double]], _ scene: Scene) -> Chart {
        Heatmap(
            title: title, values: sim, rowLabels: scene.items.indices.map { "Q\($0 + 1)" },
            columnLabels: scene.images.map(\.name), scale: .diverging,
            marked: scene.ownImage.enumerated().compactMap { q, i in i.map { (q, $0) } },
            markedMeaning: "the question's own image")
    }

    static func trajectoryFigures(
        _ analyses: [EncoderAnalysis], _ scene: Scene, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        let shownCount = scene.shown.count
        report.section("Hidden-state trajectories", level: 3)
        try folder.figure(
            SmallMultiples(
                title: "PCA of the hidden states (all questions), trajectories of \(shownCount) questions",
                panels: analyses.map { mapPanels($0, scene).pca }, columns: 3), "fusion/pca_trajectories.svg",
            caption:
                """
                Each point is the hidden state after a word; arrows follow the question word by word. PCA is \
                fitted on every state of every question, per encoder.
                """,
            into: &report)
        try folder.figure(
            SmallMultiples(
                title: "t-SNE of the hidden states", panels: analyses.map { mapPanels($0, scene).tsne }, columns: 3),
            "fusion/tsne_trajectories.svg",
            caption: "Exact t-SNE (perplexity capped at (n-1)/3, PCA initialisation, seeded) of the same states.",
            into: &report)
        try folder.figure(
            SmallMultiples(
                title: "Word-by-word hidden-state similarity", panels: analyses.map { mapPanels($0, scene).words },
                columns: 3),
            "fusion/word_similarity.svg",
            caption: "Cosine similarity between the hidden states after each pair of words of one question.",
            into: &report)
    }

    static func alignmentFigures(
        _ analyses: [EncoderAnalysis], _ scene: Scene, _ o: Options, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        report.section("Image-question alignment", level: 3)
        report.paragraph(
            """
            Random projection (baseline): the question's last hidden state and the image feature (centred over \
            the image set) are each mapped to a common \(o.commonDimension)-d space by a fixed seeded Gaussian \
            matrix (entries N(0, 1/d_in)) and compared by cosine. With untrained encoders and random maps, this \
            measures what alignment there is without learning (see the match rates below). Label bridge \
            (alternative): the CNN's top-5 ImageNet class names for the image are read by the same word \
            embeddings and encoder, averaged with their probabilities, and compared with the question's last \
            hidden state in the encoder's own space; the pretrained classifier supplies the grounding.
            """
        )
        try folder.figure(
            SmallMultiples(
                title: "Cosine similarity, questions (rows) x images (columns): random projection",
                panels: analyses.map {
                    alignmentPanel("\($0.metrics.encoder): random projection", $0.projection, scene)
                },
                columns: 3), "fusion/similarity_projection.svg",
            caption:
                "Q numbers follow the question table above. Each panel's colours span its own values, symmetric "
                + "about 0 (see its colour bar); the outlined cell is the image the question was asked about.",
            into: &report)
        try folder.figure(
            SmallMultiples(
                title: "Cosine similarity: label bridge",
                panels: analyses.map { alignmentPanel("\($0.metrics.encoder): label bridge", $0.bridge, scene) },
                columns: 3),
            "fusion/similarity_label_bridge.svg",
            caption: "As above, through the label bridge; the outlined cell is the question's own image.",
            into: &report)
        try folder.figure(
            GroupedBarChart(
                title: "Similarity of each question to its own image (label bridge)", yLabel: "cosine",
                categories: scene.items.indices.map { "Q\($0 + 1)" },
                groups: analyses.map { (name: $0.metrics.encoder, values: $0.ownSimilarity) }),
            "fusion/own_image_similarity.svg",
            caption: "Per question and encoder, the cosine between the question and the image it was asked about.",
            into: &report)
    }

    /// The encoders side by side, every measure.
    static func encoderTable(_ metrics: [EncoderMetrics], _ report: inout HTMLReport) {
        report.table(
            headers: [
                "encoder", "trajectory length", "||h_T|| / ||h_1||", "cos(h_t, h_t-1)", "effective dim.",
                "PCA 2-D share", "match: projection", "match: label bridge", "mean-pooled: projection",
                "mean-pooled: label bridge", "t-SNE KL"
            ],
            rows: metrics.map { m in
                [
                    m.encoder, fmt(m.meanTrajectoryLength, 3), fmt(m.meanNormGrowth, 3), fmt(m.meanAdjacentCosine, 3),
                    fmt(m.effectiveDimensionality, 3),
                    String(format: "%.0f%%", 100 * m.pcaExplained2),
                    String(format: "%.0f%%", 100 * m.projectionMatchRate),
                    String(format: "%.0f%%", 100 * m.labelBridgeMatchRate),
                    String(format: "%.0f%%", 100 * m.meanPooledProjectionMatchRate),
                    String(format: "%.0f%%", 100 * m.meanPooledLabelBridgeMatchRate), fmt(m.tsneKL, 3)
                ]
            },
            caption: "Encoders compared (means over questions)")
    }

    /// The probe's accuracy per lag: each encoder (mean over its initialisations) against the controls.
    static func memoryFigure(_ m: MemoryProbe.Result, _ folder: RunFolder, _ report: inout HTMLReport) throws {
        let lags = m.lags.map { Double($0.lag) }
        let encoders = (m.lags.first?.encoders ?? []).indices.map { e in
            LineSeries(
                name: m.lags[0].encoders[e].encoder, x: lags, y: m.lags.map { Stats.mean($0.encoders[e].accuracy) },
                color: Palette.color(e))
        }
        let controls = [
            LineSeries(
                name: "current word and position", x: lags, y: m.lags.map(\.currentWord), dashed: true, color: "#444444"
            ),
            LineSeries(
                name: "shuffled labels", x: lags, y: m.lags.map { Stats.mean($0.encoders.flatMap(\.shuffled)) },
                dashed: true, color: "#999999"),
            LineSeries(name: "most frequent word", x: lags, y: m.lags.map(\.majority), dashed: true, color: "#bbbbbb")
        ]
        report.section("Memory of earlier words, measured", level: 3)
        try folder.figure(
            LineChart(
                title: "Linear probe: the word k back decoded from h_t (held-out questions)", xLabel: "lag k",
                yLabel: "accuracy", series: encoders + controls, markers: true),
            "fusion/memory_probe.svg",
            caption: """
                A ridge probe from each untrained encoder's state after a word to the word k positions back, fitted \
                and scored in \(m.folds) folds by question over \(m.questions) questions (\(m.words) words); lag 0 is \
                the current word. Dashed: the controls without memory.
                """,
            into: &report)
    }
}
