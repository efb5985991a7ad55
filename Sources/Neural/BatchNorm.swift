// BatchNorm: 2-D batch normalisation with running statistics (inference) and batch statistics (training),
// forward and backward, and folding into the preceding convolution.
//
// Letters: N batch, C channels, H×W space; M = N·H·W values per channel.
// Inference: y = (x − mean_c) · γ_c / √(var_c + eps) + β_c, a per-channel scale and shift.
// Kept for backward (inference): the input (for d γ) and the per-channel scale.
// Kept for backward (training): the normalised input x̂ and 1/√(σ²_batch + eps).

// MARK: - Inference

/// Per-channel scale γ/√(var+eps) and shift β − mean·scale.
func batchNormScaleShift(gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: Float)
    -> (scale: [Float], shift: [Float]) {
    let c = gamma.count
    precondition(beta.count == c && mean.count == c && variance.count == c,
                 "batchNorm: γ \(gamma.count), β \(beta.count), mean \(mean.count), var \(variance.count) differ")
    var scale = [Float](repeating: 0, count: c), shift = scale
    for i in 0..<c {
        let s = Double(gamma.data[i]) / (Double(variance.data[i]) + Double(eps)).squareRoot()
        scale[i] = Float(s)
        shift[i] = Float(Double(beta.data[i]) - Double(mean.data[i]) * s)
    }
    return (scale, shift)
}

/// y = x · scale_c + shift_c over an [N, C, …] tensor.
func channelAffine(_ x: Tensor, scale: [Float], shift: [Float]) -> Tensor {
    precondition(x.rank >= 2 && x.shape[1] == scale.count, "batchNorm: \(scale.count) channels for input \(x.shape)")
    let n = x.shape[0], c = x.shape[1], inner = x.count / max(n * c, 1)
    return Tensor(shape: x.shape, unsafeUninitialized: { y in
        x.data.withUnsafeBufferPointer { xs in
            let (src, dst) = (xs.baseAddress!, y.baseAddress!)
            Engine.parallelFor(n * c, minimumPerThread: max(1, 16_384 / max(inner, 1))) { plane in
                let a = scale[plane % c], b = shift[plane % c], from = src + plane * inner, to = dst + plane * inner
                for i in 0..<inner { to[i] = from[i] * a + b }
            }
        }
    })
}

/// Folds an inference batch norm into the convolution before it: returns W′ = W · scale_k and
/// b′ = (b − mean) · scale + β, so conv(x, W′, b′) = bn(conv(x, W, b)).
///
/// Folding removes the conv's own output: do not fold the batch norm after a layer whose raw conv output is an
/// explainer target (pytorch-grad-cam hooks `_conv_head`'s output, before `_bn1`).
///
/// - Parameters:
///   - convWeight: [K, C/groups, R, S]; `convBias`: [K] or nil (treated as zeros).
///   - gamma, beta, mean, variance: the batch norm's [K] weight, bias, running_mean, running_var.
/// ```swift
/// let (w, b) = foldBatchNorm(convWeight: w0, convBias: nil, gamma: g, beta: b, mean: m, var: v, eps: 1e-3)
/// ```
public func foldBatchNorm(convWeight: Tensor, convBias: Tensor?, gamma: Tensor, beta: Tensor, mean: Tensor,
                          `var` variance: Tensor, eps: Float) -> (weight: Tensor, bias: Tensor) {
    let k = convWeight.shape.first ?? 0
    precondition(gamma.count == k, "foldBatchNorm: \(gamma.count) batch-norm channels for conv weight \(convWeight.shape)")
    let per = convWeight.count / max(k, 1)
    var weight = convWeight
    var bias = [Float](repeating: 0, count: k)
    for i in 0..<k {
        let s = Double(gamma.data[i]) / (Double(variance.data[i]) + Double(eps)).squareRoot()
        for j in (i * per)..<((i + 1) * per) { weight.data[j] = Float(Double(weight.data[j]) * s) }
        let b0 = Double(convBias?.data[i] ?? 0)
        bias[i] = Float((b0 - Double(mean.data[i])) * s + Double(beta.data[i]))
    }
    return (weight, Tensor(shape: [k], data: bias))
}

// MARK: - Training statistics

/// Mean and biased variance per channel over N, H, W (Double accumulation), one channel per worker and a fixed
/// summation order: the statistics do not depend on the thread count.
func channelMeanVariance(_ x: Tensor) -> (mean: [Double], variance: [Double]) {
    let n = x.shape[0], c = x.shape[1], inner = x.count / max(n * c, 1), m = Double(n * inner)
    var mean = [Double](repeating: 0, count: c), variance = mean
    x.data.withUnsafeBufferPointer { p in
        mean.withUnsafeMutableBufferPointer { meanOut in
            variance.withUnsafeMutableBufferPointer { varianceOut in
                let (meanBase, varianceBase) = (meanOut.baseAddress!, varianceOut.baseAddress!)
                Engine.parallelFor(c, minimumPerThread: max(1, 16_384 / max(n * inner, 1))) { ch in
                    var s = 0.0
                    for b in 0..<n { s += blockedSum(p.baseAddress! + (b * c + ch) * inner, inner) }
                    let mu = s / m
                    var v = 0.0
                    for b in 0..<n { v += blockedSquaredDeviation(p.baseAddress! + (b * c + ch) * inner, inner, from: mu) }
                    meanBase[ch] = mu
                    varianceBase[ch] = v / m
                }
            }
        }
    }
    return (mean, variance)
}

