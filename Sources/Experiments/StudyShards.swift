import Foundation
import Workbench
import Datasets
import Files
import Logging

/// A study in shards: the parts' independent trainings (`StudyPart.shards`), each run on its own by
/// `rnnlab shard RUN NAME` on any machine that shares the run folder, under its own lock, and writing only its own
/// checkpoints and its mark RUN/shards/NAME.done. The merge is the study itself, which finds every model finished.
package enum StudyShards {
    /// A shard of a run and where it stands.
    package struct Listed {
        package var shard: PartShard
        package var finished: Bool
        /// Who runs it now (its lock file's text), when someone does.
        package var holder: String?
    }

    /// What a finished shard's mark holds.
    struct Mark: Codable { var finished: String, seconds: Double, skipped: String? }

    static func markFile(_ out: URL, _ name: String) -> URL {
        ShardLock.lockFile(out, name).deletingPathExtension().appendingPathExtension("done")
    }

    /// Every shard of `plans` in `out`, finished or not, and who holds each now.
    static func list(_ plans: [PartPlan], _ out: URL) -> [Listed] {
        plans.flatMap(\.shards).map {
            Listed(
                shard: $0, finished: FileManager.default.fileExists(atPath: markFile(out, $0.name).path),
                holder: ShardLock.holder(folder: out, name: $0.name))
        }
    }

    /// Refuses while a shard of `plans` is running in `out`: the study would train its models too.
    static func refuseRunning(_ plans: [PartPlan], _ out: URL) throws {
        let running = list(plans, out).filter { $0.holder != nil }
        guard !running.isEmpty else { return }
        throw RunFolderError(
            "\(out.path): \(running.count) shard(s) of this study are running, so nothing was run: "
                + running.map { "\($0.shard.name) (\($0.holder!))" }.joined(separator: "; "))
    }

    /// Begins the run in `out` as the study would (its lock, its settings checked against the folder's,
    /// manifest.json written before any shard starts) and lists every shard of the chosen parts. Trains nothing.
    package static func plan(_ options: Study.Options, out: URL) throws -> [Listed] {
        let plans = options.plans
        try refuseRunning(plans, out)
        let lock = try RunLock(out, command: options.rerunCommand)
        defer { lock.release() }
        let started = ISO8601DateFormatter().string(from: Date())
        _ = try RunManifest.begin(
            Study.plannedManifest(options, plans, started: started), in: lock, fresh: options.fresh,
            parts: options.registered.map { $0.name })
        return list(plans, out)
    }

    /// The merge's check: throws naming every shard of `plans` that did not finish and the command that runs it.
    static func requireFinished(_ plans: [PartPlan], _ out: URL) throws {
        let open = list(plans, out).filter { !$0.finished }
        guard !open.isEmpty else { return }
        throw RunFolderError(
            """
            \(out.path): \(open.count) shard(s) did not finish, so the study was not merged: \
            \(open.map { "\($0.shard.name)\($0.holder.map { " (running: \($0))" } ?? "")" }.joined(separator: ", ")). \
            Submit the same command again to run only these (each resumes from its last checkpoint), or run one \
            here: rnnlab shard \(JobScripts.shellQuoted(out.path)) \(open[0].shard.name)
            """)
    }

    /// Trains shard `name` of the run in `out` with the settings its manifest.json records, then marks it
    /// finished; returns what was done ("trained in 12.3 s", "already finished", or why it was skipped).
    package static func run(_ name: String, out: URL, options: Study.Options) throws -> String {
        guard let manifest = try RunManifest.read(out) else {
            throw RunFolderError(
                "\(out.path) holds no \(RunManifest.fileName): submit the study first (rnnlab all --slurm or "
                    + "--jobs-only)"
            )
        }
        let shards = try Study.recordedPlans(manifest, options).flatMap(\.shards)
        guard let shard = shards.first(where: { $0.name == name }) else {
            throw RunFolderError(
                "\(out.path) has no shard \(name); its shards are \(shards.map(\.name).joined(separator: ", "))")
        }
        let lock = try ShardLock(folder: out, name: name, command: options.rerunCommand)
        defer { lock.release() }
        let mark = markFile(out, name)
        if FileManager.default.fileExists(atPath: mark.path) { return "already finished" }
        let logger = Logger(label: "rnnlab")
        let cache = DataCache(directory: options.dataDirectory, fetcher: options.fetcher, log: { logger.info("\($0)") })
        let context = RunContext(
            folder: try RunFolder(out), cache: cache, threads: options.threads, progress: options.progress,
            rerun: options.rerunCommand)
        let start = Date()
        var skipped: String?
        do { try shard.train(context) } catch let e as DataError { skipped = e.description }
        let seconds = Date().timeIntervalSince(start)
        let finished = ISO8601DateFormatter().string(from: Date())
        try context.folder.writeJSON(
            Mark(finished: finished, seconds: seconds, skipped: skipped), to: "shards/\(mark.lastPathComponent)")
        return skipped.map { "skipped, its data cannot be had here (the study skips it too): \($0)" }
            ?? String(format: "trained in %.1f s", seconds)
    }
}
