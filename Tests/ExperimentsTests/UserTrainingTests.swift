import Foundation
import Statistics
@testable import Workbench
import XCTest
import Recurrent
import Datasets
@testable import Experiments

/// `rnnlab train` / `generate` / `compare` on small files in each supported format.
/// compare labels runs by the shortest path suffix that tells them apart, and ranks only runs of one metric.
final class RunComparisonTests: XCTestCase {
    func testRunsAreNamedByTheirShortestUniquePathSuffix() {
        let names = RunComparison.uniqueNames(
            ["/w/runs/a", "/w/other/a", "/w/runs/b"].map { URL(fileURLWithPath: $0) })
        XCTAssertEqual(names, ["runs/a", "other/a", "b"])
    }

    func testTheMetricFollowsTheKindOfRun() {
        func run(_ kind: String) -> RunComparison.Run {
            RunComparison.Run(
                name: kind, config: ["kind": "\"\(kind)\""],
                result: .init(task: "train", description: "", models: [], baselines: [:], findings: []))
        }
        XCTAssertEqual(run("csv").metric, "forecast MSE (normalised units)")
        XCTAssertEqual(run("text").metric, "cross-entropy per character (nats)")
        XCTAssertEqual(run("idx").metric, run("labelled-csv").metric)
        XCTAssertNotEqual(run("csv").metric, run("text").metric)
    }
}

/// A file that cannot be trained on is named, with the exact problem.
final class UserDataMessageTests: XCTestCase {
    func testMessagesNameTheFileAndTheProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("msg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func error(_ kind: UserTraining.DataKind, _ name: String, _ bytes: [UInt8], column: String? = nil) -> String {
            let url = dir.appendingPathComponent(name)
            try? Data(bytes).write(to: url)
            var c = UserTraining.Config(kind: kind, data: url.path)
            c.column = column
            do { _ = try UserTraining.task(c) } catch { return "\(error)" }
            return "no error"
        }
        let header = error(.csv, "h.csv", Array("a,b\n".utf8), column: "a")
        XCTAssertTrue(header.hasPrefix(dir.appendingPathComponent("h.csv").path + ": column a: 0 values"), header)
        let short = error(.text, "s.txt", Array("short".utf8))
        XCTAssertTrue(
            short.hasSuffix("s.txt: 5 characters, shorter than two windows of 32 characters (--window)"), short)
        XCTAssertTrue(error(.text, "b.txt", [0xFF, 0xFE, 0xFA]).hasSuffix("b.txt: not UTF-8 text"))
        // A ';' series with gaps: refused by default, naming the way on; interpolated when asked, and said so.
        let gappy = dir.appendingPathComponent("gaps.csv")
        let rows = (0..<60).map { $0 % 7 == 3 ? "\($0);" : "\($0);\(Double($0) * 0.5)" }
        try ("t;v\n" + rows.joined(separator: "\n")).write(to: gappy, atomically: true, encoding: .utf8)
        var c = UserTraining.Config(kind: .csv, data: gappy.path)
        c.column = "v"; c.delimiter = ";"; c.window = 4
        XCTAssertThrowsError(try UserTraining.task(c)) { XCTAssertTrue("\($0)".contains("--missing"), "\($0)") }
        c.missing = .interpolate
        let (task, _) = try UserTraining.task(c)
        XCTAssertTrue(
            task.description.hasPrefix("60 values (9 missing filled by linear interpolation)"), task.description)
    }
}

/// --epoch: last, best on validation, or a number that was saved.
final class EpochChoiceTests: XCTestCase {
    func testTheEpochChosenFollowsItsDefinition() throws {
        func record(_ e: Int, _ v: Double) -> EpochRecord {
            EpochRecord(
                epoch: e, trainLoss: 1, validationLoss: v, trainAccuracy: nil, validationAccuracy: nil, seconds: 1,
                meanGradientNorm: 1, maxGradientNorm: 1)
        }
        let history = [record(1, 0.5), record(2, 0.3), record(3, 0.4)]
        let dir = URL(fileURLWithPath: "/run/real/train/lstm")
        XCTAssertEqual(try EpochChoice.last.epoch(saved: [1, 2, 3], history: history, in: dir), 3)
        XCTAssertEqual(try EpochChoice.best.epoch(saved: [1, 2, 3], history: history, in: dir), 2)
        XCTAssertEqual(try EpochChoice.number(0).epoch(saved: [1, 2, 3], history: history, in: dir), 0)
        XCTAssertThrowsError(try EpochChoice.number(7).epoch(saved: [1, 2, 3], history: history, in: dir)) {
            XCTAssertTrue("\($0)".contains("no epoch 7; the run saved epochs 0 to 3"), "\($0)")
        }
        XCTAssertThrowsError(try EpochChoice.last.epoch(saved: [], history: [], in: dir))
        XCTAssertEqual(EpochChoice(argument: "best"), .best)
        XCTAssertEqual(EpochChoice(argument: "12"), .number(12))
        XCTAssertNil(EpochChoice(argument: "-1"))
        XCTAssertNil(EpochChoice(argument: "x"))
    }
}

