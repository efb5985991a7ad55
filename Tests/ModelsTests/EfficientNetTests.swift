// EfficientNet family against PyTorch: reduced models in every padding convention (fixtures made by
// Tests/Fixtures/make_models_effnet.py with efficientnet_pytorch 0.7.1, timm and pytorch-grad-cam).
import Foundation
import Testing
@testable import Models
import Neural
import TestSupport
import Weights

// MARK: - Fixture access

struct EffnetFixture {
    let name: String
    let directory: URL
    let manifest: [String: Any]
    let network: Network

    init(_ name: String) throws {
        self.name = name
        directory = fixtureURL("models/effnet_\(name)")
        let data = try Data(contentsOf: directory.appendingPathComponent("detector.json"))
        manifest = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let file = try TensorFile.load(contentsOf: directory.appendingPathComponent("weights.pth"))
        network = try makeNetwork(architecture: manifest["architecture"] as! String,
                                  variant: manifest["variant"] as? String, padding: manifest["padding"] as? String,
                                  inputSize: 72, keyPrefix: "", tensors: file.namedTensors)
    }

    var gradcamLayer: String { (manifest["explain"] as! [String: Any])["gradcamLayer"] as! String }

    func expected(_ file: String) throws -> Tensor {
        try NumpyFile.read(contentsOf: directory.appendingPathComponent(file + ".npy"))
    }

    static func input() throws -> Tensor { try NumpyFile.read(contentsOf: fixtureURL("models/effnet_input.npy")) }
}

let effnetFixtures = ["luke07", "luke06", "autoatt", "timm", "timmtf"]
let effnetActivations = ["luke07": ["_blocks.2", "_bn1"], "luke06": ["efficientnet._blocks.4"],
                         "autoatt": ["efficientnet._blocks.2", "efficientnet.attconv"],
                         "timm": ["blocks.2.0", "blocks.5"], "timmtf": ["blocks.3.0"]]

/// max |a − b| ≤ tolerance · max |b| (the brief's "relative to the output scale").
func expectScaled(_ a: Tensor, _ b: Tensor, _ tolerance: Float, _ what: String,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.shape == b.shape else { return }
    let scale = max(b.data.map(abs).max() ?? 0, 1e-6)
    let err = maxAbsDifference(a.data, b.data)
    #expect(err <= tolerance * scale, "\(what): max error \(err) at scale \(scale)", sourceLocation: sourceLocation)
}

// MARK: - Scaling rules

@Test func compoundScalingMatchesThePublishedModels() throws {
    // Block counts and head widths of B0–B7 as published (EfficientNet paper / efficientnet_pytorch).
    let expected: [(String, Int, Int, Int)] = [("b0", 16, 32, 1280), ("b1", 23, 32, 1280), ("b2", 23, 32, 1408),
        ("b3", 26, 40, 1536), ("b4", 32, 48, 1792), ("b5", 39, 48, 2048), ("b6", 45, 56, 2304), ("b7", 55, 64, 2560)]
    for (v, blocks, stem, head) in expected {
        let c = try EfficientNetConfig(variant: v)
        #expect(c.stemChannels == stem && c.headChannels == head, "\(v)")
        #expect(c.blocks.count == blocks, "\(v): \(c.blocks.count) blocks")
    }
    let b4 = try EfficientNetConfig(variant: "b4")
    #expect(b4.attentionBlockIndex == 9)
    #expect(b4.blocks[9].output == 56)
    #expect(throws: ModelError.self) { try EfficientNetConfig(variant: "b9") }
}

// MARK: - Parity

@Test(arguments: effnetFixtures)
func logitsMatchPyTorch(_ name: String) throws {
    let f = try EffnetFixture(name)
    let g = Graph()
    let logits = f.network.forward(g.input(try EffnetFixture.input()), in: g)
    expectScaled(logits.tensor, try f.expected("logits"), 1e-4, "\(name) logits")
}

