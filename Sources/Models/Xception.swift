// Xception (Chollet) in the three key layouts detector releases use: Cadene pretrainedmodels, FaceForensics++
// and timm's legacy_xception.
import Neural

// MARK: - Layout

/// Which release's state-dict keys an Xception checkpoint uses. The network is the same in all three.
public enum XceptionLayout: String, Sendable, CaseIterable {
    /// Cadene `pretrainedmodels`: head `last_linear` (or `fc` in its unconverted ImageNet file).
    case cadene
    /// FaceForensics++ `TransferModel`: every key under `model.` (optional here), head `last_linear.1` after a
    /// Dropout; released pointwise weights are 2-D `[out, in]`.
    case ffpp
    /// timm `legacy_xception`: head `fc`.
    case timm
    /// DeepfakeBench `training/networks/xception.py` (FF++'s code): head `last_linear` (`last_linear.1` when
    /// trained with dropout), plus an `adjust_channel` conv/BN it registers in every mode; the released detector
    /// runs in mode `original`, which never applies it, so those keys are bound and left unused.
    case deepfakebench
}

// MARK: - Units

/// `SeparableConv2d`: a depthwise 3×3 (`conv1`) then a pointwise 1×1 (`pointwise`), both without bias.
struct SeparableConv: Sendable {
    let depthwise: Conv2dLayer
    let pointwise: Conv2dLayer

    init(_ b: ParameterBinder, _ prefix: String, in cin: Int, out cout: Int) {
        depthwise = Conv2dLayer(b, prefix + ".conv1", in: cin, out: cin, kernel: 3, padding: 1, groups: cin, bias: false)
        // The binder accepts FF++'s 2-D [out, in] pointwise weight for this 4-D [out, in, 1, 1] parameter.
        pointwise = Conv2dLayer(b, prefix + ".pointwise", in: cin, out: cout, kernel: 1, bias: false)
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable { pointwise(depthwise(x, in: g), in: g) }
}

/// One entry-, middle- or exit-flow block: `rep` = [ReLU] SepConv BN (ReLU SepConv BN)… [MaxPool], plus
/// `skip`/`skipbn` (1×1 conv, stride) when the shape changes.
private struct XceptionBlock: Sendable {
    /// (ReLU before?, separable conv, batch norm) for each repetition.
    let units: [(relu: Bool, depthwise: Conv2dLayer, pointwise: ConvBN)]
    let pool: Bool
    let skip: ConvBN?

