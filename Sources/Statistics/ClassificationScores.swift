import Foundation

/// A classifier's confusion matrix and the per-class scores read from it, as scikit-learn's confusion_matrix and
/// precision_recall_fscore_support give them: precision = TP / predicted, recall = TP / actual, F1 their harmonic
/// mean (0 where a class is never predicted or never present, as zero_division=0 gives).
public struct ClassificationScores: Codable, Equatable, Sendable {
    /// counts[actual][predicted].
    public var counts: [[Int]]
    public var precision: [Double], recall: [Double], f1: [Double]
    /// How many items of each class there are (the rows' sums).
    public var support: [Int]

    /// Counts `actual[i]` against `predicted[i]` over `classes` classes.
    public init(actual: [Int], predicted: [Int], classes: Int) {
        var counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (a, p) in zip(actual, predicted) where (0..<classes).contains(a) && (0..<classes).contains(p) {
            counts[a][p] += 1
        }
        let support = counts.map { $0.reduce(0, +) }
        let predictedTotals = (0..<classes).map { k in counts.reduce(0) { $0 + $1[k] } }
        let precision = (0..<classes).map {
            predictedTotals[$0] > 0 ? Double(counts[$0][$0]) / Double(predictedTotals[$0]) : 0
        }
        let recall = (0..<classes).map { support[$0] > 0 ? Double(counts[$0][$0]) / Double(support[$0]) : 0 }
        self.counts = counts; self.support = support; self.precision = precision; self.recall = recall
        f1 = zip(precision, recall).map { p, r in p + r > 0 ? 2 * p * r / (p + r) : 0 }
    }

    /// The unweighted mean F1 over the classes present.
    public var macroF1: Double {
        let present = support.indices.filter { support[$0] > 0 }
        return present.isEmpty ? 0 : present.reduce(0) { $0 + f1[$1] } / Double(present.count)
    }

    /// The share of items on the diagonal.
    public var accuracy: Double {
        let total = support.reduce(0, +)
        return total == 0 ? 0 : Double(counts.indices.reduce(0) { $0 + counts[$1][$1] }) / Double(total)
    }
}
