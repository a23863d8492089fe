// swift-tools-version:5.9
// RNNLab: recurrent networks (RNN, LSTM, GRU) from scratch, with hand-written BPTT, experiments and reports.
import PackageDescription
import Foundation

// SIMD width is a deliberate build-time choice. Swift compiles for the x86-64 baseline (SSE2) unless told
// otherwise, which leaves 4-7x of GEMM speed unused on AVX2/AVX-512 machines. The package therefore
// builds for the CPU it is built on (like `-march=native`), read from /proc/cpuinfo, and records the level
// it chose (`RNNLAB_SIMD_*`) so the binary refuses, with a clear message, to run on a CPU that lacks it.
// Override with RNNLAB_CPU=<llvm cpu name> (e.g. x86-64 for a portable build, haswell, skylake-avx512).
func chosenCPU() -> (cpu: String, level: String)? {
    let env = ProcessInfo.processInfo.environment
    if let forced = env["RNNLAB_CPU"], !forced.isEmpty {
        switch forced {
        case "x86-64", "generic", "baseline": return nil
        case let name
        where name.contains("avx512") || name.hasPrefix("znver4") || name.hasPrefix("znver5")
            || name.contains("sapphire") || name.contains("icelake") || name.contains("cascade"):
            return (name, "AVX512")
        default: return (forced, "AVX2")
        }
    }
    #if arch(x86_64)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return nil }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    if ["avx512f", "avx512vl", "avx512bw", "avx512dq", "fma"].allSatisfy(flags.contains) {
        return ("skylake-avx512", "AVX512")
    }
    if ["avx2", "fma"].allSatisfy(flags.contains) { return ("haswell", "AVX2") }
    #endif
    return nil
}

