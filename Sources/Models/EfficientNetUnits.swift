// EfficientNetUnits: conv + batch-norm units (folded for plain inference, exact module outputs when recording),
// squeeze-excite, and the ordered key collector the EfficientNet binding uses.
import Neural

// MARK: - Key collection

/// Wraps `StateDictBinder`, remembering keys in the order they are asked for (`parameterKeys`).
final class KeyCollector {
    let binder: StateDictBinder
    private(set) var keys: [String] = []
    private(set) var shapes: [[Int]] = []

    init(_ binder: StateDictBinder) { self.binder = binder }

    func take(_ key: String, _ shape: [Int]) -> Tensor {
        keys.append(key)
        shapes.append(shape)
        return binder.take(key, shape: shape)
    }
}

// MARK: - Batch norm

/// An inference BatchNorm2d's tensors, under its module path.
struct BatchNormParams: Sendable {
    let path: String
    let gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor
    let eps: Float

    init(path: String, channels c: Int, eps: Float, keys: KeyCollector) {
        self.path = path
        gamma = keys.take(path + ".weight", [c])
        beta = keys.take(path + ".bias", [c])
        mean = keys.take(path + ".running_mean", [c])
        variance = keys.take(path + ".running_var", [c])
        self.eps = eps
    }
}

// MARK: - Conv unit

/// A Conv2d, optionally followed by its BatchNorm and an activation.
///
/// Plain inference runs one conv with the batch norm folded in and the activation fused. When the graph
/// records (GradCAM) or captures this unit's conv or BN by name, it runs conv → BN → activation separately so
/// that the named module outputs are exactly PyTorch's (folding would change the conv's own output).
struct ConvUnit: Sendable {
    let path: String
    let weight: Tensor
    let bias: Tensor?
    let kernel: Int, stride: Int, groups: Int
    let padding: PaddingRule
    let norm: BatchNormParams?
    /// timm's BatchNormAct2d applies the activation inside the BN module, so its named output is after it.
    let normIncludesActivation: Bool
    /// The folded weights, plain or (expand convs) packed, and the folded bias.
    private enum FoldedWeights: Sendable {
        case plain(Tensor)
        case packed(PackedWeights)
    }
    private let folded: (weights: FoldedWeights, bias: Tensor)?

    init(path: String, input: Int, output: Int, kernel: Int, stride: Int = 1, groups: Int = 1, bias: Bool,
         padding: PaddingRule, norm normPath: String?, eps: Float, normIncludesActivation: Bool = false,
         packed: Bool = false, keys: KeyCollector) {
        self.path = path
        self.kernel = kernel; self.stride = stride; self.groups = groups; self.padding = padding
        let w = keys.take(path + ".weight", [output, input / groups, kernel, kernel])
        let b = bias ? keys.take(path + ".bias", [output]) : nil
        let bn = normPath.map { BatchNormParams(path: $0, channels: output, eps: eps, keys: keys) }
        weight = w; self.bias = b; norm = bn
        self.normIncludesActivation = normIncludesActivation
        // Convs with one group keep their folded weights packed (see `PackedWeights`; a squeeze-excite gate scales
        // the packed weights per call, or the input where that is smaller). `packed: false` keeps them plain.
        folded = bn.map {
            let (weight, bias) = foldBatchNorm(convWeight: w, convBias: b, gamma: $0.gamma, beta: $0.beta,
                                               mean: $0.mean, var: $0.variance, eps: $0.eps)
            return (packed && groups == 1 ? .packed(PackedWeights(weight)) : .plain(weight), bias)
        }
    }

    /// Whether this unit must produce PyTorch's exact module outputs in `g` (no folding, no fusion).
    func isExact(in g: Graph) -> Bool {
        g.isRecording || g.captured.contains(path) || norm.map { g.captured.contains($0.path) } == true
    }

