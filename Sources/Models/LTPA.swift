// LTPA: an EfficientNet detector with Jetley et al.'s "learn to pay attention" heads (three "pc" attention
// estimators on stage features, a classifier on the attended features), bound to PyTorch key names.
import Neural

// MARK: - Network

/// EfficientNet + LTPA: local features l^s from the last blocks of stages 3, 5 and 7, the global feature g
/// (the pooled head), compatibility c_i = ⟨u_s, l_i + W_s g⟩, attention a = softmax over positions,
/// g_a^s = Σ_i a_i l_i, and a linear classifier on [g_a^1, g_a^2, g_a^3].
///
/// Keys (efficientnet_pytorch backbone): `efficientnet.*` as icpr2020dfdc nests it, `projectors.S.weight`
/// (W_s, C_s×C_g, no bias), `attention.S.weight` (u_s, a 1×1 conv to one channel, no bias),
/// `classifier.{weight,bias}`. The softmax maps are named `ltpa.level1`…`ltpa.level3` (N×1×h×w).
/// ```swift
/// let net = try LTPA(config: EfficientNetConfig(variant: "b4"), padding: .lukemelas07, tensors: file.namedTensors)
/// ```
public final class LTPA: Network {
    /// Names of the three attention maps (after the softmax), N×1×h×w each.
    public static let levelNames = ["ltpa.level1", "ltpa.level2", "ltpa.level3"]

    public let backbone: EfficientNet
    /// The block after which each level's local features are taken.
    public let levelBlocks: [Int]
    public let parameterKeys: [String]
    public let layerNames: [String]
    public var headLayerName: String { backbone.headLayerName }

    let projectors: [Tensor]
    let compatibility: [Tensor]
    let classifierWeight: Tensor
    let classifierBias: Tensor

    /// Builds and strictly binds the network.
    /// - Throws: `ModelError.binding` listing every missing, unexpected or mis-shaped key.
    public init(config: EfficientNetConfig, padding: EfficientNetPadding, tensors: [(String, Tensor)]) throws {
        guard padding.lukemelasKeys else {
            throw ModelError.invalidConfiguration("efficientnet-ltpa uses efficientnet_pytorch's layout "
                + "(padding lukemelas-0.7 or lukemelas-0.6), not '\(padding.rawValue)'")
        }
        let blocks = config.blocks
        // The last block of stages 3, 5 and 7 (strides 8, 16 and 32): three scales, as Jetley et al. take
        // three VGG depths.
        let levels = [2, 4, 6].map { stage in blocks.lastIndex { $0.stage == stage }! }
        let channels = levels.map { blocks[$0].output }
        let headChannels = config.headChannels

        // The backbone binds its own keys strictly; it expects a `classifier` of its own, which LTPA replaces, so
        // it gets a placeholder one.
        let own = tensors.filter { !$0.0.hasPrefix("efficientnet.") }
        let backboneTensors = tensors.filter { $0.0.hasPrefix("efficientnet.") }
            + [("classifier.weight", Tensor(shape: [1, headChannels])), ("classifier.bias", Tensor(shape: [1]))]
        backbone = try EfficientNet(config: config, padding: padding, attention: false, tensors: backboneTensors)

        let binder = StateDictBinder(own, architecture: "efficientnet-ltpa \(config.name)")
        var keys: [String] = []
        func take(_ key: String, _ shape: [Int]) -> Tensor { keys.append(key); return binder.take(key, shape: shape) }
        projectors = channels.indices.map { take("projectors.\($0).weight", [channels[$0], headChannels]) }
        compatibility = channels.indices.map { take("attention.\($0).weight", [1, channels[$0], 1, 1]) }
        let classes = own.first { $0.0 == "classifier.weight" }?.1.shape.first ?? 1
        classifierWeight = take("classifier.weight", [classes, channels.reduce(0, +)])
        classifierBias = take("classifier.bias", [classes])
        try binder.finish()

        levelBlocks = levels
        parameterKeys = backbone.parameterKeys.filter { !$0.hasPrefix("classifier.") } + keys
        layerNames = backbone.layerNames.dropLast()
            + channels.indices.flatMap { ["attention.\($0)", Self.levelNames[$0]] } + ["classifier"]
    }

    // MARK: Forward

    public func forward(_ x: Variable, in g: Graph) -> Variable {
        var y = backbone.stem(x, in: g, activation: .silu)
        var local: [Variable] = []
        for (n, block) in backbone.blocks.enumerated() {
            y = block(y, in: g)
            if levelBlocks.contains(n) { local.append(y) }
        }
        y = backbone.head(y, in: g, activation: .silu)
        let global = g.flatten(g.globalAvgPool(y))
        var pooled: [Variable] = []
        for (s, l) in local.enumerated() {
            let (n, c, h, w) = (l.shape[0], l.shape[1], l.shape[2], l.shape[3])
            let projected = g.reshape(g.linear(global, weight: g.constant(projectors[s])), [n, c, 1, 1])
            let score = g.name("attention.\(s)", g.conv2d(g.add(l, projected), weight: g.constant(compatibility[s])))
            let a = g.name(Self.levelNames[s], g.reshape(g.softmax(g.reshape(score, [n, h * w]), axis: 1), [n, 1, h, w]))
            pooled.append(g.sum(g.multiply(l, a), axes: [2, 3], keepDims: false))
        }
        return g.name("classifier", g.linear(g.concat(pooled, axis: 1), weight: g.constant(classifierWeight),
                                             bias: g.constant(classifierBias)))
    }
}
