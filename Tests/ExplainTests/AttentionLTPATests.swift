// The Bonettini attention explainer and the LTPA network and its level maps against PyTorch.
import Foundation
import Testing
import Explain
import Models
import Neural
import TestSupport
import Weights

@Suite(.timeLimit(.minutes(1))) struct AttentionLTPATests {
    @Test func attentionIsTheModelsUpsampledSigmoidMap() throws {
        let net = try ExplainFixture.network("efficientnet-autoatt", variant: ExplainFixture.effnetVariant,
                                             weights: "models/effnet_autoatt/weights.pth")
        let x = try ExplainFixture.effnetInput()
        let maps = try AttentionExplainer(network: net).explain(ExplainFixture.clip(x), cancellation: Cancellation()) { _ in }
        let want = try ExplainFixture.tensors("explain/cam_autoatt.safetensors")["attention_up"]!
        #expect(maps.count == 2 && maps[0].width == 72 && maps[0].height == 72)
        let err = maxAbsDifference(ExplainFixture.values(maps), want.data)
        #expect(err <= 1e-4, "attention error \(err)")
        #expect(ExplainFixture.values(maps) != want.data.map { _ in want.data[0] }, "the map varies")
    }

    @Test func attentionOfADetectorWithoutOneIsAnError() throws {
        let net = try ExplainFixture.network("resnet", variant: "18", weights: "models_cnn/resnet18.pth")
        #expect(throws: ExplainError.self) {
            _ = try AttentionExplainer(network: net)
                .explain(ExplainFixture.clip(ExplainFixture.cnnInput("resnet18_io.safetensors")), cancellation: Cancellation()) { _ in }
        }
    }

    func ltpa() throws -> Network {
        try ExplainFixture.network("efficientnet-ltpa", variant: ExplainFixture.effnetVariant, padding: "lukemelas-0.7",
                                   weights: "explain/ltpa/weights.pth")
    }

    @Test func ltpaLogitsAndLevelMapsMatchTheReferenceModel() throws {
        let net = try ltpa()
        let io = try ExplainFixture.tensors("explain/ltpa/io.safetensors")
        let x = try ExplainFixture.effnetInput()
        let g = Graph(capturing: Set(LTPA.levelNames))
        let logits = net.forward(g.constant(x), in: g).tensor
        let want = io["logits"]!
        #expect(logits.shape == [2, 1])
        #expect(maxAbsDifference(logits.data, want.data) <= 1e-4 * max(1, want.data.map(abs).max()!), "\(logits.data) vs \(want.data)")
        for (s, name) in LTPA.levelNames.enumerated() {
            let level = io["level\(s + 1)"]!, got = g.activation(name)!.tensor
            #expect(got.count == level.count && got.shape.last == level.shape.last, "\(name) \(got.shape) vs \(level.shape)")
            let err = maxAbsDifference(got.data, level.data)
            #expect(err <= 1e-5, "\(name): error \(err)")
            // Softmax over positions: each item's map sums to one.
            let per = level.count / 2
            #expect(abs(got.data[0..<per].reduce(0, +) - 1) < 1e-4)
        }
    }

    @Test func ltpaExplainerUpsamplesEachLevelToTheInput() throws {
        let net = try ltpa()
        let io = try ExplainFixture.tensors("explain/ltpa/io.safetensors")
        let x = try ExplainFixture.effnetInput()
        for level in 1...3 {
            let maps = try LTPAExplainer(network: net, level: level)
                .explain(ExplainFixture.clip(x), cancellation: Cancellation()) { _ in }
            #expect(maps.count == 2 && maps.allSatisfy { $0.width == 72 && $0.height == 72 })
            #expect(maps.allSatisfy { abs($0.values.max()! - 1) < 1e-6 && $0.values.min()! >= 0 })
            if level == 2 {
                let err = maxAbsDifference(ExplainFixture.values(maps), io["level2_up"]!.data)
                #expect(err <= 1e-4, "level 2 upsampled: error \(err)")
            }
        }
    }

    @Test func ltpaBindingIsStrict() throws {
        var tensors = try TensorFile.load(contentsOf: fixtureURL("explain/ltpa/weights.pth")).namedTensors
        tensors.removeAll { $0.0 == "projectors.1.weight" }
        tensors.append(("attention.3.weight", Tensor(shape: [1, 4, 1, 1])))
        do {
            _ = try makeNetwork(architecture: "efficientnet-ltpa", variant: ExplainFixture.effnetVariant, padding: nil,
                                inputSize: 72, keyPrefix: "", tensors: tensors)
            Issue.record("binding should fail")
        } catch let error as ModelError {
            #expect(error.description.contains("projectors.1.weight") && error.description.contains("attention.3.weight"))
        }
    }
}
