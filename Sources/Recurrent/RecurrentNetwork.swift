import Foundation
import Dispatch
import TensorCore

/// Which steps of the top layer `RecurrentNetwork.forward` returns as its output.
public enum OutputSteps: Sendable {
    /// Every step: [B, T, H].
    case every
    /// The last step only, [B, 1, H] (for a head on the last step: it skips reordering the whole sequence to
    /// batch-first, 13 MB per pixel-MNIST batch).
    case last
}

/// Result of a forward pass: the top layer's outputs and every layer's final states.
public struct RecurrentOutput<T: Real> {
    public var output: Tensor<T>  // [B, T, H], or [B, 1, H] for OutputSteps.last
    public var hn: Tensor<T>  // [L, B, H]
    public var cn: Tensor<T>?  // [L, B, H], LSTM only
}

/// What BPTT returns besides parameter gradients.
public struct RecurrentInputGradients<T: Real> {
    public var dx: Tensor<T>?  // [B, T, I], when requested
    public var dh0: Tensor<T>  // [L, B, H]
    public var dc0: Tensor<T>?  // [L, B, H], LSTM only
}

/// Per-layer buffers: the forward cache BPTT reads, and backward scratch. Time-major so each step is a
/// contiguous [B, *] block; allocated once and reused while the shapes stay the same.
final class LayerBuffers<T: Real> {
    let wih = Buffer<T>(), whh = Buffer<T>(), wihT = Buffer<T>(), whhT = Buffer<T>(), bih = Buffer<T>(),
        bhh = Buffer<T>()
    let panels = Buffer<T>()  // the recurrent matrix packed for the pass under way (StepBuffers.recurrent)
    let inputPanels = Buffer<T>()  // W_ih^T packed for the forward steps' input projection
    let input = Buffer<T>()  // [T, B, in] (layer 0 only; upper layers read the hidden states below)
    let gates = Buffer<T>()  // [T, B, G*H] activations; the backward pass writes dG_i over them
    let hs = Buffer<T>()  // [T+1, B, H], hs[0] = h0
    let cs = Buffer<T>()  // [T+1, B, H], cells with a cell state
    let saved = Buffer<T>()  // [S, T, B, H]: the S values the cell's layout names in `saved`
    let scratch = Buffer<T>()  // [B, G*H]
    let foldedBias = Buffer<T>()  // [G*H]: b_ih plus the parts of b_hh that simply add
    let biasGradient = Buffer<T>()  // [2, G*H]: one pass's column sums of dG_i and (when it is its own) dG_h
    let weightGradients = Buffer<T>()  // [G*H, in + H]: dW_ih and dW_hh side by side, for their one product
    let dGi = Buffer<T>()  // [T, B, G*H], for a backward pass that keeps the gate activations
    let dGh = Buffer<T>()  // [T, B, G*H], for a cell whose hidden-side dG is its own
    let dIn = Buffer<T>()  // [T, B, in]
}

/// Backward scratch shared by all layers.
final class BackwardBuffers<T: Real> {
    let dlDh = Buffer<T>(), dh = Buffer<T>(), dhPrev = Buffer<T>(), dc = Buffer<T>()
    let dhEveryStep = Buffer<T>()  // [T, B, H]: a scanned layer's dL/dh_t below the top
}

/// A gradient arriving at a layer's outputs, read row by row: the row of step t and batch row b at
/// base + t * stepStride + b * rowStride (the caller's batch-first dOutput is read where it lies, not reordered).
struct StepRows<T: Real> {
    let base: UnsafePointer<T>, stepStride: Int, rowStride: Int

    func row(_ t: Int, _ b: Int) -> UnsafePointer<T> { base + t * stepStride + b * rowStride }
}

/// What a backward pass was asked for (`RecurrentNetwork.backward`'s options).
struct BackwardPass {
    let truncation: Int?, inputGradient: Bool, retainForward: Bool
}

/// A stack of RNN / LSTM / GRU layers (batch-first in, batch-first out), with hand-written BPTT.
///
/// Forward: each step projects its input (x_t W_ih^T), adds h_{t-1} W_hh^T and applies the cell (a gate-only
/// recurrence projects all steps in one GEMM and scans). Backward walks time in reverse, collecting the pre-activation
/// gradients dG of every step; the weight gradients are then two GEMMs over all steps at once
/// (dW_ih = dG^T x, dW_hh = dG^T h_{t-1}) and the input gradient one more (dx = dG W_ih).
public final class RecurrentNetwork<T: Real> {
    /// The stack's shape and cell.
    public let config: RecurrentConfig
    /// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} for k = 0..<L, PyTorch's names and shapes.
    public var parameters: ParameterSet<T>
    /// Threads for the whole-sequence GEMMs and for running slices of a large batch side by side.
    public var threads = 1
    /// Whether a cell whose recurrence is linear in h (``GateOnlyRecurrence``: minGRU, minLSTM) runs as a scan over
    /// time instead of step by step (equal up to rounding; truncated BPTT always runs step by step).
    public var scansOverTime = true

