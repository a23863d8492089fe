import Foundation
import Statistics
import TensorCore
import Recurrent
import SequenceData
import Datasets
import Interchange
import Files

/// A trained `rnnlab train` run read back from its folder: its settings, preprocessing and the last checkpoint
/// of one cell, for `generate`, `evaluate` and `predict`.
/// Which checkpoint of a run a command reads: the last epoch (the default), the epoch with the lowest validation
/// loss, or an epoch by number (0: the initial weights).
package enum EpochChoice: Equatable, Sendable, CustomStringConvertible {
    case last, best
    case number(Int)

    package init?(argument: String) {
        switch argument {
        case "last": self = .last
        case "best": self = .best
        default:
            guard let n = Int(argument), n >= 0 else { return nil }
            self = .number(n)
        }
    }

    package var description: String {
        switch self {
        case .last: "last"
        case .best: "best"
        case .number(let n): String(n)
        }
    }

    /// The epoch this choice names among a run's `saved` epochs (ascending, 0 left out) with their `history`.
    func epoch(saved: [Int], history: [EpochRecord], in directory: URL) throws -> Int {
        guard let last = saved.last else { throw DataError("\(directory.path): no checkpoint yet; train first") }
        switch self {
        case .last: return last
        case .best:
            let scored = history.filter { saved.contains($0.epoch) && ($0.validationLoss?.isFinite ?? false) }
            return scored.min { $0.validationLoss! < $1.validationLoss! }?.epoch ?? last
        case .number(let n):
            guard n == 0 || saved.contains(n) else {
                throw DataError("\(directory.path): no epoch \(n); the run saved epochs 0 to \(last)")
            }
            return n
        }
    }
}

package struct TrainedRun {
    package let folder: URL
    /// The epoch whose weights the model holds.
    package let epoch: Int
    package let config: UserTraining.Config
    package let preprocessing: UserTraining.Preprocessing
    package let cell: CellKind
    let model: SequenceModel<Float>
    let recipe: ModelRecipe

    /// `cell` nil: the run's first cell; `epoch`: which of its checkpoints.
    package init(_ folder: URL, cell: CellKind?, epoch choice: EpochChoice = .last) throws {
        func read<V: Decodable>(_ name: String, _ type: V.Type) throws -> V {
            let url = folder.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), let v = try? JSONDecoder().decode(V.self, from: data) else {
                throw DataError("\(url.path): missing or unreadable (is \(folder.path) an rnnlab train folder?)")
            }
            return v
        }
        self.folder = folder
        config = try read("config.json", UserTraining.Config.self)
        preprocessing = try read("preprocessing.json", UserTraining.Preprocessing.self)
        let chosen = cell ?? config.cells[0]
        guard config.cells.contains(chosen) else {
            throw DataError("\(folder.path) trained \(config.cells.map(\.rawValue)), not \(chosen.rawValue)")
        }
        self.cell = chosen
        let p = preprocessing
        let vocabulary = p.characters?.count ?? p.words?.count
        let objective: Objective = config.kind == .csv ? .meanSquaredError : .crossEntropy
        recipe = UserTraining.recipe(
            config, input: p.inputSize, outputs: p.outputs, vocabulary: vocabulary,
            head: config.kind == .text ? .everyStep : .lastStep, objective: objective)
        let store = CheckpointStore(directory: folder.appendingPathComponent("real/train/\(chosen.rawValue)"))
        let saved = store.savedEpochs()
        let history = choice == .best ? try store.latest(as: Float.self)?.history ?? [] : []
        epoch = try choice.epoch(saved: saved, history: history, in: store.directory)
        model = recipe.build(chosen, seed: config.seed, threads: 1)
        try model.load(try store.weights(epoch: epoch))
    }
}

/// `rnnlab generate`: text from a character model of `rnnlab train --kind text`.
package enum Generation {
    /// The most characters `sample` gives.
    package static var maxLength: Int { TextSampler.maxLength }

    /// Text sampled from a character model, and what of the prime it could not read.
    package struct Sample: Equatable {
        package var text: String
        /// "The prime: 2 characters the model never saw were left out: ..." (the prime is kept in `text`, the model
        /// starts from the rest), or nil.
        package var primeNote: String?
    }

    /// Samples `length` characters after `prime` from a checkpoint of `cell` (default: the run's first cell and its
    /// last epoch).
    package static func sample(
        run: URL, cell: CellKind?, epoch: EpochChoice = .last, prime: String, temperature: Double, length: Int,
        seed: UInt64
    ) throws -> Sample {
        let trained = try TrainedRun(run, cell: cell, epoch: epoch)
        guard let characters = trained.preprocessing.characters, trained.config.kind == .text else {
            throw DataError("\(run.path) holds a \(trained.config.kind.rawValue) model; generate needs --kind text")
        }
        var rng = SeededRandom(seed: seed)
        let vocabulary = characters.map { Character($0) }, known = Set(vocabulary)
        let text = try TextSampler.sample(
            trained.model, vocabulary: vocabulary, prime: prime, length: length, temperature: temperature, rng: &rng)
        let unknown = prime.reduce(into: [Character: Int]()) { if !known.contains($1) { $0[$1, default: 0] += 1 } }
        return Sample(
            text: text,
            primeNote: Inference.unknownNote(unknown).map { "The prime: " + $0 + " (the model starts from the rest)" })
    }
}

