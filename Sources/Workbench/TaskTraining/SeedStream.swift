/// The random streams an experiment draws from, each derived from the run's seed by its own offset, so no two
/// uses share numbers and every offset is named in one place. The values are the ones the experiments have
/// always used: changing one changes that stream's numbers (and the results of the runs that use it).
package enum SeedStream: UInt64 {
    /// Initial weights of the sine models (Experiment 1); the sine data itself uses the seed unchanged.
    case sineModels = 1
    /// Initial weights of the character models.
    case characterModels = 2
    /// Sampling text from the trained character models.
    case characterSampling = 3
    /// The adding problem's training and validation sequences.
    case addingData = 4
    /// Initial weights of the adding-problem models.
    case addingModels = 5
    /// Initial weights (W_ih, biases, head) of the exploding-gradient demonstration's ReLU RNNs.
    case explodingModels = 6
    /// The exploding-gradient demonstration's adding-problem sequences.
    case explodingData = 7
    /// The random unit the units-over-text baseline reads (Experiment 1, characters).
    case unitBaseline = 8
    /// Initial weights of the models `rnnlab train` builds.
    case userModels = 200
    /// The train / held-out split of a user's labelled texts.
    case userSplit = 201
    /// The train / held-out split of the sentiment reviews (Experiment 2).
    case sentimentSplit = 11
    /// The validation share carved out of an Experiment 2 task's training data.
    case validationSplit = 12
    /// Initial weights of every Experiment 2 model (embedding, recurrent layers, head).
    case realDataModels = 100
    /// The fixed random projection into the common image-question space (Experiment 3).
    case fusionProjection = 77

    package func seed(_ base: UInt64) -> UInt64 { base &+ rawValue }
}
