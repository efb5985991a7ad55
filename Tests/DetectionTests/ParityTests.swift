// Per-face scores against PyTorch on the same crops, through the presets' own preprocessing and heads.
import Detection
import Faces
import Foundation
import Media
import Neural
import Testing
import TestSupport
import Weights

@Suite(.timeLimit(.minutes(1))) struct ParityTests {
    let parity: [String: Any]
    init() throws { parity = try jsonFixture("parity.json") }

    func expected(_ key: String, _ field: String) throws -> Float {
        let entry = try #require(parity[key] as? [String: Any])
        return try #require(entry[field] as? NSNumber).floatValue
    }

    /// The icpr2020dfdc preset at the reduced width of the models fixture (same code path, smaller network).
    func reducedIcpr(_ preset: String) throws -> DetectorManifest {
        var m = try #require(DetectorPresets.named(preset)).manifest
        m.variant = "w0.1d0.25r100"
        m.input.size = 72
        return m
    }

    @Test func efficientNetAutoAttB4MatchesPyTorchOnAFaceCrop() throws {
        let file = try TensorFile.load(contentsOf: fixtureURL("models/effnet_autoatt/weights.pth"))
        let detector = try Detector(manifest: try reducedIcpr("icpr2020dfdc:EfficientNetAutoAttB4"), tensors: file.namedTensors)
        let crop = try PNG.read(contentsOf: detectionFixture("autoatt_crop.png"))
        let out = try detector.score(detector.preprocess([crop]))[0]
        expectClose([out.logit], [try expected("autoatt", "logit")], atol: 2e-4, rtol: 1e-3, "logit")
        expectClose([out.probability], [try expected("autoatt", "probability")], atol: 5e-5, rtol: 0, "p_fake")
        #expect(out.classProbabilities.count == 2 && abs(out.classProbabilities[0] + out.probability - 1) < 1e-6)
    }

    @Test func siameseTuningFoldsIntoTheHead() throws {
        let file = try TensorFile.load(contentsOf: detectionFixture("autoatt_st.safetensors"))
        let detector = try Detector(manifest: try reducedIcpr("icpr2020dfdc:EfficientNetAutoAttB4ST"), tensors: file.namedTensors)
        let crop = try PNG.read(contentsOf: detectionFixture("autoatt_crop.png"))
        let out = try detector.score(detector.preprocess([crop]))[0]
        expectClose([out.logit], [try expected("autoatt_st", "logit")], atol: 1e-3, rtol: 1e-3, "ST logit")
    }

    @Test func tinyMesoDetectorMatchesPyTorch() throws {
        let detector = try Detector.load(spec: detectionFixture("tiny/manifest.json").path, weights: nil)
        let crop = try PNG.read(contentsOf: detectionFixture("tiny_crop.png"))
        let out = try detector.score(detector.preprocess([crop]))[0]
        let probs = try #require((parity["tiny"] as? [String: Any])?["probabilities"] as? [NSNumber]).map(\.floatValue)
        expectClose(out.classProbabilities, probs, atol: 1e-5, rtol: 1e-4, "class probabilities")
        expectClose([out.logit], [try expected("tiny", "logit")], atol: 1e-4, rtol: 1e-4, "logit")
        #expect(out.predicted == (probs[1] > probs[0] ? 1 : 0))
    }

    /// The FF++ release format (a whole pickled TransferModel, legacy serialisation, 2-D pointwise weights) through
    /// the `ffpp:xception` preset, on the narrowed Xception of the models fixtures (fed 71×71, not 299).
    @Test func ffppXceptionPresetMatchesPyTorch() throws {
        var m = try #require(DetectorPresets.named("ffpp:xception")).manifest
        m.input.size = 71
        m.weights = fixtureURL("models_cnn/xception_ffpp.pth")
        let detector = try Detector.load(manifest: m)
        let io = try TensorFile.load(contentsOf: fixtureURL("models_cnn/xception_io.safetensors"))
        let input = try #require(io["input"]), logits = try #require(io["logits"])
        let plane = 71 * 71
        let crops = (0..<input.shape[0]).map { n in
            RGBImage(width: 71, height: 71, pixels: (0..<(plane * 3)).map { i in
                UInt8(input.data[(n * 3 + i % 3) * plane + i / 3])
            })
        }
        let out = try detector.score(detector.preprocess(crops))
        for (n, o) in out.enumerated() {
            let z = [Double(logits.data[2 * n]), Double(logits.data[2 * n + 1])]
            let pFake = 1 / (1 + exp(z[0] - z[1]))
            #expect(abs(Double(o.probability) - pFake) < 1e-4, "item \(n): \(o.probability) vs \(pFake)")
            #expect(abs(Double(o.logit) - (z[1] - z[0])) < 2e-3 * max(1, abs(z[1] - z[0])), "item \(n) logit")
        }
    }

    /// SBI's test-time crop: box ± 1/8 of its size, int() truncation, +1 on the far edges, clamped, squashed.
    @Test func boxCropFollowsSBI() throws {
        var m = try DetectorManifest.resolve(spec: detectionFixture("tiny/manifest.json").path)
        m.crop = try #require(DetectorPresets.named("sbi:efficientnet-b4")).manifest.crop
        #expect(m.crop == .box(margin: 0.125))
        let detector = try Detector(manifest: m, tensors: TensorFile.load(contentsOf: detectionFixture("tiny/weights.safetensors"))
            .removingCommonPrefixes().namedTensors)
        let frame = RGBImage(width: 100, height: 80, pixels: (0..<(100 * 80 * 3)).map { UInt8(truncatingIfNeeded: $0 * 31 / 7) })
        func face(_ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float) -> Face {
            Face(box: FaceBox(x1: x1, y1: y1, x2: x2, y2: y2), probability: 1, landmarks: [])
        }
        // w = 40.2, h = 40.7: x 20.5 − 5.025 → 15, 60.7 + 5.025 → 65 (+1); y 10.2 − 5.0875 → 5, 50.9 + 5.0875 → 55 (+1).
        #expect(try detector.crop(frame, face(20.5, 10.2, 60.7, 50.9))
                == frame.crop(x: 15, y: 5, width: 51, height: 51).resizedBilinear(width: 32, height: 32))
        // Clamped at the frame's edges: x from 0 (−2.5 truncates to −2), y to the bottom row.
        #expect(try detector.crop(frame, face(2, 60, 30, 79)) == frame.crop(x: 0, y: 57, width: 34, height: 23).resizedBilinear(width: 32, height: 32))
        #expect(throws: (any Error).self) { try detector.crop(frame, face(200, 200, 240, 240)) }
    }

    /// DeepfakeBench's EfficientNet-B4 has an unpadded stem; the preset's `trim` reproduces it exactly (here on the
    /// reduced 3-class weights of the models fixtures, renamed into efficientnetb4.py's layout).
    @Test func deepfakeBenchEfficientNetUnpaddedStemMatchesPyTorch() throws {
        var m = try #require(DetectorPresets.named("deepfakebench:efficientnetb4")).manifest
        #expect(m.input.trim == 1)
        m.variant = "w0.1d0.25r100"
        m.input.size = 72
        m.output.classes = ["real", "fake", "other"]
        let file = try TensorFile.load(contentsOf: fixtureURL("models/effnet_luke07/weights.pth"))
        let renamed = file.namedTensors.map { key, value in
            (key.hasPrefix("_fc.") ? "last_layer." + key.dropFirst(4) : "efficientnet." + key, value)
        }
        let detector = try Detector(manifest: m, tensors: renamed)
        let crop = try PNG.read(contentsOf: detectionFixture("autoatt_crop.png"))
        let input = detector.preprocess([crop])
        #expect(input.shape == [1, 3, 71, 71])
        let out = try detector.score(input)[0]
        let probs = try #require((parity["dfb_effnet"] as? [String: Any])?["probabilities"] as? [NSNumber]).map(\.floatValue)
        expectClose(out.classProbabilities, probs, atol: 1e-4, rtol: 1e-3, "DeepfakeBench EfficientNet")
        #expect(abs(out.probability - (1 - probs[0])) < 1e-4)
    }

    /// DeepfakeBench's img_align_crop(scale=1.3) on a synthetic frame, against skimage + cv2.warpAffine.
    @Test func alignedCropFollowsDeepfakeBench() throws {
        // Any network will do for the crop; the reduced EfficientNet takes any input size.
        var m = try reducedIcpr("icpr2020dfdc:EfficientNetAutoAttB4")
        m.crop = try #require(DetectorPresets.named("deepfakebench:xception")).manifest.crop
        #expect(m.crop == .aligned(scale: 1.3))
        m.input.size = 64
        let detector = try Detector(manifest: m, tensors: TensorFile.load(contentsOf: fixtureURL("models/effnet_autoatt/weights.pth")).namedTensors)
        var pixels = [UInt8](repeating: 0, count: 176 * 144 * 3)
        for y in 0..<144 { for x in 0..<176 {
            let i = (y * 176 + x) * 3
            pixels[i] = UInt8(255 * x / 175); pixels[i + 1] = UInt8(255 * y / 143); pixels[i + 2] = UInt8(255 * (x + y) / 318)
        } }
        let entry = try #require(parity["dfb_align"] as? [String: Any])
        let marks = try #require(entry["landmarks"] as? [[Double]]).map { FacePoint(x: Float($0[0]), y: Float($0[1])) }
        let face = Face(box: FaceBox(x1: 70, y1: 40, x2: 110, y2: 95), probability: 1, landmarks: marks)
        let ours = try detector.crop(RGBImage(width: 176, height: 144, pixels: pixels), face)
        let theirs = try PNG.read(contentsOf: detectionFixture("dfb_align_crop.png"))
        #expect(ours.width == 64 && ours.height == 64 && theirs.width == 64)
        let diffs = zip(ours.pixels, theirs.pixels).map { abs(Int($0) - Int($1)) }
        // cv2 interpolates in fixed point (1/32 pixel, 11-bit weights); one or two grey levels apart is that rounding.
        #expect(diffs.max()! <= 2, "max difference \(diffs.max()!)")
        #expect(Double(diffs.reduce(0, +)) / Double(diffs.count) < 0.5)
    }

    @Test func preprocessingFollowsOrderScaleMeanStd() throws {
        var m = try DetectorManifest.resolve(spec: detectionFixture("tiny/manifest.json").path)
        m.input = InputSpec(size: 32, bgr: true, scale: 1, mean: [10, 20, 30], std: [2, 4, 5])
        let detector = try Detector(manifest: m, tensors: TensorFile.load(contentsOf: detectionFixture("tiny/weights.safetensors"))
            .removingCommonPrefixes().namedTensors)
        let x = detector.preprocess([RGBImage(width: 8, height: 8, fill: (100, 150, 200))])   // resized to 32
        #expect(x.shape == [1, 3, 32, 32])
        let expected: [Float] = [95, 32.5, 14]   // BGR, blue first: (200 − 10) / 2, (150 − 20) / 4, (100 − 30) / 5
        #expect([x.data[0], x.data[1024], x.data[2048]] == expected)
    }
}
