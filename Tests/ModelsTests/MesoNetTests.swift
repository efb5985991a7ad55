// Meso4 and MesoInception4 parity against DeepfakeBench's definitions (real size, input 256).
import Testing
import TestSupport
import Neural
import Weights
import Models

@Suite struct MesoNetTests {
    /// The 256×256 input: the stored 128×128 frame with every pixel repeated 2×2, as the fixture script makes it.
    static func input() throws -> Tensor {
        let small = try CNNFixture.tensors("meso_input.safetensors")["input"]!
        let (n, c, h, w) = (small.shape[0], small.shape[1], small.shape[2], small.shape[3])
        var big = Tensor(shape: [n, c, 2 * h, 2 * w])
        for plane in 0..<(n * c) {
            for y in 0..<(2 * h) {
                for x in 0..<(2 * w) { big.data[(plane * 2 * h + y) * 2 * w + x] = small.data[(plane * h + y / 2) * w + x / 2] }
            }
        }
        return CNNFixture.normalised(big)
    }

    @Test func meso4MatchesDeepfakeBench() throws {
        // DeepfakeBench checkpoints nest the weights under `state_dict` with a `backbone.` prefix; the reader
        // unwraps both.
        let net = try Meso4(tensors: CNNFixture.checkpoint("meso4.pth"))
        #expect(net.classes == 2)
        let io = try CNNFixture.tensors("meso4_io.safetensors")
        CNNFixture.expectParity(net, input: try Self.input(), io: io, layers: ["conv4"], target: 1, channels: 4)
    }

    @Test func mesoInception4MatchesDeepfakeBench() throws {
        let net = try MesoInception4(tensors: CNNFixture.checkpoint("mesoinception4.pth"))
        let io = try CNNFixture.tensors("mesoinception4_io.safetensors")
        CNNFixture.expectParity(net, input: try Self.input(), io: io, layers: ["conv2"], target: 1, channels: 4)
    }

    @Test func wrongInputSizeNamesTheMisshapenLayer() throws {
        let tensors = try CNNFixture.checkpoint("meso4.pth")
        let error = CNNFixture.bindingError { _ = try Meso4(inputSize: 128, tensors: tensors) }
        guard case .binding(_, _, _, let misshapen)? = error else {
            Issue.record("expected a binding error, got \(String(describing: error))")
            return
        }
        #expect(misshapen == ["fc1.weight [16, 1024] (expected [16, 256])"])
        #expect(throws: ModelError.self) { _ = try Meso4(inputSize: 100, tensors: tensors) }
    }

    @Test func mesoCheckpointsDoNotCross() throws {
        let tensors = try CNNFixture.checkpoint("meso4.pth")
        let error = CNNFixture.bindingError { _ = try MesoInception4(tensors: tensors) }
        guard case .binding(_, let missing, let unexpected, _)? = error else {
            Issue.record("expected a binding error, got \(String(describing: error))")
            return
        }
        #expect(missing.contains("Incption1_conv1.weight") && unexpected.contains("conv3.weight"))
    }
}
