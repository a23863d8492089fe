import Foundation
import TensorCore
import Recurrent
import Files

/// Per-epoch checkpoints of a training run, in a folder:
///   epoch_NNN.safetensors            model weights under PyTorch state-dict names (load_state_dict-ready),
///                                    metadata: epoch, model description, the run they belong to
///   epoch_NNN.optimizer.safetensors  optimizer moments ("exp_avg.rnn.weight_hh_l0", ...), metadata: step,
///                                    optimizer (JSON), history (JSON list of epoch records), run
///   checkpoints.json                 the ledger: each file's size and SHA-256, recorded after the file is complete
/// Each file is written atomically, the optimizer file after the weights and the ledger last, so an epoch counts
/// as saved only once the ledger lists both. Every read checks the file against the ledger (size first, so a file
/// padded to gigabytes is refused unread), and a resume against the run it is for (`run`: its seed and settings).
public struct CheckpointStore {
    /// The folder holding epoch_NNN.safetensors and epoch_NNN.optimizer.safetensors.
    public let directory: URL
    /// What this run's checkpoints must say they belong to (seed and settings, as the run words them); nil reads
    /// the checkpoints of whatever run made them (evaluate, predict, generate).
    public let run: String?
    /// A store in this folder.
    public init(directory: URL, run: String? = nil) { self.directory = directory; self.run = run }

    /// Where epoch `epoch`'s weights are.
    public func weightsURL(_ epoch: Int) -> URL {
        directory.appendingPathComponent(String(format: "epoch_%03d.safetensors", epoch))
    }
    func optimizerURL(_ epoch: Int) -> URL {
        directory.appendingPathComponent(String(format: "epoch_%03d.optimizer.safetensors", epoch))
    }
    var ledgerURL: URL { directory.appendingPathComponent(Ledger.fileName) }

