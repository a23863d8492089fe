import Foundation

/// A forecast's errors in the series' own units, as forecasters report them (statsmodels, Darts, GluonTS): root
/// mean squared error, mean absolute error, and the mean absolute scaled error (Hyndman and Koehler 2006): the MAE
/// over the in-sample MAE of the one-step naive forecast (y_t predicted by y_{t-1}), so 1 means as good as that naive
/// forecast on the training part, below 1 better.
public struct ForecastErrors: Codable, Equatable, Sendable {
    public var count: Int
    public var rmse: Double, mae: Double
    /// MAE / the in-sample naive MAE; nil without a scale (a constant training series has none).
    public var mase: Double?
    /// The MAE of the naive forecast (the window's last value) on the same windows, for comparison.
    public var naiveMAE: Double

    /// `forecast[i]` against `actual[i]`; `naive[i]` is the naive forecast of the same target; `scale` the in-sample
    /// one-step naive MAE (`Self.naiveScale`).
    public init(actual: [Double], forecast: [Double], naive: [Double], scale: Double?) {
        precondition(actual.count == forecast.count && actual.count == naive.count, "one forecast per actual value")
        let n = Double(max(actual.count, 1))
        count = actual.count
        rmse = (zip(actual, forecast).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / n).squareRoot()
        mae = zip(actual, forecast).reduce(0) { $0 + abs($1.0 - $1.1) } / n
        naiveMAE = zip(actual, naive).reduce(0) { $0 + abs($1.0 - $1.1) } / n
        mase = scale.flatMap { $0 > 0 ? mae / $0 : nil }
    }

    /// The in-sample MAE of the one-step naive forecast: the mean of |y_t - y_{t-1}| over `series` (nil for fewer
    /// than two values).
    public static func naiveScale(_ series: [Double]) -> Double? {
        guard series.count >= 2 else { return nil }
        return zip(series.dropFirst(), series).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(series.count - 1)
    }
}
