import Foundation
import Recurrent
import SequenceData
import TensorCore

/// One model's single read of a task's test split: its loss and accuracy as the trainer measures them, and per test
/// item the squared error (a forecast) or 1 for a correct class and 0 otherwise, for comparisons paired over items.
package struct TestRead {
    var loss: Double, accuracy: Double
    var items: [Double]
}

/// The trivial predictor's value on every test item (its squared error, or 1 where it is right), the other side of
/// a model's comparison over the same items.
package struct BaselineItems: Codable, Sendable, Equatable {
    package var name: String
    package var values: [Double]
}

extension TaskTraining.Task {
    /// The trained model on the test split: the one read of it for this model, with every item's value.
    func test(_ trainer: Trainer<Float>) throws -> TestRead {
        testReads.count += 1
        let r = try tokens.map { try trainer.evaluateItems($0.1) } ?? trainer.evaluateItems(test!)
        return TestRead(loss: r.loss, accuracy: r.accuracy, items: r.items)
    }

    /// The trivial predictor on every test item: for classes the training split's majority class (1 where it is
    /// right), for a series the last input value, for other values the training mean (squared errors).
    var baselineItems: BaselineItems? {
        if let t = tokens {
            return Self.majorityItems(train: t.0.labels, test: t.1.labels)
        }
        guard let train, let test else { return nil }
        switch (train.targets, test.targets) {
        case (.classes(let a), .classes(let b)): return Self.majorityItems(train: a, test: b)
        case (.values(let a), .values(let y)):
            if series, let naive = TrivialBaseline.naiveItems(test) { return naive }
            let mean = a.data.reduce(0.0) { $0 + Double($1) } / Double(max(a.count, 1))
            return BaselineItems(
                name: "training mean", values: y.data.map { (Double($0) - mean) * (Double($0) - mean) })
        default: return nil
        }
    }

    static func majorityItems(train: [Int], test: [Int]) -> BaselineItems? {
        var counts: [Int: Int] = [:]
        for c in train { counts[c, default: 0] += 1 }
        guard let majority = counts.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) })?.key else { return nil }
        return BaselineItems(name: "majority class", values: test.map { $0 == majority ? 1 : 0 })
    }

    /// The trivial baseline the task's models are judged against: the class prior (chance: the test split's majority
    /// share), the naive last value for a series, the training mean for other values.
    var trivialBaseline: TrivialBaseline? {
        if let t = tokens {
            return .classPrior(
                train: t.0.labels, validation: (tokenValidation ?? t.1).labels, test: t.1.labels, classes: outputs)
        }
        guard let train, let v = validation ?? test else { return nil }
        switch (train.targets, v.targets) {
        case (.classes(let a), .classes(let b)):
            var testLabels: [Int]? = nil
            if case .classes(let t)? = test?.targets { testLabels = t }
            return .classPrior(train: a, validation: b, test: testLabels, classes: outputs)
        case (.values, .values):
            if series, let naive = TrivialBaseline.naiveLastValue(validation: v) { return naive }
            return .trainingMean(train, v)
        default: return nil
        }
    }
}

extension TrivialBaseline {
    /// The naive forecast's squared error on every window of a series split (its one input feature the series).
    static func naiveItems(_ data: TensorSequenceDataset<Float>) -> BaselineItems? {
        guard case .values(let y) = data.targets, data.inputs.shape.count == 3, data.inputs.shape[2] == 1,
            y.count == data.count, data.count > 0
        else { return nil }
        let steps = data.inputs.shape[1]
        return BaselineItems(
            name: "naive forecast",
            values: (0..<data.count).map { i in
                let d = Double(data.inputs.data[i * steps + steps - 1]) - Double(y.data[i])
                return d * d
            })
    }
}
