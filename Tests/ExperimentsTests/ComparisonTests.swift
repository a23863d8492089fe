import Foundation
@testable import Workbench
import XCTest

@testable import Experiments

/// Comparisons: every pair, one family per question adjusted with Holm's method, censored times never averaged, a
/// model against its baseline paired over the same test items, and a "why" that is a test.
final class ComparisonTests: XCTestCase {
    let three = [
        SeedSeries(model: "RNN", values: [0.166, 0.164, 0.167]),
        SeedSeries(model: "LSTM", values: [0.165, 0.166, 0.163]),
        SeedSeries(model: "GRU", values: [0.0006, 0.0009, 0.0016])
    ]

    func testEveryPairIsComparedWithTheBetterFirst() throws {
        let pairs = Compare.allPairs(three, measure: "final MSE", lowerIsBetter: true, positive: true)
        XCTAssertEqual(pairs.count, 3)
        XCTAssertEqual(Set(pairs.map { "\($0.first)<\($0.second)" }), ["LSTM<RNN", "GRU<RNN", "GRU<LSTM"])
        let gru = try XCTUnwrap(pairs.first { $0.first == "GRU" && $0.second == "RNN" })
        XCTAssertEqual(gru.scale, .ratio)
        XCTAssertLessThan(gru.estimate, 0.01)
        XCTAssertGreaterThan(gru.low, 0, "a ratio's interval stays positive")
        XCTAssertEqual(gru.pairs, 3)
    }

    func testHolmWithdrawsAClaimThatOnlyHeldAlone() throws {
        // One comparison at p about 0.02: it holds alone, and not in a family of ten where the rest are noise.
        let a = SeedSeries(model: "A", values: [1.0, 1.1, 1.2, 1.05]),
            b = SeedSeries(model: "B", values: [1.1, 1.3, 1.25, 1.2])
        let one = Compare.allPairs([a, b], measure: "m", lowerIsBetter: true, positive: false)
        let alone = ComparisonFamily(item: "Q", one)
        XCTAssertLessThan(one[0].p, 0.05)
        XCTAssertTrue(alone.comparisons[0].holds)
        let noise = (0..<9).flatMap { k in
            Compare.allPairs(
                [SeedSeries(model: "x\(k)", values: [1, 2, 3, 4]), SeedSeries(model: "y\(k)", values: [2, 1, 4, 3])],
                measure: "noise \(k)", lowerIsBetter: true, positive: false)
        }
        let family = ComparisonFamily(item: "Q", one + noise)
        XCTAssertEqual(family.comparisons.count, 10)
        XCTAssertFalse(family.comparisons[0].holds, "p \(one[0].p) x 10 is above 0.05")
        XCTAssertTrue(family.correction.hasPrefix("0 of 10 comparisons hold after Holm's correction"))
    }

    func testCensoredTimesAreNeverAveraged() throws {
        let times: [(model: String, epochs: [Int?])] = [("RNN", [nil, nil, nil]), ("GRU", [7, 7, 8])]
        let c = try XCTUnwrap(Compare.censoredPairs(times, measure: "epoch to threshold").first)
        XCTAssertEqual(c.first, "GRU")
        XCTAssertEqual(c.estimateText, "GRU ahead in 3 of 3 seeds")
        XCTAssertEqual(c.p, 0.25, accuracy: 1e-12, "three seeds: an exact sign test cannot go lower")
        XCTAssertEqual(Answers.reached([nil, nil, nil], budget: 20), "not reached within 20 epochs (3 of 3 seeds)")
        XCTAssertEqual(Answers.reached([7, nil, 8], budget: 20), "reached in 2 of 3 seeds (epochs 7, -, 8)")
        // Both censored in every seed: nothing to compare.
        XCTAssertTrue(Compare.censoredPairs([("A", [nil]), ("B", [nil])], measure: "t").isEmpty)
    }

    func testAgainstABaselineOverTheSameItems() throws {
        // Per day: the model's squared errors a little below the naive forecast's on every day, over two seeds.
        let naive = (0..<50).map { 0.2 + 0.01 * Double($0 % 7) }
        let model = [naive.map { $0 - 0.02 }, naive.map { $0 - 0.03 }]
        let c = try XCTUnwrap(
            Compare.againstBaseline(
                model: "GRU", perSeed: model, baseline: ("naive forecast", naive), measure: "squared error",
                lowerIsBetter: true))
        XCTAssertEqual(c.first, "GRU")
        XCTAssertEqual(c.estimate, -0.025, accuracy: 1e-12)
        XCTAssertEqual(c.over, "test items")
        XCTAssertEqual(c.pairs, 50)
        let worse = try XCTUnwrap(
            Compare.againstBaseline(
                model: "LSTM", perSeed: [naive.map { $0 + 0.05 }], baseline: ("naive forecast", naive),
                measure: "squared error", lowerIsBetter: true))
        XCTAssertEqual(worse.first, "naive forecast")
        XCTAssertEqual(worse.estimate, -0.05, accuracy: 1e-12)
        XCTAssertNil(
            Compare.againstBaseline(
                model: "X", perSeed: [[1, 2]], baseline: ("b", [1, 2, 3]), measure: "m", lowerIsBetter: true))
    }

