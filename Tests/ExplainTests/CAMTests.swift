// GradCAM, GradCAM++ and LayerCAM against pytorch-grad-cam on reduced EfficientNet, Xception and ResNet
// detectors, and the binary extension's "real" map.
import Foundation
import Testing
import Explain
import Models
import Neural
import TestSupport
import Weights

@Suite(.timeLimit(.minutes(1))) struct CAMTests {
    /// Runs all three methods through the `Explainer` interface and compares with the fixture's maps.
    func expectMatches(_ net: Network, layer: String, input: Tensor, fixture: String,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try ExplainFixture.tensors("explain/\(fixture)")
        for method in CAMMethod.allCases {
            let explainer = CAMExplainer(method, network: net, layer: layer, batchSize: 1)
            let maps = try explainer.explain(ExplainFixture.clip(input), cancellation: Cancellation()) { _ in }
            let want = expected[method.rawValue]!
            #expect(maps.count == input.shape[0], sourceLocation: sourceLocation)
            #expect(maps.allSatisfy { $0.width == input.shape[3] && $0.height == input.shape[2] },
                    sourceLocation: sourceLocation)
            let got = ExplainFixture.values(maps)
            let err = maxAbsDifference(got, want.data)
            #expect(err <= 1e-4, "\(fixture) \(method): max abs error \(err)", sourceLocation: sourceLocation)
            // A map that is all zero would match a broken fixture too.
            #expect(got.max()! > 0.99 && got.min()! < 0.01, "\(fixture) \(method) spans [0, 1]", sourceLocation: sourceLocation)
        }
    }

    @Test func efficientNetMatchesPytorchGradCAM() throws {
        let net = try ExplainFixture.network("efficientnet", variant: ExplainFixture.effnetVariant, padding: "timm",
                                             weights: "models/effnet_timm/weights.pth")
        try expectMatches(net, layer: "conv_head", input: ExplainFixture.effnetInput(), fixture: "cam_effnet_timm.safetensors")
    }

    @Test func xceptionMatchesPytorchGradCAM() throws {
        let net = try ExplainFixture.network("xception", variant: "timm", weights: "models_cnn/xception_timm.safetensors")
        try expectMatches(net, layer: "conv4", input: ExplainFixture.cnnInput("xception_io.safetensors"),
                          fixture: "cam_xception.safetensors")
    }

    @Test func resNetMatchesPytorchGradCAM() throws {
        let net = try ExplainFixture.network("resnet", variant: "18", weights: "models_cnn/resnet18.pth")
        try expectMatches(net, layer: "layer4", input: ExplainFixture.cnnInput("resnet18_io.safetensors"),
                          fixture: "cam_resnet18.safetensors")
    }

    @Test func realMapOfASingleLogitDetectorIsTheNegatedGradientMap() throws {
        let net = try ExplainFixture.network("efficientnet-autoatt", variant: ExplainFixture.effnetVariant,
                                             weights: "models/effnet_autoatt/weights.pth")
        let x = try ExplainFixture.effnetInput()
        let layer = "efficientnet._conv_head"
        // The gradient of y = −z is exactly the negated gradient of y = +z (which the Models fixture holds).
        let fake = try runCAM(.gradcam, network: net, input: x, layer: layer, target: .fake).result
        let real = try runCAM(.gradcam, network: net, input: x, layer: layer, target: .real).result
        let torchFake = try NumpyFile.read(contentsOf: fixtureURL("models/effnet_autoatt/gradcam_grad.npy"))
        let scale = torchFake.data.map(abs).max()!
        #expect(maxAbsDifference(fake.gradient.data, torchFake.data) <= 1e-3 * scale)
        #expect(real.gradient.data == fake.gradient.data.map { -$0 })
        // And the scaled "real" map is pytorch-grad-cam's with BinaryClassifierOutputTarget(0).
        let maps = try CAMExplainer(.gradcam, network: net, layer: layer, target: .real)
            .explain(ExplainFixture.clip(x), cancellation: Cancellation()) { _ in }
        let want = try ExplainFixture.tensors("explain/cam_autoatt.safetensors")["gradcam_real"]!
        let err = maxAbsDifference(ExplainFixture.values(maps), want.data)
        #expect(err <= 1e-4, "real map error \(err)")
        // The "real" and "fake" raw maps are the negative and positive parts of one map.
        #expect(zip(fake.map.data, real.map.data).allSatisfy { $0 == 0 || $1 == 0 })
    }

    @Test func predictedTargetPicksEachItemsArgmax() throws {
        let net = try ExplainFixture.network("resnet", variant: "18", weights: "models_cnn/resnet18.pth")
        let x = try ExplainFixture.cnnInput("resnet18_io.safetensors")
        let predicted = try runCAM(.gradcam, network: net, input: x, layer: "layer4", target: .predicted).result
        let k = predicted.logits.data.indices.max { predicted.logits.data[$0] < predicted.logits.data[$1] }!
        let explicit = try runCAM(.gradcam, network: net, input: x, layer: "layer4", target: .classIndex(k)).result
        let other = try runCAM(.gradcam, network: net, input: x, layer: "layer4", target: .classIndex((k + 1) % 3)).result
        #expect(predicted.map == explicit.map)
        #expect(predicted.map != other.map)
    }

    /// Image by image on the workers (what explainers and `bench model` run) gives the batched pass's results,
    /// and the same bits with one and two threads.
    @Test func imagewiseBatchesMatchTheBatchedPass() throws {
        let net = try ExplainFixture.network("xception", variant: "timm", weights: "models_cnn/xception_timm.safetensors")
        let one = try ExplainFixture.cnnInput("xception_io.safetensors")
        let per = one.count / one.shape[0], first = Array(one.data[0..<per])
        let x = Tensor(shape: [3] + one.shape.dropFirst(), data: first + first.map { $0 * 0.5 } + first.reversed())
        let batched = try runCAM(.gradcam, network: net, input: x, layer: "conv4", target: .predicted).result
        let saved = Engine.threads
        defer { Engine.threads = saved }
        var runs: [CAMResult] = []
        for threads in [1, 2] {
            Engine.threads = threads
            runs.append(try camImagewise(.gradcam, network: net, input: x, layer: "conv4", target: .predicted))
        }
        #expect(runs[0].map == runs[1].map && runs[0].logits == runs[1].logits)
        #expect(runs[0].map.shape == batched.map.shape)
        #expect(maxAbsDifference(runs[0].logits.data, batched.logits.data) <= 1e-5)
        let scale = batched.map.data.max() ?? 1
        #expect(scale > 0 && maxAbsDifference(runs[0].map.data, batched.map.data) <= 1e-4 * scale)
    }

    /// `runCAM` records from the layer on (the trunk before it runs as inference); its activation, gradient and
    /// map must be those of a graph recording everything, for layers all through each network: stem, stage,
    /// block and head names, including ones whose naming result the model code must pass on.
    @Test func recordingFromTheLayerMatchesRecordingEverything() throws {
        let cases: [(Network, Tensor)] = [
            (try ExplainFixture.network("efficientnet", variant: ExplainFixture.effnetVariant, padding: "timm",
                                        weights: "models/effnet_timm/weights.pth"), try ExplainFixture.effnetInput()),
            (try ExplainFixture.network("xception", variant: "timm", weights: "models_cnn/xception_timm.safetensors"),
             try ExplainFixture.cnnInput("xception_io.safetensors")),
            (try ExplainFixture.network("resnet", variant: "18", weights: "models_cnn/resnet18.pth"),
             try ExplainFixture.cnnInput("resnet18_io.safetensors")),
        ]
        for (net, x) in cases {
            var checked = 0
            for layer in net.layerNames {
                let full = Graph(recording: true)
                let logits = net.forward(full.input(x), in: full)
                guard let a = full.activation(layer), a.shape.count == 4 else { continue }
                let gradient = full.backward(from: ExplainTarget.predicted.score(logits, full), to: [a])[0]
                let partial = try runCAM(.gradcam, network: net, input: x, layer: layer, target: .predicted).result
                let label = "\(type(of: net)) \(layer)"
                let scale = max(a.tensor.data.map(abs).max() ?? 0, 1e-6)
                let gradientScale = max(gradient.data.map(abs).max() ?? 0, 1e-12)
                #expect(maxAbsDifference(partial.activation.data, a.tensor.data) <= 1e-4 * scale, "\(label) activation")
                #expect(maxAbsDifference(partial.gradient.data, gradient.data) <= 1e-3 * gradientScale, "\(label) gradient")
                #expect(maxAbsDifference(partial.logits.data, logits.tensor.data) <= 1e-4, "\(label) logits")
                checked += 1
            }
            #expect(checked >= 5, "\(type(of: net)): \(checked) layers checked")
        }
    }

    @Test func unknownLayerAndCancellationAreErrors() throws {
        let net = try ExplainFixture.network("resnet", variant: "18", weights: "models_cnn/resnet18.pth")
        let x = try ExplainFixture.cnnInput("resnet18_io.safetensors")
        #expect(throws: ExplainError.self) {
            _ = try CAMExplainer(.gradcam, network: net, layer: "layer9")
                .explain(ExplainFixture.clip(x), cancellation: Cancellation()) { _ in }
        }
        let cancelled = Cancellation()
        cancelled.cancel()
        #expect(throws: ExplainError.cancelled) {
            _ = try CAMExplainer(.layercam, network: net, layer: "layer4")
                .explain(ExplainFixture.clip(x), cancellation: cancelled) { _ in }
        }
    }
}
