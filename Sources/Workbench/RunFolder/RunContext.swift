import Foundation
import Charts
import Interchange
import Datasets
import Recurrent
import Logging
import Files

/// Makes the callback that shows one model's training progress, given its label ("sine LSTM"); nil shows
/// nothing. The command-line tool passes its terminal printer; the library itself prints nothing.
package typealias ProgressFactory = @Sendable (String) -> TrainingCallback?

/// What an experiment needs besides its settings, passed explicitly rather than read from process-wide state:
/// the folder it writes into, the data cache it reads from, the threads its models may use, where training
/// progress goes, and the command that repeats the run (quoted in failure messages).
package struct RunContext {
    package var folder: RunFolder
    package var cache: DataCache
    package var threads: Int
    package var progress: ProgressFactory
    package var rerun: String
    /// Where status lines go (a skipped, resumed or failed part): swift-log, through whatever handler the
    /// program bootstrapped (the CLI's writes them to standard error).
    package var logger = Logger(label: "rnnlab")
    /// False when a finished run is rendered again (`rnnlab report`): every model must resume from its last
    /// checkpoint, and one that would train is refused by name (`requireTrained`).
    package var trains = true

    package init(
        folder: RunFolder, cache: DataCache, threads: Int = 1, progress: @escaping ProgressFactory = { _ in nil },
        rerun: String = "the same command again"
    ) {
        self.folder = folder; self.cache = cache; self.threads = threads; self.progress = progress; self.rerun = rerun
    }

    /// Refuses, when this context does not train, a model whose checkpoints stop before its last epoch.
    package func requireTrained(_ label: String, done: Int, of epochs: Int) throws {
        guard !trains, done < epochs else { return }
        throw RunFolderError(
            """
            \(label) has \(done) of its \(epochs) epochs in \(folder.root.path), and rnnlab report renders only \
            finished runs without training; finish the run first: \(rerun)
            """)
    }

    /// The progress callback for a model, as a list to start a trainer's callbacks with.
    package func progressCallbacks(_ label: String) -> [TrainingCallback] { progress(label).map { [$0] } ?? [] }
}

/// Input the user named (a file or folder given on the command line) that cannot be used: the part that needs it
/// fails, unlike data that is merely unavailable (a DataError), which skips it.
package struct InputError: Error, CustomStringConvertible {
    package init(description: String) {
        self.description = description
    }
    package let description: String
}

/// What to do after a part failed: the same command again resumes from the checkpoints saved before it, unless
/// a file in the run folder is what failed (a damaged checkpoint), which the same command would meet again.
package func retryAdvice(_ error: Error, rerun: String) -> String {
    if error is FileFormatError {
        return "A file of this run cannot be used, so the same command would stop here again; rerun it with --fresh "
            + "to move this run aside and start again."
    }
    return "Checkpoints saved before it stay in place, and a rerun into this folder resumes from them: \(rerun)"
}