    let layers: [LayerBuffers<T>]
    let scratch = BackwardBuffers<T>()
    var cachedBatch = 0, cachedSteps = 0
    /// Whether the last forward pass's values are still there for a backward pass: each forward pass serves one
    /// backward pass, which writes the gate gradients over the gate activations (as PyTorch frees a graph's saved
    /// values in backward), unless that pass retains them.
    var hasForwardCache = false
    /// Batch and steps of the last backward pass, whose top-layer dL/dh_t `scratch.dlDh` holds (time-major).
    var hiddenGradientShape: (batch: Int, steps: Int)?

    /// A stack with given weights (PyTorch's names and shapes, checked).
    public init(config: RecurrentConfig, parameters: ParameterSet<T>) throws {
        self.config = config
        var expected = ParameterSet<T>()
        for (name, shape) in config.parameterLayout { expected.append(name, Tensor(zeros: shape)) }
        try expected.load(from: parameters)
        self.parameters = expected
        layers = (0..<config.numLayers).map { _ in LayerBuffers<T>() }
    }

    /// Fresh weights. `forgetGateBias` (LSTM) sets b_ih of the forget block to that value and b_hh's to 0,
    /// so the forget gate starts open (Jozefowicz et al. 2015; Keras' unit_forget_bias uses 1).
    /// `chronoSteps` T (Tallec and Ollivier 2018, "Can recurrent neural networks warp time?") instead draws the
    /// bias of the gate that keeps the state (LSTM f, GRU z) as log(U(1, T - 1)) per unit, and sets the LSTM's
    /// input-gate bias to its negative: a unit then forgets over about 1 / (1 - sigmoid(b)) ~ U(2, T) steps, so
    /// the memory spans every time scale up to the sequence length. Its draws come after all the weights, so
    /// the weights equal those without it.
    public convenience init(
        config: RecurrentConfig, initializer: Initializer = .pytorchDefault,
        forgetGateBias: Double? = nil, chronoSteps: Int? = nil, rng: inout SeededRandom
    ) {
        var p = ParameterSet<T>()
        for k in 0..<config.numLayers { Self.appendInitialLayer(k, config, initializer, to: &p, rng: &rng) }
        let layout = config.layout, H = config.hiddenSize
        /// Sets the bias of unit j of gate block `block` to b on the input side and to 0 on the hidden side.
        func setBias(_ k: Int, block: Int, unit j: Int, _ b: Double) {
            let names = config.parameterNames(layer: k)
            p[names.bih]!.data[block * H + j] = T(b)
            if let bhh = names.bhh { p[bhh]!.data[block * H + j] = 0 }
        }
        if let fb = forgetGateBias, let block = layout.forgetGate {
            for k in 0..<config.numLayers { for j in 0..<H { setBias(k, block: block, unit: j, fb) } }
        }
        if let steps = chronoSteps, steps > 2, let keep = layout.carryGate {
            for k in 0..<config.numLayers {
                for j in 0..<H {
                    let b = Foundation.log(rng.uniform(1, Double(steps - 1)))
                    setBias(k, block: keep, unit: j, b)
                    if let write = layout.writeGate { setBias(k, block: write, unit: j, -b) }
                }
            }
        }
        try! self.init(config: config, parameters: p)
    }

    /// Appends layer k's fresh weights in PyTorch's order, drawing them in that order.
    static func appendInitialLayer(
        _ k: Int, _ config: RecurrentConfig, _ initializer: Initializer, to p: inout ParameterSet<T>,
        rng: inout SeededRandom
    ) {
        let H = config.hiddenSize, G = config.cell.gateCount, cell = config.cellType, inSize = config.layerInputSize(k)
        let names = config.parameterNames(layer: k), form = config.layout.recurrentWeight
        let recurrentShape = form == .diagonal ? [H] : [G * H, H]
        let recurrent = { (blocks: [Double]) in try! Tensor<T>(shape: recurrentShape, data: blocks.map { T($0) }) }
        switch initializer {
        case .pytorchDefault:
            let s = 1 / Double(H).squareRoot()
            p.append(names.wih, .uniform([G * H, inSize], -s, s, rng: &rng))
            if let whhName = names.whh {
                var whh = [Double]()
                for _ in 0..<G { whh += cell.initialRecurrentBlock(initializer, hidden: H, rng: &rng) }
                p.append(whhName, recurrent(whh))
            }
            p.append(names.bih, .uniform([G * H], -s, s, rng: &rng))
            if let bhh = names.bhh { p.append(bhh, .uniform([G * H], -s, s, rng: &rng)) }
        case .xavier, .orthogonal:
            // One block per gate, as Keras initialises its kernel and recurrent kernel per gate.
            let a = (6 / Double(inSize + H)).squareRoot()
            var wih = [T](), whh = [Double]()
            for _ in 0..<G {
                wih += Tensor<T>.uniform([H, inSize], -a, a, rng: &rng).data
                if names.whh != nil { whh += cell.initialRecurrentBlock(initializer, hidden: H, rng: &rng) }
            }
            p.append(names.wih, try! Tensor(shape: [G * H, inSize], data: wih))
            if let whhName = names.whh { p.append(whhName, recurrent(whh)) }
            p.append(names.bih, Tensor(zeros: [G * H]))
            if let bhh = names.bhh { p.append(bhh, Tensor(zeros: [G * H])) }
        }
    }

