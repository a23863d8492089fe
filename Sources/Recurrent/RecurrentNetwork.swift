import Foundation
import Dispatch
import TensorCore

/// Result of a forward pass: the top layer's outputs and every layer's final states.
public struct RecurrentOutput<T: Real> {
    public var output: Tensor<T>  // [B, T, H]
    public var hn: Tensor<T>  // [L, B, H]
    public var cn: Tensor<T>?  // [L, B, H], LSTM only
}

/// What BPTT returns besides parameter gradients.
public struct RecurrentInputGradients<T: Real> {
    public var dx: Tensor<T>?  // [B, T, I], when requested
    public var dh0: Tensor<T>  // [L, B, H]
    public var dc0: Tensor<T>?  // [L, B, H], LSTM only
    /// dL/dh_t of the top layer at every step, everything that reaches h_t: [B, T, H].
    public var dlDh: Tensor<T>
}

/// Per-layer buffers: the forward cache BPTT reads, and backward scratch. Time-major so each step is a
/// contiguous [B, *] block; allocated once and reused while the shapes stay the same.
final class LayerBuffers<T: Real> {
    let wih = Buffer<T>(), whh = Buffer<T>(), wihT = Buffer<T>(), whhT = Buffer<T>(), bih = Buffer<T>(),
        bhh = Buffer<T>()
    let panels = Buffer<T>()  // the recurrent matrix packed for the pass under way (StepBuffers.recurrent)
    let input = Buffer<T>()  // [T, B, in] (layer 0 only; upper layers read the hidden states below)
    let gates = Buffer<T>()  // [T, B, G*H] activations
    let hs = Buffer<T>()  // [T+1, B, H], hs[0] = h0
    let cs = Buffer<T>()  // [T+1, B, H], LSTM
    let aux = Buffer<T>()  // [T, B, H]
    let scratch = Buffer<T>()  // [B, G*H]
    let foldedBias = Buffer<T>()  // [G*H]: b_ih plus the parts of b_hh that simply add
    let biasGradient = Buffer<T>()  // [G*H]: one pass's column sums of dG
    let dGi = Buffer<T>(), dGh = Buffer<T>()  // [T, B, G*H]
    let dIn = Buffer<T>()  // [T, B, in]
}

/// Backward scratch shared by all layers.
final class BackwardBuffers<T: Real> {
    let dOutTop = Buffer<T>(), dlDh = Buffer<T>(), dh = Buffer<T>(), dhPrev = Buffer<T>(), dc = Buffer<T>()
}

/// A stack of RNN / LSTM / GRU layers (batch-first in, batch-first out), with hand-written BPTT.
///
/// Forward: the input projection of all steps is one GEMM ([T*B, in] x W_ih^T), then the time loop adds
/// h_{t-1} W_hh^T and applies the cell. Backward walks time in reverse, collecting the pre-activation
/// gradients dG of every step; the weight gradients are then two GEMMs over all steps at once
/// (dW_ih = dG^T x, dW_hh = dG^T h_{t-1}) and the input gradient one more (dx = dG W_ih).
public final class RecurrentNetwork<T: Real> {
    /// The stack's shape and cell.
    public let config: RecurrentConfig
    /// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} for k = 0..<L, PyTorch's names and shapes.
    public var parameters: ParameterSet<T>
    /// Threads for the whole-sequence GEMMs and for running slices of a large batch side by side.
    public var threads = 1

