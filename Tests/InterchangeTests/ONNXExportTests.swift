import Foundation
import ONNXProto
import Recurrent
import SequenceData
import TensorCore
import XCTest
import TestSupport

@testable import Interchange

/// ONNX export with the standard operators: the graph's structure always, and onnxruntime's outputs against
/// rnnlab's own forward pass wherever a Python with onnxruntime is found ($RNNLAB_PYTHON, default python3).
final class ONNXExportTests: XCTestCase {
    struct Case {
        var config: RecurrentConfig
        var tokens: Int?
        var head: HeadMode
    }
    static let cases: [Case] = [
        Case(
            config: RecurrentConfig(cell: .lstm, inputSize: 3, hiddenSize: 5, numLayers: 2), tokens: nil,
            head: .lastStep),
        Case(config: RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 4), tokens: nil, head: .everyStep),
        Case(
            config: RecurrentConfig(cell: .gru, inputSize: 3, hiddenSize: 4, gruVariant: .resetBefore), tokens: nil,
            head: .lastStep),
        Case(
            config: RecurrentConfig(cell: .rnn, inputSize: 4, hiddenSize: 6, nonlinearity: .relu), tokens: 9,
            head: .everyStep),
        Case(config: RecurrentConfig(cell: .rnn, inputSize: 2, hiddenSize: 3), tokens: nil, head: .lastStep)
    ]

    func model(_ c: Case) -> SequenceModel<Float> {
        var rng = SeededRandom(seed: 5)
        return SequenceModel(
            embedding: c.tokens.map { Embedding(vocabularySize: $0, dimension: c.config.inputSize, rng: &rng) },
            rnn: RecurrentNetwork(config: c.config, forgetGateBias: 1, rng: &rng),
            head: Linear(inputSize: c.config.hiddenSize, outputSize: 3, rng: &rng), headMode: c.head,
            objective: .crossEntropy)
    }

    func input(_ c: Case, batch: Int, steps: Int) -> SequenceBatch<Float>.Input {
        var rng = SeededRandom(seed: 9)
        if let v = c.tokens {
            return .tokens((0..<(batch * steps)).map { _ in rng.int(below: v) }, batch: batch, steps: steps)
        }
        return .dense(.uniform([batch, steps, c.config.inputSize], -1, 1, rng: &rng))
    }

    func testGraphUsesTheStandardOperators() throws {
        for c in Self.cases {
            let m = try Onnx_ModelProto(serializedBytes: try ONNXExport.serialize(model(c)))
            let ops = m.graph.node.map(\.opType)
            let cellOp = ["rnn": "RNN", "lstm": "LSTM", "gru": "GRU"][c.config.cell.rawValue]!
            XCTAssertEqual(ops.filter { $0 == cellOp }.count, c.config.numLayers, "\(ops)")
            XCTAssertEqual(ops.contains("Gather"), c.tokens != nil)
            XCTAssertTrue(ops.contains(c.head == .lastStep ? "Gemm" : "MatMul"), "\(ops)")
            XCTAssertEqual(m.opsetImport.first?.version, 17)
            // Every initializer feeds a node (onnxruntime warns about unused ones).
            let used = Set(m.graph.node.flatMap(\.input))
            XCTAssertEqual(m.graph.initializer.map(\.name).filter { !used.contains($0) }, [], "\(c.head)")
        }
        // The preprocessing a user needs travels in metadata_props.
        let tagged = try Onnx_ModelProto(
            serializedBytes: try ONNXExport.serialize(model(Self.cases[0]), metadata: ["rnnlab.window": "8"]))
        XCTAssertEqual(tagged.metadataProps.map { "\($0.key)=\($0.value)" }, ["rnnlab.window=8"])
        // A cell without a standard operator is refused by name, never exported as another operator.
        func exportable(_ cell: CellKind) -> Bool {
            cell.cellType.onnxOperator(RecurrentConfig(cell: cell, inputSize: 2, hiddenSize: 3)) != nil
        }
        for cell in CellKind.allCases where !exportable(cell) {
            var rng = SeededRandom(seed: 1)
            let model = SequenceModel<Float>(
                embedding: nil,
                rnn: RecurrentNetwork(config: RecurrentConfig(cell: cell, inputSize: 2, hiddenSize: 3), rng: &rng),
                head: Linear(inputSize: 3, outputSize: 1, rng: &rng), headMode: .lastStep, objective: .meanSquaredError)
            XCTAssertThrowsError(try ONNXExport.serialize(model)) {
                XCTAssertEqual("\($0)", "\(cell.displayName) has no standard ONNX operator")
            }
        }
        XCTAssertEqual(
            [CellKind.rnn, .lstm, .gru, .indrnn, .mingru, .minlstm].map(exportable),
            [
                true, true, true, false, false, false
            ])
    }

    func testOnnxruntimeAgreesWithRnnlab() throws {
        func run(_ args: [String]) throws -> (Int32, String) { try ChildProcess.python(args) }
        try XCTSkipUnless((try run(["-c", "import onnxruntime, numpy"])).0 == 0, "no onnxruntime in this Python")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, c) in Self.cases.enumerated() {
            let m = model(c)
            let x = input(c, batch: 2, steps: 7)
            let expected = try m.predict(x).data
            let file = dir.appendingPathComponent("m\(i).onnx")
            try ONNXExport.serialize(m).write(to: file)
            let feed: String
            switch x {
            case .dense(let t): feed = "np.array(\(t.data), dtype=np.float32).reshape(2, 7, \(c.config.inputSize))"
            case .tokens(let ids, _, _): feed = "np.array(\(ids), dtype=np.int64).reshape(2, 7)"
            }
            let script = """
                import numpy as np, onnxruntime as ort
                s = ort.InferenceSession("\(file.path)")
                print(" ".join(repr(float(v)) for v in s.run(None, {"input": \(feed)})[0].flatten()))
                """
            let (status, out) = try run(["-c", script])
            XCTAssertEqual(status, 0, out)
            let got = out.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
            XCTAssertEqual(got.count, expected.count, "\(c.config.description)")
            for (a, b) in zip(got, expected) {
                XCTAssertEqual(a, Double(b), accuracy: 1e-4, "\(c.config.description) \(c.head)")
            }
        }
    }
}
