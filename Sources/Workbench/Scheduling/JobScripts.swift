import Foundation
import Recurrent
import SequenceData
import TensorCore

/// What a scheduler is given: a list of commands (one a line, for any scheduler) and Slurm batch scripts over it.
package enum JobScripts {
    /// A Slurm job array over the lines of `jobs`: task i runs line i + 1, logs beside it as slurm-JOB_TASK.out.
    /// `time`: the limit of each task in minutes (nil: the partition's default).
    package static func array(name: String, jobs: URL, count: Int, threads: Int, minutes: Int? = nil) -> String {
        let logs = jobs.deletingLastPathComponent().path
        return """
            #!/bin/bash
            #SBATCH --job-name=\(name)
            #SBATCH --array=0-\(count - 1)
            #SBATCH --cpus-per-task=\(threads)
            \(minutes.map { "#SBATCH --time=\($0)\n" } ?? "")#SBATCH --output=\(logs)/slurm-%A_%a.out
            # One job per array task: line SLURM_ARRAY_TASK_ID + 1 of \(jobs.lastPathComponent). A task killed or out of
            # time leaves its checkpoints; submitting again resumes every unfinished one.
            set -euo pipefail
            eval "$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" \(shellQuoted(jobs.path)))"

            """
    }

    /// A Slurm job that runs `command` once in `directory` (its relative paths are relative to it), logging to
    /// FOLDER/slurm-JOB.out.
    package static func single(name: String, command: [String], directory: URL, folder: URL, threads: Int) -> String {
        """
        #!/bin/bash
        #SBATCH --job-name=\(name)
        #SBATCH --cpus-per-task=\(threads)
        #SBATCH --output=\(folder.path)/slurm-%j.out
        set -euo pipefail
        cd \(shellQuoted(directory.path))
        \(command.map(shellQuoted).joined(separator: " "))

        """
    }

    /// `s` as one word for a POSIX shell.
    package static func shellQuoted(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,".contains($0) }
            ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension ModelRecipe {
    /// Seconds per unit of `work` on this machine with `threads` threads: one epoch of a small LSTM (hidden 64, 256
    /// sequences of 28 steps of 28 inputs) timed. A scheduler's time limit for a shard is its work times this, with
    /// a margin: another machine, other cells and sizes run at other speeds.
    package static func secondsPerWork(threads: Int) throws -> Double {
        let recipe = ModelRecipe(
            inputSize: 28, hidden: 64, outputs: 10, headMode: .lastStep, objective: .crossEntropy,
            learningRate: 1e-3, epochs: 1, batch: 32, weights: .userModels)
        var rng = SeededRandom(seed: 1)
        let n = 256, steps = 28
        let x = try Tensor<Float>(shape: [n, steps, 28], data: (0..<(n * steps * 28)).map { _ in Float(rng.normal()) })
        let data = TensorSequenceDataset<Float>(inputs: x, targets: .classes((0..<n).map { $0 % 10 }))
        let model = recipe.build(.lstm, seed: 1, threads: threads)
        let start = Date()
        _ = try recipe.trainer(for: model, shuffleSeed: 1).fit(train: data, validation: data)
        return Date().timeIntervalSince(start) / recipe.work([.lstm], samples: n, steps: steps)
    }
}
