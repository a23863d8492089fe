import XCTest
import TestSupport
@testable import Workbench
import Recurrent

@testable import Experiments

/// The answers change when the numbers do: each test feeds two sets of numbers and sees the wording follow.
final class AnswersTests: XCTestCase {
    func testTheImplementationAnswerFollowsTheGradientCheck() {
        let passed = Answers.implementation([.init(network: "LSTM", entries: 366, maxError: 3e-10)])
        XCTAssertTrue(passed.summary.contains("the largest relative error is 3.0e-10 (LSTM), under the 1e-7"))
        XCTAssertEqual(passed.table?.rows, [["LSTM", "366", "3.0e-10", "passed"]])
        XCTAssertEqual(passed.figure, "toy/gradient_check.svg")
        let failed = Answers.implementation([.init(network: "LSTM", entries: 366, maxError: 2e-4)])
        XCTAssertTrue(failed.summary.hasPrefix("NOT PASSED: LSTM differs from central differences by 2.0e-04"))
        XCTAssertEqual(failed.numbers["LSTM max error"], 2e-4)
    }

    /// A jump like the sine RNN's at epoch 57 is found; the ordinary wiggles of a curve are not.
    func testSpikesAreJumpsBeyondTheCurvesOwnChanges() {
        var curve: [Double] = (0..<60).map { (e: Int) -> Double in
            let decay: Double = 0.05 * Foundation.exp(-Double(e) / 10)
            return decay + 0.01 + 0.0002 * Double(e % 2)
        }
        XCTAssertTrue(Judge.spikes(curve).isEmpty)
        curve[56] = 0.034
        let spikes = Judge.spikes(curve)
        XCTAssertEqual(spikes.map { $0.epoch }, [57])
        XCTAssertEqual(spikes[0].to, 0.034)
    }

    /// Q3.5 from the memory probe: an encoder is said to remember k words back only where it beats the template
    /// control after Holm's correction, and the longest memory follows those lags.
    func testTheMemoryAnswerFollowsTheProbe() {
        func lag(_ k: Int, rnn: Double, lstm: Double, control: Double) -> MemoryProbe.Lag {
            let n = 200
            func items(_ p: Double) -> [Double] { (0..<n).map { Double($0) < p * Double(n) ? 1 : 0 } }
            return MemoryProbe.Lag(
                lag: k, items: n,
                encoders: [
                    .init(encoder: "RNN", accuracy: [rnn, rnn - 0.01, rnn + 0.01], shuffled: [0.1], items: items(rnn)),
                    .init(
                        encoder: "LSTM", accuracy: [lstm, lstm - 0.01, lstm + 0.01], shuffled: [0.1], items: items(lstm)
                    )
                ], currentWordItems: items(control), currentWord: control, majority: 0.1)
        }
        let rnnLonger = MemoryProbe.Result(
            questions: 107, words: 26, folds: 5,
            lags: [
                lag(0, rnn: 1, lstm: 1, control: 1), lag(1, rnn: 0.99, lstm: 0.95, control: 0.7),
                lag(2, rnn: 0.95, lstm: 0.66, control: 0.65)
            ])
        let a = Answers.memoryAnswer(rnnLonger, initialisations: 3)
        XCTAssertTrue(a.summary.contains("RNN at lags 1, 2; LSTM at lag 1"), a.summary)
        XCTAssertTrue(a.summary.hasSuffix("by this measure RNN keeps the longest memory (2 words back)."), a.summary)
        XCTAssertEqual(a.table?.rows.count, 5, "two encoders and three controls")
        let noMemory = MemoryProbe.Result(
            questions: 107, words: 26, folds: 5,
            lags: [lag(0, rnn: 1, lstm: 1, control: 1), lag(1, rnn: 0.7, lstm: 0.71, control: 0.7)])
        XCTAssertTrue(
            Answers.memoryAnswer(noMemory, initialisations: 3).summary.contains(
                "no encoder's state holds earlier words"))
    }
}

