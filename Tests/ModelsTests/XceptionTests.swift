// Xception parity against timm's legacy_xception, with the same (narrowed) weights saved in the timm
// (safetensors), Cadene (legacy torch.save) and FF++ (whole pickled TransferModel, 2-D pointwise) layouts.
import Testing
import TestSupport
import Neural
import Weights
import Models

@Suite struct XceptionTests {
    static let layers = ["block3", "block12", "conv4"]

    @Test(arguments: [("xception_timm.safetensors", XceptionLayout.timm),
                      ("xception_cadene.pth", .cadene),
                      ("xception_ffpp.pth", .ffpp)])
    func matchesTimm(file: String, layout: XceptionLayout) throws {
        let net = try Xception(layout: layout, tensors: CNNFixture.checkpoint(file))
        #expect(net.classes == 2)
        let io = try CNNFixture.tensors("xception_io.safetensors")
        let prefix = net.modulePrefix
        #expect(prefix == (layout == .ffpp ? "model." : ""))
        // Compare under the module paths this layout uses, against the fixture's timm names.
        var renamed = io
        for name in Self.layers {
            renamed["act.\(prefix)\(name)"] = io["act.\(name)"]
            renamed["grad.\(prefix)\(name)"] = io["grad.\(name)"]
        }
        CNNFixture.expectParity(net, input: CNNFixture.normalised(io["input"]!), io: renamed,
                                layers: Self.layers.map { prefix + $0 }, target: 1)
        #expect(net.defaultGradCAMLayer == prefix + "conv4")
    }

    @Test func ffppPointwiseWeightsAreTwoDimensional() throws {
        let file = try TensorFile.load(contentsOf: CNNFixture.url("xception_ffpp.pth"))
        #expect(file.names.contains("model.last_linear.1.weight"))
        #expect(file["model.block4.rep.1.pointwise.weight"]?.rank == 2)
    }

    @Test func timmCheckpointInFFppLayoutIsAClearError() throws {
        let tensors = try CNNFixture.checkpoint("xception_timm.safetensors")
        let error = CNNFixture.bindingError { _ = try Xception(layout: .ffpp, tensors: tensors) }
        guard case .binding(_, let missing, let unexpected, _)? = error else {
            Issue.record("expected a binding error, got \(String(describing: error))")
            return
        }
        #expect(missing == ["last_linear.1.weight", "last_linear.1.bias"])
        #expect(Set(unexpected) == ["fc.weight", "fc.bias"])
    }

    @Test func parameterKeysFollowTheCheckpointOrder() throws {
        let tensors = try CNNFixture.checkpoint("xception_cadene.pth")
        let net = try Xception(layout: .cadene, tensors: tensors)
        #expect(net.parameterKeys == tensors.map(\.0).filter { !$0.hasSuffix("num_batches_tracked") })
    }
}
