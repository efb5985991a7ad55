// Pooling: max pool, average pool, adaptive and global average pool (PyTorch semantics), forward and backward.
//
// Letters: N batch, C channels, H×W input, P×Q output; windows of R×S with stride and symmetric padding.
// Kept for backward: the argmax index of every max-pool window; nothing for average pools (their windows are
// recomputed from the geometry).

// MARK: - Window geometry

/// PyTorch's pooling output size, including the ceil_mode rule that the last window must start inside the
/// input or its left padding.
func poolOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, ceilMode: Bool) -> Int {
    let span = input + 2 * padding - dilation * (kernel - 1) - 1
    var out = (ceilMode ? span + stride - 1 : span) / stride + 1
    if ceilMode && (out - 1) * stride >= input + padding { out -= 1 }
    precondition(out > 0, "pool: input \(input) too small for kernel \(kernel), padding \(padding)")
    return out
}

struct PoolGeometry {
    var n: Int, c: Int, h: Int, w: Int, p: Int, q: Int
    var kernel: Size2D, stride: Size2D, padding: Size2D

    init(_ shape: [Int], kernel: Size2D, stride: Size2D, padding: Size2D, ceilMode: Bool) {
        precondition(shape.count == 4, "pool: input must be NCHW, got \(shape)")
        precondition(padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w,
                     "pool: padding \(padding) must be at most half the kernel \(kernel) (PyTorch's rule)")
        (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        self.kernel = kernel; self.stride = stride; self.padding = padding
        p = poolOutputSize(h, kernel: kernel.h, stride: stride.h, padding: padding.h, ceilMode: ceilMode)
        q = poolOutputSize(w, kernel: kernel.w, stride: stride.w, padding: padding.w, ceilMode: ceilMode)
    }
}

// MARK: - Max pool

/// Max over each window (padding never wins); returns the output and each window's flat argmax in its plane.
func maxPoolForward(_ x: Tensor, _ geo: PoolGeometry) -> (Tensor, [Int32]) {
    let planes = geo.n * geo.c, (h, w, p, q) = (geo.h, geo.w, geo.p, geo.q)
    var y = Tensor(shape: [geo.n, geo.c, p, q]) { _ in }
    var argmax = [Int32](repeating: 0, count: planes * p * q)
    y.data.withUnsafeMutableBufferPointer { yp in
        argmax.withUnsafeMutableBufferPointer { ap in
            x.data.withUnsafeBufferPointer { xp in
                let yb = yp.baseAddress!, ab = ap.baseAddress!, xb = xp.baseAddress!
                Engine.parallelFor(planes) { plane in
                    let src = xb + plane * h * w
                    for oy in 0..<p {
                        let y0 = oy * geo.stride.h - geo.padding.h
                        let ys = max(y0, 0), ye = min(y0 + geo.kernel.h, h)
                        for ox in 0..<q {
                            let x0 = ox * geo.stride.w - geo.padding.w
                            let xs = max(x0, 0), xe = min(x0 + geo.kernel.w, w)
                            var best = -Float.infinity, at = ys * w + xs
                            for iy in ys..<ye {
                                for ix in xs..<xe {
                                    let v = src[iy * w + ix]
                                    // The first maximum wins and NaN propagates, as in PyTorch's CPU kernel.
                                    if v > best || v.isNaN { best = v; at = iy * w + ix; if v.isNaN { break } }
                                }
                            }
                            yb[plane * p * q + oy * q + ox] = best
                            ab[plane * p * q + oy * q + ox] = Int32(at)
                        }
                    }
                }
            }
        }
    }
    return (y, argmax)
}

/// The max-pool output alone, for inference: no argmax, and separable: per output row, the window's rows are
/// reduced column by column (one vector loop over the row), then each output takes the maximum of its columns
/// in that row. The maximum of a set does not depend on the order it is taken in, so the values equal
/// `maxPoolForward`'s, NaN propagating as there.
func maxPoolValues(_ x: Tensor, _ geo: PoolGeometry) -> Tensor {
    let planes = geo.n * geo.c, (h, w, p, q) = (geo.h, geo.w, geo.p, geo.q)
    let (pw, sw, kw) = (geo.padding.w, geo.stride.w, geo.kernel.w)
    // The reduced row with padding columns (−∞ never wins) on both sides, wide enough for ceil-mode windows, and
    // slack for the last block of 16 outputs, which is computed whole (its extra lanes read −∞) and stored in part:
    // small planes (Xception's 19×19, ten outputs a row) would otherwise take every output one by one.
    let width = max(w + 2 * pw, (q - 1) * sw + kw)
    let vectorized = sw <= 2
    let slack = vectorized ? 16 * sw + kw : 0
    var y = Tensor(shape: [geo.n, geo.c, p, q]) { _ in }
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            let (yb, xb) = (yp.baseAddress!, xp.baseAddress!)
            Engine.parallelChunks(planes, minimumPerThread: max(1, 16_384 / max(1, h * w))) { chunk in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: width + slack)
                let part = UnsafeMutablePointer<Float>.allocate(capacity: 16)
                defer { row.deallocate(); part.deallocate() }
                row.update(repeating: -.infinity, count: width + slack)
                let inner = row + pw
                for plane in chunk {
                    let src = xb + plane * h * w, dst = yb + plane * p * q
                    for oy in 0..<p {
                        let y0 = oy * geo.stride.h - geo.padding.h
                        let ys = max(y0, 0), ye = min(y0 + geo.kernel.h, h)
                        inner.update(from: src + ys * w, count: w)
                        for iy in (ys + 1)..<max(ys + 1, ye) {
                            let line = src + iy * w
                            var ix = 0
                            while ix + 16 <= w {
                                let a = UnsafeRawPointer(inner + ix).loadUnaligned(as: SIMD16<Float>.self)
                                let b = UnsafeRawPointer(line + ix).loadUnaligned(as: SIMD16<Float>.self)
                                UnsafeMutableRawPointer(inner + ix).storeBytes(of: largerLanes(a, b), as: SIMD16<Float>.self)
                                ix += 16
                            }
                            while ix < w { inner[ix] = larger(inner[ix], line[ix]); ix += 1 }
                        }
                        let out = dst + oy * q
                        var ox = 0
                        // 16 outputs at a time for strides 1 and 2 (tap j of output ox + l reads row[(ox + l)·s + j]:
                        // contiguous, or the even lanes of 32); the last block partly, through `part`.
                        if vectorized {
                            while ox < q {
                                var best = poolTap(row + ox * sw, sw)
                                for j in 1..<kw { best = largerLanes(best, poolTap(row + ox * sw + j, sw)) }
                                if ox + 16 <= q {
                                    UnsafeMutableRawPointer(out + ox).storeBytes(of: best, as: SIMD16<Float>.self)
                                } else {
                                    UnsafeMutableRawPointer(part).storeBytes(of: best, as: SIMD16<Float>.self)
                                    (out + ox).update(from: part, count: q - ox)
                                }
                                ox += 16
                            }
                        }
                        while ox < q {
                            let window = row + ox * sw
                            var best = window[0]
                            for j in 1..<kw { best = larger(best, window[j]) }
                            out[ox] = best
                            ox += 1
                        }
                    }
                }
            }
        }
    }
    return y
}