/// `rnnlab evaluate` and `rnnlab predict`: a trained run on new data in the format it was trained on.
package enum Inference {
    /// New data as the trained model reads it: dense windows or token sequences with their targets, plus what
    /// each sample is called in predictions.
    /// `unknown`: characters of a text the model has no id for, left out, with how many times each occurs.
    static func dataset(_ run: TrainedRun, data: URL, labels: URL?, needsTargets: Bool) throws -> (
        dense: TensorSequenceDataset<Float>?, tokens: TokenSequenceDataset<Float>?, names: [String],
        unknown: [Character: Int]
    ) {
        let c = run.config, p = run.preprocessing
        switch c.kind {
        case .csv:
            let values = try CSVTable(contentsOf: data, delimiter: c.delimiterScalar).numbers(
                c.column!, missing: c.missing ?? .error)
            guard values.count >= c.window + c.horizon, let mean = p.mean, let std = p.std else {
                throw DataError(
                    "\(data.path): \(values.count) values, fewer than one window of \(c.window) and its target")
            }
            // The training run's normalisation, and the windows exactly as training cut them.
            let windows = ForecastData.windows(
                values.map { ($0 - mean) / std }, window: c.window, horizon: c.horizon, range: 0..<values.count
            ).data
            return (windows, nil, (0..<windows.count).map { "value \($0 + c.window + c.horizon)" }, [:])
        case .text:
            guard let text = String(data: try DataError.contents(of: data), encoding: .utf8), let chars = p.characters
            else {
                throw DataError("\(data.path): cannot read as UTF-8 text")
            }
            let index = Dictionary(chars.enumerated().map { (Character($1), $0) }, uniquingKeysWith: { a, _ in a })
            let ids = text.compactMap { index[$0] }
            let unknown = text.reduce(into: [Character: Int]()) { if index[$1] == nil { $0[$1, default: 0] += 1 } }
            var xs: [[Int]] = [], ys: [Int] = []
            var s = 0
            while s + c.window + 1 <= ids.count {
                xs.append(Array(ids[s..<(s + c.window)])); ys += ids[(s + 1)...(s + c.window)]; s += c.window
            }
            guard !xs.isEmpty else {
                throw DataError("\(data.path): shorter than one window of \(c.window) known characters")
            }
            return (nil, TokenSequenceDataset(tokens: xs, labels: ys), xs.indices.map { "window \($0 + 1)" }, unknown)
        case .labelledCSV:
            let table = try CSVTable(contentsOf: data, delimiter: c.delimiterScalar)
            let ti = try table.column(c.textColumn!)
            // Evaluating needs the labels: without the column every row would count as the first class.
            let li =
                needsTargets
                ? try labelColumn(table, c.labelColumn!, data) : table.header.firstIndex(of: c.labelColumn!)
            let classOf = Dictionary(uniqueKeysWithValues: (p.classes ?? []).enumerated().map { ($1, $0) })
            let vocab = Vocabulary(words: p.words ?? [], tokens: p.tokens ?? .words)
            let labels = try table.rows.enumerated().map { i, row -> Int in
                guard let li else { return 0 }
                guard let k = classOf[row[li]] else {
                    throw DataError(
                        "\(data.path): row \(i + 2): label '\(BoundedText.quote(row[li]))' was not among the "
                            + "trained classes"
                    )
                }
                return k
            }
            return (
                nil,
                TokenSequenceDataset(tokens: table.rows.map { vocab.encode($0[ti], length: c.window) }, labels: labels),
                table.rows.map { String($0[ti].prefix(40)) }, [:]
            )
        case .idx:
            guard let labels else { throw DataError("--labels is needed for IDX images") }
            let images = try ImageSet(idxImages: data, idxLabels: labels)
            guard images.width == p.inputSize else {
                throw DataError("\(data.path): images \(images.width) pixels wide; the model reads \(p.inputSize)")
            }
            return (images.rowSequences(), nil, (0..<images.count).map { "image \($0 + 1)" }, [:])
        }
    }

    /// The label column evaluate reads, or an error naming it and the columns there are.
    static func labelColumn(_ table: CSVTable, _ name: String, _ data: URL) throws -> Int {
        guard table.header.contains(name) else {
            throw DataError(
                "\(data.path): no column '\(BoundedText.quote(name))' (the run's --label-column) to evaluate against; "
                    + "columns: \(BoundedText.quote(table.header.joined(separator: ", "), limit: 200)). rnnlab predict "
                    + "classifies texts without labels")
        }
        return try table.column(name)
    }

    /// What evaluate measured: the loss (and accuracy for classifiers, the errors in the series' units for a
    /// forecaster) of one checkpoint on the new data.
    package struct Evaluation: Codable, Equatable, Sendable {
        package var cell: String, epoch: Int, samples: Int
        /// The training loss on the new data: MSE in normalised units, or cross-entropy in nats.
        package var loss: Double
        package var accuracy: Double?
        /// RMSE, MAE and MASE in the series' units (a CSV series run).
        package var forecastErrors: ForecastErrors?
        package var notes: [String]

        /// One line a person reads, then the notes.
        package var text: [String] {
            var line = "\(cell), epoch \(epoch): \(samples) samples: loss \(String(format: "%.4f", loss))"
            if let accuracy { line += String(format: ", accuracy %.1f%%", 100 * accuracy) }
            if let e = forecastErrors {
                line +=
                    " (MSE in normalised units); in the series' units RMSE \(fmt(e.rmse, 4)), MAE \(fmt(e.mae, 4))"
                    + (e.mase.map { ", MASE \(fmt($0, 3))" } ?? "")
                    + " (the naive forecast's MAE on the same windows: \(fmt(e.naiveMAE, 4)))"
            }
            return [line] + notes
        }
    }

    /// Mean loss (and accuracy for classifiers, forecast errors for a series) of the run's chosen checkpoint (the last
    /// by default) on the new data.
    package static func evaluate(
        run: URL, cell: CellKind?, epoch: EpochChoice = .last, data: URL, labels: URL?
    ) throws -> Evaluation {
        let trained = try TrainedRun(run, cell: cell, epoch: epoch)
        let d = try dataset(trained, data: data, labels: labels, needsTargets: true)
        let trainer = trained.recipe.trainer(for: trained.model, shuffleSeed: 0)
        let r = try d.dense.map { try trainer.evaluate($0) } ?? trainer.evaluate(d.tokens!)
        var evaluation = Evaluation(
            cell: trained.cell.displayName, epoch: trained.epoch, samples: d.dense?.count ?? d.tokens!.count,
            loss: r.loss, accuracy: trained.config.kind == .csv ? nil : r.accuracy, forecastErrors: nil,
            notes: unknownNote(d.unknown).map { [$0] } ?? [])
        if trained.config.kind == .csv {
            let (errors, note) = SeriesInference.errors(
                try SeriesInference.forecasts(trained, data: data, indexColumn: nil), trained)
            evaluation.forecastErrors = errors
            evaluation.notes += note.map { [$0] } ?? []
        }
        return evaluation
    }

    /// "12 characters the model never saw were left out: 'é' 9 times, '€' 3 times", or nil when there were none.
    static func unknownNote(_ unknown: [Character: Int]) -> String? {
        guard !unknown.isEmpty else { return nil }
        let total = unknown.values.reduce(0, +)
        let listed = unknown.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(8).map { character, count in
            let shown = character.unicodeScalars.map { $0.escaped(asASCII: false) }.joined()
            return "'\(shown)' \(count) time\(count == 1 ? "" : "s")"
        }
        return
            "\(total) character\(total == 1 ? "" : "s") the model never saw \(total == 1 ? "was" : "were") left out: "
            + listed.joined(separator: ", ") + (unknown.count > 8 ? ", ..." : "")
    }

    /// One prediction per sample: the forecast (in the data's units) or the most probable class with its
    /// probability, at full precision.
    package static func predict(
        run: URL, cell: CellKind?, epoch: EpochChoice = .last, data: URL, labels: URL?, indexColumn: String? = nil
    ) throws -> [Prediction] {
        let trained = try TrainedRun(run, cell: cell, epoch: epoch)
        guard trained.config.kind != .text else { throw DataError("use rnnlab generate for a text model") }
        if trained.config.kind == .csv {
            return try SeriesInference.forecasts(trained, data: data, indexColumn: indexColumn).map {
                Prediction(index: $0.index, actual: $0.actual, forecast: $0.forecast)
            }
        }
        guard indexColumn == nil else { throw DataError("--index-column applies to a CSV series run") }
        let d = try dataset(trained, data: data, labels: labels, needsTargets: false)
        let count = d.dense?.count ?? d.tokens!.count
        var predictions: [Prediction] = []
        for start in stride(from: 0, to: count, by: 256) {
            let idx = Array(start..<min(start + 256, count))
            let batch = d.dense?.batch(idx) ?? d.tokens!.batch(idx)
            let out = try trained.model.predict(batch.input)
            let k = out.shape[1]
            for (row, i) in idx.enumerated() {
                let v = Array(out.data[(row * k)..<((row + 1) * k)]).map(Double.init)
                let m = v.max()!, e = v.map { exp($0 - m) }, total = e.reduce(0, +)
                let best = e.indices.max { e[$0] < e[$1] }!
                let name = trained.preprocessing.classes?[best] ?? String(best)
                predictions.append(Prediction(sample: d.names[i], label: name, probability: e[best] / total))
            }
        }
        return predictions
    }
}