    // MARK: forward

    /// Runs the stack over x [B, T, I] from h0 / c0 [L, B, H] (zeros when nil); `outputs` says which steps of the top
    /// layer the output holds.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, h0: Tensor<T>? = nil, c0: Tensor<T>? = nil, outputs: OutputSteps = .every)
        throws -> RecurrentOutput<T>
    {
        guard x.rank == 3, x.shape[2] == config.inputSize else {
            throw ShapeError("input: expected [batch, steps, \(config.inputSize)], got \(x.shape)")
        }
        let B = x.shape[0], Tn = x.shape[1], H = config.hiddenSize, L = config.numLayers
        try h0?.expectShape([L, B, H], "h0")
        Subnormals.applyToThisThread()  // this thread's GEMMs too, not only the slices' threads
        let cellState = config.layout.cellState
        if cellState {
            try c0?.expectShape([L, B, H], "c0")
        } else if c0 != nil {
            throw ShapeError("c0: only an LSTM has a cell state")
        }
        guard Tn > 0, B > 0 else { throw ShapeError("input: batch and steps must be positive, got \(x.shape)") }

        cachedBatch = B; cachedSteps = Tn
        let top = layers[L - 1]
        var hn = Tensor<T>(zeros: [L, B, H]), cn: Tensor<T>? = cellState ? Tensor(zeros: [L, B, H]) : nil
        x.data.withUnsafeBufferPointer { xp in
            swapLeadingAxes(
                xp.baseAddress!, B, Tn, config.inputSize, into: layers[0].input.ensure(Tn * B * config.inputSize))
        }
        for k in 0..<L {
            let lb = layers[k]
            let input: UnsafeMutablePointer<T> = k == 0 ? lb.input.pointer : layers[k - 1].hs.pointer + B * H
            forwardLayer(k, lb, input: input, batch: B, steps: Tn, h0: h0?.data, c0: c0?.data)
            hn.data.withUnsafeMutableBufferPointer {
                ($0.baseAddress! + k * B * H).update(from: lb.hs.pointer + Tn * B * H, count: B * H)
            }
            if cellState {
                cn!.data.withUnsafeMutableBufferPointer {
                    ($0.baseAddress! + k * B * H).update(from: lb.cs.pointer + Tn * B * H, count: B * H)
                }
            }
        }
        let out =
            outputs == .last
            ? Tensor<T>(shape: [B, 1, H]) { $0.update(from: top.hs.pointer + Tn * B * H, count: B * H) }
            : Tensor<T>(shape: [B, Tn, H]) {
                swapLeadingAxes(top.hs.pointer + B * H, Tn, B, H, into: $0, threads: threads)
            }
        hasForwardCache = true
        return RecurrentOutput(output: out, hn: hn, cn: cn)
    }

