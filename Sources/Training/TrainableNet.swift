// TrainableNet: a reduced EfficientNet (efficientnet_pytorch layout as icpr2020dfdc nests it) whose weights are
// graph parameters, with batch norm in training mode, so that `Models` can load exactly what it trains.
import Foundation
import Models
import Neural

// MARK: - Head kinds

/// What sits on the EfficientNet trunk; each maps to a manifest architecture and output kind.
public enum NetHead: String, Sendable, CaseIterable, Codable {
    /// `efficientnet-autoatt`: Bonettini's attention after the stride-8 stage, one sigmoid logit.
    case autoatt
    /// `efficientnet`: K softmax logits (attribution: real + one class per forgery method).
    case softmax
    /// `efficientnet-ltpa`: Jetley's three attention levels and a classifier on the attended features.
    case ltpa
    /// `efficientnet` whose classifier is a D-dimensional embedding (L2-normalised by the loss side).
    case embedding

    /// The manifest `architecture` that loads this network.
    public var architecture: String {
        switch self {
        case .autoatt: return "efficientnet-autoatt"
        case .softmax, .embedding: return "efficientnet"
        case .ltpa: return "efficientnet-ltpa"
        }
    }
}

// MARK: - Trunk table

/// The B0 stage table and compound-scaling rules, mirrored from `Models.EfficientNetConfig` (whose block list
/// is internal to Models); a test checks the resulting keys and shapes against `EfficientNet.parameterShapes`.
enum Trunk {
    struct BlockArgs { var stage, index, kernel, stride, expand, input, output: Int
        var hasSkip: Bool { stride == 1 && input == output } }
    // (repeats, kernel, stride, expand, input, output)
    static let stages = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                         (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]

    static func roundFilters(_ filters: Int, _ width: Double) -> Int {
        let scaled = Double(filters) * width
        var rounded = max(8, Double(Int(scaled + 4) / 8) * 8)
        if rounded < 0.9 * scaled { rounded += 8 }
        return Int(rounded)
    }

    static func repeats(_ r: Int, _ depth: Double) -> Int { Int((depth * Double(r)).rounded(.up)) }

    static func blocks(_ c: EfficientNetConfig) -> [BlockArgs] {
        var out: [BlockArgs] = []
        for (s, st) in stages.enumerated() {
            let input = roundFilters(st.4, c.width), output = roundFilters(st.5, c.width)
            for i in 0..<repeats(st.0, c.depth) {
                out.append(BlockArgs(stage: s, index: i, kernel: st.1, stride: i == 0 ? st.2 : 1, expand: st.3,
                                     input: i == 0 ? input : output, output: output))
            }
        }
        return out
    }

    static func attentionBlockIndex(_ c: EfficientNetConfig) -> Int {
        (0..<3).reduce(0) { $0 + repeats(stages[$1].0, c.depth) } - 1
    }
}

// MARK: - Parameter list

/// One named tensor of the model: trainable (weights) or a buffer (running statistics).
struct NamedParameter {
    var name: String
    var value: Tensor
    var trainable: Bool
    /// Whether weight decay applies (conv/linear weights only).
    var decays: Bool
}

// MARK: - Network

/// A small EfficientNet trained by deepscope; `stateDict()` gives the tensors a detector bundle stores.
///
/// ```swift
/// var net = try TrainableNet(variant: "w0.25d0.25r96", head: .autoatt, outputs: 1, seed: 7)
/// let out = net.forward(g.input(batch), in: g, bound: net.bind(in: g), training: true)
/// ```
public final class TrainableNet {
    public let config: EfficientNetConfig
    public let head: NetHead
    public let outputs: Int
    /// Batch-norm running-average momentum (PyTorch convention: new = (1 − m)·old + m·batch).
    public var batchNormMomentum: Float = 0.1
    var parameters: [NamedParameter] = []
    private var index: [String: Int] = [:]
    let eps: Float = 1e-3

    struct Block {
        let path: String
        let kernel: Int, stride: Int, expand: Bool, skip: Bool
        let pads: (expand: Padding2D, depthwise: Padding2D)
    }
    private var blocks: [Block] = []
    private var stemPad = Padding2D.zero
    private(set) var attentionBlock = -1
    private(set) var levelBlocks: [Int] = []

