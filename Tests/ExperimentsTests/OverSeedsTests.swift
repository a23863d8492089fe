import XCTest
@testable import Workbench

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

    func testIntervalsOverSeedsStayInTheirRange() {
        let i = OverSeeds.interval([1, 2, 3], positive: false)
        XCTAssertEqual(i.mean, 2)
        // sd 1, t(2) = 4.3027, sqrt 3
        XCTAssertEqual(i.high - i.mean, 4.302652729749462 / 3.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(OverSeeds.interval([5], positive: false).low, 5)
        XCTAssertEqual(OverSeeds.interval([1, .nan, 3], positive: false).mean, 2, "non-finite values left out")
        // The adding GRU's MSEs: a plain t-interval ran below zero; the interval of the logarithms does not.
        let mse = [0.0006, 0.0009, 0.0016]
        XCTAssertLessThan(OverSeeds.interval(mse, positive: false).low, 0)
        XCTAssertGreaterThan(OverSeeds.interval(mse, positive: true).low, 0)
        XCTAssertEqual(OverSeeds.withInterval([0.5], positive: true) { fmt($0, 3) }, "0.5")
    }

    /// The body states every pair with its unadjusted p and leaves the verdict to the Answers' family.
    func testTheBodyDescribesEveryPairAndPointsToTheAnswers() throws {
        let series = [
            SeedSeries(model: "RNN", values: [0.9, 0.91, 0.905]),
            SeedSeries(model: "LSTM", values: [0.962, 0.955, 0.968]),
            SeedSeries(model: "GRU", values: [0.957, 0.966, 0.958])
        ]
        let f = try XCTUnwrap(
            OverSeeds.describe(
                series, what: "test accuracy", positive: false, lowerIsBetter: false, answer: "Q2.1"))
        XCTAssertTrue(f.text.contains("Every pair, paired over seeds: LSTM - RNN"), f.text)
        XCTAssertTrue(f.text.hasSuffix("Answers, Q2.1."), f.text)
        XCTAssertEqual(f.numbers["seeds"], 3)
        XCTAssertNil(
            OverSeeds.describe(
                [SeedSeries(model: "A", values: [1])], what: "m", positive: true, lowerIsBetter: true, answer: "Q"))
    }
}