    /// Writes the weights, then the optimizer state and history, then records both in the ledger.
    public func save<T: Real>(
        epoch: Int, model: ParameterSet<T>, optimizer: Optimizer<T>, history: [EpochRecord], description: String
    ) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys  // the same state gives the same bytes
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let weights = SafetensorsFile.encode(model, metadata: weightsMetadata(epoch, description))
        let moments = SafetensorsFile.encode(
            optimizer.state,
            metadata: [
                "step": String(optimizer.step),
                "optimizer": String(decoding: try enc.encode(optimizer.kind), as: UTF8.self),
                "history": String(decoding: try enc.encode(history), as: UTF8.self)
            ].merging(run.map { ["run": $0] } ?? [:]) { $1 })
        try AtomicFile.write(weights, to: weightsURL(epoch))
        try AtomicFile.write(moments, to: optimizerURL(epoch))
        try record([(weightsURL(epoch), weights), (optimizerURL(epoch), moments)])
    }

    /// The initial weights, as epoch 0 (no optimizer state yet), so the evolution of the weights can be
    /// rebuilt from the files alone.
    public func saveInitial<T: Real>(model: ParameterSet<T>, description: String) throws {
        let weights = SafetensorsFile.encode(model, metadata: weightsMetadata(0, description))
        try AtomicFile.write(weights, to: weightsURL(0))
        try record([(weightsURL(0), weights)])
    }

    func weightsMetadata(_ epoch: Int, _ description: String) -> [String: String] {
        ["epoch": String(epoch), "model": description, "format": "pt"].merging(run.map { ["run": $0] } ?? [:]) { $1 }
    }

    /// When the checkpoint of `epoch` was saved (ISO 8601, from the file's modification time).
    public func savedDate(epoch: Int) -> String? {
        guard
            let date = (try? FileManager.default.attributesOfItem(atPath: optimizerURL(epoch).path))?[.modificationDate]
                as? Date
        else { return nil }
        return ISO8601DateFormatter().string(from: date)
    }

    /// The weights saved for `epoch`, checked against the ledger.
    public func weights<T: Real>(epoch: Int, as type: T.Type = T.self) throws -> ParameterSet<T> {
        try verified(weightsURL(epoch), in: recordedLedger()).parameterSet(as: T.self)
    }

    /// Epochs the ledger lists with both files, ascending.
    public func savedEpochs() -> [Int] { savedEpochs(in: (try? readLedger()) ?? Ledger()) }

    func savedEpochs(in ledger: Ledger) -> [Int] {
        let files = ledger.files
        return files.keys.compactMap { n -> Int? in
            guard let (e, optimizer) = Self.epoch(ofFile: n), optimizer else { return nil }
            return files[weightsURL(e).lastPathComponent] == nil ? nil : e
        }.sorted()
    }

    /// The epoch of `epoch_N.safetensors` or `epoch_N.optimizer.safetensors` (any number of digits: epoch 1000 is
    /// not epoch 100), and whether it is the optimizer's file; nil for any other name.
    static func epoch(ofFile name: String) -> (Int, optimizer: Bool)? {
        guard name.hasPrefix("epoch_") else { return nil }
        let digits = name.dropFirst(6).prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9, let e = Int(digits) else { return nil }
        switch name.dropFirst(6 + digits.count) {
        case ".safetensors": return (e, false)
        case ".optimizer.safetensors": return (e, true)
        default: return nil
        }
    }

    /// What a resume needs: the newest intact epoch's weights, optimizer state and history.
    public struct Restored<T: Real> {
        /// The epoch restored.
        public var epoch: Int
        /// The model's weights after that epoch.
        public var weights: ParameterSet<T>
        /// The optimizer's moments.
        public var optimizerState: ParameterSet<T>
        /// The optimizer's update count.
        public var optimizerStep: Int
        /// Every epoch's record up to it.
        public var history: [EpochRecord]
        /// Newer epochs passed over, each with why ("epoch_004.safetensors does not match its SHA-256 ...").
        public var passedOver: [String]
    }

    /// The newest epoch whose files, and the weights of every epoch before it (the evolution a resume rebuilds),
    /// match the ledger; nil when no epoch was saved. Damaged newer epochs are passed over, and named in
    /// `passedOver`; when no epoch is intact, the error names each one's problem.
    public func latest<T: Real>(as type: T.Type = T.self) throws -> Restored<T>? {
        let ledger = try recordedLedger()
        var passedOver: [String] = []
        for epoch in savedEpochs(in: ledger).reversed() {
            do {
                var r: Restored<T> = try restore(epoch, ledger)
                r.passedOver = passedOver
                return r
            } catch let e as FileFormatError { passedOver.append(e.description) }
        }
        guard passedOver.isEmpty else {
            throw FileFormatError(
                "\(directory.path): no intact checkpoint to resume from (\(passedOver.joined(separator: "; "))); "
                    + "rerun with --fresh to move this run aside and start again")
        }
        return nil
    }

    func restore<T: Real>(_ epoch: Int, _ ledger: Ledger) throws -> Restored<T> {
        // The weights of every epoch before it too (epoch 0 where it was saved): a resume rebuilds their evolution.
        for e in 0..<epoch where e > 0 || ledger.files[weightsURL(0).lastPathComponent] != nil {
            _ = try verified(weightsURL(e), in: ledger)
        }
        let w = try verified(weightsURL(epoch), in: ledger), o = try verified(optimizerURL(epoch), in: ledger)
        guard let step = o.metadata["step"].flatMap(Int.init), let h = o.metadata["history"] else {
            throw FileFormatError("\(optimizerURL(epoch).path): missing step or history metadata")
        }
        guard step > 0 || (step == 0 && epoch == 0) else {
            throw FileFormatError(
                "\(optimizerURL(epoch).path): optimizer step \(step) is impossible after \(epoch) epoch(s) of training")
        }
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let history = try dec.decode([EpochRecord].self, from: Data(h.utf8))
        guard history.count == epoch else {
            throw FileFormatError(
                "\(optimizerURL(epoch).path): holds \(history.count) epoch records for epoch \(epoch)")
        }
        let weights: ParameterSet<T> = try w.parameterSet(as: T.self)
        for (name, t) in zip(weights.names, weights.tensors) where !t.data.allSatisfy(\.isFinite) {
            throw FileFormatError("\(weightsURL(epoch).path): weight '\(name)' holds a non-finite value")
        }
        // A moment that is no longer a number would make every weight NaN at the first update after the resume.
        let moments: ParameterSet<T> = try o.parameterSet(as: T.self)
        for (name, t) in zip(moments.names, moments.tensors) where !t.data.allSatisfy(\.isFinite) {
            throw FileFormatError("\(optimizerURL(epoch).path): optimizer moment '\(name)' holds a non-finite value")
        }
        return Restored(
            epoch: epoch, weights: weights, optimizerState: moments, optimizerStep: step, history: history,
            passedOver: [])
    }

    /// Drops the ledger's entries (and the files) of the epochs after `epoch`, so a resume from `epoch` never
    /// meets them again mixed with the epochs it writes anew.
    public func forget(after epoch: Int) throws {
        var ledger = try readLedger() ?? Ledger()
        for e in savedEpochs() where e > epoch {
            for url in [weightsURL(e), optimizerURL(e)] {
                ledger.files[url.lastPathComponent] = nil
                try? FileManager.default.removeItem(at: url)
            }
        }
        try AtomicFile.write(try ledger.encoded(), to: ledgerURL)
    }

    // MARK: the ledger

    /// checkpoints.json: each file's size and SHA-256, so damage between writing and reading is caught.
    struct Ledger: Codable {
        static let fileName = "checkpoints.json"
        struct Entry: Codable, Equatable { var bytes: Int; var sha256: String }
        var format = 1
        var files: [String: Entry] = [:]
        func encoded() throws -> Data {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            return try enc.encode(self)
        }
    }

    func readLedger() throws -> Ledger? {
        guard FileManager.default.fileExists(atPath: ledgerURL.path) else { return nil }
        let ledger: Ledger
        do {
            ledger = try JSONDecoder().decode(Ledger.self, from: InputFile.contents(of: ledgerURL, limit: 1 << 26))
        } catch {
            throw FileFormatError("\(ledgerURL.path): not a checkpoint ledger (\(error))")
        }
        // Every checkpoint name it lists is one rnnlab writes ("epoch_-01.safetensors" is not).
        let odd = ledger.files.keys.sorted().first { $0.hasPrefix("epoch_") && Self.epoch(ofFile: $0) == nil }
        if let odd {
            throw FileFormatError(
                "\(ledgerURL.path) lists '\(BoundedText.quote(odd))', not a checkpoint name rnnlab writes: edited or "
                    + "damaged")
        }
        return ledger
    }

    func record(_ written: [(URL, Data)]) throws {
        var ledger = try readLedger() ?? Ledger()
        for (url, bytes) in written {
            ledger.files[url.lastPathComponent] = .init(bytes: bytes.count, sha256: Checksum.sha256(bytes))
        }
        try AtomicFile.write(try ledger.encoded(), to: ledgerURL)
    }

    /// The ledger, empty where none was written yet. A checkpoint file the ledger does not list counts as absent
    /// and is written again: a run killed after writing epoch 0 but before recording it resumes from the start.
    func recordedLedger() throws -> Ledger { try readLedger() ?? Ledger() }

    /// The file, read only when its size matches the ledger and used only when its SHA-256 does too, and made by
    /// this store's run when the store names one.
    func verified(_ url: URL, in ledger: Ledger) throws -> SafetensorsFile {
        guard let entry = ledger.files[url.lastPathComponent] else {
            throw FileFormatError(
                "\(url.path) is not in \(Ledger.fileName): the run stopped before recording it, or it was copied in")
        }
        let file = try InputFile(url)
        guard file.size == entry.bytes else {
            throw FileFormatError(
                "\(url.path) is \(file.size) bytes, not the \(entry.bytes) recorded when it was written: "
                    + "damaged or edited"
            )
        }
        let bytes = try file.readAll()
        guard Checksum.sha256(bytes) == entry.sha256 else {
            throw FileFormatError(
                "\(url.path) does not match the SHA-256 recorded when it was written: damaged or edited")
        }
        let parsed = try SafetensorsFile(bytes: bytes, source: url.path)
        if let run, let theirs = parsed.metadata["run"], theirs != run {
            throw FileFormatError("\(url.path) belongs to another run (\(theirs)), not this one (\(run))")
        }
        return parsed
    }
}

