// Meso4 and MesoInception4 (Afchar et al.) as DeepfakeBench's PyTorch port defines them.
import Neural

// MARK: - Shared head

/// The Meso classifier: flatten, (Dropout2d), `fc1` (16 units), LeakyReLU(0.1), (Dropout2d), `fc2`.
private struct MesoHead: Sendable {
    let fc1: LinearLayer
    let fc2: LinearLayer

    init(_ b: ParameterBinder, features: Int) {
        fc1 = LinearLayer(b, "fc1", in: features, out: 16)
        fc2 = LinearLayer(b, "fc2", in: 16, out: b.dimension("fc2.weight", 0, or: 2))
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        let hidden = g.name("fc1", fc1(g.flatten(x), in: g, activation: .leakyReLU(0.1)))
        return g.name("fc2", fc2(hidden, in: g))
    }
}

/// Checks the input size both Meso networks need (four pools dividing by 32) and gives the flattened size.
private func mesoFeatures(inputSize: Int, architecture: String) throws -> Int {
    guard inputSize >= 32, inputSize % 32 == 0 else {
        throw ModelError.invalidConfiguration("\(architecture) needs an input size that is a multiple of 32, got \(inputSize)")
    }
    return 16 * (inputSize / 32) * (inputSize / 32)
}

// MARK: - Meso4

/// Meso4 with DeepfakeBench's keys (`conv1`…`conv4`, `bn1`, `bn2`, `fc1`, `fc2`; `backbone.` already removed).
///
/// As in DeepfakeBench, each conv is followed by ReLU *then* BN, `bn1` serves both conv1 and conv2 and `bn2`
/// both conv3 and conv4, and pooling floors (2, 2, 2, 4). The input size fixes `fc1`'s width (256 → 1024).
/// Named layers: `conv1`…`conv4` (conv outputs, before ReLU), `fc1` (after its LeakyReLU), `fc2`. GradCAM: `conv4`.
public final class Meso4: Network {
    public let inputSize: Int
    /// Number of `fc2` outputs.
    public let classes: Int
    public let parameterKeys: [String]
    public let layerNames = ["conv1", "conv2", "conv3", "conv4", "fc1", "fc2"]

    private let convs: [Conv2dLayer]
    private let bn1: BatchNorm2dLayer, bn2: BatchNorm2dLayer
    private let head: MesoHead

    /// - Parameters:
    ///   - inputSize: the square input side the checkpoint was trained at (256 in DeepfakeBench).
    ///   - tensors: the checkpoint's named tensors.
    public init(inputSize: Int = 256, tensors: [(String, Tensor)]) throws {
        let features = try mesoFeatures(inputSize: inputSize, architecture: "Meso4")
        self.inputSize = inputSize
        let b = ParameterBinder(tensors, architecture: "Meso4")
        // Registration order in DeepfakeBench: conv1, bn1, conv2, bn2, conv3, conv4, fc1, fc2.
        let c1 = Conv2dLayer(b, "conv1", in: 3, out: 8, kernel: 3, padding: 1, bias: false)
        bn1 = BatchNorm2dLayer(b, "bn1", channels: 8)
        let c2 = Conv2dLayer(b, "conv2", in: 8, out: 8, kernel: 5, padding: 2, bias: false)
        bn2 = BatchNorm2dLayer(b, "bn2", channels: 16)
        convs = [c1, c2,
                 Conv2dLayer(b, "conv3", in: 8, out: 16, kernel: 5, padding: 2, bias: false),
                 Conv2dLayer(b, "conv4", in: 16, out: 16, kernel: 5, padding: 2, bias: false)]
        head = MesoHead(b, features: features)
        classes = head.fc2.outputs
        try b.finish()
        parameterKeys = b.keys
    }

    public func forward(_ x: Variable, in g: Graph) -> Variable {
        var y = x
        for (i, conv) in convs.enumerated() {
            let norm = i < 2 ? bn1 : bn2
            y = norm(g.relu(g.name("conv\(i + 1)", conv(y, in: g))), in: g)
            y = g.maxPool2d(y, kernel: i < 3 ? 2 : 4)
        }
        return head(y, in: g)
    }
}

// MARK: - MesoInception4

