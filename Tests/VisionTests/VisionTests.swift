import Foundation
import XCTest
import TensorCore
import Recurrent
@testable import Vision
@testable import Interchange

let visionFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

final class ImageTests: XCTestCase {
    func testJPEGDecodingMatchesPIL() throws {
        let ours = try RGBImage(contentsOf: visionFixtures.appendingPathComponent("photo.jpg"))
        let pil = try RGBImage(contentsOf: visionFixtures.appendingPathComponent("photo_jpg_decoded.png"))
        XCTAssertEqual(ours.width, 96); XCTAssertEqual(ours.height, 64)
        XCTAssertEqual(ours, pil)
    }

    /// Resize(40) + CenterCrop(32) reproduces torchvision on a PIL image to the last bit.
    func testResizeAndCropMatchTorchvisionExactly() throws {
        let photo = try RGBImage(contentsOf: visionFixtures.appendingPathComponent("photo.png"))
        let expected = try RGBImage(contentsOf: visionFixtures.appendingPathComponent("photo_resized.png"))
        let resized = Preprocess.resizeShorterSide(photo, to: 40)
        XCTAssertEqual(resized.width, 60); XCTAssertEqual(resized.height, 40)
        XCTAssertEqual(try Preprocess.centerCrop(resized, size: 32), expected)
    }

    func testNormalizeLayout() {
        let img = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 255, 0])
        let t = Preprocess.normalize(img, scale: 1, mean: [127, 127, 127], std: [128, 128, 128])
        XCTAssertEqual(t.shape, [3, 1, 2])
        let low: Float = -127.0 / 128
        XCTAssertEqual(t.data, [1, low, low, 1, low, low])
    }

    func testUnreadableFilesGiveClearErrors() {
        XCTAssertThrowsError(try RGBImage(data: Data("hello".utf8), source: "x.txt")) {
            XCTAssertTrue("\($0)".contains("x.txt: not a JPEG or PNG"))
        }
        var jpeg = try! Data(contentsOf: visionFixtures.appendingPathComponent("photo.jpg"))
        jpeg = jpeg.prefix(200)
        XCTAssertThrowsError(try RGBImage(data: jpeg, source: "cut.jpg")) {
            XCTAssertTrue("\($0)".contains("cut.jpg"), "\($0)")
        }
        var png = try! Data(contentsOf: visionFixtures.appendingPathComponent("photo.png"))
        png = png.prefix(100)
        XCTAssertThrowsError(try RGBImage(data: png, source: "cut.png")) {
            XCTAssertTrue("\($0)".contains("cut.png: cannot decode"), "\($0)")
        }
    }
}

final class CNNTests: XCTestCase {
    /// ResNet-18 with deterministic seeded weights against torchvision's output for the same weights and input.
    func testResNet18MatchesTorchvision() throws {
        let ref =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: visionFixtures.appendingPathComponent("resnet18_reference.json")))
            as! [String: Any]
        XCTAssertEqual(ResNet18.parameterLayout().map(\.0), ref["names"] as! [String])
        let net = try ResNet18(stateDict: ResNet18.seededStateDict())
        let feats = try net.features(ResNet18.seededInput(size: 64))
        let logits = net.logits(features: feats)
        let rf = (ref["features"] as! [Double]), rl = (ref["logits"] as! [Double])
        let scaleF = rf.map(abs).max()!, scaleL = rl.map(abs).max()!
        for (a, b) in zip(feats, rf) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * scaleF) }
        for (a, b) in zip(logits, rl) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * scaleL) }
    }

    func testSamePaddingPutsTheOddPixelAtTheEnd() {
        XCTAssertTrue(Layers.samePadding(input: 224, kernel: 3, stride: 2) == (0, 1))
        XCTAssertTrue(Layers.samePadding(input: 113, kernel: 5, stride: 2) == (2, 2))
        XCTAssertTrue(Layers.samePadding(input: 14, kernel: 5, stride: 1) == (2, 2))
    }

    /// Depthwise, grouped and dense convolutions against a direct definition.
    func testConvolutionVariantsMatchDirectLoops() throws {
        var rng = SeededRandom(seed: 5)
        for (inC, outC, groups, k, stride, pad) in [
            (4, 6, 1, 3, 1, (1, 1, 1, 1)), (4, 4, 4, 3, 2, (0, 0, 1, 1)), (4, 6, 2, 1, 1, (0, 0, 0, 0)),
            (3, 5, 1, 5, 2, (2, 2, 2, 2))
        ] {
            let w = Tensor<Float>.uniform([outC, inC / groups, k, k], -1, 1, rng: &rng),
                b = Tensor<Float>.uniform([outC], -1, 1, rng: &rng)
            let x = FeatureMap(
                channels: inC, height: 9, width: 7, data: (0..<(inC * 63)).map { _ in Float(rng.uniform(-1, 1)) })
            let conv = try Conv2d(weight: w, bias: b, stride: stride, padding: pad, groups: groups)
            let y = conv.forward(x)
            let (oh, ow) = conv.outputSize(9, 7)
            for o in 0..<outC {
                let g = o / (outC / groups)
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s = Double(b.data[o])
                        for ci in 0..<(inC / groups) {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = oy * stride + ky - pad.0, ix = ox * stride + kx - pad.1
                                    if iy >= 0 && iy < 9 && ix >= 0 && ix < 7 {
                                        s +=
                                            Double(w.data[((o * (inC / groups) + ci) * k + ky) * k + kx])
                                            * Double(x.data[((g * (inC / groups) + ci) * 9 + iy) * 7 + ix])
                                    }
                                }
                            }
                        }
                        XCTAssertEqual(Double(y.data[(o * oh + oy) * ow + ox]), s, accuracy: 1e-4)
                    }
                }
            }
        }
    }

    func testMissingOrMisshapedWeightsAreNamed() {
        var sd = ResNet18.seededStateDict()
        sd.tensors["layer2.0.conv1.weight"] = nil
        XCTAssertThrowsError(try ResNet18(stateDict: sd)) {
            XCTAssertTrue("\($0)".contains("missing weight 'layer2.0.conv1.weight'"))
        }
        sd = ResNet18.seededStateDict()
        sd.tensors["conv1.weight"] = Tensor(zeros: [64, 3, 3, 3])
        XCTAssertThrowsError(try ResNet18(stateDict: sd)) {
            XCTAssertTrue("\($0)".contains("'conv1.weight': expected shape [64, 3, 7, 7], got [64, 3, 3, 3]"))
        }
    }
}

