import Foundation
import TensorCore

/// A C x H x W activation (batch of one), row-major.
public struct FeatureMap {
    /// The map's extent.
    public var channels: Int, height: Int, width: Int
    /// Values, channel-major [C, H, W].
    public var data: [Float]
    /// A map of this extent and data.
    public init(channels: Int, height: Int, width: Int, data: [Float]) {
        precondition(data.count == channels * height * width)
        self.channels = channels; self.height = height; self.width = width; self.data = data
    }
    /// A map from a [C, H, W] tensor.
    public init(_ t: Tensor<Float>) throws {
        guard t.rank == 3 else { throw ImageError("expected a [C, H, W] tensor, got \(t.shape)") }
        self.init(channels: t.shape[0], height: t.shape[1], width: t.shape[2], data: t.data)
    }
}

/// The activation a convolution applies after its bias.
public enum Activation { case none, relu, relu6 }

/// Errors loading a network's weights; they name the missing or mis-shaped tensor.
public struct WeightError: Error, CustomStringConvertible { public let description: String }

/// Named tensors of a checkpoint (a PyTorch state dict), with shape checks.
public struct StateDict {
    /// The weights by state-dict name.
    public var tensors: [String: Tensor<Float>]
    /// A state dict of these tensors.
    public init(_ tensors: [String: Tensor<Float>]) { self.tensors = tensors }
    /// The tensor named `name`, checked against `shape`; a missing or misshaped one is named in the error.
    public func get(_ name: String, _ shape: [Int]? = nil) throws -> Tensor<Float> {
        guard let t = tensors[name] else { throw WeightError(description: "missing weight '\(name)'") }
        if let shape, t.shape != shape {
            throw WeightError(description: "'\(name)': expected shape \(shape), got \(t.shape)")
        }
        // A NaN weight makes every score NaN ("nan% tench"): refused by name instead.
        if let bad = t.data.firstIndex(where: { !$0.isFinite }) {
            throw WeightError(description: "'\(name)' holds a non-finite value (\(t.data[bad]) at element \(bad))")
        }
        return t
    }
}

/// 2-D convolution with batch norm folded in (w' = w g / sqrt(v + eps), b' = (b - m) g / sqrt(v + eps) + beta),
/// groups (1 = dense, C = depthwise), stride and explicit padding (top, left, bottom, right) so both
/// PyTorch's symmetric padding and TensorFlow's 'SAME' (extra pixel bottom/right) are expressible.
public struct Conv2d {
    /// The convolution's geometry.
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, groups: Int
    /// Zero padding on each side.
    public let padding: (top: Int, left: Int, bottom: Int, right: Int)
    /// Applied after the (folded) bias.
    public var activation: Activation
    var weight: [Float]  // [out, in/groups, k, k]
    var bias: [Float]

    /// A convolution of these weights [out, in/groups, k, k] (batch norm already folded in) and geometry.
    public init(
        weight: Tensor<Float>, bias: Tensor<Float>?, stride: Int, padding: (Int, Int, Int, Int), groups: Int = 1,
        activation: Activation = .none
    ) throws {
        guard weight.rank == 4, weight.shape[2] == weight.shape[3] else {
            throw WeightError(description: "conv weight must be [out, in/groups, k, k], got \(weight.shape)")
        }
        outChannels = weight.shape[0]; inChannels = weight.shape[1] * groups; kernel = weight.shape[2]
        self.stride = stride; self.groups = groups; self.padding = padding; self.activation = activation
        self.weight = weight.data
        self.bias = bias?.data ?? [Float](repeating: 0, count: outChannels)
    }

    /// Folds an eval-mode BatchNorm2d (weight, bias, running_mean, running_var) into this convolution.
    public mutating func foldBatchNorm(_ sd: StateDict, prefix: String, eps: Float) throws {
        let c = outChannels
        let g = try sd.get("\(prefix).weight", [c]).data, b = try sd.get("\(prefix).bias", [c]).data
        let m = try sd.get("\(prefix).running_mean", [c]).data, v = try sd.get("\(prefix).running_var", [c]).data
        let per = weight.count / c
        for o in 0..<c {
            let s = g[o] / (v[o] + eps).squareRoot()
            for j in 0..<per { weight[o * per + j] *= s }
            bias[o] = (bias[o] - m[o]) * s + b[o]
        }
    }

