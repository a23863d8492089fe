import Foundation
import Workbench
import XCTest
import TestSupport
import Interchange
import Recurrent
import Vision
import Experiments

/// `rnnlab` run as a user runs it: the binary SwiftPM built beside this test bundle, in a child process.
final class CLITests: XCTestCase {
    /// .build/<triple>/<configuration>/rnnlab, next to the test bundle.
    static let binary: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("rnnlab")
    }()

    struct Result { var status: Int32; var output: String }

    /// Runs rnnlab to the end (in `directory`, default this process's); standard output and error together.
    func rnnlab(_ args: [String], in directory: URL? = nil) throws -> Result {
        let p = try ChildProcess.start(Self.binary, args, directory: directory)
        let out = p.pipe.fileHandleForReading.readDataToEndOfFile()
        p.process.waitUntilExit()
        return Result(status: p.process.terminationStatus, output: String(decoding: out, as: UTF8.self))
    }

    func start(_ args: [String]) throws -> (process: Process, pipe: Pipe) { try ChildProcess.start(Self.binary, args) }

    var dir: URL!
    override func setUpWithError() throws {
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: Self.binary.path), "rnnlab is not built beside the tests")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// Every numeric option of train states its default in --help, from the same settings the code uses, once.
    func testTrainHelpShowsEveryDefault() throws {
        let help = try rnnlab(["train", "--help"]).output.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        let d = UserTraining.Config(kind: .text, data: "")
        for expected in [
            "Hidden units per layer (default \(d.hidden))", "Epochs (default \(d.epochs))",
            "Sequences per batch (default \(d.batch))", "Learning rate (default \(d.learningRate))",
            "(default \(d.window))", "(default \(d.seed))", "Stacked recurrent layers (default \(d.layers))"
        ] {
            XCTAssertTrue(help.contains(expected), expected)
        }
        XCTAssertFalse(help.contains("(default: all cores). (default:"), "the threads default said once")
    }

    func testEveryBadOptionGetsOneLineErrorAndNoTrap() throws {
        let cases: [([String], String)] = [
            (["all", "--seeds", "0"], "--seeds must be at least 1 (got 0)"),
            (["real", "--pixel-seeds", "0"], "--pixel-seeds must be at least 1 (got 0)"),
            (["bench", "--iterations", "0"], "--iterations must be at least 1 (got 0)"),
            (["bench", "--layers", "0"], "--layers must be at least 1 (got 0)"),
            (["bench", "--hidden=-5"], "--hidden must be at least 1 (got -5)"),
            (["bench", "--hidden", "0"], "--hidden must be at least 1 (got 0)"),
            (["bench", "--batch", "0"], "--batch must be at least 1"),
            (["bench", "--seq=-1"], "--seq must be at least 1"),
            (["bench", "--threads", "0"], "--threads must be at least 1"),
            (["bench", "--cell", "transformer"], "transformer"),
            (["real", "--pixel-train=-1"], "--pixel-train must be at least 1 (got -1)"),
            (["real", "--mnist-epochs", "0"], "--mnist-epochs must be at least 1"),
            (["real", "--forecast-epochs", "0"], "--forecast-epochs must be at least 1"),
            (["real", "--fashion-epochs=-2"], "--fashion-epochs must be at least 0"),
            (["real", "--pixel-lr", "nan"], "--pixel-lr must be a positive number"),
            (["real", "--pixel-lr=-0.1"], "--pixel-lr must be a positive number"),
            (["real", "--tasks", "foo"], "unknown task 'foo'; known tasks: mnist_rows, mnist_pixels"),
            (["real", "--tasks", ","], "it names no task"),
            (["toy", "--threads", "0"], "--threads must be at least 1"),
            (["all", "--seed=-1"], "seed"),
            (["fusion", "--embeddings", "glove"], "The value 'glove' is invalid for '--embeddings <embeddings>'"),
            (["classify"], "Missing expected argument"),
            (["classify", "--backbone", "vgg", "x.png"], "The value 'vgg' is invalid for '--backbone <backbone>'"),
            (["fusion", "--vqa", "v"], "--vqa needs --images"),
            (["fusion", "--images", "i"], "--images and --vqa-images need --vqa"),
            (["fusion", "--vqa", "v", "--images", "i", "--vqa-images", "0"], "--vqa-images must be at least 1"),
            (["toy", "--char-epochs", "0"], "--char-epochs must be at least 1"),
            (["toy", "--prime", ""], "--prime must not be empty"),
            (["train"], "give --kind and --data, or --config FILE"),
            (["train", "--kind", "csv", "--data", "x.csv"], "--kind csv needs --column"),
            (["train", "--kind", "text", "--data", "x.txt", "--hidden", "0"], "--hidden must be at least 1 (got 0)"),
            (["train", "--kind", "text", "--data", "x.txt", "--cells", "lstm,tcn"], "--cells: unknown"),
            (["train", "--kind", "image", "--data", "x"], "The value 'image' is invalid for '--kind <kind>'"),
            (["train", "--config", "/nonexistent/config.json"], "not a config.json written by rnnlab train"),
            (["generate", "--checkpoint", "x", "--temperature", "0"], "--temperature must be a positive number"),
            (["generate", "--checkpoint", "x", "--length", "\(Int.max)"], "--length must be at most 1000000"),
            // Sizes one typo too large end in a message, not an overflow trap or a failed allocation.
            (["bench", "--hidden", "5000000"], "needs about 2 PB of memory"),
            (["bench", "--layers", "\(Int.max)"], "of memory; this machine has"),
            (["bench", "--batch", "100000000", "--seq", "1000000000"], "of memory; this machine has"),
            (["train", "--kind", "text", "--data", "x.txt", "--hidden", "\(Int.max)"], "of memory; this machine has"),
            (["train", "--kind", "text", "--data", "x.txt", "--window", "\(Int.max)"], "of memory; this machine has"),
            (["compare", "a"], "at least two run folders"),
            (["all", "--slurm-args=--partition=cpu"], "--slurm-args needs --slurm"),
            (["toy", "--merge", "--slurm"], "--merge runs after the shards, not with --slurm"),
            (["shard", "/nonexistent-run", "toy/sine-seed1"], "holds no manifest.json: submit the study first"),
            (["shard", "/nonexistent-run", "toy/sine-seed1", "--threads", "0"], "--threads must be at least 1")
        ]
        for (args, expected) in cases {
            let r = try rnnlab(
                args
                    + ["--out", dir.appendingPathComponent("never").path].filter { _ in
                        !["bench", "classify", "generate", "compare", "shard"].contains(args[0])
                    })
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.output.contains("Error:"), "\(args): \(r.output)")
            XCTAssertTrue(r.output.contains(expected), "\(args): \(r.output)")
            XCTAssertFalse(
                r.output.contains("Fatal error") || r.output.contains("Illegal instruction")
                    || r.output.contains("backtrace"), "\(args): \(r.output)")
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path),
            "a refused run writes nothing")
    }

    /// A synthetic daily temperature series in vega_datasets' seattle-weather.csv layout.
    func writeTemperatures(_ days: Int) throws -> URL {
        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var csv = "date,precipitation,temp_max,temp_min,wind,weather\n"
        for d in 0..<days {
            let t = 14 + 9 * sin(Double(d) * 2 * .pi / 365) + 3 * sin(Double(d * d % 97))
            csv += "2012-01-01,0.0,\(String(format: "%.1f", t)),5.0,3.0,sun\n"
        }
        // Atomically: a test writes it again for a second run while a first run may be reading it.
        try Data(csv.utf8).write(to: data.appendingPathComponent("seattle-weather.csv"), options: .atomic)
        return data
    }

    /// kill -9 in the middle of training, then the same command again: it resumes from the last checkpoint
    /// and ends bit-identical to a run that was never interrupted.
    func testKillNineMidEpochThenRerunEndsBitIdentical() throws {
        let data = try writeTemperatures(700)
        func args(_ out: String) -> [String] {
            [
                "real", "--tasks", "seattle_temperature", "--quick", "--forecast-epochs", "6", "--threads", "1",
                "--data", data.path, "--out", dir.appendingPathComponent(out).path
            ]
        }
        let reference = try rnnlab(args("reference"))
        XCTAssertEqual(reference.status, 0, reference.output)

        let lstm = dir.appendingPathComponent("killed/real/seattle_temperature/lstm")
        let child = try start(args("killed"))
        // Drain the pipe so the child never blocks on a full buffer.
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = child.pipe.fileHandleForReading.readDataToEndOfFile(); drained.signal()
        }
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(
            atPath: lstm.appendingPathComponent("epoch_002.optimizer.safetensors").path) && child.process.isRunning
            && Date() < deadline
        {
            usleep(2_000)
        }
        XCTAssertTrue(child.process.isRunning, "the run ended before it could be killed")
        kill(child.process.processIdentifier, SIGKILL)
        child.process.waitUntilExit()
        drained.wait()
        XCTAssertEqual(child.process.terminationReason, .uncaughtSignal)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: lstm.appendingPathComponent("epoch_006.safetensors").path),
            "killed before the end")

        let rerun = try rnnlab(args("killed"))
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertTrue(rerun.output.contains("seattle_temperature LSTM: resuming after epoch"), rerun.output)
        for model in ["rnn", "lstm", "gru"] {
            for epoch in 0...6 {
                let name = "real/seattle_temperature/\(model)/" + String(format: "epoch_%03d.safetensors", epoch)
                let a = try Data(contentsOf: dir.appendingPathComponent("reference/" + name))
                let b = try Data(contentsOf: dir.appendingPathComponent("killed/" + name))
                XCTAssertEqual(a, b, "\(name) differs after kill -9 and resume")
            }
        }
        func losses(_ run: String) throws -> [[Double]] {
            let json =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: dir.appendingPathComponent("\(run)/real/results.json"))) as! [String: Any]
            let task = (json["tasks"] as! [[String: Any]])[0]
            return (task["models"] as! [[String: Any]]).map { m in
                (m["history"] as! [[String: Any]]).flatMap {
                    [$0["trainLoss"] as! Double, $0["validationLoss"] as! Double]
                } + [m["testLoss"] as! Double]
            }
        }
        XCTAssertEqual(try losses("reference"), try losses("killed"))
        let html = try String(contentsOf: dir.appendingPathComponent("killed/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Resumed from this folder"), "the report states the resume")
    }
}

