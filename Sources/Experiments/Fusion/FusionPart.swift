import Foundation
import Workbench
import ArgumentParser
import Charts
import Vision

extension BackboneName: ExpressibleByArgument {}
extension FusionExperiment.WordVectors: ExpressibleByArgument {}

/// Experiment 3 as a part of the study: `rnnlab fusion`, the manifest's "fusion". Without its pretrained weights
/// or images it is skipped with a note, and the rest of the study goes on.
extension FusionExperiment: StudyPart {
    package static let name = "fusion"
    package static let title = "Experiment 3"
    package static let abstract =
        "Experiment 3: pretrained CNN features + untrained RNN/LSTM/GRU question encoders (no training)."
    package static var skipsWithoutData: Bool { true }

    package struct CommandOptions: ParsableArguments {
        @Option(
            help: """
                Word vectors: minilm (pretrained all-MiniLM-L6-v2 word pieces), random (seeded), or auto (minilm \
                where its data can be had, else random; the random ones are measured beside the pretrained ones).
                """)
        var embeddings = WordVectors.auto
        @OptionGroup var backbone: BackboneOptions
        @Option(help: "A VQA v2 folder (questions / annotations JSON) or COCO-QA folder (questions.txt ...) to use.")
        var vqa: String?
        @Option(help: "The folder of the COCO images the --vqa questions refer to.") var images: String?
        @Option(help: "How many --vqa images to use.") var vqaImages: Int?
        package init() {}

        package func validate() throws {
            try requireAtLeast(1, vqaImages, "vqa-images")
            if vqa != nil && images == nil {
                throw ValidationError("--vqa needs --images (the folder of its COCO images)")
            }
            if vqa == nil && (images != nil || vqaImages != nil) {
                throw ValidationError("--images and --vqa-images need --vqa")
            }
        }
    }

    package static func defaults(quick: Bool) -> Options { Options(quick: quick) }

    package static func applying(_ shared: StudySettings, to options: Options) -> Options {
        var o = options
        o.seed = shared.seed; o.cells = shared.cells ?? o.cells
        return o
    }

    package static func applying(_ command: CommandOptions, to options: Options) throws -> Options {
        var o = options
        o.vqaDirectory = command.vqa; o.vqaImageDirectory = command.images
        if let n = command.vqaImages { o.vqaImages = n }
        o.embeddings = command.embeddings
        o.backbone = command.backbone.backbone
        o.backboneWeights = command.backbone.weights
        return o
    }

    package static func judge(_ measured: Measured) -> PartJudgement {
        let summary = measured.summary
        return PartJudgement(findings: summary.findings, answers: Answers.fusion(summary))
    }
}

/// Which pretrained CNN gives the image features (`rnnlab fusion` and `rnnlab classify`).
package struct BackboneOptions: ParsableArguments {
    @Option(help: "Image backbone: \(BackboneName.allCases.map(\.rawValue).joined(separator: " or ")).")
    package var backbone = BackboneName.efficientnetLite0
    @Option(
        help:
            """
            ResNet-18 weights in torchvision's layout (.pth or .safetensors); default: torchvision's cached \
            \(Pretrained.torchvisionResNet18File).
            """)
    package var weights: String?
    package init() {}

    package func validate() throws {
        if weights != nil && backbone != .resnet18 { throw ValidationError("--weights applies to --backbone resnet18") }
    }
}
