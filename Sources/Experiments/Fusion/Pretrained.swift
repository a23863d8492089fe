import Foundation
import Workbench
import TensorCore
import Datasets
import Vision
import Interchange
import Files

/// The image backbones a user can choose (`--backbone`).
package enum BackboneName: String, Codable, CaseIterable, Sendable {
    case resnet18
    case efficientnetLite0 = "efficientnet-lite0"
}

/// Pretrained image models and their labels, from the verified data cache.
package enum Pretrained {
    /// torchvision's file name for the ImageNet ResNet-18 weights; its 8 hex digits are the start of the file's
    /// SHA-256 (torch.hub's check_hash).
    package static let torchvisionResNet18File = "resnet18-f37072fd.pth"

    /// Where torchvision caches downloaded weights: $TORCH_HOME/hub/checkpoints, else
    /// ~/.cache/torch/hub/checkpoints ($XDG_CACHE_HOME honoured as torch does).
    package static func torchvisionCheckpointDirectories(_ env: [String: String] = ProcessInfo.processInfo.environment)
        -> [URL]
    {
        var dirs: [URL] = []
        if let home = env["TORCH_HOME"] {
            dirs.append(URL(fileURLWithPath: home).appendingPathComponent("hub/checkpoints"))
        }
        let cache =
            env["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: env["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".cache")
        dirs.append(cache.appendingPathComponent("torch/hub/checkpoints"))
        return dirs
    }

    /// torchvision's cached ResNet-18 weights, if present; a file whose SHA-256 does not begin with the 8 hex
    /// digits in its name is refused, as torch.hub refuses it.
    package static func cachedTorchvisionResNet18(_ environment: [String: String]) throws -> URL? {
        let expected = "f37072fd"
        for dir in torchvisionCheckpointDirectories(environment) {
            let url = dir.appendingPathComponent(torchvisionResNet18File)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let digest = Checksum.sha256(try Data(contentsOf: url))
            guard digest.hasPrefix(expected) else {
                throw DataError(
                    """
                    \(url.path): its SHA-256 begins \(digest.prefix(8)), not \(expected) as its name says; the file \
                    is damaged or not torchvision's
                    """)
            }
            return url
        }
        return nil
    }

    /// The backbone that ran and, when it is not the one asked for, why.
    package struct Choice {
        package var backbone: any ImageBackbone
        package var note: String?
    }

    /// The asked-for backbone. ResNet-18 reads `weights` (.pth or safetensors in torchvision's layout) or
    /// torchvision's own cached file (checked against the hash in its name); without either it falls back to
    /// EfficientNet-Lite0 and says so.
    package static func backbone(
        _ name: BackboneName, weights: URL?, cache: DataCache,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Choice {
        switch name {
        case .efficientnetLite0:
            return Choice(backbone: try efficientNetLite0(cache), note: nil)
        case .resnet18:
            if let weights {
                try cache.ledger?.record(weights)
                return Choice(
                    backbone: try ResNet18(
                        stateDict: StateDict(WeightFile.tensors(contentsOf: weights, wanted: ResNet18.reads))),
                    note: nil)
            }
            if let url = try cachedTorchvisionResNet18(environment) {
                try cache.ledger?.record(url)
                return Choice(
                    backbone: try ResNet18(
                        stateDict: StateDict(WeightFile.tensors(contentsOf: url, wanted: ResNet18.reads))), note: nil)
            }
            let looked = torchvisionCheckpointDirectories(environment).map(\.path).joined(separator: ", ")
            return Choice(
                backbone: try efficientNetLite0(cache),
                note: """
                    ResNet-18 was asked for, but no weights were given (--weights FILE) and torchvision's \
                    \(torchvisionResNet18File) is not in \(looked); EfficientNet-Lite0 ran instead
                    """)
        }
    }

    package static func efficientNetLite0(_ cache: DataCache) throws -> EfficientNetLite0 {
        try EfficientNetLite0(stateDict: StateDict(TorchCheckpoint.load(try cache.file(.efficientNetLite0))))
    }

    package static func imagenetClassNames(_ cache: DataCache) throws -> [String] {
        try classNames(try cache.file(.imagenetClasses))
    }

    /// A JSON list of 1000 class names.
    package static func classNames(_ url: URL) throws -> [String] {
        let data = try DataError.contents(of: url)
        guard let names = (try? JSONSerialization.jsonObject(with: data)) as? [String], names.count == 1000 else {
            throw DataError("\(url.path): expected a JSON list of 1000 class names")
        }
        return names
    }

    /// The k most probable classes (softmax over the logits).
    package static func topK(_ logits: [Float], names: [String], k: Int = 5) throws -> [(
        name: String, probability: Double
    )] {
        // A fine-tuned head (10 classes) read with ImageNet's names would print ImageNet's first ten for its ten.
        guard logits.count == names.count else {
            throw InputError(
                description: """
                    the weights score \(logits.count) classes but \(names.count) class names were given; pass --labels \
                    with a JSON list of \(logits.count) names
                    """)
        }
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp(Double($0 - m)) }, s = e.reduce(0, +)
        return e.enumerated().sorted { $0.element > $1.element }.prefix(k).map {
            (names.indices.contains($0.offset) ? names[$0.offset] : "class \($0.offset)", $0.element / s)
        }
    }
}
