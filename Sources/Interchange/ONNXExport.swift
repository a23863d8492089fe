import Foundation
import ONNXProto
import Recurrent
import TensorCore

/// Exports a ``SequenceModel`` to ONNX with the standard recurrent operators (RNN, LSTM, GRU; opset 17), so
/// onnxruntime and every other ONNX runtime can run it. The graph: [Gather from the embedding] -> Transpose to
/// sequence-major -> one RNN/LSTM/GRU node per layer -> the head (Gemm on the last state, or MatMul + Add on
/// every step). Input "input": [batch, steps, features] float, or [batch, steps] int64 token ids; output
/// "output": [batch, outputs] or [batch, steps, outputs].
public enum ONNXExport {
    public struct ExportError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The cell's ONNX operator, or an error naming the cell when ONNX has none.
    static func onnxOperator(_ config: RecurrentConfig) throws -> ONNXOperator {
        guard let op = config.cellType.onnxOperator(config) else {
            throw ExportError(description: "\(config.cell.displayName) has no standard ONNX operator")
        }
        return op
    }

    /// The serialized ONNX model; `metadata` goes into the model's metadata_props (what turns raw data into the
    /// model's input: normalisation, vocabulary, window), readable with onnx or onnxruntime's modelmeta.
    public static func serialize(
        _ model: SequenceModel<Float>, name: String = "rnnlab", metadata: [String: String] = [:]
    )
        throws -> Data
    {
        var m = try build(model, name: name)
        m.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key; entry.value = value
            return entry
        }
        return try m.serializedData()
    }

    static func build(_ model: SequenceModel<Float>, name: String) throws -> Onnx_ModelProto {
        let c = model.rnn.config, H = c.hiddenSize, G = c.cell.gateCount
        let op = try onnxOperator(c), order = op.gateOrder
        var graph = Onnx_GraphProto()
        graph.name = name
        func tensor(_ name: String, _ dims: [Int], _ values: [Float]) {
            var t = Onnx_TensorProto()
            t.name = name; t.dims = dims.map(Int64.init); t.dataType = 1  // FLOAT
            t.floatData = values
            graph.initializer.append(t)
        }
        func ints(_ name: String, _ values: [Int64]) {
            var t = Onnx_TensorProto()
            t.name = name; t.dims = [Int64(values.count)]; t.dataType = 7  // INT64
            t.int64Data = values
            graph.initializer.append(t)
        }
        func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = []) {
            var n = Onnx_NodeProto()
            n.opType = op; n.input = inputs; n.output = outputs; n.name = "\(op)_\(graph.node.count)"
            n.attribute = attributes
            graph.node.append(n)
        }
        func attribute(_ name: String, int: Int64? = nil, ints: [Int64]? = nil, strings: [String]? = nil)
            -> Onnx_AttributeProto
        {
            var a = Onnx_AttributeProto()
            a.name = name
            if let int { a.type = .int; a.i = int }
            if let ints { a.type = .ints; a.ints = ints }
            if let strings { a.type = .strings; a.strings = strings.map { Data($0.utf8) } }
            return a
        }
        func value(_ name: String, _ elemType: Int32, _ dims: [String]) -> Onnx_ValueInfoProto {
            var v = Onnx_ValueInfoProto()
            v.name = name
            var t = Onnx_TypeProto.Tensor()
            t.elemType = elemType
            var shape = Onnx_TensorShapeProto()
            shape.dim = dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                if let n = Int64(d) { dim.dimValue = n } else { dim.dimParam = d }
                return dim
            }
            t.shape = shape
            v.type.tensorType = t
            return v
        }
        /// Rows of a [G*H, cols] PyTorch tensor regrouped into ONNX's gate order.
        func reordered(_ data: [Float], cols: Int) -> [Float] {
            order.flatMap { g in data[(g * H * cols)..<((g + 1) * H * cols)] }
        }

        // Input, and the embedding when the model reads tokens.
        let params = model.parameters
        var x = "input"
        if let embedding = model.embedding {
            graph.input.append(value("input", 7, ["batch", "steps"]))
            tensor(
                "embedding.weight", [embedding.vocabularySize, embedding.dimension],
                embedding.parameters.tensors[0].data)
            node("Gather", ["embedding.weight", "input"], ["embedded"])
            x = "embedded"
        } else {
            graph.input.append(value("input", 1, ["batch", "steps", String(c.inputSize)]))
        }
        node("Transpose", [x], ["sequence"], [attribute("perm", ints: [1, 0, 2])])
        ints("axis1", [1])
        var layerInput = "sequence", lastState = ""
        for k in 0..<c.numLayers {
            let inSize = c.layerInputSize(k)
            let names = c.parameterNames(layer: k)
            guard let whhName = names.whh, let bhhName = names.bhh, c.layout.recurrentWeight == .matrix else {
                throw ExportError(description: "ONNX's \(op.name) operator needs a full recurrent weight matrix")
            }
            let wih = params["rnn." + names.wih]!.data, whh = params["rnn." + whhName]!.data
            let bih = params["rnn." + names.bih]!.data, bhh = params["rnn." + bhhName]!.data
            tensor("W\(k)", [1, G * H, inSize], reordered(wih, cols: inSize))
            tensor("R\(k)", [1, G * H, H], reordered(whh, cols: H))
            tensor("B\(k)", [1, 2 * G * H], reordered(bih, cols: 1) + reordered(bhh, cols: 1))
            var attributes = [attribute("hidden_size", int: Int64(H))]
            for (name, value) in op.attributes {
                switch value {
                case .int(let i): attributes.append(attribute(name, int: Int64(i)))
                case .strings(let strings): attributes.append(attribute(name, strings: strings))
                }
            }
            node(
                op.name, [layerInput, "W\(k)", "R\(k)", "B\(k)"],
                ["Y\(k)", "Y_h\(k)"] + (c.layout.cellState ? ["Y_c\(k)"] : []), attributes)
            node("Squeeze", ["Y\(k)", "axis1"], ["H\(k)"])  // [steps, batch, H]
            layerInput = "H\(k)"; lastState = "Y_h\(k)"
        }
        // The head: nn.Linear on the last state, or on every step.
        let fcWeight = model.head.parameters.tensors[0], fcBias = model.head.parameters.tensors[1]
        let outputs = model.head.outputSize
        switch model.headMode {
        case .lastStep:
            ints("axis0", [0])  // only this head squeezes axis 0: an unused initializer makes onnxruntime warn
            node("Squeeze", [lastState, "axis0"], ["last"])
            tensor("fc.weight", [outputs, H], fcWeight.data)
            tensor("fc.bias", [outputs], fcBias.data)
            node("Gemm", ["last", "fc.weight", "fc.bias"], ["output"], [attribute("transB", int: 1)])
            graph.output.append(value("output", 1, ["batch", String(outputs)]))
        case .everyStep:
            node("Transpose", [layerInput], ["states"], [attribute("perm", ints: [1, 0, 2])])
            var transposed = [Float](repeating: 0, count: H * outputs)
            for o in 0..<outputs { for j in 0..<H { transposed[j * outputs + o] = fcWeight.data[o * H + j] } }
            tensor("fc.weight_t", [H, outputs], transposed)
            tensor("fc.bias", [outputs], fcBias.data)
            node("MatMul", ["states", "fc.weight_t"], ["logits"])
            node("Add", ["logits", "fc.bias"], ["output"])
            graph.output.append(value("output", 1, ["batch", "steps", String(outputs)]))
        }
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "rnnlab"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""; opset.version = 17
        m.opsetImport = [opset]
        m.graph = graph
        return m
    }
}
