import Foundation
import Files
import Archives
import Datasets
import Interchange
import Vision

// One libFuzzer driver for every reader of a user's file; the first argument names the target, the rest go to
// libFuzzer (corpus folders, -max_total_time=...). An input may parse or throw the reader's own error; anything
// else (a trap, a signal, an out-of-bounds read that AddressSanitizer sees) is a crash libFuzzer keeps.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt
) -> CInt

/// The readers, by target name: each takes the bytes of one file.
let targets: [String: (Data) throws -> Void] = [
    "pickle": { _ = try TorchCheckpoint.load(data: $0, source: "fuzz.pth") },
    "zip": { bytes in
        let zip = try ZipArchive(data: bytes, source: "fuzz.zip")
        for e in zip.entries.prefix(4) { _ = try zip.extract(e.name) }
    },
    "safetensors": { bytes in
        let f = try SafetensorsFile(bytes: bytes, source: "fuzz.safetensors")
        for name in f.names { _ = try f.tensor(name, as: Float.self) }
    },
    "csv": { bytes in
        let t = try CSVTable(data: bytes, source: "fuzz.csv")
        if let first = t.header.first { _ = try? t.numbers(first, missing: .interpolate) }
    },
    "idx": { _ = try IDXFile(data: $0, source: "fuzz.idx") },
    "image": { _ = try RGBImage(data: $0, source: "fuzz.img") }
]

var arguments = CommandLine.arguments
guard arguments.count >= 2, let chosen = targets[arguments[1]] else {
    FileHandle.standardError.write(
        Data("usage: RNNLabFuzz \(targets.keys.sorted().joined(separator: "|")) [libFuzzer options]\n".utf8))
    exit(2)
}
let target = chosen
arguments.remove(at: 1)
var argc = CInt(arguments.count)
var cArguments = arguments.map { strdup($0) } + [nil]
cArguments.withUnsafeMutableBufferPointer { buffer in
    var argv = buffer.baseAddress!
    _ = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
        do { try target(bytes) } catch {}
        return 0
    }
}
