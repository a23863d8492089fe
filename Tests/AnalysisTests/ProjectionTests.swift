import XCTest
import TensorCore
@testable import Analysis

final class ProjectionTests: XCTestCase {
    func testJacobiEigenOfAKnownMatrix() {
        let e = Projection.symmetricEigen([[2, 1, 0], [1, 2, 0], [0, 0, 5]])
        XCTAssertEqual(e.values[0], 5, accuracy: 1e-12); XCTAssertEqual(e.values[1], 3, accuracy: 1e-12);
        XCTAssertEqual(e.values[2], 1, accuracy: 1e-12)
        XCTAssertEqual(abs(e.vectors[1][0]), 1 / 2.0.squareRoot(), accuracy: 1e-12)
    }

    /// Points on a line in 5-D: one component explains everything; coordinates are the positions along it.
    func testPCARecoversALineAndBothRoutesAgree() {
        let dir = [1.0, 2, -2, 0, 4].map { $0 / 5 }
        let ts = [-2.0, -1, 0, 0.5, 3]
        let pts = ts.map { t in dir.map { $0 * t + 0.3 } }
        let r = Projection.pca(pts, components: 2)  // n = d: covariance route
        XCTAssertEqual(r.explainedRatio[0], 1, accuracy: 1e-9)
        XCTAssertEqual(r.effectiveDimensionality, 1, accuracy: 1e-9)
        let mean = ts.reduce(0, +) / 5
        for (c, t) in zip(r.coordinates, ts) {
            XCTAssertEqual(abs(c[0]), abs(t - mean), accuracy: 1e-9); XCTAssertEqual(c[1], 0, accuracy: 1e-9)
        }
        let gram = Projection.pca(Array(pts.prefix(3)), components: 2)  // n < d: Gram route
        let cov = Projection.pca(Array(pts.prefix(3)).map { $0 + [0, 0, 0] }, components: 2)
        for (a, b) in zip(gram.coordinates, cov.coordinates) { XCTAssertEqual(abs(a[0]), abs(b[0]), accuracy: 1e-9) }
    }

    /// Two well-separated clusters stay separated in the t-SNE map, and a seed fixes the result.
    func testTSNESeparatesClustersAndIsSeeded() {
        var rng = SeededRandom(seed: 2)
        let pts = (0..<20).map { i in (0..<8).map { _ in rng.normal() * 0.1 + (i < 10 ? 0 : 5) } }
        let a = Projection.tsne(pts, perplexity: 30, iterations: 400, seed: 1)
        XCTAssertEqual(a.perplexity, 19.0 / 3, accuracy: 1e-12)  // capped for 20 points
        let b = Projection.tsne(pts, perplexity: 30, iterations: 400, seed: 1)
        XCTAssertEqual(a.coordinates, b.coordinates)
        func centroid(_ r: Range<Int>) -> [Double] {
            [r.reduce(0) { $0 + a.coordinates[$1][0] } / 10, r.reduce(0) { $0 + a.coordinates[$1][1] } / 10]
        }
        let c0 = centroid(0..<10), c1 = centroid(10..<20)
        let between = ((c0[0] - c1[0]) * (c0[0] - c1[0]) + (c0[1] - c1[1]) * (c0[1] - c1[1])).squareRoot()
        let within = (0..<10).map { i in
            ((a.coordinates[i][0] - c0[0]) * (a.coordinates[i][0] - c0[0]) + (a.coordinates[i][1] - c0[1])
                * (a.coordinates[i][1] - c0[1]))
                .squareRoot()
        }.max()!
        XCTAssertGreaterThan(between, 2 * within, "\(a.coordinates)")
        XCTAssertLessThan(a.kl, 1)
    }

    func testCosine() {
        XCTAssertEqual(Projection.cosine([1, 0], [0, 1]), 0)
        XCTAssertEqual(Projection.cosine([1, 1], [2, 2]), 1, accuracy: 1e-15)
        XCTAssertEqual(Projection.cosine([0, 0], [1, 1]), 0)
    }
}

final class UnitsOverTextTests: XCTestCase {
    func testTextFeaturesOfAFixedString() {
        let f = Dictionary(
            uniqueKeysWithValues: TextFeatures.compute(Array("ab \"cd\" (e1)\nx")).map { ($0.name, $0.values) })
        //                                     a  b  _  "  c  d  "  _  (  e  1  )  \n x
        XCTAssertEqual(f["position in line"], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0])
        XCTAssertEqual(f["inside quotes"], [0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(f["inside brackets"], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0])
        XCTAssertEqual(f["inside a word"], [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(f["after a space"], [0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
        XCTAssertEqual(f["line end"], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(f["digit"], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    }

    /// A synthetic sequence where unit 2 is built to follow quotes: the ranking finds it, with r near 1.
    func testTheUnitBuiltToFollowQuotesIsFound() throws {
        let text = Array(String(repeating: "say \"hello there\" and go; ", count: 8))
        let quotes = TextFeatures.compute(text)[1].values
        var rng = SeededRandom(seed: 3)
        let activations = quotes.map { q in
            (0..<5).map { u in u == 2 ? 0.8 * q - 0.4 + 0.05 * rng.normal() : rng.normal() }
        }
        let best = try XCTUnwrap(UnitCorrelation.best(activations, quotes))
        XCTAssertEqual(best.unit, 2)
        XCTAssertGreaterThan(best.r, 0.95)
        XCTAssertEqual(UnitCorrelation.pearson([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-12)
        XCTAssertEqual(UnitCorrelation.pearson([1, 1, 1], [2, 4, 6]), 0, "a constant unit correlates with nothing")
    }
}
