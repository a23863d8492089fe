import Foundation

/// Fault points for tests of what a kill leaves behind: with `RNNLAB_KILL_AT_WRITE=N:PHASE` in the environment, the
/// process kills itself (SIGKILL, as `kill -9` or a node loss would) at its Nth atomic write (`AtomicFile.write`,
/// counted from 1), at PHASE `temporary` (the temporary file written and flushed, not yet renamed over the target) or
/// `renamed` (the new file in place, the write not yet returned to its caller). Unset: no write is ever faulted.
///
/// With `RNNLAB_PAUSE_AT_WRITE=SUFFIX:N`, the process stops for good (until killed) once the Nth write of a file whose
/// path ends with SUFFIX is in place: a test cancels a Slurm shard there, mid-training, not by timing luck.
public enum FaultPoints {
    public enum Phase: String, Sendable { case temporary, renamed }

    /// The planned fault, read once from the environment.
    static let planned: (write: Int, phase: Phase)? = {
        guard let spec = ProcessInfo.processInfo.environment["RNNLAB_KILL_AT_WRITE"] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[0]), n > 0, let phase = Phase(rawValue: String(parts[1])) else {
            return nil
        }
        return (n, phase)
    }()

    /// The planned pause, read once from the environment.
    static let pause: (suffix: String, count: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["RNNLAB_PAUSE_AT_WRITE"],
            let colon = spec.lastIndex(of: ":"), let n = Int(spec[spec.index(after: colon)...]), n > 0
        else { return nil }
        return (String(spec[..<colon]), n)
    }()
    static let pauseMatches = Counter()

    /// Stops here for good when `url` is the planned pause's Nth matching write.
    static func paused(after url: URL) {
        guard let pause, url.path.hasSuffix(pause.suffix), pauseMatches.next() == pause.count else { return }
        FileHandle.standardError.write(Data("rnnlab: fault point: paused after writing \(url.path)\n".utf8))
        while true { sleep(3600) }
    }

    /// The atomic writes begun so far in this process.
    static let writes = Counter()

    /// Counts a write beginning; returns its number when a fault is planned (nil: none planned, no cost).
    static func begin() -> Int? { planned == nil ? nil : writes.next() }

    /// Kills the process when write `number` is the planned one and `phase` its planned phase.
    static func reach(_ phase: Phase, write number: Int?) {
        guard let number, let planned, planned.write == number, planned.phase == phase else { return }
        FileHandle.standardError.write(Data("rnnlab: fault point: killed at write \(number), \(phase)\n".utf8))
        kill(getpid(), SIGKILL)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func next() -> Int {
            lock.withLock {
                count += 1; return count
            }
        }
    }
}