/// predict's three formats: one record per sample whatever the sample holds, full precision in csv and jsonl, and
/// each read back to the same samples (text: split on tabs and unescaped; csv: an RFC 4180 reader).
final class PredictionFormatTests: XCTestCase {
    static let awkward = [
        "great fun,\nloved \"it\"", "tab\there", "windows\r\nline", "back\\slash \\n not a break", "=1+2", "plain"
    ]

    func testEveryFormatRoundTrips() throws {
        let classes = Self.awkward.enumerated().map { i, s in
            Prediction(sample: s, label: i % 2 == 0 ? "pos" : "neg, or \"not\"", probability: 0.912345678)
        }
        let text = try Prediction.render(classes, as: .text)
        XCTAssertEqual(text[0], "great fun,\\nloved \"it\"\tpos\t0.912")
        let columns = text.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(columns.map(\.count), Array(repeating: 3, count: classes.count), "no tab inside a field")
        XCTAssertEqual(columns.map { Self.unescaped($0[0]) }, Self.awkward)

        let csv = try Prediction.render(classes, as: .csv).joined(separator: "\n")
        XCTAssertFalse(csv.contains("\\n\""), "a line break is kept inside quotes, not written as \\n")
        let table = try CSVTable(text: csv + "\n", source: "predictions.csv")
        XCTAssertEqual(table.header, ["sample", "label", "probability"], "named as jsonl names it")
        XCTAssertEqual(table.rows.map { $0[0] }, Self.awkward)
        XCTAssertEqual(table.rows[1][1], "neg, or \"not\"")
        XCTAssertEqual(table.rows.map { Double($0[2]) }, Array(repeating: 0.912345678, count: classes.count))

        let jsonl = try Prediction.render(classes, as: .jsonl)
        XCTAssertEqual(jsonl.count, classes.count)
        XCTAssertFalse(jsonl.joined().contains("\n"), "one line each")
        XCTAssertEqual(
            try jsonl.map { try JSONDecoder().decode(Prediction.self, from: Data($0.utf8)).sample }, Self.awkward)

        let forecasts = [
            Prediction(index: "2024-03-01", actual: 12.5, forecast: 12.345678901),
            Prediction(index: "after 2024-03-01, the last", forecast: 13)
        ]
        XCTAssertEqual(
            try Prediction.render(forecasts, as: .text),
            ["2024-03-01\t12.5\t12.3457", "after 2024-03-01, the last\t\t13"])
        XCTAssertEqual(
            try Prediction.render(forecasts, as: .csv),
            ["index,actual,forecast", "2024-03-01,12.5,12.345678901", "\"after 2024-03-01, the last\",,13.0"])
        XCTAssertEqual(
            try Prediction.render(forecasts, as: .jsonl),
            [
                "{\"actual\":12.5,\"forecast\":12.345678901,\"index\":\"2024-03-01\"}",
                "{\"forecast\":13,\"index\":\"after 2024-03-01, the last\"}"
            ])
    }