/// Saves a checkpoint after every epoch of a trainer.
public final class CheckpointCallback<T: Real>: TrainingCallback {
    let store: CheckpointStore
    weak var trainer: Trainer<T>?
    let description: String
    /// Saves `trainer`'s model and optimizer into `store` after every epoch.
    public init(store: CheckpointStore, trainer: Trainer<T>, description: String) {
        self.store = store; self.trainer = trainer; self.description = description
    }
    /// Writes the epoch's checkpoint.
    public func epochDidEnd(_ record: EpochRecord) throws {
        guard let t = trainer else { return }
        try store.save(
            epoch: record.epoch, model: t.model.parameters, optimizer: t.optimizer, history: t.history,
            description: description)
    }
}

extension Trainer {
    /// Loads the newest intact checkpoint in `store` (weights, optimizer moments, history) when there is one, so
    /// `fit` continues with the next epoch, and forgets the damaged epochs after it. Returns what was restored.
    @discardableResult
    public func resume(from store: CheckpointStore) throws -> CheckpointStore.Restored<T>? {
        guard let r = try store.latest(as: T.self) else { return nil }
        try resume(r, in: store)
        return r
    }

    /// Continues from `restored`, read from `store`.
    public func resume(_ restored: CheckpointStore.Restored<T>, in store: CheckpointStore) throws {
        try model.load(restored.weights)
        try resume(
            history: restored.history, optimizerState: restored.optimizerState, optimizerStep: restored.optimizerStep)
        if !restored.passedOver.isEmpty { try store.forget(after: restored.epoch) }
    }
}
