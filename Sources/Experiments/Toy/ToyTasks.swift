import Foundation
import Workbench
import SequenceData
import Charts

/// Experiment 1's tasks as rows of one table: what each is called, measured by and judged against. The experiment
/// measures every row the same way (`ToyExperiment.measure`) and the report draws every row the same way
/// (`ToyReport`); a task's own measurements (the sine predictions, the character model's text) sit beside it.
struct ToyTask {
    /// Its key in results.json and its folder under toy/.
    let key: String
    /// How the findings name it ("characters").
    let name: String
    /// The title of its gradient figures and findings ("Characters"), and of its loss figures ("Adding problem").
    let title: String, lossTitle: String
    /// Its heading in the report.
    let heading: (ToyExperiment.Options) -> String
    /// The validation measure compared ("validation MSE") and the loss axis's label.
    let metric: String, yLabel: String
    /// The validation loss the race to a threshold is run to.
    let threshold: Double
    /// Its sequences' length.
    let steps: (ToyExperiment.Options) -> Int
    /// Whether the loss is taken at every step (sine, characters) or only at the last (the adding problem).
    let lossAtEveryStep: Bool
    /// A horizontal line on the loss figures: the constant guess, where it is a fixed number.
    let baselineLine: Double?
    /// What the task is, from its settings, its measurements and its models' recipe.
    let describe: (ToyExperiment.Options, ToyExperiment.Summary, ToyExperiment.TaskResult) -> String
    /// What the report draws of the task's own measurements, after its loss figures and after its findings.
    var afterLoss: Drawing? = nil, afterFindings: Drawing? = nil

    typealias Drawing = (ToyExperiment.Summary, RunFolder, inout HTMLReport) throws -> Void

    static let all: [ToyTask] = [.sine, .chars, .adding]
    static func named(_ key: String) -> ToyTask? { all.first { $0.key == key } }

    static let sine = ToyTask(
        key: "sine", name: "sine", title: "Sine", lossTitle: "Sine",
        heading: { _ in "Sine-wave next-value prediction" },
        metric: "validation MSE", yLabel: "MSE", threshold: 0.01, steps: { $0.sineSteps }, lossAtEveryStep: true,
        baselineLine: nil,
        describe: { o, _, task in
            """
            \(o.sineCount) noisy sine sequences of length \(o.sineSteps) (frequency 0.2-0.5 rad/step, random \
            phase, input noise sd 0.1), 80/20 split; \(task.recipe); a linear decoder on every step \
            predicting the clean next value.
            """
        }, afterLoss: { s, folder, report in try ToyReport.predictionFigure(s.sinePrediction, folder, &report) })

    static let chars = ToyTask(
        key: "chars", name: "characters", title: "Characters", lossTitle: "Characters",
        heading: { _ in "Character-level text generation" }, metric: "validation loss",
        yLabel: "cross-entropy (nats/char)", threshold: 2.0, steps: { $0.charSteps }, lossAtEveryStep: true,
        baselineLine: nil,
        describe: { o, s, task in
            let t = s.text
            let excerpt =
                t.characters < t.corpusCharacters ? " (the first \(t.characters) of \(t.corpusCharacters))" : ""
            return """
                Corpus: \(t.corpus), \(t.characters) characters\(excerpt), vocabulary of \(t.vocabulary) \
                characters; last 10% held out. Windows of \(o.charSteps) characters (stride \(o.charSteps / 2)); \
                \(task.recipe). Loss is cross-entropy per character in nats; perplexity = e^loss.
                """
        }, afterFindings: ToyReport.insideTheCharacterModels)

    static let adding = ToyTask(
        key: "adding", name: "adding", title: "Adding", lossTitle: "Adding problem",
        heading: { "Long-range memory: the adding problem (T = \($0.addingSteps))" }, metric: "validation MSE",
        yLabel: "MSE", threshold: AddingTask.baselineMSE / 2, steps: { $0.addingSteps }, lossAtEveryStep: false,
        baselineLine: AddingTask.baselineMSE,
        describe: { o, _, task in
            """
            Each step carries a random value in [0, 1] and a marker; the target, read only at the last step, is \
            the sum of the two marked values (one in each half). Always answering 1.0 gives MSE 1/6 = \
            \(fmt(AddingTask.baselineMSE, 3)); the threshold below is half of that. \(o.addingCount) training and \
            500 validation sequences; \(task.recipe). With the loss only at the last step, every gradient \
            reaching an early step has travelled back through the whole recurrence, which is where vanishing \
            gradients show.
            """
        })
}