    /// The unit's output; `inputScale` ([N, C, 1, 1], e.g. a squeeze-excite gate) multiplies the input's
    /// channels first and is folded into the weights when the unit is not exact. `residual` (the block's skip,
    /// for units without an activation) is added to the output, in the conv's epilogue when the unit is not exact.
    func callAsFunction(_ x: Variable, in g: Graph, activation: Activation = .identity,
                        inputScale: Variable? = nil, residual: Variable? = nil) -> Variable {
        precondition(residual == nil || activation == .identity, "ConvUnit \(path): a residual needs no activation")
        let pad = padding.resolve(height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride)
        if let folded, !isExact(in: g) {
            switch folded.weights {
            case .plain(let weight):
                return g.conv2d(x, weight: Variable(weight), bias: Variable(folded.bias), stride: Size2D(stride, stride),
                                padding: pad, groups: groups, activation: activation, inputScale: inputScale,
                                residual: residual)
            case .packed(let packed):
                let pointwise = kernel == 1 && stride == 1 && pad == .zero
                let x = inputScale.map { pointwise ? x : g.multiply(x, $0) } ?? x
                return g.conv2d(x, packed: packed, bias: Variable(folded.bias), stride: Size2D(stride, stride),
                                padding: pad, activation: activation, inputScale: pointwise ? inputScale : nil,
                                residual: residual)
            }
        }
        // Exact: the unit's own module outputs, then the residual.
        let y = exactOutput(x, in: g, pad: pad, activation: activation, inputScale: inputScale)
        return residual.map { g.add(y, $0) } ?? y
    }

    /// conv → BN → activation as separate ops, naming the conv's and the BN's outputs by their module paths.
    private func exactOutput(_ x: Variable, in g: Graph, pad: Padding2D, activation: Activation,
                             inputScale: Variable?) -> Variable {
        let x = inputScale.map { g.multiply(x, $0) } ?? x
        guard let norm else {
            let y = g.name(path, g.conv2d(x, weight: g.constant(weight), bias: bias.map { g.constant($0) },
                                          stride: Size2D(stride, stride), padding: pad, groups: groups))
            return activation == .identity ? y : g.activate(y, activation)
        }
        var y = g.name(path, g.conv2d(x, weight: g.constant(weight), bias: bias.map { g.constant($0) },
                                      stride: Size2D(stride, stride), padding: pad, groups: groups))
        y = g.batchNorm(y, weight: g.constant(norm.gamma), bias: g.constant(norm.beta), runningMean: norm.mean,
                        runningVar: norm.variance, eps: norm.eps)
        if normIncludesActivation {
            if activation != .identity { y = g.activate(y, activation) }
            return g.name(norm.path, y)
        }
        y = g.name(norm.path, y)
        return activation == .identity ? y : g.activate(y, activation)
    }
}

// MARK: - Squeeze-excite

/// x · σ(expand(silu(reduce(mean_hw(x))))): both code bases compute the same gate, under different names.
struct SqueezeExcite: Sendable {
    let reduce: ConvUnit
    let expand: ConvUnit

    init(reducePath: String, expandPath: String, channels: Int, squeezed: Int, keys: KeyCollector) {
        reduce = ConvUnit(path: reducePath, input: channels, output: squeezed, kernel: 1, bias: true,
                          padding: .fixed(.zero), norm: nil, eps: 0, keys: keys)
        expand = ConvUnit(path: expandPath, input: squeezed, output: channels, kernel: 1, bias: true,
                          padding: .fixed(.zero), norm: nil, eps: 0, keys: keys)
    }

    func callAsFunction(_ x: Variable, in g: Graph) -> Variable {
        g.multiply(x, gate(x, in: g))
    }

    /// σ(expand(silu(reduce(mean_hw(x))))), [N, C, 1, 1]: the factors the block's input is scaled by.
    func gate(_ x: Variable, in g: Graph) -> Variable {
        expand(reduce(g.globalAvgPool(x), in: g, activation: .silu), in: g, activation: .sigmoid)
    }
}
