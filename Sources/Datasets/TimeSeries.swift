import Foundation
import Files
import TensorCore
import SequenceData

/// A univariate series for forecasting: z-score normalised with statistics of the training part only, cut into
/// windows of `window` values whose target is the value `horizon` steps after the window's last (1: the next).
public struct ForecastData {
    /// The short name.
    public let name: String
    public let values: [Double]  // raw
    public let mean: Double, std: Double  // of the training part
    /// Values per input window.
    public let window: Int
    /// Windows of the training part and of the test period.
    public let train: TensorSequenceDataset<Float>, test: TensorSequenceDataset<Float>
    /// Steps from a window's last value to its target (1: the next value).
    public let horizon: Int
    /// MSE (normalised units) of the naive forecast "next = last" on the test windows.
    public let naiveTestMSE: Double
    /// MSE of predicting the training mean (0 in normalised units).
    public let meanTestMSE: Double
    /// How many of the values are the training part (the rest, and windows reaching into it, are the test period).
    public let split: Int

    /// Normalises `values` with the first (1 - testFraction) and cuts both parts into windows.
    public init(name: String, values: [Double], window: Int, testFraction: Double, horizon: Int = 1) throws {
        guard horizon >= 1 else { throw DataError("\(name): the horizon must be at least 1 step (got \(horizon))") }
        // values.count > window + horizon + 10, written so that no size can overflow.
        guard window >= 1, values.count - 10 > window, values.count - 10 - window > horizon else {
            throw DataError(
                "\(name): \(values.count) values are too few for windows of \(window) forecasting \(horizon) ahead")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw DataError("\(name): value \(bad + 1) of the series is \(values[bad]) (every value must be finite)")
        }
        self.name = name; self.values = values; self.window = window; self.horizon = horizon
        let split = Int(Double(values.count) * (1 - testFraction))
        self.split = split
        let trainPart = values[0..<split]
        let mu = trainPart.reduce(0, +) / Double(trainPart.count)
        let s = (trainPart.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(trainPart.count)).squareRoot()
        let sd = s > 0 ? s : 1
        mean = mu; std = sd
        let z = values.map { ($0 - mu) / sd }
        train = Self.windows(z, window: window, horizon: horizon, range: 0..<split).data
        // Test windows may start in the training part so the first test target is the first held-out value.
        let t = Self.windows(z, window: window, horizon: horizon, range: max(0, split - window - horizon + 1)..<z.count)
        test = t.data; naiveTestMSE = t.naiveMSE; meanTestMSE = t.meanMSE
    }

    /// Every window of `window` values of the normalised series `z` that starts and has its target (`horizon`
    /// steps after its last value) inside `range`, with the MSE of "next = last" and of the mean (0) on them.
    public static func windows(_ z: [Double], window: Int, horizon: Int, range: Range<Int>) -> (
        data: TensorSequenceDataset<Float>, naiveMSE: Double, meanMSE: Double
    ) {
        var x = [Float](), y = [Float](), naive = 0.0, meanErr = 0.0, n = 0
        var start = range.lowerBound
        while start + window + horizon - 1 < range.upperBound {
            x += z[start..<(start + window)].map(Float.init)
            let target = z[start + window + horizon - 1]
            y.append(Float(target))
            naive += (target - z[start + window - 1]) * (target - z[start + window - 1])
            meanErr += target * target
            n += 1; start += 1
        }
        let data = TensorSequenceDataset(
            inputs: try! Tensor(shape: [n, window, 1], data: x), targets: .values(try! Tensor(shape: [n, 1], data: y)))
        return (data, naive / Double(max(n, 1)), meanErr / Double(max(n, 1)))
    }

    /// Seattle daily maximum temperature (deg C) from vega_datasets' seattle-weather.csv.
    public static func seattleTemperature(_ url: URL, window: Int = 30) throws -> ForecastData {
        try ForecastData(
            name: "Seattle daily max temperature", values: try CSVTable(contentsOf: url).numbers("temp_max"),
            window: window, testFraction: 0.2)
    }

    /// One symbol's monthly closing prices from vega_datasets' stocks.csv (symbol,date,price).
    public static func stockPrices(_ url: URL, symbol: String, window: Int = 12) throws -> ForecastData {
        let t = try CSVTable(contentsOf: url)
        let s = try t.column("symbol"), p = try t.column("price")
        let prices = try t.rows.filter { $0[s] == symbol }.map { row -> Double in
            guard let v = CSVTable.decimal(row[p].trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw DataError("\(url.path): price '\(BoundedText.quote(row[p]))' is not a number")
            }
            return v
        }
        guard !prices.isEmpty else {
            throw DataError(
                """
                \(url.path): no rows for symbol \(symbol) (symbols: \
                \(Set(t.rows.map { $0[s] }).sorted().joined(separator: ", ")))
                """
            )
        }
        return try ForecastData(name: "\(symbol) monthly close", values: prices, window: window, testFraction: 0.2)
    }
}
