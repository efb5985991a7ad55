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
        case .silu: forEachVector(SiLUKernel.self, p, count)
        case .sigmoid: forEachVector(SigmoidKernel.self, p, count)
        case .tanh: forEachVector(TanhKernel.self, p, count)
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

// exp, sigmoid and SiLU run on explicit 16-lane vectors (one AVX-512 register, two AVX2 ones), with fused
// multiply-adds where the build targets a CPU that has them (`DEEPSCOPE_FMA`, set by Package.swift): LLVM's loop
// vectoriser gave 8 lanes, mul and add apart and no interleaving, 2.2× slower (0.58 → 0.27 ns per SiLU element).
// Clamping is written as compare-and-replace and the exponent as integer lanes, which compile to single vector
// instructions (Swift's `clamped` and float rounding on SIMD types do not: they compile per lane). These live
// in this file because debug builds compile file by file and a call into another file is never inlined.

typealias FloatVector = SIMD16<Float>

/// a · b + c, fused (one rounding) when the target has FMA, else a multiply then an add.
@inline(__always)
func mulAdd(_ a: FloatVector, _ b: FloatVector, _ c: FloatVector) -> FloatVector {
    #if DEEPSCOPE_FMA
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
}

/// A function of one vector. (Kernels are types rather than closures: a closure handed to the loop below was
/// called per vector, not inlined, and its 16-lane argument went through memory: 4× slower.)
protocol VectorKernel { static func map(_ v: FloatVector) -> FloatVector }

/// A function of two vectors (the gradient and the kept tensor).
protocol VectorKernel2 { static func map(_ g: FloatVector, _ k: FloatVector) -> FloatVector }

enum SiLUKernel: VectorKernel {
    @inline(__always) static func map(_ v: FloatVector) -> FloatVector { v / (1 + expVector(-v)) }
}

enum SigmoidKernel: VectorKernel {
    @inline(__always) static func map(_ v: FloatVector) -> FloatVector { 1 / (1 + expVector(-v)) }
}

enum TanhKernel: VectorKernel {
    @inline(__always) static func map(_ v: FloatVector) -> FloatVector { 2 / (1 + expVector(-2 * v)) - 1 }
}

/// g · SiLU′(x) = g · σ(x)(1 + x(1 − σ(x))).
enum SiLUBackwardKernel: VectorKernel2 {
    @inline(__always) static func map(_ g: FloatVector, _ x: FloatVector) -> FloatVector {
        let s = 1 / (1 + expVector(-x))
        return g * (s * (1 + x * (1 - s)))
    }
}

/// Applies `F` to `count` floats in place, 16 at a time; the last partial vector goes through a zero-padded
/// copy, so every element sees exactly the same operations wherever it sits.
@inline(__always)
func forEachVector<F: VectorKernel>(_ f: F.Type, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    let width = FloatVector.scalarCount
    var i = 0
    while i + width <= count {
        let raw = UnsafeMutableRawPointer(p + i)
        raw.storeBytes(of: F.map(raw.loadUnaligned(as: FloatVector.self)), as: FloatVector.self)
        i += width
    }
    guard i < count else { return }
    var tail = FloatVector()
    for j in 0..<(count - i) { tail[j] = p[i + j] }
    tail = F.map(tail)
    for j in 0..<(count - i) { p[i + j] = tail[j] }
}

/// g ← F(g, k) over `count` floats, 16 at a time, the same way.
@inline(__always)
func forEachVector<F: VectorKernel2>(_ f: F.Type, _ g: UnsafeMutablePointer<Float>, _ k: UnsafePointer<Float>,
                                     _ count: Int) {
    let width = FloatVector.scalarCount
    var i = 0
    while i + width <= count {
        let raw = UnsafeMutableRawPointer(g + i)
        raw.storeBytes(of: F.map(raw.loadUnaligned(as: FloatVector.self),
                             UnsafeRawPointer(k + i).loadUnaligned(as: FloatVector.self)), as: FloatVector.self)
        i += width
    }
    guard i < count else { return }
    var (gTail, kTail) = (FloatVector(), FloatVector())
    for j in 0..<(count - i) { gTail[j] = g[i + j]; kTail[j] = k[i + j] }
    gTail = F.map(gTail, kTail)
    for j in 0..<(count - i) { g[i + j] = gTail[j] }
}

// MARK: - exp

/// e^x on 16 lanes, accurate to about 1 float ulp on [−87, 87]: x = n·ln2 + r with |r| ≤ ln2/2, e^r by the
/// Cephes expf polynomial, 2^n built in the exponent bits. Round-to-nearest of x·log2(e) uses the 1.5·2²³ magic
/// constant (branch-free). Inputs are clamped to ±87.3 (no inf, no denormals); NaN passes through.
@inline(__always)
func expVector(_ x0: FloatVector) -> FloatVector {
    var x = x0.replacing(with: -87.3, where: x0 .< -87.3)
    x = x.replacing(with: 87.3, where: x .> 87.3)
    let magic = FloatVector(repeating: 12_582_912)
    let t = mulAdd(x, FloatVector(repeating: 1.442_695_04), magic)
    let n = t - magic
    // ln2 split in a part exact in float and a small correction, so r keeps full precision.
    var r = mulAdd(n, FloatVector(repeating: -0.693_359_375), x)
    r = mulAdd(n, FloatVector(repeating: 2.121_944_4e-4), r)
    var p = mulAdd(FloatVector(repeating: 1.987_569_150_0e-4), r, FloatVector(repeating: 1.398_199_950_7e-3))
    p = mulAdd(p, r, FloatVector(repeating: 8.333_451_907_3e-3))
    p = mulAdd(p, r, FloatVector(repeating: 4.166_579_589_4e-2))
    p = mulAdd(p, r, FloatVector(repeating: 1.666_666_545_9e-1))
    p = mulAdd(p, r, FloatVector(repeating: 5.000_000_120_1e-1))
    let er = mulAdd(p, r * r, r + 1)
    let exponent = unsafeBitCast(t, to: SIMD16<Int32>.self) &- (0x4B40_0000 - 127)
    return er * unsafeBitCast(exponent &<< 23, to: FloatVector.self)
}

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
            forEachVector(SiLUBackwardKernel.self, g, k, count)
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
