import Foundation
import Workbench
import TensorCore
import Recurrent
import Datasets
import Vision
import Analysis
import Charts
import Statistics

/// Experiment 3: CNN + RNN fusion for visual question answering, without training. A pretrained CNN gives
/// image features; untrained (seeded) RNN / LSTM / GRU encoders read the questions word by word; the report
/// shows the encoders' hidden-state dynamics and how the two modalities line up.
package enum FusionExperiment {
    /// A legend label of at most `limit` characters, with an ellipsis when cut.
    static func shortened(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "\u{2026}"
    }

    /// Where the question encoders' word vectors come from.
    package enum WordVectors: String, Codable, CaseIterable, Sendable {
        /// Seeded Gaussian vectors, one per word (no pretrained knowledge).
        case random
        /// all-MiniLM-L6-v2's pretrained word-piece embeddings.
        case minilm
        /// The pretrained ones where their data can be had, else the seeded random ones (the report says which).
        case auto
    }

    package struct Options: Codable, Sendable {
        package var seed: UInt64 = 7
        package var hidden = 128, commonDimension = 128
        package var embeddings = WordVectors.auto
        package var backbone = BackboneName.efficientnetLite0
        /// ResNet-18 weights in torchvision's layout (.pth or safetensors); nil: torchvision's cache.
        package var backboneWeights: String? = nil
        package var randomEmbeddingDimension = 64
        package var easyVQAImages = 4, questionsPerEasyVQAImage = 2
        /// A VQA v2 or COCO-QA folder to take the questions from (nil: the built-in photos and easy-vqa), the
        /// folder of its COCO images, how many images to use and how many questions of each.
        package var vqaDirectory: String? = nil, vqaImageDirectory: String? = nil
        package var vqaImages = 8, questionsPerImage = 2
        package var tsneIterations = 1000
        /// Random initialisations of each encoder the dynamics are compared over (the figures show the first).
        package var initialisations = 5
        /// The encoders compared.
        package var cells = CellKind.studied
        package init(quick: Bool = false) { if quick { easyVQAImages = 2; tsneIterations = 400; initialisations = 1 } }
    }

    package struct Item: Codable, Sendable {
        package var image: String; package var question: String; package var answer: String?
    }

    package struct EncoderMetrics: Codable, Sendable {
        package var cell: CellKind
        package var encoder: String { cell.displayName }
        package var meanTrajectoryLength: Double  // sum_t ||h_t - h_{t-1}||, mean over questions
        package var meanNormGrowth: Double  // ||h_T|| / ||h_1||
        package var meanAdjacentCosine: Double  // cos(h_t, h_{t-1})
        package var effectiveDimensionality: Double  // participation ratio of the PCA spectrum of all states
        package var pcaExplained2: Double  // variance share of the first two components
        package var projectionMatchRate: Double  // questions whose own image is the most similar (random projection)
        package var labelBridgeMatchRate: Double  // the same with the label-bridge fusion
        package var tsneKL: Double
        /// The same two match rates with the question pooled as the mean of its hidden states (the
        /// assignment's pooling) instead of its last state.
        package var meanPooledProjectionMatchRate = Double.nan, meanPooledLabelBridgeMatchRate = Double.nan
        /// cos(mean of h_t, h_T), mean over questions: how much the two poolings agree.
        package var poolingAgreement = Double.nan
        /// Mean cos(h_t, h_{t+k}) over all questions for k = 1, 2, 3 (the heatmaps' off-diagonals).
        package var similarityAtLag: [Double] = []
        /// Mean pairwise cosine between different questions' vectors, last state and mean-pooled: how much the
        /// encoder tells the questions apart (lower: more distinct).
        package var lastStateCrossQuestion = Double.nan, meanPooledCrossQuestion = Double.nan
    }

    package struct Summary: Codable, Sendable {
        package var backbone: String, embeddings: String
        package var items: [Item]
        package var imageTop5: [String: [String]]
        package var metrics: [EncoderMetrics]
        /// The seed of the encoders' first initialisation, and the dynamics over every initialisation (absent with
        /// one).
        package var seed: UInt64
        package var spread: SeedComparison?
        /// What a linear probe decodes of earlier words from each encoder's state (Q3.5's memory measure).
        package var memory: MemoryProbe.Result?
        package var findings: [Finding]
    }

    /// Photos with questions written for them (scikit-image's CC0 sample photos).
    static let photoQuestions: [(String, [String])] = [
        ("chelsea.png", ["what animal is sitting near the window?"]),
        ("coffee.png", ["what drink is in the cup?"]),
        ("astronaut.png", ["what is the astronaut wearing?"]),
        ("rocket.jpg", ["is the rocket on the launch pad?"]),
        ("motorcycle_left.png", ["what vehicle is shown in the picture?"])
    ]

    typealias Questions = (images: [(name: String, image: RGBImage)], items: [Item], source: String)

    /// scikit-image's photos with questions written for them, and the first easy-vqa test images with theirs.
    static func builtInQuestions(_ o: Options, _ cache: DataCache) throws -> Questions {
        var images: [(name: String, image: RGBImage)] = [], items: [Item] = []
        for (file, qs) in photoQuestions {
            let url = try cache.file(DataSource.skimagePhoto(file))
            images.append((file, try RGBImage(contentsOf: url)))
            items += qs.map { Item(image: file, question: $0, answer: nil) }
        }
        let questionsURL = try cache.file(.easyVQA)
        guard let all = try JSONSerialization.jsonObject(with: DataError.contents(of: questionsURL)) as? [[Any]] else {
            throw DataError("\(questionsURL.path): expected a list of [question, answer, image_id]")
        }
        for id in 0..<o.easyVQAImages {
            let name = "easy-vqa \(id).png"
            images.append(
                (name, try RGBImage(contentsOf: try cache.member("easy_vqa/data/test/images/\(id).png", of: .easyVQA))))
            let qs = all.filter { ($0.count == 3) && ($0[2] as? Int) == id }.prefix(o.questionsPerEasyVQAImage)
            items += qs.map { Item(image: name, question: $0[0] as? String ?? "", answer: $0[1] as? String) }
        }
        return (
            images, items,
            "\(photoQuestions.count) scikit-image photos and \(o.easyVQAImages) easy-vqa test images"
        )
    }

    /// The first `vqaImages` images of a VQA v2 or COCO-QA folder that are present under `vqaImageDirectory`,
    /// with up to `questionsPerImage` of their questions each.
    static func datasetQuestions(_ o: Options, folder: URL) throws -> Questions {
        let (format, questions) = try VisualQuestions.load(folder)
        guard let imageDir = o.vqaImageDirectory.map({ URL(fileURLWithPath: $0) }) else {
            throw DataError("--vqa needs --images, the folder of the COCO images its questions refer to")
        }
        var order: [Int] = [], byImage: [Int: [VisualQuestion]] = [:]
        for q in questions {
            if byImage[q.imageID] == nil { order.append(q.imageID) }
            byImage[q.imageID, default: []].append(q)
        }
        var images: [(name: String, image: RGBImage)] = [], items: [Item] = [], missing = 0
        for id in order where images.count < o.vqaImages {
            guard let url = VisualQuestions.imageFile(id: id, in: imageDir) else { missing += 1; continue }
            let name = url.lastPathComponent
            images.append((name, try RGBImage(contentsOf: url)))
            items += byImage[id]!.prefix(o.questionsPerImage).map {
                Item(image: name, question: $0.question, answer: $0.answer)
            }
        }
        guard !images.isEmpty else {
            throw DataError(
                "\(imageDir.path): none of the \(order.count) images the \(format.rawValue) questions refer to is there"
            )
        }
        let skipped = missing > 0 ? "; \(missing) earlier images without a file skipped" : ""
        return (
            images, items,
            """
            \(format.rawValue) from \(folder.lastPathComponent): the first \(images.count) of its \(order.count) \
            images with a file in \(imageDir.lastPathComponent)\(skipped), up to \(o.questionsPerImage) questions each
            """
        )
    }

    /// What every encoder reads and is compared with: the images and questions, the CNN's view of each image, the
    /// words of every question and of every image's class names, and the word vectors.
    struct Scene {
        var images: [(name: String, image: RGBImage)]
        var items: [Item]
        var source: String
        var backbone: String, featureSize: Int, preprocessing: String
        /// Why the backbone asked for was not used, when it was not.
        var note: String?
        var features: [[Double]]
        var top5: [String: [(name: String, probability: Double)]]
        var wordLists: [[String]]
        var labelWords: [[[String]]]
        var embeddings: WordEmbeddings
        /// The seeded random word vectors, measured beside pretrained ones (nil when they are the ones used).
        var comparison: WordEmbeddings?
        /// The questions whose trajectories the maps draw: the first photo question, the first easy-vqa one, the last.
        var shown: [Int] { Array(Set([0, photoQuestions.count, items.count - 1])).sorted().filter { $0 < items.count } }
        /// The question whose word-by-word similarity is shown: the first easy-vqa one (else the only one shown).
        var wordSimilarityQuestion: Int { shown.count > 1 ? shown[1] : shown[0] }
        /// For each question, the index of the image it was asked about.
        var ownImage: [Int?] { items.map { item in images.firstIndex { $0.name == item.image } } }
    }

    /// What Experiment 3 measured, as its drawing reads it: the summary (fusion/results.json), the scene, and each
    /// encoder's reading with the panels of its figures.
    package struct Measured {
        package var summary: Summary
        var options: Options, scene: Scene, analyses: [EncoderAnalysis]
    }

    /// Experiment 3 measured: the scene, every encoder's reading, the spread over initialisations and the memory
    /// probe, and the findings they support; fusion/results.json and the metrics CSV written.
    package static func measure(_ o: Options, _ context: RunContext) throws -> Measured {
        let scene = try loadScene(o, context)
        let analyses = try o.cells.map { try analyse($0, scene, o, threads: context.threads) }
        let metrics = analyses.map(\.metrics)
        let spread = try initialisationSpread(o, scene, threads: context.threads)
        let memory = try MemoryProbe.measure(
            questions: probeQuestions(scene, context.cache), cells: o.cells,
            seeds: OverSeeds.seeds(o.seed, count: o.initialisations), hidden: o.hidden, embeddings: scene.embeddings,
            threads: context.threads, seed: o.seed)
        // The rankings of one initialisation are details under the memory probe over all of them.
        let oneInitialisation =
            (findingsText(metrics, images: scene.images.count, questions: scene.items.count)
            + qualitativeFindings(metrics)).map {
                Finding(.detail, "Seed \(o.seed)'s encoders: " + $0.text, numbers: $0.numbers)
            }
        let probe = Answers.memoryAnswer(memory, initialisations: o.initialisations)
        let findings =
            [Finding(.headline, probe.summary + " " + probe.answer, numbers: probe.numbers)]
            + oneInitialisation
        let summary = Summary(
            backbone: scene.backbone, embeddings: scene.embeddings.name, items: scene.items,
            imageTop5: scene.top5.mapValues { $0.map { "\($0.name) \(String(format: "%.3f", $0.probability))" } },
            metrics: metrics, seed: o.seed, spread: spread, memory: memory, findings: findings)
        try context.folder.writeJSON(summary, to: "fusion/results.json")
        try writeCSV(metrics, context.folder)
        return Measured(summary: summary, options: o, scene: scene, analyses: analyses)
    }

    /// The images and questions (the user's VQA v2 / COCO-QA files, else the built-in photos and easy-vqa), the
    /// pretrained CNN's features and top-5 classes of every image, and the word vectors.
    static func loadScene(_ o: Options, _ context: RunContext) throws -> Scene {
        let cache = context.cache
        // A folder the user named that does not fit is a failed run, not data that is merely unavailable (which
        // skips the experiment): hence not a DataError.
        let (images, items, source) =
            try o.vqaDirectory.map { path in
                do { return try datasetQuestions(o, folder: URL(fileURLWithPath: path)) } catch let e as DataError {
                    throw InputError(description: "--vqa: \(e.description)")
                }
            }
            ?? builtInQuestions(o, cache)
        let choice = try Pretrained.backbone(
            o.backbone, weights: o.backboneWeights.map { URL(fileURLWithPath: $0) }, cache: cache)
        let net = choice.backbone, classNames = try Pretrained.imagenetClassNames(cache)
        if let note = choice.note { cache.log("  \(note)") }
        var features: [[Double]] = [], top5: [String: [(name: String, probability: Double)]] = [:]
        for (name, img) in images {
            let f = try net.features(try net.preprocess(img), threads: context.threads)
            features.append(f.map(Double.init))
            top5[name] = try Pretrained.topK(net.logits(features: f), names: classNames)
        }
        let wordLists = items.map { WordEmbeddings.words($0.question) }
        let labelWords = images.map { top5[$0.name]!.map { WordEmbeddings.words($0.name) } }
        let random = WordEmbeddings.seededRandom(
            vocabulary: wordLists.flatMap { $0 } + labelWords.flatMap { $0.flatMap { $0 } },
            dimension: o.randomEmbeddingDimension, seed: o.seed)
        var embeddings = random, comparison: WordEmbeddings? = nil
        switch o.embeddings {
        case .random: break
        case .minilm: embeddings = try WordEmbeddings.miniLM(cache); comparison = random
        case .auto:
            do {
                embeddings = try WordEmbeddings.miniLM(cache); comparison = random
            } catch let e as DataError {
                cache.log("  pretrained word vectors cannot be had (\(e.description)); seeded random ones instead")
            }
        }
        return Scene(
            images: images, items: items, source: source, backbone: net.name, featureSize: net.featureSize,
            preprocessing: net.preprocessingDescription, note: choice.note, features: features, top5: top5,
            wordLists: wordLists, labelWords: labelWords, embeddings: embeddings, comparison: comparison)
    }

    /// One encoder's reading of every question: its measurements and what its panels of the report's figures show.
    struct EncoderAnalysis {
        var metrics: EncoderMetrics
        /// Every state of every question on the first two principal components, and their share of the variance.
        var pca: [[Double]], pcaShare: Double
        /// The same states by t-SNE, and its perplexity.
        var tsne: [[Double]], perplexity: Double
        /// cos(h_i, h_j) over the words of the question the word-similarity figure shows.
        var wordSimilarity: [[Double]]
        /// Questions x images: cosine through the random projection and through the label bridge.
        var projection: [[Double]], bridge: [[Double]]
        /// Per question, the cosine to its own image through the label bridge.
        var ownSimilarity: [Double]
    }

    /// Encodes every question with `cell`'s encoder (first initialisation) and measures the states: their maps,
    /// their dynamics and how they line up with the images.
    static func analyse(_ cell: CellKind, _ scene: Scene, _ o: Options, threads: Int) throws -> EncoderAnalysis {
        let encode = encoder(cell, seed: o.seed, hidden: o.hidden, embeddings: scene.embeddings, threads: threads)
        let states = try scene.wordLists.map(encode)
        let allStates = states.flatMap { $0 }
        let dynamic = dynamics(states)
        let growth = states.map { s in Projection.norm(s.last!) / max(Projection.norm(s.first!), 1e-12) }
        let pca = Projection.pca(allStates, components: 2)
        let tsne = Projection.tsne(allStates, perplexity: 30, iterations: o.tsneIterations, seed: o.seed)
        // Each image's top-5 class names read by the same encoder, weighted by their probabilities (label bridge).
        let labelStates = try scene.labelWords.map { names in
            try names.map { try encode($0.isEmpty ? ["?"] : $0).last! }
        }
        let zLabel = zip(labelStates, scene.images).map { ls, img -> [Double] in
            let ps = scene.top5[img.name]!.map(\.probability), total = ps.reduce(0, +)
            return (0..<o.hidden).map { j in zip(ls, ps).reduce(0) { $0 + $1.0[j] * $1.1 / total } }
        }
        let finals = states.map { $0.last! }
        // The assignment's pooling: the mean of the hidden states over the question's words.
        let means = states.map { s in (0..<o.hidden).map { j in s.reduce(0) { $0 + $1[j] } / Double(s.count) } }
        let last = similarities(finals, zLabel, scene, o), pooled = similarities(means, zLabel, scene, o)
        let metrics = EncoderMetrics(
            cell: cell, meanTrajectoryLength: dynamic.length,
            meanNormGrowth: growth.reduce(0, +) / Double(growth.count), meanAdjacentCosine: dynamic.adjacent,
            effectiveDimensionality: pca.effectiveDimensionality,
            pcaExplained2: pca.explainedRatio.prefix(2).reduce(0, +),
            projectionMatchRate: matchRate(last.projection, scene), labelBridgeMatchRate: matchRate(last.bridge, scene),
            tsneKL: tsne.kl, meanPooledProjectionMatchRate: matchRate(pooled.projection, scene),
            meanPooledLabelBridgeMatchRate: matchRate(pooled.bridge, scene),
            poolingAgreement: Self.mean(zip(means, finals).map { Projection.cosine($0, $1) }),
            similarityAtLag: dynamic.lags, lastStateCrossQuestion: Self.meanPairwiseCosine(finals),
            meanPooledCrossQuestion: Self.meanPairwiseCosine(means))
        let words = states[scene.wordSimilarityQuestion]
        return EncoderAnalysis(
            metrics: metrics, pca: pca.coordinates, pcaShare: pca.explainedRatio.prefix(2).reduce(0, +),
            tsne: tsne.coordinates, perplexity: tsne.perplexity,
            wordSimilarity: words.map { a in words.map { Projection.cosine(a, $0) } }, projection: last.projection,
            bridge: last.bridge,
            ownSimilarity: scene.ownImage.enumerated().map { q, i in i.map { last.bridge[q][$0] } ?? .nan })
    }

    /// Cosine of every question vector with every image, two ways. Random projection: question and image feature
    /// (centred over the image set) mapped to a common space by fixed seeded Gaussian matrices (entries N(0, 1/d_in)).
    /// Label bridge: against the image's class names read by the encoder (`labels`), in the encoder's own space.
    static func similarities(_ questions: [[Double]], _ labels: [[Double]], _ scene: Scene, _ o: Options) -> (
        projection: [[Double]], bridge: [[Double]]
    ) {
        var prng = SeededRandom(seed: SeedStream.fusionProjection.seed(o.seed))
        let dImg = scene.features[0].count, D = o.commonDimension
        let pImg = (0..<(D * dImg)).map { _ in prng.normal() / Double(dImg).squareRoot() }
        let pQ = (0..<(D * o.hidden)).map { _ in prng.normal() / Double(o.hidden).squareRoot() }
        let meanF = (0..<dImg).map { j in scene.features.reduce(0) { $0 + $1[j] } / Double(scene.features.count) }
        func project(_ v: [Double], _ p: [Double]) -> [Double] {
            (0..<D).map { r in zip(v.indices, v).reduce(0) { $0 + p[r * v.count + $1.0] * $1.1 } }
        }
        let zImg = scene.features.map { project(zip($0, meanF).map { $0 - $1 }, pImg) }
        let projection = questions.map { q in
            let z = project(q, pQ); return zImg.map { Projection.cosine(z, $0) }
        }
        return (projection, questions.map { q in labels.map { Projection.cosine(q, $0) } })
    }

    /// The share of questions whose own image is the most similar of all images.
    static func matchRate(_ sim: [[Double]], _ scene: Scene) -> Double {
        let own = scene.ownImage
        return Double(
            sim.indices.filter { q in sim[q].indices.max { sim[q][$0] < sim[q][$1] } == own[q] }.count)
            / Double(max(sim.count, 1))
    }

    static func writeCSV(_ metrics: [EncoderMetrics], _ folder: RunFolder) throws {
        try folder.writeCSV(
            [
                "encoder", "trajectory_length", "norm_growth", "adjacent_cosine", "effective_dimensionality",
                "pca_2d_share", "match_projection", "match_label_bridge", "match_projection_mean_pooled",
                "match_label_bridge_mean_pooled", "pooling_agreement", "tsne_kl"
            ],
            metrics.map {
                [
                    $0.encoder, String($0.meanTrajectoryLength), String($0.meanNormGrowth),
                    String($0.meanAdjacentCosine), String($0.effectiveDimensionality),
                    String($0.pcaExplained2), String($0.projectionMatchRate), String($0.labelBridgeMatchRate),
                    String($0.meanPooledProjectionMatchRate), String($0.meanPooledLabelBridgeMatchRate),
                    String($0.poolingAgreement), String($0.tsneKL)
                ]
            }, to: "fusion/encoders.csv")
    }

    /// An untrained encoder of `cell` drawn from `seed` (PyTorch's default initialisation), as a function from a
    /// question's words to its hidden state after each word.
    static func encoder(
        _ cell: CellKind, seed: UInt64, hidden: Int, embeddings: WordEmbeddings, threads: Int
    ) -> ([String]) throws -> [[Double]] {
        var rng = SeededRandom(seed: seed)
        let network = RecurrentNetwork<Float>(
            config: RecurrentConfig(cell: cell, inputSize: embeddings.dimension, hiddenSize: hidden), rng: &rng)
        network.threads = threads
        return { words in
            let x = try Tensor<Float>(
                shape: [1, words.count, embeddings.dimension], data: words.flatMap { embeddings.vector($0) })
            let out = try network.forward(x).output
            return (0..<words.count).map { t in out.data[(t * hidden)..<((t + 1) * hidden)].map(Double.init) }
        }
    }

    /// The dynamics of an encoder's states over every question: trajectory length (sum of ||h_t - h_t-1||), the
    /// cosine of adjacent states, and the mean cos(h_t, h_t+k) for k = 1, 2, 3.
    static func dynamics(_ states: [[[Double]]]) -> (length: Double, adjacent: Double, lags: [Double]) {
        let lengths = states.map { s in
            zip(s.dropFirst(), s).reduce(0.0) { $0 + Projection.norm(zip($1.0, $1.1).map { $0 - $1 }) }
        }
        let lags = (1...3).map { k in
            mean(states.flatMap { s in s.indices.dropLast(k).map { Projection.cosine(s[$0], s[$0 + k]) } })
        }
        return (mean(lengths), lags[0], lags)
    }

    /// The dynamics of every encoder over `o.initialisations` random initialisations (the words' vectors fixed),
    /// so a comparison of encoders can be tested against the spread of their initialisation; nil with one.
    static func initialisationSpread(_ o: Options, _ scene: Scene, threads: Int) throws -> SeedComparison? {
        guard o.initialisations > 1 else { return nil }
        let seeds = OverSeeds.seeds(o.seed, count: o.initialisations)
        var measures: [String: [SeedSeries]] = [:]
        let vectors = [(scene.embeddings, "")] + (scene.comparison.map { [($0, randomWordVectors)] } ?? [])
        for cell in o.cells {
            for (embeddings, suffix) in vectors {
                let runs = try seeds.map { seed in
                    dynamics(
                        try scene.wordLists.map(
                            encoder(cell, seed: seed, hidden: o.hidden, embeddings: embeddings, threads: threads)))
                }
                measures["similarity at lag 3" + suffix, default: []].append(
                    SeedSeries(model: cell.displayName, values: runs.map { $0.lags[2] }))
                measures["adjacent cosine" + suffix, default: []].append(
                    SeedSeries(model: cell.displayName, values: runs.map(\.adjacent)))
                measures["trajectory length" + suffix, default: []].append(
                    SeedSeries(model: cell.displayName, values: runs.map(\.length)))
            }
        }
        return SeedComparison(seeds: seeds, measures: measures)
    }

    /// The suffix of the spread's measures taken with the seeded random word vectors beside pretrained ones.
    static let randomWordVectors = " (random word vectors)"

    static func mean(_ v: [Double]) -> Double { Stats.mean(v) }

    /// Mean cosine over all pairs of different vectors.
    static func meanPairwiseCosine(_ v: [[Double]]) -> Double {
        mean(v.indices.flatMap { i in v.indices.filter { $0 > i }.map { Projection.cosine(v[i], v[$0]) } })
    }

    /// What the trajectories, heatmaps and the two poolings show, stated from their measurements.
    static func qualitativeFindings(_ m: [EncoderMetrics]) -> [Finding] {
        var lines: [Finding] = []
        let percent = { (v: Double) -> String in String(format: "%.0f%%", 100 * v) }
        let lagged = m.filter { $0.similarityAtLag.count == 3 && $0.similarityAtLag.allSatisfy(\.isFinite) }
        if let slow = lagged.max(by: { $0.similarityAtLag[2] < $1.similarityAtLag[2] }),
            let fast = lagged.min(by: { $0.similarityAtLag[2] < $1.similarityAtLag[2] })
        {
            let values: [String] = lagged.map { e in
                "\(e.encoder) " + e.similarityAtLag.map { fmt($0, 3) }.joined(separator: ", ")
            }
            let text: String =
                "Heatmaps, measured over every question: cos(h_t, h_t+k) for k = 1, 2, 3: "
                + values.joined(separator: "; ") + ". \(slow.encoder)'s states stay most alike three words apart "
                + "(the broadest bright band along its diagonal), \(fast.encoder)'s least: a description of how "
                + "much each word changes the state, not a measure of memory (the linear probe is)."
            let numbers = Dictionary(uniqueKeysWithValues: lagged.map { ($0.encoder, $0.similarityAtLag[2]) })
            lines.append(.detail(text, numbers: numbers))
        }
        if let flat = m.max(by: { $0.pcaExplained2 < $1.pcaExplained2 }),
            let spread = m.min(by: { $0.pcaExplained2 < $1.pcaExplained2 })
        {
            let shares: [String] = m.map { "\($0.encoder) \(percent($0.pcaExplained2))" }
            let verdict: String =
                flat.pcaExplained2 - spread.pcaExplained2 < 0.05
                ? "within 5 points of each other: the 2-D maps are equally faithful for every encoder"
                : "so \(flat.encoder)'s PCA picture is the most faithful and \(spread.encoder)'s hides the most "
                    + "(its paths turn through directions the plot cannot show)"
            let text: String =
                "Trajectories: the first two principal components hold " + shares.joined(separator: ", ")
                + " of the states' variance, \(verdict)."
            lines.append(
                .detail(text, numbers: Dictionary(uniqueKeysWithValues: m.map { ($0.encoder, $0.pcaExplained2) })))
        }
        let pooled = m.filter { $0.poolingAgreement.isFinite }
        if !pooled.isEmpty {
            let distinctMean = pooled.filter { $0.meanPooledCrossQuestion < $0.lastStateCrossQuestion }.map(\.encoder)
            let distinctLast = pooled.filter { $0.meanPooledCrossQuestion >= $0.lastStateCrossQuestion }.map(\.encoder)
            let agreement: [String] = pooled.map { "\($0.encoder) \(fmt($0.poolingAgreement, 3))" }
            let cross: [String] = pooled.map {
                "\($0.encoder) \(fmt($0.lastStateCrossQuestion, 3)) / \(fmt($0.meanPooledCrossQuestion, 3))"
            }
            let rates: [String] = pooled.map {
                "\($0.encoder) \(percent($0.meanPooledProjectionMatchRate)) / "
                    + percent($0.meanPooledLabelBridgeMatchRate)
            }
            var text: String =
                "Pooling: the mean of the hidden states (the assignment's) and the last state agree with cosine "
                + agreement.joined(separator: ", ") + "; different questions' vectors have mean cosine "
                + "(last state / mean) " + cross.joined(separator: ", ")
            if !distinctMean.isEmpty {
                text += "; mean pooling tells the questions apart better for \(distinctMean.joined(separator: ", "))"
            }
            if !distinctLast.isEmpty { text += "; the last state does for \(distinctLast.joined(separator: ", "))" }
            text +=
                "; match rates with mean pooling (projection / label bridge): " + rates.joined(separator: ", ") + "."
            let numbers = Dictionary(uniqueKeysWithValues: pooled.map { ($0.encoder, $0.poolingAgreement) })
            lines.append(.detail(text, numbers: numbers))
        }
        return lines
    }

    static func findingsText(_ m: [EncoderMetrics], images: Int, questions: Int) -> [Finding] {
        var lines: [Finding] = []
        /// One sentence ranking the encoders on `key`, with each encoder's value.
        func rank(
            _ key: (EncoderMetrics) -> Double, _ what: String, _ meaning: String, _ verdict: String = "",
            headline: Bool = false
        ) {
            let s = m.sorted { key($0) > key($1) }
            lines.append(
                Finding(
                    headline ? .headline : .detail,
                    "\(what): " + s.map { "\($0.encoder) \(fmt(key($0), 3))" }.joined(separator: " > ")
                        + " - \(meaning)\(verdict).",
                    numbers: Dictionary(uniqueKeysWithValues: s.map { ($0.encoder, key($0)) })))
        }
        /// The gated encoders that measure above / not above the vanilla RNN on `key`.
        func againstRNN(_ key: (EncoderMetrics) -> Double, more: String, less: String) -> String {
            guard let rnn = m.first(where: { $0.cell == .rnn }) else { return "" }
            let gated = m.filter { $0.encoder != rnn.encoder }
            let above = gated.filter { key($0) > key(rnn) }.map(\.encoder),
                below = gated.filter { key($0) <= key(rnn) }.map(\.encoder)
            return (above.isEmpty ? "" : "; \(above.joined(separator: " and ")) \(more) than the RNN")
                + (below.isEmpty ? "" : "; \(below.joined(separator: " and ")) \(less) than the RNN")
        }
        rank(
            \.meanTrajectoryLength, "Trajectory length (sum of ||h_t - h_t-1|| per question)",
            "how far each word moves the state", headline: true)
        rank(
            \.meanAdjacentCosine, "Similarity of adjacent states", "how much of the previous state survives a word",
            againstRNN(\.meanAdjacentCosine, more: "keep more of it", less: "keep no more of it"), headline: true)
        let growing = m.filter { $0.meanNormGrowth > 1 }.map(\.encoder),
            bounded = m.filter { $0.meanNormGrowth <= 1 }.map(\.encoder)
        rank(
            \.meanNormGrowth, "State norm growth ||h_T|| / ||h_1||", "whether the state accumulates (> 1) or not",
            (growing.isEmpty ? "" : "; it grows over the question for \(growing.joined(separator: ", "))")
                + (bounded.isEmpty ? "" : "; it does not grow for \(bounded.joined(separator: ", "))"))
        rank(
            \.effectiveDimensionality, "Effective dimensionality of all states",
            "how many directions the encoder spreads the questions over")
        let chance = 1.0 / Double(max(images, 1))
        for x in m {
            lines.append(
                """
                \(x.encoder): the question's own image is the most similar of \(images) for \
                \(String(format: "%.0f%%", 100 * x.projectionMatchRate)) of questions with the random projection \
                and \(String(format: "%.0f%%", 100 * x.labelBridgeMatchRate)) with the label bridge (chance \
                \(String(format: "%.0f%%", 100 * chance))).
                """
            )
        }
        lines.append(
            alignmentVerdict(
                m.map(\.projectionMatchRate), method: "random projection", chance: chance, questions: questions))
        lines.append(
            alignmentVerdict(
                m.map(\.labelBridgeMatchRate), method: "label bridge", chance: chance, questions: questions))
        return lines
    }

    /// Whether the mean match rate over the encoders differs from chance by more than two binomial standard
    /// errors of a rate measured on `questions` questions.
    static func alignmentVerdict(_ rates: [Double], method: String, chance: Double, questions: Int) -> String {
        let mean = rates.reduce(0, +) / Double(max(rates.count, 1))
        let se = (chance * (1 - chance) / Double(max(questions, 1))).squareRoot()
        let verdict =
            abs(mean - chance) <= 2 * se
            ? """
            within two standard errors (\(String(format: "%.0f", 100 * se)) points each) of chance: no alignment \
            beyond chance
            """
            : mean > chance
                ? """
                above chance by more than two standard errors (\(String(format: "%.0f", 100 * se)) points each): \
                some alignment
                """
                : "below chance by more than two standard errors (\(String(format: "%.0f", 100 * se)) points each)"
        return
            """
            Alignment with the \(method): mean match rate \(String(format: "%.0f%%", 100 * mean)) over the \
            encoders on \(questions) questions, \(verdict).
            """
    }
}
