import TensorCore

/// A cell whose gates read x_t alone, so its recurrence is linear in h (Feng et al. 2024, "Were RNNs All We
/// Needed?"):  h_t = a_t * h_{t-1} + b_t,  a_t (the carry) and b_t (the input) element-wise from x_t.
/// The cell states how its gates make a_t and b_t and how dL/dh_t reaches its gates; the step pair below (which its
/// `forward` and `backward` call) and the scan over time (`RecurrentNetwork.scansOverTime`) are built from those two
/// functions. Its layout must save
/// "carry" (a_t, which dL/dh_{t-1} = a_t * dL/dh_t reads) and have no recurrent weight.
public protocol GateOnlyRecurrence: RecurrentCell {
    /// For `rows` rows of gate pre-activations (rows ld = G*H apart; in place, to activations): the carry a and
    /// the input b, [rows, H] each.
    static func coefficients<T: Real>(
        gates: UnsafeMutablePointer<T>, rows: Int, hidden H: Int, carry: UnsafeMutablePointer<T>,
        input: UnsafeMutablePointer<T>)
    /// For `rows` rows: the gate pre-activation gradients dG [rows, G*H] from dL/dh_t (everything that reaches
    /// h_t), h_{t-1} and the gate activations.
    static func gateGradients<T: Real>(
        gates: UnsafePointer<T>, hPrev: UnsafePointer<T>, dh: UnsafePointer<T>, rows: Int, hidden H: Int,
        into dG: UnsafeMutablePointer<T>)
}

extension GateOnlyRecurrence {
    /// The forward step of every gate-only cell: h_t = a_t * h_{t-1} + b_t (b_t written into h_t first). A cell's
    /// `forward` calls it from its own specialised function (a protocol extension cannot be specialised for Float
    /// alone, and unspecialised it ran 10x slower).
    @inline(__always)
    public static func gateOnlyForward<T: Real>(_ s: StepBuffers<T>) {
        let n = s.batch * s.hidden, carry = s.saved("carry")
        coefficients(gates: s.gates, rows: s.batch, hidden: s.hidden, carry: carry, input: s.hNext)
        multiplyAdd(s.hNext, carry, s.hPrev, n)
    }

    /// The backward step of every gate-only cell: dG from dL/dh_t;  dL/dh_{t-1} = a_t * dL/dh_t.
    @inline(__always)
    public static func gateOnlyBackward<T: Real>(_ s: StepBuffers<T>, _ g: StepGradients<T>) {
        let n = s.batch * s.hidden
        gateGradients(gates: s.gates, hPrev: s.hPrev, dh: g.dh, rows: s.batch, hidden: s.hidden, into: g.dGi)
        g.dhPrev.update(repeating: 0, count: n)
        multiplyAdd(g.dhPrev, s.saved("carry"), g.dh, n)
    }
}

/// y[i] += a[i] * x[i] for n entries, 16 at a time.
@inline(__always)
func multiplyAdd<T: Real>(_ y: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>, _ x: UnsafePointer<T>, _ n: Int) {
    var j = 0
    while j + 16 <= n {
        store16(load16(y + j) + load16(a + j) * load16(x + j), y + j)
        j += 16
    }
    if j < n {
        let w = n - j
        store16(load16(y + j, count: w) + load16(a + j, count: w) * load16(x + j, count: w), y + j, count: w)
    }
}

/// y[i] *= a[i] for n entries, 16 at a time.
@inline(__always)
func multiply<T: Real>(_ y: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>, _ n: Int) {
    var j = 0
    while j + 16 <= n {
        store16(load16(y + j) * load16(a + j), y + j)
        j += 16
    }
    if j < n { store16(load16(y + j, count: n - j) * load16(a + j, count: n - j), y + j, count: n - j) }
}

/// Steps per block of the scan over time. Fixed, not derived from the thread count, so a run's numbers do not
/// depend on how many threads ran it.
let scanBlockSteps = 32

/// The linear recurrence y_s = a_s * y_{s-1} + y_s, in place, for s = 0..<steps over `width` lanes, from
/// y_{-1} = initial (nil: y_0 stays as it is; a(0) is then not read). A blocked scan over time: blocks of
/// `scanBlockSteps` steps scan side by side from a zero state while keeping the product of their a's; one pass
/// over the blocks carries each block's final state into the next block's last step; then each block adds its
/// carried-in state times the running product of a to its other steps. Equal to the sequential recurrence up to
/// rounding (exactly, when there is one block).
func linearScan<T: Real>(
    steps: Int, width: Int, a: (Int) -> UnsafePointer<T>, y: (Int) -> UnsafeMutablePointer<T>,
    initial: UnsafePointer<T>?, threads: Int
) {
    let blocks = (steps + scanBlockSteps - 1) / scanBlockSteps
    let range = { (b: Int) in (b * scanBlockSteps)..<min(steps, (b + 1) * scanBlockSteps) }
    withUnsafeTemporaryAllocation(of: T.self, capacity: max(blocks * width, 1)) { products in
        let product = products.baseAddress!
        forEachSlice(of: blocks, parts: min(threads, blocks)) { slice in
            for b in slice {
                let p = product + b * width, r = range(b)
                if b == 0, let initial { multiplyAdd(y(0), a(0), initial, width) }
                if b > 0 { p.update(from: a(r.lowerBound), count: width) }
                for s in r.dropFirst() {
                    let aS = a(s)
                    multiplyAdd(y(s), aS, y(s - 1), width)
                    if b > 0 { multiply(p, aS, width) }
                }
            }
        }
        for b in 1..<max(blocks, 1) {
            multiplyAdd(y(range(b).upperBound - 1), product + b * width, y(range(b).lowerBound - 1), width)
        }
        guard blocks > 1 else { return }
        forEachSlice(of: blocks - 1, parts: min(threads, blocks - 1)) { slice in
            for b in slice.map({ $0 + 1 }) {
                let r = range(b), start = y(r.lowerBound - 1), p = product + b * width
                p.update(from: a(r.lowerBound), count: width)
                for s in r.dropLast() {
                    if s > r.lowerBound { multiply(p, a(s), width) }
                    multiplyAdd(y(s), p, start, width)
                }
            }
        }
    }
}
