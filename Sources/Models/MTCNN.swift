// MTCNN's three face-detection stages (PNet, RNet, ONet) as facenet-pytorch defines them.
import Neural

// MARK: - Output

/// What an MTCNN stage returns, in facenet-pytorch's layouts.
public struct MTCNNOutput: Sendable {
    /// Box offsets: [N, 4, H', W'] from PNet (one per sliding-window position), [N, 4] from RNet and ONet.
    public var boxRegression: Tensor
    /// Face / non-face softmax: [N, 2, H', W'] from PNet, [N, 2] from RNet and ONet; index 1 is "face".
    public var probabilities: Tensor
    /// ONet only: [N, 10], five x offsets then five y offsets relative to the box.
    public var landmarks: Tensor?
}

/// An MTCNN stage: a `Network` whose `forward` yields the face probabilities, plus `detect` for all heads.
public protocol MTCNNStage: Network {
    /// Runs the stage on an N×3×H×W input already scaled as facenet-pytorch does ((x − 127.5) × 0.0078125).
    func detect(_ input: Tensor) -> MTCNNOutput
}

/// Stem shared by the three stages: conv → PReLU → optional ceil-mode max pool, repeated.
private struct PReLUStage: Sendable {
    let conv: Conv2dLayer
    let prelu: PReLULayer
    let pool: (kernel: Int, stride: Int)?

    init(_ b: ParameterBinder, _ i: Int, in cin: Int, out cout: Int, kernel: Int, pool: (Int, Int)?) {
        conv = Conv2dLayer(b, "conv\(i)", in: cin, out: cout, kernel: kernel, bias: true)
        prelu = PReLULayer(b, "prelu\(i)", channels: cout)
        self.pool = pool.map { (kernel: $0.0, stride: $0.1) }
    }

    func callAsFunction(_ x: Variable, in g: Graph, index i: Int) -> Variable {
        var y = g.name("prelu\(i)", prelu(g.name("conv\(i)", conv(x, in: g)), in: g))
        // facenet-pytorch pools with ceil_mode=True, as the original Caffe models did.
        if let pool { y = g.name("pool\(i)", g.maxPool2d(y, kernel: Size2D(pool.kernel, pool.kernel),
                                                            stride: Size2D(pool.stride, pool.stride), ceilMode: true)) }
        return y
    }
}

private func runStem(_ stages: [PReLUStage], _ x: Variable, in g: Graph) -> Variable {
    var y = x
    for (i, stage) in stages.enumerated() { y = stage(y, in: g, index: i + 1) }
    return y
}

/// facenet-pytorch flattens RNet/ONet features as `permute(0, 3, 2, 1)` (N, W, H, C) to match the Caffe
/// weights' order, not PyTorch's usual N, C, H, W.
private func caffeFlatten(_ x: Variable, in g: Graph) -> Variable {
    g.flatten(g.permute(x, [0, 3, 2, 1]))
}

// MARK: - PNet

/// MTCNN's proposal network: fully convolutional, any input of at least 12×12; keys `conv1`…`conv3`,
/// `prelu1`…`prelu3`, `conv4_1` (face score), `conv4_2` (box offsets).
public final class MTCNNPNet: MTCNNStage {
    public let parameterKeys: [String]
    public let layerNames = ["conv1", "prelu1", "pool1", "conv2", "prelu2", "conv3", "prelu3", "conv4_1", "conv4_2"]
    private let stem: [PReLUStage]
    private let score: Conv2dLayer, box: Conv2dLayer

    public init(tensors: [(String, Tensor)]) throws {
        let b = ParameterBinder(tensors, architecture: "MTCNN PNet")
        stem = [PReLUStage(b, 1, in: 3, out: 10, kernel: 3, pool: (2, 2)),
                PReLUStage(b, 2, in: 10, out: 16, kernel: 3, pool: nil),
                PReLUStage(b, 3, in: 16, out: 32, kernel: 3, pool: nil)]
        score = Conv2dLayer(b, "conv4_1", in: 32, out: 2, kernel: 1, bias: true)
        box = Conv2dLayer(b, "conv4_2", in: 32, out: 4, kernel: 1, bias: true)
        try b.finish()
        parameterKeys = b.keys
    }

    /// The face probabilities [N, 2, H', W'].
    public func forward(_ x: Variable, in g: Graph) -> Variable {
        let features = runStem(stem, x, in: g)
        return g.softmax(g.name("conv4_1", score(features, in: g)), axis: 1)
    }

    public func detect(_ input: Tensor) -> MTCNNOutput {
        let g = Graph()
        let features = runStem(stem, g.input(input), in: g)
        return MTCNNOutput(boxRegression: box(features, in: g).tensor,
                           probabilities: g.softmax(score(features, in: g), axis: 1).tensor, landmarks: nil)
    }
}

// MARK: - RNet

