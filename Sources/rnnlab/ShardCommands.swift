import ArgumentParser
import Datasets
import Experiments
import Files
import Foundation
import Workbench

/// How a study is spread over machines: as shards (a part, task and seed apiece) for Slurm or any scheduler, then
/// merged.
struct ShardOptions: ParsableArguments {
    @Flag(
        help: """
            Submit the study to Slurm: a job array of its shards (a part, task and seed apiece, each in --out) and a \
            merge job after it that writes the report. Submitting again runs only the unfinished shards.
            """)
    var slurm = false
    @Flag(help: "Write the shards' commands (--out/shards/jobs.txt) and Slurm scripts, and submit nothing.")
    var jobsOnly = false
    @Option(help: "With --slurm: more sbatch options, e.g. \"--partition cpu --account x\".") var slurmArgs: String?
    @Flag(help: "Merge a study run in shards into its report; refused, naming them, while shards have not finished.")
    var merge = false

    func validate() throws {
        if slurmArgs != nil && !slurm { throw ValidationError("--slurm-args needs --slurm") }
        if merge && (slurm || jobsOnly) { throw ValidationError("--merge runs after the shards, not with --slurm") }
    }
}

struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract:
            """
            Train one shard of a study submitted with --slurm or --jobs-only (what each line of RUN/shards/jobs.txt \
            runs), with the settings the run folder records.
            """)
    @Argument(help: "The run folder.") var folder: String
    @Argument(help: "The shard's name (a line of RUN/shards/jobs.txt names it).") var name: String
    @OptionGroup var machine: MachineOptions

    func run() throws {
        try RNNLab.prepare()
        var options = machine.studyOptions()
        options.fetcher = SystemPackageFetcher()
        let done = try StudyShards.run(name, out: URL(fileURLWithPath: folder), options: options)
        print("Shard \(name) of \(folder): \(done).")
    }
}

/// The study's shards written as jobs (RUN/shards/jobs.txt, shards.sbatch, merge.sbatch) and, with --slurm, the
/// unfinished ones submitted as a job array with the merge after it.
func submitShards(_ options: Study.Options, _ run: RunOptions) throws {
    let out = URL(fileURLWithPath: run.out).standardizedFileURL, folder = out.appendingPathComponent("shards")
    let listed = try StudyShards.plan(options, out: out)
    let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let data = DataCache.directory(run.machine.data).standardizedFileURL.path
    let jobs = listed.map {
        [binary, "shard", out.path, $0.shard.name, "--threads", String(run.machine.threads), "--data", data]
            .map(JobScripts.shellQuoted).joined(separator: " ")
    }
    let open = listed.indices.filter { !listed[$0].finished }
    let jobList = folder.appendingPathComponent("jobs.txt")
    try AtomicFile.write(jobs.joined(separator: "\n") + "\n", to: jobList)
    let limit = try timeLimit(open.map { listed[$0].shard }, options, threads: run.machine.threads)
    let array = folder.appendingPathComponent("shards.sbatch"), merge = folder.appendingPathComponent("merge.sbatch")
    try AtomicFile.write(
        JobScripts.array(
            name: "rnnlab-shards", jobs: jobList, count: max(jobs.count, 1), threads: run.machine.threads,
            minutes: limit.minutes), to: array)
    try AtomicFile.write(
        JobScripts.single(
            name: "rnnlab-merge", command: mergeCommand(options, binary),
            directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath), folder: folder,
            threads: run.machine.threads), to: merge)
    print("\(listed.count) shards, \(open.count) unfinished; their commands: \(jobList.path). \(limit.why)")
    guard run.shards.slurm else {
        print("Run them in any order, here or anywhere that shares \(out.path); then merge: sbatch \(merge.path)")
        return
    }
    let extra = splitSlurmArgs(run.shards.slurmArgs)
    var dependency: [String] = []
    if !open.isEmpty {
        let id = try sbatch(["--array=\(open.map(String.init).joined(separator: ","))"] + extra + [array.path])
        print("Submitted the \(open.count) unfinished shards as Slurm job array \(id).")
        dependency = ["--dependency=afterany:\(id)"]
    }
    let mergeID = try sbatch(dependency + extra + [merge.path])
    print(
        """
        Submitted the merge as job \(mergeID): it runs when the shards have ended, writes \(out.path)/report.html, \
        and fails naming any shard that did not finish (submit the same command again to rerun only those). \
        Follow them: squeue -u $USER; logs in \(folder.path).
        """)
}

/// The command line of this study with --merge instead of the shard options (and without --fresh, which would
/// move the shards' work aside), run by the merge job.
func mergeCommand(_ options: Study.Options, _ binary: String) -> [String] {
    var args: [String] = [binary], rest = options.arguments.dropFirst()
    while let a = rest.popFirst() {
        if ["--slurm", "--jobs-only", "--fresh"].contains(a) || a.hasPrefix("--slurm-args=") { continue }
        if a == "--slurm-args" {
            _ = rest.popFirst()
            continue
        }
        args.append(a)
    }
    return args + ["--merge"]
}

/// Each shard's time limit in minutes: the largest shard's work times the seconds per unit measured here, three
/// times over, plus 5 minutes; with why, in words.
func timeLimit(_ shards: [PartShard], _ options: Study.Options, threads: Int) throws -> (minutes: Int?, why: String) {
    guard !shards.isEmpty else {
        return (nil, "No shard is left to train: the merge does the rest.")
    }
    let cache = DataCache(directory: options.dataDirectory, fetcher: options.fetcher)
    let largest = try shards.map { try $0.work(cache) }.max() ?? 0
    let perUnit = try ModelRecipe.secondsPerWork(threads: threads)
    let seconds = largest * perUnit
    let minutes = Int((seconds * 3 + 300) / 60) + 1
    return (
        minutes,
        String(
            format:
                "Time limit %d min a shard: the largest shard's estimated %.0f s here (%.2f s per 10^9 multiply-adds, "
                + "timed on this machine with %d threads), three times over, plus 5 min.",
            minutes, seconds, perUnit * 1e9, threads)
    )
}