    /// Runs layer k over all steps: the cell step by step, each step projecting its own input (or, for a gate-only
    /// recurrence, the projection of all steps at once and a scan over time).
    @_specialize(where T == Float) @_specialize(where T == Double)
    func forwardLayer(
        _ k: Int, _ lb: LayerBuffers<T>, input: UnsafeMutablePointer<T>, batch B: Int, steps Tn: Int,
        h0: [T]?, c0: [T]?
    ) {
        let H = config.hiddenSize, G = config.gateWidth, inSize = config.layerInputSize(k)
        let cell = config.cellType, layout = config.layout, names = config.parameterNames(layer: k)
        lb.wih.load(parameters[names.wih]!.data); lb.bih.load(parameters[names.bih]!.data)
        lb.whh.load(names.whh.map { parameters[$0]!.data } ?? [0])
        lb.bhh.load(names.bhh.map { parameters[$0]!.data } ?? [T](repeating: 0, count: G))
        transpose(lb.wih.pointer, rows: G, cols: inSize, ld: inSize, into: lb.wihT.ensure(G * inSize))
        if layout.recurrentWeight == .matrix {
            transpose(lb.whh.pointer, rows: G, cols: H, ld: H, into: lb.whhT.ensure(G * H))
        }

        let gates = lb.gates.ensure(Tn * B * G)
        let foldedBias = lb.foldedBias.ensure(G)
        for j in 0..<G {
            let inside = layout.hiddenBiasInsideStep.contains(j / H)
            foldedBias[j] = lb.bih.pointer[j] + (inside ? 0 : lb.bhh.pointer[j])
        }

        let cellState = layout.cellState
        let hs = lb.hs.ensure((Tn + 1) * B * H), cs = lb.cs.ensure(cellState ? (Tn + 1) * B * H : 1)
        let saved = SavedValues(
            names: layout.saved, base: lb.saved.ensure(max(layout.saved.count, 1) * Tn * B * H), stride: Tn * B * H)
        if let h0 {
            h0.withUnsafeBufferPointer { hs.update(from: $0.baseAddress! + k * B * H, count: B * H) }
        } else {
            lb.hs.zero(B * H)
        }
        if cellState {
            if let c0 {
                c0.withUnsafeBufferPointer { cs.update(from: $0.baseAddress! + k * B * H, count: B * H) }
            } else {
                lb.cs.zero(B * H)
            }
        }
        let bias = UnsafePointer(foldedBias)
        if let linear = scanningCell {
            // The input projection of all steps in one GEMM: gates[T*B, G] = input[T*B, in] W_ih^T, plus the bias.
            gemm(
                .none, .none, m: Tn * B, n: G, k: inSize, a: input, lda: inSize, b: lb.wihT.pointer, ldb: G,
                c: gates, ldc: G, accumulate: false, threads: threads)
            addRowVector(gates, rows: Tn * B, cols: G, ld: G, bias)
            scanForward(linear, gates: gates, hs: hs, carry: saved("carry"), batch: B, steps: Tn)
            return
        }
        // Batch rows are independent through time: with several threads each runs the whole recurrence
        // for its slice of the batch (one dispatch per layer, not per step).
        lb.scratch.ensure(B * G)
        let recurrent = packRecurrent(lb, UnsafePointer(lb.whhT.pointer), rows: H, columns: G)
        let projection = PackedPanels(
            packing: lb.wihT.pointer, rows: inSize, columns: G, ld: G,
            into: lb.inputPanels.ensure(PackedPanels<T>.count(rows: inSize, columns: G)))
        forEachBatchChunk(B) { b0, nb in
            for t in 0..<Tn {
                // Each step projects its own input (x_t W_ih^T, then the folded bias) just before it reads the
                // gates, so they are still in L1: projected for all steps at once, the gates went out to memory
                // and back (13 MB at H128 B64 T100). The same sums either way (each row's k in the same order).
                let row = t * B + b0
                if inSize == 1 {
                    projectOneFeature(
                        input + row, ldx: 1, rows: nb, weights: lb.wihT.pointer, bias: bias, into: gates + row * G,
                        cols: G, ldc: G)
                } else {
                    gemm(
                        m: nb, a: input + row * inSize, lda: inSize, b: projection, c: gates + row * G, ldc: G,
                        accumulate: false)
                    addRowVector(gates + row * G, rows: nb, cols: G, ld: G, bias)
                }
                cell.forward(
                    step(
                        lb, t, rows: b0, nb, saved: saved, recurrent: recurrent, cellState: cellState,
                        fromZeroState: t == 0 && h0 == nil), config)
            }
        }
    }

    /// The buffers of step t for batch rows b0..<b0+nb of layer k's last (or current) pass.
    func step(
        _ lb: LayerBuffers<T>, _ t: Int, rows b0: Int, _ nb: Int, saved: SavedValues<T>, recurrent: PackedPanels<T>,
        cellState: Bool, fromZeroState: Bool = false
    ) -> StepBuffers<T> {
        let B = cachedBatch, H = config.hiddenSize, G = config.gateWidth, row = t * B + b0
        // (The layout is the caller's, asked once per pass: building it allocates, which cost Q1's LSTM 10% per step.)
        let hs = lb.hs.pointer, cs = lb.cs.pointer
        return StepBuffers(
            batch: nb, hidden: H, gates: lb.gates.pointer + row * G, hPrev: hs + row * H, hNext: hs + (row + B) * H,
            cPrev: cellState ? cs + row * H : cs, cNext: cellState ? cs + (row + B) * H : cs,
            saved: saved.advanced(by: row * H), scratch: lb.scratch.pointer + b0 * G,
            whh: UnsafePointer(lb.whh.pointer), whhT: UnsafePointer(lb.whhT.pointer),
            bhh: UnsafePointer(lb.bhh.pointer), recurrent: recurrent, hPrevIsZero: fromZeroState)
    }