    /// The output's height and width for an input of h x w.
    public func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        (
            (h + padding.top + padding.bottom - kernel) / stride + 1,
            (w + padding.left + padding.right - kernel) / stride + 1
        )
    }

    /// `threads` for the im2col GEMM.
    public func forward(_ x: FeatureMap, threads: Int = 1) -> FeatureMap {
        precondition(x.channels == inChannels, "conv expects \(inChannels) channels, got \(x.channels)")
        let (oh, ow) = outputSize(x.height, x.width)
        var out = [Float](repeating: 0, count: outChannels * oh * ow)
        if groups == inChannels && groups == outChannels {
            depthwise(x, &out, oh, ow)
        } else {
            grouped(x, &out, oh, ow, threads: threads)
        }
        switch activation {
        case .none: break
        case .relu: for i in out.indices { out[i] = max(out[i], 0) }
        case .relu6: for i in out.indices { out[i] = min(max(out[i], 0), 6) }
        }
        return FeatureMap(channels: outChannels, height: oh, width: ow, data: out)
    }

    /// Dense / grouped: im2col, then one GEMM per group: out[o, p] = sum_j W[o, j] col[j, p] + b[o].
    func grouped(_ x: FeatureMap, _ out: inout [Float], _ oh: Int, _ ow: Int, threads: Int) {
        let cin = inChannels / groups, cout = outChannels / groups, k = kernel, K = cin * k * k, P = oh * ow
        let pointwise = k == 1 && stride == 1 && padding == (0, 0, 0, 0)
        var col = pointwise ? [] : [Float](repeating: 0, count: K * P)
        for g in 0..<groups {
            if !pointwise {
                for c in 0..<cin {
                    let plane = (g * cin + c) * x.height * x.width
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let row = ((c * k + ky) * k + kx) * P
                            for oy in 0..<oh {
                                let iy = oy * stride + ky - padding.top
                                if iy < 0 || iy >= x.height {
                                    for ox in 0..<ow { col[row + oy * ow + ox] = 0 }; continue
                                }
                                for ox in 0..<ow {
                                    let ix = ox * stride + kx - padding.left
                                    col[row + oy * ow + ox] =
                                        ix >= 0 && ix < x.width ? x.data[plane + iy * x.width + ix] : 0
                                }
                            }
                        }
                    }
                }
            }
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    x.data.withUnsafeBufferPointer { xp in
                        col.withUnsafeBufferPointer { cp in
                            let b = pointwise ? xp.baseAddress! + g * cin * P : cp.baseAddress!
                            gemm(
                                .none, .none, m: cout, n: P, k: K, a: w.baseAddress! + g * cout * K, lda: K, b: b,
                                ldb: P,
                                c: o.baseAddress! + g * cout * P, ldc: P, accumulate: false, threads: threads)
                        }
                    }
                }
            }
        }
        for o in 0..<outChannels { let b = bias[o]; for p in 0..<(oh * ow) { out[o * oh * ow + p] += b } }
    }

    /// Depthwise: each channel convolved with its own k x k filter.
    func depthwise(_ x: FeatureMap, _ out: inout [Float], _ oh: Int, _ ow: Int) {
        let k = kernel
        for c in 0..<inChannels {
            let plane = c * x.height * x.width, wk = c * k * k, b = bias[c]
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var s = b
                    for ky in 0..<k {
                        let iy = oy * stride + ky - padding.top
                        if iy < 0 || iy >= x.height { continue }
                        for kx in 0..<k {
                            let ix = ox * stride + kx - padding.left
                            if ix >= 0 && ix < x.width {
                                s += weight[wk + ky * k + kx] * x.data[plane + iy * x.width + ix]
                            }
                        }
                    }
                    out[(c * oh + oy) * ow + ox] = s
                }
            }
        }
    }
}

/// The layers around the convolutions.
public enum Layers {
    /// nn.MaxPool2d(kernel, stride, padding): padding counts as -infinity.
    public static func maxPool(_ x: FeatureMap, kernel: Int, stride: Int, padding: Int) -> FeatureMap {
        let oh = (x.height + 2 * padding - kernel) / stride + 1, ow = (x.width + 2 * padding - kernel) / stride + 1
        var out = [Float](repeating: -.infinity, count: x.channels * oh * ow)
        for c in 0..<x.channels {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var m = -Float.infinity
                    for ky in 0..<kernel {
                        let iy = oy * stride + ky - padding
                        guard iy >= 0 && iy < x.height else { continue }
                        for kx in 0..<kernel {
                            let ix = ox * stride + kx - padding
                            if ix >= 0 && ix < x.width { m = max(m, x.data[(c * x.height + iy) * x.width + ix]) }
                        }
                    }
                    out[(c * oh + oy) * ow + ox] = m
                }
            }
        }
        return FeatureMap(channels: x.channels, height: oh, width: ow, data: out)
    }

    /// nn.AdaptiveAvgPool2d(1) + flatten: one mean per channel.
    public static func globalAveragePool(_ x: FeatureMap) -> [Float] {
        let n = x.height * x.width
        return (0..<x.channels).map { c in x.data[(c * n)..<((c + 1) * n)].reduce(0, +) / Float(n) }
    }

    /// a + b elementwise (residual connections), then the activation.
    public static func add(_ a: FeatureMap, _ b: FeatureMap, activation: Activation = .none) -> FeatureMap {
        var out = a
        for i in out.data.indices {
            let v = a.data[i] + b.data[i]
            out.data[i] = activation == .relu ? max(v, 0) : activation == .relu6 ? min(max(v, 0), 6) : v
        }
        return out
    }

    /// y = W x + b with W [out, in].
    public static func linear(_ x: [Float], weight: Tensor<Float>, bias: Tensor<Float>) -> [Float] {
        let o = weight.shape[0], n = weight.shape[1]
        return (0..<o).map { i in
            var s = bias.data[i]
            for j in 0..<n { s += weight.data[i * n + j] * x[j] }
            return s
        }
    }

    /// TensorFlow 'SAME' padding for one axis: total = max((ceil(in / s) - 1) s + k - in, 0), the odd pixel at the end.
    public static func samePadding(input: Int, kernel: Int, stride: Int) -> (Int, Int) {
        let out = (input + stride - 1) / stride
        let total = max((out - 1) * stride + kernel - input, 0)
        return (total / 2, total - total / 2)
    }
}
