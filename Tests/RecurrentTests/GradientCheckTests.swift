import Foundation
import XCTest
import TensorCore
@testable import Recurrent

/// Finite-difference checks in Double: every cell and variant, two layers, every parameter entry,
/// the input, the initial states, and dL/dh_t.
final class GradientCheckTests: XCTestCase {
    static let configs: [RecurrentConfig] = [
        RecurrentConfig(cell: .rnn, inputSize: 3, hiddenSize: 4, numLayers: 2, nonlinearity: .tanh),
        RecurrentConfig(cell: .rnn, inputSize: 3, hiddenSize: 4, numLayers: 2, nonlinearity: .relu),
        RecurrentConfig(cell: .lstm, inputSize: 3, hiddenSize: 4, numLayers: 2),
        RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 4, numLayers: 2, gruVariant: .resetAfter),
        RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 4, numLayers: 2, gruVariant: .resetBefore),
        RecurrentConfig(cell: .indrnn, inputSize: 3, hiddenSize: 4, numLayers: 2, nonlinearity: .relu),
        RecurrentConfig(cell: .indrnn, inputSize: 3, hiddenSize: 4, numLayers: 2, nonlinearity: .tanh),
        RecurrentConfig(cell: .mingru, inputSize: 3, hiddenSize: 4, numLayers: 2),
        RecurrentConfig(cell: .minlstm, inputSize: 3, hiddenSize: 4, numLayers: 2)
    ]

    struct Problem {
        var x: Tensor<Double>, h0: Tensor<Double>, c0: Tensor<Double>?
        var gOut: Tensor<Double>, gHn: Tensor<Double>, gCn: Tensor<Double>?
    }

    func makeProblem(_ c: RecurrentConfig, batch B: Int, steps T: Int, seed: UInt64) -> Problem {
        var r = SeededRandom(seed: seed)
        let L = c.numLayers, H = c.hiddenSize
        let lstm = c.cell.hasCellState
        return Problem(
            x: .uniform([B, T, c.inputSize], -1, 1, rng: &r), h0: .uniform([L, B, H], -0.5, 0.5, rng: &r),
            c0: lstm ? .uniform([L, B, H], -0.5, 0.5, rng: &r) : nil,
            gOut: .uniform([B, T, H], -1, 1, rng: &r), gHn: .uniform([L, B, H], -1, 1, rng: &r),
            gCn: lstm ? .uniform([L, B, H], -1, 1, rng: &r) : nil)
    }

    /// L = sum(out * gOut) + sum(hn * gHn) + sum(cn * gCn), as in the PyTorch fixtures.
    func loss(_ net: RecurrentNetwork<Double>, _ p: Problem) throws -> Double {
        let f = try net.forward(p.x, h0: p.h0, c0: p.c0)
        var l = dot(f.output.data, p.gOut.data) + dot(f.hn.data, p.gHn.data)
        if let cn = f.cn, let g = p.gCn { l += dot(cn.data, g.data) }
        return l
    }

    func numeric(_ f: () throws -> Double, perturb: (Double) -> Void) rethrows -> Double {
        let eps = 1e-6
        perturb(eps); let up = try f()
        perturb(-2 * eps); let down = try f()
        perturb(eps)
        return (up - down) / (2 * eps)
    }

    func assertGradient(_ analytic: Double, _ numeric: Double, _ what: String) {
        XCTAssertEqual(analytic, numeric, accuracy: 1e-7 * max(1, abs(numeric)), what)
    }

    /// BPTT against central differences: parameter entries (every `stride`-th), then every entry of x, h0 and c0.
    func checkAgainstFiniteDifferences(_ c: RecurrentConfig, batch: Int, steps: Int, seed: UInt64, stride: Int = 1)
        throws
    {
        var rng = SeededRandom(seed: seed)
        let net = RecurrentNetwork<Double>(config: c, rng: &rng)
        var p = makeProblem(c, batch: batch, steps: steps, seed: seed &+ 1)
        _ = try net.forward(p.x, h0: p.h0, c0: p.c0)
        var grads = net.parameters.zerosLike()
        let back = try net.backward(dOutput: p.gOut, dhn: p.gHn, dcn: p.gCn, into: &grads)
        for (ti, name) in net.parameters.names.enumerated() {
            for j in Swift.stride(from: ti % stride, to: net.parameters.tensors[ti].count, by: stride) {
                let n = try numeric({ try loss(net, p) }) { net.parameters.tensors[ti].data[j] += $0 }
                assertGradient(grads.tensors[ti].data[j], n, "\(c.description) \(name)[\(j)]")
            }
        }
        for j in 0..<p.x.count {
            let n = try numeric({ try loss(net, p) }) { p.x.data[j] += $0 }
            assertGradient(back.dx!.data[j], n, "\(c.description) x[\(j)]")
        }
        for j in 0..<p.h0.count {
            let n = try numeric({ try loss(net, p) }) { p.h0.data[j] += $0 }
            assertGradient(back.dh0.data[j], n, "\(c.description) h0[\(j)]")
        }
        if c.cell.hasCellState {
            for j in 0..<p.c0!.count {
                let n = try numeric({ try loss(net, p) }) { p.c0!.data[j] += $0 }
                assertGradient(back.dc0!.data[j], n, "\(c.description) c0[\(j)]")
            }
        }
    }

    func testEveryCellEveryParameterAgainstFiniteDifferences() throws {
        for c in Self.configs { try checkAgainstFiniteDifferences(c, batch: 2, steps: 5, seed: 21) }
    }

    /// The gate-only cells over 70 steps: the scan over time runs three blocks of 32 steps (carried from block to
    /// block), checked entry by entry against central differences.
    func testScanOverSeveralBlocksAgainstFiniteDifferences() throws {
        for cell in [CellKind.mingru, .minlstm] {
            try checkAgainstFiniteDifferences(
                RecurrentConfig(cell: cell, inputSize: 2, hiddenSize: 3), batch: 2, steps: 70, seed: 31, stride: 3)
        }
    }

    /// Hidden sizes of 16 and more take the cells' explicit-vector path (16 units at a time, then the rest):
    /// H = 17 covers both, checked on every 7th entry of each parameter and on all of x, h0 and c0. The LSTM at
    /// H = 24 with 3 batch rows runs the last 8 units of rows 0 and 1 in one window and row 2's alone.
    func testVectorPathOfWideCells() throws {
        for (cell, variant) in [
            (CellKind.lstm, GRUVariant.resetAfter), (.gru, .resetAfter), (.gru, .resetBefore),
            (.mingru, .resetAfter), (.minlstm, .resetAfter)
        ] {
            try checkAgainstFiniteDifferences(
                RecurrentConfig(cell: cell, inputSize: 2, hiddenSize: 17, gruVariant: variant),
                batch: 2, steps: 3, seed: 61, stride: 7)
        }
        try checkAgainstFiniteDifferences(
            RecurrentConfig(cell: .lstm, inputSize: 2, hiddenSize: 24), batch: 3, steps: 3, seed: 62, stride: 7)
    }

    /// Float's vector path uses its own rational tanh / sigmoid, Double's uses libm: the same wide network
    /// (H = 20: one 16-unit vector, then 4 units; H = 24 with 3 batch rows: the LSTM's last 8 units of two rows
    /// in one vector) in both precisions agrees on outputs and every gradient.
    func testFloatVectorPathMatchesDouble() throws {
        for (cell, variant) in [
            (CellKind.lstm, GRUVariant.resetAfter), (.gru, .resetAfter), (.gru, .resetBefore), (.rnn, .resetAfter),
            (.mingru, .resetAfter), (.minlstm, .resetAfter)
        ] {
            for hidden in [20, 24] {
                let config = RecurrentConfig(
                    cell: cell, inputSize: 3, hiddenSize: hidden, numLayers: 2, gruVariant: variant)
                var rng = SeededRandom(seed: 5)
                let wide = RecurrentNetwork<Double>(config: config, rng: &rng)
                let narrow = try RecurrentNetwork<Float>(
                    config: config,
                    parameters: ParameterSet(
                        names: wide.parameters.names,
                        tensors: wide.parameters.tensors.map {
                            try Tensor(shape: $0.shape, data: $0.data.map(Float.init))
                        })
                )
                let x = Tensor<Double>.uniform([3, 6, 3], -1, 1, rng: &rng),
                    dOut = Tensor<Double>.uniform([3, 6, hidden], -1, 1, rng: &rng)
                let toFloat = { (t: Tensor<Double>) in try Tensor<Float>(shape: t.shape, data: t.data.map(Float.init)) }
                let outD = try wide.forward(x), outF = try narrow.forward(try toFloat(x))
                XCTAssertEqual(
                    outF.output.data.map(Double.init), outD.output.data, accuracy: 1e-5, "\(cell) \(variant) output")
                var gD = wide.parameters.zerosLike(), gF = narrow.parameters.zerosLike()
                let bD = try wide.backward(dOutput: dOut, into: &gD),
                    bF = try narrow.backward(dOutput: try toFloat(dOut), into: &gF)
                for (name, (a, b)) in zip(gD.names, zip(gD.tensors, gF.tensors)) {
                    XCTAssertEqual(b.data.map(Double.init), a.data, accuracy: 1e-4, "\(cell) \(variant) \(name)")
                }
                XCTAssertEqual(bF.dx!.data.map(Double.init), bD.dx!.data, accuracy: 1e-5, "\(cell) \(variant) dx")
            }
        }
    }

    /// dL/dh_t at a middle step: split the sequence there and restart from (h, c); L then depends on h_{s-1}
    /// through out[s-1] and through the second half, so its finite difference is the total gradient dL/dh_{s-1}.
    func testHiddenStateGradientMatchesSplitSequence() throws {
        for c in Self.configs {
            var rng = SeededRandom(seed: 8)
            var one = c
            one.numLayers = 1
            let net = RecurrentNetwork<Double>(config: one, rng: &rng)
            let T = 6, split = 3, B = 2, H = 4
            let p = makeProblem(one, batch: B, steps: T, seed: 5)
            _ = try net.forward(p.x, h0: p.h0, c0: p.c0)
            var g = net.parameters.zerosLike()
            _ = try net.backward(dOutput: p.gOut, dhn: p.gHn, dcn: p.gCn, into: &g)
            let dlDh = net.hiddenGradient()!

            let first = try net.forward(steps(p.x, 0, split), h0: p.h0, c0: p.c0)
            let rest = steps(p.x, split, T), gRest = steps(p.gOut, split, T), gAtSplit = steps(p.gOut, split - 1, split)
            var hMid = first.hn
            func splitLoss() throws -> Double {
                let second = try net.forward(rest, h0: hMid, c0: first.cn)
                var l =
                    dot(second.output.data, gRest.data) + dot(second.hn.data, p.gHn.data)
                    + dot(hMid.data, gAtSplit.data)
                if let cn = second.cn { l += dot(cn.data, p.gCn!.data) }
                return l
            }
            let expected = steps(dlDh, split - 1, split)
            for j in 0..<(B * H) {
                let n = try numeric(splitLoss) { hMid.data[j] += $0 }
                assertGradient(expected.data[j], n, "\(c.description) dL/dh[\(split - 1)]")
            }
        }
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// Steps t0..<t1 of a batch-first [B, T, F] tensor.
func steps<T: Real>(_ x: Tensor<T>, _ t0: Int, _ t1: Int) -> Tensor<T> {
    let B = x.shape[0], Tn = x.shape[1], F = x.shape[2]
    var out = [T]()
    for b in 0..<B { out += x.data[((b * Tn + t0) * F)..<((b * Tn + t1) * F)] }
    return try! Tensor(shape: [B, t1 - t0, F], data: out)
}

/// The check a study runs and reports (GradientCheck): every entry compared, small errors for every cell.
final class InRunGradientCheckTests: XCTestCase {
    func testEveryCellPassesTheInRunCheck() throws {
        for cell in [CellKind.rnn, .lstm, .gru] {
            let r = try GradientCheck.run(RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: 4, numLayers: 2))
            XCTAssertLessThan(r.maxError, 1e-7, r.network)
            // parameters + inputs (2 x 5 x 3) + initial states (2 x 2 x 4, twice for the LSTM)
            var rng = SeededRandom(seed: 0)
            let parameters = RecurrentNetwork<Double>(
                config: RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: 4, numLayers: 2), rng: &rng
            ).parameters.scalarCount
            XCTAssertEqual(r.entries, parameters + 30 + (cell == .lstm ? 32 : 16), r.network)
        }
    }
}
