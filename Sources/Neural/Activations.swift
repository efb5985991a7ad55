// Activations: pointwise nonlinearities (ReLU, ReLU6, leaky ReLU, PReLU, SiLU, sigmoid, tanh), forward and backward.
//
// Letters: any shape; PReLU's weight has one value per channel C (axis 1) or a single value.
// Kept for backward: the output for ReLU, ReLU6, sigmoid and tanh (their derivative is a function of it);
// the input for SiLU, leaky ReLU and PReLU.
import Foundation

// MARK: - Activation

/// A pointwise activation that can be fused into the epilogue of conv2d and linear.
public enum Activation: Sendable, Equatable {
    case identity, relu, relu6, silu, sigmoid, tanh
    case leakyReLU(Float)
}

// MARK: - Forward kernels

extension Activation {
    /// Applies the activation to `count` floats in place.
    func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        switch self {
        case .identity: return
        case .relu: mapInPlace(p, count) { $0.replacing(with: 0, where: $0 .< 0) }
        case .relu6: mapInPlace(p, count) { $0.clamped(lowerBound: .zero, upperBound: SIMD8(repeating: 6)) }
        case .silu: mapInPlace(p, count) { $0 * fastSigmoid($0) }
        case .sigmoid: mapInPlace(p, count) { fastSigmoid($0) }
        case .tanh: mapInPlace(p, count) { 2 * fastSigmoid(2 * $0) - 1 }
        case .leakyReLU(let a): mapInPlace(p, count) { $0.replacing(with: $0 * a, where: $0 .< 0) }
        }
    }

    /// The activation of a whole tensor.
    func apply(_ x: Tensor) -> Tensor {
        var y = x
        y.data.withUnsafeMutableBufferPointer { apply($0.baseAddress!, $0.count) }
        return y
    }

    /// A scalar reference, for tests of the vectorised kernels.
    func naive(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return max(x, 0)
        case .relu6: return min(max(x, 0), 6)
        case .silu: return Float(Double(x) / (1 + Foundation.exp(-Double(x))))
        case .sigmoid: return Float(1 / (1 + Foundation.exp(-Double(x))))
        case .tanh: return Float(Foundation.tanh(Double(x)))
        case .leakyReLU(let a): return x > 0 ? x : a * x
        }
    }

    /// Whether the backward is computed from the output (else from the input).
    var backwardUsesOutput: Bool {
        switch self {
        case .relu, .relu6, .sigmoid, .tanh, .identity: return true
        case .silu, .leakyReLU: return false
        }
    }
}

// MARK: - Backward kernels

