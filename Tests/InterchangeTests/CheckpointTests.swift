import Foundation
import XCTest
import TestSupport
import TensorCore
import Recurrent
import SequenceData
@testable import Interchange
import Files

final class CheckpointTests: XCTestCase {
    var dir: URL!
    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ck-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func makeTrainer(epochs: Int) -> (Trainer<Float>, TensorSequenceDataset<Float>) {
        var rng = SeededRandom(seed: 4)
        let x = Tensor<Float>.uniform([40, 6, 2], -1, 1, rng: &rng)
        let labels = (0..<40).map { i in x.data[i * 12] > 0 ? 1 : 0 }
        let model = SequenceModel<Float>(
            embedding: nil,
            rnn: RecurrentNetwork(config: RecurrentConfig(cell: .gru, inputSize: 2, hiddenSize: 5), rng: &rng),
            head: Linear(inputSize: 5, outputSize: 2, rng: &rng), headMode: .lastStep, objective: .crossEntropy)
        return (
            Trainer(
                model: model, optimizer: .adam(lr: 0.01),
                options: TrainingOptions(epochs: epochs, batchSize: 8, shuffleSeed: 1)),
            TensorSequenceDataset(inputs: x, targets: .classes(labels))
        )
    }

    /// Interrupt after 3 of 6 epochs, resume from the files on disk: the result equals an uninterrupted run.
    func testEveryEpochSavedAndResumeIsExact() throws {
        let (full, data) = makeTrainer(epochs: 6)
        _ = try full.fit(train: data, validation: data)

        let store = CheckpointStore(directory: dir)
        let (first, _) = makeTrainer(epochs: 3)
        first.callbacks = [CheckpointCallback(store: store, trainer: first, description: "GRU test")]
        _ = try first.fit(train: data, validation: data)
        XCTAssertEqual(store.savedEpochs(), [1, 2, 3])
        let w = try SafetensorsFile(contentsOf: dir.appendingPathComponent("epoch_002.safetensors"))
        XCTAssertEqual(w.metadata["epoch"], "2")
        XCTAssertTrue(w.names.contains("rnn.weight_hh_l0") && w.names.contains("fc.bias"))

        let (second, _) = makeTrainer(epochs: 6)
        XCTAssertEqual(try second.resume(from: store)?.epoch, 3)
        second.callbacks = [CheckpointCallback(store: store, trainer: second, description: "GRU test")]
        let h = try second.fit(train: data, validation: data)
        XCTAssertEqual(h.map(\.epoch), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(second.model.parameters.tensors, full.model.parameters.tensors)
        XCTAssertEqual(store.savedEpochs(), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(h.last!.parameterGradientNorms.count, 6)
    }

    /// A batch whose loss is NaN (here: a NaN input in the 2nd batch of epoch 3) stops training with the
    /// epoch and batch named; the checkpoints of the good epochs stay and nothing is saved for the bad one.
    func testNaNLossStopsWithTheBatchNamedAndKeepsTheLastGoodCheckpoint() throws {
        struct PoisonedAfter: SequenceDataset {
            let base: TensorSequenceDataset<Float>
            let poisonAtCall: Int
            final class Counter { var calls = 0 }
            let counter = Counter()
            var count: Int { base.count }
            func batch(_ indices: [Int]) -> SequenceBatch<Float> {
                counter.calls += 1
                var b = base.batch(indices)
                if counter.calls == poisonAtCall, case .dense(var x) = b.input { x.data[0] = .nan; b.input = .dense(x) }
                return b
            }
        }
        let store = CheckpointStore(directory: dir)
        let (t, data) = makeTrainer(epochs: 5)
        t.callbacks = [CheckpointCallback(store: store, trainer: t, description: "x")]
        // 5 training batches per epoch, no validation: the 12th batch is epoch 3, batch 2.
        XCTAssertThrowsError(try t.fit(train: PoisonedAfter(base: data, poisonAtCall: 12), validation: nil)) { error in
            XCTAssertTrue(error is TrainingError)
            XCTAssertTrue("\(error)".contains("loss became nan at epoch 3, batch 2"), "\(error)")
            XCTAssertTrue("\(error)".contains("checkpoints of earlier epochs are kept"), "\(error)")
        }
        XCTAssertEqual(store.savedEpochs(), [1, 2])
        XCTAssertEqual(try store.latest(as: Float.self)?.history.count, 2)
        XCTAssertTrue(try store.weights(epoch: 2, as: Float.self).tensors.allSatisfy { $0.data.allSatisfy(\.isFinite) })
    }

    /// An optimizer moment that is no longer a number, though the ledger records its file (saved so, or rewritten with
    /// the ledger), is named and passed over: a resume from it would make every weight NaN at the first update and
    /// then blame the learning rate.
    func testANonFiniteOptimizerMomentIsPassedOver() throws {
        let store = CheckpointStore(directory: dir)
        let (t, data) = makeTrainer(epochs: 2)
        t.callbacks = [CheckpointCallback(store: store, trainer: t, description: "x")]
        _ = try t.fit(train: data, validation: nil)
        t.optimizer.state.tensors[1].data[3] = .infinity
        try store.save(
            epoch: 2, model: t.model.parameters, optimizer: t.optimizer, history: t.history, description: "x")
        let restored = try XCTUnwrap(try store.latest(as: Float.self))
        XCTAssertEqual(restored.epoch, 1)
        XCTAssertEqual(restored.passedOver.count, 1)
        XCTAssertTrue(restored.passedOver[0].contains("epoch_002.optimizer.safetensors: optimizer moment '"))
        XCTAssertTrue(restored.passedOver[0].hasSuffix("holds a non-finite value"), restored.passedOver[0])
    }

    /// A gradient that overflows while the loss is still a number (inputs of 3e38 through a ReLU RNN with small input
    /// weights and a large head) stops training naming the gradient, not the loss: before, the update made every
    /// weight NaN and the next batch's loss was blamed on the learning rate.
    func testAnOverflowingGradientIsNamedApartFromTheLoss() throws {
        var rng = SeededRandom(seed: 4)
        var x = Tensor<Float>.uniform([256, 3, 2], 0, 1, rng: &rng)
        for i in x.data.indices { x.data[i] *= 3e38 }
        var head = Linear<Float>(inputSize: 4, outputSize: 2, rng: &rng)
        for i in head.parameters.tensors[0].data.indices { head.parameters.tensors[0].data[i] *= 100 }
        let rnn = RecurrentNetwork<Float>(
            config: RecurrentConfig(cell: .rnn, inputSize: 2, hiddenSize: 4, nonlinearity: .relu), rng: &rng)
        // Small input weights keep the states, logits and loss finite; the gradient of those weights is the
        // input's size times the head's.
        var small = rnn.parameters["weight_ih_l0"]!
        for i in small.data.indices { small.data[i] *= 1e-6 }
        rnn.parameters["weight_ih_l0"] = small
        let model = SequenceModel<Float>(
            embedding: nil, rnn: rnn, head: head, headMode: .lastStep, objective: .crossEntropy)
        let t = Trainer(
            model: model, optimizer: .sgd(lr: 0.01), options: TrainingOptions(epochs: 1, batchSize: 256, shuffleSeed: 1)
        )
        let data = TensorSequenceDataset(inputs: x, targets: .classes((0..<256).map { $0 % 2 }))
        XCTAssertThrowsError(try t.fit(train: data, validation: nil)) { error in
            XCTAssertTrue("\(error)".contains("the gradient norm became"), "\(error)")
            XCTAssertTrue("\(error)".contains("at epoch 1, batch 1, with the loss still finite"), "\(error)")
        }
    }

    func testHalfWrittenEpochIsIgnored() throws {
        let store = CheckpointStore(directory: dir)
        let (t, data) = makeTrainer(epochs: 2)
        t.callbacks = [CheckpointCallback(store: store, trainer: t, description: "x")]
        _ = try t.fit(train: data, validation: nil)
        // As if the run died after writing epoch 2's optimizer file, before the ledger recorded it.
        var ledger = try store.readLedger()!
        ledger.files[store.optimizerURL(2).lastPathComponent] = nil
        try ledger.encoded().write(to: store.ledgerURL)
        XCTAssertEqual(store.savedEpochs(), [1])
        XCTAssertEqual(try store.latest(as: Float.self)?.epoch, 1)
    }

    /// Three epochs saved by a run that names itself; returns the store and the data.
    func savedRun(epochs: Int = 3) throws -> (CheckpointStore, TensorSequenceDataset<Float>) {
        let store = CheckpointStore(directory: dir, run: "seed 4; GRU test")
        let (t, data) = makeTrainer(epochs: epochs)
        try store.saveInitial(model: t.model.parameters, description: "GRU test")
        t.callbacks = [CheckpointCallback(store: store, trainer: t, description: "GRU test")]
        _ = try t.fit(train: data, validation: nil)
        return (store, data)
    }

    func flipByte(_ url: URL, at offset: Int) throws {
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - offset] ^= 0x01
        try bytes.write(to: url)
    }

    /// One byte changed in the newest weights: the resume passes over that epoch, names why, goes on from the one
    /// before, and forgets the damaged epoch so it is written anew.
    func testOneChangedByteInTheNewestEpochFallsBackToTheIntactOne() throws {
        let (store, _) = try savedRun()
        try flipByte(store.weightsURL(3), at: 5)
        let (t, _) = makeTrainer(epochs: 3)
        let restored = try XCTUnwrap(try t.resume(from: store))
        XCTAssertEqual(restored.epoch, 2)
        XCTAssertEqual(restored.passedOver.count, 1)
        XCTAssertTrue(
            restored.passedOver[0].contains("epoch_003.safetensors does not match the SHA-256"), "\(restored)")
        XCTAssertEqual(store.savedEpochs(), [1, 2])
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.weightsURL(3).path))
    }

    /// A changed byte in an earlier epoch breaks every epoch after it (the evolution a resume rebuilds): with no
    /// intact epoch left the resume is refused, naming the damaged file.
    func testADamagedEarlierEpochIsNotResumedPast() throws {
        let (store, _) = try savedRun()
        try flipByte(store.weightsURL(1), at: 9)
        XCTAssertThrowsError(try store.latest(as: Float.self)) {
            XCTAssertTrue("\($0)".contains("no intact checkpoint to resume from"), "\($0)")
            XCTAssertTrue("\($0)".contains("epoch_001.safetensors does not match the SHA-256"), "\($0)")
        }
    }

    func testPaddedOtherRunsAndImpossibleCheckpointsAreRefused() throws {
        let (store, _) = try savedRun(epochs: 1)
        let weights = store.weightsURL(1), original = try Data(contentsOf: weights)
        func refusal() -> String {
            do { _ = try store.weights(epoch: 1, as: Float.self) } catch { return "\(error)" }
            return "accepted"
        }
        // Padded: refused by its size, unread.
        try (original + Data(count: 1 << 20)).write(to: weights)
        XCTAssertTrue(refusal().contains("not the \(original.count) recorded"), refusal())
        try original.write(to: weights)
        XCTAssertEqual(refusal(), "accepted")
        // The same files read by a run with another seed.
        let other = CheckpointStore(directory: dir, run: "seed 5; GRU test")
        XCTAssertThrowsError(try other.weights(epoch: 1, as: Float.self)) {
            XCTAssertTrue("\($0)".contains("belongs to another run (seed 4; GRU test), not this one (seed 5"), "\($0)")
        }
        // No ledger (killed before the first was recorded): nothing vouches for the files, which count as absent.
        try FileManager.default.removeItem(at: store.ledgerURL)
        XCTAssertNil(try store.latest(as: Float.self))
        XCTAssertEqual(store.savedEpochs(), [])
    }

    /// Epoch numbers past 999 are read whole (epoch 1000 is not epoch 100), and a ledger key rnnlab never writes
    /// is refused by name instead of trapping.
    func testEpochsPast999AndOddLedgerKeys() throws {
        XCTAssertEqual(CheckpointStore.epoch(ofFile: "epoch_1002.optimizer.safetensors")?.0, 1002)
        XCTAssertEqual(CheckpointStore.epoch(ofFile: "epoch_007.safetensors")?.0, 7)
        XCTAssertNil(CheckpointStore.epoch(ofFile: "epoch_-01.safetensors"))
        let (store, _) = try savedRun(epochs: 2)
        var ledger = try XCTUnwrap(try store.readLedger())
        for (from, to) in [(1, 1002), (2, 1000)] {
            for name in [store.weightsURL(from), store.optimizerURL(from)] {
                let target = name.lastPathComponent.replacingOccurrences(
                    of: String(format: "%03d", from), with: String(to))
                try FileManager.default.moveItem(at: name, to: dir.appendingPathComponent(target))
                ledger.files[target] = ledger.files.removeValue(forKey: name.lastPathComponent)
            }
        }
        try AtomicFile.write(try ledger.encoded(), to: store.ledgerURL)
        XCTAssertEqual(store.savedEpochs().suffix(2), [1000, 1002])
        ledger.files["epoch_-01.safetensors"] = ledger.files["epoch_1002.safetensors"]
        try AtomicFile.write(try ledger.encoded(), to: store.ledgerURL)
        XCTAssertThrowsError(try store.latest(as: Float.self)) {
            XCTAssertTrue(
                "\($0)".contains("lists 'epoch_-01.safetensors', not a checkpoint name rnnlab writes"), "\($0)")
        }
    }

    /// An optimizer step no training gives (re-recorded in the ledger, so only the step is wrong) is named.
    func testImpossibleOptimizerStepIsNamed() throws {
        let (store, _) = try savedRun(epochs: 1)
        let url = store.optimizerURL(1)
        let file = try SafetensorsFile(contentsOf: url)
        var meta = file.metadata
        meta["step"] = "-1"
        let bytes = SafetensorsFile.encode(try file.parameterSet(as: Float.self), metadata: meta)
        try bytes.write(to: url)
        try store.record([(url, bytes)])
        XCTAssertThrowsError(try store.latest(as: Float.self)) {
            XCTAssertTrue("\($0)".contains("optimizer step -1 is impossible after 1 epoch(s)"), "\($0)")
        }
    }
}

