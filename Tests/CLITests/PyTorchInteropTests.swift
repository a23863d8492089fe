import Foundation
import Workbench
import XCTest
import TestSupport

/// A run of `rnnlab train` taken elsewhere: scripts/continue_in_pytorch.py rebuilds the data and the torch.nn
/// model, loads the checkpoint and gets rnnlab's validation loss back; it continues training alone and under
/// torchrun with two gloo processes (DistributedDataParallel); and its ONNX export (standard GRU operator) gives
/// torch's outputs in onnxruntime. Skipped where the Python ($RNNLAB_PYTHON, default python3) lacks torch,
/// onnx or onnxruntime.
extension CLITests {
    func python(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try ChildProcess.python(args, environment: environment)
    }

    /// The last epoch's validation loss in a run's results.json.
    func lastValidationLoss(_ run: URL) throws -> Double {
        let results = try JSONSerialization.jsonObject(
            with: Data(contentsOf: run.appendingPathComponent("results.json")))
        let models = try XCTUnwrap((results as? [String: Any])?["models"] as? [[String: Any]])
        let history = try XCTUnwrap(models.first?["history"] as? [[String: Any]])
        return try XCTUnwrap(history.last?["validationLoss"] as? Double)
    }

    /// The validation loss the script printed for the weights it loaded.
    func loaded(_ output: String) -> Double? {
        output.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["validation_loss_as_loaded"]
                as? Double
        }.first
    }

    func testContinueInPyTorchAndExportToONNX() throws {
        let probe = try python(["-c", "import torch, onnx, onnxruntime"])
        try XCTSkipUnless(probe.status == 0, "no torch / onnx / onnxruntime in this Python")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
            .standardizedFileURL
        let csv = root.appendingPathComponent("Tests/DatasetsTests/Fixtures/seattle-weather-tiny.csv").path
        let run = dir.appendingPathComponent("run").path
        let trained = try rnnlab([
            "train", "--kind", "csv", "--data", csv, "--column", "temp_max", "--window", "8", "--epochs", "2",
            "--hidden", "6", "--cells", "gru", "--out", run
        ])
        XCTAssertEqual(trained.status, 0, trained.output)
        let results =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: run).appendingPathComponent("results.json")))
            as! [String: Any]
        let history = ((results["models"] as! [[String: Any]])[0]["history"] as! [[String: Any]])
        let rnnlabLoss = history.last!["validationLoss"] as! Double
        let script = root.appendingPathComponent("scripts/continue_in_pytorch.py").path
        func lines(_ output: String) -> [[String: Any]] {
            output.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        // --epochs is the total, as in rnnlab: from the run's 2 to 3.
        let alone = try python([script, run, "--epochs", "3", "--onnx", dir.appendingPathComponent("m.onnx").path])
        XCTAssertEqual(alone.status, 0, alone.output)
        let out = lines(alone.output)
        let loaded = out.first { $0["validation_loss_as_loaded"] != nil }!["validation_loss_as_loaded"] as! Double
        XCTAssertEqual(loaded, rnnlabLoss, accuracy: 1e-5 * max(1, rnnlabLoss), "same data, model and weights")
        XCTAssertNotNil(out.first { $0["epoch"] as? Int == 3 && $0["train_loss"] != nil }, alone.output)
        let onnx = out.first { $0["onnx"] != nil }!
        XCTAssertTrue((onnx["operators"] as! [String]).contains("GRU"), "\(onnx)")
        XCTAssertLessThan(onnx["max_abs_difference_vs_torch"] as! Double, 1e-5)
        // The epoch PyTorch trained is back in rnnlab's layout: rnnlab evaluates it and its validation loss is the one
        // PyTorch printed.
        let third = try XCTUnwrap(out.first { $0["epoch"] as? Int == 3 })
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: run).appendingPathComponent("real/train/gru/epoch_003.safetensors").path))
        // Two processes on the gloo backend.
        let torchrun = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RNNLAB_PYTHON"] ?? "python3")
            .deletingLastPathComponent().appendingPathComponent("torchrun")
        let ddp = try python(
            ["-m", "torch.distributed.run", "--nproc_per_node", "2", script, run, "--epochs", "4"],
            environment: ["OMP_NUM_THREADS": "1", "PATH": torchrun.deletingLastPathComponent().path + ":/usr/bin:/bin"])
        XCTAssertEqual(ddp.status, 0, ddp.output)
        let distributed = try XCTUnwrap(lines(ddp.output).first { $0["processes"] as? Int == 2 }, ddp.output)
        // The printed loss is over both processes' samples (the whole training part), not rank 0's half.
        let single = try XCTUnwrap(out.first { $0["train_samples"] != nil })
        // (DistributedSampler pads an odd count with one repeated sample.)
        let both = try XCTUnwrap(distributed["train_samples"] as? Int),
            one = try XCTUnwrap(single["train_samples"] as? Int)
        XCTAssertTrue(both == one || both == one + 1, ddp.output)
        // rnnlab reads both continued epochs back: it extends the run from PyTorch's epoch 4 (optimizer state and
        // history included) to 5, and its report carries every epoch.
        let extended = try rnnlab([
            "train", "--config", URL(fileURLWithPath: run).appendingPathComponent("config.json").path, "--epochs", "5",
            "--out", run
        ])
        XCTAssertEqual(extended.status, 0, extended.output)
        XCTAssertTrue(extended.output.contains("extending the run from 2 to 5 epochs"), extended.output)
        let after =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: run).appendingPathComponent("results.json")))
            as! [String: Any]
        let records = ((after["models"] as! [[String: Any]])[0]["history"] as! [[String: Any]])
        XCTAssertEqual(records.map { $0["epoch"] as! Int }, [1, 2, 3, 4, 5])
        XCTAssertEqual(
            records[2]["validationLoss"] as! Double, third["validation_loss"] as! Double, accuracy: 1e-6,
            "epoch 3's record is PyTorch's")
        let report = try String(
            contentsOf: URL(fileURLWithPath: run).appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("GRU epochs 3, 4 by PyTorch"), "the report says which epochs PyTorch trained")
    }

    /// The script reads a series as rnnlab does: its delimiter and its missing values (here interpolated), and from
    /// another place (--data) once the run folder moved without its data, refusing other data by its SHA-256.
    func testContinueInPyTorchReadsTheSeriesAsRnnlabDoes() throws {
        let probe = try python(["-c", "import torch, numpy"])
        try XCTSkipUnless(probe.status == 0, "no torch / numpy in this Python")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/continue_in_pytorch.py").standardizedFileURL.path
        var lines = ["date;temp"]
        for i in 0..<120 {
            lines.append("d\(i);" + (i % 17 == 5 ? "" : String(format: "%.2f", 10 + 5 * sin(Double(i) / 6))))
        }
        let data = dir.appendingPathComponent("semicolon.csv")
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run")
        let trained = try rnnlab([
            "train", "--kind", "csv", "--data", data.path, "--column", "temp", "--delimiter", ";", "--missing",
            "interpolate", "--window", "8", "--epochs", "2", "--hidden", "6", "--cells", "gru", "--out", run.path
        ])
        XCTAssertEqual(trained.status, 0, trained.output)
        let rnnlabLoss = try lastValidationLoss(run)
        let read = try python([script, run.path])
        XCTAssertEqual(read.status, 0, read.output)
        XCTAssertEqual(try XCTUnwrap(loaded(read.output)), rnnlabLoss, accuracy: 1e-5 * max(1, rnnlabLoss))
        // The folder moved, its data elsewhere: --data finds them, and other data are refused.
        let moved = dir.appendingPathComponent("moved")
        try FileManager.default.moveItem(at: run, to: moved)
        let elsewhere = dir.appendingPathComponent("elsewhere.csv")
        try FileManager.default.moveItem(at: data, to: elsewhere)
        XCTAssertNotEqual(try python([script, moved.path]).status, 0, "its data are at none of its recorded places")
        let found = try python([script, moved.path, "--data", elsewhere.path])
        XCTAssertEqual(try XCTUnwrap(loaded(found.output)), rnnlabLoss, accuracy: 1e-5 * max(1, rnnlabLoss))
        try (lines.joined(separator: "\n") + "\nd120;11\n").write(to: elsewhere, atomically: true, encoding: .utf8)
        let other = try python([script, moved.path, "--data", elsewhere.path])
        XCTAssertTrue(other.output.contains("is not the one the run recorded"), other.output)
    }

    /// Labelled texts read as characters (--tokens chars): the script encodes them as rnnlab does and gets its
    /// validation loss back.
    func testContinueInPyTorchReadsCharacterTokens() throws {
        let probe = try python(["-c", "import torch, numpy"])
        try XCTSkipUnless(probe.status == 0, "no torch / numpy in this Python")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/continue_in_pytorch.py").standardizedFileURL.path
        var rows = ["code,language"]
        for i in 0..<24 {
            rows.append(i % 2 == 0 ? "\"let x\(i) = [\(i), 2];\",swift" : "\"x\(i) = {'a': \(i)}\",python")
        }
        let data = dir.appendingPathComponent("code.csv")
        try (rows.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("chars")
        let trained = try rnnlab([
            "train", "--kind", "labelled-csv", "--data", data.path, "--text-column", "code", "--label-column",
            "language", "--tokens", "chars", "--window", "12", "--epochs", "2", "--hidden", "6", "--out", run.path
        ])
        XCTAssertEqual(trained.status, 0, trained.output)
        let rnnlabLoss = try lastValidationLoss(run)
        let read = try python([script, run.path])
        XCTAssertEqual(read.status, 0, read.output)
        XCTAssertEqual(try XCTUnwrap(loaded(read.output), read.output), rnnlabLoss, accuracy: 1e-5 * max(1, rnnlabLoss))
    }
}
