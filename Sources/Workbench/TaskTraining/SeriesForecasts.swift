import Foundation
import Charts
import Recurrent
import SequenceData
import Statistics
import TensorCore

/// A series forecaster read in the series' own units, as forecasters read one: each model's forecasts of the held-out
/// period beside the actual values, their RMSE, MAE and MASE, and a forecast-against-actual chart.
package enum SeriesForecasts {
    /// How normalised values map back to the series' units, and the MASE scale (`rnnlab train` sets it).
    package struct Units: Sendable {
        package var name: String, mean: Double, std: Double, naiveScale: Double?
        package init(name: String, mean: Double, std: Double, naiveScale: Double?) {
            self.name = name; self.mean = mean; self.std = std; self.naiveScale = naiveScale
        }
    }

    /// One model's forecasts of the held-out windows, in units.
    struct ModelForecasts {
        var model: String
        var actual: [Double], forecast: [Double]
        var errors: ForecastErrors
    }

    /// Every model's forecasts of `windows` (normalised inputs, values targets) in `units`.
    static func measure(_ trained: [ModelRecipe.Trained], windows: TensorSequenceDataset<Float>, units: Units)
        throws -> [ModelForecasts]
    {
        guard case .values(let targets) = windows.targets else { return [] }
        let w = windows.inputs.shape[1], n = windows.count
        func unscaled(_ z: Float) -> Double { Double(z) * units.std + units.mean }
        let actual = targets.data.map(unscaled)
        let naive = (0..<n).map { unscaled(windows.inputs.data[($0 + 1) * w - 1]) }
        return try trained.map { m in
            var forecast: [Double] = []
            for start in stride(from: 0, to: n, by: 256) {
                let batch = windows.batch(Array(start..<min(start + 256, n)))
                forecast += try m.model.predict(batch.input).data.map(unscaled)
            }
            return ModelForecasts(
                model: m.cell.displayName, actual: actual, forecast: forecast,
                errors: ForecastErrors(actual: actual, forecast: forecast, naive: naive, scale: units.naiveScale))
        }
    }

    /// The errors stated in the series' units, each model's MASE against the naive forecast's scale.
    static func finding(_ forecasts: [ModelForecasts], units: Units, split: String) -> Finding? {
        guard let first = forecasts.first else { return nil }
        let models = forecasts.map { f in
            "\(f.model) RMSE \(fmt(f.errors.rmse, 3)), MAE \(fmt(f.errors.mae, 3))"
                + (f.errors.mase.map { ", MASE \(fmt($0, 3))" } ?? "")
        }
        return Finding.detail(
            """
            In \(units.name)'s own units on the \(split) period (\(first.errors.count) forecasts): \
            \(models.joined(separator: "; ")); the naive forecast (the window's last value) has MAE \
            \(fmt(first.errors.naiveMAE, 3)). MASE divides MAE by the training part's one-step naive MAE \
            (\(units.naiveScale.map { fmt($0, 3) } ?? "none: a constant series")): below 1 beats that naive forecast.
            """,
            numbers: Dictionary(
                uniqueKeysWithValues: forecasts.flatMap { f in
                    [("\(f.model) RMSE", f.errors.rmse), ("\(f.model) MAE", f.errors.mae)]
                        + (f.errors.mase.map { [("\(f.model) MASE", $0)] } ?? [])
                }))
    }

    /// Forecast against actual over the held-out period, every model.
    static func figure(
        _ forecasts: [ModelForecasts], units: Units, split: String, path: String, folder: RunFolder,
        report: inout HTMLReport
    ) throws {
        guard let first = forecasts.first else { return }
        let x = (1...first.actual.count).map(Double.init)
        let series =
            [LineSeries(name: "actual", x: x, y: first.actual, color: "#000000")]
            + forecasts.enumerated().map { i, f in
                LineSeries(name: f.model, x: x, y: f.forecast, dashed: true, color: Palette.color(i))
            }
        try folder.figure(
            LineChart(
                title: "\(units.name): forecast against actual, \(split) period", xLabel: "forecast",
                yLabel: units.name, series: series),
            path,
            caption:
                "Each model's forecast (dashed) of every \(split) value against the actual value, in the series' "
                + "units.",
            into: &report)
    }
}