/// b where it beats a or is NaN, else a: PyTorch's max-pool comparison (the first maximum wins, NaN sticks).
@inline(__always) private func larger(_ a: Float, _ b: Float) -> Float { (b > a || b != b) ? b : a }

@inline(__always) private func largerLanes(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: (b .> a) .| (b .!= b))
}

/// p[0], p[s], …, p[15·s] for s = 1 or 2 (for 2, the even lanes of two loads: one two-source permute).
@inline(__always) private func poolTap(_ p: UnsafePointer<Float>, _ s: Int) -> SIMD16<Float> {
    let a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    guard s == 2 else { return a }
    let b = UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
    return SIMD16(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14])
}

func maxPoolBackward(_ dy: Tensor, argmax: [Int32], _ geo: PoolGeometry) -> Tensor {
    var dx = Tensor(shape: [geo.n, geo.c, geo.h, geo.w])
    let pq = geo.p * geo.q, hw = geo.h * geo.w
    dx.data.withUnsafeMutableBufferPointer { d in
        for plane in 0..<(geo.n * geo.c) {
            for i in 0..<pq { d[plane * hw + Int(argmax[plane * pq + i])] += dy.data[plane * pq + i] }
        }
    }
    return dx
}

// MARK: - Average pool

/// The clipped window of output (oy, ox) and PyTorch's divisor: with count_include_pad the window size clipped
/// to the padded input, else the number of real input pixels.
@inline(__always)
func avgWindow(_ o: Int, stride: Int, padding: Int, kernel: Int, input: Int) -> (Int, Int, Int) {
    let start = o * stride - padding
    let end = min(start + kernel, input + padding)
    return (max(start, 0), min(end, input), end - start)
}

