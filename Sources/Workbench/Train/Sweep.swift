import Foundation
import Datasets
import Files

/// `rnnlab train --sweep KEY=VALUES`: a config expanded into one run per combination of the swept settings, each in
/// its own folder named by its settings ("hidden-32_seed-1"), with the plain list of the commands that train them
/// (jobs.txt, for any scheduler) and a Slurm job array over that list (sweep.sbatch).
package struct Sweep: Sendable {
    /// One swept setting: its config key and its values as written.
    package struct Axis: Equatable, Sendable {
        package var key: String, values: [String]
    }

    package var axes: [Axis]

    /// Settings as the command line names them, where config.json names them otherwise.
    static let aliases = ["lr": "learningRate", "validation": "validationFraction", "initialization": "initializer"]

    /// "hidden=32,64,128", "seed=1..5" or "lr=0.01,0.001": a key and its values (a range of integers expanded).
    package static func axis(_ text: String) throws -> Axis {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw DataError("--sweep \(BoundedText.quote(text)): write KEY=V1,V2,... or KEY=FIRST..LAST")
        }
        let key = aliases[parts[0]] ?? parts[0]
        let range = parts[1].components(separatedBy: "..")
        if range.count == 2, let a = Int(range[0]), let b = Int(range[1]) {
            guard a <= b, b - a < 10_000 else { throw DataError("--sweep \(text): the range must run upwards") }
            return Axis(key: key, values: (a...b).map(String.init))
        }
        let values = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !values.contains(where: \.isEmpty), Set(values).count == values.count else {
            throw DataError("--sweep \(BoundedText.quote(text)): empty or repeated values")
        }
        return Axis(key: key, values: values)
    }

    package init(_ arguments: [String]) throws {
        axes = try arguments.map(Self.axis)
        let keys = axes.map(\.key)
        guard Set(keys).count == keys.count else { throw DataError("--sweep names a setting twice: \(keys)") }
    }

    /// Every combination of the axes' values, the first axis slowest.
    package var combinations: [[(key: String, value: String)]] {
        axes.reduce([[]]) { partial, axis in
            partial.flatMap { combo in axis.values.map { combo + [(axis.key, $0)] } }
        }
    }

    /// A combination's folder name: "hidden-32_seed-1" (characters a file name cannot hold become "-").
    package static func name(_ combo: [(key: String, value: String)]) -> String {
        combo.map { "\($0.key)-\($0.value)" }.joined(separator: "_")
            .map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "-" }.map(String.init).joined()
    }

    /// `config` with one combination's settings: each value read as the setting's JSON type (a number, a name), and
    /// an unknown setting or a value of the wrong type refused by name.
    package static func apply(_ combo: [(key: String, value: String)], to config: UserTraining.Config) throws
        -> UserTraining.Config
    {
        guard var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any]
        else { throw DataError("the config is not an object") }
        let known = Set(object.keys).union(["clip", "truncation", "delimiter", "missing", "tokens"])
        for (key, value) in combo {
            guard known.contains(key), !["data", "labels", "dataFromRun", "labelsFromRun", "kind"].contains(key) else {
                throw DataError(
                    "--sweep: no setting '\(BoundedText.quote(key))' to sweep (settings: "
                        + known.subtracting(["data", "labels", "dataFromRun", "labelsFromRun", "kind"]).sorted()
                        .joined(separator: ", ") + ")")
            }
            object[key] =
                Double(value).map { $0 == $0.rounded() && !value.contains(".") ? Int($0) as Any : $0 as Any }
                ?? (key == "cells" ? [value] : value)
        }
        do {
            let swept = try JSONDecoder().decode(
                UserTraining.Config.self, from: try JSONSerialization.data(withJSONObject: object))
            try swept.validate()
            return swept
        } catch let e as DataError { throw e } catch {
            throw DataError(
                "--sweep: \(combo.map { "\($0.key)=\($0.value)" }.joined(separator: " ")): "
                    + UserTraining.Config.describe(error))
        }
    }

    /// Writes each combination's config.json under `root`, jobs.txt (one `rnnlab train` command per line, in the
    /// order of `combinations`) and sweep.sbatch (a Slurm job array over jobs.txt, `threads` cores a task); returns
    /// each run's folder and config.
    package func plan(_ config: UserTraining.Config, root: URL, binary: String, threads: Int) throws
        -> [(folder: URL, config: UserTraining.Config)]
    {
        let runs = try combinations.map { combo -> (URL, UserTraining.Config) in
            let folder = root.appendingPathComponent(Self.name(combo))
            return (folder, try Self.apply(combo, to: config).recordingDataLocation(relativeTo: folder))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var jobs: [String] = []
        for (folder, c) in runs {
            let file = folder.appendingPathComponent("config.json")
            if let old = try? Data(contentsOf: file),
                (try? JSONDecoder().decode(UserTraining.Config.self, from: old)) != nil
            {
                // A run planned (or begun) before: its own config stands; a rerun compares it as train does.
            } else {
                try AtomicFile.write(try encoder.encode(c), to: file)
            }
            jobs.append(
                [binary, "train", "--config", file.path, "--out", folder.path, "--threads", String(threads)]
                    .map(JobScripts.shellQuoted).joined(separator: " "))
        }
        try AtomicFile.write(jobs.joined(separator: "\n") + "\n", to: root.appendingPathComponent("jobs.txt"))
        try AtomicFile.write(
            JobScripts.array(
                name: "rnnlab-sweep", jobs: root.appendingPathComponent("jobs.txt"), count: jobs.count,
                threads: threads),
            to: root.appendingPathComponent("sweep.sbatch"))
        return runs
    }
}