final class UnitsOverTextFindingTests: XCTestCase {
    /// The sentence names a unit only when it beats the untrained network's best by the margin; else it says none does.
    func testAUnitIsNamedOnlyWellAboveTheUntrainedNetwork() {
        func units(r: Double, untrained: Double, open: [Double] = [0.2, 0.8]) -> [UnitsOverText.ModelUnits] {
            [
                .init(
                    model: "LSTM", passage: "ab",
                    matches: [
                        .init(
                            feature: "inside quotes", signal: "c", unit: 37, r: r, untrainedBest: untrained,
                            sameUnitUntrained: 0.1, randomUnit: 0.05)
                    ], activation: [0.5, -0.5], pickerStates: [[50], [-50]],
                    saturation: [
                        .init(gate: "gate f", keepsState: true, left: [0.6, 0], right: open),
                        .init(gate: "gate i", keepsState: false, left: [0, 0.7], right: [0.9, 0])
                    ])
            ]
        }
        let follows = UnitsOverText.findings(units(r: 0.62, untrained: 0.2))[0].text
        XCTAssertTrue(follows.hasPrefix("LSTM c unit 37 follows \"inside quotes\" on the held-out passage: r = 0.62"))
        let none = UnitsOverText.findings(units(r: 0.35, untrained: 0.3))[0].text
        XCTAssertTrue(none.hasPrefix("No LSTM unit follows a text feature well above the untrained network"), none)
        XCTAssertTrue(UnitsOverText.coloured(units(r: 0.62, untrained: 0.2)).contains("background:rgb(255,127,127)"))
        // Gate saturation follows its counts, and a keep gate held open is memory, not saturation.
        let held = UnitsOverText.findings(units(r: 0.62, untrained: 0.2))[1].text
        XCTAssertEqual(
            held,
            """
            LSTM gates on the held-out passage, units below 0.1 / above 0.9 for over half of it: gate f 1 / 1 of 2 \
            units (held open keeps the state: memory, not saturation); gate i 1 / 1 of 2 units.
            """)
        let shut = UnitsOverText.findings(units(r: 0.62, untrained: 0.2, open: [0.1, 0.2]))[1].text
        XCTAssertTrue(shut.contains("gate f 1 / 0 of 2 units; gate i"), shut)
        XCTAssertTrue(UnitsOverText.picker(units(r: 0.62, untrained: 0.2)).contains("\"states\":[[50],[-50]]"))
    }

    /// The unit picker's script colours one span per Character, as the states are counted: a CRLF, a combining mark,
    /// a flag and an emoji with a skin tone are one Character but several code points each (the script splitting
    /// the text itself shifted every colour after them and ran past the states: a TypeError). Run in Node with a
    /// minimal stand-in for the page.
    func testTheUnitPickerColoursEveryCharacterAsTheStatesCountThem() throws {
        let passage = "a\r\nb\u{0301}c\u{1F1F3}\u{1F1F1}\u{1F44D}\u{1F3FD}d"
        XCTAssertEqual(passage.count, 7)
        XCTAssertEqual(passage.unicodeScalars.count, 11)
        let states = (0..<7).map { [($0 + 1) * 10] }
        let html = UnitsOverText.picker([
            .init(
                model: "GRU", passage: passage, matches: [], activation: Array(repeating: 0, count: 7),
                pickerStates: states, saturation: [])
        ])
        func between(_ start: String, _ end: String) throws -> String {
            let a = try XCTUnwrap(html.range(of: start)),
                b = try XCTUnwrap(html.range(of: end, range: a.upperBound..<html.endIndex))
            return String(html[a.upperBound..<b.lowerBound])
        }
        let data = try between("<script type=\"application/json\">", "</script>")
        let script = try between("<script>//<![CDATA[", "//]]></script>")
        let page = """
            var spans = [], json = \(String(decoding: try JSONEncoder().encode(data), as: UTF8.self));
            var pre = { set textContent(v) { spans = []; }, appendChild: function (s) { spans.push(s); } };
            var box = { querySelector: function (q) {
              return q === "script" ? { textContent: json } : q === "pre" ? pre
                : { value: "0", addEventListener: function () {} }; } };
            var document = {
              querySelectorAll: function () { return [box]; },
              createElement: function () { return { style: {} }; } };
            \(script)
            console.log(JSON.stringify(spans.map(function (s) { return [s.textContent, s.title]; })));
            """
        guard let (status, output) = try ChildProcess.node(page) else { throw XCTSkip("Node is not installed") }
        XCTAssertEqual(status, 0, output)
        let spans = try JSONDecoder().decode([[String]].self, from: Data(output.utf8))
        XCTAssertEqual(spans.map { $0[0] }, passage.map { String($0) })
        XCTAssertEqual(spans.map { $0[1] }, (1...7).map { "unit 0: \(String(format: "%.2f", Double($0) / 10))" })
    }
}