    /// Builds the network with seeded random weights (Kaiming-normal convs, unit batch norms).
    /// - Parameters:
    ///   - variant: `wWdDrR` (or `b0`…): the trunk; R is also the input size the static padding is built for.
    ///   - outputs: classifier width (1 logit, K classes, or the embedding size).
    public init(variant: String, head: NetHead, outputs: Int, seed: UInt64) throws {
        config = try EfficientNetConfig(variant: variant)
        self.head = head
        self.outputs = outputs
        var rng = SeededGenerator(seed: seed)
        let p = "efficientnet."
        var size = config.resolution
        func same(_ k: Int, _ s: Int) -> Padding2D { .same(height: size, width: size, kernel: Size2D(k, k), stride: Size2D(s, s)) }
        func conv(_ name: String, _ out: Int, _ inPerGroup: Int, _ k: Int, bias: Bool = false) {
            // Kaiming normal on fan-in: keeps activations near unit scale through SiLU stacks.
            let std = (2.0 / Double(inPerGroup * k * k)).squareRoot()
            add(name + ".weight", Tensor(shape: [out, inPerGroup, k, k], data: (0..<(out * inPerGroup * k * k)).map { _ in Float(rng.normal() * std) }), decays: true)
            if bias { add(name + ".bias", Tensor(shape: [out]), decays: false) }
        }
        func bn(_ name: String, _ c: Int) {
            add(name + ".weight", Tensor(shape: [c], repeating: 1), decays: false)
            add(name + ".bias", Tensor(shape: [c]), decays: false)
            add(name + ".running_mean", Tensor(shape: [c]), trainable: false)
            add(name + ".running_var", Tensor(shape: [c], repeating: 1), trainable: false)
        }
        func linear(_ name: String, _ out: Int, _ inp: Int, bias: Bool = true) {
            let bound = 1 / Double(inp).squareRoot()
            add(name + ".weight", Tensor(shape: [out, inp], data: (0..<(out * inp)).map { _ in Float(rng.uniform(-bound...bound)) }), decays: true)
            if bias { add(name + ".bias", Tensor(shape: [out], data: (0..<out).map { _ in Float(rng.uniform(-bound...bound)) }), decays: false) }
        }

        // MARK: Trunk (key order follows efficientnet_pytorch's state_dict)
        let stem = Trunk.roundFilters(32, config.width)
        stemPad = same(3, 2)
        conv(p + "_conv_stem", stem, 3, 3)
        bn(p + "_bn0", stem)
        size = (size + 1) / 2
        let args = Trunk.blocks(config)
        let attentionIndex = Trunk.attentionBlockIndex(config)
        for (n, b) in args.enumerated() {
            let path = "\(p)_blocks.\(n)"
            let mid = b.input * b.expand
            let expandPad = same(1, 1)
            if b.expand != 1 { conv(path + "._expand_conv", mid, b.input, 1); bn(path + "._bn0", mid) }
            let dwPad = same(b.kernel, b.stride)
            conv(path + "._depthwise_conv", mid, 1, b.kernel)
            bn(path + "._bn1", mid)
            let squeezed = max(1, Int(Double(b.input) * 0.25))
            conv(path + "._se_reduce", squeezed, mid, 1, bias: true)
            conv(path + "._se_expand", mid, squeezed, 1, bias: true)
            conv(path + "._project_conv", b.output, mid, 1)
            bn(path + "._bn2", b.output)
            size = (size + b.stride - 1) / b.stride
            blocks.append(Block(path: path, kernel: b.kernel, stride: b.stride, expand: b.expand != 1,
                                skip: b.hasSkip && b.index != 0, pads: (expandPad, dwPad)))
            if head == .autoatt && n == attentionIndex {
                conv(p + "attconv", 1, b.output, 1, bias: true)
                attentionBlock = n
            }
        }
        let last = args.last?.output ?? stem
        conv(p + "_conv_head", Trunk.roundFilters(1280, config.width), last, 1)
        bn(p + "_bn1", Trunk.roundFilters(1280, config.width))

        // MARK: Heads
        switch head {
        case .autoatt, .softmax, .embedding:
            linear("classifier", outputs, Trunk.roundFilters(1280, config.width))
        case .ltpa:
            levelBlocks = [2, 4, 6].map { stage in args.lastIndex { $0.stage == stage }! }
            let channels = levelBlocks.map { args[$0].output }
            for (s, c) in channels.enumerated() { linear("projectors.\(s)", c, Trunk.roundFilters(1280, config.width), bias: false) }
            for (s, c) in channels.enumerated() { conv("attention.\(s)", 1, c, 1) }
            linear("classifier", outputs, channels.reduce(0, +))
        }
    }

    private func add(_ name: String, _ value: Tensor, trainable: Bool = true, decays: Bool = false) {
        index[name] = parameters.count
        parameters.append(NamedParameter(name: name, value: value, trainable: trainable, decays: decays))
    }

    // MARK: Access

    /// Every tensor under its PyTorch key, as a bundle stores it (running statistics included).
    public func stateDict() -> [(String, Tensor)] { parameters.map { ($0.name, $0.value) } }

