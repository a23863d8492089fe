import Foundation
import XCTest
import TensorCore
import Recurrent

/// The same seed gives the same numbers: fingerprints of fresh networks (every cell and initializer, two layers)
/// and of one forward and backward pass, recorded before the cell protocol took over initialisation and the
/// per-cell facts. A change in draw order or in any step's arithmetic moves them far beyond the tolerance,
/// which only absorbs a different GEMM summation order on another instruction set.
final class SeedPinTests: XCTestCase {
    /// sum_i v_i * (i % 7 + 1): sensitive to every value and to its position.
    static func fingerprint(_ v: [Double]) -> Double {
        v.enumerated().reduce(0) { $0 + $1.element * Double($1.offset % 7 + 1) }
    }

    static func fingerprints(_ cell: CellKind, _ initializer: Initializer) throws -> [Double] {
        var rng = SeededRandom(seed: 11)
        let config = RecurrentConfig(cell: cell, inputSize: 3, hiddenSize: 8, numLayers: 2)
        let net = RecurrentNetwork<Double>(config: config, initializer: initializer, forgetGateBias: 1, rng: &rng)
        let x = Tensor<Double>.uniform([2, 5, 3], -1, 1, rng: &rng),
            g = Tensor<Double>.uniform([2, 5, 8], -1, 1, rng: &rng)
        let out = try net.forward(x)
        var grads = net.parameters.zerosLike()
        _ = try net.backward(dOutput: g, into: &grads)
        return [
            fingerprint(net.parameters.tensors.flatMap(\.data)), fingerprint(out.output.data),
            fingerprint(grads.tensors.flatMap(\.data))
        ]
    }

    static let pinned: [String: [Double]] = [
        "rnn pytorch": [6.740535152113524, -37.46960614456694, 3.0104975500129054],
        "rnn xavier": [-7.788357444384309, -10.438227949815287, -55.663755317358884],
        "rnn orthogonal": [-20.274651660459654, -35.517200177126284, -48.096072380519736],
        "lstm pytorch": [52.598454820690804, -8.865857781196203, -18.443144180964172],
        "lstm xavier": [43.598157499947575, 1.861380718181043, -17.282869867051826],
        "lstm orthogonal": [-73.83609187248386, 0.6137980480372418, -11.667701051027912],
        "gru pytorch": [-2.769455776152917, -47.477620768178824, -14.810128410254762],
        "gru xavier": [40.90071570161608, 9.224758484712947, -35.49059164771649],
        "gru orthogonal": [25.6238462723791, 24.499244929439076, -8.89496580712099]
    ]

    func testSameSeedSameNumbers() throws {
        for cell in [CellKind.rnn, .lstm, .gru] {
            for initializer in Initializer.allCases {
                let key = "\(cell.rawValue) \(initializer.rawValue)"
                let got = try Self.fingerprints(cell, initializer), want = Self.pinned[key]!
                for (what, (a, b)) in zip(["weights", "output", "gradients"], zip(got, want)) {
                    XCTAssertEqual(a, b, accuracy: 1e-10 * max(1, abs(b)), "\(key) \(what)")
                }
            }
        }
    }
}
