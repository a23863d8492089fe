import Foundation
import Charts
import Recurrent
import SequenceData
import Statistics

/// A classifier read as a classifier's user reads one: each model's confusion matrix on the held-out split and its
/// per-class precision, recall and F1 (`rnnlab train` on labelled texts and images).
package enum ClassifierReadings {
    /// Each model's scores on the held-out split, by the most probable class of every item.
    static func measure(_ trained: [ModelRecipe.Trained], _ task: TaskTraining.Task, classes: [String]) throws
        -> [ClassificationScores]
    {
        let held: (count: Int, batch: ([Int]) -> SequenceBatch<Float>, labels: [Int])
        if let t = task.tokenValidation ?? task.tokens?.1 {
            held = (t.count, t.batch, t.labels)
        } else if let d = task.validation ?? task.test, case .classes(let labels) = d.targets {
            held = (d.count, d.batch, labels)
        } else {
            return []
        }
        return try trained.map { m in
            var predicted: [Int] = []
            for start in stride(from: 0, to: held.count, by: 256) {
                let out = try m.model.predict(held.batch(Array(start..<min(start + 256, held.count))).input)
                let k = out.shape[1]
                for row in 0..<out.shape[0] {
                    let v = out.data[(row * k)..<((row + 1) * k)]
                    predicted.append(v.indices.max { v[$0] < v[$1] }! - row * k)
                }
            }
            return ClassificationScores(actual: held.labels, predicted: predicted, classes: classes.count)
        }
    }

    /// Each model's macro F1 and its per-class precision / recall / F1 on `split`.
    static func finding(_ scores: [ClassificationScores], models: [String], classes: [String], split: String)
        -> Finding?
    {
        guard !scores.isEmpty else { return nil }
        let parts = zip(models, scores).map { model, s in
            "\(model) macro F1 \(fmt(s.macroF1, 3)) ("
                + classes.indices.map { k in
                    "\(classes[k]) \(fmt(s.precision[k], 2)) / \(fmt(s.recall[k], 2)) / \(fmt(s.f1[k], 2))"
                }.joined(separator: ", ") + ")"
        }
        return Finding.detail(
            "On the \(split) split, per class precision / recall / F1: \(parts.joined(separator: "; ")).",
            numbers: Dictionary(uniqueKeysWithValues: zip(models, scores).map { ("\($0) macro F1", $1.macroF1) }))
    }

    /// Per model its confusion matrix (rows the actual class, columns the predicted one) and a table of its scores.
    static func draw(
        _ scores: [ClassificationScores], models: [String], classes: [String], split: String, key: String,
        folder: RunFolder, report: inout HTMLReport
    ) throws {
        guard !scores.isEmpty else { return }
        report.section("Confusion matrix and per-class scores (\(split) split)", level: 4)
        let size = 160 + 36 * Double(classes.count)
        try folder.figure(
            SmallMultiples(
                title: "Confusion matrices, \(split) split (rows: actual class, columns: predicted)",
                panels: zip(models, scores).map { model, s in
                    Heatmap(
                        title: model, values: s.counts.map { $0.map(Double.init) }, rowLabels: classes,
                        columnLabels: classes, annotate: classes.count <= 12, width: size, height: size) as Chart
                }, columns: min(models.count, 3)),
            "real/\(key)/confusion.svg",
            caption: "How many items of each actual class each model gave each class; the diagonal is right.",
            into: &report)
        for (model, s) in zip(models, scores) {
            report.table(
                headers: ["class", "precision", "recall", "F1", "support"],
                rows: classes.indices.map { k in
                    [classes[k], fmt(s.precision[k], 3), fmt(s.recall[k], 3), fmt(s.f1[k], 3), String(s.support[k])]
                } + [["macro mean", "", "", fmt(s.macroF1, 3), String(s.support.reduce(0, +))]],
                caption: "\(model), \(split) split")
        }
    }
}