func avgPoolForward(_ x: Tensor, _ geo: PoolGeometry, countIncludePad: Bool) -> Tensor {
    let (h, w, p, q) = (geo.h, geo.w, geo.p, geo.q)
    var y = Tensor(shape: [geo.n, geo.c, p, q]) { _ in }
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            let yb = yp.baseAddress!, xb = xp.baseAddress!
            Engine.parallelFor(geo.n * geo.c) { plane in
                let src = xb + plane * h * w
                for oy in 0..<p {
                    let (ys, ye, ph) = avgWindow(oy, stride: geo.stride.h, padding: geo.padding.h, kernel: geo.kernel.h, input: h)
                    for ox in 0..<q {
                        let (xs, xe, pw) = avgWindow(ox, stride: geo.stride.w, padding: geo.padding.w, kernel: geo.kernel.w, input: w)
                        var sum: Float = 0
                        for iy in ys..<max(ys, ye) { for ix in xs..<max(xs, xe) { sum += src[iy * w + ix] } }
                        let divisor = countIncludePad ? ph * pw : max(ye - ys, 0) * max(xe - xs, 0)
                        yb[plane * p * q + oy * q + ox] = sum / Float(divisor)
                    }
                }
            }
        }
    }
    return y
}

func avgPoolBackward(_ dy: Tensor, _ geo: PoolGeometry, countIncludePad: Bool) -> Tensor {
    let (h, w, p, q) = (geo.h, geo.w, geo.p, geo.q)
    var dx = Tensor(shape: [geo.n, geo.c, h, w])
    dx.data.withUnsafeMutableBufferPointer { d in
        for plane in 0..<(geo.n * geo.c) {
            for oy in 0..<p {
                let (ys, ye, ph) = avgWindow(oy, stride: geo.stride.h, padding: geo.padding.h, kernel: geo.kernel.h, input: h)
                for ox in 0..<q {
                    let (xs, xe, pw) = avgWindow(ox, stride: geo.stride.w, padding: geo.padding.w, kernel: geo.kernel.w, input: w)
                    let divisor = countIncludePad ? ph * pw : max(ye - ys, 0) * max(xe - xs, 0)
                    let g = dy.data[plane * p * q + oy * q + ox] / Float(divisor)
                    for iy in ys..<max(ys, ye) { for ix in xs..<max(xs, xe) { d[plane * h * w + iy * w + ix] += g } }
                }
            }
        }
    }
    return dx
}

// MARK: - Adaptive average pool

/// PyTorch's adaptive window of output o: [⌊o·in/out⌋, ⌈(o+1)·in/out⌉).
@inline(__always)
func adaptiveWindow(_ o: Int, input: Int, output: Int) -> (Int, Int) {
    (o * input / output, ((o + 1) * input + output - 1) / output)
}

func adaptiveAvgPoolForward(_ x: Tensor, output: Size2D) -> Tensor {
    let (n, c, h, w) = x.nchw, (p, q) = (output.h, output.w)
    if p == 1 && q == 1 { return globalAvgPoolForward(x) }
    var y = Tensor(shape: [n, c, p, q]) { _ in }
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            let yb = yp.baseAddress!, xb = xp.baseAddress!
            Engine.parallelFor(n * c, minimumPerThread: max(1, 8192 / max(h * w, 1))) { plane in
                let src = xb + plane * h * w
                for oy in 0..<p {
                    let (ys, ye) = adaptiveWindow(oy, input: h, output: p)
                    for ox in 0..<q {
                        let (xs, xe) = adaptiveWindow(ox, input: w, output: q)
                        var sum: Float = 0
                        for iy in ys..<ye { for ix in xs..<xe { sum += src[iy * w + ix] } }
                        yb[plane * p * q + oy * q + ox] = sum / Float((ye - ys) * (xe - xs))
                    }
                }
            }
        }
    }
    return y
}

