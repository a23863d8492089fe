// Load ResNet-18 weights in torchvision's layout and classify a photo.
//   swift run ClassifyPhoto PHOTO [WEIGHTS.pth|.safetensors]
// Without a weights file it uses deterministic stand-in weights (the ones the tests compare with torchvision),
// so the classes are meaningless but every step runs.
import Foundation
import Vision
import Interchange
import TensorCore

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: ClassifyPhoto PHOTO [WEIGHTS]")
    exit(2)
}
let stateDict =
    args.count > 2
    ? StateDict(try WeightFile.tensors(contentsOf: URL(fileURLWithPath: args[2]))) : ResNet18.seededStateDict()
let net = try ResNet18(stateDict: stateDict)
// torchvision's preprocessing: resize 256, centre crop 224, ImageNet mean and standard deviation.
let input = try net.preprocess(try RGBImage(contentsOf: URL(fileURLWithPath: args[1])))
let features = try net.features(input, threads: ProcessInfo.processInfo.activeProcessorCount)
let logits = net.logits(features: features).map(Double.init)
let m = logits.max()!, e = logits.map { exp($0 - m) }, total = e.reduce(0, +)
print("\(net.name): \(features.count)-d features; top 5 ImageNet classes:")
for (k, p) in e.enumerated().sorted(by: { $0.element > $1.element }).prefix(5) {
    print(String(format: "  class %4d  %6.2f%%", k, 100 * p / total))
}