@Test(arguments: effnetFixtures)
func activationsAndGradCAMMatchPyTorch(_ name: String) throws {
    let f = try EffnetFixture(name)
    let g = Graph(recording: true)
    let logits = f.network.forward(g.input(try EffnetFixture.input()), in: g)
    expectScaled(logits.tensor, try f.expected("logits"), 1e-4, "\(name) recorded logits")
    for act in effnetActivations[name]! {
        let a = try #require(g.activation(act), "\(name): activation \(act) not named")
        expectScaled(a.tensor, try f.expected(act), 1e-4, "\(name) \(act)")
    }
    // GradCAM's target: the predicted class (or +z for a single logit), summed over the batch as PyTorch does.
    let n = logits.shape[0], k = logits.shape[1]
    var seed = Tensor(shape: logits.shape)
    for i in 0..<n {
        let row = logits.tensor.data[(i * k)..<((i + 1) * k)]
        seed.data[i * k + (k == 1 ? 0 : row.indices.max { row[$0] < row[$1] }! - i * k)] = 1
    }
    let layer = try #require(g.activation(f.gradcamLayer))
    let grad = g.backward(from: logits, seed: seed, to: [layer])[0]
    expectScaled(grad, try f.expected("gradcam_grad"), 1e-3, "\(name) d score / d \(f.gradcamLayer)")

    let cam = gradCAM(activation: layer.tensor, gradient: grad)
    let expectedCam = try f.expected("gradcam")
    expectScaled(cam, expectedCam, 1e-3, "\(name) raw GradCAM")
    // pytorch-grad-cam compares on [0, 1]-scaled maps.
    expectClose(minMaxScaled(cam).data, minMaxScaled(expectedCam).data, atol: 1e-4, rtol: 0, "\(name) scaled GradCAM")
}

@Test func autoAttentionMapMatchesPyTorch() throws {
    let f = try EffnetFixture("autoatt")
    let g = Graph(capturing: [EfficientNet.attentionName])
    _ = f.network.forward(g.input(try EffnetFixture.input()), in: g)
    let att = try #require(g.activation(EfficientNet.attentionName))
    expectScaled(att.tensor, try f.expected("attention"), 1e-4, "attention")
    #expect(att.shape == [2, 1, 9, 9])
}

@Test func foldedInferenceEqualsTheExactPath() throws {
    // Capturing the head conv forces the unfolded conv → BN path; the logits must not change.
    let f = try EffnetFixture("luke07")
    let x = try EffnetFixture.input()
    let plain = Graph(), exact = Graph(capturing: ["_conv_head"])
    let a = f.network.forward(plain.input(x), in: plain), b = f.network.forward(exact.input(x), in: exact)
    #expect(exact.activation("_conv_head") != nil)
    expectClose(a.tensor.data, b.tensor.data, atol: 1e-5, rtol: 1e-4, "folded vs exact")
}

// MARK: - Binding errors

@Test func strictBindingNamesTheKeysAtFault() throws {
    let file = try TensorFile.load(contentsOf: fixtureURL("models/effnet_luke07/weights.pth"))
    var tensors = file.namedTensors.filter { $0.0 != "_blocks.3._se_reduce.bias" }
    tensors.append(("extra.weight", Tensor(shape: [1])))
    do {
        _ = try makeNetwork(architecture: "efficientnet", variant: "w0.1d0.25r100", padding: "lukemelas-0.7",
                            inputSize: 72, keyPrefix: "", tensors: tensors)
        Issue.record("binding should fail")
    } catch let error as ModelError {
        #expect(error.description.contains("_blocks.3._se_reduce.bias"))
        #expect(error.description.contains("extra.weight"))
    }
    // The same weights do not fit B0's shapes, and unknown identifiers list the known ones.
    #expect(throws: ModelError.self) {
        try makeNetwork(architecture: "efficientnet", variant: "b0", padding: "lukemelas-0.7", inputSize: 224,
                        keyPrefix: "", tensors: file.namedTensors)
    }
    do {
        _ = try makeNetwork(architecture: "effnet", variant: nil, padding: nil, inputSize: 224, keyPrefix: "", tensors: [])
        Issue.record("unknown architecture accepted")
    } catch let error as ModelError {
        #expect(error.description.contains("efficientnet-autoatt"))
    }
}

// MARK: - GradCAM arithmetic (mirrors the CLI's, checked here against pytorch-grad-cam's expectations)

/// ReLU(Σ_k mean_hw(∂y/∂A_k) · A_k) per batch item: N×h×w.
func gradCAM(activation a: Tensor, gradient d: Tensor) -> Tensor {
    let (n, c, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    var out = Tensor(shape: [n, h, w])
    for i in 0..<n {
        for ch in 0..<c {
            let base = (i * c + ch) * h * w
            var alpha: Double = 0
            for p in 0..<(h * w) { alpha += Double(d.data[base + p]) }
            alpha /= Double(h * w)
            for p in 0..<(h * w) { out.data[i * h * w + p] += Float(alpha) * a.data[base + p] }
        }
    }
    out.data = out.data.map { max($0, 0) }
    return out
}

/// Each map minus its minimum, divided by its new maximum (+1e-7), as pytorch-grad-cam's `scale_cam_image`.
func minMaxScaled(_ t: Tensor) -> Tensor {
    let per = t.count / t.shape[0]
    var out = t
    for i in 0..<t.shape[0] {
        let slice = t.data[(i * per)..<((i + 1) * per)]
        let lo = slice.min()!, hi = slice.max()! - lo
        for j in 0..<per { out.data[i * per + j] = (t.data[i * per + j] - lo) / (1e-7 + hi) }
    }
    return out
}