/// The 1×1 case (squeeze-excite, classifier heads): each plane summed in two 16-lane partial sums (32 floats a
/// step, then one 16-float step), then the rest one by one, so the reduction is not one long dependency chain and
/// a 7×7 plane takes two vector steps. (Four-lane sums took B4's 33 squeeze-excite pools 0.75 ms on one thread.)
func globalAvgPoolForward(_ x: Tensor) -> Tensor {
    let (n, c, h, w) = x.nchw, hw = h * w
    var y = Tensor(shape: [n, c, 1, 1]) { _ in }
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            let yb = yp.baseAddress!, xb = UnsafeRawPointer(xp.baseAddress!)
            Engine.parallelFor(n * c, minimumPerThread: max(1, 16_384 / max(hw, 1))) { plane in
                let base = plane * hw
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
                var i = 0
                while i + 32 <= hw {
                    a0 += xb.loadUnaligned(fromByteOffset: (base + i) * 4, as: SIMD16<Float>.self)
                    a1 += xb.loadUnaligned(fromByteOffset: (base + i + 16) * 4, as: SIMD16<Float>.self)
                    i += 32
                }
                if i + 16 <= hw {
                    a0 += xb.loadUnaligned(fromByteOffset: (base + i) * 4, as: SIMD16<Float>.self)
                    i += 16
                }
                var sum = (a0 + a1).sum()
                while i < hw { sum += xp[base + i]; i += 1 }
                yb[plane] = sum / Float(hw)
            }
        }
    }
    return y
}

func adaptiveAvgPoolBackward(_ dy: Tensor, inputShape: [Int]) -> Tensor {
    let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3]), (p, q) = (dy.shape[2], dy.shape[3])
    var dx = Tensor(shape: inputShape)
    dx.data.withUnsafeMutableBufferPointer { d in
        dy.data.withUnsafeBufferPointer { g in
            let (dxb, dyb) = (d.baseAddress!, g.baseAddress!)
            // Planes are independent: one per worker item.
            Engine.parallelFor(n * c, minimumPerThread: max(1, 16_384 / max(h * w, 1))) { plane in
                for oy in 0..<p {
                    let (ys, ye) = adaptiveWindow(oy, input: h, output: p)
                    for ox in 0..<q {
                        let (xs, xe) = adaptiveWindow(ox, input: w, output: q)
                        let v = dyb[plane * p * q + oy * q + ox] / Float((ye - ys) * (xe - xs))
                        for iy in ys..<ye { for ix in xs..<xe { dxb[plane * h * w + iy * w + ix] += v } }
                    }
                }
            }
        }
    }
    return dx
}

// MARK: - Graph ops

extension Graph {
    /// Max pooling as `F.max_pool2d` (dilation 1); `stride` defaults to the kernel.
    public func maxPool2d(_ x: Variable, kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0,
                          ceilMode: Bool = false) -> Variable {
        let geo = PoolGeometry(x.shape, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode)
        let y = timed("max pool") { maxPoolValues(x.tensor, geo) }
        guard isRecording else { return Variable(y) }
        // The argmax only when a gradient comes back this way (GradCAM on a later layer never asks for it).
        let xt = x.tensor
        return record(y, inputs: [x]) { g, _ in [maxPoolBackward(g, argmax: maxPoolForward(xt, geo).1, geo)] }
    }

    /// Average pooling as `F.avg_pool2d`; `stride` defaults to the kernel.
    public func avgPool2d(_ x: Variable, kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0,
                          ceilMode: Bool = false, countIncludePad: Bool = true) -> Variable {
        let geo = PoolGeometry(x.shape, kernel: kernel, stride: stride ?? kernel, padding: padding, ceilMode: ceilMode)
        let y = avgPoolForward(x.tensor, geo, countIncludePad: countIncludePad)
        return record(y, inputs: [x]) { g, _ in [avgPoolBackward(g, geo, countIncludePad: countIncludePad)] }
    }

    /// Adaptive average pooling to `output` as `F.adaptive_avg_pool2d`.
    public func adaptiveAvgPool2d(_ x: Variable, output: Size2D) -> Variable {
        let shape = x.shape
        let y = timed("adaptive avg pool") { adaptiveAvgPoolForward(x.tensor, output: output) }
        return record(y, inputs: [x]) { g, _ in [adaptiveAvgPoolBackward(g, inputShape: shape)] }
    }

    /// Mean over H×W keeping [N, C, 1, 1].
    public func globalAvgPool(_ x: Variable) -> Variable { adaptiveAvgPool2d(x, output: 1) }
}
