import Foundation
import Statistics
import Logging
import TensorCore
import Recurrent
import SequenceData
import Datasets
import Charts
import Interchange
import Files

/// `rnnlab train`: the experiments' training, checkpoints, weight tracking and report, on the user's own data
/// with the user's own settings. A run folder holds `config.json` (equal to the flags; `--config` repeats it).
package enum UserTraining {
    /// What the data file is.
    package enum DataKind: String, Codable, CaseIterable, Sendable {
        /// A text file, learned character by character (next-character prediction at every step).
        case text
        /// A CSV time series: one numeric column, windows predicting the next value.
        case csv
        /// A CSV of labelled texts: a text column and a label column (sequence classification).
        case labelledCSV = "labelled-csv"
        /// IDX images and labels (MNIST's format), classified row by row.
        case idx
    }

    package struct Config: Codable, Equatable, Sendable {
        package var kind: DataKind
        /// The data file (text, CSV or IDX images); `labels` is the IDX labels file. A run folder's config.json
        /// holds them as absolute paths, and `dataFromRun` / `labelsFromRun` relative to the run folder, so the
        /// folder still finds its data when both move together or the command runs from elsewhere.
        package var data: String
        package var labels: String? = nil
        package var dataFromRun: String? = nil, labelsFromRun: String? = nil
        /// CSV: the series column, or the text and label columns.
        package var column: String? = nil, textColumn: String? = nil, labelColumn: String? = nil
        /// CSV: the field delimiter (nil: a comma), and what a series' missing values become (nil: an error).
        package var delimiter: String? = nil, missing: MissingValues? = nil
        /// Labelled texts: read as words (nil, the default) or as characters.
        package var tokens: Vocabulary.Tokens? = nil

        /// The delimiter as the CSV reader takes it.
        package var delimiterScalar: Unicode.Scalar { delimiter.flatMap { $0.unicodeScalars.first } ?? "," }
        /// Time steps per sequence: the CSV window, the text window (characters) or the token count of a
        /// labelled text.
        package var window = 32
        /// CSV: how many steps after the window's last value the forecast is for (1: the next value).
        package var horizon = 1
        /// The share held out for validation (the last part of a series or text; a seeded shuffle otherwise).
        package var validationFraction = 0.2
        /// Embedding size for text and labelled texts.
        package var embedding = 32
        package var cells: [CellKind] = [.lstm]
        package var gruVariant = GRUVariant.resetAfter, nonlinearity = Nonlinearity.tanh
        package var hidden = 64, layers = 1
        package var initializer = Initializer.pytorchDefault, gateInit = GateInit.forgetBias
        package var epochs = 10, batch = 32, learningRate = 0.002
        package var optimizer = OptimizerName.adam
        package var clip: Double? = 1
        package var truncation: Int? = nil
        package var seed: UInt64 = 7

        package init(kind: DataKind, data: String) { self.kind = kind; self.data = data }

        /// The same settings with the data and labels as absolute paths (read from the working directory) and as
        /// paths relative to the run folder `run`, as config.json records them.
        package func recordingDataLocation(relativeTo run: URL) -> Config {
            var c = self
            c.data = Self.absolute(data)
            c.labels = labels.map(Self.absolute)
            c.dataFromRun = Self.relative(c.data, from: run)
            c.labelsFromRun = c.labels.map { Self.relative($0, from: run) }
            return c
        }

        /// These settings as read from the config.json of the run folder `run`: the data and labels where they are,
        /// at the recorded path or at the recorded place relative to the run folder; a clear error when at neither.
        package func locatingData(in run: URL) throws -> Config {
            func locate(_ path: String, _ fromRun: String?, _ what: String) throws -> String {
                let candidates =
                    [path] + (fromRun.map { [run.appendingPathComponent($0).standardizedFileURL.path] } ?? [])
                guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                    throw DataError(
                        """
                        \(run.appendingPathComponent("config.json").path): its \(what) file is at none of \
                        \(candidates.joined(separator: " or ")); give --\(what) FILE
                        """)
                }
                return Self.absolute(found)
            }
            var c = self
            c.data = try locate(data, dataFromRun, "data")
            if let labels { c.labels = try locate(labels, labelsFromRun, "labels") }
            return c
        }

        static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

        /// The path of `file` from the folder `base` ("../data/a.csv"), both made absolute first.
        static func relative(_ file: String, from base: URL) -> String {
            let target = URL(fileURLWithPath: file).standardizedFileURL.pathComponents
            let origin = base.standardizedFileURL.pathComponents
            let shared = zip(target, origin).prefix { $0 == $1 }.count
            return (Array(repeating: "..", count: origin.count - shared) + target[shared...]).joined(separator: "/")
        }

        /// What a decoding error says about a config file, in a few words: the setting missing or of the wrong
        /// type, or that the file is no JSON.
        package static func describe(_ error: Error) -> String {
            func path(_ context: DecodingError.Context, _ last: CodingKey? = nil) -> String {
                ((context.codingPath + (last.map { [$0] } ?? [])).map(\.stringValue)).joined(separator: ".")
            }
            switch error {
            case DecodingError.keyNotFound(let key, let context): return "no '\(path(context, key))'"
            case DecodingError.typeMismatch(let type, let context): return "'\(path(context))' is not of type \(type)"
            case DecodingError.valueNotFound(let type, let context): return "'\(path(context))' is null, not a \(type)"
            case DecodingError.dataCorrupted(let context):
                return context.codingPath.isEmpty ? "not JSON" : "'\(path(context))': \(context.debugDescription)"
            default: return "\(error)"
            }
        }

        /// Every setting a run can be checked against before it trains.
        package func validate() throws {
            func positive(_ v: Int, _ name: String) throws {
                if v < 1 { throw DataError("--\(name) must be at least 1 (got \(v))") }
            }
            try positive(window, "window"); try positive(embedding, "embedding"); try positive(hidden, "hidden")
            try positive(horizon, "horizon")
            if let delimiter, delimiter.unicodeScalars.count != 1 || delimiter == "\"" || delimiter == "\n" {
                throw DataError(
                    "--delimiter must be one character other than a quote or a newline (got '\(delimiter)')")
            }
            try positive(layers, "layers"); try positive(epochs, "epochs"); try positive(batch, "batch")
            if let truncation { try positive(truncation, "truncation") }
            guard learningRate > 0, learningRate.isFinite else {
                throw DataError("--lr must be a positive number (got \(learningRate))")
            }
            if let clip, !(clip > 0 && clip.isFinite) {
                throw DataError("--clip must be a positive number (got \(clip))")
            }
            guard validationFraction > 0, validationFraction < 1 else {
                throw DataError("--validation must be between 0 and 1 (got \(validationFraction))")
            }
            guard !cells.isEmpty else { throw DataError("--cells names no cell") }
            // The weights alone must fit before any data is read (the batch is checked against the data later).
            for cell in cells {
                try RecurrentConfig(cell: cell, inputSize: embedding, hiddenSize: hidden, numLayers: layers)
                    .checkMemory(batch: 1, steps: window)
            }
            switch kind {
            case .csv where column == nil: throw DataError("--kind csv needs --column (the series to forecast)")
            case .labelledCSV where textColumn == nil || labelColumn == nil:
                throw DataError("--kind labelled-csv needs --text-column and --label-column")
            case _ where tokens != nil && kind != .labelledCSV:
                throw DataError("--tokens applies to --kind labelled-csv")
            case .idx where labels == nil: throw DataError("--kind idx needs --labels (the IDX labels file)")
            default: break
            }
        }
    }

    /// The task the experiments' training path runs, built from the user's data and settings; `vocabulary` is
    /// the character list of a text model (saved beside the checkpoints for `rnnlab generate`).
    /// The model and training recipe of a config (the data decide the sizes).
    static func recipe(
        _ c: Config, input: Int, outputs: Int, vocabulary: Int?, head: HeadMode, objective: Objective
    ) -> ModelRecipe {
        var r = ModelRecipe(
            inputSize: input, hidden: c.hidden, outputs: outputs, vocabulary: vocabulary, headMode: head,
            objective: objective, learningRate: c.learningRate, epochs: c.epochs, batch: c.batch, clip: c.clip,
            weights: .userModels, gateInit: c.gateInit, steps: c.window)
        r.layers = c.layers; r.optimizer = c.optimizer; r.initializer = c.initializer
        r.gruVariant = c.gruVariant; r.nonlinearity = c.nonlinearity; r.truncation = c.truncation
        return r
    }

    /// What turns new data into the trained model's inputs, saved beside the checkpoints (preprocessing.json)
    /// for `generate`, `evaluate` and `predict`: the characters of a text model, the words and class names of a
    /// text classifier, the class count of an image classifier, the normalisation of a series.
    package struct Preprocessing: Codable, Equatable, Sendable {
        package var characters: [String]? = nil
        package var words: [String]? = nil
        package var classes: [String]? = nil
        /// What `words` are: words (nil) or characters (`--tokens chars`).
        package var tokens: Vocabulary.Tokens? = nil
        package var mean: Double? = nil, std: Double? = nil
        /// A series' in-sample one-step naive MAE (the training part, in its units): the scale of MASE.
        package var naiveScale: Double? = nil
        package var outputs = 1, inputSize = 1
        /// Rows (labelled texts) or images held out, in order, after them the training ones in order: the
        /// split, for tools that rebuild the data (scripts/continue_in_pytorch.py).
        package var order: [Int]? = nil, heldOut: Int? = nil
        /// Path -> SHA-256 of the files read (data, labels): a rerun with the same settings resumes only on the
        /// same data.
        package var sha256: [String: String]? = nil
    }

    /// The task the experiments' training path runs, built from the user's data and settings, and the
    /// preprocessing that new data must go through to meet the trained model.
    static func task(_ c: Config) throws -> (TaskTraining.Task, Preprocessing) {
        let url = URL(fileURLWithPath: c.data)
        var (task, prep): (TaskTraining.Task, Preprocessing)
        switch c.kind {
        case .text: (task, prep) = try textTask(c, url)
        case .csv: (task, prep) = try csvTask(c, url)
        case .labelledCSV: (task, prep) = try labelledTextTask(c, url)
        case .idx: (task, prep) = try imageTask(c, url)
        }
        task.cells = c.cells
        return (task, prep)
    }

    /// A character model of a UTF-8 text: windows of `c.window` characters, the last share for validation.
    static func textTask(_ c: Config, _ url: URL) throws -> (TaskTraining.Task, Preprocessing) {
        var task: TaskTraining.Task
        var prep = Preprocessing()
        let data = try DataError.contents(of: url)
        try checkMemory(textBytes: data.count, path: c.data)
        guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(c.data): not UTF-8 text") }
        guard text.count > 2 * (c.window + 1) else {
            throw DataError(
                "\(c.data): \(text.count) characters, shorter than two windows of \(c.window) characters (--window)")
        }
        let chars = CharTask(
            text: text, steps: c.window, stride: max(1, c.window / 2), validationFraction: c.validationFraction)
        guard chars.train.count > 0, chars.validation.count > 0 else {
            throw DataError("\(c.data): too short for a validation part of \(c.validationFraction)")
        }
        prep.characters = chars.vocabulary.map { String($0) }
        prep.outputs = chars.vocabulary.count; prep.inputSize = c.embedding
        task = TaskTraining.Task(
            key: "train", title: "Character model of \(url.lastPathComponent)",
            description:
                "\(text.count) characters, \(chars.vocabulary.count) distinct; windows of \(c.window), the last "
                + "\(Int(100 * c.validationFraction))% for validation.",
            inputSize: c.embedding, outputs: chars.vocabulary.count, hidden: c.hidden, epochs: c.epochs,
            batch: c.batch, lr: c.learningRate, clip: c.clip, objective: .crossEntropy)
        task.tokens = (chars.train, chars.validation, chars.vocabulary.count)
        // The held-out part of the text, for units over text and gates over time in the report.
        task.heldOutText = (
            Array(text.suffix(max(0, text.count - Int(Double(text.count) * (1 - c.validationFraction))))),
            chars.index
        )
        task.custom = Self.recipe(
            c,
            input: c.embedding, outputs: chars.vocabulary.count, vocabulary: chars.vocabulary.count,
            head: .everyStep, objective: .crossEntropy)
        return (task, prep)
    }

    /// Peak memory of `rnnlab train --kind text` per byte of corpus, measured (docs/OwnData.md): 81 bytes on a 20 MB
    /// text (1.62 GB peak, window 32), rounded up; and what the program takes before any data.
    static let bytesPerTextByte = 90, baseBytes = 300_000_000

    /// Refuses, before the text is decoded, a corpus whose training would need more memory than this process may
    /// take, naming the estimate (a 216 MB text asked for 8.7 GB and died in the allocator).
    static func checkMemory(textBytes: Int, path: String) throws {
        let estimate = baseBytes + textBytes * bytesPerTextByte, available = MemoryBudget.available
        guard estimate <= available else {
            throw DataError(
                """
                \(path): training on its \(textBytes) bytes of text needs about \(MemoryBudget.describe(estimate)) \
                (about \(bytesPerTextByte) bytes per character), more than the \(MemoryBudget.describe(available)) \
                this process may use; train on a part of it
                """)
        }
    }

    /// A forecast of one CSV column: windows z-scored with the training part's statistics, the last share for
    /// validation.
    static func csvTask(_ c: Config, _ url: URL) throws -> (TaskTraining.Task, Preprocessing) {
        var task: TaskTraining.Task
        var prep = Preprocessing()
        let (values, missingCount) = try CSVTable(contentsOf: url, delimiter: c.delimiterScalar)
            .numbersCountingMissing(c.column!, missing: c.missing ?? .error)
        let series: ForecastData
        do {
            series = try ForecastData(
                name: c.column!, values: values, window: c.window, testFraction: c.validationFraction,
                horizon: c.horizon)
        } catch let e as DataError {
            // The series' own message names the column; the file is what a user looks for.
            throw DataError("\(c.data): column \(e.description)")
        }
        task = TaskTraining.Task(
            key: "train", title: "Forecasting \(c.column!) of \(url.lastPathComponent)",
            description:
                "\(series.values.count) values"
                + (missingCount == 0
                    ? ""
                    : " (\(missingCount) missing \(c.missing == .skip ? "skipped" : "filled by linear interpolation"))")
                + ", z-scored with the training part's mean \(fmt(series.mean, 3)) and "
                + "sd \(fmt(series.std, 3)); windows of \(c.window) predict the value "
                + (c.horizon == 1 ? "after them" : "\(c.horizon) steps after their last") + "; the last "
                + "\(Int(100 * c.validationFraction))% is the validation period. Losses are MSE in normalised "
                + "units.",
            train: series.train, test: series.test, inputSize: 1, outputs: 1, hidden: c.hidden, epochs: c.epochs,
            batch: c.batch, lr: c.learningRate, clip: c.clip, objective: .meanSquaredError,
            baselines: ["naive (next = last)": series.naiveTestMSE, "training mean": series.meanTestMSE])
        task.series = true
        task.custom = Self.recipe(
            c, input: 1, outputs: 1, vocabulary: nil, head: .lastStep, objective: .meanSquaredError)
        prep.mean = series.mean; prep.std = series.std
        prep.naiveScale = ForecastErrors.naiveScale(Array(series.values[0..<series.split]))
        task.units = SeriesForecasts.Units(
            name: c.column!, mean: series.mean, std: series.std, naiveScale: prep.naiveScale)
        return (task, prep)
    }

    /// A classifier of labelled texts in a CSV: a seeded random share held out, the last `c.window` words of each.
    static func labelledTextTask(_ c: Config, _ url: URL) throws -> (TaskTraining.Task, Preprocessing) {
        var task: TaskTraining.Task
        var prep = Preprocessing()
        let table = try CSVTable(contentsOf: url, delimiter: c.delimiterScalar)
        let ti = try table.column(c.textColumn!), li = try table.column(c.labelColumn!)
        let names = Array(Set(table.rows.map { $0[li] })).sorted()
        guard names.count >= 2 else {
            throw DataError("\(c.data): column \(c.labelColumn!) has \(names.count) distinct label; need 2 or more")
        }
        let classOf = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let all = LabelledTexts(texts: table.rows.map { $0[ti] }, labels: table.rows.map { classOf[$0[li]]! })
        var rng = SeededRandom(seed: SeedStream.userSplit.seed(c.seed))
        let order = rng.permutation(all.texts.count)
        let nVal = max(1, Int(Double(all.texts.count) * c.validationFraction))
        guard all.texts.count - nVal >= 1 else { throw DataError("\(c.data): too few rows to hold some out") }
        let pick = { (idx: ArraySlice<Int>) in
            LabelledTexts(texts: idx.map { all.texts[$0] }, labels: idx.map { all.labels[$0] })
        }
        let val = pick(order[0..<nVal]), train = pick(order[nVal...])
        prep.order = order; prep.heldOut = nVal
        let unit = c.tokens ?? .words
        let vocab = Vocabulary(texts: train.texts, size: 20_000, tokens: unit)
        prep.words = vocab.words; prep.classes = names; prep.outputs = names.count; prep.inputSize = c.embedding
        prep.tokens = c.tokens
        task = TaskTraining.Task(
            key: "train", title: "Classifying \(c.textColumn!) by \(c.labelColumn!) in \(url.lastPathComponent)",
            description:
                "\(all.texts.count) texts in \(names.count) classes (\(names.joined(separator: ", "))); "
                + "\(train.texts.count) for training, \(val.texts.count) held out; the last \(c.window) "
                + (unit == .words
                    ? "words of each (lower-cased, punctuation dropped), a vocabulary of \(vocab.count - 2) training "
                        + "words."
                    : "characters of each (case and punctuation kept), \(vocab.count - 2) distinct training "
                        + "characters."),
            inputSize: c.embedding, outputs: names.count, hidden: c.hidden, epochs: c.epochs, batch: c.batch,
            lr: c.learningRate, clip: c.clip, objective: .crossEntropy)
        task.tokens = (vocab.dataset(train, length: c.window), vocab.dataset(val, length: c.window), vocab.count)
        task.custom = Self.recipe(
            c,
            input: c.embedding, outputs: names.count, vocabulary: vocab.count, head: .lastStep,
            objective: .crossEntropy)
        task.classNames = names
        return (task, prep)
    }

    /// A classifier of IDX images read row by row: a seeded random share held out.
    static func imageTask(_ c: Config, _ url: URL) throws -> (TaskTraining.Task, Preprocessing) {
        var task: TaskTraining.Task
        var prep = Preprocessing()
        let images = try ImageSet(idxImages: url, idxLabels: URL(fileURLWithPath: c.labels!))
        let heldOut = max(1, Int(Double(images.count) * c.validationFraction))
        let (train, test) = try images.split(heldOut: heldOut, seed: c.seed)
        var rng = SeededRandom(seed: c.seed)
        prep.order = rng.permutation(images.count); prep.heldOut = heldOut  // as ImageSet.split draws it
        let classes = (images.labels.max() ?? 0) + 1
        prep.classes = (0..<classes).map(String.init); prep.outputs = classes; prep.inputSize = images.width
        task = TaskTraining.Task(
            key: "train", title: "Classifying the images of \(url.lastPathComponent) row by row",
            description:
                "\(images.count) images of \(images.height) x \(images.width) pixels in \(classes) classes; "
                + "\(train.count) for training, \(test.count) held out; each image is the sequence of its rows.",
            train: train.rowSequences(), test: test.rowSequences(), inputSize: images.width, outputs: classes,
            hidden: c.hidden, epochs: c.epochs, batch: c.batch, lr: c.learningRate, clip: c.clip,
            objective: .crossEntropy)
        task.custom = Self.recipe(
            c,
            input: images.width, outputs: classes, vocabulary: nil, head: .lastStep, objective: .crossEntropy)
        task.classNames = prep.classes
        return (task, prep)
    }

    /// Trains every chosen cell into `context.folder` (config.json, preprocessing.json, checkpoints per
    /// cell under real/train/<cell>/, report.html, results.json); a rerun with the same config resumes.
    package static func run(_ settings: Config, context: RunContext, studyParts: [String] = []) throws -> URL {
        try settings.validate()
        let folder = context.folder
        let config = settings.recordingDataLocation(relativeTo: folder.root)
        let continuing = try checkSettings(config, folder, studyParts: studyParts)
        let (task, preprocessing) = try checkData(config, folder, continuing: continuing)
        try folder.writeJSON(preprocessing, to: "preprocessing.json")
        if continuing {
            // Until it ends, the folder says the run is unfinished, before config.json says how far it goes (a
            // report of fewer epochs beside a config.json of more would read as finished): a kill leaves this.
            try account(
                task, folder, heading: "Training not finished",
                failure: "not finished: continued to \(config.epochs) epochs, and not yet ended",
                text: """
                    This run was continued to \(config.epochs) epochs and has not ended; this page is replaced when it \
                    does. If it stopped, the same command resumes from the last checkpoint: \(context.rerun)
                    """)
        }
        try folder.writeJSON(config, to: "config.json")
        var report = HTMLReport(title: "rnnlab train: \(task.title)")
        let measured: TaskTraining.Measured
        do { measured = try TaskTraining.measure(task, config.seed, context) } catch {
            // A failed training still leaves its account: the report and results.json name the failure.
            try account(
                task, folder, heading: "Training failed", failure: "\(error)",
                text: "Training stopped with an error: \(error). \(retryAdvice(error, rerun: context.rerun))")
            throw error
        }
        try TaskTraining.render(measured, folder: folder, report: &report)
        try folder.writeJSON(measured.result, to: "results.json")
        let url = folder.url("report.html")
        try AtomicFile.write(report.render(), to: url)
        return url
    }

    /// A run that has not ended (well): report.html and results.json name why, and what to do.
    static func account(
        _ task: TaskTraining.Task, _ folder: RunFolder, heading: String, failure: String, text: String
    ) throws {
        var report = HTMLReport(title: "rnnlab train: \(task.title)")
        report.section(heading)
        report.paragraph(text)
        // The page first: a reader opens it before results.json.
        try AtomicFile.write(report.render(), to: folder.url("report.html"))
        try folder.writeJSON(
            TaskTraining.TaskResult(
                task: task.key, description: task.fullDescription, models: [], baselines: task.baselines,
                findings: [], failure: failure), to: "results.json")
    }

    /// Whether the folder holds this run already (its config.json equal, or of fewer epochs: an extension); throws
    /// when it holds another run's settings or another command's results.
    static func checkSettings(_ config: Config, _ folder: RunFolder, studyParts: [String]) throws -> Bool {
        let configURL = folder.url("config.json")
        let repeatHint = ", or pass --config \(configURL.path) to repeat it"
        guard let data = try? Data(contentsOf: configURL) else {
            let found = RunManifest.results(in: folder.root, parts: studyParts)
            guard found.isEmpty else {
                throw RunFolderError(
                    """
                    \(folder.root.path) holds another rnnlab command's results (\(found.joined(separator: ", "))) \
                    and no config.json, so nothing was run; choose another --out, or rerun with --fresh to move them \
                    aside
                    """)
            }
            return false
        }
        guard let old = try? JSONDecoder().decode(Config.self, from: data) else {
            throw DataError("\(configURL.path): not a training config; choose another --out or --fresh")
        }
        // Where the data sit is no setting: the same files moved with the run (checked by content) resume it. More
        // epochs than the run had extend it from its last checkpoint (optimizer state included), as Keras'
        // initial_epoch does; fewer are another setting.
        let extending = config.epochs > old.epochs
        let differences = RunManifest.fieldDifferences(
            "config", old, config,
            ignoring: Set(["data", "labels", "dataFromRun", "labelsFromRun"] + (extending ? ["epochs"] : [])))
        guard differences.isEmpty else {
            throw RunFolderError.otherSettings(folder.root, differences, orElse: repeatHint)
        }
        if extending {
            Logger(label: "rnnlab").notice(
                "\(folder.root.path): extending the run from \(old.epochs) to \(config.epochs) epochs")
        }
        return true
    }

    /// The data read (and refused when they do not fit) before the folder records the settings; a rerun with the
    /// same settings resumes only when the data, and so the vocabulary, scaling and split, are the same.
    static func checkData(_ config: Config, _ folder: RunFolder, continuing: Bool) throws
        -> (TaskTraining.Task, Preprocessing)
    {
        var (task, preprocessing) = try task(config)
        // The held-out share decides nothing here but is read every epoch: it is the run's validation split.
        task.heldOutName = "validation"; task.inStudy = false
        preprocessing.sha256 = try Dictionary(
            ([config.data] + (config.labels.map { [$0] } ?? [])).map {
                ($0, try DataLedger.checksum(URL(fileURLWithPath: $0)))
            }, uniquingKeysWith: { first, _ in first })
        let preprocessingURL = folder.url("preprocessing.json")
        guard let old = try? JSONDecoder().decode(Preprocessing.self, from: Data(contentsOf: preprocessingURL)) else {
            // Without checkpoints there is nothing the data must match (a run killed before its first one).
            if continuing && holdsCheckpoints(folder) {
                throw RunFolderError(
                    """
                    \(preprocessingURL.path) is missing or unreadable, so whether this data, vocabulary and scaling \
                    are the ones the run's checkpoints were trained on cannot be told; nothing was run. Rerun with \
                    --fresh to move the run aside and start again, or choose another --out
                    """)
            }
            return (task, preprocessing)
        }
        var now = preprocessing, before = old
        if old.sha256 == nil { now.sha256 = nil }  // written before rnnlab recorded checksums
        if old.naiveScale == nil { now.naiveScale = nil }  // or the series' naive scale
        // The files' contents, wherever they are now.
        let contents = { (p: inout Preprocessing) in
            p.sha256 = p.sha256.map { Dictionary($0.values.map { ($0, $0) }) { a, _ in a } }
        }
        contents(&now); contents(&before)
        let differences = RunManifest.fieldDifferences("data", before, now, ignoring: [])
        guard differences.isEmpty else {
            throw RunFolderError.otherSettings(folder.root, differences.map { String($0.prefix(160)) })
        }
        return (task, preprocessing)
    }

    /// Whether any model of the run has a checkpoint (real/train/<cell>/epoch_*.safetensors).
    static func holdsCheckpoints(_ folder: RunFolder) -> Bool {
        let cells = (try? FileManager.default.contentsOfDirectory(atPath: folder.url("real/train").path)) ?? []
        return cells.contains { cell in
            let files =
                (try? FileManager.default.contentsOfDirectory(atPath: folder.url("real/train/\(cell)").path)) ?? []
            return files.contains { $0.hasPrefix("epoch_") && $0.hasSuffix(".safetensors") }
        }
    }
}
