import Foundation
import Datasets
import Interchange
import Files

/// What a run folder was made with, written as `manifest.json` when a run starts: the seed, every setting of
/// every part of the study (keyed by the part's name), the code version and the checksums of the data files read.
/// A later run into the same folder goes on (its models resume from their checkpoints) only when the settings it
/// shares with the earlier run match; otherwise it stops before training and names what differs.
package struct RunManifest: Codable, Sendable {
    /// One run into the folder.
    package struct Invocation: Codable, Sendable {
        package var started: String
        package var codeVersion: String
        package var arguments: [String]
        package var threads: Int
        /// The parts it ran, by name.
        package var parts: [String]

        package init(started: String, codeVersion: String, arguments: [String], threads: Int, parts: [String]) {
            self.started = started; self.codeVersion = codeVersion; self.arguments = arguments
            self.threads = threads; self.parts = parts
        }
    }

    package var format = 2
    package var created: String
    package var seed: UInt64
    package var quick: Bool
    /// Each part's settings by its name, present once the part has run in this folder.
    package var parts: [String: JSONValue]
    /// Path -> SHA-256 of every data file the runs read.
    package var data: [String: String]
    package var invocations: [Invocation]

    package static let fileName = "manifest.json"

    package init(
        created: String, seed: UInt64, quick: Bool, parts: [String: JSONValue], data: [String: String],
        invocations: [Invocation]
    ) {
        self.created = created; self.seed = seed; self.quick = quick; self.parts = parts; self.data = data
        self.invocations = invocations
    }

    /// Settings in which two runs into one folder differ, as "part.field: old -> new". Parts only one of the
    /// two ran are not compared (a `toy` run may follow an `all` run); data files are compared by checksum
    /// where the file is still there, hashed through `ledger` so a run that goes on to read them hashes each once.
    package func differences(from old: RunManifest, ledger: DataLedger = DataLedger()) -> [String] {
        var out: [String] = []
        if seed != old.seed { out.append("seed: \(old.seed) -> \(seed)") }
        if quick != old.quick { out.append("quick: \(old.quick) -> \(quick)") }
        for name in parts.keys.sorted() { out += Self.fieldDifferences(name, old.parts[name], parts[name]) }
        for (path, sum) in old.data.sorted(by: { $0.key < $1.key }) where FileManager.default.fileExists(atPath: path) {
            if let now = try? ledger.record(URL(fileURLWithPath: path)), now != sum {
                out.append("data \(path): sha256 \(sum.prefix(12))... -> \(now.prefix(12))...")
            }
        }
        return out
    }

    /// Field-by-field differences of two parts' settings, as "name.field: old -> new". A part's seed is
    /// compared once, at the top, and which tasks a run picks is no setting of the tasks themselves: both are
    /// `ignoring` by default.
    static func fieldDifferences(
        _ name: String, _ old: JSONValue?, _ new: JSONValue?, ignoring: Set<String> = ["seed", "tasks"]
    ) -> [String] {
        guard case .object(let a)? = old, case .object(let b)? = new else { return [] }
        return Set(a.keys).union(b.keys).subtracting(ignoring).sorted().compactMap { key in
            let x = a[key]?.text ?? "none", y = b[key]?.text ?? "none"
            return x == y ? nil : "\(name).\(key): \(x) -> \(y)"
        }
    }

    /// The same for two typed settings (a training run's config.json).
    static func fieldDifferences<V: Encodable>(
        _ name: String, _ old: V?, _ new: V?, ignoring: Set<String> = ["seed", "tasks"]
    ) -> [String] {
        fieldDifferences(
            name, old.flatMap { try? JSONValue(encoding: $0) }, new.flatMap { try? JSONValue(encoding: $0) },
            ignoring: ignoring)
    }

    /// This run's settings laid over the earlier manifest's (settings of parts not run now are kept).
    func merged(into old: RunManifest) -> RunManifest {
        var m = old
        m.format = format
        m.parts.merge(parts) { $1 }
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

extension RunManifest {
    /// Reads format 2, and format 1 too: it kept each part's settings as a key of its own beside the seed (any
    /// object but `data` is a part's settings) and each invocation's parts as numbers.
    package init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        func value<V: Decodable>(_ key: String, _ type: V.Type) throws -> V {
            try c.decode(type, forKey: AnyKey(key))
        }
        format = try value("format", Int.self)
        created = try value("created", String.self); seed = try value("seed", UInt64.self)
        quick = try value("quick", Bool.self); data = try value("data", [String: String].self)
        if c.contains(AnyKey("parts")) {
            parts = try value("parts", [String: JSONValue].self)
            invocations = try value("invocations", [Invocation].self)
        } else {
            let known: Set = ["format", "created", "seed", "quick", "data", "invocations"]
            parts = [:]
            for key in c.allKeys where !known.contains(key.stringValue) {
                if case .object = try c.decode(JSONValue.self, forKey: key) {
                    parts[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
                }
            }
            invocations = try value("invocations", [FormatOneInvocation].self).map {
                Invocation(
                    started: $0.started, codeVersion: $0.codeVersion, arguments: $0.arguments, threads: $0.threads,
                    parts: $0.experiments.map { "experiment \($0)" })
            }
        }
    }

    struct FormatOneInvocation: Decodable {
        var started: String, codeVersion: String, arguments: [String], threads: Int, experiments: [Int]
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// A run folder that cannot be used as asked (other settings, unreadable manifest, a results folder
/// without a manifest). Nothing has been run or written when it is thrown.
package struct RunFolderError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }

    /// The folder holds a run whose settings differ from this one's, listed (the first eight) in `differences`.
    package static func otherSettings(_ folder: URL, _ differences: [String], orElse: String = "") -> RunFolderError {
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
    package init(previous: RunManifest? = nil, movedTo: URL? = nil) {
        self.previous = previous; self.movedTo = movedTo
    }
    /// The manifest of the earlier run this one continues, if any.
    package var previous: RunManifest?
    /// Where `--fresh` moved an earlier run.
    package var movedTo: URL?
}

extension RunManifest {
    /// What an earlier run left in the folder: the names, among those an rnnlab run writes at its top (`parts`:
    /// the folders of the study's parts), that exist.
    package static func results(in folder: URL, parts: [String]) -> [String] {
        (["report.html", "findings.json", fileName, "config.json"] + parts).filter {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
    }

    /// Whether `folder` holds an rnnlab run: the manifest of `rnnlab all` or a part, or the config.json of
    /// `rnnlab train` (one that reads as a training config: a JavaScript project's config.json is not). Only such
    /// a folder is ever moved aside by --fresh.
    package static func isRunFolder(_ folder: URL) -> Bool {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(fileName).path) { return true }
        struct TrainingConfig: Decodable { var kind: String, data: String, cells: [String] }
        let config = folder.appendingPathComponent("config.json")
        return (try? JSONDecoder().decode(TrainingConfig.self, from: InputFile.contents(of: config, limit: 1 << 20)))
            != nil
    }

    /// The names a run writes at its top, which no other command may overwrite.
    package static let runFiles: Set<String> = [
        fileName, "config.json", "report.html", "findings.json", "results.json", "preprocessing.json",
        RunLock.fileName
    ]

    /// Refuses a file another command would write over one of a run's own files (`compare --out RUN/config.json`).
    package static func refuseOverwritingARun(_ file: URL) throws {
        let folder = file.deletingLastPathComponent()
        guard runFiles.contains(file.lastPathComponent), isRunFolder(folder) else { return }
        throw RunFolderError("\(file.path) is a file of the run in \(folder.path); choose another --out")
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
    /// the folder holds a run with other settings, or results that no manifest describes (`parts`: the folders the
    /// study's parts write).
    package static func begin(
        _ planned: RunManifest, in lock: RunLock, fresh: Bool, parts: [String], ledger: DataLedger = DataLedger()
    ) throws -> (RunManifest, RunFolderHistory) {
        let folder = lock.folder
        var history = RunFolderHistory()
        let holdsResults = !results(in: folder, parts: parts).isEmpty
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
