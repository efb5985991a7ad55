import Foundation
import Testing
import Faces
import Media
import TestSupport

// MARK: - Parity with facenet-pytorch

@Suite("MTCNN against facenet-pytorch 2.6.0")
struct MTCNNParityTests {
    /// Same faces, box corners and landmarks within 1 px, probabilities within 1e-3, in facenet's order.
    static func expectMatches(_ found: [Face], _ golden: GoldenCase) {
        #expect(found.count == golden.faces.count, "\(golden.name): \(found.count) faces, facenet \(golden.faces.count)")
        for (face, want) in zip(found, golden.faces) {
            let box = [face.box.x1, face.box.y1, face.box.x2, face.box.y2]
            #expect(maxAbsDifference(box, want.box) <= 1, "\(golden.name): box \(box) vs \(want.box)")
            #expect(abs(face.probability - want.prob) <= 1e-3, "\(golden.name): p \(face.probability) vs \(want.prob)")
            let marks = face.landmarks.flatMap { [$0.x, $0.y] }
            #expect(maxAbsDifference(marks, want.landmarks.flatMap { $0 }) <= 1, "\(golden.name): landmarks")
        }
    }

    @Test("all 120 frames of the sample")
    func sampleFrames() throws {
        let mtcnn = try #require(sharedMTCNN, "MTCNN weights not found in \(mtcnnWeightsDirectory().path)")
        let golden = try loadGolden().cases.filter { $0.source == "frame" }
        #expect(golden.count == 120)
        #expect(FacesTests.sampleFrames.count == 120, "decoded sample frames")
        for g in golden {
            let img = try #require(image(for: g))
            Self.expectMatches(mtcnn.detect(img), g)
        }
    }

    @Test("derived frames: 2× upscale, flip, 1920×1080, background crop, black", arguments: ["up2", "flip", "hd", "background", "black"])
    func derived(name: String) throws {
        let mtcnn = try #require(sharedMTCNN)
        let g = try #require(try loadGolden().cases.first { $0.name == name })
        let img = try #require(image(for: g))
        Self.expectMatches(mtcnn.detect(img), g)
    }
}

// MARK: - Edge cases

@Suite("MTCNN edge cases")
struct MTCNNEdgeCaseTests {
    @Test("images too small for a 12-pixel face give no faces", arguments: [(0, 0), (1, 1), (11, 40), (40, 11), (23, 23)])
    func tiny(size: (Int, Int)) throws {
        let mtcnn = try #require(sharedMTCNN)
        let img = RGBImage(width: size.0, height: size.1, fill: (200, 150, 120))
        #expect(mtcnn.detect(img).isEmpty)
    }

    @Test("smallest image with a pyramid level runs")
    func smallestPyramid() throws {
        let mtcnn = try #require(sharedMTCNN)
        // min side 20 is exactly one scale (12/20 · 20 = 12); the crop of the face fills it.
        let frame = try #require(sampleFrames.first)
        let face = cropped(frame, x: 70, y: 40, width: 40, height: 50)
        _ = mtcnn.detect(face)
        #expect(mtcnn.detect(RGBImage(width: 20, height: 20)).isEmpty)
    }

    @Test("uniform frames have no face", arguments: [UInt8(0), 128, 255])
    func uniform(level: UInt8) throws {
        let mtcnn = try #require(sharedMTCNN)
        #expect(mtcnn.detect(RGBImage(width: 176, height: 144, fill: (level, level, level))).isEmpty)
    }

    @Test("options are validated")
    func options() throws {
        let dir = mtcnnWeightsDirectory()
        #expect(throws: FacesError.self) { try MTCNN(weightsDirectory: dir, options: MTCNNOptions(factor: 1.2)) }
        #expect(throws: FacesError.self) { try MTCNN(weightsDirectory: dir, options: MTCNNOptions(minFaceSize: 0)) }
        #expect(throws: FacesError.self) { try MTCNN(weightsDirectory: dir, options: MTCNNOptions(thresholds: [0.5])) }
    }

    @Test("a missing weights folder is a clear error naming the file")
    func missingWeights() throws {
        let dir = try makeTemporaryDirectory("faces-noweights")
        do {
            _ = try MTCNN(weightsDirectory: dir)
            Issue.record("expected an error")
        } catch let error as FacesError {
            #expect(error.description.contains("pnet.safetensors"))
        }
    }
}

@Suite("MTCNN weights")
struct MTCNNWeightsTests {
    @Test("weights of the wrong network are refused with the keys named")
    func swapped() throws {
        let dir = try makeTemporaryDirectory("faces-swapped")
        let assets = mtcnnWeightsDirectory()
        // RNet's tensors where PNet's belong.
        try FileManager.default.copyItem(at: assets.appendingPathComponent("rnet.safetensors"), to: dir.appendingPathComponent("pnet.safetensors"))
        for name in ["rnet", "onet"] {
            try FileManager.default.copyItem(at: assets.appendingPathComponent("\(name).safetensors"),
                                             to: dir.appendingPathComponent("\(name).safetensors"))
        }
        do {
            _ = try MTCNN(weightsDirectory: dir)
            Issue.record("expected a binding error")
        } catch let error as FacesError {
            #expect(error.description.contains(dir.path) && error.description.contains("conv"), "\(error)")
        }
    }

    @Test("a truncated weights file is a clear error naming it")
    func truncated() throws {
        let dir = try makeTemporaryDirectory("faces-truncated")
        let assets = mtcnnWeightsDirectory()
        for name in ["pnet", "rnet", "onet"] {
            var data = try Data(contentsOf: assets.appendingPathComponent("\(name).safetensors"))
            if name == "onet" { data = data.prefix(data.count / 2) }
            try data.write(to: dir.appendingPathComponent("\(name).safetensors"))
        }
        do {
            _ = try MTCNN(weightsDirectory: dir)
            Issue.record("expected an error")
        } catch let error as FacesError {
            #expect(error.description.contains("onet.safetensors"), "\(error)")
        }
    }
}
