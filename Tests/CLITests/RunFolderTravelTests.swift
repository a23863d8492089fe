import Foundation
import Workbench
import XCTest
import TestSupport

/// A run folder is self-contained: trained from one directory with relative paths, it is repeated, evaluated,
/// predicted from, exported, sampled and continued in PyTorch from another directory, and still after the run and
/// its data have moved together.
extension CLITests {
    func testARunFolderWorksFromAnyDirectoryAndAfterMoving() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
            .standardizedFileURL
        let home = dir.appendingPathComponent("home"), elsewhere = dir.appendingPathComponent("elsewhere")
        for d in [home.appendingPathComponent("data"), elsewhere] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(
            at: root.appendingPathComponent("Tests/DatasetsTests/Fixtures/seattle-weather-tiny.csv"),
            to: home.appendingPathComponent("data/weather.csv"))
        let text = (0..<60).map { "line \($0): the quick brown fox jumps over the lazy dog.\n" }.joined()
        try text.write(to: home.appendingPathComponent("data/text.txt"), atomically: true, encoding: .utf8)
        let series = try rnnlab(
            [
                "train", "--kind", "csv", "--data", "data/weather.csv", "--column", "temp_max", "--window", "8",
                "--epochs", "2", "--hidden", "6", "--cells", "gru", "--out", "runs/series"
            ], in: home)
        XCTAssertEqual(series.status, 0, series.output)
        let chars = try rnnlab(
            [
                "train", "--kind", "text", "--data", "data/text.txt", "--window", "16", "--epochs", "1", "--hidden",
                "8", "--out", "runs/text"
            ], in: home)
        XCTAssertEqual(chars.status, 0, chars.output)
        let config = try String(contentsOf: home.appendingPathComponent("runs/series/config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"dataFromRun\" : \"..\\/..\\/data\\/weather.csv\""), config)

        /// Every command, from `elsewhere`, on the run folder under `base` (relative to `elsewhere`).
        func everyCommand(_ base: String) throws {
            let repeated = try rnnlab(
                ["train", "--config", "\(base)/runs/series/config.json", "--out", "\(base)/runs/series"], in: elsewhere)
            XCTAssertEqual(repeated.status, 0, repeated.output)
            let evaluated = try rnnlab(
                ["evaluate", "--checkpoint", "\(base)/runs/series", "--data", "\(base)/data/weather.csv"], in: elsewhere
            )
            XCTAssertEqual(evaluated.status, 0, evaluated.output)
            XCTAssertTrue(evaluated.output.contains("samples: loss"), evaluated.output)
            let predicted = try rnnlab(
                [
                    "predict", "--checkpoint", "\(base)/runs/series", "--data", "\(base)/data/weather.csv", "--format",
                    "csv"
                ], in: elsewhere)
            XCTAssertEqual(predicted.status, 0, predicted.output)
            let rows =
                try String(contentsOf: elsewhere.appendingPathComponent("\(base)/data/weather.csv"), encoding: .utf8)
                .split(separator: "\n").count - 1
            // One line per window of 8 values and its next value, the forecast after the last row, and the header.
            XCTAssertEqual(predicted.output.split(separator: "\n").count, rows - 8 + 2, predicted.output)
            let exported = try rnnlab(
                ["export", "--checkpoint", "\(base)/runs/series", "--onnx", "model.onnx"], in: elsewhere)
            XCTAssertEqual(exported.status, 0, exported.output)
            let sampled = try rnnlab(
                ["generate", "--checkpoint", "\(base)/runs/text", "--length", "40", "--prime", "line"], in: elsewhere)
            XCTAssertEqual(sampled.status, 0, sampled.output)
        }
        try everyCommand("../home")
        // The run and its data move together: the recorded absolute path is gone, the one relative to the run holds.
        let moved = dir.appendingPathComponent("moved")
        try FileManager.default.moveItem(at: home, to: moved)
        try everyCommand("../moved")

        let probe = try python(["-c", "import torch"])
        guard probe.status == 0 else { return }
        let script = root.appendingPathComponent("scripts/continue_in_pytorch.py").path
        let continued = try ChildProcess.python([script, "../moved/runs/series", "--epochs", "1"], directory: elsewhere)
        XCTAssertEqual(continued.status, 0, continued.output)
    }
}
