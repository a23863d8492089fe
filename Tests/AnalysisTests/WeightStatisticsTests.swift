import XCTest
import TensorCore
import Recurrent
@testable import Analysis

final class WeightStatisticsTests: XCTestCase {
    func testStatsAndSpectralNorm() {
        // diag(3, -2) padded: singular values 3 and 2
        let s = WeightStats([3, 0, 0, -2], rows: 2, cols: 2)
        XCTAssertEqual(s.mean, 0.25); XCTAssertEqual(s.maxAbs, 3);
        XCTAssertEqual(s.frobenius, 13.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.spectralNorm!, 3, accuracy: 1e-8)
        // rank one u v^T has sigma = |u| |v|
        let u = [1.0, 2, 2], v = [3.0, 4]
        let w = u.flatMap { a in v.map { a * $0 } }
        XCTAssertEqual(WeightStats.spectralNorm(w, rows: 3, cols: 2), 15, accuracy: 1e-8)
        // an orthogonal matrix has sigma_max 1
        var rng = SeededRandom(seed: 1)
        XCTAssertEqual(
            WeightStats.spectralNorm(Tensor<Double>.orthogonal(rows: 12, cols: 12, rng: &rng).data, rows: 12, cols: 12),
            1, accuracy: 1e-6)
        XCTAssertNil(WeightStats([1, 2, 3]).spectralNorm)
    }

    func testBlocksNameEveryGate() {
        var rng = SeededRandom(seed: 2)
        let net = RecurrentNetwork<Float>(config: RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 4), rng: &rng)
        let params = net.parameters.prefixed("rnn")
        let blocks = WeightBlock.blocks(of: params, cell: .gru, hidden: 4)
        XCTAssertEqual(
            blocks.map(\.name),
            [
                "rnn.weight_ih_l0", "rnn.weight_ih_l0[r]", "rnn.weight_ih_l0[z]", "rnn.weight_ih_l0[n]",
                "rnn.weight_hh_l0", "rnn.weight_hh_l0[r]", "rnn.weight_hh_l0[z]", "rnn.weight_hh_l0[n]",
                "rnn.bias_ih_l0", "rnn.bias_hh_l0"
            ])
        let z = blocks.first { $0.name == "rnn.weight_hh_l0[z]" }!
        XCTAssertEqual(z.values(in: params), Array(params["rnn.weight_hh_l0"]!.data[16..<32]).map(Double.init))
    }

    func testSaturationCountsSaturatedActivations() throws {
        // Large weights drive sigmoid gates to 0/1: saturation near 100%; tiny weights keep them near 0.5.
        for (scale, expectHigh) in [(20.0, true), (0.001, false)] {
            var rng = SeededRandom(seed: 3)
            let net = RecurrentNetwork<Double>(
                config: RecurrentConfig(cell: .lstm, inputSize: 4, hiddenSize: 8), rng: &rng)
            for i in net.parameters.tensors.indices {
                net.parameters.tensors[i].data = net.parameters.tensors[i].data.map { $0 * scale * 3 }
            }
            _ = try net.forward(.uniform([16, 10, 4], -1, 1, rng: &rng))
            let s = try SaturationStats.measure(net)
            XCTAssertEqual(s.map(\.gate), ["i", "f", "g", "o"])
            for g in s {
                if expectHigh { XCTAssertGreaterThan(g.total, 0.8, g.gate) } else { XCTAssertEqual(g.total, 0, g.gate) }
                XCTAssertEqual(g.low + g.high, g.total)
            }
        }
    }
}

/// The fraction of the previous state kept is read where each cell says it lives: the LSTM's f gate, the GRU's z
/// gate, minGRU's saved 1 - z, minLSTM's saved f / (f + i); the vanilla RNN has none.
final class CarryTests: XCTestCase {
    func testMeanCarryFollowsEachCellsCarryPath() throws {
        var rng = SeededRandom(seed: 2)
        let x = Tensor<Double>.uniform([3, 5, 2], -1, 1, rng: &rng)
        func net(_ cell: CellKind) throws -> RecurrentNetwork<Double> {
            let n = RecurrentNetwork<Double>(
                config: RecurrentConfig(cell: cell, inputSize: 2, hiddenSize: 4), rng: &rng)
            _ = try n.forward(x)
            return n
        }
        XCTAssertNil(try GateStatistics.meanCarry(try net(.rnn)))
        let lstm = try net(.lstm)
        XCTAssertEqual(try GateStatistics.meanCarry(lstm)!, try GateStatistics.meanActivation(lstm, block: 1))
        let gru = try net(.gru)
        XCTAssertEqual(try GateStatistics.meanCarry(gru)!, try GateStatistics.meanActivation(gru, block: 1))
        let minGRU = try net(.mingru)
        let z = try GateStatistics.meanActivation(minGRU, block: 0)
        for (a, b) in zip(try GateStatistics.meanCarry(minGRU)!, z) { XCTAssertEqual(a, 1 - b, accuracy: 1e-12) }
        // minLSTM: f / (f + i) step by step, averaged, from the gate activations the pass kept.
        let minLSTM = try net(.minlstm)
        let acts = try minLSTM.gateActivations(layer: 0), H = 4
        var expected = [Double](repeating: 0, count: H)
        for row in 0..<15 {
            for j in 0..<H {
                let f = acts[row * 3 * H + j], i = acts[row * 3 * H + H + j]
                expected[j] += f / (f + i) / 15
            }
        }
        for (a, b) in zip(try GateStatistics.meanCarry(minLSTM)!, expected) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }
}
