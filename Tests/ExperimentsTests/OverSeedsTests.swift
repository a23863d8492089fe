import XCTest

@testable import Experiments

final class OverSeedsTests: XCTestCase {
    func testSeedsStartWithTheRunsAndNeverMeetAnotherSeedsStreams() {
        let seeds = OverSeeds.seeds(7, count: 3)
        XCTAssertEqual(seeds.first, 7)
        XCTAssertEqual(Set(seeds).count, 3)
        // The streams derive by small offsets (SeedStream, at most a few hundred): far apart, they cannot collide.
        for (a, b) in zip(seeds, seeds.dropFirst()) { XCTAssertGreaterThan(b &- a, 1_000_000) }
        XCTAssertEqual(OverSeeds.seeds(7, count: 0), [7])
    }

    func testStudentQuantileFromTheTableAndTheExpansion() {
        XCTAssertEqual(OverSeeds.t975(2), 4.303)
        XCTAssertEqual(OverSeeds.t975(20), 2.086, accuracy: 1e-3)
        XCTAssertEqual(OverSeeds.t975(60), 2.000, accuracy: 1e-3)
        XCTAssertEqual(OverSeeds.t975(100_000), 1.960, accuracy: 1e-3)
        XCTAssertTrue(OverSeeds.t975(0).isNaN)
    }

    func testIntervalOfThreeValues() {
        let i = OverSeeds.interval([1, 2, 3])
        XCTAssertEqual(i.mean, 2)
        // sd 1, t(2) = 4.303, sqrt 3
        XCTAssertEqual(i.high - i.mean, 4.303 / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(OverSeeds.interval([5]).low, 5)
        XCTAssertEqual(OverSeeds.interval([1, .nan, 3]).mean, 2, "non-finite values left out")
    }

    /// The same two models: a gap inside the seeds' spread is "indistinguishable"; a gap beyond it is a ranking.
    func testADifferenceInsideTheNoiseIsIndistinguishableAndBeyondItARanking() throws {
        let close = [
            SeedSeries(model: "LSTM", values: [0.962, 0.955, 0.968]),
            SeedSeries(model: "GRU", values: [0.957, 0.966, 0.958])
        ]
        let tie = try XCTUnwrap(OverSeeds.compare(close, lowerIsBetter: false, what: "test accuracy", best: "highest"))
        XCTAssertTrue(tie.text.contains("LSTM, GRU are indistinguishable over these seeds"), tie.text)
        XCTAssertFalse(tie.text.contains("Highest:"))
        XCTAssertEqual(tie.numbers["seeds"], 3)

        let apart = [
            SeedSeries(model: "LSTM", values: [0.962, 0.955, 0.968]),
            SeedSeries(model: "RNN", values: [0.90, 0.91, 0.905])
        ]
        let ranked = try XCTUnwrap(
            OverSeeds.compare(apart, lowerIsBetter: false, what: "test accuracy", best: "highest"))
        XCTAssertTrue(ranked.text.contains("Highest: LSTM, ahead of every other model beyond the noise"), ranked.text)
        XCTAssertFalse(ranked.text.contains("indistinguishable"))
    }

    /// Pairing by seed: two models that move together from seed to seed, one always a little better, are ranked even
    /// though their own intervals overlap; shuffle the pairing and the same values are not.
    func testThePairedDifferenceRanksModelsThatMoveTogether() throws {
        let together = [
            SeedSeries(model: "GRU", values: [0.10, 0.20, 0.30, 0.15]),
            SeedSeries(model: "LSTM", values: [0.12, 0.22, 0.33, 0.17])
        ]
        let r = try XCTUnwrap(OverSeeds.rank(together, lowerIsBetter: true))
        XCTAssertEqual(r.best, "GRU")
        XCTAssertEqual(r.tied, [])
        let unpaired = [together[0], SeedSeries(model: "LSTM", values: [0.33, 0.12, 0.17, 0.22])]
        XCTAssertEqual(try XCTUnwrap(OverSeeds.rank(unpaired, lowerIsBetter: true)).tied, ["LSTM"])
    }

    func testOneSeedIsNoComparison() {
        XCTAssertNil(
            OverSeeds.compare(
                [SeedSeries(model: "A", values: [1]), SeedSeries(model: "B", values: [2])], lowerIsBetter: true,
                what: "loss", best: "lowest"))
    }

    func testAgainstABaselineOnlyBeyondTheInterval() {
        let f = RealDataReport.againstBaseline(
            [
                SeedSeries(model: "RNN", values: [0.170, 0.175, 0.172]),
                SeedSeries(model: "LSTM", values: [0.16, 0.19, 0.18]),
                SeedSeries(model: "GRU", values: [0.20, 0.21, 0.205])
            ], (key: "naive", value: 0.18))
        XCTAssertTrue(f.text.contains("below it beyond the seeds' 95% interval: RNN"), f.text)
        XCTAssertTrue(f.text.contains("indistinguishable from it (interval includes it): LSTM"), f.text)
        XCTAssertTrue(f.text.contains("above it: GRU"), f.text)
    }
}
