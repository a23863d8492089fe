import Foundation
import Recurrent
import SequenceData

/// A task's training on its own, seed by seed: what a shard of a study runs. Each function trains (or resumes to
/// its last epoch) and writes only checkpoints (and the tracked run's TensorBoard events); `measure` after it finds
/// the models finished, reads the test split once and measures.
extension TaskTraining {
    /// The task's models from seed number `k` of its comparison: k = 0 the run's own seed (checkpointed,
    /// weight-tracked) with the LSTM from the other gate initialisations, a further seed under real/TASK/seedK+1.
    package static func train(_ task: Task, _ seed: UInt64, seedIndex k: Int, _ context: RunContext) throws {
        guard k > 0 else {
            _ = try trainTracked(task, seed, context, Tracking(task: task, seed: seed, context: context))
            if task.cells.contains(.lstm) {
                for other in task.compareGateInits { _ = try trainLSTM(task, seed, gateInit: other, context) }
            }
            return
        }
        let seeds = OverSeeds.seeds(seed, count: task.seeds), recipe = task.recipe, dir = "real/\(task.key)"
        if let tokens = task.tokens {
            _ = try recipe.trainSeed(
                k, of: seeds, task.cells, label: task.key, directory: dir, train: tokens.0,
                validation: task.tokenValidation ?? tokens.1, context: context)
        } else {
            _ = try recipe.trainSeed(
                k, of: seeds, task.cells, label: task.key, directory: dir, train: task.train!,
                validation: task.validation ?? task.test!, context: context)
        }
    }

    /// The training work of seed `k`'s models in multiply-adds (`ModelRecipe.work`), for a shard's time limit.
    package static func work(_ task: Task, seedIndex k: Int) -> Double {
        let samples = task.tokens?.0.count ?? task.train?.count ?? 0
        let steps = task.tokens.map { $0.0.tokens.first?.count ?? 0 } ?? task.train.map { $0.inputs.shape[1] } ?? 0
        let arms = k == 0 && task.cells.contains(.lstm) ? task.compareGateInits.count : 0
        return task.recipe.work(task.cells + Array(repeating: .lstm, count: arms), samples: samples, steps: steps)
    }

    /// Every model of the task from the run's seed, checkpointed every epoch, weight-tracked and resumed.
    static func trainTracked(_ task: Task, _ seed: UInt64, _ context: RunContext, _ tracking: Tracking) throws
        -> [ModelRecipe.Trained]
    {
        let recipe = task.recipe
        if let tokens = task.tokens {
            return try recipe.trainEachCell(
                task.cells, seed: seed, label: task.key, train: tokens.0, validation: task.tokenValidation ?? tokens.1,
                context: context, prepare: tracking.prepare)
        }
        return try recipe.trainEachCell(
            task.cells, seed: seed, label: task.key, train: task.train!, validation: task.validation ?? task.test!,
            context: context, prepare: tracking.prepare)
    }

    /// The LSTM from the run's seed with the gate biases started by `gateInit`, checkpointed under
    /// real/TASK/GATEINIT/lstm.
    static func trainLSTM(_ task: Task, _ seed: UInt64, gateInit: GateInit, _ context: RunContext) throws
        -> ModelRecipe.Trained
    {
        var recipe = task.recipe
        recipe.gateInit = gateInit
        return try recipe.trainEachCell(
            [.lstm], seed: seed, label: "\(task.key) LSTM (\(gateInit.rawValue))", train: task.train!,
            validation: task.validation ?? task.test!, context: context,
            prepare: recipe.checkpointed("real/\(task.key)/\(gateInit.rawValue)", seed: seed, context: context)
        )[0]
    }
}
