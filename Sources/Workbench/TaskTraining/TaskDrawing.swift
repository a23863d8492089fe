import Foundation
import Charts
import Recurrent

/// One task drawn: its section of the report and its figures, from what it measured (`TaskTraining.measure`).
extension TaskTraining {
    package static func render(_ m: Measured, folder: RunFolder, report: inout HTMLReport) throws {
        let r = m.result, key = r.task
        report.section(m.title, level: 3)
        report.paragraph(r.description)
        try TaskReport.figures(
            task: key, label: m.label, results: r.models, trackers: m.trackers, objective: m.objective,
            baselines: r.baselines, split: m.heldOut, folder: folder, report: &report)
        try TaskReport.gradientFlowFigure(task: key, label: m.label, m.flow, folder: folder, report: &report)
        try TaskReport.gradientOverTrainingFigure(task: key, label: m.label, r.models, folder: folder, report: &report)
        if let units = m.units {
            try SeriesForecasts.figure(
                m.forecasts, units: units, split: "validation", path: "real/\(key)/forecast_vs_actual.svg",
                folder: folder, report: &report)
        }
        if let classes = m.classNames {
            try ClassifierReadings.draw(
                m.classScores, models: r.models.map(\.model), classes: classes, split: "validation", key: key,
                folder: folder, report: &report)
        }
        try GatesOverTime.draw(
            m.gates, path: { "real/\(key)/\($0.rawValue)_gates.svg" }, folder: folder, report: &report)
        if let inside = m.inside { try draw(inside, key: key, folder: folder, report: &report) }
        report.list(m.listed.map(\.text))
        if let note = resumeNote(r.models) { report.paragraph(note) }
        if let note = trainedElsewhereNote(r.models) { report.paragraph(note) }
        if let runs = r.gateInits { try drawGateInits(runs, m, folder: folder, report: &report) }
    }

    /// Which epochs another framework trained (scripts/continue_in_pytorch.py records itself in each epoch's record).
    static func trainedElsewhereNote(_ models: [ModelResult]) -> String? {
        let parts = models.compactMap { m -> String? in
            let elsewhere = m.history.filter { $0.trainedBy != nil }
            guard let by = elsewhere.first?.trainedBy else { return nil }
            return "\(m.model) epochs \(elsewhere.map { String($0.epoch) }.joined(separator: ", ")) by \(by)"
        }
        guard !parts.isEmpty else { return nil }
        return "Trained outside rnnlab (scripts/continue_in_pytorch.py), then read back: "
            + parts.joined(separator: "; ") + ". The other epochs were trained here."
    }

    /// A task that did not finish: its error and what a rerun does.
    package static func renderFailure(_ result: TaskResult, advice: String, report: inout HTMLReport) {
        report.section("\(result.task): failed", level: 3)
        report.paragraph("Stopped with an error: \(result.failure ?? "unknown"). \(advice)")
    }

    /// Units over text and gates over time for a character model's held-out passage, under real/TASK/.
    static func draw(_ inside: InsideTheCharacterModels, key: String, folder: RunFolder, report: inout HTMLReport)
        throws
    {
        guard inside.known >= 2 else {
            report.paragraph(
                "Units over text and gates over time are not shown: the held-out text has \(inside.known) "
                    + "character(s) the model knows, and they need at least 2.")
            return
        }
        try UnitsOverText.present(inside.units, prefix: "real/\(key)/", folder: folder, report: &report)
        report.section("Gates over time", level: 4)
        try GatesOverTime.draw(
            inside.gates, path: { "real/\(key)/\($0.rawValue)_gates.svg" }, folder: folder, report: &report)
    }

    /// The LSTM from each gate initialisation: validation accuracy per epoch, and the comparison's findings.
    static func drawGateInits(
        _ runs: [GateInitComparison.Run], _ m: Measured, folder: RunFolder, report: inout HTMLReport
    ) throws {
        report.section("The LSTM's gate initialisation on \(m.label)", level: 4)
        try folder.figure(
            LineChart(
                title: "LSTM validation accuracy per epoch, by gate initialisation", xLabel: "epoch",
                yLabel: "accuracy",
                series: runs.enumerated().map { i, r in
                    LineSeries(name: r.gateInit.rawValue, y: r.accuracyPerEpoch, color: Palette.color(i))
                }, markers: true),
            "real/\(m.result.task)/lstm_gate_init.svg",
            caption:
                """
                The same LSTM, data and seed, with the forget-gate bias at 1 (Keras) or chrono initialisation \
                (Tallec and Ollivier 2018, T = \(m.steps)).
                """,
            into: &report)
        report.list(m.result.findings.suffix(3).map(\.text))
    }
}
