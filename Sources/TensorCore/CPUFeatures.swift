import Foundation

/// The package compiles its kernels for the SIMD level of the machine that builds it (Package.swift).
/// A binary copied to a CPU without those instructions would die on an illegal instruction; this check
/// turns that into a clear message before any kernel runs.
public enum CPUFeatures {
    /// Instruction-set flags this build requires (names as /proc/cpuinfo spells them).
    public static var required: [String] {
        #if RNNLAB_SIMD_AVX512
        ["avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"]
        #elseif RNNLAB_SIMD_AVX2
        ["avx2", "fma"]
        #else
        []
        #endif
    }

    /// Throws naming the missing flags; passes where /proc/cpuinfo cannot be read (not Linux).
    public static func verify(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) throws {
        guard !required.isEmpty, let info = cpuinfo,
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let flags = Set(line.split(separator: " ").map(String.init))
        let missing = required.filter { !flags.contains($0) }
        if !missing.isEmpty {
            throw ShapeError(
                """
                this build of rnnlab uses \(missing.joined(separator: ", ")), which this CPU lacks; rebuild it on \
                this machine (swift build -c release) or portably with RNNLAB_CPU=x86-64
                """
            )
        }
    }
}
