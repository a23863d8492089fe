import Foundation
import CImageCodecs
import TensorCore
import Files

/// Errors reading or processing images; each names the file.
public struct ImageError: Error, CustomStringConvertible, Equatable {
    /// What could not be decoded, naming the file.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// An 8-bit RGB image, rows top to bottom (height x width x 3), as PIL's Image.convert("RGB") holds it.
public struct RGBImage: Equatable {
    /// The image's size in pixels.
    public let width: Int, height: Int
    /// RGB bytes, row-major, 3 per pixel.
    public var pixels: [UInt8]

    /// An image of these pixels.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3)
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// Decodes JPEG (libjpeg-turbo) or PNG (libpng), chosen by the file's magic bytes.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try InputFile.contents(of: url) } catch { throw ImageError("\(error)") }
        try self.init(data: data, source: url.path)
    }

    /// Decodes JPEG or PNG bytes (libjpeg-turbo, libpng); `source` names them in errors.
    public init(data: Data, source: String) throws {
        var img = rl_image()
        let status: Int32 = data.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return -2 }
            if data.starts(with: [0xFF, 0xD8]) { return rl_decode_jpeg(base, raw.count, &img) }
            if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return rl_decode_png(base, raw.count, &img) }
            return -2
        }
        defer { rl_image_free(&img) }
        if status == -2 { throw ImageError("\(source): not a JPEG or PNG file") }
        guard status == 0, let p = img.pixels else {
            let message = withUnsafeBytes(of: img.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ImageError("\(source): cannot decode (\(message))")
        }
        self.init(
            width: Int(img.width), height: Int(img.height),
            pixels: Array(UnsafeBufferPointer(start: p, count: Int(img.width) * Int(img.height) * 3)))
    }
}

/// torchvision's ImageNet preprocessing on PIL images, reproduced exactly: Resize (PIL bilinear with its
/// antialiasing filter support and 8-bit fixed-point passes), CenterCrop, ToTensor, Normalize.
public enum Preprocess {
    /// transforms.Resize(size): the shorter side becomes `size`, the longer int(size * long / short).
    public static func resizeShorterSide(_ img: RGBImage, to size: Int) -> RGBImage {
        let (w, h) =
            img.width <= img.height
            ? (size, Int(Double(size) * Double(img.height) / Double(img.width)))
            : (Int(Double(size) * Double(img.width) / Double(img.height)), size)
        return resize(img, width: w, height: h)
    }

    /// PIL's Image.resize(..., BILINEAR) (ImagingResample): a triangle filter whose support grows with the
    /// downscale factor, coefficients in 22-bit fixed point, horizontal pass then vertical, each rounded to 8 bits.
    public static func resize(_ img: RGBImage, width: Int, height: Int) -> RGBImage {
        var out = img
        if width != img.width { out = pass(out, outSize: width, horizontal: true) }
        if height != img.height { out = pass(out, outSize: height, horizontal: false) }
        return out
    }

    static let precisionBits = 32 - 8 - 2

    /// Fixed-point filter coefficients per output position: (first input index, weights).
    static func coefficients(inSize: Int, outSize: Int) -> [(Int, [Int32])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1), support = 1.0 * filterScale
        return (0..<outSize).map { xx in
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var k = (0..<xmax).map { x -> Double in
                let t = (Double(x + xmin) - center + 0.5) / filterScale
                return max(0, 1 - abs(t))
            }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            let fixed = k.map { v -> Int32 in
                Int32(v < 0 ? -0.5 + v * Double(1 << precisionBits) : 0.5 + v * Double(1 << precisionBits))
            }
            return (xmin, fixed)
        }
    }

    static func pass(_ img: RGBImage, outSize: Int, horizontal: Bool) -> RGBImage {
        let coeffs = coefficients(inSize: horizontal ? img.width : img.height, outSize: outSize)
        let ow = horizontal ? outSize : img.width, oh = horizontal ? img.height : outSize
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        let half = Int64(1) << (precisionBits - 1)
        img.pixels.withUnsafeBufferPointer { src in
            for y in 0..<oh {
                for x in 0..<ow {
                    let (start, k) = coeffs[horizontal ? x : y]
                    for c in 0..<3 {
                        var ss = half
                        for (i, w) in k.enumerated() {
                            let sx = horizontal ? start + i : x, sy = horizontal ? y : start + i
                            ss += Int64(src[(sy * img.width + sx) * 3 + c]) * Int64(w)
                        }
                        out[(y * ow + x) * 3 + c] = UInt8(clamping: ss >> Int64(precisionBits))
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }

    /// transforms.CenterCrop(size): top = round((h - size) / 2), left = round((w - size) / 2).
    public static func centerCrop(_ img: RGBImage, size: Int) throws -> RGBImage {
        guard img.width >= size, img.height >= size else {
            throw ImageError("image \(img.width)x\(img.height) is smaller than the \(size) crop")
        }
        let top = Int((Double(img.height - size) / 2).rounded()), left = Int((Double(img.width - size) / 2).rounded())
        var px = [UInt8](); px.reserveCapacity(size * size * 3)
        for y in top..<(top + size) {
            px += img.pixels[((y * img.width + left) * 3)..<((y * img.width + left + size) * 3)]
        }
        return RGBImage(width: size, height: size, pixels: px)
    }

    /// CHW floats: (pixel / scale - mean[c]) / std[c]. ImageNet torchvision: scale 255, mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225). EfficientNet-Lite: scale 1, mean 127, std 128 (on 0-255 pixels).
    public static func normalize(
        _ img: RGBImage, scale: Float = 255, mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
    ) -> Tensor<Float> {
        let n = img.width * img.height
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n { for c in 0..<3 { out[c * n + i] = (Float(img.pixels[i * 3 + c]) / scale - mean[c]) / std[c] } }
        return try! Tensor(shape: [3, img.height, img.width], data: out)
    }

    /// Resize(256) + CenterCrop(224) + normalisation: the standard ImageNet evaluation transform.
    public static func imagenet(
        _ img: RGBImage, resize: Int = 256, crop: Int = 224, scale: Float = 255,
        mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
    ) throws -> Tensor<Float> {
        normalize(try centerCrop(resizeShorterSide(img, to: resize), size: crop), scale: scale, mean: mean, std: std)
    }
}