final class TorchCheckpointTests: XCTestCase {
    func expected() throws -> [String: (shape: [Int], values: [Double])] {
        let j =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: visionFixtures.appendingPathComponent("tiny_expected.json")))
            as! [String: [String: Any]]
        return j.mapValues { ($0["shape"] as! [Int], $0["values"] as! [Double]) }
    }

    func testZipAndLegacyFormatsGiveTheSameTensors() throws {
        let exp = try expected()
        for file in ["tiny_zip.pth", "tiny_legacy.pth"] {
            let sd = try TorchCheckpoint.load(visionFixtures.appendingPathComponent(file))
            XCTAssertEqual(Set(sd.keys), Set(exp.keys), file)
            for (name, e) in exp {
                XCTAssertEqual(sd[name]!.shape, e.shape, "\(file) \(name)")
                for (a, b) in zip(sd[name]!.data, e.values) {
                    XCTAssertEqual(Double(a), b, accuracy: 1e-6, "\(file) \(name)")
                }
            }
        }
    }

    func testRefusesArbitraryGlobals() {
        XCTAssertThrowsError(try TorchCheckpoint.load(visionFixtures.appendingPathComponent("evil.pth"))) {
            XCTAssertTrue(
                "\($0)".contains("refusing to load 'posix.system'") || "\($0)".contains("refusing to load 'os.system'"),
                "\($0)")
        }
    }

    func testTruncatedAndForeignFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let legacy = try Data(contentsOf: visionFixtures.appendingPathComponent("tiny_legacy.pth"))
        try legacy.prefix(legacy.count - 20).write(to: dir.appendingPathComponent("cut.pth"))
        XCTAssertThrowsError(try TorchCheckpoint.load(dir.appendingPathComponent("cut.pth"))) {
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
        try Data("just text".utf8).write(to: dir.appendingPathComponent("text.pth"))
        XCTAssertThrowsError(try TorchCheckpoint.load(dir.appendingPathComponent("text.pth")))
    }
}

final class StateDictFileTests: XCTestCase {
    /// The same weights through safetensors and through both torch.save formats.
    func testLoadsSafetensorsAndPth() throws {
        let zip = StateDict(try WeightFile.tensors(contentsOf: visionFixtures.appendingPathComponent("tiny_zip.pth")))
        let legacy = StateDict(
            try WeightFile.tensors(contentsOf: visionFixtures.appendingPathComponent("tiny_legacy.pth")))
        XCTAssertEqual(zip.tensors["layer.weight"], legacy.tensors["layer.weight"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sd-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let set = ParameterSet(names: ["layer.weight"], tensors: [zip.tensors["layer.weight"]!])
        try SafetensorsFile.write(set, to: dir)
        XCTAssertEqual(try WeightFile.tensors(contentsOf: dir)["layer.weight"], zip.tensors["layer.weight"])
    }
}

/// Weights a network cannot use are refused by name before they make every score NaN ("nan% tench").
final class StateDictTests: XCTestCase {
    func testANonFiniteWeightIsRefusedByName() throws {
        let sd = StateDict(["fc.bias": try Tensor(shape: [3], data: [0, .nan, 1])])
        XCTAssertThrowsError(try sd.get("fc.bias", [3])) {
            XCTAssertEqual("\($0)", "'fc.bias' holds a non-finite value (nan at element 1)")
        }
        XCTAssertTrue(ResNet18.reads("layer4.1.conv2.weight"))
        XCTAssertFalse(ResNet18.reads("decoy"))
    }
}
