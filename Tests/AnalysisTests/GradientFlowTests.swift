import XCTest
import TensorCore
import Recurrent
@testable import Analysis

final class GradientFlowTests: XCTestCase {
    func testStepNormsAverageOverBatch() throws {
        // B=2, T=2, H=2: norms at t=0 are 5 and 0 -> 2.5; at t=1 are 1 and 1 -> 1
        let g = try Tensor<Double>(shape: [2, 2, 2], data: [3, 4, 1, 0, 0, 0, 0, 1])
        XCTAssertEqual(GradientFlow.stepNorms(g), [2.5, 1])
        XCTAssertEqual(GradientFlow.firstToLastRatio([2.5, 1]), 2.5)
        XCTAssertEqual(GradientFlow.perStepFactor([8, 4, 2, 1]), 2, accuracy: 1e-12)
    }

    /// For a linear RNN (relu with positive states behaves linearly) the Jacobian is a matrix power; check the
    /// general case against finite differences of h_T with respect to h_t instead: restart at step t.
    func testJacobianNormMatchesFiniteDifferences() throws {
        var rng = SeededRandom(seed: 3)
        let net = RecurrentNetwork<Double>(config: RecurrentConfig(cell: .gru, inputSize: 2, hiddenSize: 3), rng: &rng)
        let x = Tensor<Double>.uniform([1, 5, 2], -1, 1, rng: &rng)
        let norms = try GradientFlow.jacobianNorms(net, input: x)
        XCTAssertEqual(norms.last!, 3.0.squareRoot(), accuracy: 1e-12)  // dh_T/dh_T = I
        // dh_T/dh_1 by finite differences: run steps 0..1, then perturb h and run steps 2..4.
        let head = try net.forward(try Tensor(shape: [1, 2, 2], data: Array(x.data[0..<4])))
        let tail = try Tensor<Double>(shape: [1, 3, 2], data: Array(x.data[4..<10]))
        var fro = 0.0
        for j in 0..<3 {
            var up = head.hn, down = head.hn
            up.data[j] += 1e-6; down.data[j] -= 1e-6
            let a = try net.forward(tail, h0: up).hn, b = try net.forward(tail, h0: down).hn
            for i in 0..<3 { let d = (a.data[i] - b.data[i]) / 2e-6; fro += d * d }
        }
        XCTAssertEqual(norms[1], fro.squareRoot(), accuracy: 1e-7)
    }
}
