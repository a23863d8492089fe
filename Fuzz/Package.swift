// swift-tools-version:5.9
// libFuzzer targets for every reader of a user's file (opt-in: a package of its own, so the main package's
// `swift build` and `swift test` are unchanged). Build and run: Fuzz/run.sh TARGET SECONDS (see its header).
import PackageDescription

let package = Package(
    name: "RNNLabFuzz",
    dependencies: [.package(name: "RNNLab", path: "..")],
    targets: [
        .executableTarget(name: "RNNLabFuzz", dependencies: [.product(name: "RNNLab", package: "RNNLab")])
    ]
)
