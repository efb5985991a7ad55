// EfficientNet: B0–B7 in efficientnet_pytorch's and timm's key layouts and padding conventions, plus
// Bonettini et al.'s EfficientNetAutoAtt (icpr2020dfdc), bound strictly to the checkpoints' key names.
import Neural

// MARK: - Block

/// MBConv (inverted residual) or, without expansion, timm's DepthwiseSeparable: the same computation.
struct MBConvBlock: Sendable {
    let path: String
    let expand: ConvUnit?
    let depthwise: ConvUnit
    let se: SqueezeExcite
    let project: ConvUnit
    let hasSkip: Bool

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        var y = x
        if let expand { y = expand(y, in: g, activation: .silu) }
        y = depthwise(y, in: g, activation: .silu)
        // Folded inference scales the projection's weights by the gate instead of the expanded activations.
        // Drop-connect is the identity in eval mode, so the skip is a plain sum (in the projection's epilogue).
        let skip = hasSkip ? x : nil
        y = project.isExact(in: g) ? project(se(y, in: g), in: g, residual: skip)
            : project(y, in: g, inputScale: se.gate(y, in: g), residual: skip)
        return g.name(path, y)
    }
}

// MARK: - Network

/// An EfficientNet detector backbone with its linear classifier; `forward` returns the logits (N×K).
///
/// Key layouts, chosen by the padding convention and the checkpoint:
/// - efficientnet_pytorch: `_conv_stem`, `_bn0`, `_blocks.N.{_expand_conv,_bn0,_depthwise_conv,_bn1,_se_reduce,
///   _se_expand,_project_conv,_bn2}`, `_conv_head`, `_bn1`, `_fc`; icpr2020dfdc nests the same under
///   `efficientnet.` with the head in `classifier` (and adds `efficientnet.attconv` for AutoAtt).
/// - timm: `conv_stem`, `bn1`, `blocks.S.I.{conv_pw,bn1,conv_dw,bn2,se.conv_reduce,se.conv_expand,conv_pwl,bn3}`
///   (first stage: `conv_dw`, `bn1`, `se`, `conv_pw`, `bn2`), `conv_head`, `bn2`, `classifier`.
///
/// Layers are named with these module paths; AutoAtt's sigmoid map is named `attention`.
/// ```swift
/// let net = try EfficientNet(config: EfficientNetConfig(variant: "b4"), padding: .lukemelas07,
///                            attention: true, tensors: file.namedTensors)
/// ```
public final class EfficientNet: Network {
    /// The name of AutoAtt's attention map (after the sigmoid), N×1×h×w.
    public static let attentionName = "attention"

    public let config: EfficientNetConfig
    public let padding: EfficientNetPadding
    /// Number of classifier outputs (1 for a sigmoid-logit detector).
    public let classes: Int
    public let parameterKeys: [String]
    public let layerNames: [String]
    /// The module path of the head convolution (GradCAM's usual layer), e.g. `efficientnet._conv_head`.
    public let headLayerName: String

    let stem: ConvUnit
    let blocks: [MBConvBlock]
    /// timm names each stage (`blocks.S`) as well as each block; the indices of each stage's last block.
    let stageEnds: [Int: String]
    let attention: (index: Int, conv: ConvUnit)?
    let head: ConvUnit
    let classifierWeight: Tensor, classifierBias: Tensor

    /// Builds the network and binds `tensors` strictly (every key used, none missing, shapes checked).
    ///
    /// - Parameters:
    ///   - config: width/depth coefficients and the nominal resolution static padding is computed for.
    ///   - padding: the code base's convention; also selects the key layout and BatchNorm eps.
    ///   - attention: build EfficientNetAutoAtt (icpr2020dfdc layout only).
    ///   - tensors: the checkpoint's named tensors, key prefix already removed.
    public convenience init(config: EfficientNetConfig, padding: EfficientNetPadding, attention: Bool,
                            tensors: [(String, Tensor)]) throws {
        try self.init(config: config, padding: padding, attention: attention, tensors: tensors, verify: true)
    }

