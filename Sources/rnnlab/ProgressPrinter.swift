import Foundation
import Workbench
import Recurrent

/// Prints epoch, losses, accuracy, time and ETA to standard error (and a batch counter within long epochs).
final class ProgressPrinter: TrainingCallback {
    let label: String
    var total = 0, batches = 0, started = Date(), lastBatchPrint = Date.distantPast
    var epochsDone = 0
    init(label: String) { self.label = label }

    func trainingWillStart(totalEpochs: Int, batchesPerEpoch: Int) {
        total = totalEpochs; batches = batchesPerEpoch; started = Date()
    }

    func batchDidEnd(epoch: Int, batch: Int, of total: Int, loss: Double, gradientNorm: Double) {
        guard Date().timeIntervalSince(lastBatchPrint) > 1, batch < total else { return }
        lastBatchPrint = Date()
        FileHandle.standardError.write(
            Data(String(format: "\r  %@ epoch %d batch %d/%d loss %.4f   ", label, epoch, batch, total, loss).utf8))
    }

    func epochDidEnd(_ r: EpochRecord) throws {
        epochsDone += 1
        let elapsed = Date().timeIntervalSince(started)
        let eta = elapsed / Double(epochsDone) * Double(max(total - r.epoch, 0))
        var line = String(format: "\r  %@ epoch %d/%d  train %.4f", label, r.epoch, total, r.trainLoss)
        if let v = r.validationLoss { line += String(format: "  val %.4f", v) }
        if let a = r.validationAccuracy ?? r.trainAccuracy { line += String(format: "  acc %.1f%%", 100 * a) }
        line += String(format: "  %.1fs  ETA %.0fs\n", r.seconds, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