    init(_ b: ParameterBinder, _ prefix: String, in cin: Int, out cout: Int, reps: Int, stride: Int,
         startWithReLU: Bool, growFirst: Bool) {
        // Both Cadene and timm register `skip`, `skipbn` before `rep`, so bind them first for state_dict() order.
        if cout != cin || stride != 1 {
            skip = ConvBN(Conv2dLayer(b, prefix + ".skip", in: cin, out: cout, kernel: 1, stride: stride, bias: false),
                          BatchNorm2dLayer(b, prefix + ".skipbn", channels: cout))
        } else {
            skip = nil
        }
        // `rep` is built as ReLU, SepConv, BN per repetition and loses its first ReLU when the block does not
        // start with one, which shifts every Sequential index by one.
        let shift = startWithReLU ? 0 : 1
        var units: [(Bool, Conv2dLayer, ConvBN)] = []
        for i in 0..<reps {
            let (a, z) = growFirst ? (i == 0 ? cin : cout, cout) : (cin, i == reps - 1 ? cout : cin)
            let base = 3 * i - shift
            let conv = SeparableConv(b, "\(prefix).rep.\(base + 1)", in: a, out: z)
            units.append((i > 0 || startWithReLU, conv.depthwise,
                          ConvBN(conv.pointwise, BatchNorm2dLayer(b, "\(prefix).rep.\(base + 2)", channels: z))))
        }
        self.units = units
        pool = stride != 1
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        var y = x
        for (i, unit) in units.enumerated() {
            // The next unit's ReLU is fused into this unit's folded pointwise+BN when inference allows it;
            // the block's input, which the shortcut reads unrectified, is rectified inside the depthwise kernel.
            // The shortcut is added in a conv's epilogue: the last pointwise's when it is the identity (the
            // middle flow), else the skip conv's, after the pool.
            let fuseNext = !g.isRecording && i + 1 < units.count && units[i + 1].relu
            let rectifiesInput = unit.relu && (i == 0 || g.isRecording)
            let shortcut = i == units.count - 1 && skip == nil && !pool ? x : nil
            y = unit.pointwise(unit.depthwise(y, in: g, inputActivation: rectifiesInput ? .relu : .identity), in: g,
                               activation: fuseNext ? .relu : .identity, residual: shortcut)
        }
        if pool { y = g.maxPool2d(y, kernel: 3, stride: 2, padding: 1) }
        // A pooling block always has a skip conv (stride ≠ 1), so without one the shortcut is already in y.
        return skip.map { $0(x, in: g, residual: y) } ?? y
    }
}

// MARK: - Network

/// Xception for 299×299 inputs (any size ≥ 71 works), in Cadene, FF++ or timm key layout.
///
/// Channel widths and the head size are read from the checkpoint (`conv1`, `conv2`, the blocks' `skip` and the
/// exit convs' `pointwise` weights), so narrowed test models bind too; every shape is then checked strictly.
/// Named layers, as module paths (prefixed `model.` in an FF++ checkpoint that has it): `conv1`, `bn1`, `conv2`,
/// `bn2`, `block1`…`block12`, `conv3`, `bn3`, `conv4`, `bn4`, then the head. GradCAM's default is `conv4`, the
/// last convolution (2048 channels, 10×10 at 299).
///
/// ```swift
/// let net = try Xception(layout: .ffpp, tensors: file.namedTensors)
/// ```
public final class Xception: Network {
    public let layout: XceptionLayout
    /// Number of head outputs (`last_linear`/`fc` rows).
    public let classes: Int
    /// Prefix of every module path: `model.` for FF++ checkpoints that carry it, else empty.
    public let modulePrefix: String
    /// The layer GradCAM explains by default.
    public var defaultGradCAMLayer: String { modulePrefix + "conv4" }
    public let parameterKeys: [String]
    public let layerNames: [String]

    private let conv1: Conv2dLayer, bn1: BatchNorm2dLayer
    private let conv2: Conv2dLayer, bn2: BatchNorm2dLayer
    private let blocks: [XceptionBlock]
    private let conv3: SeparableConv, bn3: BatchNorm2dLayer
    private let conv4: SeparableConv, bn4: BatchNorm2dLayer
    private let head: LinearLayer
    private let headName: String
    /// conv1+bn1, conv2+bn2, conv3's pointwise+bn3 and conv4's pointwise+bn4 folded, for inference that
    /// captures none of those layers.
    private let folded: (stem1: ConvBN, stem2: ConvBN, exit3: ConvBN, exit4: ConvBN)

