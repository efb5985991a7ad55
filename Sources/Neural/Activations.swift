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
    /// Applies the activation to `count` floats in place. Each case is its own plain loop so it vectorises;
    /// comparisons are written so NaN passes through as in PyTorch.
    func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        switch self {
        case .identity: return
        case .relu: for i in 0..<count { let v = p[i]; p[i] = v < 0 ? 0 : v }
        case .relu6: for i in 0..<count { let v = p[i]; p[i] = v < 0 ? 0 : (v > 6 ? 6 : v) }
        case .silu: for i in 0..<count { let v = p[i]; p[i] = v / (1 + fastExp(-v)) }
        case .sigmoid: for i in 0..<count { p[i] = fastSigmoid(p[i]) }
        case .tanh: for i in 0..<count { p[i] = 2 / (1 + fastExp(-2 * p[i])) - 1 }
        case .leakyReLU(let a): for i in 0..<count { let v = p[i]; p[i] = v < 0 ? a * v : v }
        }
    }

    /// The activation of a whole tensor.
    func apply(_ x: Tensor) -> Tensor {
        guard self != .identity else { return x }
        // Out of place, a cache-sized piece at a time: copy, then activate while the piece is still in cache (x
        // stays alive in a recording graph, so an in-place copy-on-write would add a whole extra pass).
        return Tensor(shape: x.shape, unsafeUninitialized: { y in
            x.data.withUnsafeBufferPointer { xs in
                let (src, dst) = (xs.baseAddress!, y.baseAddress!)
                Engine.parallelChunks(xs.count, minimumPerThread: Engine.elementwiseChunk) { range in
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let n = min(8192, range.upperBound - start)
                        (dst + start).update(from: src + start, count: n)
                        apply(dst + start, n)
                        start += n
                    }
                }
            }
        })
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

// exp and sigmoid are written as straight-line scalar code that LLVM's loop vectoriser turns into SIMD; they live
// in this file because debug builds compile file by file and a call into another file is never inlined, which
// would leave every activation loop scalar. (Swift's SIMD8 types were tried first: rounding, clamping and int
// conversion on them compile to per-lane code, 18× slower.)

// MARK: - exp

/// e^x, accurate to about 1 float ulp on [−87, 87]: x = n·ln2 + r with |r| ≤ ln2/2, e^r by the Cephes expf
/// polynomial, 2^n built in the exponent bits. Round-to-nearest of x·log2(e) uses the 1.5·2²³ magic constant,
/// which keeps the whole function branch-free and vectorisable. Inputs are clamped to ±87.3 (no inf, no denormals).
@inline(__always)
func fastExp(_ x0: Float) -> Float {
    let x = x0 < -87.3 ? -87.3 : (x0 > 87.3 ? 87.3 : x0)
    let t = x * 1.442_695_04 + 12_582_912
    let n = t - 12_582_912
    // ln2 split in a part exact in float and a small correction, so r keeps full precision.
    var r = x - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p: Float = 1.987_569_150_0e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let er = p * (r * r) + r + 1
    let exponent = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
    return er * Float(bitPattern: UInt32(bitPattern: (exponent &+ 127) &<< 23))
}

/// 1 / (1 + e^−x).
@inline(__always)
func fastSigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

// MARK: - Backward kernels

extension Activation {
    /// d(in) = d(out) · f′, with f′ computed from `kept` (the output or the input, per `backwardUsesOutput`).
    func backward(_ grad: Tensor, kept: Tensor) -> Tensor {
        var dx = grad
        guard self != .identity else { return dx }
        dx.data.withUnsafeMutableBufferPointer { gradients in
            kept.data.withUnsafeBufferPointer { keptValues in
                // Elementwise: each worker owns a contiguous run, so the result does not depend on the threads.
                Engine.parallelChunks(gradients.count, minimumPerThread: Engine.elementwiseChunk) { range in
                    backward(gradients.baseAddress! + range.lowerBound, keptValues.baseAddress! + range.lowerBound,
                             range.count)
                }
            }
        }
        return dx
    }

    /// g ← g · f′, with f′ read from `k` (the kept input or output, as `backwardUsesOutput` says).
    private func backward(_ g: UnsafeMutablePointer<Float>, _ k: UnsafePointer<Float>, _ count: Int) {
        switch self {
        case .identity: break
        // PyTorch's threshold_backward: pass where the output is positive.
        case .relu: for i in 0..<count where !(k[i] > 0) { g[i] = 0 }
        // hardtanh_backward: pass strictly inside (0, 6) only.
        case .relu6: for i in 0..<count where !(k[i] > 0 && k[i] < 6) { g[i] = 0 }
        case .sigmoid: for i in 0..<count { g[i] *= k[i] * (1 - k[i]) }
        case .tanh: for i in 0..<count { g[i] *= 1 - k[i] * k[i] }
        case .leakyReLU(let a): for i in 0..<count where !(k[i] > 0) { g[i] *= a }
        case .silu:
            for i in 0..<count {
                let x = k[i], s = fastSigmoid(x)
                g[i] *= s * (1 + x * (1 - s))
            }
        }
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
        let y = timed("activation \(activation)") { activation.apply(x.tensor) }
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