extension Activation {
    /// d(in) = d(out) · f′, with f′ computed from `kept` (the output or the input, per `backwardUsesOutput`).
    func backward(_ grad: Tensor, kept: Tensor) -> Tensor {
        var dx = grad
        dx.data.withUnsafeMutableBufferPointer { g in
            kept.data.withUnsafeBufferPointer { k in
                switch self {
                case .identity: break
                // PyTorch's threshold_backward: pass where the output is positive.
                case .relu: for i in 0..<g.count where !(k[i] > 0) { g[i] = 0 }
                // hardtanh_backward: pass strictly inside (0, 6) only.
                case .relu6: for i in 0..<g.count where !(k[i] > 0 && k[i] < 6) { g[i] = 0 }
                case .sigmoid: for i in 0..<g.count { g[i] *= k[i] * (1 - k[i]) }
                case .tanh: for i in 0..<g.count { g[i] *= 1 - k[i] * k[i] }
                case .leakyReLU(let a): for i in 0..<g.count where !(k[i] > 0) { g[i] *= a }
                case .silu:
                    var i = 0
                    let raw = UnsafeRawPointer(k.baseAddress!), graw = UnsafeMutableRawPointer(g.baseAddress!)
                    while i + 8 <= g.count {
                        let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        let s = fastSigmoid(x)
                        let d = graw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        graw.storeBytes(of: d * s * (1 + x * (1 - s)), toByteOffset: i * 4, as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < g.count {
                        let s = 1 / (1 + Foundation.exp(-k[i]))
                        g[i] *= s * (1 + k[i] * (1 - s))
                        i += 1
                    }
                }
            }
        }
        return dx
    }
}

// MARK: - PReLU

/// y = x for x > 0, else a_c · x, with one slope per channel (axis 1) or one shared slope.
func preluForward(_ x: Tensor, _ a: Tensor) -> Tensor {
    let (outer, c, inner) = preluSplit(x.shape, a.count)
    var y = x
    y.data.withUnsafeMutableBufferPointer { yp in
        a.data.withUnsafeBufferPointer { ap in
            for o in 0..<outer {
                for ch in 0..<c {
                    let slope = ap[a.count == 1 ? 0 : ch], base = (o * c + ch) * inner
                    for i in base..<(base + inner) where yp[i] < 0 { yp[i] *= slope }
                }
            }
        }
    }
    return y
}

/// d(in) and d(slope) of PReLU from d(out) and the kept input; d(slope) only when asked.
func preluBackward(_ grad: Tensor, x: Tensor, a: Tensor, wantSlope: Bool) -> (Tensor, Tensor?) {
    let (outer, c, inner) = preluSplit(x.shape, a.count)
    var dx = grad
    var da = [Double](repeating: 0, count: a.count)
    dx.data.withUnsafeMutableBufferPointer { g in
        x.data.withUnsafeBufferPointer { xp in
            for o in 0..<outer {
                for ch in 0..<c {
                    let ai = a.count == 1 ? 0 : ch, slope = a.data[ai], base = (o * c + ch) * inner
                    var acc = 0.0
                    for i in base..<(base + inner) where !(xp[i] > 0) {
                        acc += Double(g[i] * xp[i])
                        g[i] *= slope
                    }
                    da[ai] += acc
                }
            }
        }
    }
    return (dx, wantSlope ? Tensor(shape: a.shape, data: da.map(Float.init)) : nil)
}

private func preluSplit(_ shape: [Int], _ slopes: Int) -> (Int, Int, Int) {
    guard slopes > 1 else { return (1, 1, shape.reduce(1, *)) }
    precondition(shape.count >= 2 && shape[1] == slopes, "prelu: \(slopes) slopes for input \(shape)")
    return (shape[0], shape[1], shape.dropFirst(2).reduce(1, *))
}

// MARK: - Graph ops

extension Graph {
    /// Applies `activation` pointwise.
    public func activate(_ x: Variable, _ activation: Activation) -> Variable {
        if activation == .identity { return x }
        let y = activation.apply(x.tensor)
        let kept = activation.backwardUsesOutput ? y : x.tensor
        return record(y, inputs: [x]) { g, _ in [activation.backward(g, kept: kept)] }
    }

    public func relu(_ x: Variable) -> Variable { activate(x, .relu) }
    public func relu6(_ x: Variable) -> Variable { activate(x, .relu6) }
    /// SiLU, a.k.a. swish: x · σ(x).
    public func silu(_ x: Variable) -> Variable { activate(x, .silu) }
    public func sigmoid(_ x: Variable) -> Variable { activate(x, .sigmoid) }
    public func tanh(_ x: Variable) -> Variable { activate(x, .tanh) }
    public func leakyReLU(_ x: Variable, slope: Float = 0.01) -> Variable { activate(x, .leakyReLU(slope)) }

    /// PReLU with `weight` holding one slope per channel (axis 1) or a single slope.
    public func prelu(_ x: Variable, weight: Variable) -> Variable {
        let y = preluForward(x.tensor, weight.tensor)
        let xt = x.tensor, a = weight.tensor
        return record(y, inputs: [x, weight]) { g, wanted in
            let (dx, da) = preluBackward(g, x: xt, a: a, wantSlope: wanted[1])
            return [dx, da]
        }
    }
}