    /// Binds an Xception checkpoint.
    /// - Parameters:
    ///   - layout: the release the keys come from.
    ///   - tensors: the checkpoint's named tensors (wrapper prefixes such as `module.` already removed).
    /// - Throws: `ModelError.binding` listing every missing, unexpected or mis-shaped key.
    public init(layout: XceptionLayout, tensors: [(String, Tensor)]) throws {
        self.layout = layout
        let prefix = layout == .ffpp && !tensors.isEmpty && tensors.allSatisfy { $0.0.hasPrefix("model.") } ? "model." : ""
        modulePrefix = prefix
        let b = ParameterBinder(tensors, architecture: "Xception (\(layout.rawValue) layout)")
        func width(_ key: String, _ standard: Int) -> Int { b.dimension(prefix + key, 0, or: standard) }
        let w1 = width("conv1.weight", 32), w2 = width("conv2.weight", 64)
        let entry = [width("block1.skip.weight", 128), width("block2.skip.weight", 256), width("block3.skip.weight", 728)]
        let exit = width("block12.skip.weight", 1024)
        let w3 = width("conv3.pointwise.weight", 1536), w4 = width("conv4.pointwise.weight", 2048)

        conv1 = Conv2dLayer(b, prefix + "conv1", in: 3, out: w1, kernel: 3, stride: 2, bias: false)
        bn1 = BatchNorm2dLayer(b, prefix + "bn1", channels: w1)
        conv2 = Conv2dLayer(b, prefix + "conv2", in: w1, out: w2, kernel: 3, bias: false)
        bn2 = BatchNorm2dLayer(b, prefix + "bn2", channels: w2)
        var blocks = [
            XceptionBlock(b, prefix + "block1", in: w2, out: entry[0], reps: 2, stride: 2, startWithReLU: false, growFirst: true),
            XceptionBlock(b, prefix + "block2", in: entry[0], out: entry[1], reps: 2, stride: 2, startWithReLU: true, growFirst: true),
            XceptionBlock(b, prefix + "block3", in: entry[1], out: entry[2], reps: 2, stride: 2, startWithReLU: true, growFirst: true),
        ]
        for i in 4...11 {
            blocks.append(XceptionBlock(b, prefix + "block\(i)", in: entry[2], out: entry[2], reps: 3, stride: 1,
                                        startWithReLU: true, growFirst: true))
        }
        blocks.append(XceptionBlock(b, prefix + "block12", in: entry[2], out: exit, reps: 2, stride: 2,
                                    startWithReLU: true, growFirst: false))
        self.blocks = blocks
        conv3 = SeparableConv(b, prefix + "conv3", in: exit, out: w3)
        bn3 = BatchNorm2dLayer(b, prefix + "bn3", channels: w3)
        conv4 = SeparableConv(b, prefix + "conv4", in: w3, out: w4)
        bn4 = BatchNorm2dLayer(b, prefix + "bn4", channels: w4)

        folded = (ConvBN(conv1, bn1), ConvBN(conv2, bn2), ConvBN(conv3.pointwise, bn3), ConvBN(conv4.pointwise, bn4))

        switch layout {
        case .ffpp: headName = prefix + "last_linear.1"
        case .timm: headName = "fc"
        case .cadene: headName = b.has("fc.weight") && !b.has("last_linear.weight") ? "fc" : "last_linear"
        case .deepfakebench: headName = b.has("last_linear.1.weight") ? "last_linear.1" : "last_linear"
        }
        classes = b.dimension(headName + ".weight", 0, or: 1000)
        head = LinearLayer(b, headName, in: w4, out: classes)
        if layout == .deepfakebench {
            let adjusted = b.dimension("adjust_channel.0.weight", 0, or: 512)
            _ = Conv2dLayer(b, "adjust_channel.0", in: w4, out: adjusted, kernel: 1, bias: true)
            _ = BatchNorm2dLayer(b, "adjust_channel.1", channels: adjusted)
        }
        try b.finish()
        parameterKeys = b.keys
        layerNames = ["conv1", "bn1", "conv2", "bn2"].map { prefix + $0 }
            + (1...12).map { "\(prefix)block\($0)" }
            + ["conv3", "bn3", "conv4", "bn4"].map { prefix + $0 } + [headName]
    }

    public func forward(_ x: Variable, in g: Graph) -> Variable {
        let p = modulePrefix
        // Folded where no one looks at the conv's own output (GradCAM records; a capture names the layer).
        func exact(_ names: String...) -> Bool { g.isRecording || names.contains { g.captured.contains(p + $0) } }
        var y: Variable
        if exact("conv1", "bn1", "conv2", "bn2") {
            y = g.relu(g.name(p + "bn1", bn1(g.name(p + "conv1", conv1(x, in: g)), in: g)))
            y = g.relu(g.name(p + "bn2", bn2(g.name(p + "conv2", conv2(y, in: g)), in: g)))
        } else {
            y = folded.stem2(folded.stem1(x, in: g, activation: .relu), in: g, activation: .relu)
        }
        for (i, block) in blocks.enumerated() { y = g.name("\(p)block\(i + 1)", block(y, in: g)) }
        if exact("conv3", "bn3", "conv4", "bn4") {
            y = g.relu(g.name(p + "bn3", bn3(g.name(p + "conv3", conv3(y, in: g)), in: g)))
            y = g.name(p + "bn4", bn4(g.name(p + "conv4", conv4(y, in: g)), in: g))
        } else {
            y = folded.exit3(conv3.depthwise(y, in: g), in: g, activation: .relu)
            y = folded.exit4(conv4.depthwise(y, in: g), in: g)
        }
        // Cadene's `logits()` (and timm's act4) apply the last ReLU after the named features.
        let pooled = g.flatten(g.globalAvgPool(g.relu(y)))
        return g.name(headName, head(pooled, in: g))
    }
}
