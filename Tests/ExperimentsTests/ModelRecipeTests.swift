import XCTest
@testable import Workbench
import Recurrent
import TensorCore
@testable import Experiments

final class ModelRecipeTests: XCTestCase {
    static let recipe = ModelRecipe(
        inputSize: 3, hidden: 8, outputs: 2, headMode: .lastStep, objective: .crossEntropy, learningRate: 0.01,
        epochs: 4, batch: 16, clip: 5, weights: .sineModels)

    /// The settings sentence is read from the recipe the models train with, so it changes when they do.
    func testSettingsSentenceFollowsTheRecipe() {
        var r = Self.recipe
        XCTAssertEqual(r.settings, "hidden 8, batch 16, Adam lr 0.01, gradient clipping at norm 5, 4 epochs")
        r.vocabulary = 50; r.decay = 0.85; r.clip = nil; r.epochs = 1; r.hidden = 12
        XCTAssertEqual(
            r.settings,
            "embedding 3, hidden 12, batch 16, Adam lr 0.01 decayed by 0.85 per epoch, no gradient clipping, 1 epoch")
        let trainer = r.trainer(for: r.build(.gru, seed: 1, threads: 1), shuffleSeed: 1)
        XCTAssertNil(trainer.options.clipNorm)
        XCTAssertEqual(trainer.options.learningRateDecay, 0.85)
        XCTAssertEqual(trainer.options.epochs, 1)
    }

    /// Every cell starts from the same stream, drawn in the same order: equal seeds, equal weights; another
    /// stream, other weights.
    func testBuildIsDeterministicPerStream() {
        let a = Self.recipe.build(.lstm, seed: 7, threads: 1), b = Self.recipe.build(.lstm, seed: 7, threads: 2)
        XCTAssertEqual(a.parameters.tensors.map(\.data), b.parameters.tensors.map(\.data))
        XCTAssertEqual(b.threads, 2)
        var other = Self.recipe
        other.weights = .addingModels
        XCTAssertNotEqual(
            other.build(.lstm, seed: 7, threads: 1).parameters.tensors[0].data, a.parameters.tensors[0].data)
        // The LSTM's forget-gate biases start at 1 (b_ih) and 0 (b_hh): the gate starts open.
        let bih = a.parameters["rnn.bias_ih_l0"]!.data, bhh = a.parameters["rnn.bias_hh_l0"]!.data
        XCTAssertEqual(Array(bih[8..<16]), [Float](repeating: 1, count: 8))
        XCTAssertEqual(Array(bhh[8..<16]), [Float](repeating: 0, count: 8))
    }
}