    let layers: [LayerBuffers<T>]
    let scratch = BackwardBuffers<T>()
    var cachedBatch = 0, cachedSteps = 0
    var hasForwardCache = false

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
        let H = config.hiddenSize, G = config.cell.gateCount, cell = config.cellType
        let recurrentShape = cell.recurrentWeightShape(hidden: H)
        var p = ParameterSet<T>()
        for k in 0..<config.numLayers {
            let inSize = config.layerInputSize(k)
            let recurrent = { (blocks: [Double]) in try! Tensor<T>(shape: recurrentShape, data: blocks.map { T($0) }) }
            switch initializer {
            case .pytorchDefault:
                let s = 1 / Double(H).squareRoot()
                p.append("weight_ih_l\(k)", .uniform([G * H, inSize], -s, s, rng: &rng))
                var whh = [Double]()
                for _ in 0..<G { whh += cell.initialRecurrentBlock(initializer, hidden: H, rng: &rng) }
                p.append("weight_hh_l\(k)", recurrent(whh))
                p.append("bias_ih_l\(k)", .uniform([G * H], -s, s, rng: &rng))
                p.append("bias_hh_l\(k)", .uniform([G * H], -s, s, rng: &rng))
            case .xavier, .orthogonal:
                // One block per gate, as Keras initialises its kernel and recurrent kernel per gate.
                let a = (6 / Double(inSize + H)).squareRoot()
                var wih = [T](), whh = [Double]()
                for _ in 0..<G {
                    wih += Tensor<T>.uniform([H, inSize], -a, a, rng: &rng).data
                    whh += cell.initialRecurrentBlock(initializer, hidden: H, rng: &rng)
                }
                p.append("weight_ih_l\(k)", try! Tensor(shape: [G * H, inSize], data: wih))
                p.append("weight_hh_l\(k)", recurrent(whh))
                p.append("bias_ih_l\(k)", Tensor(zeros: [G * H]))
                p.append("bias_hh_l\(k)", Tensor(zeros: [G * H]))
            }
            if let fb = forgetGateBias, let block = cell.forgetGateBlock {
                for j in (block * H)..<((block + 1) * H) {
                    p.tensors[4 * k + 2].data[j] = T(fb)
                    p.tensors[4 * k + 3].data[j] = 0
                }
            }
        }
        if let steps = chronoSteps, steps > 2, let keep = cell.carryGateBlock {
            for k in 0..<config.numLayers {
                for j in 0..<H {
                    let b = Foundation.log(rng.uniform(1, Double(steps - 1)))
                    p.tensors[4 * k + 2].data[keep * H + j] = T(b)
                    p.tensors[4 * k + 3].data[keep * H + j] = 0
                    if let input = cell.chronoInputBlock {
                        p.tensors[4 * k + 2].data[input * H + j] = T(-b)
                        p.tensors[4 * k + 3].data[input * H + j] = 0
                    }
                }
            }
        }
        try! self.init(config: config, parameters: p)
    }

    // MARK: forward

    /// Runs the stack over x [B, T, I] from h0 / c0 [L, B, H] (zeros when nil).
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>, h0: Tensor<T>? = nil, c0: Tensor<T>? = nil) throws -> RecurrentOutput<T> {
        guard x.rank == 3, x.shape[2] == config.inputSize else {
            throw ShapeError("input: expected [batch, steps, \(config.inputSize)], got \(x.shape)")
        }
        let B = x.shape[0], Tn = x.shape[1], H = config.hiddenSize, L = config.numLayers
        try h0?.expectShape([L, B, H], "h0")
        Subnormals.applyToThisThread()  // this thread's GEMMs too, not only the slices' threads
        let cellState = config.cellType.hasCellState
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
        let out = Tensor<T>(shape: [B, Tn, H]) {
            swapLeadingAxes(top.hs.pointer + B * H, Tn, B, H, into: $0, threads: threads)
        }
        hasForwardCache = true
        return RecurrentOutput(output: out, hn: hn, cn: cn)
    }

    @_specialize(where T == Float) @_specialize(where T == Double)
    func forwardLayer(
        _ k: Int, _ lb: LayerBuffers<T>, input: UnsafeMutablePointer<T>, batch B: Int, steps Tn: Int,
        h0: [T]?, c0: [T]?
    ) {
        let H = config.hiddenSize, G = config.gateWidth, inSize = config.layerInputSize(k)
        let p = parameters.tensors
        lb.wih.load(p[4 * k].data); lb.whh.load(p[4 * k + 1].data)
        lb.bih.load(p[4 * k + 2].data); lb.bhh.load(p[4 * k + 3].data)
        transpose(lb.wih.pointer, rows: G, cols: inSize, ld: inSize, into: lb.wihT.ensure(G * inSize))
        config.cellType.prepareRecurrentWeight(lb.whh.pointer, hidden: H, into: lb.whhT.ensure(G * H), config)

        // Hoisted input projection for all steps: gates[T*B, G] = input[T*B, in] W_ih^T, to which the time loop
        // adds b_ih (+ b_hh where it simply adds: all gates but the GRU's n, whose b_hn sits inside the reset
        // product).
        let gates = lb.gates.ensure(Tn * B * G)
        gemm(
            .none, .none, m: Tn * B, n: G, k: inSize, a: input, lda: inSize, b: lb.wihT.pointer, ldb: G, c: gates,
            ldc: G, accumulate: false, threads: threads)
        let cell = config.cellType, lstm = cell.hasCellState
        let foldedBias = lb.foldedBias.ensure(G)
        for j in 0..<G {
            foldedBias[j] =
                lb.bih.pointer[j] + (cell.foldsHiddenBias(column: j, hidden: H, config) ? lb.bhh.pointer[j] : 0)
        }

        let hs = lb.hs.ensure((Tn + 1) * B * H), cs = lb.cs.ensure(lstm ? (Tn + 1) * B * H : 1)
        let aux = lb.aux.ensure(Tn * B * H)
        if let h0 {
            h0.withUnsafeBufferPointer { hs.update(from: $0.baseAddress! + k * B * H, count: B * H) }
        } else {
            lb.hs.zero(B * H)
        }
        if lstm {
            if let c0 {
                c0.withUnsafeBufferPointer { cs.update(from: $0.baseAddress! + k * B * H, count: B * H) }
            } else {
                lb.cs.zero(B * H)
            }
        }
        // Batch rows are independent through time: with several threads each runs the whole recurrence
        // for its slice of the batch (one dispatch per layer, not per step).
        let gp = UnsafeMutablePointer(gates), hsp = hs, csp = cs, ap = aux, sp = lb.scratch.ensure(B * G)
        let whhT = lb.whhT.pointer, whh = lb.whh.pointer, bhh = lb.bhh.pointer
        let recurrent = packRecurrent(lb, UnsafePointer(whhT), rows: H, columns: G)
        let bias = UnsafePointer(foldedBias)
        forEachBatchChunk(B) { b0, nb in
            for t in 0..<Tn {
                // The folded bias is added here, by the thread that owns these rows, just before the step reads them.
                addRowVector(gp + t * B * G + b0 * G, rows: nb, cols: G, ld: G, bias)
                config.forwardStep(
                    StepBuffers(
                        batch: nb, hidden: H, gates: gp + t * B * G + b0 * G,
                        hPrev: hsp + t * B * H + b0 * H, hNext: hsp + (t + 1) * B * H + b0 * H,
                        cPrev: lstm ? csp + t * B * H + b0 * H : csp,
                        cNext: lstm ? csp + (t + 1) * B * H + b0 * H : csp,
                        aux: ap + t * B * H + b0 * H, scratch: sp + b0 * G,
                        whhT: whhT, whh: whh, bhh: bhh, recurrent: recurrent))
            }
        }
    }

    /// The column sums of m [rows, columns] (from zero, row by row) in out.
    func columnSums(_ m: UnsafePointer<T>, rows: Int, columns: Int, into out: UnsafeMutablePointer<T>)
        -> UnsafePointer<T>
    {
        out.update(repeating: 0, count: columns)
        addColumnSums(m, rows: rows, cols: columns, ld: columns, into: out, threads: threads)
        return UnsafePointer(out)
    }

    /// The recurrent matrix m [rows, columns] packed into the layer's panel buffer; an empty view when the cell's
    /// recurrent weight is not a matrix (IndRNN's u).
    func packRecurrent(_ lb: LayerBuffers<T>, _ m: UnsafePointer<T>, rows: Int, columns: Int) -> PackedPanels<T> {
        let matrix = !config.cellType.recurrentWeightIsDiagonal
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
        let perStepWork = B * config.cellType.recurrentWeightShape(hidden: config.hiddenSize).reduce(1, *)
        return perStepWork >= 1 << 18 ? max(1, min(threads, B / 4)) : 1
    }

    /// Calls body(firstRow, rowCount) for slices of the batch, in parallel when threads > 1.
    func forEachBatchChunk(_ B: Int, _ body: (Int, Int) -> Void) {
        forEachSlice(of: B, parts: batchParts(B)) { body($0.lowerBound, $0.count) }
    }

    // MARK: backward

    /// Backpropagation through time for the last forward pass. `dOutput` [B, T, H] is dL/d(output),
    /// `dhn` / `dcn` [L, B, H] the gradients reaching the final states. Parameter gradients are added into
    /// `grads` (same names as `parameters`). `truncation` k cuts the recurrent gradient every k steps
    /// (truncated BPTT: the state handed from one k-step chunk to the next is treated as a constant).
    @_specialize(where T == Float) @_specialize(where T == Double)
    public func backward(
        dOutput: Tensor<T>?, dhn: Tensor<T>? = nil, dcn: Tensor<T>? = nil,
        into grads: inout ParameterSet<T>, truncation: Int? = nil,
        inputGradient: Bool = true
    ) throws -> RecurrentInputGradients<T> {
        guard hasForwardCache else { throw ShapeError("backward called before forward") }
        let B = cachedBatch, Tn = cachedSteps, H = config.hiddenSize, L = config.numLayers, G = config.gateWidth
        try dOutput?.expectShape([B, Tn, H], "dOutput")
        try dhn?.expectShape([L, B, H], "dhn")
        try dcn?.expectShape([L, B, H], "dcn")
        if let k = truncation, k < 1 { throw ShapeError("truncation window must be >= 1, got \(k)") }
        guard grads.names == parameters.names else { throw ShapeError("gradient buffers do not match the parameters") }
        Subnormals.applyToThisThread()

        var dh0 = Tensor<T>(zeros: [L, B, H])
        let cell = config.cellType, lstm = cell.hasCellState
        var dc0: Tensor<T>? = lstm ? Tensor(zeros: [L, B, H]) : nil
        let dlDhTM = scratch.dlDh, dh = scratch.dh, dhPrev = scratch.dhPrev, dc = scratch.dc
        dlDhTM.ensure(Tn * B * H); dh.ensure(B * H); dhPrev.ensure(B * H); dc.ensure(B * H)

        // dL/d(output of layer k), time-major; starts as the caller's dOutput for the top layer.
        let dOutTop = scratch.dOutTop
        dOutTop.ensure(Tn * B * H)
        if let dOutput {
            dOutput.data.withUnsafeBufferPointer {
                swapLeadingAxes($0.baseAddress!, B, Tn, H, into: dOutTop.pointer, threads: threads)
            }
        } else {
            dOutTop.zero(Tn * B * H)
        }
        var dOut = dOutTop.pointer

        for k in stride(from: L - 1, through: 0, by: -1) {
            let lb = layers[k], inSize = config.layerInputSize(k)
            let input: UnsafeMutablePointer<T> = k == 0 ? lb.input.pointer : layers[k - 1].hs.pointer + B * H
            let gates = lb.gates.pointer, hs = lb.hs.pointer, cs = lb.cs.pointer, aux = lb.aux.pointer
            let dGi = lb.dGi.ensure(Tn * B * G)
            let dGh = cell.hasSeparateHiddenGradients(config) ? lb.dGh.ensure(Tn * B * G) : dGi
            dh.zero(B * H); dc.zero(B * H)
            if let dhn {
                dhn.data.withUnsafeBufferPointer { dh.pointer.update(from: $0.baseAddress! + k * B * H, count: B * H) }
            }
            if let dcn {
                dcn.data.withUnsafeBufferPointer { dc.pointer.update(from: $0.baseAddress! + k * B * H, count: B * H) }
            }
            let top = k == L - 1
            let dhp = dh.pointer, dhpp = dhPrev.pointer, dcp = dc.pointer, dlp = dlDhTM.pointer, dOutK = dOut
            let sp = lb.scratch.ensure(B * G), whhT = lb.whhT.pointer, whh = lb.whh.pointer, bhh = lb.bhh.pointer
            let recurrent = packRecurrent(lb, UnsafePointer(whh), rows: G, columns: H)
            forEachBatchChunk(B) { b0, nb in
                var dhCur = dhp + b0 * H, dhNext = dhpp + b0 * H
                let dcChunk = dcp + b0 * H
                for t in stride(from: Tn - 1, through: 0, by: -1) {
                    for r in 0..<nb { axpy(H, 1, dOutK + t * B * H + (b0 + r) * H, dhCur + r * H) }
                    if top { (dlp + t * B * H + b0 * H).update(from: dhCur, count: nb * H) }
                    let s = StepBuffers(
                        batch: nb, hidden: H, gates: gates + t * B * G + b0 * G,
                        hPrev: hs + t * B * H + b0 * H, hNext: hs + (t + 1) * B * H + b0 * H,
                        cPrev: lstm ? cs + t * B * H + b0 * H : cs, cNext: lstm ? cs + (t + 1) * B * H + b0 * H : cs,
                        aux: aux + t * B * H + b0 * H, scratch: sp + b0 * G, whhT: whhT, whh: whh, bhh: bhh,
                        recurrent: recurrent)
                    config.backwardStep(
                        s,
                        StepGradients(
                            dh: dhCur, dc: dcChunk, dhPrev: dhNext,
                            dGi: dGi + t * B * G + b0 * G, dGh: dGh + t * B * G + b0 * G))
                    if let w = truncation, t > 0, t % w == 0 {
                        dhNext.update(repeating: 0, count: nb * H)
                        dcChunk.update(repeating: 0, count: nb * H)
                    }
                    swap(&dhCur, &dhNext)
                }
            }
            // After T swaps the last dL/dh_{-1} = dL/dh0 sits in dh when T is even, in dhPrev when odd.
            let dhFinal = Tn % 2 == 0 ? dhp : dhpp
            dh0.data.withUnsafeMutableBufferPointer {
                ($0.baseAddress! + k * B * H).update(from: dhFinal, count: B * H)
            }
            if lstm {
                dc0!.data.withUnsafeMutableBufferPointer {
                    ($0.baseAddress! + k * B * H).update(from: dc.pointer, count: B * H)
                }
            }

            // Weight gradients for all steps at once.
            grads.tensors[4 * k].data.withUnsafeMutableBufferPointer { dW in
                gemm(
                    .transposed, .none, m: G, n: inSize, k: Tn * B, a: dGi, lda: G, b: input, ldb: inSize,
                    c: dW.baseAddress!, ldc: inSize, accumulate: true, threads: threads)
            }
            grads.tensors[4 * k + 1].data.withUnsafeMutableBufferPointer { dW in
                cell.addRecurrentWeightGradient(
                    dGh: dGh, hs: hs, aux: aux, rows: Tn * B, hidden: H, into: dW.baseAddress!, threads: threads,
                    config)
            }
            // Bias gradients: the column sums of dG over all steps. Where the hidden side's dG is the input
            // side's (every cell but the GRU's reset-after n gate), db_hh = db_ih: one pass serves both.
            let dbIh = columnSums(dGi, rows: Tn * B, columns: G, into: lb.biasGradient.ensure(G))
            grads.tensors[4 * k + 2].data.withUnsafeMutableBufferPointer { axpy(G, 1, dbIh, $0.baseAddress!) }
            let dbHh = dGh == dGi ? dbIh : columnSums(dGh, rows: Tn * B, columns: G, into: lb.biasGradient.pointer)
            grads.tensors[4 * k + 3].data.withUnsafeMutableBufferPointer { axpy(G, 1, dbHh, $0.baseAddress!) }

            // Gradient reaching this layer's input: the output gradient of the layer below (or dx).
            if k > 0 || inputGradient {
                let dIn = lb.dIn.ensure(Tn * B * inSize)
                gemm(
                    .none, .none, m: Tn * B, n: inSize, k: G, a: dGi, lda: G, b: lb.wih.pointer, ldb: inSize, c: dIn,
                    ldc: inSize, accumulate: false, threads: threads)
                dOut = dIn
            }
        }
        let dlDh = Tensor<T>(shape: [B, Tn, H]) {
            swapLeadingAxes(dlDhTM.pointer, Tn, B, H, into: $0, threads: threads)
        }
        let dx =
            !inputGradient
            ? nil
            : Tensor<T>(shape: [B, Tn, config.inputSize]) {
                swapLeadingAxes(layers[0].dIn.pointer, Tn, B, config.inputSize, into: $0, threads: threads)
            }
        return RecurrentInputGradients(dx: dx, dh0: dh0, dc0: dc0, dlDh: dlDh)
    }

    /// Gate activations of layer k from the last forward pass, [T, B, G*H] time-major (for saturation statistics).
    public func gateActivations(layer k: Int) -> [T] {
        layers[k].gates.array(cachedSteps * cachedBatch * config.gateWidth)
    }
}
