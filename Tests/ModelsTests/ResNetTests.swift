// ResNet parity against torchvision (narrowed ResNet-18 in zip format, ResNet-50 in legacy format) and strict
// binding errors.
import Testing
import TestSupport
import Neural
import Weights
import Models

@Suite struct ResNetTests {
    @Test func resnet18MatchesTorchvision() throws {
        let net = try ResNet(depth: 18, tensors: CNNFixture.checkpoint("resnet18.pth"))
        #expect(net.classes == 3)
        let io = try CNNFixture.tensors("resnet18_io.safetensors")
        CNNFixture.expectParity(net, input: CNNFixture.normalised(io["input"]!), io: io, layers: ["layer3", "layer4"],
                                target: 2)
    }

    @Test func resnet50MatchesTorchvision() throws {
        let net = try ResNet(depth: 50, tensors: CNNFixture.checkpoint("resnet50.pth"))
        #expect(net.classes == 1)
        let io = try CNNFixture.tensors("resnet50_io.safetensors")
        CNNFixture.expectParity(net, input: CNNFixture.normalised(io["input"]!), io: io, layers: ["layer3", "layer4"],
                                target: 0)
    }

    @Test func parameterKeysFollowTheCheckpointOrder() throws {
        let tensors = try CNNFixture.checkpoint("resnet18.pth")
        let net = try ResNet(depth: 18, tensors: tensors)
        #expect(net.parameterKeys == tensors.map(\.0).filter { !$0.hasSuffix("num_batches_tracked") })
        #expect(net.layerNames.contains("layer4") && net.layerNames.contains("layer2.1"))
    }

    @Test func resnet18CheckpointAsResNet34NamesTheMissingKeys() throws {
        let tensors = try CNNFixture.checkpoint("resnet18.pth")
        let error = CNNFixture.bindingError { _ = try ResNet(depth: 34, tensors: tensors) }
        guard case .binding(let arch, let missing, let unexpected, let misshapen)? = error else {
            Issue.record("expected a binding error, got \(String(describing: error))")
            return
        }
        #expect(arch == "ResNet-34")
        #expect(missing.contains("layer1.2.conv1.weight") && missing.contains("layer3.5.bn2.running_var"))
        #expect(unexpected.isEmpty && misshapen.isEmpty)
        #expect(error!.description.contains("missing keys: layer1.2.conv1.weight"))
    }

    @Test func resnet50CheckpointAsResNet18ReportsShapesAndUnexpectedKeys() throws {
        let tensors = try CNNFixture.checkpoint("resnet50.pth")
        let error = CNNFixture.bindingError { _ = try ResNet(depth: 18, tensors: tensors) }
        guard case .binding(_, _, let unexpected, let misshapen)? = error else {
            Issue.record("expected a binding error, got \(String(describing: error))")
            return
        }
        #expect(unexpected.contains("layer1.0.conv3.weight"))
        #expect(misshapen.contains { $0.hasPrefix("layer1.0.conv1.weight") })
    }

    @Test func unsupportedDepthIsRefused() {
        #expect(throws: ModelError.unsupported("ResNet-101 (supported: 18, 34, 50)")) {
            _ = try ResNet(depth: 101, tensors: [])
        }
    }
}