    /// Replaces every tensor from a state dict (a checkpoint); shapes must match.
    public func load(_ tensors: [String: Tensor]) throws {
        for i in parameters.indices {
            guard let t = tensors[parameters[i].name] else {
                throw TrainingError.invalidOption("state lacks \(parameters[i].name)")
            }
            guard t.shape == parameters[i].value.shape else {
                throw TrainingError.invalidOption("\(parameters[i].name) has shape \(t.shape), expected \(parameters[i].value.shape)")
            }
            parameters[i].value = t
        }
    }

    /// Indices of the trainable tensors, in order (what the optimiser updates).
    var trainableIndices: [Int] { parameters.indices.filter { parameters[$0].trainable } }

    /// Graph variables for every tensor: parameters (differentiable) or constants for buffers.
    public func bind(in g: Graph) -> [Variable] {
        parameters.map { $0.trainable ? g.parameter($0.value) : g.constant($0.value) }
    }

    // MARK: Forward

    /// The forward pass. In training mode batch norms use the batch's statistics and update the running
    /// averages; otherwise they use the running averages as the loaded detector will.
    /// - Returns: N×outputs (logits or embedding).
    public func forward(_ x: Variable, in g: Graph, bound v: [Variable], training: Bool) -> Variable {
        func t(_ n: String) -> Variable { v[index[n]!] }
        func bnorm(_ y: Variable, _ n: String) -> Variable {
            guard training else {
                return g.batchNorm(y, weight: t(n + ".weight"), bias: t(n + ".bias"),
                                   runningMean: parameters[index[n + ".running_mean"]!].value,
                                   runningVar: parameters[index[n + ".running_var"]!].value, eps: eps)
            }
            let (out, mean, variance) = g.batchNormTraining(y, weight: t(n + ".weight"), bias: t(n + ".bias"), eps: eps)
            let m = batchNormMomentum
            for (key, batch) in [(n + ".running_mean", mean), (n + ".running_var", variance)] {
                let i = index[key]!
                for j in 0..<batch.count {
                    parameters[i].value.data[j] = (1 - m) * parameters[i].value.data[j] + m * batch.data[j]
                }
            }
            return out
        }
        func unit(_ y: Variable, _ conv: String, _ norm: String, stride: Int = 1, pad: Padding2D = .zero,
                  groups: Int = 1, silu: Bool = true) -> Variable {
            let z = bnorm(g.conv2d(y, weight: t(conv + ".weight"), stride: Size2D(stride, stride), padding: pad,
                                   groups: groups), norm)
            return silu ? g.silu(z) : z
        }
        let p = "efficientnet."
        var y = unit(x, p + "_conv_stem", p + "_bn0", stride: 2, pad: stemPad)
        var local: [Variable] = []
        for (n, b) in blocks.enumerated() {
            var z = y
            if b.expand { z = unit(z, b.path + "._expand_conv", b.path + "._bn0") }
            let mid = z.shape[1]
            z = unit(z, b.path + "._depthwise_conv", b.path + "._bn1", stride: b.stride, pad: b.pads.depthwise, groups: mid)
            let s = g.silu(g.conv2d(g.globalAvgPool(z), weight: t(b.path + "._se_reduce.weight"), bias: t(b.path + "._se_reduce.bias")))
            z = g.multiply(z, g.sigmoid(g.conv2d(s, weight: t(b.path + "._se_expand.weight"), bias: t(b.path + "._se_expand.bias"))))
            z = unit(z, b.path + "._project_conv", b.path + "._bn2", silu: false)
            if b.skip { z = g.add(z, y) }
            y = z
            if n == attentionBlock {
                let map = g.name(EfficientNet.attentionName,
                                 g.sigmoid(g.conv2d(y, weight: t(p + "attconv.weight"), bias: t(p + "attconv.bias"))))
                y = g.multiply(y, map)
            }
            if levelBlocks.contains(n) { local.append(y) }
        }
        y = unit(y, p + "_conv_head", p + "_bn1")
        let pooled = g.flatten(g.globalAvgPool(y))
        guard head == .ltpa else {
            return g.linear(pooled, weight: t("classifier.weight"), bias: t("classifier.bias"))
        }
        var attended: [Variable] = []
        for (s, l) in local.enumerated() {
            let (n, c, h, w) = (l.shape[0], l.shape[1], l.shape[2], l.shape[3])
            let projected = g.reshape(g.linear(pooled, weight: t("projectors.\(s).weight")), [n, c, 1, 1])
            let score = g.conv2d(g.add(l, projected), weight: t("attention.\(s).weight"))
            let a = g.reshape(g.softmax(g.reshape(score, [n, h * w]), axis: 1), [n, 1, h, w])
            attended.append(g.sum(g.multiply(l, a), axes: [2, 3], keepDims: false))
        }
        return g.linear(g.concat(attended, axis: 1), weight: t("classifier.weight"), bias: t("classifier.bias"))
    }
}