    /// The recurrent matrix m [rows, columns] packed into the layer's panel buffer; an empty view when the cell's
    /// recurrent weight is not a matrix (IndRNN's u).
    func packRecurrent(_ lb: LayerBuffers<T>, _ m: UnsafePointer<T>, rows: Int, columns: Int) -> PackedPanels<T> {
        let matrix = config.layout.recurrentWeight == .matrix
        let count = matrix ? PackedPanels<T>.count(rows: rows, columns: columns) : 0
        return PackedPanels(
            packing: m, rows: matrix ? rows : 0, columns: matrix ? columns : 0, ld: columns,
            into: lb.panels.ensure(max(count, 1)))
    }

    /// How many slices a batch of B rows is run in: several only when a step's recurrent product (B x the
    /// recurrent weight's size) outweighs the dispatch (~tens of microseconds per layer) and each slice keeps
    /// at least 4 rows.
    func batchParts(_ B: Int, threads: Int? = nil) -> Int {
        let threads = threads ?? self.threads
        let H = config.hiddenSize
        let perStepWork = B * (config.layout.recurrentWeight == .matrix ? config.gateWidth * H : H)
        return perStepWork >= 1 << 18 ? max(1, min(threads, B / 4)) : 1
    }

    /// Calls body(firstRow, rowCount) for slices of the batch, in parallel when threads > 1.
    func forEachBatchChunk(_ B: Int, _ body: (Int, Int) -> Void) {
        forEachSlice(of: B, parts: batchParts(B)) { body($0.lowerBound, $0.count) }
    }

    // MARK: scan over time

    /// The cell as a gate-only recurrence when this network scans over time, else nil.
    public var scanningCell: (any GateOnlyRecurrence.Type)? {
        scansOverTime ? config.cellType as? any GateOnlyRecurrence.Type : nil
    }

    /// h_t = a_t * h_{t-1} + b_t for all steps: the coefficients of every step in one pass over the batch slices,
    /// then the blocked scan over time (hs[0] = h0 on entry).
    func scanForward(
        _ cell: any GateOnlyRecurrence.Type, gates: UnsafeMutablePointer<T>, hs: UnsafeMutablePointer<T>,
        carry: UnsafeMutablePointer<T>, batch B: Int, steps Tn: Int
    ) {
        let H = config.hiddenSize, G = config.gateWidth, width = B * H
        forEachSlice(of: Tn * B, parts: threads) { rows in
            cell.coefficients(
                gates: gates + rows.lowerBound * G, rows: rows.count, hidden: H, carry: carry + rows.lowerBound * H,
                input: hs + width + rows.lowerBound * H)
        }
        linearScan(
            steps: Tn, width: width, a: { UnsafePointer(carry + $0 * width) }, y: { hs + ($0 + 1) * width },
            initial: UnsafePointer(hs), threads: threads)
    }

    /// The backward of `scanForward`: dL/dh_t for all steps as the reverse scan dh_t += a_{t+1} dh_{t+1} (dh holds
    /// dL/d(output) [T, B, H] plus dL/dh_n in its last step on entry), the gate gradients of every step in one pass,
    /// and dL/dh0 = a_0 dh_0 into `dh0`.
    func scanBackward(
        _ cell: any GateOnlyRecurrence.Type, gates: UnsafePointer<T>, hs: UnsafePointer<T>, carry: UnsafePointer<T>,
        dh: UnsafeMutablePointer<T>, dGi: UnsafeMutablePointer<T>, dh0: UnsafeMutablePointer<T>, batch B: Int,
        steps Tn: Int
    ) {
        let H = config.hiddenSize, G = config.gateWidth, width = B * H
        linearScan(
            steps: Tn, width: width, a: { carry + (Tn - $0) * width }, y: { dh + (Tn - 1 - $0) * width },
            initial: nil, threads: threads)
        forEachSlice(of: Tn * B, parts: threads) { rows in
            cell.gateGradients(
                gates: gates + rows.lowerBound * G, hPrev: hs + rows.lowerBound * H, dh: dh + rows.lowerBound * H,
                rows: rows.count, hidden: H, into: dGi + rows.lowerBound * G)
        }
        dh0.update(repeating: 0, count: width)
        multiplyAdd(dh0, carry, dh, width)
    }

    // MARK: backward