// MARK: - Graph ops

extension Graph {
    /// Batch norm in inference mode (running statistics), as PyTorch's `BatchNorm2d.eval()`.
    ///
    /// Gradients flow to x, γ and β; the running statistics are constants.
    public func batchNorm(_ x: Variable, weight gamma: Variable, bias beta: Variable, runningMean: Tensor,
                          runningVar: Tensor, eps: Float = 1e-5) -> Variable {
        let (scale, shift) = batchNormScaleShift(gamma: gamma.tensor, beta: beta.tensor, mean: runningMean,
                                                 variance: runningVar, eps: eps)
        let y = channelAffine(x.tensor, scale: scale, shift: shift)
        let xt = x.tensor
        return record(y, inputs: [x, gamma, beta]) { g, wanted in
            let dx = wanted[0] ? channelAffine(g, scale: scale, shift: [Float](repeating: 0, count: scale.count)) : nil
            var dgamma: Tensor? = nil
            if wanted[1] {
                // d γ_c = Σ dy · x̂, x̂ = (x − mean) / √(var + eps) rebuilt from the kept input.
                let inv = runningVar.data.map { 1 / (Double($0) + Double(eps)).squareRoot() }
                let xhat = channelAffine(xt, scale: inv.map(Float.init),
                                         shift: inv.indices.map { Float(-Double(runningMean.data[$0]) * inv[$0]) })
                dgamma = channelSums(broadcastForward(g, xhat, .multiply).reshaped(Self.nchwShape(g.shape)))
            }
            let dbeta = wanted[2] ? channelSums(g.reshaped(Self.nchwShape(g.shape))) : nil
            return [dx, dgamma, dbeta]
        }
    }

    /// Batch norm in training mode: normalises with the batch's own statistics.
    ///
    /// - Returns: the output, and the batch mean and unbiased variance for the caller's running-average update
    ///   (PyTorch: running = (1 − momentum) · running + momentum · batch).
    public func batchNormTraining(_ x: Variable, weight gamma: Variable, bias beta: Variable, eps: Float = 1e-5)
        -> (output: Variable, mean: Tensor, variance: Tensor) {
        let c = x.shape[1], m = x.count / c
        let (mean, variance) = channelMeanVariance(x.tensor)
        let invStd = variance.map { 1 / ($0 + Double(eps)).squareRoot() }
        let xhat = channelAffine(x.tensor, scale: invStd.map(Float.init),
                                 shift: (0..<c).map { Float(-mean[$0] * invStd[$0]) })
        let y = channelAffine(xhat, scale: gamma.tensor.data, shift: beta.tensor.data)
        let gammaValues = gamma.tensor.data
        let out = record(y, inputs: [x, gamma, beta]) { g, wanted in
            let g4 = g.reshaped(Self.nchwShape(g.shape)), xhat4 = xhat.reshaped(Self.nchwShape(xhat.shape))
            let sumDy = channelSums(g4)
            let sumDyXhat = channelDots(g4, xhat4)
            var dx: Tensor? = nil
            if wanted[0] {
                // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)), per channel; planes are independent.
                let n = g.shape[0], inner = g.count / max(n * c, 1)
                dx = Tensor(shape: g.shape, unsafeUninitialized: { dp in
                    g.data.withUnsafeBufferPointer { gp in
                        xhat.data.withUnsafeBufferPointer { xp in
                            let (dst, dy, xh) = (dp.baseAddress!, gp.baseAddress!, xp.baseAddress!)
                            Engine.parallelFor(n * c, minimumPerThread: max(1, 16_384 / max(inner, 1))) { plane in
                                let ch = plane % c
                                let k = Float(Double(gammaValues[ch]) * invStd[ch])
                                let a = sumDy.data[ch] / Float(m), bb = sumDyXhat.data[ch] / Float(m)
                                let base = plane * inner
                                for i in base..<(base + inner) { dst[i] = k * (dy[i] - a - xh[i] * bb) }
                            }
                        }
                    }
                })
            }
            return [dx, wanted[1] ? sumDyXhat : nil, wanted[2] ? sumDy : nil]
        }
        let unbiased = variance.map { m > 1 ? $0 * Double(m) / Double(m - 1) : $0 }
        return (out, Tensor(shape: [c], data: mean.map(Float.init)), Tensor(shape: [c], data: unbiased.map(Float.init)))
    }

    /// [N, C, …] viewed as [N, C, rest, 1] so per-channel reductions see an NCHW tensor.
    static func nchwShape(_ shape: [Int]) -> [Int] {
        [shape[0], shape[1], shape.dropFirst(2).reduce(1, *), 1]
    }
}