/// One sample's prediction: a forecast, or a class with its probability.
package struct Prediction: Codable, Equatable, Sendable {
    /// A classifier's sample: the start of its text, or "image N".
    package var sample: String? = nil
    /// A forecast's row ("row 53", as error messages count rows), or its value in the column `--index-column`
    /// names; "after row 120, the last" for the forecast past the data.
    package var index: String? = nil
    /// The value the forecast is of, where the data hold it (none after the last row).
    package var actual: Double? = nil
    package var forecast: Double? = nil
    package var label: String? = nil, probability: Double? = nil

    /// How `rnnlab predict` writes predictions, one record per sample whatever the sample's text holds.
    package enum Format: String, CaseIterable, Codable, Sendable {
        /// Tab-separated, one line per sample, rounded for reading (a forecast to 6 significant digits, a
        /// probability to 3 decimals); a tab, line break or backslash in a sample is written \t, \n, \r or \\.
        case text
        /// A header, then comma-separated fields, full precision; RFC 4180: a field holding a comma, a quote or a
        /// line break is quoted (its quotes doubled, its line breaks kept).
        case csv
        /// One JSON object per line, full precision.
        case jsonl
    }

    /// A sample on one tab-separated line: a tab, line break or backslash escaped as \t, \n, \r, \\ (the
    /// escapes of PostgreSQL's text format and of TSV readers), so splitting on tabs and unescaping gives it back.
    var tabSeparated: String {
        var out = ""
        for c in (sample ?? index ?? "").unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A CSV field (RFC 4180): quoted when it holds the delimiter, a quote or a line break.
    static func csvField(_ s: String) -> String {
        s.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// The predictions in `format`, one string per record (the CSV header first; a CSV record whose sample holds a
    /// line break spans lines, inside its quotes).
    package static func render(_ predictions: [Prediction], as format: Format) throws -> [String] {
        let forecasts = predictions.first?.forecast != nil
        switch format {
        case .text:
            return predictions.map { p in
                forecasts
                    ? "\(p.tabSeparated)\t\(p.actual.map { fmt($0, 6) } ?? "")\t\(fmt(p.forecast ?? .nan, 6))"
                    : "\(p.tabSeparated)\t\(p.label ?? "")\t\(String(format: "%.3f", p.probability ?? .nan))"
            }
        case .csv:
            let field = csvField
            return [forecasts ? "index,actual,forecast" : "sample,label,probability"]
                + predictions.map { p in
                    forecasts
                        ? "\(field(p.index ?? "")),\(p.actual.map { "\($0)" } ?? ""),\(p.forecast ?? .nan)"
                        : "\(field(p.sample ?? "")),\(field(p.label ?? "")),\(p.probability ?? .nan)"
                }
        case .jsonl:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try predictions.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        }
    }
}

extension Inference {
    /// Writes the run's model (a checkpoint of `cell`, the last by default) as ONNX with the standard recurrent
    /// operators.
    package static func exportONNX(run: URL, cell: CellKind?, epoch: EpochChoice = .last, to file: URL) throws {
        let trained = try TrainedRun(run, cell: cell, epoch: epoch)
        let bytes = try ONNXExport.serialize(
            trained.model, name: "rnnlab \(trained.cell.rawValue)", metadata: try onnxMetadata(trained))
        try AtomicFile.write(bytes, to: file)
    }

    /// What a user of the ONNX file needs besides it: the run's preprocessing (mean / std of a series,
    /// characters, words, classes) as JSON, the data kind, the window and the epoch exported.
    static func onnxMetadata(_ trained: TrainedRun) throws -> [String: String] {
        var p = trained.preprocessing
        p.order = nil; p.heldOut = nil; p.sha256 = nil  // the split and checksums describe the training run only
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [
            "rnnlab.preprocessing": String(decoding: try encoder.encode(p), as: UTF8.self),
            "rnnlab.kind": trained.config.kind.rawValue, "rnnlab.window": String(trained.config.window),
            "rnnlab.epoch": String(trained.epoch), "rnnlab.cell": trained.cell.rawValue
        ]
    }
}
