import Foundation
import Datasets
import Files
import Statistics
import TensorCore

/// A CSV series run on new data as a forecaster reads it: every window's forecast beside the value it forecasts and
/// the row that value is on (or the row's value in a column the user names, a date), one more forecast after the
/// last row, and the errors in the series' own units.
package enum SeriesInference {
    /// One forecast: of the value in row `index` (its actual value there), or after the last row (no actual).
    package struct Forecast: Equatable, Sendable {
        package var index: String
        package var actual: Double?
        package var forecast: Double
        /// The naive forecast of the same value: the window's last value.
        package var naive: Double
    }

    /// Every window's forecast in the series' units, then the forecast after the last row. `indexColumn` names each
    /// record by that column's value instead of its row number.
    static func forecasts(_ run: TrainedRun, data: URL, indexColumn: String?) throws -> [Forecast] {
        let c = run.config, p = run.preprocessing
        guard let mean = p.mean, let std = p.std, let column = c.column else {
            throw DataError("\(run.folder.path) holds no series model")
        }
        let table = try CSVTable(contentsOf: data, delimiter: c.delimiterScalar)
        let (values, rows, _) = try table.numbersWithRows(column, missing: c.missing ?? .error)
        let w = c.window, h = c.horizon
        guard values.count >= w else {
            throw DataError("\(data.path): \(values.count) values, fewer than one window of \(w)")
        }
        let names = try indexColumn.map { name in try table.rows.map { $0[try table.column(name)] } }
        func name(row: Int) -> String { names.map { $0[row - 2] } ?? "row \(row)" }
        // Every window whose target is in the data, and the last window: its target is past the last row.
        let last = values.count - w
        let starts = Array(0..<max(0, values.count - w - h + 1)) + [last]
        var out = [Float]()
        for chunk in stride(from: 0, to: starts.count, by: 256) {  // 256 windows at a time, as predict reads them
            let batch = starts[chunk..<min(chunk + 256, starts.count)]
            let x = batch.flatMap { s in values[s..<(s + w)].map { Float(($0 - mean) / std) } }
            out += try run.model.predict(.dense(try Tensor(shape: [batch.count, w, 1], data: x))).data
        }
        return starts.enumerated().map { i, s in
            let target = s + w + h - 1, known = target < values.count
            let ahead = h == 1 ? "after" : "\(h) rows after"
            return Forecast(
                index: known ? name(row: rows[target]) : "\(ahead) \(name(row: rows[values.count - 1])), the last",
                actual: known ? values[target] : nil, forecast: Double(out[i]) * std + mean,
                naive: values[s + w - 1])
        }
    }

    /// The errors of the forecasts that have an actual value, against the run's training part's naive scale (or,
    /// for a run from before rnnlab recorded it, this data's own, said in `note`).
    static func errors(_ forecasts: [Forecast], _ run: TrainedRun) -> (errors: ForecastErrors, note: String?) {
        let known = forecasts.filter { $0.actual != nil }
        let actual = known.map { $0.actual! }
        let scale = run.preprocessing.naiveScale ?? ForecastErrors.naiveScale(actual)
        let note =
            run.preprocessing.naiveScale == nil
            ? "MASE is scaled by this data's own one-step naive MAE: the run's preprocessing.json predates the "
                + "training part's" : nil
        return (
            ForecastErrors(actual: actual, forecast: known.map(\.forecast), naive: known.map(\.naive), scale: scale),
            note
        )
    }
}
