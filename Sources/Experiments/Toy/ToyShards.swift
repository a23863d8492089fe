import Foundation
import Workbench
import Datasets
import TensorCore
import Recurrent
import SequenceData

/// Each toy task's data and its models' recipe, built one way for the experiment's measure step and for its shards
/// (a task from one seed), so a shard trains exactly the models the study would.
extension ToyExperiment {
    /// Noisy sine sequences, the first 80% for training, and the sine models' recipe.
    struct SineSetup {
        let sine: SineTask, split: Int, train: TensorSequenceDataset<Float>, validation: TensorSequenceDataset<Float>
        let recipe: ModelRecipe
        init(_ o: Options) {
            var rng = SeededRandom(seed: o.seed)
            sine = SineTask(count: o.sineCount, steps: o.sineSteps, noise: 0.1, rng: &rng)
            split = o.sineCount * 8 / 10
            train = sine.slice(0..<split); validation = sine.slice(split..<o.sineCount)
            recipe = ModelRecipe(
                inputSize: 1, hidden: o.sineHidden, outputs: 1, headMode: .everyStep, objective: .meanSquaredError,
                learningRate: 0.01, epochs: o.sineEpochs, batch: 32, clip: nil, weights: .sineModels)
        }
    }

    /// The corpus cut to its limit, its windows of characters (the last 10% for validation), and the recipe.
    struct CharacterSetup {
        let text: String, chars: CharTask, recipe: ModelRecipe
        init(_ o: Options, corpus: String) {
            text = String(corpus.prefix(o.charLimit ?? Int.max))
            chars = CharTask(text: text, steps: o.charSteps, stride: o.charSteps / 2, validationFraction: 0.1)
            recipe = ModelRecipe(
                inputSize: 24, hidden: o.charHidden, outputs: chars.vocabulary.count,
                vocabulary: chars.vocabulary.count, headMode: .everyStep, objective: .crossEntropy,
                learningRate: 0.005, epochs: o.charEpochs, batch: 32, clip: 5, weights: .characterModels)
        }
    }

    /// The adding problem's sequences (training, then 500 for validation, from one stream) and the recipe.
    struct AddingSetup {
        let train: TensorSequenceDataset<Float>, validation: TensorSequenceDataset<Float>, recipe: ModelRecipe
        init(_ o: Options) {
            var ar = SeededRandom(seed: SeedStream.addingData.seed(o.seed))
            train = AddingTask(count: o.addingCount, steps: o.addingSteps, rng: &ar).data
            validation = AddingTask(count: 500, steps: o.addingSteps, rng: &ar).data
            recipe = ModelRecipe(
                inputSize: 2, hidden: o.addingHidden, outputs: 1, headMode: .lastStep, objective: .meanSquaredError,
                learningRate: 0.005, epochs: o.addingEpochs, batch: 32, clip: 1, weights: .addingModels)
        }

        /// The LSTM's forget-gate initialisations trained beside the main one (forget bias 1): the intervention.
        static let otherGateInits = [GateInit.zeroForgetBias, .chrono]

        /// Whether the intervention runs with these settings.
        static func armsRun(_ o: Options) -> Bool { o.addingGateInits && o.cells.contains(.lstm) }

        static func armRecipe(_ recipe: ModelRecipe, _ gateInit: GateInit, _ o: Options) -> ModelRecipe {
            var r = recipe
            r.gateInit = gateInit; r.steps = o.addingSteps
            return r
        }

        /// The adding LSTM started by `gateInit`, from seed number `k`, checkpointed under toy/adding/INIT.
        func trainArm(_ gateInit: GateInit, _ k: Int, _ o: Options, _ context: RunContext) throws
            -> ModelRecipe.Trained
        {
            try Self.armRecipe(recipe, gateInit, o).trainSeed(
                k, of: OverSeeds.seeds(o.seed, count: o.seeds), [.lstm], label: "adding LSTM (\(gateInit.rawValue))",
                directory: "toy/adding/\(gateInit.rawValue)", train: train, validation: validation,
                context: context)[0]
        }
    }

    /// Every task from each seed: one shard apiece ("adding-seed2" with the adding LSTM's other initialisations).
    /// The exploding-gradient runs and the gradient checks are left to the part's measure step (seconds).
    package static func shards(_ o: Options) -> [PartShard] {
        let seeds = OverSeeds.seeds(o.seed, count: o.seeds)
        return seeds.indices.flatMap { k -> [PartShard] in
            @Sendable func trainSeed<D: SequenceDataset>(
                _ key: String, _ r: ModelRecipe, _ train: D, _ validation: D, _ c: RunContext
            )
                throws where D.Scalar == Float
            {
                _ = try r.trainSeed(
                    k, of: seeds, o.cells, label: key, directory: "toy/\(key)", train: train, validation: validation,
                    context: c)
            }
            let sine = PartShard(
                "sine-seed\(k + 1)",
                work: { _ in SineSetup(o).recipe.work(o.cells, samples: o.sineCount * 8 / 10, steps: o.sineSteps) },
                train: { c in
                    let s = SineSetup(o)
                    try trainSeed(ToyTask.sine.key, s.recipe, s.train, s.validation, c)
                })
            let chars = PartShard(
                "chars-seed\(k + 1)",
                work: { cache in
                    let s = CharacterSetup(o, corpus: try characterCorpus(o, cache).text)
                    return s.recipe.work(o.cells, samples: s.chars.train.count, steps: o.charSteps)
                },
                train: { c in
                    let s = CharacterSetup(o, corpus: try characterCorpus(o, c.cache).text)
                    try trainSeed(ToyTask.chars.key, s.recipe, s.chars.train, s.chars.validation, c)
                })
            let adding = PartShard(
                "adding-seed\(k + 1)",
                work: { _ in
                    let arms = AddingSetup.armsRun(o) ? AddingSetup.otherGateInits.count : 0
                    return AddingSetup(o).recipe.work(
                        o.cells + Array(repeating: .lstm, count: arms), samples: o.addingCount, steps: o.addingSteps)
                },
                train: { c in
                    let s = AddingSetup(o)
                    try trainSeed(ToyTask.adding.key, s.recipe, s.train, s.validation, c)
                    guard AddingSetup.armsRun(o) else { return }
                    for gateInit in AddingSetup.otherGateInits { _ = try s.trainArm(gateInit, k, o, c) }
                })
            return [sine, chars, adding]
        }
    }
}
