import Foundation
import TensorCore
import Datasets
import Vision
import Interchange

/// Pretrained image models and their labels, from the verified data cache.
public enum Pretrained {
    public static func efficientNetLite0(_ cache: DataCache) throws -> EfficientNetLite0 {
        try EfficientNetLite0(stateDict: StateDict(TorchCheckpoint.load(try cache.file(.efficientNetLite0))))
    }

    public static func imagenetClassNames(_ cache: DataCache) throws -> [String] {
        let url = try cache.file(.imagenetClasses)
        guard let names = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String],
            names.count == 1000
        else {
            throw DataError("\(url.path): expected a JSON list of 1000 class names")
        }
        return names
    }

    /// The k most probable classes (softmax over the logits).
    public static func topK(_ logits: [Float], names: [String], k: Int = 5) -> [(name: String, probability: Double)] {
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp(Double($0 - m)) }, s = e.reduce(0, +)
        return e.enumerated().sorted { $0.element > $1.element }.prefix(k).map {
            (names.indices.contains($0.offset) ? names[$0.offset] : "class \($0.offset)", $0.element / s)
        }
    }
}
