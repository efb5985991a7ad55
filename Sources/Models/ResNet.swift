// ResNet-18/34/50 as torchvision defines them, bound to torchvision's state-dict keys.
import Neural

// MARK: - Blocks

/// torchvision's `BasicBlock` (18/34) or `Bottleneck` (50, v1.5: the stride sits on the 3×3 conv).
private struct ResidualBlock: Sendable {
    let convs: [Conv2dLayer]
    let norms: [BatchNorm2dLayer]
    let downsample: (conv: Conv2dLayer, norm: BatchNorm2dLayer)?

    init(_ b: ParameterBinder, _ prefix: String, inplanes: Int, planes: Int, stride: Int, bottleneck: Bool) {
        let expansion = bottleneck ? 4 : 1
        // (in, out, kernel, stride) of conv1, conv2(, conv3); torchvision registers conv1, bn1, conv2, bn2, …,
        // and binding in that order keeps parameterKeys in state_dict() order.
        let specs: [(Int, Int, Int, Int)] = bottleneck
            ? [(inplanes, planes, 1, 1), (planes, planes, 3, stride), (planes, planes * 4, 1, 1)]
            : [(inplanes, planes, 3, stride), (planes, planes, 3, 1)]
        var convs: [Conv2dLayer] = [], norms: [BatchNorm2dLayer] = []
        for (i, (cin, cout, kernel, s)) in specs.enumerated() {
            convs.append(Conv2dLayer(b, "\(prefix).conv\(i + 1)", in: cin, out: cout, kernel: kernel, stride: s,
                                     padding: kernel / 2, bias: false))
            norms.append(BatchNorm2dLayer(b, "\(prefix).bn\(i + 1)", channels: cout))
        }
        self.convs = convs
        self.norms = norms
        if stride != 1 || inplanes != planes * expansion {
            downsample = (Conv2dLayer(b, prefix + ".downsample.0", in: inplanes, out: planes * expansion, kernel: 1,
                                      stride: stride, bias: false),
                          BatchNorm2dLayer(b, prefix + ".downsample.1", channels: planes * expansion))
        } else {
            downsample = nil
        }
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        var y = x
        for i in convs.indices {
            y = norms[i](convs[i](y, in: g), in: g)
            if i < convs.count - 1 { y = g.relu(y) }
        }
        let identity = downsample.map { $0.norm($0.conv(x, in: g), in: g) } ?? x
        return g.relu(g.add(y, identity))
    }
}

// MARK: - Network

/// ResNet-18, -34 or -50 with torchvision's keys (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`,
/// `fc`).
///
/// The head size comes from the checkpoint's `fc.weight`, and so does the stem width (`conv1.weight`), which lets
/// narrowed test models bind; every other shape is checked against it. Named layers: `conv1`, `bn1`, `maxpool`,
/// `layer1`…`layer4` and their blocks (`layer4.1`), `avgpool` and `fc`; GradCAM's usual target is `layer4`.
///
/// ```swift
/// let net = try ResNet(depth: 34, tensors: file.namedTensors)
/// let logits = net.forward(g.input(image), in: g)
/// ```
public final class ResNet: Network {
    /// 18, 34 or 50.
    public let depth: Int
    /// Number of outputs of `fc`.
    public let classes: Int
    public let parameterKeys: [String]
    public let layerNames: [String]

    private let conv1: Conv2dLayer
    private let bn1: BatchNorm2dLayer
    private let layers: [[ResidualBlock]]
    private let fc: LinearLayer

    /// Blocks per stage for each supported depth.
    static let stages: [Int: (blocks: [Int], bottleneck: Bool)] = [
        18: ([2, 2, 2, 2], false), 34: ([3, 4, 6, 3], false), 50: ([3, 4, 6, 3], true),
    ]

    /// Binds a torchvision ResNet state dict.
    /// - Parameters:
    ///   - depth: 18, 34 or 50.
    ///   - tensors: the checkpoint's named tensors (wrapper prefixes already removed).
    /// - Throws: `ModelError.unsupported` for another depth; `ModelError.binding` listing every missing,
    ///   unexpected or mis-shaped key.
    public init(depth: Int, tensors: [(String, Tensor)]) throws {
        guard let config = ResNet.stages[depth] else {
            throw ModelError.unsupported("ResNet-\(depth) (supported: 18, 34, 50)")
        }
        let b = ParameterBinder(tensors, architecture: "ResNet-\(depth)")
        let width = b.dimension("conv1.weight", 0, or: 64)
        let expansion = config.bottleneck ? 4 : 1
        self.depth = depth
        conv1 = Conv2dLayer(b, "conv1", in: 3, out: width, kernel: 7, stride: 2, padding: 3, bias: false)
        bn1 = BatchNorm2dLayer(b, "bn1", channels: width)
        var inplanes = width
        var layers: [[ResidualBlock]] = []
        var names = ["conv1", "bn1", "maxpool"]
        for (stage, count) in config.blocks.enumerated() {
            let planes = width << stage
            var blocks: [ResidualBlock] = []
            for i in 0..<count {
                blocks.append(ResidualBlock(b, "layer\(stage + 1).\(i)", inplanes: inplanes, planes: planes,
                                            stride: i == 0 && stage > 0 ? 2 : 1, bottleneck: config.bottleneck))
                inplanes = planes * expansion
                names.append("layer\(stage + 1).\(i)")
            }
            names.append("layer\(stage + 1)")
            layers.append(blocks)
        }
        self.layers = layers
        classes = b.dimension("fc.weight", 0, or: 1000)
        fc = LinearLayer(b, "fc", in: inplanes, out: classes)
        layerNames = names + ["avgpool", "fc"]
        try b.finish()
        parameterKeys = b.keys
    }

    public func forward(_ x: Variable, in g: Graph) -> Variable {
        var y = g.name("bn1", bn1(g.name("conv1", conv1(x, in: g)), in: g))
        y = g.name("maxpool", g.maxPool2d(g.relu(y), kernel: 3, stride: 2, padding: 1))
        for (stage, blocks) in layers.enumerated() {
            for (i, block) in blocks.enumerated() { y = g.name("layer\(stage + 1).\(i)", block(y, in: g)) }
            g.name("layer\(stage + 1)", y)
        }
        let pooled = g.name("avgpool", g.globalAvgPool(y))
        return g.name("fc", fc(g.flatten(pooled), in: g))
    }
}
