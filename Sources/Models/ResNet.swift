// ResNet-18/34/50 as torchvision defines them, bound to torchvision's state-dict keys.
import Neural

// MARK: - Layout

/// Which release's state-dict keys a ResNet checkpoint uses.
public enum ResNetLayout: String, Sendable, CaseIterable {
    /// torchvision: `conv1`, `bn1`, `layer1`…`layer4`, `fc`.
    case torchvision
    /// DeepfakeBench `resnet34.py`: the torchvision trunk as `nn.Sequential` (`resnet.0` = conv1, `resnet.1` =
    /// bn1, `resnet.4`…`resnet.7` = layer1…layer4) and its own `fc`.
    case deepfakebench

    /// The module path of a torchvision stem or stage name (`conv1`, `bn1`, `layer3`) in this layout.
    func path(_ name: String) -> String {
        guard self == .deepfakebench else { return name }
        switch name {
        case "conv1": return "resnet.0"
        case "bn1": return "resnet.1"
        case "maxpool": return "resnet.3"
        default:
            if name.hasPrefix("layer"), let k = Int(name.dropFirst(5)) { return "resnet.\(k + 3)" }
            return name
        }
    }
}

// MARK: - Blocks

/// torchvision's `BasicBlock` (18/34) or `Bottleneck` (50, v1.5: the stride sits on the 3×3 conv).
private struct ResidualBlock: Sendable {
    let units: [ConvBN]
    let downsample: ConvBN?

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
        units = zip(convs, norms).map { ConvBN($0, $1) }
        if stride != 1 || inplanes != planes * expansion {
            downsample = ConvBN(Conv2dLayer(b, prefix + ".downsample.0", in: inplanes, out: planes * expansion,
                                            kernel: 1, stride: stride, bias: false),
                                BatchNorm2dLayer(b, prefix + ".downsample.1", channels: planes * expansion))
        } else {
            downsample = nil
        }
    }

    /// relu(units(x) + shortcut): the shortcut is added (and the ReLU applied) in the last conv's epilogue.
    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        let identity = downsample.map { $0(x, in: g) } ?? x
        var y = x
        for (i, unit) in units.enumerated() {
            let last = i == units.count - 1
            y = unit(y, in: g, activation: .relu, residual: last ? identity : nil)
        }
        return y
    }
}

// MARK: - Network

/// ResNet-18, -34 or -50 with torchvision's keys (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`,
/// `fc`) or DeepfakeBench's (`resnet.0`, `resnet.1`, `resnet.4.0.conv1`, …, `fc`).
///
/// The head size comes from the checkpoint's `fc.weight`, and so does the stem width (`conv1.weight`), which lets
/// narrowed test models bind; every other shape is checked against it. Named layers: `conv1`, `bn1`, `maxpool`,
/// `layer1`…`layer4` and their blocks (`layer4.1`), `avgpool` and `fc` (DeepfakeBench: `resnet.0`, `resnet.1`,
/// `resnet.3`, `resnet.4`…`resnet.7`, `avgpool`, `fc`); GradCAM's usual target is the last stage.
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
    public let layout: ResNetLayout
    /// The layer GradCAM explains by default: the last stage (`layer4`), as pytorch-grad-cam's examples use.
    public var defaultGradCAMLayer: String { layout.path("layer4") }
    public let parameterKeys: [String]
    public let layerNames: [String]

    private let conv1: Conv2dLayer
    private let bn1: BatchNorm2dLayer
    /// conv1+bn1 folded into one packed conv with the ReLU in its epilogue, for inference that captures neither:
    /// the 7×7 stem on its plain weights went through the unpacked product (224×224 on one core: 4.6 ms, against
    /// onnxruntime's 1.5).
    private let stem: ConvBN
    private let layers: [[ResidualBlock]]
    private let fc: LinearLayer

    /// Blocks per stage for each supported depth.
    static let stages: [Int: (blocks: [Int], bottleneck: Bool)] = [
        18: ([2, 2, 2, 2], false), 34: ([3, 4, 6, 3], false), 50: ([3, 4, 6, 3], true),
    ]

    /// Binds a torchvision ResNet state dict.
    /// - Parameters:
    ///   - depth: 18, 34 or 50.
    ///   - layout: the release the keys come from.
    ///   - tensors: the checkpoint's named tensors (wrapper prefixes already removed).
    /// - Throws: `ModelError.unsupported` for another depth; `ModelError.binding` listing every missing,
    ///   unexpected or mis-shaped key.
    public init(depth: Int, layout: ResNetLayout = .torchvision, tensors: [(String, Tensor)]) throws {
        guard let config = ResNet.stages[depth] else {
            throw ModelError.unsupported("ResNet-\(depth) (supported: 18, 34, 50)")
        }
        let name = layout == .torchvision ? "ResNet-\(depth)" : "ResNet-\(depth) (\(layout.rawValue) layout)"
        let b = ParameterBinder(tensors, architecture: name)
        let width = b.dimension(layout.path("conv1") + ".weight", 0, or: 64)
        let expansion = config.bottleneck ? 4 : 1
        self.depth = depth
        self.layout = layout
        conv1 = Conv2dLayer(b, layout.path("conv1"), in: 3, out: width, kernel: 7, stride: 2, padding: 3, bias: false)
        bn1 = BatchNorm2dLayer(b, layout.path("bn1"), channels: width)
        stem = ConvBN(conv1, bn1)
        var inplanes = width
        var layers: [[ResidualBlock]] = []
        var names = ["conv1", "bn1", "maxpool"].map(layout.path)
        for (stage, count) in config.blocks.enumerated() {
            let planes = width << stage
            var blocks: [ResidualBlock] = []
            for i in 0..<count {
                let path = layout.path("layer\(stage + 1)")
                blocks.append(ResidualBlock(b, "\(path).\(i)", inplanes: inplanes, planes: planes,
                                            stride: i == 0 && stage > 0 ? 2 : 1, bottleneck: config.bottleneck))
                inplanes = planes * expansion
                names.append("\(path).\(i)")
            }
            names.append(layout.path("layer\(stage + 1)"))
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
        let path = layout.path
        var y: Variable
        if g.isRecording || g.captured.contains(path("conv1")) || g.captured.contains(path("bn1")) {
            y = g.relu(g.name(path("bn1"), bn1(g.name(path("conv1"), conv1(x, in: g)), in: g)))
        } else {
            y = stem(x, in: g, activation: .relu)
        }
        y = g.name(path("maxpool"), g.maxPool2d(y, kernel: 3, stride: 2, padding: 1))
        for (stage, blocks) in layers.enumerated() {
            let stagePath = path("layer\(stage + 1)")
            for (i, block) in blocks.enumerated() { y = g.name("\(stagePath).\(i)", block(y, in: g)) }
            y = g.name(stagePath, y)
        }
        let pooled = g.name("avgpool", g.globalAvgPool(y))
        return g.name("fc", fc(g.flatten(pooled), in: g))
    }
}