// Full cross-module optimisation lets the generic (Float/Double) kernels specialise across modules.
var simdSettings: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]
if let choice = chosenCPU() {
    simdSettings += [.unsafeFlags(["-target-cpu", choice.cpu]), .define("RNNLAB_SIMD_\(choice.level)")]
}
// The numeric modules are optimised in debug builds too: unoptimised generic SIMD code runs 50-100x slower,
// which made `swift test` (a debug build) spend most of its time in GEMM. Assertions and testability stay.
let numericSettings = simdSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "RNNLab",
    products: [
        .library(
            name: "RNNLab",
            targets: [
                "Files", "TensorCore", "SequenceData", "Recurrent", "Archives", "Datasets", "Vision", "Interchange",
                "Analysis", "Charts", "Statistics"
            ]),
        .executable(name: "rnnlab", targets: ["rnnlab"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 of every data file (BoringSSL, 8x the hand-written code it replaced).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        // TensorCore's Real refines swift-numerics' Real (elementary functions, generic over Float and Double).
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        // Status lines of a run (a skipped, resumed or failed part) go through swift-log.
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        // ONNX export: onnx.proto's messages, generated once with protoc-gen-swift and committed (Sources/ONNXProto).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        // `swift package generate-documentation`: the DocC catalogs beside each module (no code is linked).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0")
    ],
    targets: [
        // The calling thread's flush-to-zero / denormals-are-zero bits (MXCSR on x86-64, FPCR on arm64).
        .target(name: "CFloatControl"),
        // Contiguous Float/Double tensors, seeded RNG, SIMD GEMM and element-wise kernels.
        .target(
            name: "TensorCore",
            dependencies: ["CFloatControl", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: numericSettings),
        // Files: atomic writes, checked reads, SHA-256, one writer per run folder.
        .target(name: "Files", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Sequence batches (dense or token inputs, value or class targets) and the datasets that gather them.
        .target(name: "SequenceData", dependencies: ["TensorCore"], swiftSettings: numericSettings),
        // RNN / LSTM / GRU / IndRNN cells, stacked layers, BPTT, losses, optimizers, clipping, training loop.
        .target(name: "Recurrent", dependencies: ["TensorCore", "SequenceData"], swiftSettings: numericSettings),
        // The system's zlib and libbz2 (Debian: zlib1g-dev, libbz2-dev).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CBzip2", path: "Sources/CBzip2", providers: [.apt(["libbz2-dev"])]),
        // Archive formats both data and checkpoints arrive in: zip, gzip / raw deflate (zlib), bzip2 (libbz2).
        .target(name: "Archives", dependencies: ["Files", "CZlib", "CBzip2"], swiftSettings: simdSettings),
        // Dataset readers (IDX, CSV, text corpora), checksums, fetching and caching, batching.
        .target(
            name: "Datasets",
            dependencies: ["Files", "TensorCore", "SequenceData", "Archives"],
            swiftSettings: simdSettings),
        // JPEG and PNG decoding through the system's libjpeg(-turbo) and libpng (Debian: libjpeg-dev, libpng-dev).
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        // Images (decode, torchvision-exact resize / crop / normalise), CNN layers, ResNet-18 and EfficientNet-Lite0.
        .target(name: "Vision", dependencies: ["Files", "TensorCore", "CImageCodecs"], swiftSettings: numericSettings),
        // Checkpoints and interchange formats: safetensors, PyTorch .pth, TensorBoard event files, atomic writes.
        // ONNX's protobuf messages, generated from onnx.proto (see its README; not formatted, not edited).
        .target(
            name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["onnx.proto", "README.md"]),
        // TensorBoard's Event / Summary messages, generated from its file descriptors (see its README).
        .target(
            name: "TensorBoardProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["README.md"]),
        .target(
            name: "Interchange",
            dependencies: ["Files", "TensorCore", "Recurrent", "Archives", "ONNXProto", "TensorBoardProto"],
            swiftSettings: simdSettings),
        // Statistics, each implemented once: description, t and binomial intervals, paired and sign tests, Holm's
        // adjustment, correlations.
        .target(name: "Statistics", swiftSettings: numericSettings),
        // Measurements on trained networks: gradient flow, saturation, PCA, t-SNE, unit correlations.
        .target(
            name: "Analysis", dependencies: ["TensorCore", "Recurrent", "Statistics"], swiftSettings: numericSettings),
        // SVG charts and the self-contained HTML report.
        .target(name: "Charts", dependencies: ["Statistics"], swiftSettings: numericSettings),
        // The workbench around the study (package access, not part of the library): run folders and manifests,
        // judging (learning states, comparisons), one task trained, measured and reported into a run folder, user
        // training, the benchmark and the chart gallery.
        .target(
            name: "Workbench",
            dependencies: [
                "Files", "TensorCore", "SequenceData", "Recurrent", "Archives", "Datasets", "Vision", "Interchange",
                "Analysis", "Charts", "Statistics",
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: simdSettings),
        // The study behind `rnnlab all` (package access): its parts (the three experiments), their verdicts and the
        // answers to the assignment's items.
        .target(
            name: "Experiments",
            dependencies: [
                "Workbench", "Files", "TensorCore", "SequenceData", "Recurrent", "Archives", "Datasets", "Vision",
                "Interchange", "Analysis", "Charts", "Statistics",
                .product(name: "Logging", package: "swift-log"),
                // Each part of the study declares its own command-line options.
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            swiftSettings: simdSettings),
        // The thin command-line front end.
        .executableTarget(
            name: "rnnlab",
            dependencies: [
                "Experiments", "Workbench", "Files", "TensorCore", "Recurrent", "Datasets", "Vision",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ], swiftSettings: simdSettings),
        // Small programs that show the library in use; they build with the package and run in seconds.
        .executableTarget(
            name: "CharacterModel", dependencies: ["Recurrent", "SequenceData", "Datasets", "TensorCore"],
            path: "Examples/CharacterModel", swiftSettings: simdSettings),
        .executableTarget(
            name: "ForecastCSV", dependencies: ["Recurrent", "Datasets", "TensorCore"], path: "Examples/ForecastCSV",
            swiftSettings: simdSettings),
        .executableTarget(
            name: "ClassifyPhoto", dependencies: ["Vision", "Interchange", "TensorCore"],
            path: "Examples/ClassifyPhoto", swiftSettings: simdSettings),
        // Child processes for the tests that run rnnlab or a Python (torch, onnxruntime, tensorboard).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], swiftSettings: simdSettings),
        .testTarget(
            name: "RecurrentTests", dependencies: ["Recurrent", "SequenceData", "Interchange"], exclude: ["Fixtures"],
            swiftSettings: simdSettings),
        .testTarget(
            name: "InterchangeTests",
            dependencies: ["Interchange", "Recurrent", "SequenceData", "ONNXProto", "TestSupport", "Files"],
            exclude: ["scripts"],
            swiftSettings: simdSettings),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis"], swiftSettings: simdSettings),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"], swiftSettings: simdSettings),
        .testTarget(
            name: "ExperimentsTests",
            dependencies: [
                "Experiments", "Workbench", "Recurrent", "SequenceData", "Vision", "Analysis", "Files", "Statistics",
                "TensorCore", "TestSupport",
                "Interchange", "Charts", .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            swiftSettings: simdSettings),
        .testTarget(
            name: "DatasetsTests", dependencies: ["Datasets", "Archives", "SequenceData", "Files"],
            exclude: ["Fixtures"],
            swiftSettings: simdSettings),
        .testTarget(
            name: "VisionTests", dependencies: ["Vision", "Interchange", "Recurrent"], exclude: ["Fixtures"],
            swiftSettings: simdSettings),
        // Seeded mutation fuzzing of every file parser over the real fixtures (RNNLAB_FUZZ_CASES for longer runs).
        .testTarget(
            name: "FuzzTests", dependencies: ["Archives", "Datasets", "Interchange", "Vision", "Files", "Charts"],
            swiftSettings: simdSettings),
        // The command line as a user runs it, in a child process: option errors, kill -9 and resume.
        .testTarget(
            name: "CLITests",
            dependencies: [
                "rnnlab", "Interchange", "Vision", "Recurrent", "TestSupport", "Files", "Experiments", "Workbench",
                "Archives"
            ],
            exclude: ["Hostile"],
            swiftSettings: simdSettings),
        .testTarget(name: "ChartsTests", dependencies: ["Charts", "TestSupport"], swiftSettings: simdSettings),
        .testTarget(name: "FilesTests", dependencies: ["Files", "TestSupport"])
    ]
)
