// Resize: bilinear and nearest resampling of NCHW tensors with `F.interpolate`'s exact coordinate rules.
//
// Letters: N batch, C channels, H×W input, P×Q output.
// Kept for backward: nothing; the sampling taps are recomputed from the sizes.

// MARK: - Coordinate rules

/// How `F.interpolate` maps an output index to an input coordinate along one axis.
struct AxisSampler {
    var input: Int, output: Int
    var scale: Float
    var alignCorners: Bool

    /// `scaleFactor` is the user's scale_factor when one was given (PyTorch then uses 1/scale_factor, not
    /// input/output, unless recompute_scale_factor is set).
    init(input: Int, output: Int, alignCorners: Bool, scaleFactor: Double?) {
        self.input = input; self.output = output; self.alignCorners = alignCorners
        // Float division as PyTorch's CPU kernel does (opmath of float is float); 1/factor is taken in double.
        if alignCorners {
            scale = output > 1 ? Float(input - 1) / Float(output - 1) : 0
        } else if let scaleFactor, scaleFactor > 0 {
            scale = Float(1 / scaleFactor)
        } else {
            scale = Float(input) / Float(output)
        }
    }

    /// The two taps and their weights for bilinear output index `o`.
    func linearTaps(_ o: Int) -> (Int, Int, Float, Float) {
        var src: Float = alignCorners ? scale * Float(o) : scale * (Float(o) + 0.5) - 0.5
        if !alignCorners && src < 0 { src = 0 }
        let i0 = min(Int(src), input - 1)
        let i1 = i0 + (i0 < input - 1 ? 1 : 0)
        let l1 = src - Float(i0)
        return (i0, i1, 1 - l1, l1)
    }

    /// The tap for nearest output index `o` (PyTorch's legacy 'nearest': floor(o · scale)).
    func nearestTap(_ o: Int) -> Int {
        min(Int((Float(o) * scale).rounded(.down)), input - 1)
    }
}

public enum ResizeMode: Sendable, Equatable { case bilinear, nearest }

// MARK: - Forward

func resizeForward(_ x: Tensor, _ ys: AxisSampler, _ xs: AxisSampler, mode: ResizeMode) -> Tensor {
    let (n, c, h, w) = x.nchw, (p, q) = (ys.output, xs.output)
    var y = Tensor(shape: [n, c, p, q]) { _ in }
    let rowTaps = (0..<p).map(ys.linearTaps), colTaps = (0..<q).map(xs.linearTaps)
    let rowNear = (0..<p).map(ys.nearestTap), colNear = (0..<q).map(xs.nearestTap)
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            let yb = yp.baseAddress!, xb = xp.baseAddress!
            Engine.parallelFor(n * c, minimumPerThread: max(1, 4096 / max(p * q, 1))) { plane in
                let src = xb + plane * h * w, dst = yb + plane * p * q
                for oy in 0..<p {
                    if mode == .nearest {
                        for ox in 0..<q { dst[oy * q + ox] = src[rowNear[oy] * w + colNear[ox]] }
                        continue
                    }
                    let (y0, y1, wy0, wy1) = rowTaps[oy]
                    for ox in 0..<q {
                        let (x0, x1, wx0, wx1) = colTaps[ox]
                        dst[oy * q + ox] = wy0 * (wx0 * src[y0 * w + x0] + wx1 * src[y0 * w + x1])
                            + wy1 * (wx0 * src[y1 * w + x0] + wx1 * src[y1 * w + x1])
                    }
                }
            }
        }
    }
    return y
}

// MARK: - Backward

func resizeBackward(_ dy: Tensor, inputShape: [Int], _ ys: AxisSampler, _ xs: AxisSampler, mode: ResizeMode) -> Tensor {
    let (h, w, p, q) = (inputShape[2], inputShape[3], ys.output, xs.output)
    var dx = Tensor(shape: inputShape)
    dx.data.withUnsafeMutableBufferPointer { d in
        dy.data.withUnsafeBufferPointer { g in
            for plane in 0..<(inputShape[0] * inputShape[1]) {
                let dst = d.baseAddress! + plane * h * w, src = g.baseAddress! + plane * p * q
                for oy in 0..<p {
                    for ox in 0..<q {
                        let v = src[oy * q + ox]
                        if mode == .nearest {
                            dst[ys.nearestTap(oy) * w + xs.nearestTap(ox)] += v
                            continue
                        }
                        let (y0, y1, wy0, wy1) = ys.linearTaps(oy), (x0, x1, wx0, wx1) = xs.linearTaps(ox)
                        dst[y0 * w + x0] += wy0 * wx0 * v
                        dst[y0 * w + x1] += wy0 * wx1 * v
                        dst[y1 * w + x0] += wy1 * wx0 * v
                        dst[y1 * w + x1] += wy1 * wx1 * v
                    }
                }
            }
        }
    }
    return dx
}

// MARK: - Graph op

extension Graph {
    /// Resizes H×W as `F.interpolate(x, size:, mode:, align_corners:)`.
    public func resize(_ x: Variable, to size: Size2D, mode: ResizeMode = .bilinear, alignCorners: Bool = false) -> Variable {
        let s = x.shape
        precondition(s.count == 4, "resize: input must be NCHW, got \(s)")
        precondition(size.h > 0 && size.w > 0, "resize: output size \(size) must be positive")
        return resize(x, AxisSampler(input: s[2], output: size.h, alignCorners: alignCorners, scaleFactor: nil),
                      AxisSampler(input: s[3], output: size.w, alignCorners: alignCorners, scaleFactor: nil), mode)
    }

    /// Resizes H×W as `F.interpolate(x, scale_factor:, mode:, align_corners:)`: the output is
    /// ⌊input · factor⌋ and, without align_corners, sampling uses 1/factor as PyTorch does.
    public func resize(_ x: Variable, scaleFactor: Double, mode: ResizeMode = .bilinear,
                       alignCorners: Bool = false) -> Variable {
        let s = x.shape
        precondition(s.count == 4, "resize: input must be NCHW, got \(s)")
        let p = Int((Double(s[2]) * scaleFactor).rounded(.down)), q = Int((Double(s[3]) * scaleFactor).rounded(.down))
        precondition(p > 0 && q > 0, "resize: scale factor \(scaleFactor) gives an empty output")
        return resize(x, AxisSampler(input: s[2], output: p, alignCorners: alignCorners, scaleFactor: scaleFactor),
                      AxisSampler(input: s[3], output: q, alignCorners: alignCorners, scaleFactor: scaleFactor), mode)
    }

    private func resize(_ x: Variable, _ ys: AxisSampler, _ xs: AxisSampler, _ mode: ResizeMode) -> Variable {
        let shape = x.shape
        return record(resizeForward(x.tensor, ys, xs, mode: mode), inputs: [x]) { g, _ in
            [resizeBackward(g, inputShape: shape, ys, xs, mode: mode)]
        }
    }
}
