import Foundation
import TensorCore

/// A pretrained image model: features (the pooled vector before the classifier) and class logits.
public protocol ImageBackbone {
    var name: String { get }
    var featureSize: Int { get }
    /// The preprocessing in words, for reports.
    var preprocessingDescription: String { get }
    /// The preprocessing the weights were trained with, from a decoded photo to the input tensor.
    func preprocess(_ image: RGBImage) throws -> Tensor<Float>
    /// The pooled features; `threads` for the convolutions' GEMMs.
    func features(_ input: Tensor<Float>, threads: Int) throws -> [Float]
    func logits(features: [Float]) -> [Float]
}

extension ImageBackbone {
    /// The pooled features on one thread.
    public func features(_ input: Tensor<Float>) throws -> [Float] { try features(input, threads: 1) }
}

/// ResNet-18 in torchvision's layout (conv1, bn1, layer1-4 of two BasicBlocks, fc), BatchNorm folded.
public struct ResNet18: ImageBackbone {
    /// The model's name.
    public let name = "ResNet-18"
    /// Features before the classifier.
    public let featureSize = 512
    /// torchvision's ImageNet preprocessing, in words.
    public let preprocessingDescription =
        "resize 256, centre crop 224, ImageNet mean (0.485, 0.456, 0.406) and sd (0.229, 0.224, 0.225)"
    struct Block {
        var conv1: Conv2d
        var conv2: Conv2d
        var downsample: Conv2d?
    }
    var stem: Conv2d
    var blocks: [Block]
    let fcWeight: Tensor<Float>, fcBias: Tensor<Float>

    /// The network from torchvision's state dict, batch norm folded into the convolutions.
    public init(stateDict sd: StateDict) throws {
        stem = try Conv2d(
            weight: sd.get("conv1.weight", [64, 3, 7, 7]), bias: nil, stride: 2, padding: (3, 3, 3, 3),
            activation: .relu)
        try stem.foldBatchNorm(sd, prefix: "bn1", eps: 1e-5)
        blocks = []
        var inC = 64
        for (layer, outC) in [64, 128, 256, 512].enumerated() {
            for b in 0..<2 {
                let p = "layer\(layer + 1).\(b)", stride = (b == 0 && layer > 0) ? 2 : 1
                var c1 = try Conv2d(
                    weight: sd.get("\(p).conv1.weight", [outC, inC, 3, 3]), bias: nil, stride: stride,
                    padding: (1, 1, 1, 1), activation: .relu)
                try c1.foldBatchNorm(sd, prefix: "\(p).bn1", eps: 1e-5)
                var c2 = try Conv2d(
                    weight: sd.get("\(p).conv2.weight", [outC, outC, 3, 3]), bias: nil, stride: 1, padding: (1, 1, 1, 1)
                )
                try c2.foldBatchNorm(sd, prefix: "\(p).bn2", eps: 1e-5)
                var down: Conv2d? = nil
                if stride != 1 || inC != outC {
                    var d = try Conv2d(
                        weight: sd.get("\(p).downsample.0.weight", [outC, inC, 1, 1]), bias: nil, stride: stride,
                        padding: (0, 0, 0, 0))
                    try d.foldBatchNorm(sd, prefix: "\(p).downsample.1", eps: 1e-5)
                    down = d
                }
                blocks.append(Block(conv1: c1, conv2: c2, downsample: down))
                inC = outC
            }
        }
        fcWeight = try sd.get("fc.weight"); fcBias = try sd.get("fc.bias")
        guard fcWeight.shape.count == 2, fcWeight.shape[1] == 512, fcBias.shape == [fcWeight.shape[0]] else {
            throw WeightError(
                description: "fc: expected [classes, 512] and [classes], got \(fcWeight.shape) and \(fcBias.shape)")
        }
    }

    /// Resize 256, centre crop 224, ImageNet normalisation.
    public func preprocess(_ image: RGBImage) throws -> Tensor<Float> { try Preprocess.imagenet(image) }

    /// The 512 pooled features of `input` [3, H, W].
    public func features(_ input: Tensor<Float>, threads: Int) throws -> [Float] {
        var x = stem.forward(try FeatureMap(input), threads: threads)
        x = Layers.maxPool(x, kernel: 3, stride: 2, padding: 1)
        for b in blocks {
            let identity = b.downsample?.forward(x, threads: threads) ?? x
            x = Layers.add(
                b.conv2.forward(b.conv1.forward(x, threads: threads), threads: threads), identity, activation: .relu)
        }
        return Layers.globalAveragePool(x)
    }

    /// The 1000 class scores from the features.
    public func logits(features: [Float]) -> [Float] { Layers.linear(features, weight: fcWeight, bias: fcBias) }
}

