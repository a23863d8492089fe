import Foundation
import SequenceData
import Statistics
import TensorCore

/// The trivial predictors a model must beat to be said to have learned, computed from a task's splits: their loss
/// on the validation split in the model's own loss units, and chance on the test split.
extension TrivialBaseline {
    /// Predicting the training targets' mean for every target: the MSE it scores on the validation targets.
    static func trainingMean(train: [Float], validation: [Float]) -> TrivialBaseline {
        let mean = train.reduce(0.0) { $0 + Double($1) } / Double(max(train.count, 1))
        let mse =
            validation.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
            / Double(max(validation.count, 1))
        return TrivialBaseline(name: "training mean", validationLoss: mse)
    }

    /// The training mean of two value datasets' targets (`trainingMean(train:validation:)`).
    package static func trainingMean(_ train: TensorSequenceDataset<Float>, _ validation: TensorSequenceDataset<Float>)
        -> TrivialBaseline
    {
        func values(_ d: TensorSequenceDataset<Float>) -> [Float] {
            if case .values(let y) = d.targets { return y.data }
            return []
        }
        return trainingMean(train: values(train), validation: values(validation))
    }

    /// Predicting the last input value for the next one (a series' naive forecast): its MSE on the validation
    /// windows, whose single input feature is the series itself.
    static func naiveLastValue(validation: TensorSequenceDataset<Float>) -> TrivialBaseline? {
        naiveItems(validation).map { TrivialBaseline(name: "naive last value", validationLoss: Stats.mean($0.values)) }
    }

    /// Predicting every class with its training frequency (add-one smoothed): the cross-entropy it scores on the
    /// validation labels (for characters, the unigram model); chance is the majority class's share of `test`.
    package static func classPrior(
        train: [Int], validation: [Int], test: [Int]?, classes: Int, name: String = "class prior"
    ) -> TrivialBaseline {
        var counts = [Double](repeating: 1, count: max(classes, 1))
        for c in train where counts.indices.contains(c) { counts[c] += 1 }
        let total = counts.reduce(0, +)
        let loss =
            validation.reduce(0.0) { sum, c in
                sum - Foundation.log(counts.indices.contains(c) ? counts[c] / total : 1 / total)
            } / Double(max(validation.count, 1))
        let chance = test.flatMap { t -> Double? in
            guard !t.isEmpty else { return nil }
            var seen: [Int: Int] = [:]
            for c in t { seen[c, default: 0] += 1 }
            return Double(seen.values.max() ?? 0) / Double(t.count)
        }
        return TrivialBaseline(name: name, validationLoss: loss, chance: chance)
    }
}
