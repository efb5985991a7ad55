// MTCNN PNet/RNet/ONet with the bundled weights (assets/mtcnn, converted from facenet-pytorch) against
// facenet-pytorch's outputs on crops of the sample video.
import Testing
import TestSupport
import Neural
import Weights
import Models

@Suite struct MTCNNTests {
    static func weights(_ stage: String) throws -> [(String, Tensor)] {
        try TensorFile.load(contentsOf: assetURL("mtcnn/\(stage).safetensors")).namedTensors
    }

    /// facenet-pytorch's scaling of uint8 pixels.
    static func scaled(_ u8: Tensor) -> Tensor {
        Tensor(shape: u8.shape, data: u8.data.map { ($0 - 127.5) * 0.0078125 })
    }

    static func expectClose(_ actual: Tensor?, _ expected: Tensor?, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        guard let actual, let expected else {
            Issue.record("\(what): missing", sourceLocation: sourceLocation)
            return
        }
        #expect(actual.shape == expected.shape, "\(what) shape", sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        let err = maxAbsDifference(actual.data, expected.data)
        #expect(err <= 1e-4 * CNNFixture.scale(expected), "\(what): error \(err)", sourceLocation: sourceLocation)
    }

    @Test func pnetMatchesFacenetOnAFrameRegion() throws {
        let io = try CNNFixture.tensors("mtcnn_io.safetensors")
        let net = try MTCNNPNet(tensors: Self.weights("pnet"))
        let out = net.detect(Self.scaled(io["pnet.input"]!))
        // 60×80 → conv 58×78 → ceil pool 29×39 → 27×37 → 25×35.
        #expect(out.probabilities.shape == [1, 2, 25, 35])
        Self.expectClose(out.boxRegression, io["pnet.regression"], "pnet regression")
        Self.expectClose(out.probabilities, io["pnet.probability"], "pnet probability")
        let g = Graph()
        Self.expectClose(net.forward(g.input(Self.scaled(io["pnet.input"]!)), in: g).tensor, io["pnet.probability"],
                         "pnet forward")
    }

    @Test func rnetMatchesFacenetOnA24Crop() throws {
        let io = try CNNFixture.tensors("mtcnn_io.safetensors")
        let out = try MTCNNRNet(tensors: Self.weights("rnet")).detect(Self.scaled(io["rnet.input"]!))
        Self.expectClose(out.boxRegression, io["rnet.regression"], "rnet regression")
        Self.expectClose(out.probabilities, io["rnet.probability"], "rnet probability")
        #expect(out.landmarks == nil)
    }

    @Test func onetMatchesFacenetOnA48Crop() throws {
        let io = try CNNFixture.tensors("mtcnn_io.safetensors")
        let out = try MTCNNONet(tensors: Self.weights("onet")).detect(Self.scaled(io["onet.input"]!))
        Self.expectClose(out.boxRegression, io["onet.regression"], "onet regression")
        Self.expectClose(out.landmarks, io["onet.landmarks"], "onet landmarks")
        Self.expectClose(out.probabilities, io["onet.probability"], "onet probability")
    }

    @Test func stagesRefuseEachOthersWeights() throws {
        let rnet = try Self.weights("rnet")
        let error = CNNFixture.bindingError { _ = try MTCNNONet(tensors: rnet) }
        guard case .binding(let arch, let missing, _, let misshapen)? = error else {
            Issue.record("expected a binding error, got \(String(describing: error))")
            return
        }
        #expect(arch == "MTCNN ONet")
        #expect(missing.contains("conv4.weight") && missing.contains("dense6_3.weight"))
        #expect(misshapen.contains { $0.hasPrefix("conv1.weight [28, 3, 3, 3]") })
    }
}
