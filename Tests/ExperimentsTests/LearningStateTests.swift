import Foundation
@testable import Workbench
import XCTest
import Recurrent

@testable import Experiments

/// The learning states follow their definitions: each test shapes a curve and sees the state change with it.
final class LearningStateTests: XCTestCase {
    let baseline = TrivialBaseline(name: "training mean", validationLoss: 0.167)

    func judge(_ v: [Double], _ t: [Double]? = nil, baseline: TrivialBaseline? = nil, test: TestAccuracy? = nil)
        -> LearningJudgement
    {
        Judge.learning(
            task: "adding", model: "LSTM", seed: 1, validation: v, training: t ?? v,
            baseline: baseline ?? self.baseline,
            test: test)
    }

    /// A curve that learned fast and then stays within its noise: converged, from the epoch it reached that level.
    func learnedThenFlat(noise: Double = 0.0004) -> [Double] {
        (0..<30).map { (e: Int) -> Double in
            let fall: Double = e < 6 ? 0.1 * Double(6 - e) / 6 : 0
            let wiggle: Double = e % 2 == 0 ? noise : -noise
            return 0.01 + fall + wiggle
        }
    }

    func testFlatAtTheBaselineDidNotLearn() {
        // The adding problem's RNN and LSTM: 0.163-0.167 against the constant guess's 0.167.
        let flat: [Double] = (0..<20).map { (e: Int) -> Double in 0.165 + 0.002 * sin(Double(e)) }
        let j = judge(flat)
        XCTAssertEqual(j.state, .didNotLearn)
        XCTAssertEqual(j.evidence.margin ?? 0, 0.05 * 0.167, accuracy: 1e-12)
        XCTAssertFalse(j.state.learned)
        // The same shape 20% below the baseline learned, and is flat: converged.
        XCTAssertEqual(judge(flat.map { $0 * 0.8 }).state, .converged)
    }

    func testLearnedThenFlatConvergesFromTheRightEpoch() {
        let j = judge(learnedThenFlat())
        XCTAssertEqual(j.state, .converged)
        // Epochs 1-6 fall from 0.11 to 0.027; from epoch 7 the curve sits at 0.01 +- 0.0004.
        XCTAssertEqual(j.evidence.convergedFrom, 7)
        XCTAssertTrue(j.brief.hasPrefix("converged from epoch 7"), j.brief)
    }

    func testASpikeIsAnEventBesideTheState() {
        // The sine RNN: learned, a jump at epoch 56, back to its level by the end.
        var curve = learnedThenFlat()
        curve[20] = 0.065
        let j = judge(curve)
        XCTAssertEqual(j.spikes.map(\.epoch), [21])
        XCTAssertEqual(j.state, .converged, "a spike is not a state")
        XCTAssertEqual(j.evidence.convergedFrom, 7, "the spike's epoch does not break staying at the level")
        // Still recovering at the last epochs: still improving, the spike beside it.
        var recovering = learnedThenFlat()
        recovering[26] = 0.065; recovering[27] = 0.03; recovering[28] = 0.025; recovering[29] = 0.02
        let r = judge(recovering)
        XCTAssertEqual(r.state, .stillImproving)
        XCTAssertEqual(r.spikes.map(\.epoch), [27])
    }

    func testARiseFromALearnedMinimumIsOverfitting() {
        let curve: [Double] = (0..<20).map { (e: Int) -> Double in
            e < 8 ? 0.1 - 0.01 * Double(e) : 0.03 + 0.005 * Double(e - 7)
        }
        let j = judge(curve)
        XCTAssertEqual(j.state, .overfitting)
        XCTAssertEqual(j.evidence.bestEpoch, 8)
        XCTAssertTrue(j.brief.contains("min 0.03 at epoch 8"), j.brief)
    }

    func testStillFallingIsStillImproving() {
        let j = judge((0..<10).map { (e: Int) -> Double in 0.1 * pow(0.8, Double(e)) })
        XCTAssertEqual(j.state, .stillImproving)
        XCTAssertEqual(j.evidence.recentEpochs, 3)
    }

    func testANonFiniteOrTenfoldLossDiverged() {
        XCTAssertEqual(judge([0.1, 0.05, .nan, 0.04]).state, .diverged)
        XCTAssertEqual(judge([0.1, 0.05, .nan, 0.04]).evidence.divergedEpoch, 3)
        XCTAssertEqual(judge([0.1, 0.05, 0.04, 0.03], [1, 2, 15, 0.5]).state, .diverged, "training loss at 15x")
        XCTAssertEqual(judge([0.1, 0.05, 0.04, 0.03], [1, 2, 15, 0.5]).evidence.divergedEpoch, 3)
    }

    func testAccuracyAtChanceDidNotLearnWhateverTheLoss() {
        // The pixel-MNIST RNN: a loss curve that looks learned, a test accuracy of 9.8% on 1000 digits, chance 10%.
        let classes = TrivialBaseline(name: "class prior", validationLoss: 2.303, chance: 0.1)
        let looksLearned = learnedThenFlat().map { $0 * 10 }
        let atChance = judge(looksLearned, baseline: classes, test: TestAccuracy(accuracy: 0.098, samples: 1000))
        XCTAssertEqual(atChance.state, .didNotLearn)
        XCTAssertTrue(atChance.brief.contains("test 9.8%, chance 10.0%"), atChance.brief)
        let above = judge(looksLearned, baseline: classes, test: TestAccuracy(accuracy: 0.15, samples: 1000))
        XCTAssertEqual(above.state, .converged)
    }

