import Foundation
import TensorCore
import Recurrent
import SequenceData

/// Sine-wave next-value prediction: inputs are a noisy sine, targets the clean value one step ahead.
/// x_t = sin(w t + phi) + N(0, noise^2), y_t = sin(w (t + 1) + phi), w ~ U(0.2, 0.5) rad/step, phi ~ U(0, 2 pi).
package struct SineTask {
    package var inputs: Tensor<Float>  // [N, T, 1]
    package var targets: Tensor<Float>  // [N, T, 1] clean next values
    package var clean: Tensor<Float>  // [N, T, 1] clean current values (for plots)

    package init(count: Int, steps: Int, noise: Double, rng: inout SeededRandom) {
        var x = [Float](), y = [Float](), c = [Float]()
        for _ in 0..<count {
            let w = rng.uniform(0.2, 0.5), phi = rng.uniform(0, 2 * .pi)
            for t in 0..<steps {
                let v = sin(w * Double(t) + phi)
                c.append(Float(v)); x.append(Float(v + noise * rng.normal()));
                y.append(Float(sin(w * Double(t + 1) + phi)))
            }
        }
        inputs = try! Tensor(shape: [count, steps, 1], data: x)
        targets = try! Tensor(shape: [count, steps, 1], data: y)
        clean = try! Tensor(shape: [count, steps, 1], data: c)
    }

    /// Rows [from, to) as a dataset.
    package func slice(_ range: Range<Int>) -> TensorSequenceDataset<Float> {
        let T = inputs.shape[1]
        let x = try! Tensor(
            shape: [range.count, T, 1], data: Array(inputs.data[(range.lowerBound * T)..<(range.upperBound * T)]))
        let y = try! Tensor(
            shape: [range.count, T, 1], data: Array(targets.data[(range.lowerBound * T)..<(range.upperBound * T)]))
        return TensorSequenceDataset(inputs: x, targets: .values(y))
    }
}

/// The adding problem (Hochreiter & Schmidhuber 1997): each step carries a value in [0, 1] and a marker;
/// two steps are marked (one in each half) and the target is the sum of their values, read at the last
/// step. Predicting the mean, 1.0, scores MSE 1/6; doing better needs memory across the whole sequence.
package struct AddingTask {
    package static let baselineMSE = 1.0 / 6.0
    package var data: TensorSequenceDataset<Float>

    package init(count: Int, steps: Int, rng: inout SeededRandom) {
        var x = [Float](), y = [Float]()
        for _ in 0..<count {
            let a = rng.int(below: steps / 2), b = steps / 2 + rng.int(below: steps - steps / 2)
            var sum = 0.0
            for t in 0..<steps {
                let v = rng.unit()
                let marked = t == a || t == b
                if marked { sum += v }
                x.append(Float(v)); x.append(marked ? 1 : 0)
            }
            y.append(Float(sum))
        }
        data = TensorSequenceDataset(
            inputs: try! Tensor(shape: [count, steps, 2], data: x),
            targets: .values(try! Tensor(shape: [count, 1], data: y)))
    }
}

/// Character-level language modelling on a text: a vocabulary of the characters that occur, windows of
/// `steps` characters as inputs and the same windows shifted by one as targets.
package struct CharTask {
    package let vocabulary: [Character]
    package let index: [Character: Int]
    package let train: TokenSequenceDataset<Float>
    package let validation: TokenSequenceDataset<Float>

    package init(text: String, steps: Int, stride: Int, validationFraction: Double) {
        vocabulary = Array(Set(text)).sorted()
        var idx: [Character: Int] = [:]
        for (i, c) in vocabulary.enumerated() { idx[c] = i }
        index = idx
        let ids = text.map { idx[$0]! }
        let split = Int(Double(ids.count) * (1 - validationFraction))
        func windows(_ part: ArraySlice<Int>) -> TokenSequenceDataset<Float> {
            var xs: [[Int]] = [], ys: [Int] = []
            var s = part.startIndex
            while s + steps + 1 <= part.endIndex {
                xs.append(Array(part[s..<(s + steps)])); ys += part[(s + 1)..<(s + steps + 1)]
                s += stride
            }
            return TokenSequenceDataset(tokens: xs, labels: ys)
        }
        train = windows(ids[0..<split])
        validation = windows(ids[split...])
    }

    package func encode(_ s: String) -> [Int] { s.compactMap { index[$0] } }
}
