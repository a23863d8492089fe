import Foundation
import XCTest
import TensorCore
import Recurrent
import Interchange

/// Forward and BPTT against PyTorch: every case in the parity fixtures, outputs, final states, every
/// parameter gradient, dx, dh0, dc0 and dL/dh_t.
final class ParityTests: XCTestCase {
    func check<T: Real>(_ name: String, _ type: T.Type, tol: Double) throws {
        let file = try SafetensorsFile(contentsOf: fixtureDirectory.appendingPathComponent("\(name).safetensors"))
        let m = file.metadata
        let config = RecurrentConfig(
            cell: CellKind(rawValue: m["cell"]!)!, inputSize: Int(m["input_size"]!)!,
            hiddenSize: Int(m["hidden_size"]!)!, numLayers: Int(m["num_layers"]!)!,
            nonlinearity: Nonlinearity(rawValue: m["nonlinearity"]!)!,
            gruVariant: GRUVariant(rawValue: m["gru_variant"]!)!)
        var params = ParameterSet<T>()
        for (pname, _) in config.parameterLayout { params.append(pname, try file.tensor(pname, as: T.self)) }
        let net = try RecurrentNetwork<T>(config: config, parameters: params)
        let lstm = config.cell.hasCellState
        let fwd = try net.forward(
            try file.tensor("x"), h0: try file.tensor("h0"), c0: lstm ? try file.tensor("c0") : nil)
        assertClose(fwd.output, try file.tensor("out", as: T.self), tol, "\(name) out")
        assertClose(fwd.hn, try file.tensor("hn", as: T.self), tol, "\(name) hn")
        if lstm { assertClose(fwd.cn!, try file.tensor("cn", as: T.self), tol, "\(name) cn") }

        var grads = net.parameters.zerosLike()
        let back = try net.backward(
            dOutput: try file.tensor("g_out"), dhn: try file.tensor("g_hn"),
            dcn: lstm ? try file.tensor("g_cn") : nil, into: &grads)
        for (pname, g) in zip(grads.names, grads.tensors) {
            assertClose(g, try file.tensor("grad.\(pname)", as: T.self), tol, "\(name) grad.\(pname)")
        }
        assertClose(back.dx!, try file.tensor("grad.x", as: T.self), tol, "\(name) grad.x")
        assertClose(back.dh0, try file.tensor("grad.h0", as: T.self), tol, "\(name) grad.h0")
        if lstm { assertClose(back.dc0!, try file.tensor("grad.c0", as: T.self), tol, "\(name) grad.c0") }
        assertClose(net.hiddenGradient()!, try file.tensor("dl_dh", as: T.self), tol, "\(name) dl_dh")
    }

    static let cases = [
        "rnn_tanh_1layer", "rnn_relu_2layer", "lstm_1layer", "lstm_2layer",
        "gru_reset_after_2layer", "gru_reset_before_2layer", "indrnn_relu_2layer", "indrnn_tanh_1layer",
        "mingru_2layer", "minlstm_2layer"
    ]

    func testEveryFixtureIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtureDirectory.path).filter {
            $0.hasSuffix(".safetensors")
        }
        let expected = Set(Self.cases.flatMap { ["\($0).safetensors", "\($0)_f32.safetensors"] })
        XCTAssertEqual(Set(files), expected)
    }

    func testDoubleParity() throws {
        for c in Self.cases { try check(c, Double.self, tol: 1e-9) }
    }

    func testFloatParity() throws {
        for c in Self.cases { try check(c + "_f32", Float.self, tol: 2e-5) }
    }
}