    /// The text format's escapes undone: \t, \n, \r, \\.
    static func unescaped(_ field: String) -> String {
        var out = "", escaping = false
        for c in field {
            if escaping {
                out.append(c == "t" ? "\t" : c == "n" ? "\n" : c == "r" ? "\r" : c)
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}

final class UserTrainingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DatasetsTests/Fixtures").standardizedFileURL
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ c: UserTraining.Config, _ name: String) throws -> URL {
        let out = dir.appendingPathComponent(name)
        _ = try UserTraining.run(c, context: RunContext(folder: try RunFolder(out), cache: DataCache(directory: dir)))
        return out
    }

    /// The first model's epoch records in a run's results.json.
    func results(_ run: URL) throws -> [EpochRecord] {
        let r = try JSONDecoder().decode(
            RealDataExperiment.TaskResult.self, from: Data(contentsOf: run.appendingPathComponent("results.json")))
        return r.models[0].history
    }

    func small(_ kind: UserTraining.DataKind, _ file: String) -> UserTraining.Config {
        var c = UserTraining.Config(kind: kind, data: Self.fixtures.appendingPathComponent(file).path)
        c.hidden = 6; c.epochs = 2; c.window = 8; c.embedding = 4
        return c
    }

    /// A text whose only line break is its last character trains and gets its report (the passage the units are
    /// shown over starts at the text's beginning then).
    func testATextWithOneFinalLineBreakIsReported() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let text = dir.appendingPathComponent("one-line.txt")
        try Data((String(repeating: "the cat sat on the mat and ", count: 40) + "\n").utf8).write(to: text)
        var c = small(.text, "fortunes-literature-head")
        c.data = text.path
        let out = try run(c, "one-line")
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("Units over text"), "the units are shown over the held-out text")
        XCTAssertEqual(UnitsOverText.passage(from: Array("abc\n")), Array("abc\n"))
        XCTAssertEqual(UnitsOverText.passage(from: Array("abc\ndef")), Array("def"))
    }

    /// A cell without a recurrent weight matrix (minGRU) is said to have none, not drawn as "no finite values".
    func testACellWithoutWhhIsNamedNotFailed() throws {
        var c = small(.csv, "seattle-weather-tiny.csv")
        c.column = "temp_max"; c.cells = [.mingru, .gru]
        let page = try String(contentsOf: try run(c, "min").appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("minGRU has no recurrent weight matrix W_hh"), "named")
        XCTAssertFalse(page.contains("no finite values"), "no figure fails for want of W_hh")
        XCTAssertFalse(page.contains("was not drawn"))
    }

    /// A text model: checkpoints per cell, config.json equal to the settings, a vocabulary, and generated text
    /// that starts with the prime and uses only the model's characters.
    func testTextTrainsAndGenerates() throws {
        var c = small(.text, "fortunes-literature-head")
        c.cells = [.gru, .indrnn]
        let out = try run(c, "text")
        let saved = try JSONDecoder().decode(
            UserTraining.Config.self, from: Data(contentsOf: out.appendingPathComponent("config.json")))
        XCTAssertEqual(saved, c.recordingDataLocation(relativeTo: out))
        XCTAssertEqual(saved.dataFromRun.map { out.appendingPathComponent($0).standardizedFileURL.path }, c.data)
        // Inside the character models, as in the study: units over text (with the GRU's gate saturation) and gates
        // over the held-out passage.
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("Units over text") && page.contains("class=\"unit-picker\""))
        XCTAssertTrue(page.contains("GRU gates on the held-out passage, units below 0.1 / above 0.9"), "saturation")
        for file in ["real/train/units.json", "real/train/gru_gates.svg", "real/train/gru_gate_saturation.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        for cell in ["gru", "indrnn"] {
            XCTAssertTrue(
                FileManager.default.fileExists(
                    atPath: out.appendingPathComponent("real/train/\(cell)/epoch_002.safetensors").path), cell)
        }
        let text = try Generation.sample(run: out, cell: .indrnn, prime: "A ", temperature: 0.8, length: 40, seed: 3)
            .text
        XCTAssertTrue(text.hasPrefix("A "))
        XCTAssertEqual(text.count, 42)
        let vocabulary = try JSONDecoder().decode(
            UserTraining.Preprocessing.self, from: Data(contentsOf: out.appendingPathComponent("preprocessing.json"))
        ).characters!
        XCTAssertTrue(text.allSatisfy { vocabulary.contains(String($0)) })
        // A temperature whose logits / T overflow is the T -> 0 limit, greedy: the same text whatever the seed, and
        // the same as a small temperature that still computes (one character dominates).
        let greedy = try (1...3).map {
            try Generation.sample(
                run: out, cell: .gru, prime: "A ", temperature: .leastNonzeroMagnitude, length: 20, seed: $0
            ).text
        }
        XCTAssertEqual(Set(greedy).count, 1)
        XCTAssertEqual(
            greedy[0],
            try Generation.sample(run: out, cell: .gru, prime: "A ", temperature: 1e-6, length: 20, seed: 9).text)
        XCTAssertThrowsError(
            try Generation.sample(run: out, cell: .gru, prime: "A", temperature: 1, length: Int.max, seed: 1))
        let e = try Inference.evaluate(run: out, cell: .gru, data: URL(fileURLWithPath: c.data), labels: nil)
        XCTAssertGreaterThan(e.samples, 0)
        XCTAssertTrue(e.loss.isFinite && e.loss > 0)
        XCTAssertEqual(e.notes, [], "the training text has no character the model lacks")
        XCTAssertEqual(e.cell, "GRU")
        XCTAssertTrue(e.text[0].hasPrefix("GRU, epoch \(c.epochs): \(e.samples) samples: loss "), e.text[0])
        // New text with characters the model never saw: left out, and counted.
        let foreign = dir.appendingPathComponent("foreign.txt")
        try (String(repeating: "the ", count: 20) + "€€ ü").write(to: foreign, atomically: true, encoding: .utf8)
        let f = try Inference.evaluate(run: out, cell: .gru, data: foreign, labels: nil)
        XCTAssertEqual(f.notes, ["3 characters the model never saw were left out: '€' 2 times, 'ü' 1 time"])
        func note(_ prime: String) throws -> String? {
            try Generation.sample(run: out, cell: .gru, prime: prime, temperature: 1, length: 5, seed: 1).primeNote
        }
        XCTAssertEqual(
            try note("A €€"),
            "The prime: 2 characters the model never saw were left out: '€' 2 times (the model starts from the rest)")
        XCTAssertNil(try note("A "))
        XCTAssertThrowsError(
            try Generation.sample(run: out, cell: .lstm, prime: "A", temperature: 1, length: 5, seed: 1)
        ) {
            XCTAssertTrue("\($0)".contains("not lstm"), "\($0)")
        }
    }

    /// A CSV series, then a rerun: the same config resumes, another is refused naming --fresh; compare lists
    /// exactly the settings that differ.
    func testCSVRerunRulesAndCompare() throws {
        var c = small(.csv, "seattle-weather-tiny.csv")
        c.column = "temp_max"
        let a = try run(c, "a")
        XCTAssertNoThrow(try run(c, "a"))
        var other = c
        other.hidden = 9
        XCTAssertThrowsError(try run(other, "a")) {
            XCTAssertTrue("\($0)".contains("config.hidden: 6 -> 9"), "names what differs: \($0)")
            XCTAssertTrue("\($0)".contains("--fresh"), "\($0)")
        }
        // More epochs extend the finished run from its last checkpoint: the first two epochs' records stay as they
        // were, and the extended run ends where one run of four epochs ends; fewer epochs are another setting.
        let twoEpochs = try results(a)
        var longer = c
        longer.epochs = 4
        let extended = try results(try run(longer, "a")), straight = try results(try run(longer, "straight"))
        XCTAssertEqual(extended.map(\.epoch), [1, 2, 3, 4])
        XCTAssertEqual(Array(extended.prefix(2)).map(\.trainLoss), twoEpochs.map(\.trainLoss))
        XCTAssertEqual(extended.map(\.validationLoss), straight.map(\.validationLoss))
        XCTAssertThrowsError(try run(c, "a")) { XCTAssertTrue("\($0)".contains("config.epochs: 4 -> 2"), "\($0)") }
        other.optimizer = .rmsprop
        let b = try run(other, "b")
        // predict: one forecast per window of the file, in the data's units (temperatures here), beside the value it
        // forecasts and that value's row, then one more: the forecast after the last row.
        let forecasts = try Inference.predict(run: a, cell: nil, data: URL(fileURLWithPath: c.data), labels: nil)
        let values = try CSVTable(contentsOf: URL(fileURLWithPath: c.data)).numbers("temp_max")
        XCTAssertEqual(forecasts.count, values.count - c.window + 1)
        XCTAssertEqual(forecasts[0].index, "row \(c.window + 2)", "the header is row 1")
        XCTAssertEqual(forecasts[0].actual, values[c.window])
        XCTAssertEqual(forecasts.last?.index, "after row \(values.count + 1), the last")
        XCTAssertNil(forecasts.last?.actual)
        let first = try XCTUnwrap(forecasts[0].forecast)
        XCTAssertTrue(first > values.min()! - 20 && first < values.max()! + 20, "\(first) is in degrees")
        let dated = try Inference.predict(
            run: a, cell: nil, data: URL(fileURLWithPath: c.data), labels: nil, indexColumn: "date")
        let dates = try CSVTable(contentsOf: URL(fileURLWithPath: c.data)).rows.map { $0[0] }
        XCTAssertEqual(dated[0].index, dates[c.window])
        XCTAssertEqual(dated.last?.index, "after \(dates.last!), the last")
        // evaluate with the training normalisation: the run's own validation loss on its own validation windows
        // comes out of the same code; the errors in degrees are those of the forecasts predict gives.
        let e = try Inference.evaluate(run: a, cell: nil, data: URL(fileURLWithPath: c.data), labels: nil)
        XCTAssertNil(e.accuracy)
        XCTAssertEqual(e.samples, values.count - c.window)
        let errors = try XCTUnwrap(e.forecastErrors)
        let known = forecasts.dropLast()
        XCTAssertEqual(
            errors.mae, known.reduce(0) { $0 + abs($1.actual! - $1.forecast!) } / Double(known.count), accuracy: 1e-9)
        XCTAssertEqual(
            errors.mase!,
            errors.mae / ForecastErrors.naiveScale(
                Array(
                    values.prefix(
                        Int(Double(values.count) * (1 - c.validationFraction)))))!, accuracy: 1e-9,
            "scaled by the training part")
        XCTAssertTrue(e.text[0].contains("in the series' units RMSE"), e.text[0])
        // The report reads the validation period in degrees too: the errors, and forecast against actual.
        let aReport = try String(contentsOf: a.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(aReport.contains("In temp_max's own units on the validation period"), "the errors in degrees")
        XCTAssertTrue(aReport.contains("real/train/forecast_vs_actual.svg"))
        // Its own run's words: the held-out share is its validation split, never "test", and there are no Answers.
        let words = aReport.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        XCTAssertNil(words.range(of: "\\btest\\b", options: [.regularExpression, .caseInsensitive]), "no 'test'")
        XCTAssertFalse(words.contains("Answers, Q2.1") || words.contains("assignment"))
        let saved = try JSONDecoder().decode(
            RealDataExperiment.TaskResult.self, from: Data(contentsOf: a.appendingPathComponent("results.json")))
        XCTAssertNotNil(saved.models[0].forecastErrors?.mase, "results.json keeps them")
        let page = try RunComparison.write(runs: [a, b], to: dir.appendingPathComponent("compare.html"))
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertTrue(html.contains("The runs differ in epochs, hidden, optimizer; everything else is equal."), html)
        XCTAssertTrue(html.contains("rmsprop"))
        XCTAssertTrue(html.contains("Lowest validation loss (forecast MSE (normalised units)):"), html)
        XCTAssertFalse(html.contains("Runs on "), "one kind of run on one series: one group, no sections")
        // Another column of the file is other data: its runs are ranked apart, though both are MSE.
        var lows = c
        lows.column = "temp_min"
        let onLows = try run(lows, "lows")
        let apart = try String(
            contentsOf: try RunComparison.write(runs: [a, onLows], to: dir.appendingPathComponent("apart.html")),
            encoding: .utf8)
        for column in ["temp_max", "temp_min"] {
            XCTAssertTrue(
                apart.contains(
                    "Runs on seattle-weather-tiny.csv, column \(column), measured by forecast MSE (normalised units)"),
                column)
        }
        XCTAssertFalse(apart.contains("Lowest validation loss"), "one model on each series: nothing ranked across them")
        let report = try String(contentsOf: b.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("RMSprop lr 0.002"), "the settings sentence comes from the recipe")
        // Figures are files beside the report, shown from there.
        XCTAssertTrue(report.contains("<img src=\"real/train/gradient_through_time.svg\""), "gradient flow is drawn")
        let figure = try String(
            contentsOf: b.appendingPathComponent("real/train/gradient_through_time.svg"), encoding: .utf8)
        XCTAssertTrue(figure.contains("||dL/dh_t|| across time"))
        XCTAssertTrue(report.contains("||dL/dh_1|| / ||dL/dh_T|| on the probe batch"))
    }

    /// A rerun resumes only on the same data: an edited data file (same path, same settings) is refused, naming
    /// its checksum and what it changes, and so is a folder that holds another command's results.
    func testRerunOnChangedDataOrForeignFolderIsRefused() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let copy = dir.appendingPathComponent("series.csv")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("seattle-weather-tiny.csv"), to: copy)
        var c = small(.csv, "seattle-weather-tiny.csv")
        c.data = copy.path; c.column = "temp_max"; c.epochs = 1
        let out = try run(c, "a")
        let saved = try JSONDecoder().decode(
            UserTraining.Preprocessing.self, from: Data(contentsOf: out.appendingPathComponent("preprocessing.json")))
        XCTAssertEqual(saved.sha256?[copy.path], try DataLedger.checksum(copy))
        let before = try Data(contentsOf: out.appendingPathComponent("config.json"))
        var lines = try String(contentsOf: copy, encoding: .utf8).split(separator: "\n")
        lines.removeLast(5)
        try (lines.joined(separator: "\n") + "\n").write(to: copy, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run(c, "a")) {
            XCTAssertTrue("\($0)".contains("data.sha256"), "\($0)")
            XCTAssertTrue("\($0)".contains("data.mean"), "the scaling changes with the data: \($0)")
        }
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("config.json")), before, "nothing rewritten")

        let foreign = dir.appendingPathComponent("all-run")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: foreign.appendingPathComponent("manifest.json"))
        XCTAssertThrowsError(try run(c, "all-run")) {
            XCTAssertTrue("\($0)".contains("another rnnlab command's results (manifest.json)"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: foreign.appendingPathComponent("config.json").path))
    }

    /// A config file that is not one `rnnlab train` wrote is refused naming the setting at fault.
    func testConfigFileErrorsNameTheSetting() {
        func reason(_ json: String) -> String {
            do {
                _ = try JSONDecoder().decode(UserTraining.Config.self, from: Data(json.utf8))
                return "decoded"
            } catch { return UserTraining.Config.describe(error) }
        }
        var full =
            try! JSONSerialization.jsonObject(
                with: JSONEncoder().encode(UserTraining.Config(kind: .csv, data: "x.csv"))) as! [String: Any]
        XCTAssertEqual(
            reason(String(decoding: try! JSONSerialization.data(withJSONObject: full), as: UTF8.self)), "decoded")
        full["window"] = nil
        XCTAssertEqual(
            reason(String(decoding: try! JSONSerialization.data(withJSONObject: full), as: UTF8.self)), "no 'window'")
        full["window"] = "long"
        XCTAssertEqual(
            reason(String(decoding: try! JSONSerialization.data(withJSONObject: full), as: UTF8.self)),
            "'window' is not of type Int")
        XCTAssertEqual(reason("{"), "not JSON")
    }

    /// IDX images row by row, and labelled texts from a CSV.
    func testIDXAndLabelledCSV() throws {
        var idx = small(.idx, "tiny-images-idx3-ubyte")
        idx.labels = Self.fixtures.appendingPathComponent("tiny-labels-idx1-ubyte").path
        idx.validationFraction = 0.3
        let r = try JSONDecoder().decode(
            RealDataExperiment.TaskResult.self,
            from: Data(contentsOf: try run(idx, "idx").appendingPathComponent("results.json")))
        XCTAssertEqual(r.models.map(\.cell), [.lstm])
        XCTAssertNotNil(r.models[0].testAccuracy)
        // The held-out split read per class: the confusion matrix counts every held-out image once, and its
        // diagonal is the accuracy.
        let scores = try XCTUnwrap(r.models[0].classScores)
        XCTAssertEqual(scores.support.reduce(0, +), r.testCount)
        XCTAssertEqual(scores.accuracy, r.models[0].testAccuracy!, accuracy: 1e-9)
        let idxReport = try String(
            contentsOf: dir.appendingPathComponent("idx/report.html"), encoding: .utf8)
        XCTAssertTrue(idxReport.contains("Confusion matrix and per-class scores (validation split)"))
        XCTAssertTrue(idxReport.contains("real/train/confusion.svg"))
        let predictions = try Inference.predict(
            run: dir.appendingPathComponent("idx"), cell: .lstm, data: URL(fileURLWithPath: idx.data),
            labels: URL(fileURLWithPath: idx.labels!))
        XCTAssertEqual(predictions[0].sample, "image 1")
        XCTAssertNotNil(predictions[0].label)
        let accuracy = try Inference.evaluate(
            run: dir.appendingPathComponent("idx"), cell: nil, data: URL(fileURLWithPath: idx.data),
            labels: URL(fileURLWithPath: idx.labels!)
        ).accuracy
        XCTAssertNotNil(accuracy)
        let csv = dir.appendingPathComponent("labelled.csv")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(
            "text,label\n\"great fun, loved it\",pos\nboring and slow,neg\nwonderful acting,pos\nterrible plot,neg\n"
                .utf8
        ).write(to: csv)
        var lab = UserTraining.Config(kind: .labelledCSV, data: csv.path)
        lab.textColumn = "text"; lab.labelColumn = "label"; lab.hidden = 4; lab.epochs = 1; lab.window = 4
        lab.embedding = 3; lab.validationFraction = 0.25
        let t = try UserTraining.task(lab).0
        XCTAssertEqual(t.recipe.outputs, 2)
        XCTAssertTrue(t.description.contains("4 texts in 2 classes (neg, pos)"), t.description)
        // Read as characters (--tokens chars): case and punctuation kept, the last `window` characters of each.
        var chars = lab
        chars.tokens = .chars
        let (charTask, charPrep) = try UserTraining.task(chars)
        XCTAssertEqual(charPrep.tokens, .chars)
        let tokens = try XCTUnwrap(charPrep.words).dropFirst(2)
        XCTAssertTrue(tokens.allSatisfy { $0.count == 1 }, "one character each: \(tokens)")
        XCTAssertTrue(tokens.contains(" "), "spaces kept: \(tokens)")
        XCTAssertTrue(charTask.description.contains("characters of each (case and punctuation kept)"))
        let charRun = try run(chars, "chars")
        XCTAssertEqual(
            try Inference.predict(run: charRun, cell: nil, data: csv, labels: nil).count, 4, "predict reads characters")
        var wrong = small(.csv, "seattle-weather-tiny.csv")
        wrong.column = "temp_max"; wrong.tokens = .chars
        XCTAssertThrowsError(try wrong.validate()) { XCTAssertTrue("\($0)".contains("--tokens applies to")) }
        // A file without the label column: predict classifies it, evaluate refuses it naming the column (it used
        // to count every row as the first class: "accuracy 25.0%").
        let labelled = try run(lab, "labelled")
        let unlabelled = dir.appendingPathComponent("unlabelled.csv")
        try Data("text\ngreat fun\nterrible plot\n".utf8).write(to: unlabelled)
        XCTAssertEqual(
            try Inference.predict(run: labelled, cell: nil, data: unlabelled, labels: nil).map(\.sample),
            ["great fun", "terrible plot"])
        XCTAssertThrowsError(try Inference.evaluate(run: labelled, cell: nil, data: unlabelled, labels: nil)) {
            XCTAssertTrue(
                "\($0)".contains("no column 'label' (the run's --label-column) to evaluate against; columns: text"),
                "\($0)")
        }
    }

    /// Settings and files that cannot work end in one clear error before anything trains.
    /// A training whose loss stops being a number exits with its error and still leaves its report and results,
    /// the failure named in both.
    func testAFailedTrainingLeavesItsAccount() throws {
        var c = small(.csv, "seattle-weather-tiny.csv")
        c.column = "temp_max"; c.learningRate = 1e8; c.clip = nil; c.epochs = 3; c.optimizer = .sgd
        XCTAssertThrowsError(try run(c, "diverged"))
        let out = dir.appendingPathComponent("diverged")
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("Training failed"), "the report names the failure")
        let r = try JSONDecoder().decode(
            RealDataExperiment.TaskResult.self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
        XCTAssertNotNil(r.failure)
    }

    func testBadSettingsAndFilesAreRefused() throws {
        func refused(_ c: UserTraining.Config, _ message: String) {
            XCTAssertThrowsError(try run(c, "bad")) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
        var c = small(.csv, "seattle-weather-tiny.csv")
        refused(c, "--kind csv needs --column")
        c.column = "weather"
        refused(c, "column 'weather'")
        c.column = "temp_max"; c.hidden = 0
        refused(c, "--hidden must be at least 1 (got 0)")
        c.hidden = 4; c.learningRate = -1
        refused(c, "--lr must be a positive number")
        var text = small(.text, "no-such-file.txt")
        text.epochs = 1
        refused(text, "no-such-file.txt does not exist")
    }
}
