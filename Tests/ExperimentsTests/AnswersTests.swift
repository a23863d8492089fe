import XCTest
import Recurrent

@testable import Experiments

/// The answers change when the numbers do: each test feeds two sets of numbers and sees the wording follow.
final class AnswersTests: XCTestCase {
    func testTheImplementationAnswerFollowsTheGradientCheck() {
        let passed = Answers.implementation([.init(network: "LSTM", entries: 366, maxError: 3e-10)])
        XCTAssertTrue(passed.answer.contains("LSTM 3.0e-10 over 366 entries: every analytic gradient agrees"))
        let failed = Answers.implementation([.init(network: "LSTM", entries: 366, maxError: 2e-4)])
        XCTAssertTrue(failed.answer.contains("NOT PASSED: an error of 2.0e-04 exceeds the tolerance 1e-7"))
        XCTAssertEqual(failed.numbers["LSTM max error"], 2e-4)
    }

    /// A jump like the sine RNN's at epoch 57 is found; the ordinary wiggles of a curve are not.
    func testSpikesAreJumpsBeyondTheCurvesOwnChanges() {
        var curve: [Double] = (0..<60).map { (e: Int) -> Double in
            let decay: Double = 0.05 * Foundation.exp(-Double(e) / 10)
            return decay + 0.01 + 0.0002 * Double(e % 2)
        }
        XCTAssertTrue(Verdicts.spikes(curve).isEmpty)
        curve[56] = 0.034
        let spikes = Verdicts.spikes(curve)
        XCTAssertEqual(spikes.map { $0.epoch }, [57])
        XCTAssertEqual(spikes[0].to, 0.034)
    }

    func testTheBriefTrendFollowsItsDefinition() {
        XCTAssertTrue(Verdicts.brief(Verdicts.trend([1, 0.5, 0.3, 0.2, 0.1])).hasPrefix("still improving"))
        XCTAssertTrue(Verdicts.brief(Verdicts.trend([1, 0.5, 0.4, 0.45, 0.6, 0.8])).hasPrefix("overfitting"))
        XCTAssertTrue(
            Verdicts.brief(Verdicts.trend([1, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]))
                == "converged (within its noise of the final level from epoch 3)")
    }

    /// Q3.5: over several initialisations the comparison says "indistinguishable" for encoders within the spread and
    /// ranks those beyond it; with one initialisation it states the values and the caveat.
    func testTheEncoderComparisonUsesTheInitialisationsWhenThereAreSeveral() {
        let metrics = [CellKind.rnn, .lstm, .gru].map { cell in
            FusionExperiment.EncoderMetrics(
                cell: cell, meanTrajectoryLength: 1, meanNormGrowth: 1, meanAdjacentCosine: 0.5,
                effectiveDimensionality: 3, pcaExplained2: 0.4, projectionMatchRate: 0.2, labelBridgeMatchRate: 0.2,
                tsneKL: 0.1, similarityAtLag: [0.5, 0.3, cell == .rnn ? 0.09 : 0.2])
        }
        let single = Answers.encoderComparison(metrics, spread: nil, seed: 7)
        XCTAssertTrue(single.answer.contains("RNN: lag-3 similarity 0.09"))
        XCTAssertTrue(single.caveat?.hasPrefix("one random initialisation per encoder (seed 7)") ?? false)

        func series(_ rnn: [Double], _ lstm: [Double], _ gru: [Double]) -> [SeedSeries] {
            [
                SeedSeries(model: "RNN", values: rnn), SeedSeries(model: "LSTM", values: lstm),
                SeedSeries(model: "GRU", values: gru)
            ]
        }
        let spread = SeedComparison(
            seeds: [1, 2, 3],
            measures: [
                "similarity at lag 3": series([0.08, 0.10, 0.09], [0.20, 0.21, 0.19], [0.21, 0.19, 0.205]),
                "adjacent cosine": series([0, 0.01, -0.01], [0.48, 0.5, 0.47], [0.5, 0.49, 0.51]),
                "trajectory length": series([44, 45, 43], [8, 9, 8.5], [16, 17, 16.5])
            ])
        let over = Answers.encoderComparison(metrics, spread: spread, seed: 7)
        XCTAssertTrue(over.answer.contains("over 3 seeds"), over.answer)
        XCTAssertTrue(over.answer.contains("GRU, LSTM are indistinguishable over these seeds"), over.answer)
        XCTAssertTrue(over.answer.contains("GRU is ahead of RNN by 0.112 [0.0615, 0.162]"), over.answer)
        XCTAssertTrue(over.answer.contains("Highest: RNN, ahead of every other model beyond the noise"), over.answer)
    }
}

final class UnitsOverTextFindingTests: XCTestCase {
    /// The sentence names a unit only when it beats the untrained network's best by the margin; else it says none does.
    func testAUnitIsNamedOnlyWellAboveTheUntrainedNetwork() {
        func units(r: Double, untrained: Double, open: [Double] = [0.2, 0.8]) -> [UnitsOverText.ModelUnits] {
            [
                .init(
                    model: "LSTM", passage: "ab",
                    matches: [
                        .init(
                            feature: "inside quotes", signal: "c", unit: 37, r: r, untrainedBest: untrained,
                            sameUnitUntrained: 0.1, randomUnit: 0.05)
                    ], activation: [0.5, -0.5], pickerStates: [[50], [-50]],
                    saturation: [
                        .init(gate: "gate f", keepsState: true, left: [0.6, 0], right: open),
                        .init(gate: "gate i", keepsState: false, left: [0, 0.7], right: [0.9, 0])
                    ])
            ]
        }
        let follows = UnitsOverText.findings(units(r: 0.62, untrained: 0.2))[0].text
        XCTAssertTrue(follows.hasPrefix("LSTM c unit 37 follows \"inside quotes\" on the held-out passage: r = 0.62"))
        let none = UnitsOverText.findings(units(r: 0.35, untrained: 0.3))[0].text
        XCTAssertTrue(none.hasPrefix("No LSTM unit follows a text feature well above the untrained network"), none)
        XCTAssertTrue(UnitsOverText.coloured(units(r: 0.62, untrained: 0.2)).contains("background:rgb(255,127,127)"))
        // Gate saturation follows its counts, and a keep gate held open is memory, not saturation.
        let held = UnitsOverText.findings(units(r: 0.62, untrained: 0.2))[1].text
        XCTAssertEqual(
            held,
            """
            LSTM gates on the held-out passage, units below 0.1 / above 0.9 for over half of it: gate f 1 / 1 of 2 \
            units (held open keeps the state: memory, not saturation); gate i 1 / 1 of 2 units.
            """)
        let shut = UnitsOverText.findings(units(r: 0.62, untrained: 0.2, open: [0.1, 0.2]))[1].text
        XCTAssertTrue(shut.contains("gate f 1 / 0 of 2 units; gate i"), shut)
        XCTAssertTrue(UnitsOverText.picker(units(r: 0.62, untrained: 0.2)).contains("\"states\":[[50],[-50]]"))
    }
}