    /// Backpropagation through time for the last forward pass. `dOutput` [B, T, H] is dL/d(output),
    /// `dhn` / `dcn` [L, B, H] the gradients reaching the final states. Parameter gradients are added into
    /// `grads` (same names as `parameters`). `truncation` k cuts the recurrent gradient every k steps
    /// (truncated BPTT: the state handed from one k-step chunk to the next is treated as a constant).
    /// The pass writes the gate gradients over the forward pass's gate activations, so the next backward pass needs
    /// a forward pass of its own, unless `retainForward` (PyTorch's retain_graph) keeps them, at the cost of one more
    /// [T, B, G*H] buffer written.
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func backward(
        dOutput: Tensor<T>?, dhn: Tensor<T>? = nil, dcn: Tensor<T>? = nil,
        into grads: inout ParameterSet<T>, truncation: Int? = nil,
        inputGradient: Bool = true, retainForward: Bool = false
    ) throws -> RecurrentInputGradients<T> {
        guard hasForwardCache else {
            throw ShapeError(
                "backward needs a forward pass first (a backward pass uses up its forward pass's values unless it"
                    + " retains them)")
        }
        let B = cachedBatch, Tn = cachedSteps, H = config.hiddenSize, L = config.numLayers
        try dOutput?.expectShape([B, Tn, H], "dOutput")
        try dhn?.expectShape([L, B, H], "dhn")
        try dcn?.expectShape([L, B, H], "dcn")
        if let k = truncation, k < 1 { throw ShapeError("truncation window must be >= 1, got \(k)") }
        guard grads.names == parameters.names else { throw ShapeError("gradient buffers do not match the parameters") }
        Subnormals.applyToThisThread()
        hasForwardCache = retainForward

        scratch.dlDh.ensure(Tn * B * H)
        // dL/d(output of the top layer): the caller's dOutput, batch-first (none: a head on the last step hands its
        // gradient in as dhn, and no [T, B, H] of zeros is built and read).
        let pass = BackwardPass(truncation: truncation, inputGradient: inputGradient, retainForward: retainForward)
        guard let dOutput else { return layerGradients(dOut: nil, dhn: dhn, dcn: dcn, &grads, pass) }
        return dOutput.data.withUnsafeBufferPointer {
            let top = StepRows(base: $0.baseAddress!, stepStride: H, rowStride: Tn * H)
            return layerGradients(dOut: top, dhn: dhn, dcn: dcn, &grads, pass)
        }
    }

    /// The layers' walks back through time, top to bottom, from the top layer's output gradient `dOut`: each adds
    /// its parameter gradients and hands the gradient of its input to the layer below.
    func layerGradients(
        dOut top: StepRows<T>?, dhn: Tensor<T>?, dcn: Tensor<T>?, _ grads: inout ParameterSet<T>, _ pass: BackwardPass
    ) -> RecurrentInputGradients<T> {
        let B = cachedBatch, Tn = cachedSteps, H = config.hiddenSize, L = config.numLayers, G = config.gateWidth
        var dh0 = Tensor<T>(zeros: [L, B, H])
        let layout = config.layout
        var dc0: Tensor<T>? = layout.cellState ? Tensor(zeros: [L, B, H]) : nil
        var dOut = top
        for k in stride(from: L - 1, through: 0, by: -1) {
            let lb = layers[k], inSize = config.layerInputSize(k)
            let input: UnsafeMutablePointer<T> = k == 0 ? lb.input.pointer : layers[k - 1].hs.pointer + B * H
            // dG_i of every step over the step's gate activations: the cells read each gate value before they write
            // its place, and the write then lands in cache lines just read, not in 13 MB more memory (LSTM H128 B64
            // T100: the backward pass 22.2-22.6 -> 20.8-21.2 ms, alternating runs, AMD EPYC Zen 4, AVX-512).
            let dGi = pass.retainForward ? lb.dGi.ensure(Tn * B * G) : lb.gates.pointer
            let dGh = layout.separateHiddenGradients ? lb.dGh.ensure(Tn * B * G) : dGi
            let final = backwardThroughTime(
                k, lb, dOut: dOut, dhn: dhn?.data, dcn: dcn?.data, dGi: dGi, dGh: dGh, truncation: pass.truncation)
            dh0.data.withUnsafeMutableBufferPointer {
                ($0.baseAddress! + k * B * H).update(from: final.dh, count: B * H)
            }
            if layout.cellState {
                dc0!.data.withUnsafeMutableBufferPointer {
                    ($0.baseAddress! + k * B * H).update(from: final.dc, count: B * H)
                }
            }
            addWeightGradients(k, lb, input: input, dGi: dGi, dGh: dGh, into: &grads)

            // Gradient reaching this layer's input: the output gradient of the layer below (or dx), time-major.
            if k > 0 || pass.inputGradient {
                let dIn = lb.dIn.ensure(Tn * B * inSize)
                gemm(
                    .none, .none, m: Tn * B, n: inSize, k: G, a: dGi, lda: G, b: lb.wih.pointer, ldb: inSize, c: dIn,
                    ldc: inSize, accumulate: false, threads: threads)
                dOut = StepRows(base: dIn, stepStride: B * inSize, rowStride: inSize)
            }
        }
        hiddenGradientShape = (B, Tn)
        let dx =
            !pass.inputGradient
            ? nil
            : Tensor<T>(shape: [B, Tn, config.inputSize]) {
                swapLeadingAxes(layers[0].dIn.pointer, Tn, B, config.inputSize, into: $0, threads: threads)
            }
        return RecurrentInputGradients(dx: dx, dh0: dh0, dc0: dc0)
    }