/// MTCNN's refinement network on 24×24 crops; keys `conv1`…`conv3`, `prelu1`…`prelu4`, `dense4`, `dense5_1`
/// (face score), `dense5_2` (box offsets).
public final class MTCNNRNet: MTCNNStage {
    public let parameterKeys: [String]
    public let layerNames = ["conv1", "prelu1", "pool1", "conv2", "prelu2", "pool2", "conv3", "prelu3", "dense4",
                             "prelu4", "dense5_1", "dense5_2"]
    private let stem: [PReLUStage]
    private let dense4: LinearLayer, prelu4: PReLULayer
    private let score: LinearLayer, box: LinearLayer

    public init(tensors: [(String, Tensor)]) throws {
        let b = ParameterBinder(tensors, architecture: "MTCNN RNet")
        stem = [PReLUStage(b, 1, in: 3, out: 28, kernel: 3, pool: (3, 2)),
                PReLUStage(b, 2, in: 28, out: 48, kernel: 3, pool: (3, 2)),
                PReLUStage(b, 3, in: 48, out: 64, kernel: 2, pool: nil)]
        dense4 = LinearLayer(b, "dense4", in: 576, out: 128)
        prelu4 = PReLULayer(b, "prelu4", channels: 128)
        score = LinearLayer(b, "dense5_1", in: 128, out: 2)
        box = LinearLayer(b, "dense5_2", in: 128, out: 4)
        try b.finish()
        parameterKeys = b.keys
    }

    private func trunk(_ x: Variable, in g: Graph) -> Variable {
        let flat = caffeFlatten(runStem(stem, x, in: g), in: g)
        return g.name("prelu4", prelu4(g.name("dense4", dense4(flat, in: g)), in: g))
    }

    /// The face probabilities [N, 2].
    public func forward(_ x: Variable, in g: Graph) -> Variable {
        g.softmax(g.name("dense5_1", score(trunk(x, in: g), in: g)), axis: 1)
    }

    public func detect(_ input: Tensor) -> MTCNNOutput {
        let g = Graph()
        let features = trunk(g.input(input), in: g)
        return MTCNNOutput(boxRegression: box(features, in: g).tensor,
                           probabilities: g.softmax(score(features, in: g), axis: 1).tensor, landmarks: nil)
    }
}

// MARK: - ONet

/// MTCNN's output network on 48×48 crops; keys `conv1`…`conv4`, `prelu1`…`prelu5`, `dense5`, `dense6_1`
/// (face score), `dense6_2` (box offsets), `dense6_3` (landmarks).
public final class MTCNNONet: MTCNNStage {
    public let parameterKeys: [String]
    public let layerNames = ["conv1", "prelu1", "pool1", "conv2", "prelu2", "pool2", "conv3", "prelu3", "pool3",
                             "conv4", "prelu4", "dense5", "prelu5", "dense6_1", "dense6_2", "dense6_3"]
    private let stem: [PReLUStage]
    private let dense5: LinearLayer, prelu5: PReLULayer
    private let score: LinearLayer, box: LinearLayer, landmarks: LinearLayer

    public init(tensors: [(String, Tensor)]) throws {
        let b = ParameterBinder(tensors, architecture: "MTCNN ONet")
        stem = [PReLUStage(b, 1, in: 3, out: 32, kernel: 3, pool: (3, 2)),
                PReLUStage(b, 2, in: 32, out: 64, kernel: 3, pool: (3, 2)),
                PReLUStage(b, 3, in: 64, out: 64, kernel: 3, pool: (2, 2)),
                PReLUStage(b, 4, in: 64, out: 128, kernel: 2, pool: nil)]
        dense5 = LinearLayer(b, "dense5", in: 1152, out: 256)
        prelu5 = PReLULayer(b, "prelu5", channels: 256)
        score = LinearLayer(b, "dense6_1", in: 256, out: 2)
        box = LinearLayer(b, "dense6_2", in: 256, out: 4)
        landmarks = LinearLayer(b, "dense6_3", in: 256, out: 10)
        try b.finish()
        parameterKeys = b.keys
    }

    private func trunk(_ x: Variable, in g: Graph) -> Variable {
        let flat = caffeFlatten(runStem(stem, x, in: g), in: g)
        return g.name("prelu5", prelu5(g.name("dense5", dense5(flat, in: g)), in: g))
    }

    /// The face probabilities [N, 2].
    public func forward(_ x: Variable, in g: Graph) -> Variable {
        g.softmax(g.name("dense6_1", score(trunk(x, in: g), in: g)), axis: 1)
    }

    public func detect(_ input: Tensor) -> MTCNNOutput {
        let g = Graph()
        let features = trunk(g.input(input), in: g)
        return MTCNNOutput(boxRegression: box(features, in: g).tensor,
                           probabilities: g.softmax(score(features, in: g), axis: 1).tensor,
                           landmarks: landmarks(features, in: g).tensor)
    }
}
