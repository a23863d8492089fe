import Foundation
import TensorCore
import Recurrent

/// Per-epoch checkpoints of a training run, in a folder:
///   epoch_NNN.safetensors            model weights under PyTorch state-dict names (load_state_dict-ready),
///                                    metadata: epoch, model description
///   epoch_NNN.optimizer.safetensors  optimizer moments ("exp_avg.rnn.weight_hh_l0", ...), metadata: step,
///                                    optimizer (JSON), history (JSON list of epoch records)
/// Both are written atomically, the optimizer file last, so an epoch counts as saved only when both exist.
public struct CheckpointStore {
    /// The folder holding epoch_NNN.safetensors and epoch_NNN.optimizer.safetensors.
    public let directory: URL
    /// A store in this folder.
    public init(directory: URL) { self.directory = directory }

    /// Where epoch `epoch`'s weights are.
    public func weightsURL(_ epoch: Int) -> URL {
        directory.appendingPathComponent(String(format: "epoch_%03d.safetensors", epoch))
    }
    func optimizerURL(_ epoch: Int) -> URL {
        directory.appendingPathComponent(String(format: "epoch_%03d.optimizer.safetensors", epoch))
    }

    /// Writes the weights, then the optimizer state and history, each atomically.
    public func save<T: Real>(
        epoch: Int, model: ParameterSet<T>, optimizer: Optimizer<T>, history: [EpochRecord], description: String
    ) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys  // the same state gives the same bytes
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try SafetensorsFile.write(
            model, metadata: ["epoch": String(epoch), "model": description, "format": "pt"], to: weightsURL(epoch))
        try SafetensorsFile.write(
            optimizer.state,
            metadata: [
                "step": String(optimizer.step),
                "optimizer": String(decoding: try enc.encode(optimizer.kind), as: UTF8.self),
                "history": String(decoding: try enc.encode(history), as: UTF8.self)
            ], to: optimizerURL(epoch))
    }

    /// The initial weights, as epoch 0 (no optimizer state yet), so the evolution of the weights can be
    /// rebuilt from the files alone.
    public func saveInitial<T: Real>(model: ParameterSet<T>, description: String) throws {
        try SafetensorsFile.write(
            model, metadata: ["epoch": "0", "model": description, "format": "pt"], to: weightsURL(0))
    }

    /// When the checkpoint of `epoch` was saved (ISO 8601, from the file's modification time).
    public func savedDate(epoch: Int) -> String? {
        guard
            let date = (try? FileManager.default.attributesOfItem(atPath: optimizerURL(epoch).path))?[.modificationDate]
                as? Date
        else { return nil }
        return ISO8601DateFormatter().string(from: date)
    }

    /// The weights saved for `epoch`.
    public func weights<T: Real>(epoch: Int, as type: T.Type = T.self) throws -> ParameterSet<T> {
        try SafetensorsFile(contentsOf: weightsURL(epoch)).parameterSet(as: T.self)
    }

    /// Epochs with both files present, ascending.
    public func savedEpochs() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("epoch_"), n.hasSuffix(".optimizer.safetensors") else { return nil }
            return Int(n.dropFirst(6).prefix(3))
        }.filter { FileManager.default.fileExists(atPath: weightsURL($0).path) }.sorted()
    }

    /// What a resume needs: the last complete epoch's weights, optimizer state and history.
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
    }

    /// The latest complete checkpoint, or nil when there is none.
    public func latest<T: Real>(as type: T.Type = T.self) throws -> Restored<T>? {
        guard let epoch = savedEpochs().last else { return nil }
        let w = try SafetensorsFile(contentsOf: weightsURL(epoch))
        let o = try SafetensorsFile(contentsOf: optimizerURL(epoch))
        guard let step = o.metadata["step"].flatMap(Int.init), let h = o.metadata["history"] else {
            throw FileFormatError("\(optimizerURL(epoch).path): missing step or history metadata")
        }
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let history = try dec.decode([EpochRecord].self, from: Data(h.utf8))
        // keep the file's tensor order as the model's names (sorted in the file)
        return Restored(
            epoch: epoch, weights: try w.parameterSet(as: T.self), optimizerState: try o.parameterSet(as: T.self),
            optimizerStep: step, history: history)
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
    /// Loads the latest checkpoint in `store` (weights, optimizer moments, history) when there is one, so
    /// `fit` continues with the next epoch. Returns the epoch resumed from.
    @discardableResult
    public func resume(from store: CheckpointStore) throws -> Int? {
        guard let r = try store.latest(as: T.self) else { return nil }
        try model.load(r.weights)
        try resume(history: r.history, optimizerState: r.optimizerState, optimizerStep: r.optimizerStep)
        return r.epoch
    }
}