    func testEndingAtTheBaselineDidNotLearnAndFewEpochsAreNotJudged() {
        // Below the baseline once, back at it at the end.
        XCTAssertEqual(judge([0.167, 0.12, 0.166]).state, .didNotLearn)
        XCTAssertEqual(judge([0.12, 0.1]).state, .tooShort)
        XCTAssertTrue(judge([0.12, 0.1]).state.learned)
    }

    func testTheTallyCountsTheSeeds() {
        let flat = [Double](repeating: 0.166, count: 20)
        let states = [judge(learnedThenFlat()), judge(flat), judge(learnedThenFlat())]
        XCTAssertEqual(LearningJudgement.tally(states), "converged in 2 of 3 seeds, did not learn in 1")
        XCTAssertEqual(LearningJudgement.tally([states[1]]), "did not learn in 1 of 1 seed")
    }

    func testBaselinesFromTheSplits() {
        // Training mean 2: validation targets 1 and 3 score (1 + 1) / 2.
        XCTAssertEqual(TrivialBaseline.trainingMean(train: [1, 3], validation: [1, 3]).validationLoss, 1)
        // Class prior with add-one smoothing: train counts 3 and 1 -> p = 4/6, 2/6; validation [0, 1].
        let prior = TrivialBaseline.classPrior(train: [0, 0, 0, 1], validation: [0, 1], test: [1, 1, 0], classes: 2)
        XCTAssertEqual(prior.validationLoss, -(log(4.0 / 6) + log(2.0 / 6)) / 2, accuracy: 1e-12)
        XCTAssertEqual(prior.chance ?? 0, 2.0 / 3, accuracy: 1e-12)
    }
}

/// Several events of one run are told in order, as one account.
final class EventChainTests: XCTestCase {
    func testThePixelRNNsEventsAreToldInOrder() throws {
        // A gradient spike at epoch 3, then accuracy at chance from epoch 3 to the end.
        let history = (1...6).map { e in
            EpochRecord(
                epoch: e, trainLoss: 2.3, validationLoss: 2.303, trainAccuracy: 0.1,
                validationAccuracy: e < 3 ? 0.3 : 0.1, seconds: 1, meanGradientNorm: 1,
                maxGradientNorm: e == 3 ? 780 : 3)
        }
        let events = EventChain.events(history: history, cell: .rnn, chance: 0.1, validationSamples: 400, clip: 1)
        XCTAssertEqual(events.map(\.kind), [.gradientSpike, .atChance])
        XCTAssertEqual(events.map(\.epoch), [3, 3])
        let account = try XCTUnwrap(EventChain.account(events, run: "MNIST pixels RNN, seed 1"))
        XCTAssertTrue(
            account.hasPrefix(
                "MNIST pixels RNN, seed 1: at epoch 3 the largest gradient norm jumped to 780 (median 3 before; clipped"
            ),
            account)
        XCTAssertTrue(
            account.contains("; then at epoch 3 validation accuracy stayed within its 95% interval of chance"))
        // A run without them tells nothing.
        let calm = history.map { r -> EpochRecord in
            var r = r
            r.maxGradientNorm = 3; r.validationAccuracy = 0.9
            return r
        }
        XCTAssertNil(
            EventChain.account(
                EventChain.events(history: calm, cell: .rnn, chance: 0.1, validationSamples: 400), run: "x"))
    }
}

/// The curves that exposed the first noise estimate: short ones whose trend it took for noise.
final class ShortCurveTests: XCTestCase {
    func testARisingShortCurveIsOverfittingNotConverged() {
        // Sentiment, 6 epochs: the LSTM's validation loss from 0.58 at epoch 2 up to 1.0 (test accuracy 74%).
        let classes = TrivialBaseline(name: "class prior", validationLoss: 0.6823, chance: 0.59)
        let lstm = Judge.learning(
            task: "sentiment", model: "LSTM", seed: 1, validation: [0.6224, 0.5802, 0.6044, 0.624, 0.7724, 1.0062],
            training: [0.66, 0.5, 0.38, 0.27, 0.18, 0.12], baseline: classes,
            test: TestAccuracy(accuracy: 0.736, samples: 2561))
        XCTAssertEqual(lstm.state, .overfitting)
        XCTAssertTrue(lstm.spikes.isEmpty, "a rise at the last epoch is the curve's own, not a spike")
        // The RNN of seed 2: 72% on the test reviews, 3.7% below the class prior's loss at best: it learned.
        let rnn = Judge.learning(
            task: "sentiment", model: "RNN", seed: 2, validation: [0.6815, 0.6586, 0.6572, 0.6921, 0.7055, 0.8164],
            training: [0.69, 0.62, 0.55, 0.47, 0.4, 0.33], baseline: classes,
            test: TestAccuracy(accuracy: 0.7165, samples: 2561))
        XCTAssertTrue(rnn.state.learned, "\(rnn.state)")
        XCTAssertEqual(rnn.state, .overfitting)
    }
}
