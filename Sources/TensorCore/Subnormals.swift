import CFloatControl
import Foundation

/// Subnormal floats (below about 1.2e-38 in Float, 2.2e-308 in Double) are flushed to zero on every thread that runs
/// a kernel: flush-to-zero (subnormal results become 0) and denormals-are-zero (subnormal inputs read as 0), in the
/// thread's own control register (MXCSR bits 15 and 6 on x86-64, FPCR.FZ on arm64). Vanishing gradients produce
/// subnormals, and Intel cores take a microcode assist for each: a pixel-MNIST LSTM with forget bias 1 trained 11x
/// slower than the chrono LSTM of the same shape until this was set on the worker threads too.
///
/// The bits are per thread, so they are applied where kernels run: by `forEachSlice` on each thread that runs a
/// slice (the calling thread too), and by the recurrent network's forward and backward passes on their thread.
/// What it changes: values below the normal range become 0, so the gradient-through-time figures bottom out at
/// that floor instead of at ~1e-45.
public enum Subnormals {
    /// Whether kernels flush subnormals to zero: yes unless the environment's RNNLAB_KEEP_SUBNORMALS is 1 (to measure
    /// what flushing changes), read once.
    public static let flushed = ProcessInfo.processInfo.environment["RNNLAB_KEEP_SUBNORMALS"] != "1"

    /// Sets the calling thread's bits: flush, or keep subnormals.
    public static func applyToThisThread(_ flush: Bool = flushed) { rnnlab_set_flush_subnormals(flush ? 1 : 0) }

    /// Whether the calling thread flushes subnormals now.
    public static var thisThreadFlushes: Bool { rnnlab_flushes_subnormals() != 0 }
}
