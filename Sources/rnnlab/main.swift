import ArgumentParser
import Foundation
import Experiments
import Recurrent
import TensorCore

@main
struct RNNLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnnlab",
        abstract: "Recurrent networks (RNN, LSTM, GRU) from scratch: train, measure, and see inside them.",
        subcommands: [Bench.self, GalleryCommand.self])

    /// Every subcommand starts here: refuse clearly on a CPU without the SIMD level this build uses.
    static func prepare() throws {
        do { try CPUFeatures.verify() } catch { throw ValidationError("\(error)") }
    }
}

extension CellKind: ExpressibleByArgument {}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time forward+backward of one recurrent layer stack; prints JSON (timesteps/s = batch*seq/s).")
    @Option(help: "rnn, lstm or gru") var cell: CellKind = .lstm
    @Option var hidden = 128
    @Option var input = 32
    @Option var batch = 64
    @Option(name: .customLong("seq")) var steps = 100
    @Option var layers = 1
    @Option var threads = 1
    @Option var iterations = 20
    @Flag(help: "Also compute dL/dx (PyTorch does when x.requires_grad).") var inputGradient = false

    func run() throws {
        try RNNLab.prepare()
        let r = try Benchmark.run(BenchmarkSpec(cell: cell, hidden: hidden, input: input, batch: batch, steps: steps,
                                                layers: layers, threads: threads, iterations: iterations,
                                                inputGradient: inputGradient))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(r), as: UTF8.self))
    }
}

struct GalleryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gallery", abstract: "Draw one chart of every kind (SVG + HTML) into a folder.")
    @Option(help: "Output folder.") var out = "runs/gallery"

    func run() throws {
        try RNNLab.prepare()
        for url in try Gallery.write(to: URL(fileURLWithPath: out)) { print(url.path) }
    }
}