    /// Every parameter key with its shape, in binding order, for a classifier of `classes` outputs (what a
    /// checkpoint of this architecture must hold; `deepscope bench` draws random weights from it).
    public static func parameterShapes(config: EfficientNetConfig, padding: EfficientNetPadding, attention: Bool,
                                       classes: Int) throws -> [(String, [Int])] {
        let nested = attention && padding.lukemelasKeys
        let fc = (padding.lukemelasKeys && !nested ? "_fc" : "classifier") + ".weight"
        let probe = try EfficientNet(config: config, padding: padding, attention: attention,
                                     tensors: [(fc, Tensor(shape: [classes, config.headChannels]))], verify: false)
        return probe.shapes
    }

    /// The shapes `parameterKeys` were bound with.
    private let shapes: [(String, [Int])]

    private init(config: EfficientNetConfig, padding: EfficientNetPadding, attention: Bool,
                 tensors: [(String, Tensor)], verify: Bool) throws {
        let architecture = attention ? "efficientnet-autoatt" : "efficientnet"
        let luke = padding.lukemelasKeys
        if attention && !luke {
            throw ModelError.invalidConfiguration("efficientnet-autoatt exists only in efficientnet_pytorch's layout "
                + "(padding lukemelas-0.7 or lukemelas-0.6), not '\(padding.rawValue)'")
        }
        let nested = luke && (attention || tensors.contains { $0.0 == "efficientnet._conv_stem.weight" })
        let prefix = nested ? "efficientnet." : ""
        let classifierPath = luke && !nested ? "_fc" : "classifier"
        guard let fc = tensors.first(where: { $0.0 == classifierPath + ".weight" })?.1, fc.rank == 2 else {
            throw ModelError.binding(architecture: "\(architecture) \(config.name)",
                                     missing: [classifierPath + ".weight"], unexpected: [], misshapen: [])
        }
        let keys = KeyCollector(StateDictBinder(tensors, architecture: "\(architecture) \(config.name) (\(padding.rawValue))"))
        let eps = padding.batchNormEps
        let timmBN = !luke
        var names: [String] = []

        func rule(_ kernel: Int, _ stride: Int, _ size: Int) -> PaddingRule {
            switch padding {
            case .lukemelas07: return .fixed(.same(height: size, width: size, kernel: Size2D(kernel, kernel), stride: Size2D(stride, stride)))
            case .lukemelas06:
                return .fixed(.same(height: config.resolution, width: config.resolution, kernel: Size2D(kernel, kernel),
                                    stride: Size2D(stride, stride)))
            case .timm: let p = ((stride - 1) + (kernel - 1)) / 2; return .fixed(Padding2D(p, p))
            case .timmTF: return .dynamicSame
            }
        }
        func unit(_ path: String, _ input: Int, _ output: Int, kernel: Int = 1, stride: Int = 1, groups: Int = 1,
                  norm: String) -> ConvUnit {
            names.append(path); names.append(norm)
            return ConvUnit(path: path, input: input, output: output, kernel: kernel, stride: stride, groups: groups,
                            bias: false, padding: rule(kernel, stride, size), norm: norm, eps: eps,
                            normIncludesActivation: timmBN, packed: true, keys: keys)
        }

        // MARK: Stem
        var size = config.resolution
        let stemChannels = config.stemChannels
        stem = unit(prefix + (luke ? "_conv_stem" : "conv_stem"), 3, stemChannels, kernel: 3, stride: 2,
                    norm: prefix + (luke ? "_bn0" : "bn1"))
        size = (size + 1) / 2

        // MARK: Blocks
        let args = config.blocks
        let attentionIndex = config.attentionBlockIndex
        var built: [MBConvBlock] = []
        var ends: [Int: String] = [:]
        var attentionConv: ConvUnit? = nil
        for (n, b) in args.enumerated() {
            let path = luke ? "\(prefix)_blocks.\(n)" : "blocks.\(b.stage).\(b.index)"
            let mid = b.input * b.expand
            let expand: ConvUnit?, depthwise: ConvUnit, se: SqueezeExcite, project: ConvUnit
            if luke {
                expand = b.expand == 1 ? nil : unit(path + "._expand_conv", b.input, mid, norm: path + "._bn0")
                depthwise = unit(path + "._depthwise_conv", mid, mid, kernel: b.kernel, stride: b.stride, groups: mid,
                                 norm: path + "._bn1")
                se = SqueezeExcite(reducePath: path + "._se_reduce", expandPath: path + "._se_expand", channels: mid,
                                   squeezed: max(1, Int(Double(b.input) * 0.25)), keys: keys)
                size = (size + b.stride - 1) / b.stride
                project = unit(path + "._project_conv", mid, b.output, norm: path + "._bn2")
            } else {
                // timm sizes the squeeze from the block input as round(mid · 0.25 / expand), Python rounding.
                let squeezed = Int((Double(mid) * (0.25 / Double(b.expand))).rounded(.toNearestOrEven))
                expand = b.expand == 1 ? nil : unit(path + ".conv_pw", b.input, mid, norm: path + ".bn1")
                depthwise = unit(path + ".conv_dw", mid, mid, kernel: b.kernel, stride: b.stride, groups: mid,
                                 norm: path + (b.expand == 1 ? ".bn1" : ".bn2"))
                se = SqueezeExcite(reducePath: path + ".se.conv_reduce", expandPath: path + ".se.conv_expand",
                                   channels: mid, squeezed: max(1, squeezed), keys: keys)
                size = (size + b.stride - 1) / b.stride
                project = b.expand == 1 ? unit(path + ".conv_pw", mid, b.output, norm: path + ".bn2")
                    : unit(path + ".conv_pwl", mid, b.output, norm: path + ".bn3")
            }
            names.append(path)
            // efficientnet_pytorch decodes a stage's stride as a list ([1]), so its `stride == 1` test fails for
            // the first block of every stage: that block never has a skip, even when its shapes allow one.
            let skip = b.hasSkip && !(luke && b.index == 0)
            built.append(MBConvBlock(path: path, expand: expand, depthwise: depthwise, se: se, project: project,
                                     hasSkip: skip))
            if !luke && (n + 1 == args.count || args[n + 1].stage != b.stage) {
                ends[n] = "blocks.\(b.stage)"
                names.append("blocks.\(b.stage)")
            }
            if attention && n == attentionIndex {
                attentionConv = ConvUnit(path: prefix + "attconv", input: b.output, output: 1, kernel: 1, bias: true,
                                         padding: .fixed(.zero), norm: nil, eps: 0, keys: keys)
                names.append(prefix + "attconv"); names.append(Self.attentionName)
            }
        }
        blocks = built
        stageEnds = ends
        self.attention = attentionConv.map { (attentionIndex, $0) }

        // MARK: Head
        let last = args.last?.output ?? stemChannels
        headLayerName = prefix + (luke ? "_conv_head" : "conv_head")
        head = unit(headLayerName, last, config.headChannels, norm: prefix + (luke ? "_bn1" : "bn2"))
        classes = fc.shape[0]
        classifierWeight = keys.take(classifierPath + ".weight", [classes, config.headChannels])
        classifierBias = keys.take(classifierPath + ".bias", [classes])
        names.append(classifierPath)
        if verify { try keys.binder.finish() }
        shapes = Array(zip(keys.keys, keys.shapes))

        self.config = config
        self.padding = padding
        parameterKeys = keys.keys
        layerNames = names
    }

    // MARK: Forward

    public func forward(_ x: Variable, in g: Graph) -> Variable {
        var y = stem(x, in: g, activation: .silu)
        for (n, block) in blocks.enumerated() {
            y = block(y, in: g)
            if let stage = stageEnds[n] { y = g.name(stage, y) }
            if let attention, n == attention.index {
                let map = g.name(Self.attentionName, g.sigmoid(attention.conv(y, in: g)))
                y = g.multiply(y, map)
            }
        }
        y = head(y, in: g, activation: .silu)
        // Global average pool, then dropout (identity in eval) and the linear classifier.
        let pooled = g.flatten(g.globalAvgPool(y))
        return g.name(layerNames.last!, g.linear(pooled, weight: g.constant(classifierWeight),
                                                  bias: g.constant(classifierBias)))
    }
}