    func testTheRankingClauseFollowsTheFamily() {
        let family = ComparisonFamily(
            item: "Q1.2", Compare.allPairs(three, measure: "final MSE", lowerIsBetter: true, positive: true))
        let clause = Answers.ranking(family, measure: "final MSE", better: "lower")
        XCTAssertTrue(
            clause.contains("LSTM and RNN indistinguishable") || clause.contains("RNN and LSTM indistinguishable"),
            clause)
        XCTAssertEqual(Answers.leader(family, measure: "final MSE")?.model, "GRU")
        XCTAssertEqual(Answers.leader(family, measure: "final MSE")?.beaten, ["LSTM", "RNN"])
        // Make the GRU as poor as the others and no one leads.
        let tied = ComparisonFamily(
            item: "Q1.2",
            Compare.allPairs(
                [three[0], three[1], SeedSeries(model: "GRU", values: [0.164, 0.167, 0.165])], measure: "final MSE",
                lowerIsBetter: true, positive: true))
        XCTAssertNil(Answers.leader(tied, measure: "final MSE"))
    }

    func testAWhyIsATestWithItsCounterExamples() {
        // The adding problem: the LSTM had the largest factor at initialisation and did not learn.
        let runs = (1...3).flatMap { seed in
            [
                PredictorTest.Run(model: "RNN", seed: seed, predictor: 0.65, outcome: 0.165, learned: false),
                PredictorTest.Run(model: "LSTM", seed: seed, predictor: 0.83, outcome: 0.166, learned: false),
                PredictorTest.Run(model: "GRU", seed: seed, predictor: 0.654, outcome: 0.001, learned: true)
            ]
        }
        let t = PredictorTest(predictor: "factor at init", outcome: "final MSE", runs: runs)
        XCTAssertFalse(t.predicts)
        XCTAssertTrue(t.sentence.contains("factor at init does not predict final MSE"), t.sentence)
        XCTAssertTrue(t.sentence.contains("LSTM seeds 1, 2, 3 (0.83, did not learn)"), t.sentence)
        XCTAssertTrue(t.sentence.contains("GRU seeds 1, 2, 3 (0.654, learned)"), t.sentence)
        // A predictor that orders the outcomes: it predicts, and no run contradicts it.
        let ordered = (0..<9).map { i in
            PredictorTest.Run(
                model: "M\(i)", seed: 1, predictor: Double(i), outcome: 1 / Double(i + 1), learned: i > 4)
        }
        let good = PredictorTest(predictor: "f", outcome: "loss", runs: ordered)
        XCTAssertTrue(good.predicts)
        XCTAssertTrue(good.counterExamples.isEmpty)
        XCTAssertTrue(good.sentence.contains("no run contradicts the order"), good.sentence)
    }

    func testTheInterventionSaysWhetherTheOutcomeMovedAsPredicted() {
        func arm(_ name: String, _ f: Double, _ learned: Int) -> Intervention.Arm {
            .init(
                setting: name, predictor: [f, f, f], finalLoss: [0.1, 0.1, 0.1],
                states: (0..<3).map { $0 < learned ? .converged : .didNotLearn })
        }
        let moved = Intervention(
            model: "LSTM", task: "adding", predictor: "factor",
            arms: [arm("bias 0", 0.6, 0), arm("bias 1", 0.8, 1), arm("chrono", 0.99, 3)])
        XCTAssertTrue(moved.asPredicted)
        XCTAssertTrue(moved.sentence.hasSuffix("the outcome moved as the factor predicts."), moved.sentence)
        let still = Intervention(
            model: "LSTM", task: "adding", predictor: "factor",
            arms: [arm("bias 0", 0.6, 0), arm("bias 1", 0.8, 0), arm("chrono", 0.99, 0)])
        XCTAssertTrue(still.sentence.hasSuffix("the outcome did not move, whatever the factor."), still.sentence)
        let against = Intervention(
            model: "LSTM", task: "adding", predictor: "factor",
            arms: [arm("bias 0", 0.6, 3), arm("bias 1", 0.8, 0), arm("chrono", 0.99, 0)])
        XCTAssertTrue(against.sentence.hasSuffix("did not move as the factor predicts."), against.sentence)
    }
}