/// One of MesoInception4's two inception layers: four branches (1×1; 1×1→3×3; 1×1→3×3 dilated 2; 1×1→3×3
/// dilated 3) concatenated, then BN and a 2×2 max pool. DeepfakeBench applies no ReLU inside these layers.
private struct MesoInceptionLayer: Sendable {
    let branch1: Conv2dLayer
    let branches: [(Conv2dLayer, Conv2dLayer)]
    let norm: BatchNorm2dLayer

    init(_ b: ParameterBinder, index: Int, in cin: Int, widths: (Int, Int, Int, Int)) {
        let p = "Incption\(index)_"  // sic: DeepfakeBench's spelling
        branch1 = Conv2dLayer(b, p + "conv1", in: cin, out: widths.0, kernel: 1, bias: false)
        var branches: [(Conv2dLayer, Conv2dLayer)] = []
        for (k, w) in [(2, widths.1), (3, widths.2), (4, widths.3)] {
            let dilation = k - 1
            branches.append((Conv2dLayer(b, "\(p)conv\(k)_1", in: cin, out: w, kernel: 1, bias: false),
                             Conv2dLayer(b, "\(p)conv\(k)_2", in: w, out: w, kernel: 3, padding: dilation,
                                         dilation: dilation, bias: false)))
        }
        self.branches = branches
        norm = BatchNorm2dLayer(b, p + "bn", channels: widths.0 + widths.1 + widths.2 + widths.3)
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        let parts = [branch1(x, in: g)] + branches.map { $0.1($0.0(x, in: g), in: g) }
        return g.maxPool2d(norm(g.concat(parts, axis: 1), in: g), kernel: 2)
    }
}

/// MesoInception4 with DeepfakeBench's keys (`Incption1_conv1`, …, `Incption2_bn`, `conv1`, `conv2`, `bn1`,
/// `fc1`, `fc2`).
///
/// Two inception layers (11 then 12 channels), then conv1 and conv2 (5×5, 16) each followed by ReLU, the shared
/// `bn1` and a max pool (2, then 4). Named layers: `Incption1`, `Incption2` (after their pools), `conv1`, `conv2`
/// (conv outputs), `fc1`, `fc2`. GradCAM: `conv2`.
public final class MesoInception4: Network {
    public let inputSize: Int
    /// Number of `fc2` outputs.
    public let classes: Int
    public let parameterKeys: [String]
    public let layerNames = ["Incption1", "Incption2", "conv1", "conv2", "fc1", "fc2"]

    private let inception1: MesoInceptionLayer, inception2: MesoInceptionLayer
    private let conv1: Conv2dLayer, conv2: Conv2dLayer
    private let bn1: BatchNorm2dLayer
    private let head: MesoHead

    /// - Parameters:
    ///   - inputSize: the square input side the checkpoint was trained at (256 in DeepfakeBench).
    ///   - tensors: the checkpoint's named tensors.
    public init(inputSize: Int = 256, tensors: [(String, Tensor)]) throws {
        let features = try mesoFeatures(inputSize: inputSize, architecture: "MesoInception4")
        self.inputSize = inputSize
        let b = ParameterBinder(tensors, architecture: "MesoInception4")
        inception1 = MesoInceptionLayer(b, index: 1, in: 3, widths: (1, 4, 4, 2))
        inception2 = MesoInceptionLayer(b, index: 2, in: 11, widths: (2, 4, 4, 2))
        conv1 = Conv2dLayer(b, "conv1", in: 12, out: 16, kernel: 5, padding: 2, bias: false)
        bn1 = BatchNorm2dLayer(b, "bn1", channels: 16)
        conv2 = Conv2dLayer(b, "conv2", in: 16, out: 16, kernel: 5, padding: 2, bias: false)
        head = MesoHead(b, features: features)
        classes = head.fc2.outputs
        try b.finish()
        parameterKeys = b.keys
    }

    public func forward(_ x: Variable, in g: Graph) -> Variable {
        var y = g.name("Incption1", inception1(x, in: g))
        y = g.name("Incption2", inception2(y, in: g))
        y = g.maxPool2d(bn1(g.relu(g.name("conv1", conv1(y, in: g))), in: g), kernel: 2)
        y = g.maxPool2d(bn1(g.relu(g.name("conv2", conv2(y, in: g))), in: g), kernel: 4)
        return head(y, in: g)
    }
}
