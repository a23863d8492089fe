import Foundation
import Workbench
import Charts

/// Experiment 2 drawn: its section of the report, every task from its measurements (`TaskTraining.render`).
extension RealDataExperiment {
    /// Experiment 2's section: what it does, then every task drawn from its measurements.
    package static func render(
        _ m: Measured, _ judgement: PartJudgement, _ folder: RunFolder, _ report: inout HTMLReport
    ) throws {
        report.section("Experiment 2: real data, a checkpoint every epoch, and how the weights evolve")
        report.paragraph(
            """
            RNN, LSTM and GRU trained on real data with the same seed. After every epoch the weights are saved as \
            safetensors with PyTorch's parameter names (plus the optimizer state, so a run resumes exactly), and \
            the weights of every matrix and every gate block are measured: distribution, mean, standard \
            deviation, max |w|, spectral norm of W_hh, update-to-weight ratio, gradient norm, and gate saturation \
            on a fixed probe batch. TensorBoard event files are written beside the checkpoints (tensorboard \
            --logdir \(folder.root.path)/real).
            """
        )
        for drawing in m.drawings {
            switch drawing {
            case .measured(let task): try TaskTraining.render(task, folder: folder, report: &report)
            case .skipped(let key, let reason):
                report.section("\(key): skipped", level: 3)
                report.paragraph("Not run: \(reason)")
            case .failed(let result, let advice): TaskTraining.renderFailure(result, advice: advice, report: &report)
            }
        }
    }
}
