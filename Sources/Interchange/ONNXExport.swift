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
        var graph = GraphBuilder(name: name)
        let sequence = input(model, &graph)
        let (states, lastState) = try recurrentLayers(model, from: sequence, &graph)
        head(model, states: states, lastState: lastState, &graph)
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "rnnlab"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""; opset.version = 17
        m.opsetImport = [opset]
        m.graph = graph.graph
        return m
    }

    /// The graph's input, through the embedding when the model reads tokens, transposed to sequence-major; returns
    /// the name of the [steps, batch, features] value.
    static func input(_ model: SequenceModel<Float>, _ graph: inout GraphBuilder) -> String {
        var x = "input"
        if let embedding = model.embedding {
            graph.graph.input.append(GraphBuilder.value("input", 7, ["batch", "steps"]))
            graph.tensor(
                "embedding.weight", [embedding.vocabularySize, embedding.dimension],
                embedding.parameters.tensors[0].data)
            graph.node("Gather", ["embedding.weight", "input"], ["embedded"])
            x = "embedded"
        } else {
            graph.graph.input.append(
                GraphBuilder.value("input", 1, ["batch", "steps", String(model.rnn.config.inputSize)]))
        }
        graph.node("Transpose", [x], ["sequence"], [GraphBuilder.attribute("perm", ints: [1, 0, 2])])
        return "sequence"
    }

    /// One RNN/LSTM/GRU node per layer, its weights regrouped into ONNX's gate order; returns the names of the top
    /// layer's [steps, batch, H] states and of its last state [1, batch, H].
    static func recurrentLayers(
        _ model: SequenceModel<Float>, from sequence: String, _ graph: inout GraphBuilder
    ) throws -> (states: String, lastState: String) {
        let c = model.rnn.config, H = c.hiddenSize, G = c.cell.gateCount, params = model.parameters
        let op = try onnxOperator(c)
        /// Rows of a [G*H, cols] PyTorch tensor regrouped into ONNX's gate order.
        func reordered(_ data: [Float], cols: Int) -> [Float] {
            op.gateOrder.flatMap { g in data[(g * H * cols)..<((g + 1) * H * cols)] }
        }
        var attributes = [GraphBuilder.attribute("hidden_size", int: Int64(H))]
        for (name, value) in op.attributes {
            switch value {
            case .int(let i): attributes.append(GraphBuilder.attribute(name, int: Int64(i)))
            case .strings(let strings): attributes.append(GraphBuilder.attribute(name, strings: strings))
            }
        }
        graph.ints("axis1", [1])
        var layerInput = sequence, lastState = ""
        for k in 0..<c.numLayers {
            let inSize = c.layerInputSize(k), names = c.parameterNames(layer: k)
            guard let whhName = names.whh, let bhhName = names.bhh, c.layout.recurrentWeight == .matrix else {
                throw ExportError(description: "ONNX's \(op.name) operator needs a full recurrent weight matrix")
            }
            let wih = params["rnn." + names.wih]!.data, whh = params["rnn." + whhName]!.data
            let bih = params["rnn." + names.bih]!.data, bhh = params["rnn." + bhhName]!.data
            graph.tensor("W\(k)", [1, G * H, inSize], reordered(wih, cols: inSize))
            graph.tensor("R\(k)", [1, G * H, H], reordered(whh, cols: H))
            graph.tensor("B\(k)", [1, 2 * G * H], reordered(bih, cols: 1) + reordered(bhh, cols: 1))
            graph.node(
                op.name, [layerInput, "W\(k)", "R\(k)", "B\(k)"],
                ["Y\(k)", "Y_h\(k)"] + (c.layout.cellState ? ["Y_c\(k)"] : []), attributes)
            graph.node("Squeeze", ["Y\(k)", "axis1"], ["H\(k)"])  // [steps, batch, H]
            layerInput = "H\(k)"; lastState = "Y_h\(k)"
        }
        return (layerInput, lastState)
    }

    /// The head: nn.Linear on the last state (Gemm), or on every step (MatMul + Add), writing "output".
    static func head(_ model: SequenceModel<Float>, states: String, lastState: String, _ graph: inout GraphBuilder) {
        let H = model.rnn.config.hiddenSize, outputs = model.head.outputSize
        let fcWeight = model.head.parameters.tensors[0], fcBias = model.head.parameters.tensors[1]
        switch model.headMode {
        case .lastStep:
            graph.ints("axis0", [0])  // only this head squeezes axis 0: an unused initializer makes onnxruntime warn
            graph.node("Squeeze", [lastState, "axis0"], ["last"])
            graph.tensor("fc.weight", [outputs, H], fcWeight.data)
            graph.tensor("fc.bias", [outputs], fcBias.data)
            graph.node("Gemm", ["last", "fc.weight", "fc.bias"], ["output"], [GraphBuilder.attribute("transB", int: 1)])
            graph.graph.output.append(GraphBuilder.value("output", 1, ["batch", String(outputs)]))
        case .everyStep:
            graph.node("Transpose", [states], ["states"], [GraphBuilder.attribute("perm", ints: [1, 0, 2])])
            var transposed = [Float](repeating: 0, count: H * outputs)
            for o in 0..<outputs { for j in 0..<H { transposed[j * outputs + o] = fcWeight.data[o * H + j] } }
            graph.tensor("fc.weight_t", [H, outputs], transposed)
            graph.tensor("fc.bias", [outputs], fcBias.data)
            graph.node("MatMul", ["states", "fc.weight_t"], ["logits"])
            graph.node("Add", ["logits", "fc.bias"], ["output"])
            graph.graph.output.append(GraphBuilder.value("output", 1, ["batch", "steps", String(outputs)]))
        }
    }
}

/// An ONNX graph under construction: initializers, nodes (named by operator and position), and the protobuf
/// values the graph's inputs, outputs and attributes are made of.
struct GraphBuilder {
    var graph = Onnx_GraphProto()

    init(name: String) { graph.name = name }

    /// A float initializer.
    mutating func tensor(_ name: String, _ dims: [Int], _ values: [Float]) {
        var t = Onnx_TensorProto()
        t.name = name; t.dims = dims.map(Int64.init); t.dataType = 1  // FLOAT
        t.floatData = values
        graph.initializer.append(t)
    }

    /// A one-dimensional int64 initializer.
    mutating func ints(_ name: String, _ values: [Int64]) {
        var t = Onnx_TensorProto()
        t.name = name; t.dims = [Int64(values.count)]; t.dataType = 7  // INT64
        t.int64Data = values
        graph.initializer.append(t)
    }

    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = [])
    {
        var n = Onnx_NodeProto()
        n.opType = op; n.input = inputs; n.output = outputs; n.name = "\(op)_\(graph.node.count)"
        n.attribute = attributes
        graph.node.append(n)
    }

    static func attribute(_ name: String, int: Int64? = nil, ints: [Int64]? = nil, strings: [String]? = nil)
        -> Onnx_AttributeProto
    {
        var a = Onnx_AttributeProto()
        a.name = name
        if let int { a.type = .int; a.i = int }
        if let ints { a.type = .ints; a.ints = ints }
        if let strings { a.type = .strings; a.strings = strings.map { Data($0.utf8) } }
        return a
    }

    /// A graph input's or output's type: element type (1 float, 7 int64) and dimensions, named or fixed.
    static func value(_ name: String, _ elemType: Int32, _ dims: [String]) -> Onnx_ValueInfoProto {
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
}
