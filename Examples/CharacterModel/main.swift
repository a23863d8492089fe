// Train a character-level LSTM on a text file and sample from it.
//   swift run CharacterModel [TEXT-FILE] [EPOCHS]
// Without a file it reads Debian's fortune collections when installed.
import Foundation
import Recurrent
import SequenceData
import Datasets
import TensorCore

let args = CommandLine.arguments
let text: String
if args.count > 1 {
    guard let t = try? String(contentsOfFile: args[1], encoding: .utf8) else {
        FileHandle.standardError.write(Data("cannot read \(args[1]) as UTF-8 text\n".utf8))
        exit(1)
    }
    text = t
} else {
    text = try DataCache().fortunes(install: false)
}
let epochs = args.count > 2 ? max(1, Int(args[2]) ?? 3) : 3

// Characters -> ids; windows of 32 characters, each predicting the next character at every step.
let vocabulary = Array(Set(text)).sorted()
let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
let ids = text.map { index[$0]! }
var windows: [[Int]] = [], targets: [Int] = []
for start in stride(from: 0, to: ids.count - 33, by: 16) {
    windows.append(Array(ids[start..<(start + 32)]))
    targets += ids[(start + 1)..<(start + 33)]
}
let data = TokenSequenceDataset<Float>(tokens: windows, labels: targets)

// Embedding -> LSTM -> linear head over the vocabulary, trained with Adam and gradient clipping.
var rng = SeededRandom(seed: 1)
let model = SequenceModel<Float>(
    embedding: Embedding(vocabularySize: vocabulary.count, dimension: 16, rng: &rng),
    rnn: RecurrentNetwork(
        config: RecurrentConfig(cell: .lstm, inputSize: 16, hiddenSize: 64), forgetGateBias: 1, rng: &rng),
    head: Linear(inputSize: 64, outputSize: vocabulary.count, rng: &rng),
    headMode: .everyStep, objective: .crossEntropy)
let trainer = Trainer(
    model: model, optimizer: .adam(lr: 0.005),
    options: TrainingOptions(epochs: epochs, batchSize: 32, clipNorm: 5, shuffleSeed: 1))
for record in try trainer.fit(train: data, validation: nil) {
    print(String(format: "epoch %d  loss %.3f nats/char  %.1fs", record.epoch, record.trainLoss, record.seconds))
}

// Sampling: feed one character at a time, carrying (h, c), and draw the next from softmax(logits / 0.7).
var h: Tensor<Float>? = nil, c: Tensor<Float>? = nil, next = index[text.first!]!
var sample = String(text.first!)
for _ in 0..<160 {
    let x = try model.embedding!.forward([next], batch: 1, steps: 1)
    let out = try model.rnn.forward(x, h0: h, c0: c)
    h = out.hn; c = out.cn
    let logits = try model.head.forward(try out.output.reshaped([1, 64])).data.map { Double($0) / 0.7 }
    let m = logits.max()!, p = logits.map { exp($0 - m) }, total = p.reduce(0, +)
    var u = rng.unit() * total
    next = p.count - 1
    for (k, pk) in p.enumerated() { u -= pk; if u <= 0 { next = k; break } }
    sample.append(vocabulary[next])
}
print("sample:", sample)