    /// dL/dh_t of the top layer at every step of the last backward pass (everything that reaches h_t), [B, T, H];
    /// nil before the first. Reordered from time-major only when asked: a probe's gradient-flow plot reads it, a
    /// training step does not (13 MB per pixel-MNIST batch).
    public func hiddenGradient() -> Tensor<T>? {
        guard let (B, Tn) = hiddenGradientShape else { return nil }
        let H = config.hiddenSize
        return Tensor<T>(shape: [B, Tn, H]) {
            swapLeadingAxes(scratch.dlDh.pointer, Tn, B, H, into: $0, threads: threads)
        }
    }

    /// Layer k's walk back through time: fills dGi (and dGh) for every step from dOut (nil: zero) and the final-state
    /// gradients, records the top layer's dL/dh_t, and returns where dL/dh0 and dL/dc0 of this layer sit.
    func backwardThroughTime(
        _ k: Int, _ lb: LayerBuffers<T>, dOut: StepRows<T>?, dhn: [T]?, dcn: [T]?,
        dGi: UnsafeMutablePointer<T>, dGh: UnsafeMutablePointer<T>, truncation: Int?
    ) -> (dh: UnsafePointer<T>, dc: UnsafePointer<T>) {
        let B = cachedBatch, Tn = cachedSteps, H = config.hiddenSize, G = config.gateWidth, L = config.numLayers
        let layout = config.layout, cell = config.cellType, top = k == L - 1
        let dh = scratch.dh.ensure(B * H), dhPrev = scratch.dhPrev.ensure(B * H), dc = scratch.dc.ensure(B * H)
        let dlDh = scratch.dlDh.pointer
        let saved = SavedValues(names: layout.saved, base: lb.saved.pointer, stride: Tn * B * H)
        if let linear = scanningCell, truncation == nil {
            let dhAll = top ? dlDh : scratch.dhEveryStep.ensure(Tn * B * H)
            if let dOut {
                for t in 0..<Tn { for b in 0..<B { (dhAll + (t * B + b) * H).update(from: dOut.row(t, b), count: H) } }
            } else {
                dhAll.update(repeating: 0, count: Tn * B * H)
            }
            if let dhn {
                dhn.withUnsafeBufferPointer { axpy(B * H, 1, $0.baseAddress! + k * B * H, dhAll + (Tn - 1) * B * H) }
            }
            scanBackward(
                linear, gates: lb.gates.pointer, hs: lb.hs.pointer, carry: saved("carry"), dh: dhAll, dGi: dGi,
                dh0: dh, batch: B, steps: Tn)
            return (UnsafePointer(dh), UnsafePointer(dc))
        }
        scratch.dc.zero(B * H)
        dcn?.withUnsafeBufferPointer { dc.update(from: $0.baseAddress! + k * B * H, count: B * H) }
        lb.scratch.ensure(B * G)
        let recurrent = packRecurrent(lb, UnsafePointer(lb.whh.pointer), rows: G, columns: H)
        // Where dL/dh_t is summed: the top layer sums it in its record (what hiddenGradient() reads, so no copy), the
        // layers below in two buffers taken in turn; dL/dh_{-1} = dL/dh0 lands in dhPrev either way.
        let slot = { (t: Int) in top && t >= 0 ? dlDh + t * B * H : (t & 1 == 0 ? dh : dhPrev) }
        forEachBatchChunk(B) { b0, nb in
            let dcChunk = dc + b0 * H, last = slot(Tn - 1) + b0 * H
            if let dhn {
                dhn.withUnsafeBufferPointer { last.update(from: $0.baseAddress! + k * B * H + b0 * H, count: nb * H) }
            } else {
                last.update(repeating: 0, count: nb * H)
            }
            for t in stride(from: Tn - 1, through: 0, by: -1) {
                let dhCur = slot(t) + b0 * H, dhNext = slot(t - 1) + b0 * H
                if let dOut { for r in 0..<nb { axpy(H, 1, dOut.row(t, b0 + r), dhCur + r * H) } }
                let row = t * B + b0
                cell.backward(
                    step(lb, t, rows: b0, nb, saved: saved, recurrent: recurrent, cellState: layout.cellState),
                    StepGradients(
                        dh: dhCur, dc: dcChunk, dhPrev: dhNext,
                        dGi: dGi + row * G, dGh: dGh + row * G),
                    config)
                if let w = truncation, t > 0, t % w == 0 {
                    dhNext.update(repeating: 0, count: nb * H)
                    dcChunk.update(repeating: 0, count: nb * H)
                }
            }
        }
        return (UnsafePointer(dhPrev), UnsafePointer(dc))
    }

