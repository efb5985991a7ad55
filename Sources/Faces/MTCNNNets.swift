import Foundation
import Models
import Neural
import Weights

// MARK: - The networks the detector runs

/// MTCNN's three networks as batched forward functions, shaped as facenet-pytorch returns them.
protocol MTCNNNetworks: Sendable {
    /// PNet on N×3×H×W: regression N×4×h×w and face/non-face softmax N×2×h×w.
    func proposal(_ x: Tensor) -> (regression: Tensor, probability: Tensor)
    /// RNet on N×3×24×24: regression N×4 and softmax N×2.
    func refine(_ x: Tensor) -> (regression: Tensor, probability: Tensor)
    /// ONet on N×3×48×48: regression N×4, landmarks N×10 (5 x then 5 y) and softmax N×2.
    func output(_ x: Tensor) -> (regression: Tensor, landmarks: Tensor, probability: Tensor)
}

// MARK: - Weights bound by key

/// PNet, RNet and ONet built from facenet-pytorch's `state_dict` key names (`conv1.weight`, `prelu1.weight`, …).
struct FacenetMTCNNNetworks: MTCNNNetworks {
    let pnet: [String: Tensor]
    let rnet: [String: Tensor]
    let onet: [String: Tensor]

    /// Binds the three files strictly: every facenet key must be present with its shape, and no other key.
    init(pnet p: TensorFile, rnet r: TensorFile, onet o: TensorFile) throws {
        pnet = try Self.bind(p, "mtcnn-pnet", Self.pnetShapes)
        rnet = try Self.bind(r, "mtcnn-rnet", Self.rnetShapes)
        onet = try Self.bind(o, "mtcnn-onet", Self.onetShapes)
    }

    static func convShapes(_ name: String, _ cin: Int, _ cout: Int, _ k: Int) -> [(String, [Int])] {
        [("\(name).weight", [cout, cin, k, k]), ("\(name).bias", [cout])]
    }
    static func denseShapes(_ name: String, _ cin: Int, _ cout: Int) -> [(String, [Int])] {
        [("\(name).weight", [cout, cin]), ("\(name).bias", [cout])]
    }
    static let pnetShapes: [(String, [Int])] =
        convShapes("conv1", 3, 10, 3) + [("prelu1.weight", [10])] + convShapes("conv2", 10, 16, 3)
        + [("prelu2.weight", [16])] + convShapes("conv3", 16, 32, 3) + [("prelu3.weight", [32])]
        + convShapes("conv4_1", 32, 2, 1) + convShapes("conv4_2", 32, 4, 1)
    static let rnetShapes: [(String, [Int])] =
        convShapes("conv1", 3, 28, 3) + [("prelu1.weight", [28])] + convShapes("conv2", 28, 48, 3)
        + [("prelu2.weight", [48])] + convShapes("conv3", 48, 64, 2) + [("prelu3.weight", [64])]
        + denseShapes("dense4", 576, 128) + [("prelu4.weight", [128])]
        + denseShapes("dense5_1", 128, 2) + denseShapes("dense5_2", 128, 4)
    static let onetShapes: [(String, [Int])] =
        convShapes("conv1", 3, 32, 3) + [("prelu1.weight", [32])] + convShapes("conv2", 32, 64, 3)
        + [("prelu2.weight", [64])] + convShapes("conv3", 64, 64, 3) + [("prelu3.weight", [64])]
        + convShapes("conv4", 64, 128, 2) + [("prelu4.weight", [128])]
        + denseShapes("dense5", 1152, 256) + [("prelu5.weight", [256])]
        + denseShapes("dense6_1", 256, 2) + denseShapes("dense6_2", 256, 4) + denseShapes("dense6_3", 256, 10)

    static func bind(_ file: TensorFile, _ architecture: String, _ shapes: [(String, [Int])]) throws -> [String: Tensor] {
        let binder = StateDictBinder(file.namedTensors, architecture: architecture)
        var out: [String: Tensor] = [:]
        for (key, shape) in shapes { out[key] = binder.take(key, shape: shape) }
        try binder.finish()
        return out
    }

    // MARK: Forward passes (facenet-pytorch's module order)

    private func conv(_ g: Graph, _ w: [String: Tensor], _ x: Variable, _ name: String) -> Variable {
        g.conv2d(x, weight: g.constant(w["\(name).weight"]!), bias: g.constant(w["\(name).bias"]!))
    }
    private func dense(_ g: Graph, _ w: [String: Tensor], _ x: Variable, _ name: String) -> Variable {
        g.linear(x, weight: g.constant(w["\(name).weight"]!), bias: g.constant(w["\(name).bias"]!))
    }
    private func prelu(_ g: Graph, _ w: [String: Tensor], _ x: Variable, _ name: String) -> Variable {
        g.prelu(x, weight: g.constant(w["\(name).weight"]!))
    }

    func proposal(_ input: Tensor) -> (regression: Tensor, probability: Tensor) {
        let g = Graph()
        var x = prelu(g, pnet, conv(g, pnet, g.constant(input), "conv1"), "prelu1")
        x = g.maxPool2d(x, kernel: 2, stride: 2, ceilMode: true)
        x = prelu(g, pnet, conv(g, pnet, x, "conv2"), "prelu2")
        x = prelu(g, pnet, conv(g, pnet, x, "conv3"), "prelu3")
        let a = g.softmax(conv(g, pnet, x, "conv4_1"), axis: 1)
        let b = conv(g, pnet, x, "conv4_2")
        return (b.tensor, a.tensor)
    }

    func refine(_ input: Tensor) -> (regression: Tensor, probability: Tensor) {
        let g = Graph()
        var x = prelu(g, rnet, conv(g, rnet, g.constant(input), "conv1"), "prelu1")
        x = g.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true)
        x = prelu(g, rnet, conv(g, rnet, x, "conv2"), "prelu2")
        x = g.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true)
        x = prelu(g, rnet, conv(g, rnet, x, "conv3"), "prelu3")
        // facenet flattens in (W, H, C) order, a leftover of the Caffe original.
        x = g.flatten(g.permute(x, [0, 3, 2, 1]))
        x = prelu(g, rnet, dense(g, rnet, x, "dense4"), "prelu4")
        let a = g.softmax(dense(g, rnet, x, "dense5_1"), axis: 1)
        let b = dense(g, rnet, x, "dense5_2")
        return (b.tensor, a.tensor)
    }

    func output(_ input: Tensor) -> (regression: Tensor, landmarks: Tensor, probability: Tensor) {
        let g = Graph()
        var x = prelu(g, onet, conv(g, onet, g.constant(input), "conv1"), "prelu1")
        x = g.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true)
        x = prelu(g, onet, conv(g, onet, x, "conv2"), "prelu2")
        x = g.maxPool2d(x, kernel: 3, stride: 2, ceilMode: true)
        x = prelu(g, onet, conv(g, onet, x, "conv3"), "prelu3")
        x = g.maxPool2d(x, kernel: 2, stride: 2, ceilMode: true)
        x = prelu(g, onet, conv(g, onet, x, "conv4"), "prelu4")
        x = g.flatten(g.permute(x, [0, 3, 2, 1]))
        x = prelu(g, onet, dense(g, onet, x, "dense5"), "prelu5")
        let a = g.softmax(dense(g, onet, x, "dense6_1"), axis: 1)
        let b = dense(g, onet, x, "dense6_2")
        let c = dense(g, onet, x, "dense6_3")
        return (b.tensor, c.tensor, a.tensor)
    }
}
