import XCTest
import TensorCore
@testable import Recurrent

/// The gate-only cells (minGRU, minLSTM) scan over time: the blocked scan equals the plain recurrence, the
/// network's scan path equals its step-by-step path, and thread counts do not change a bit of it.
final class ScanTests: XCTestCase {
    /// y_s = a_s y_{s-1} + y_s against the loop it replaces, across block boundaries (32 steps) and thread counts.
    func testBlockedScanEqualsTheRecurrence() {
        var rng = SeededRandom(seed: 3)
        for steps in [1, 31, 32, 33, 64, 100] {
            for withInitial in [true, false] {
                let width = 19
                let a = Tensor<Double>.uniform([steps, width], 0, 1, rng: &rng).data
                let y0 = Tensor<Double>.uniform([steps, width], -1, 1, rng: &rng).data
                let initial = Tensor<Double>.uniform([width], -1, 1, rng: &rng).data
                var expected = y0
                for s in 0..<steps {
                    for j in 0..<width {
                        let previous = s == 0 ? (withInitial ? initial[j] : nil) : expected[(s - 1) * width + j]
                        if let previous { expected[s * width + j] += a[s * width + j] * previous }
                    }
                }
                for threads in [1, 2, 3] {
                    var y = y0
                    a.withUnsafeBufferPointer { ap in
                        y.withUnsafeMutableBufferPointer { yp in
                            initial.withUnsafeBufferPointer { ip in
                                linearScan(
                                    steps: steps, width: width, a: { ap.baseAddress! + $0 * width },
                                    y: { yp.baseAddress! + $0 * width }, initial: withInitial ? ip.baseAddress! : nil,
                                    threads: threads)
                            }
                        }
                    }
                    XCTAssertEqual(y, expected, accuracy: 1e-13, "\(steps) steps, \(threads) threads")
                }
            }
        }
    }

    /// Over 100 steps (four blocks) with two layers and a final-state gradient: outputs, final states and every
    /// gradient of the scan equal the step-by-step pass (Double to 1e-12, Float to 1e-5).
    func testScanEqualsStepByStep() throws {
        for cell in [CellKind.mingru, .minlstm] {
            try compare(Double.self, cell, tolerance: 1e-12)
            try compare(Float.self, cell, tolerance: 1e-5)
        }
    }

    func compare<T: Real>(_ type: T.Type, _ cell: CellKind, tolerance: Double) throws {
        var rng = SeededRandom(seed: 9)
        let config = RecurrentConfig(cell: cell, inputSize: 4, hiddenSize: 17, numLayers: 2)
        let net = RecurrentNetwork<T>(config: config, rng: &rng)
        let x = Tensor<T>.uniform([3, 100, 4], -1, 1, rng: &rng), g = Tensor<T>.uniform([3, 100, 17], -1, 1, rng: &rng)
        let gHn = Tensor<T>.uniform([2, 3, 17], -1, 1, rng: &rng), h0 = Tensor<T>.uniform([2, 3, 17], -1, 1, rng: &rng)
        func run(scan: Bool) throws -> [[Double]] {
            net.scansOverTime = scan
            let out = try net.forward(x, h0: h0)
            var grads = net.parameters.zerosLike()
            let back = try net.backward(dOutput: g, dhn: gHn, into: &grads)
            return ([out.output, out.hn, back.dh0, net.hiddenGradient()!, back.dx!] + grads.tensors).map {
                $0.data.map(Double.init)
            }
        }
        let scanned = try run(scan: true), stepped = try run(scan: false)
        for (i, (a, b)) in zip(scanned, stepped).enumerated() {
            XCTAssertEqual(a, b, accuracy: tolerance, "\(cell) \(T.self) result \(i)")
        }
    }

    /// The scan's blocks are fixed at 32 steps whatever the thread count, so threads move no bit.
    func testScanIsBitIdenticalAcrossThreadCounts() throws {
        for cell in [CellKind.mingru, .minlstm] {
            var rng = SeededRandom(seed: 4)
            let net = RecurrentNetwork<Float>(
                config: RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: 24, numLayers: 2), rng: &rng)
            let x = Tensor<Float>.uniform([5, 90, 3], -1, 1, rng: &rng),
                g = Tensor<Float>.uniform([5, 90, 24], -1, 1, rng: &rng)
            func run(_ threads: Int) throws -> [[Float]] {
                net.threads = threads
                let out = try net.forward(x)
                var grads = net.parameters.zerosLike()
                let back = try net.backward(dOutput: g, into: &grads)
                return [out.output.data, net.hiddenGradient()!.data, back.dx!.data] + grads.tensors.map(\.data)
            }
            let one = try run(1)
            for threads in [2, 3] { XCTAssertEqual(try run(threads), one, "\(cell): \(threads) threads vs 1") }
        }
    }
}
