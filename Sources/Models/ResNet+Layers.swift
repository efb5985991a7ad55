// Layer building blocks shared by the ResNet, Xception, Meso and MTCNN networks: each binds its PyTorch keys
// through a `ParameterBinder` and runs itself in a `Graph`.
import Neural

// MARK: - Binding with key order

/// A `StateDictBinder` that also remembers the keys taken, in the order the architecture asks for them
/// (which is PyTorch's `state_dict()` order when layers are bound in module-registration order).
final class ParameterBinder {
    let binder: StateDictBinder
    private(set) var keys: [String] = []
    private let tensors: [String: Tensor]

    init(_ pairs: [(String, Tensor)], architecture: String) {
        binder = StateDictBinder(pairs, architecture: architecture)
        var dict: [String: Tensor] = [:]
        for (k, v) in pairs { dict[k] = v }
        tensors = dict
    }

    func take(_ key: String, shape: [Int]) -> Tensor {
        keys.append(key)
        return binder.take(key, shape: shape)
    }

    func has(_ key: String) -> Bool { binder.has(key) }

    /// The size of dimension `axis` of `key` in the checkpoint, or `fallback` when the key is absent; used to
    /// read widths (narrowed test models, head sizes) before binding checks every shape.
    func dimension(_ key: String, _ axis: Int, or fallback: Int) -> Int {
        guard let t = tensors[key], axis < t.rank else { return fallback }
        return t.shape[axis]
    }

    func finish() throws { try binder.finish() }
}

// MARK: - Convolution

/// `nn.Conv2d` with its hyper-parameters.
struct Conv2dLayer: Sendable {
    let weight: Tensor
    let bias: Tensor?
    let stride: Size2D
    let padding: Padding2D
    let dilation: Size2D
    let groups: Int

    init(_ b: ParameterBinder, _ prefix: String, in cin: Int, out cout: Int, kernel: Int, stride: Int = 1,
         padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool) {
        weight = b.take(prefix + ".weight", shape: [cout, cin / groups, kernel, kernel])
        self.bias = bias ? b.take(prefix + ".bias", shape: [cout]) : nil
        self.stride = Size2D(stride, stride)
        self.padding = Padding2D(padding, padding)
        self.dilation = Size2D(dilation, dilation)
        self.groups = groups
    }

    /// - Parameter inputActivation: applied to x first (fused into depthwise kernels in plain inference).
    func callAsFunction(_ x: Variable, in g: Graph, activation: Activation = .identity,
                        inputActivation: Activation = .identity) -> Variable {
        g.conv2d(x, weight: g.constant(weight), bias: bias.map(g.constant), stride: stride, padding: padding,
                 dilation: dilation, groups: groups, activation: activation, inputActivation: inputActivation)
    }
}

// MARK: - Batch norm

/// `nn.BatchNorm2d` in eval mode (running statistics, eps 1e-5 as PyTorch's default).
struct BatchNorm2dLayer: Sendable {
    let weight: Tensor
    let bias: Tensor
    let runningMean: Tensor
    let runningVar: Tensor
    let eps: Float

    init(_ b: ParameterBinder, _ prefix: String, channels: Int, eps: Float = 1e-5) {
        weight = b.take(prefix + ".weight", shape: [channels])
        bias = b.take(prefix + ".bias", shape: [channels])
        runningMean = b.take(prefix + ".running_mean", shape: [channels])
        runningVar = b.take(prefix + ".running_var", shape: [channels])
        self.eps = eps
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        g.batchNorm(x, weight: g.constant(weight), bias: g.constant(bias), runningMean: runningMean,
                    runningVar: runningVar, eps: eps)
    }
}

// MARK: - Conv + batch norm

/// A `Conv2dLayer` followed by its `BatchNorm2dLayer`, with the norm also folded into the conv's weights.
///
/// Plain inference runs the folded conv with the activation fused in its epilogue: one pass over the output
/// instead of three. A recording graph runs conv → BN → activation separately, so gradients flow through the
/// same ops as PyTorch's. Only for pairs whose conv and BN outputs are never named (captured).
/// 3×3 stride-1 convs keep the folded weights as their Winograd transform (made once here), which is all
/// inference needs of them.
struct ConvBN: Sendable {
    let conv: Conv2dLayer
    let norm: BatchNorm2dLayer
    /// The folded conv: a Winograd filter (3×3 stride 1), packed weights (other convs with one group) or plain.
    private enum Folded: Sendable {
        case plain(Tensor)
        case packed(PackedWeights)
        case winograd(WinogradFilter)
    }
    private let folded: Folded
    private let foldedBias: Tensor

    init(_ conv: Conv2dLayer, _ norm: BatchNorm2dLayer) {
        self.conv = conv
        self.norm = norm
        let (weight, bias) = foldBatchNorm(convWeight: conv.weight, convBias: conv.bias, gamma: norm.weight,
                                           beta: norm.bias, mean: norm.runningMean, var: norm.runningVar, eps: norm.eps)
        let winograd = WinogradFilter.applies(kernel: Size2D(weight.shape[2], weight.shape[3]), stride: conv.stride,
                                              dilation: conv.dilation, groups: conv.groups, padding: conv.padding)
        let packs = conv.groups == 1 && conv.dilation == Size2D(1, 1)
        folded = winograd ? .winograd(WinogradFilter(weight: weight)) : packs ? .packed(PackedWeights(weight)) : .plain(weight)
        foldedBias = bias
    }

    /// activation(bn(conv(x)) + residual), the residual (a shortcut) added in the conv's epilogue in inference.
    func callAsFunction(_ x: Variable, in g: Graph, activation: Activation = .identity,
                        residual: Variable? = nil) -> Variable {
        guard g.isRecording else {
            switch folded {
            case .winograd(let filter):
                return g.conv2d(x, winograd: filter, bias: Variable(foldedBias), padding: conv.padding,
                                activation: activation, residual: residual)
            case .packed(let packed):
                return g.conv2d(x, packed: packed, bias: Variable(foldedBias), stride: conv.stride,
                                padding: conv.padding, activation: activation, residual: residual)
            case .plain(let weight):
                return g.conv2d(x, weight: Variable(weight), bias: Variable(foldedBias), stride: conv.stride,
                                padding: conv.padding, dilation: conv.dilation, groups: conv.groups,
                                activation: activation, residual: residual)
            }
        }
        var y = norm(conv(x, in: g), in: g)
        if let residual { y = g.add(y, residual) }
        return activation == .identity ? y : g.activate(y, activation)
    }
}

// MARK: - Linear and PReLU

/// `nn.Linear`.
struct LinearLayer: Sendable {
    let weight: Tensor
    let bias: Tensor?

    init(_ b: ParameterBinder, _ prefix: String, in cin: Int, out cout: Int, bias: Bool = true) {
        weight = b.take(prefix + ".weight", shape: [cout, cin])
        self.bias = bias ? b.take(prefix + ".bias", shape: [cout]) : nil
    }

    var outputs: Int { weight.shape[0] }

    func callAsFunction(_ x: Variable, in g: Graph, activation: Activation = .identity) -> Variable {
        g.linear(x, weight: g.constant(weight), bias: bias.map(g.constant), activation: activation)
    }
}

/// `nn.PReLU(channels)`: one slope per channel.
struct PReLULayer: Sendable {
    let weight: Tensor

    init(_ b: ParameterBinder, _ prefix: String, channels: Int) {
        weight = b.take(prefix + ".weight", shape: [channels])
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable { g.prelu(x, weight: g.constant(weight)) }
}