final class TensorBoardTests: XCTestCase {
    /// Reads the records back: framing, masked CRC-32C of length and data, and the first event's version.
    func testRecordsAreFramedWithValidChecksums() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = try TensorBoardWriter(directory: dir, wallTime: 1000)
        try w.scalar("loss/train", 0.5, step: 1)
        try w.histogram("rnn.weight_hh_l0", [0.1, -0.2, 0.3, 0.05], step: 1, bins: 4)
        try w.flush()
        let d = try Data(contentsOf: w.url)
        var o = 0, records: [Data] = []
        while o < d.count {
            let lenBytes = d.subdata(in: o..<(o + 8))
            let len = Int(lenBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
            let lenCRC = d.subdata(in: (o + 8)..<(o + 12)).withUnsafeBytes {
                UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))
            }
            XCTAssertEqual(lenCRC, CRC32C.masked(lenBytes))
            let rec = d.subdata(in: (o + 12)..<(o + 12 + len))
            let crc = d.subdata(in: (o + 12 + len)..<(o + 16 + len)).withUnsafeBytes {
                UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))
            }
            XCTAssertEqual(crc, CRC32C.masked(rec))
            records.append(rec); o += 16 + len
        }
        XCTAssertEqual(records.count, 3)
        XCTAssertTrue(String(decoding: records[0], as: UTF8.self).contains("brain.Event:2"))
        XCTAssertEqual(CRC32C.checksum(Data("123456789".utf8)), 0xE306_9283)  // the CRC-32C check value
    }

    /// TensorBoard's own reader (skipped when the tensorboard package is not installed).
    func testTensorBoardReadsTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = try TensorBoardWriter(directory: dir)
        for step in 1...3 {
            try w.scalar("loss/train", 1.0 / Double(step), step: step)
            try w.histogram("weights", (0..<100).map { Double($0) / 100 * Double(step) }, step: step, bins: 10)
        }
        try w.flush()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "scripts/read_tensorboard.py")
        // TensorBoard's own reader, from the system Python (where tensorboard is installed).
        let (status, output) = try ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, w.url.path], discardErrors: true)
        if status == 3 { throw XCTSkip("tensorboard is not installed (pip install tensorboard)") }
        XCTAssertEqual(status, 0)
        let json = try JSONSerialization.jsonObject(with: output) as! [String: [String: [[Any]]]]
        let loss = json["scalars"]!["loss/train"]!
        XCTAssertEqual(loss.map { $0[0] as! Int }, [1, 2, 3])
        XCTAssertEqual(loss[1][1] as! Double, 0.5, accuracy: 1e-6)
        let h = json["histograms"]!["weights"]!
        XCTAssertEqual(h.count, 3)
        XCTAssertEqual(h[2][1] as! Double, 100)  // num
        XCTAssertEqual(h[2][3] as! Double, 2.97, accuracy: 1e-9)  // max
        XCTAssertEqual((h[0][4] as! [Double]).reduce(0, +), 100)  // bucket counts
    }
}
