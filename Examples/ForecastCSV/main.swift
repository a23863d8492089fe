// Forecast the next value of one CSV column with a GRU, against the naive "next = last" forecast.
//   swift run ForecastCSV FILE.csv COLUMN [WINDOW]
import Foundation
import Recurrent
import Datasets
import TensorCore

let args = CommandLine.arguments
guard args.count >= 3 else {
    print("usage: ForecastCSV FILE.csv COLUMN [WINDOW]")
    exit(2)
}
let window = args.count > 3 ? max(2, Int(args[3]) ?? 12) : 12
// z-scored with the training part's statistics; the last 20% of the series is the test period.
let series = try ForecastData(
    name: args[2], values: try CSVTable(contentsOf: URL(fileURLWithPath: args[1])).numbers(args[2]), window: window,
    testFraction: 0.2)

var rng = SeededRandom(seed: 1)
let model = SequenceModel<Float>(
    embedding: nil, rnn: RecurrentNetwork(config: RecurrentConfig(cell: .gru, inputSize: 1, hiddenSize: 16), rng: &rng),
    head: Linear(inputSize: 16, outputSize: 1, rng: &rng), headMode: .lastStep, objective: .meanSquaredError)
let trainer = Trainer(
    model: model, optimizer: .adam(lr: 0.005),
    options: TrainingOptions(epochs: 20, batchSize: 16, clipNorm: 1, shuffleSeed: 1))
let history = try trainer.fit(train: series.train, validation: series.test)
let test = history.last!.validationLoss!
print(
    String(
        format: "%@: test MSE %.3f (normalised units) against %.3f for next = last, after %d epochs", args[2], test,
        series.naiveTestMSE, history.count))