    /// Layer k's weight and bias gradients for all steps at once: dW_ih = dG^T x, the cell's dW_hh (both in one
    /// product where the cell's layout says they are one), and the biases' column sums of dG.
    func addWeightGradients(
        _ k: Int, _ lb: LayerBuffers<T>, input: UnsafeMutablePointer<T>, dGi: UnsafeMutablePointer<T>,
        dGh: UnsafeMutablePointer<T>, into grads: inout ParameterSet<T>
    ) {
        let B = cachedBatch, Tn = cachedSteps, H = config.hiddenSize, G = config.gateWidth
        let inSize = config.layerInputSize(k), slots = LayerSlots(config.parameterNames(layer: k), in: grads)
        // Bias gradients: the column sums of dG over all steps, summed while the weight products read dG (dG_h's
        // by the cell's recurrent product, where it is its own).
        let dbIh = lb.biasGradient.ensure(2 * G), separate = dGh != dGi, layout = config.layout
        lb.biasGradient.zero(2 * G)
        if layout.oneWeightGradientProduct, let whh = slots.whh {
            grads.tensors.withUnsafeMutableBufferPointer { tensors in
                tensors[slots.wih].data.withUnsafeMutableBufferPointer { dWih in
                    tensors[whh].data.withUnsafeMutableBufferPointer { dWhh in
                        gemmTransposedSideBySide(
                            m: G, k: Tn * B, a: dGi, lda: G, b1: input, ldb1: inSize, n1: inSize, c1: dWih.baseAddress!,
                            b2: lb.hs.pointer, ldb2: H, n2: H, c2: dWhh.baseAddress!,
                            workspace: lb.weightGradients.ensure(G * (inSize + H)), threads: threads, sumsOfA: dbIh)
                    }
                }
            }
        } else {
            grads.tensors[slots.wih].data.withUnsafeMutableBufferPointer { dW in
                gemm(
                    .transposed, .none, m: G, n: inSize, k: Tn * B, a: dGi, lda: G, b: input, ldb: inSize,
                    c: dW.baseAddress!, ldc: inSize, accumulate: true, threads: threads, sumsOfA: dbIh)
            }
            if let whh = slots.whh {
                let q = SequenceGradients(
                    rows: Tn * B, hidden: H, dGh: UnsafePointer(dGh), hPrev: UnsafePointer(lb.hs.pointer),
                    saved: SavedValues(names: layout.saved, base: lb.saved.pointer, stride: Tn * B * H),
                    hiddenBiasSums: separate ? dbIh + G : nil)
                grads.tensors[whh].data.withUnsafeMutableBufferPointer { dW in
                    config.cellType.addRecurrentWeightGradient(q, into: dW.baseAddress!, threads: threads, config)
                }
            }
        }
        // Where the hidden side's dG is the input side's (every cell but the GRU's reset-after n gate), db_hh = db_ih.
        grads.tensors[slots.bih].data.withUnsafeMutableBufferPointer { axpy(G, 1, dbIh, $0.baseAddress!) }
        if let bhh = slots.bhh {
            grads.tensors[bhh].data.withUnsafeMutableBufferPointer {
                axpy(G, 1, dbIh + (separate ? G : 0), $0.baseAddress!)
            }
        }
    }

    /// The per-step value `name` the cell saved in layer k's last forward pass, [T, B, H] time-major; nil when the
    /// cell's layout saves no such value.
    public func savedValues(_ name: String, layer k: Int) -> [T]? {
        guard let i = config.layout.saved.firstIndex(of: name) else { return nil }
        let n = cachedSteps * cachedBatch * config.hiddenSize
        return Array(UnsafeBufferPointer(start: layers[k].saved.pointer + i * n, count: n))
    }

    /// The cell state c_t of layer k at every step of the last forward pass, [T, B, H] time-major; nil for a cell
    /// without one.
    public func cellStates(layer k: Int) -> [T]? {
        guard config.layout.cellState else { return nil }
        let n = cachedSteps * cachedBatch * config.hiddenSize
        return Array(UnsafeBufferPointer(start: layers[k].cs.pointer + cachedBatch * config.hiddenSize, count: n))
    }

    /// Gate activations of layer k from the last forward pass, [T, B, G*H] time-major (for saturation statistics).
    public func gateActivations(layer k: Int) throws -> [T] {
        try withGateActivations(layer: k) { Array($0) }
    }

    /// Calls body with layer k's gate activations of the last forward pass, [T, B, G*H] time-major, in place (a copy
    /// of them is 100 MB for a pixel-MNIST probe batch of 128). Throws before a forward pass and after its backward
    /// pass, which writes the gate gradients over them.
    public func withGateActivations<R>(layer k: Int, _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        guard hasForwardCache else {
            throw ShapeError("gate activations: run a forward pass first (its backward pass turns them into gradients)")
        }
        return try body(
            UnsafeBufferPointer(start: layers[k].gates.pointer, count: cachedSteps * cachedBatch * config.gateWidth))
    }
}