/// EfficientNet-Lite0 in the efficientnet_pytorch layout (_conv_stem, _bn0, _blocks.N._expand_conv /
/// _depthwise_conv / _project_conv with _bn0-2, _conv_head, _bn1, _fc): ReLU6, no squeeze-excitation,
/// BatchNorm eps 1e-3, TensorFlow 'SAME' padding; input (x - 127) / 128 on 0-255 pixels after resize 256 and
/// centre-crop 224.
public struct EfficientNetLite0: ImageBackbone {
    /// The model's name.
    public let name = "EfficientNet-Lite0"
    /// Features before the classifier.
    public let featureSize = 1280
    /// The preprocessing its weights were trained with, in words.
    public let preprocessingDescription = "resize 256, centre crop 224, (x - 127) / 128 on 0-255 pixels"
    struct Block {
        var expand: Conv2d?
        var depthwise: Conv2d
        var project: Conv2d
        var residual: Bool
    }
    var stem: Conv2d, head: Conv2d
    var blocks: [Block]
    let fcWeight: Tensor<Float>, fcBias: Tensor<Float>
    /// Stride of the first block of each stage (B0 stages: repeats 1, 2, 2, 3, 3, 4, 1).
    static let strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    static let eps: Float = 1e-3

    /// The network from efficientnet_pytorch's state dict, batch norm folded in.
    public init(stateDict sd: StateDict) throws {
        var stem = try Conv2d(
            weight: sd.get("_conv_stem.weight", [32, 3, 3, 3]), bias: nil, stride: 2, padding: (0, 0, 0, 0),
            activation: .relu6)
        try stem.foldBatchNorm(sd, prefix: "_bn0", eps: Self.eps)
        var blocks: [Block] = []
        for (i, stride) in Self.strides.enumerated() {
            let p = "_blocks.\(i)"
            var expand: Conv2d? = nil
            if sd.tensors["\(p)._expand_conv.weight"] != nil {
                var e = try Conv2d(
                    weight: sd.get("\(p)._expand_conv.weight"), bias: nil, stride: 1, padding: (0, 0, 0, 0),
                    activation: .relu6)
                try e.foldBatchNorm(sd, prefix: "\(p)._bn0", eps: Self.eps)
                expand = e
            }
            let dw = try sd.get("\(p)._depthwise_conv.weight")
            var d = try Conv2d(
                weight: dw, bias: nil, stride: stride, padding: (0, 0, 0, 0), groups: dw.shape[0], activation: .relu6)
            try d.foldBatchNorm(sd, prefix: "\(p)._bn1", eps: Self.eps)
            var pr = try Conv2d(
                weight: sd.get("\(p)._project_conv.weight"), bias: nil, stride: 1, padding: (0, 0, 0, 0))
            try pr.foldBatchNorm(sd, prefix: "\(p)._bn2", eps: Self.eps)
            let inC = expand?.inChannels ?? d.inChannels
            blocks.append(
                Block(expand: expand, depthwise: d, project: pr, residual: stride == 1 && inC == pr.outChannels))
        }
        if sd.tensors["_blocks.\(Self.strides.count)._depthwise_conv.weight"] != nil {
            throw WeightError(
                description: "more blocks than EfficientNet-Lite0 has (16): is this another EfficientNet variant?")
        }
        var head = try Conv2d(
            weight: sd.get("_conv_head.weight", [1280, 320, 1, 1]), bias: nil, stride: 1, padding: (0, 0, 0, 0),
            activation: .relu6)
        try head.foldBatchNorm(sd, prefix: "_bn1", eps: Self.eps)
        self.stem = stem; self.blocks = blocks; self.head = head
        fcWeight = try sd.get("_fc.weight", [1000, 1280]); fcBias = try sd.get("_fc.bias", [1000])
    }

    /// Resize 256, centre crop 224, (x - 127) / 128 on 0-255 pixels.
    public func preprocess(_ image: RGBImage) throws -> Tensor<Float> {
        try Preprocess.imagenet(image, scale: 1, mean: [127, 127, 127], std: [128, 128, 128])
    }

    /// A convolution with TF 'SAME' padding computed for this input size.
    static func same(_ c: Conv2d, _ x: FeatureMap) -> Conv2d {
        let (t, b) = Layers.samePadding(input: x.height, kernel: c.kernel, stride: c.stride)
        let (l, r) = Layers.samePadding(input: x.width, kernel: c.kernel, stride: c.stride)
        var out = try! Conv2d(
            weight: Tensor(shape: [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel], data: c.weight),
            bias: Tensor(shape: [c.outChannels], data: c.bias), stride: c.stride, padding: (t, l, b, r),
            groups: c.groups)
        out.activation = c.activation
        return out
    }

