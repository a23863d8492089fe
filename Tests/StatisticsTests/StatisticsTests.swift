import XCTest

@testable import Statistics

/// Every statistic against reference values computed with scipy 1.17 (scipy.special.betainc, scipy.stats.t,
/// binomtest, ttest_1samp, spearmanr, pearsonr) or by hand where noted.
final class StatisticsTests: XCTestCase {
    func testDescription() {
        XCTAssertEqual(Stats.mean([1, 2, 3, 4, 10]), 4)
        XCTAssertEqual(Stats.std([1, 2, 3, 4, 10]), 12.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(Stats.std([3]), 0)
        XCTAssertEqual(Stats.median([5, 1, 3]), 3)
        XCTAssertEqual(Stats.median([4, 1, 3, 2]), 2.5)
        XCTAssertTrue(Stats.median([]).isNaN)
        XCTAssertEqual(Stats.quantile([1, 2, 3, 4, 5], 0.9), 5)
        XCTAssertEqual(Stats.quantile([1, 2, 3, 4, 5], 0.5), 3)
        XCTAssertEqual(Stats.ranks([10, 30, 20, 20]), [1, 4, 2.5, 2.5])
    }

    func testCorrelationsMatchScipy() {
        XCTAssertEqual(Stats.pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), 0.8, accuracy: 1e-12)
        XCTAssertEqual(Stats.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233, accuracy: 1e-12)
        XCTAssertEqual(Stats.pearson([1, 1, 1], [1, 2, 3]), 0)
        XCTAssertEqual(Stats.cosine([1, 0], [1, 1]), 0.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(Stats.cosine([0, 0], [1, 1]), 0)
    }

    func testIncompleteBetaAndStudentT() {
        XCTAssertEqual(Stats.incompleteBeta(0.3, 2.5, 0.5), 0.018927124071945658, accuracy: 1e-13)
        XCTAssertEqual(Stats.incompleteBeta(0.42, 1, 1), 0.42, accuracy: 1e-14)
        XCTAssertEqual(Stats.incompleteBeta(0.9, 10, 3), 0.889130022255, accuracy: 1e-11)
        for (t, df, p) in [
            (2.0, 5.0, 0.10193947882985835), (4.303, 2, 0.0499925249852145), (1, 1, 0.5),
            (10, 2, 0.00985245702332569), (0.5, 30, 0.6207230048851272)
        ] {
            XCTAssertEqual(Stats.tTwoSided(t, df: df), p, accuracy: 1e-12, "t \(t), df \(df)")
            XCTAssertEqual(Stats.tTwoSided(-t, df: df), p, accuracy: 1e-12)
        }
        for (p, df, q) in [
            (0.975, 1.0, 12.706204736174694), (0.975, 2, 4.302652729749462), (0.975, 10, 2.228138851986274),
            (0.975, 29, 2.045229642132703), (0.995, 4, 4.604094871349992)
        ] {
            XCTAssertEqual(Stats.tQuantile(p, df: df), q, accuracy: 1e-9, "p \(p), df \(df)")
        }
        XCTAssertEqual(Stats.tQuantile(0.025, df: 2), -4.302652729749462, accuracy: 1e-9)
    }

    func testSignTestMatchesBinomtest() {
        XCTAssertEqual(Stats.signTest(3, of: 3), 0.25, accuracy: 1e-15)
        XCTAssertEqual(Stats.signTest(0, of: 5), 0.0625, accuracy: 1e-15)
        XCTAssertEqual(Stats.signTest(8, of: 10), 0.109375, accuracy: 1e-14)
        XCTAssertEqual(Stats.signTest(0, of: 0), 1)
    }

    func testIntervals() {
        // Paired t-test: scipy.stats.ttest_1samp and t.interval.
        let test = Stats.pairedTTest([0.12, 0.31, 0.05, 0.22])!
        XCTAssertEqual(test.p, 0.05440638974277325, accuracy: 1e-12)
        XCTAssertEqual(test.difference.mean, 0.175, accuracy: 1e-15)
        XCTAssertEqual(test.difference.low, -0.00619460498451696, accuracy: 1e-10)
        XCTAssertEqual(test.difference.high, 0.35619460498451694, accuracy: 1e-10)
        XCTAssertEqual(test.pairs, 4)
        XCTAssertNil(Stats.pairedTTest([0.4]))
        XCTAssertEqual(Stats.pairedTTest([0.2, 0.2, 0.2])?.p, 0)
        XCTAssertEqual(Stats.pairedTTest([0, 0])?.p, 1)
        // A positive quantity's interval, from its logarithms (numpy by hand): never below 0.
        let log = Stats.logInterval([0.02, 0.011, 0.015])
        XCTAssertEqual(log.mean, 0.014888055529538273, accuracy: 1e-12)
        XCTAssertEqual(log.low, 0.007083935926317961, accuracy: 1e-10)
        XCTAssertEqual(log.high, 0.031289695411717965, accuracy: 1e-10)
        let wide = Stats.logInterval([0.0001, 0.002, 0.0012])
        XCTAssertGreaterThan(wide.low, 0)
        XCTAssertLessThan(Stats.tInterval([0.0001, 0.002, 0.0012]).low, 0, "the plain t-interval runs below 0")
        // Wilson, by its formula.
        let w = Stats.wilson(0.098, n: 1000)
        XCTAssertEqual(w.low, 0.08108201140149447, accuracy: 1e-12)
        XCTAssertEqual(w.high, 0.11799470246924355, accuracy: 1e-12)
        XCTAssertEqual(Stats.wilson(0.5, n: 100).low, 0.40383152963549296, accuracy: 1e-12)
    }

    func testHolmByHand() {
        // m = 4: sorted 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> held at 0.06.
        let adjusted = Stats.holm([0.01, 0.04, 0.03, 0.005])
        for (a, b) in zip(adjusted, [0.03, 0.06, 0.06, 0.02]) { XCTAssertEqual(a, b, accuracy: 1e-15) }
        XCTAssertEqual(Stats.holm([0.6, 0.9]), [1, 1], "an adjusted p never falls below an earlier one")
        XCTAssertEqual(Stats.holm([]), [])
    }

    func testPermutationPValue() {
        let a = (0..<9).map(Double.init)
        // A perfect rank correlation among 9 points: only 2 of 9! orderings are as extreme (p = 2/362880).
        XCTAssertLessThan(Stats.permutationP(a, a.map { $0 * 2 }), 0.001)
        let scrambled: [Double] = [4, 1, 7, 0, 8, 3, 5, 2, 6]
        let p = Stats.permutationP(a, scrambled)
        XCTAssertGreaterThan(p, 0.2)
        XCTAssertEqual(p, Stats.permutationP(a, scrambled), "seeded: the same p every time")
    }
}

final class ForecastErrorsTests: XCTestCase {
    /// RMSE, MAE and MASE against values worked by hand for a small series.
    func testErrorsEqualHandComputedValues() {
        // Training part 10, 12, 11, 15: one-step naive errors 2, 1, 4, MAE 7/3.
        let scale = ForecastErrors.naiveScale([10, 12, 11, 15])
        XCTAssertEqual(scale!, 7.0 / 3.0, accuracy: 1e-12)
        // Actual 14, 16, 13; forecast 15, 15, 15 (errors 1, 1, 2); naive 15, 14, 16 (errors 1, 2, 3).
        let e = ForecastErrors(actual: [14, 16, 13], forecast: [15, 15, 15], naive: [15, 14, 16], scale: scale)
        XCTAssertEqual(e.count, 3)
        XCTAssertEqual(e.mae, 4.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(e.rmse, (6.0 / 3.0).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(e.naiveMAE, 2, accuracy: 1e-12)
        XCTAssertEqual(e.mase!, (4.0 / 3.0) / (7.0 / 3.0), accuracy: 1e-12)
        XCTAssertNil(
            ForecastErrors(actual: [1], forecast: [1], naive: [1], scale: 0).mase, "a flat series has no scale")
        XCTAssertNil(ForecastErrors.naiveScale([3]))
    }
}

final class ClassificationScoresTests: XCTestCase {
    /// Against scikit-learn 1.5: confusion_matrix and precision_recall_fscore_support(zero_division=0) of
    /// y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2], y_pred = [0, 1, 0, 1, 1, 2, 0, 2, 1] (worked by hand here).
    func testScoresEqualScikitLearns() {
        let s = ClassificationScores(
            actual: [0, 0, 0, 1, 1, 2, 2, 2, 2], predicted: [0, 1, 0, 1, 1, 2, 0, 2, 1], classes: 3)
        XCTAssertEqual(s.counts, [[2, 1, 0], [0, 2, 0], [1, 1, 2]])
        XCTAssertEqual(s.support, [3, 2, 4])
        XCTAssertEqual(s.precision[0], 2.0 / 3.0, accuracy: 1e-12)  // predicted 0: 3 times, right twice
        XCTAssertEqual(s.precision[1], 0.5, accuracy: 1e-12)  // predicted 1: 4 times, right twice
        XCTAssertEqual(s.precision[2], 1, accuracy: 1e-12)
        XCTAssertEqual(s.recall, [2.0 / 3.0, 1, 0.5].map { $0 }, "recall: right of actual")
        XCTAssertEqual(s.f1[1], 2 * 0.5 * 1 / 1.5, accuracy: 1e-12)
        XCTAssertEqual(s.f1[2], 2 * 1 * 0.5 / 1.5, accuracy: 1e-12)
        XCTAssertEqual(s.accuracy, 6.0 / 9.0, accuracy: 1e-12)
        XCTAssertEqual(s.macroF1, (2.0 / 3.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3, accuracy: 1e-12)
        // A class never predicted has precision and F1 0, not NaN.
        let never = ClassificationScores(actual: [0, 1], predicted: [0, 0], classes: 2)
        XCTAssertEqual(never.precision[1], 0)
        XCTAssertEqual(never.f1[1], 0)
    }
}
