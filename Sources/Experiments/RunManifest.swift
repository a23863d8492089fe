import Foundation
import Datasets
import Interchange
import Files

/// What a run folder was made with, written as `manifest.json` when a run starts: the seed, every setting of
/// every experiment, the code version and the checksums of the data files read. A later run into the same
/// folder goes on (Experiment 2 resumes its checkpoints) only when the settings it shares with the earlier
/// run match; otherwise it stops before training and names what differs.
package struct RunManifest: Codable, Sendable {
    /// One run into the folder.
    package struct Invocation: Codable, Sendable {
        package var started: String
        package var codeVersion: String
        package var arguments: [String]
        package var threads: Int
        package var experiments: [Int]
    }

    package var format = 1
    package var created: String
    package var seed: UInt64
    package var quick: Bool
    /// Each experiment's settings, present once an experiment has run in this folder.
    package var toy: ToyExperiment.Options?
    package var real: RealDataExperiment.Options?
    package var fusion: FusionExperiment.Options?
    /// Path -> SHA-256 of every data file the runs read.
    package var data: [String: String]
    package var invocations: [Invocation]

    package static let fileName = "manifest.json"

    /// Settings in which two runs into one folder differ, as "field: old -> new". Experiments only one of the
    /// two ran are not compared (a `toy` run may follow an `all` run); data files are compared by checksum
    /// where the file is still there, hashed through `ledger` so a run that goes on to read them hashes each once.
    package func differences(from old: RunManifest, ledger: DataLedger = DataLedger()) -> [String] {
        var out: [String] = []
        if seed != old.seed { out.append("seed: \(old.seed) -> \(seed)") }
        if quick != old.quick { out.append("quick: \(old.quick) -> \(quick)") }
        out +=
            Self.fieldDifferences("toy", old.toy, toy) + Self.fieldDifferences("real", old.real, real)
            + Self.fieldDifferences("fusion", old.fusion, fusion)
        for (path, sum) in old.data.sorted(by: { $0.key < $1.key }) where FileManager.default.fileExists(atPath: path) {
            if let now = try? ledger.record(URL(fileURLWithPath: path)), now != sum {
                out.append("data \(path): sha256 \(sum.prefix(12))... -> \(now.prefix(12))...")
            }
        }
        return out
    }

    /// Field-by-field differences of two encodable settings, as "name.field: old -> new". An experiment's seed is
    /// compared once, at the top, and which tasks a run picks is no setting of the tasks themselves: both are
    /// `ignoring` by default.
    static func fieldDifferences<V: Encodable>(
        _ name: String, _ old: V?, _ new: V?, ignoring: Set<String> = ["seed", "tasks"]
    ) -> [String] {
        guard let old, let new, let a = Self.fields(old), let b = Self.fields(new) else { return [] }
        return Set(a.keys).union(b.keys).subtracting(ignoring).sorted().compactMap { key in
            let x = a[key] ?? "none", y = b[key] ?? "none"
            return x == y ? nil : "\(name).\(key): \(x) -> \(y)"
        }
    }

    static func fields<V: Encodable>(_ value: V) -> [String: String]? {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? enc.encode(value),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object.mapValues { v in
            guard let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])
            else { return "\(v)" }
            return String(decoding: d, as: UTF8.self)
        }
    }

    /// This run's settings laid over the earlier manifest's (settings of experiments not run now are kept).
    func merged(into old: RunManifest) -> RunManifest {
        var m = old
        m.toy = toy ?? old.toy; m.real = real ?? old.real; m.fusion = fusion ?? old.fusion
        m.data.merge(data) { $1 }
        m.invocations += invocations
        return m
    }

    package static func read(_ folder: URL) throws -> RunManifest? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(RunManifest.self, from: Data(contentsOf: url)) } catch {
            throw RunFolderError(
                "\(url.path) cannot be read (\(error)); rerun with --fresh to move this folder aside and start again")
        }
    }

    package func write(_ folder: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(self), to: folder.appendingPathComponent(Self.fileName))
    }
}