    /// The 1280 pooled features of `input` [3, H, W].
    public func features(_ input: Tensor<Float>, threads: Int) throws -> [Float] {
        var x = Self.same(stem, try FeatureMap(input)).forward(try FeatureMap(input), threads: threads)
        for b in blocks {
            var y = b.expand?.forward(x, threads: threads) ?? x
            y = Self.same(b.depthwise, y).forward(y, threads: threads)
            y = b.project.forward(y, threads: threads)
            x = b.residual ? Layers.add(y, x) : y
        }
        return Layers.globalAveragePool(head.forward(x, threads: threads))
    }

    /// The 1000 class scores from the features.
    public func logits(features: [Float]) -> [Float] { Layers.linear(features, weight: fcWeight, bias: fcBias) }
}

extension ResNet18 {
    /// Whether `name` is a tensor of torchvision's resnet18 state dict (the others in a weights file are never read).
    public static func reads(_ name: String) -> Bool {
        ["conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.", "fc."].contains { name.hasPrefix($0) }
    }

    /// How many classes the network scores (1000 for ImageNet; a fine-tuned head has its own).
    public var classes: Int { fcWeight.shape[0] }

    /// torchvision's resnet18 state-dict names and shapes, in its order.
    public static func parameterLayout(classes: Int = 1000) -> [(String, [Int])] {
        func bn(_ p: String, _ c: Int) -> [(String, [Int])] {
            [
                ("\(p).weight", [c]), ("\(p).bias", [c]), ("\(p).running_mean", [c]), ("\(p).running_var", [c]),
                ("\(p).num_batches_tracked", [])
            ]
        }
        var out: [(String, [Int])] = [("conv1.weight", [64, 3, 7, 7])] + bn("bn1", 64)
        var inC = 64
        for (layer, c) in [64, 128, 256, 512].enumerated() {
            for b in 0..<2 {
                let p = "layer\(layer + 1).\(b)"
                out +=
                    [("\(p).conv1.weight", [c, inC, 3, 3])] + bn("\(p).bn1", c) + [("\(p).conv2.weight", [c, c, 3, 3])]
                    + bn("\(p).bn2", c)
                if b == 0 && layer > 0 {
                    out += [("\(p).downsample.0.weight", [c, inC, 1, 1])] + bn("\(p).downsample.1", c)
                }
                inC = c
            }
        }
        return out + [("fc.weight", [classes, 512]), ("fc.bias", [classes])]
    }

    /// Deterministic "seeded" weights that Python reproduces bit for bit (Tests/VisionTests/Fixtures/generate.py):
    /// tensor k's element i is SplitMix64((k + 1) << 32 + i) mapped to [-1, 1), then scaled: He-uniform for
    /// weight matrices, 1 +- 0.5 for BN scales and variances, +-0.1 for means and biases. Pretrained ResNet-18
    /// weights are not reachable here; these stand in for them (and verify the network against torchvision).
    public static func seededStateDict() -> StateDict {
        var sd: [String: Tensor<Float>] = [:]
        for (k, (name, shape)) in parameterLayout().enumerated() {
            let n = shape.reduce(1, *)
            let u = (0..<n).map { seededUniform(stream: UInt64(k + 1), index: $0) }
            let v: [Double]
            if name.hasSuffix("num_batches_tracked") {
                v = [0]
            } else if name.hasSuffix("running_var") {
                v = u.map { 1 + 0.5 * $0 }
            } else if name.hasSuffix("running_mean") || name.hasSuffix("bias") {
                v = u.map { 0.1 * $0 }
            } else if shape.count == 1 {
                v = u.map { 1 + 0.5 * $0 }
            } else {
                let fanIn = Double(shape.dropFirst().reduce(1, *));
                v = u.map { $0 * 3.0.squareRoot() * (2 / fanIn).squareRoot() }
            }
            sd[name] = try! Tensor(shape: shape, data: v.map { Float($0) })
        }
        return StateDict(sd)
    }

    /// Element `index` of stream `stream`: SplitMix64((stream << 32) + index) mapped to [-1, 1) with 53 bits,
    /// stateless so Python (numpy uint64 arithmetic) reproduces it exactly.
    static func seededUniform(stream: UInt64, index: Int) -> Double {
        var x = (stream << 32) &+ UInt64(index) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return Double(x >> 11) * 0x1p-53 * 2 - 1
    }

    /// The same generator's input image [3, size, size] (stream 999).
    public static func seededInput(size: Int = 224) -> Tensor<Float> {
        let n = 3 * size * size
        let u = (0..<n).map { Float(seededUniform(stream: 999, index: $0)) }
        return try! Tensor(shape: [3, size, size], data: u)
    }
}
