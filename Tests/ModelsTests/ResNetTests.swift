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

    @Test func deepfakeBenchLayoutBindsTheSequentialTrunk() throws {
        // DeepfakeBench keeps torchvision's trunk as `nn.Sequential(*children[:-2])`: conv1, bn1, relu, maxpool,
        // layer1…layer4 become resnet.0 … resnet.7.
        let stems = ["conv1.": "resnet.0.", "bn1.": "resnet.1.", "layer1.": "resnet.4.", "layer2.": "resnet.5.",
                     "layer3.": "resnet.6.", "layer4.": "resnet.7."]
        let renamed = try CNNFixture.checkpoint("resnet18.pth").map { key, value in
            let stem = stems.keys.first { key.hasPrefix($0) }
            return (stem.map { stems[$0]! + key.dropFirst($0.count) } ?? key, value)
        }
        let net = try makeNetwork(architecture: "resnet", variant: "18", padding: "deepfakebench", inputSize: 64,
                                  keyPrefix: "", tensors: renamed) as! ResNet
        #expect(net.defaultGradCAMLayer == "resnet.7")
        let io = try CNNFixture.tensors("resnet18_io.safetensors")
        var expected = io
        for name in ["layer3", "layer4"] {
            expected["act.\(stems[name + "."]!.dropLast())"] = io["act.\(name)"]
            expected["grad.\(stems[name + "."]!.dropLast())"] = io["grad.\(name)"]
        }
        CNNFixture.expectParity(net, input: CNNFixture.normalised(io["input"]!), io: expected,
                                layers: ["resnet.6", "resnet.7"], target: 2)
        #expect(throws: ModelError.self) { _ = try ResNet(depth: 18, tensors: renamed) }
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

    @Test func factoryBuildsEachCNNArchitecture() throws {
        let resnet = try makeNetwork(architecture: "resnet", variant: "18", padding: nil, inputSize: 64, keyPrefix: "",
                                     tensors: CNNFixture.checkpoint("resnet18.pth"))
        #expect((resnet as? ResNet)?.depth == 18)
        let ffpp = try makeNetwork(architecture: "xception", variant: "ffpp", padding: nil, inputSize: 299,
                                   keyPrefix: "", tensors: CNNFixture.checkpoint("xception_ffpp.pth"))
        #expect((ffpp as? Xception)?.layout == .ffpp)
        // A manifest's keyPrefix strips FF++'s `model.` before binding, giving unprefixed module paths.
        let stripped = try makeNetwork(architecture: "xception", variant: "ffpp", padding: nil, inputSize: 299,
                                       keyPrefix: "model.", tensors: CNNFixture.checkpoint("xception_ffpp.pth"))
        #expect((stripped as? Xception)?.defaultGradCAMLayer == "conv4")
        let meso = try makeNetwork(architecture: "meso4", variant: nil, padding: nil, inputSize: 256, keyPrefix: "",
                                   tensors: CNNFixture.checkpoint("meso4.pth"))
        #expect(meso is Meso4)
        let onet = try makeNetwork(architecture: "mtcnn-onet", variant: nil, padding: nil, inputSize: 48, keyPrefix: "",
                                   tensors: TensorFile.load(contentsOf: assetURL("mtcnn/onet.safetensors")).namedTensors)
        #expect(onet is MTCNNONet)
        #expect(throws: ModelError.self) {
            _ = try makeNetwork(architecture: "xception", variant: "keras", padding: nil, inputSize: 299, keyPrefix: "",
                                tensors: [])
        }
    }

    @Test func unsupportedDepthIsRefused() {
        #expect(throws: ModelError.unsupported("ResNet-101 (supported: 18, 34, 50)")) {
            _ = try ResNet(depth: 101, tensors: [])
        }
    }
}

// MARK: - Image-wise batched inference

extension ResNetTests {
    /// `forwardImagewise` runs each image of a batch on its own worker, single-threaded: every row equals the
    /// image run alone (bit for bit) and the batched pass to rounding, with one thread or two.
    @Test func imagewiseBatchEqualsImagesAlone() throws {
        let net = try ResNet(depth: 18, tensors: CNNFixture.checkpoint("resnet18.pth"))
        let single = try CNNFixture.normalised(CNNFixture.tensors("resnet18_io.safetensors")["input"]!)
        let per = single.count / single.shape[0]
        // Three images: the fixture's, mirrored left-right, and scaled.
        let (h, w) = (single.shape[2], single.shape[3])
        var mirrored = [Float](repeating: 0, count: per)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w { mirrored[(c * h + y) * w + x] = single.data[(c * h + y) * w + (w - 1 - x)] } } }
        let first = Array(single.data[0..<per])
        let batch = Tensor(shape: [3] + single.shape.dropFirst(), data: first + mirrored + first.map { $0 * 0.5 })
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 2] {
            Engine.threads = threads
            let imagewise = forwardImagewise(net, batch)
            let g = Graph()
            let batched = net.forward(g.input(batch), in: g).tensor
            #expect(imagewise.shape == batched.shape)
            let k = batched.count / 3
            for i in 0..<3 {
                let alone = forwardImagewise(net, Tensor(shape: [1] + batch.shape.dropFirst(),
                                                         data: Array(batch.data[(i * per)..<((i + 1) * per)])))
                #expect(Array(imagewise.data[(i * k)..<((i + 1) * k)]) == alone.data, "image \(i), \(threads) thread(s)")
            }
            expectClose(imagewise.data, batched.data, atol: 1e-4, rtol: 1e-4, "batched, \(threads) thread(s)")
        }
    }
}