/// A run folder that cannot be used as asked (other settings, unreadable manifest, a results folder
/// without a manifest). Nothing has been run or written when it is thrown.
package struct RunFolderError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }

    /// The folder holds a run whose settings differ from this one's, listed (the first eight) in `differences`.
    static func otherSettings(_ folder: URL, _ differences: [String], orElse: String = "") -> RunFolderError {
        let shown =
            differences.prefix(8).joined(separator: "; ")
            + (differences.count > 8 ? "; and \(differences.count - 8) more" : "")
        return RunFolderError(
            """
            \(folder.path) holds a run made with other settings (\(shown)); resuming it would mix the two, so \
            nothing was run. Rerun with --fresh to move the earlier run aside and start again, or choose another \
            --out\(orElse).
            """
        )
    }
}

/// The run folder's past, as found when a run starts.
package struct RunFolderHistory: Sendable {
    /// The manifest of the earlier run this one continues, if any.
    package var previous: RunManifest?
    /// Where `--fresh` moved an earlier run.
    package var movedTo: URL?
}

extension RunManifest {
    /// What an earlier run left in the folder: the names, among those an rnnlab run writes at its top, that exist.
    package static func results(in folder: URL) -> [String] {
        ["report.html", "findings.json", fileName, "config.json", "toy", "real", "fusion"].filter {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
    }

    /// Whether `folder` holds an rnnlab run: the manifest of `rnnlab all / toy / real / fusion`, or the
    /// config.json of `rnnlab train`. Only such a folder is ever moved aside by --fresh.
    package static func isRunFolder(_ folder: URL) -> Bool {
        [fileName, "config.json"].contains {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
    }

    /// Whether `folder` holds nothing but its run lock (or does not exist).
    static func isEmpty(_ folder: URL) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).allSatisfy {
            $0 == RunLock.fileName
        }
    }

    /// Moves the run in the locked folder to FOLDER.previous-DATE (nothing is deleted) and returns where it went;
    /// the lock goes on holding a new, empty folder. A folder that holds no rnnlab run is refused, untouched.
    package static func moveAside(_ lock: RunLock) throws -> URL {
        let folder = lock.folder
        guard isRunFolder(folder) else {
            throw RunFolderError(
                """
                \(folder.path) holds no rnnlab run (no \(fileName) or config.json), so --fresh does not move it; \
                choose another --out, or move it yourself
                """)
        }
        let stamp = ISO8601DateFormatter.string(
            from: Date(), timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withYear, .withMonth, .withDay, .withTime])
        let target = folder.deletingLastPathComponent().appendingPathComponent(
            "\(folder.lastPathComponent).previous-\(stamp)")
        try lock.moveAside(to: target)
        return target
    }

    /// What --fresh does: moves the run in the locked folder aside and says where, or nothing when the folder is
    /// empty; a folder that holds no rnnlab run is refused, untouched.
    package static func startFresh(_ lock: RunLock) throws -> URL? { isEmpty(lock.folder) ? nil : try moveAside(lock) }

    /// Checks `planned` against what the locked folder already holds, moving an earlier run aside when `fresh`,
    /// and writes the manifest this run goes on with. Throws `RunFolderError`, before anything is run, when
    /// the folder holds a run with other settings, or results that no manifest describes.
    package static func begin(_ planned: RunManifest, in lock: RunLock, fresh: Bool, ledger: DataLedger = DataLedger())
        throws -> (RunManifest, RunFolderHistory)
    {
        let folder = lock.folder
        var history = RunFolderHistory()
        let holdsResults = !results(in: folder).isEmpty
        if fresh, let moved = try startFresh(lock) {
            history.movedTo = moved
        } else if holdsResults {
            guard let old = try read(folder) else {
                throw RunFolderError(
                    """
                    \(folder.path) holds results but no \(fileName) (an older rnnlab wrote it, or another \
                    program), so whether its checkpoints fit this run cannot be told; nothing was run. Choose \
                    another --out, or move it aside yourself.
                    """
                )
            }
            let diff = planned.differences(from: old, ledger: ledger)
            guard diff.isEmpty else { throw RunFolderError.otherSettings(folder, diff) }
            history.previous = old
        }
        let manifest = history.previous.map { planned.merged(into: $0) } ?? planned
        try RunFolder.create(folder)
        try manifest.write(folder)
        return (manifest, history)
    }
}

/// The code that made a run: the package's version (the command line adds the git commit when it runs from a
/// checkout).
package enum CodeVersion {
    package static let release = "0.4.0"

    /// The package root, when this binary was built from a checkout that is still there.
    package static var checkout: URL? {
        // Sources/Experiments/RunManifest.swift -> the package root
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return FileManager.default.fileExists(atPath: root.appendingPathComponent(".git").path) ? root : nil
    }
}
