import Foundation
import XCTest

/// Seeded mutations of a valid file: truncations, bit flips, bytes and integers set to boundary values
/// (little- and big-endian, 2, 4 and 8 bytes), decimal numbers in text headers replaced by huge or negative
/// ones, deleted, duplicated and inserted chunks; one to three stacked per case. The same seed gives the same
/// cases, so a failure found once is found again.
struct Mutator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    /// splitmix64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    static let boundaryIntegers: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        1 << 32, 1 << 40, UInt64(Int64.max), 1 << 63, UInt64.max, UInt64.max - 7
    ]
    static let boundaryDecimals = [
        "-1", "0", "-9223372036854775808", "9223372036854775807", "18446744073709551616",
        "4294967296", "99999999999999999999999", "1e308", "-0", "2147483648"
    ]

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var d = input
        for _ in 0...below(3) { d = mutateOnce(d) }
        return d
    }

    mutating func mutateOnce(_ input: [UInt8]) -> [UInt8] {
        var d = input
        guard !d.isEmpty else { return [UInt8(truncatingIfNeeded: next())] }
        switch below(8) {
        case 0:  // truncate
            d = Array(d.prefix(below(d.count)))
        case 1:  // flip bits
            for _ in 0...below(4) { d[below(d.count)] ^= 1 << UInt8(below(8)) }
        case 2:  // a byte set to a boundary value
            d[below(d.count)] = [0x00, 0xFF, 0x7F, 0x80, 0x01][below(5)]
        case 3:  // an integer field set to a boundary value
            let width = [2, 4, 8][below(3)]
            guard d.count >= width else { return d }
            let at = below(d.count - width + 1), value = Self.boundaryIntegers[below(Self.boundaryIntegers.count)]
            let bigEndian = below(2) == 0
            for i in 0..<width {
                d[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(bigEndian ? width - 1 - i : i)))
            }
        case 4:  // a decimal number in text replaced
            var runs: [Range<Int>] = []
            var i = 0
            while i < d.count {
                if (0x30...0x39).contains(d[i]) {
                    let start = i
                    while i < d.count && (0x30...0x39).contains(d[i]) { i += 1 }
                    runs.append(start..<i)
                } else {
                    i += 1
                }
            }
            guard !runs.isEmpty else { return mutateOnce(input) }
            d.replaceSubrange(
                runs[below(runs.count)], with: Array(Self.boundaryDecimals[below(Self.boundaryDecimals.count)].utf8))
        case 5:  // delete a chunk
            let at = below(d.count), n = 1 + below(min(64, d.count - at))
            d.removeSubrange(at..<(at + n))
        case 6:  // duplicate a chunk
            let at = below(d.count), n = 1 + below(min(64, d.count - at))
            d.insert(contentsOf: d[at..<(at + n)], at: below(d.count))
        default:  // insert random bytes
            d.insert(contentsOf: (0...below(16)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: below(d.count + 1))
        }
        return d
    }
}

/// How many cases each parser gets: a few thousand in `swift test`, more with RNNLAB_FUZZ_CASES=N.
let fuzzCases = ProcessInfo.processInfo.environment["RNNLAB_FUZZ_CASES"].flatMap(Int.init) ?? 3000

/// Feeds `cases` mutations of the fixtures to `parse`. Every case must either parse or throw an error of
/// an expected type whose message names the source; a trap would end the test process. Returns
/// (rejected, accepted) counts and prints them.
@discardableResult
func fuzz(
    _ name: String, fixtures: [Data], seed: UInt64, cases: Int = fuzzCases, file: StaticString = #filePath,
    line: UInt = #line,
    isClear: (Error) -> Bool, parse: (Data, String) throws -> Void
) -> (rejected: Int, accepted: Int) {
    var m = Mutator(seed: seed)
    var rejected = 0, accepted = 0, unclear: [String] = []
    let seeds = fixtures.map { [UInt8]($0) }
    for c in 0..<cases {
        let bytes = m.mutate(seeds[c % seeds.count])
        let source = "\(name)-case-\(c)"
        do {
            try parse(Data(bytes), source)
            accepted += 1
        } catch {
            rejected += 1
            if !isClear(error) || !"\(error)".contains(source) {
                unclear.append("\(source): \(type(of: error)): \(error)")
            }
        }
    }
    print("fuzz \(name): \(cases) cases, \(rejected) rejected with a clear error, \(accepted) parsed")
    XCTAssertEqual(unclear.count, 0, "unclear errors, e.g. \(unclear.prefix(3))", file: file, line: line)
    XCTAssertGreaterThan(rejected, cases / 10, "the mutations should break most files", file: file, line: line)
    return (rejected, accepted)
}
