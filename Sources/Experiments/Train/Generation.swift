import Foundation
import TensorCore
import Recurrent
import Datasets
import Interchange

/// `rnnlab generate`: text from a character model of `rnnlab train --kind text`, read from its run folder.
public enum Generation {
    /// Samples `length` characters after `prime` from the last checkpoint of `cell` (default: the run's first).
    public static func sample(
        run: URL, cell: CellKind?, prime: String, temperature: Double, length: Int, seed: UInt64
    ) throws -> String {
        let configURL = run.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL),
            let config = try? JSONDecoder().decode(UserTraining.Config.self, from: data)
        else { throw DataError("\(configURL.path): no training config (is this an rnnlab train folder?)") }
        guard config.kind == .text else {
            throw DataError("\(run.path) holds a \(config.kind.rawValue) model; generate needs --kind text")
        }
        let vocabURL = run.appendingPathComponent("vocabulary.json")
        guard let v = try? Data(contentsOf: vocabURL), let words = try? JSONDecoder().decode([String].self, from: v),
            !words.isEmpty, words.allSatisfy({ $0.count == 1 })
        else { throw DataError("\(vocabURL.path): missing or not a list of characters") }
        let chosen = cell ?? config.cells[0]
        guard config.cells.contains(chosen) else {
            throw DataError("\(run.path) trained \(config.cells.map(\.rawValue)), not \(chosen.rawValue)")
        }
        let store = CheckpointStore(directory: run.appendingPathComponent("real/train/\(chosen.rawValue)"))
        guard let last = store.savedEpochs().last else {
            throw DataError("\(store.directory.path): no checkpoint yet; train first")
        }
        let recipe = UserTraining.recipe(
            config, input: config.embedding, outputs: words.count, vocabulary: words.count, head: .everyStep,
            objective: .crossEntropy)
        let model = recipe.build(chosen, seed: config.seed, threads: 1)
        try model.load(try store.weights(epoch: last))
        var rng = SeededRandom(seed: seed)
        return try ToyExperiment.sampleText(
            model, vocabulary: words.map { Character($0) }, prime: prime, length: length, temperature: temperature,
            rng: &rng)
    }
}
