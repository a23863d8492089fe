import Foundation
import XCTest
import TensorCore
import Recurrent
import Interchange

/// A trivial cell defined here, in the test target, not in the library: a leaky average of tanh of the input,
///   h_t = 1/2 h_{t-1} + 1/2 tanh(W_ih x_t + b_ih),
/// with no recurrent weight. It reaches the network, the trainer and the checkpoint writer through registration
/// alone.
enum LeakyInputCell: RecurrentCell {
    static let name = "leaky_input", displayName = "LeakyInput", gateNames = ["u"]
    static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.tanh] }
    static func layout(_ config: RecurrentConfig) -> CellLayout { CellLayout(recurrentWeight: .none) }
    static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? { nil }

    static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {
        let n = s.batch * s.hidden
        T.tanhInPlace(s.gates, n)
        for i in 0..<n { s.hNext[i] = (s.hPrev[i] + s.gates[i]) / 2 }
    }

    // d pre = dh / 2 (1 - u^2);  dh_{t-1} = dh / 2.
    static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {
        for i in 0..<(s.batch * s.hidden) {
            g.dGi[i] = g.dh[i] / 2 * (1 - s.gates[i] * s.gates[i])
            g.dhPrev[i] = g.dh[i] / 2
        }
    }
}

final class RegisteredCellTests: XCTestCase {
    func testACellFromOutsideTrainsChecksAndSavesThroughRegistrationAlone() throws {
        let kind = try CellKind.register(LeakyInputCell.self)
        XCTAssertEqual(CellKind(rawValue: "leaky_input"), kind)
        XCTAssertTrue(CellKind.allCases.contains(kind))
        XCTAssertEqual(try CellKind.register(LeakyInputCell.self), kind, "registering again is harmless")

        // The configuration names it in files.
        let config = RecurrentConfig(cell: kind, inputSize: 1, hiddenSize: 6)
        let json = try JSONEncoder().encode(config)
        XCTAssertEqual(try JSONDecoder().decode(RecurrentConfig.self, from: json), config)
        XCTAssertEqual(config.parameterLayout.map(\.name), ["weight_ih_l0", "bias_ih_l0"])

        // Its hand-written backward against central differences, through the stack.
        let check = try GradientCheck.run(RecurrentConfig(cell: kind, inputSize: 3, hiddenSize: 4, numLayers: 2))
        XCTAssertLessThan(check.maxError, 1e-7, check.network)

        // The trainer fits it, the checkpoint writer saves every epoch, and a resumed trainer finds the last one.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("leaky-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var rng = SeededRandom(seed: 7)
        let data = makeTrainer(seed: 7).1
        let model = SequenceModel<Float>(
            embedding: nil, rnn: RecurrentNetwork(config: config, rng: &rng),
            head: Linear(inputSize: 6, outputSize: 1, rng: &rng), headMode: .everyStep, objective: .meanSquaredError)
        let trainer = Trainer(
            model: model, optimizer: .adam(lr: 0.02), options: TrainingOptions(epochs: 6, batchSize: 16, shuffleSeed: 1)
        )
        let store = CheckpointStore(directory: folder)
        trainer.callbacks.append(CheckpointCallback(store: store, trainer: trainer, description: config.description))
        let history = try trainer.fit(train: data, validation: nil)
        XCTAssertLessThan(history.last!.trainLoss, history.first!.trainLoss * 0.8)
        XCTAssertEqual(store.savedEpochs(), Array(1...6))
        let restored = try XCTUnwrap(try store.latest(as: Float.self))
        XCTAssertEqual(restored.epoch, 6)
        for (name, tensor) in zip(trainer.model.parameters.names, trainer.model.parameters.tensors) {
            XCTAssertEqual(restored.weights[name], tensor, name)
        }
        XCTAssertTrue(config.description.hasPrefix("LeakyInput(1->6"), config.description)
    }

    func testAnotherCellUnderATakenNameIsRefused() {
        enum Impostor: RecurrentCell {
            static let name = "lstm", displayName = "Impostor", gateNames = ["x"]
            static func gateActivations(_ config: RecurrentConfig) -> [GateActivation] { [.tanh] }
            static func onnxOperator(_ config: RecurrentConfig) -> ONNXOperator? { nil }
            static func forward<T: Real>(_ s: StepBuffers<T>, _ config: RecurrentConfig) {}
            static func backward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>, _ config: RecurrentConfig) {}
        }
        XCTAssertThrowsError(try CellKind.register(Impostor.self)) {
            XCTAssertTrue("\($0)".contains("already registered as 'lstm'"), "\($0)")
        }
        XCTAssertEqual(CellKind.lstm.displayName, "LSTM")
    }
}
