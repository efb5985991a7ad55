// DepthwiseConv: the direct kernel for conv2d with groups = C (EfficientNet's and Xception's depthwise layers).
//
// Letters: N batch, C input channels, K = M·C output channels (M the channel multiplier), H×W input,
// R×S kernel, P×Q output. Output channel k reads input channel k / M.
// Kept for backward: the input (for d weight) and the weight (for d input), as in Conv2d.swift.
// Each output row is accumulated tap by tap over the output columns whose input column is inside the image,
// so the inner loop has no bounds tests and, for stride 1, runs over contiguous memory.

// MARK: - Forward

func depthwiseForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                      activation: Activation) -> Tensor {
    let m = geo.k / geo.c, (h, w, p, q, r, s) = (geo.h, geo.w, geo.p, geo.q, geo.r, geo.s)
    let (sh, sw, dh, dw) = (geo.stride.h, geo.stride.w, geo.dilation.h, geo.dilation.w)
    let (pt, pl) = (geo.padding.top, geo.padding.left)
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    let ranges = (0..<s).map { kx in validRange(outputs: q, input: w, offset: kx * dw - pl, stride: sw) }
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                let yb = yp.baseAddress!, xb = xp.baseAddress!, wb = wp.baseAddress!
                let biasValues = bias?.data
                Engine.parallelFor(geo.n * geo.k, minimumPerThread: max(1, 4096 / max(p * q, 1))) { plane in
                    let n = plane / geo.k, k = plane % geo.k
                    let src = xb + (n * geo.c + k / m) * h * w
                    let dst = yb + plane * p * q
                    let kernel = wb + k * r * s
                    let b = biasValues?[k] ?? 0
                    for oy in 0..<p {
                        let row = dst + oy * q
                        row.update(repeating: b, count: q)
                        for ky in 0..<r {
                            let iy = oy * sh - pt + ky * dh
                            guard iy >= 0 && iy < h else { continue }
                            for kx in 0..<s {
                                let wv = kernel[ky * s + kx]
                                let (lo, hi) = ranges[kx]
                                let line = src + iy * w + kx * dw - pl
                                if sw == 1 {
                                    axpy(wv, line + lo, row + lo, hi - lo)
                                } else {
                                    var ox = lo
                                    while ox < hi { row[ox] += wv * line[ox * sw]; ox += 1 }
                                }
                            }
                        }
                    }
                    activation.apply(dst, p * q)
                }
            }
        }
    }
    return y
}

/// y[i] += a · x[i] for `count` floats, eight lanes at a time.
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    guard count > 0 else { return }
    let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
    let av = SIMD8<Float>(repeating: a)
    var i = 0
    while i + 8 <= count {
        let v = yr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            + av * xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        yr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] += a * x[i]; i += 1 }
}

// MARK: - Backward

/// d x: every tap scatters w · d y back onto the input row it read; one input channel per parallel item.
func depthwiseBackwardInput(_ dy: Tensor, _ weight: Tensor, _ geo: ConvGeometry) -> Tensor {
    let m = geo.k / geo.c, (h, w, p, q, r, s) = (geo.h, geo.w, geo.p, geo.q, geo.r, geo.s)
    let (sh, sw, dh, dw) = (geo.stride.h, geo.stride.w, geo.dilation.h, geo.dilation.w)
    let (pt, pl) = (geo.padding.top, geo.padding.left)
    var dx = Tensor(shape: [geo.n, geo.c, h, w])
    dx.data.withUnsafeMutableBufferPointer { dxp in
        dy.data.withUnsafeBufferPointer { dyp in
            weight.data.withUnsafeBufferPointer { wp in
                let dxb = dxp.baseAddress!, dyb = dyp.baseAddress!, wb = wp.baseAddress!
                Engine.parallelFor(geo.n * geo.c) { plane in
                    let n = plane / geo.c, c = plane % geo.c
                    let dst = dxb + plane * h * w
                    for k in (c * m)..<(c * m + m) {
                        let src = dyb + (n * geo.k + k) * p * q
                        for ky in 0..<r {
                            for kx in 0..<s {
                                let wv = wb[(k * r + ky) * s + kx]
                                let (lo, hi) = validRange(outputs: q, input: w, offset: kx * dw - pl, stride: sw)
                                for oy in 0..<p {
                                    let iy = oy * sh - pt + ky * dh
                                    guard iy >= 0 && iy < h else { continue }
                                    let line = dst + iy * w + kx * dw - pl, row = src + oy * q
                                    if sw == 1 {
                                        axpy(wv, row + lo, line + lo, hi - lo)
                                    } else {
                                        var ox = lo
                                        while ox < hi { line[ox * sw] += wv * row[ox]; ox += 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return dx
}

/// d weight: for each tap, the dot product of d y with the input it read, summed over the batch.
func depthwiseBackwardWeight(_ dy: Tensor, _ x: Tensor, _ geo: ConvGeometry) -> Tensor {
    let m = geo.k / geo.c, (h, w, p, q, r, s) = (geo.h, geo.w, geo.p, geo.q, geo.r, geo.s)
    let (sh, sw, dh, dw) = (geo.stride.h, geo.stride.w, geo.dilation.h, geo.dilation.w)
    let (pt, pl) = (geo.padding.top, geo.padding.left)
    var dwt = Tensor(shape: [geo.k, 1, r, s])
    dwt.data.withUnsafeMutableBufferPointer { dwp in
        dy.data.withUnsafeBufferPointer { dyp in
            x.data.withUnsafeBufferPointer { xp in
                let dwb = dwp.baseAddress!, dyb = dyp.baseAddress!, xb = xp.baseAddress!
                Engine.parallelFor(geo.k) { k in
                    for ky in 0..<r {
                        for kx in 0..<s {
                            let (lo, hi) = validRange(outputs: q, input: w, offset: kx * dw - pl, stride: sw)
                            var acc = 0.0
                            for n in 0..<geo.n {
                                let src = xb + (n * geo.c + k / m) * h * w, g = dyb + (n * geo.k + k) * p * q
                                for oy in 0..<p {
                                    let iy = oy * sh - pt + ky * dh
                                    guard iy >= 0 && iy < h else { continue }
                                    let line = src + iy * w + kx * dw - pl, row = g + oy * q
                                    var rowAcc: Float = 0
                                    var ox = lo
                                    while ox < hi { rowAcc += row[ox] * line[ox * sw]; ox += 1 }
                                    acc += Double(rowAcc)
                                }
                            }
                            dwb[(k * r + ky) * s + kx] = Float(acc)
                        }
                    }
                }
            }
        }
    }
    return dwt
}