extension CLITests {
    /// `classify --backbone resnet18 --weights FILE`: weights in torchvision's layout (the seeded ones, written
    /// here as safetensors) give torchvision's top-5 for the fixture photo with the same weights
    /// (Tests/VisionTests/Fixtures/generate.py, resnet_photo).
    func testResNet18FromAWeightsFileGivesTorchvisionsTopFive() throws {
        let seeded = ResNet18.seededStateDict()
        var p = ParameterSet<Float>()
        for (name, _) in ResNet18.parameterLayout() { p.append(name, seeded.tensors[name]!) }
        let weights = dir.appendingPathComponent("resnet18.safetensors"), labels = dir.appendingPathComponent("l.json")
        try SafetensorsFile.write(p, metadata: ["format": "pt"], to: weights)
        try JSONSerialization.data(withJSONObject: (0..<1000).map { "class \($0)" }).write(to: labels)
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../VisionTests/Fixtures").standardizedFileURL
        let r = try rnnlab([
            "classify", "--backbone", "resnet18", "--weights", weights.path, "--labels", labels.path,
            fixtures.appendingPathComponent("photo.png").path
        ])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("ResNet-18, 512-d features"), r.output)
        let printed = r.output.split(separator: "\n").compactMap { line in
            line.range(of: "class ").map { Int(String(line[$0.upperBound...]).trimmingCharacters(in: .whitespaces))! }
        }
        let ref =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: fixtures.appendingPathComponent("resnet18_photo_top5.json"))) as! [String: Any]
        XCTAssertEqual(printed, ref["top5"] as! [Int])
        // --weights belongs to ResNet-18: with the other backbone it is refused before anything loads.
        let wrong = try rnnlab(["classify", "--backbone", "efficientnet-lite0", "--weights", "x", "y.png"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.output.contains("--weights applies to --backbone resnet18"), wrong.output)
    }
}
