import Foundation

/// How much more memory this process may take: the machine's physical memory, or less when an address-space limit
/// (`ulimit -v`) is set, minus what the process already maps. A job that would need more is refused up front,
/// naming its estimate, instead of dying half-way with "failed to allocate".
public enum MemoryBudget {
    /// Bytes this process may still allocate.
    public static var available: Int {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return physical }
        return min(physical, max(0, Int(clamping: limit.rlim_cur) - mappedBytes))
    }

    /// The process's virtual size (VmSize in /proc/self/status), 0 where it cannot be read.
    static var mappedBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmSize:") }),
            let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }

    /// "2.5 GB", for messages.
    public static func describe(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }
}
