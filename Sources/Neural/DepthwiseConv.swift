// DepthwiseConv: the direct kernel for conv2d with groups = C (EfficientNet's and Xception's depthwise layers).
//
// Letters: N batch, C input channels, K = M·C output channels (M the channel multiplier), H×W input,
// R×S kernel, P×Q output. Output channel k reads input channel k / M.
// Kept for backward: the input (for d weight) and the weight (for d input), as in Conv2d.swift.
// Each output row is accumulated tap by tap over the output columns whose input column is inside the image,
// so the inner loop has no bounds tests and, for stride 1, runs over contiguous memory.

// MARK: - Forward

/// Whether the padded-plane kernels (3×3 or 5×5, stride 1 or 2, no dilation) handle this geometry.
func depthwiseUsesPaddedPlanes(_ geo: ConvGeometry) -> Bool {
    geo.dilation == 1 && geo.r == geo.s && (geo.r == 3 || geo.r == 5) && geo.stride.h == geo.stride.w
        && (geo.stride.h == 1 || geo.stride.h == 2)
}

/// y = activation(depthwise(inputActivation(x)) + bias); the input activation is fused into the flat kernel's
/// copy of each plane, and applied to a copy of x for the other kernels.
func depthwiseForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                      activation: Activation, inputActivation: Activation = .identity) -> Tensor {
    // 3×3 stride 1 on planes of at least 16×16: one flat run of vectors per plane (DepthwiseFlat.swift).
    if depthwiseUsesFlatPlanes(geo) {
        return depthwiseForwardFlat(x, weight, bias, geo, activation: activation, inputActivation: inputActivation)
    }
    if inputActivation != .identity {
        return depthwiseForward(inputActivation.apply(x), weight, bias, geo, activation: activation)
    }
    // Channel blocks win on strided and small planes (B4's 7×7 to 28×28 stages: 1.4–2.8× faster); planes win on
    // large stride-1 planes, where their rows are long and the blocks' two transposes cost more than they save.
    if depthwiseUsesBlocks(geo) && (geo.stride.h > 1 || geo.stride.w > 1 || geo.p * geo.q <= 1024) {
        return depthwiseForwardBlocked(x, weight, bias, geo, activation: activation)
    }
    if depthwiseUsesPaddedPlanes(geo) {
        return depthwiseForwardPadded(x, weight, bias, geo, activation: activation)
    }
    return depthwiseForwardGeneric(x, weight, bias, geo, activation: activation)
}

/// The fast path for 3×3 and 5×5 kernels with stride 1 or 2: each plane is first copied into a zero-padded
/// scratch plane (for stride 2 with even and odd columns split apart), so every tap of an output row reads a
/// contiguous run and the row is computed in one pass per kernel row with no bounds tests.
func depthwiseForwardPadded(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                            activation: Activation) -> Tensor {
    let m = geo.k / geo.c, (h, w, p, q, r) = (geo.h, geo.w, geo.p, geo.q, geo.r)
    let st = geo.stride.h, (pt, pl) = (geo.padding.top, geo.padding.left)
    // Rows and columns of the padded plane that the outputs actually read.
    let hp = (p - 1) * st + r, wp = (q - 1) * st + r
    // For stride 2, a padded row is stored as its even columns then its odd columns.
    let half = (wp + 1) / 2, rowWidth = st == 1 ? wp : 2 * half
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wtp in
                let yb = yp.baseAddress!, xb = xp.baseAddress!, wb = wtp.baseAddress!
                let biasValues = bias?.data
                let planes = geo.n * geo.k
                // Narrow stride-1 planes (the 7×7 and 14×14 stages) are computed as one long row over the
                // padded width, throwing away the r − 1 wrap-around columns per row: long vector loops beat
                // many 7-wide rows with scalar tails.
                let flat = st == 1 && q < 16
                Engine.parallelChunks(planes, minimumPerThread: max(1, 4096 / max(p * q, 1))) { range in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: hp * rowWidth)
                    let flatOut = UnsafeMutablePointer<Float>.allocate(capacity: flat ? p * rowWidth : 0)
                    defer { scratch.deallocate(); flatOut.deallocate() }
                    var lastSource = -1
                    for plane in range {
                        let n = plane / geo.k, k = plane % geo.k, source = n * geo.c + k / m
                        if source != lastSource {
                            padPlane(xb + source * h * w, h: h, w: w, top: pt, left: pl, into: scratch, rows: hp,
                                     width: wp, rowWidth: rowWidth, deinterleave: st == 2)
                            lastSource = source
                        }
                        let dst = yb + plane * p * q, kernel = wb + k * r * r, b = biasValues?[k] ?? 0
                        // Column offset of tap kx inside a stored row.
                        @inline(__always) func tap(_ kx: Int) -> Int { st == 1 ? kx : (kx & 1) * half + kx / 2 }
                        if flat {
                            let count = (p - 1) * rowWidth + q, base = UnsafePointer(scratch)
                            if r == 3 {
                                let r0 = base, r1 = r0 + rowWidth, r2 = r1 + rowWidth
                                dwRow3x3(flatOut, count, r0, r0 + 1, r0 + 2, r1, r1 + 1, r1 + 2, r2, r2 + 1, r2 + 2, kernel, b)
                            } else {
                                for ky in 0..<5 {
                                    let row = base + ky * rowWidth
                                    dwRow5(flatOut, count, row, row + 1, row + 2, row + 3, row + 4, kernel + ky * 5,
                                           initial: ky == 0 ? b : nil)
                                }
                            }
                            for oy in 0..<p { (dst + oy * q).update(from: flatOut + oy * rowWidth, count: q) }
                            activation.apply(dst, p * q)
                            continue
                        }
                        for oy in 0..<p {
                            let out = dst + oy * q
                            let base = scratch + oy * st * rowWidth
                            if r == 3 {
                                let r0 = UnsafePointer(base), r1 = r0 + rowWidth, r2 = r1 + rowWidth
                                dwRow3x3(out, q, r0 + tap(0), r0 + tap(1), r0 + tap(2), r1 + tap(0), r1 + tap(1),
                                         r1 + tap(2), r2 + tap(0), r2 + tap(1), r2 + tap(2), kernel, b)
                            } else {
                                for ky in 0..<5 {
                                    let row = UnsafePointer(base + ky * rowWidth)
                                    dwRow5(out, q, row + tap(0), row + tap(1), row + tap(2), row + tap(3), row + tap(4),
                                           kernel + ky * 5, initial: ky == 0 ? b : nil)
                                }
                            }
                        }
                        activation.apply(dst, p * q)
                    }
                }
            }
        }
    }
    return y
}

/// Copies an H×W plane into `rows`×`width` with `top`/`left` zero padding (and zeros past the input), storing each
/// row with its even columns first and odd columns second when `deinterleave`.
@inline(__always)
func padPlane(_ src: UnsafePointer<Float>, h: Int, w: Int, top: Int, left: Int, into dst: UnsafeMutablePointer<Float>,
              rows: Int, width: Int, rowWidth: Int, deinterleave: Bool) {
    let half = (width + 1) / 2
    for row in 0..<rows {
        let out = dst + row * rowWidth
        let iy = row - top
        guard iy >= 0 && iy < h else { out.update(repeating: 0, count: rowWidth); continue }
        let line = src + iy * w
        let lo = min(max(left, 0), width), hi = min(max(left + w, lo), width)
        if !deinterleave {
            out.update(repeating: 0, count: lo)
            (out + lo).update(from: line + (lo - left), count: hi - lo)
            (out + hi).update(repeating: 0, count: rowWidth - hi)
        } else {
            out.update(repeating: 0, count: rowWidth)
            // Even columns to the first half, odd ones to the second: two unit-stride stores, no index arithmetic.
            let firstEven = lo + (lo & 1), firstOdd = lo + 1 - (lo & 1)
            var (to, from) = (out + firstEven / 2, line + (firstEven - left))
            for _ in stride(from: firstEven, to: hi, by: 2) { to.pointee = from.pointee; to += 1; from += 2 }
            (to, from) = (out + half + firstOdd / 2, line + (firstOdd - left))
            for _ in stride(from: firstOdd, to: hi, by: 2) { to.pointee = from.pointee; to += 1; from += 2 }
        }
    }
}

/// out[i] = b + Σ w_t · a_t[i] over the nine taps of a 3×3 kernel, four outputs per SIMD step.
@inline(__always)
func dwRow3x3(_ out: UnsafeMutablePointer<Float>, _ q: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
              _ a2: UnsafePointer<Float>, _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>,
              _ a5: UnsafePointer<Float>, _ a6: UnsafePointer<Float>, _ a7: UnsafePointer<Float>,
              _ a8: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: Float) {
    let (w0, w1, w2, w3, w4, w5, w6, w7, w8) = (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8])
    // Sixteen lanes, then four, then one: each output sees the same operations in the same order at any width.
    @inline(__always) func step<V: SIMD>(_: V.Type, _ i: Int) where V.Scalar == Float {
        var acc = V(repeating: b)
        acc += w0 * lanes(a0 + i); acc += w1 * lanes(a1 + i); acc += w2 * lanes(a2 + i)
        acc += w3 * lanes(a3 + i); acc += w4 * lanes(a4 + i); acc += w5 * lanes(a5 + i)
        acc += w6 * lanes(a6 + i); acc += w7 * lanes(a7 + i); acc += w8 * lanes(a8 + i)
        store(acc, out + i)
    }
    var i = 0
    while i + 16 <= q { step(SIMD16<Float>.self, i); i += 16 }
    while i + 4 <= q { step(SIMD4<Float>.self, i); i += 4 }
    while i < q {
        var acc = b
        acc += w0 * a0[i]; acc += w1 * a1[i]; acc += w2 * a2[i]
        acc += w3 * a3[i]; acc += w4 * a4[i]; acc += w5 * a5[i]
        acc += w6 * a6[i]; acc += w7 * a7[i]; acc += w8 * a8[i]
        out[i] = acc
        i += 1
    }
}

/// out[i] (= `initial`, or += when nil) Σ w_t · a_t[i] over the five taps of one row of a 5×5 kernel.
@inline(__always)
func dwRow5(_ out: UnsafeMutablePointer<Float>, _ q: Int, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
            _ a2: UnsafePointer<Float>, _ a3: UnsafePointer<Float>, _ a4: UnsafePointer<Float>,
            _ w: UnsafePointer<Float>, initial: Float?) {
    let (w0, w1, w2, w3, w4) = (w[0], w[1], w[2], w[3], w[4])
    @inline(__always) func step<V: SIMD>(_: V.Type, _ i: Int) where V.Scalar == Float {
        var acc: V = initial.map { V(repeating: $0) } ?? lanes(out + i)
        acc += w0 * lanes(a0 + i); acc += w1 * lanes(a1 + i); acc += w2 * lanes(a2 + i)
        acc += w3 * lanes(a3 + i); acc += w4 * lanes(a4 + i)
        store(acc, out + i)
    }
    var i = 0
    while i + 16 <= q { step(SIMD16<Float>.self, i); i += 16 }
    while i + 4 <= q { step(SIMD4<Float>.self, i); i += 4 }
    while i < q {
        var acc = initial ?? out[i]
        acc += w0 * a0[i]; acc += w1 * a1[i]; acc += w2 * a2[i]; acc += w3 * a3[i]; acc += w4 * a4[i]
        out[i] = acc
        i += 1
    }
}

/// The V.scalarCount floats at p (unaligned), and the store back.
@inline(__always) func lanes<V: SIMD>(_ p: UnsafePointer<Float>) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always) func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}





/// Any kernel size, stride and dilation: taps accumulate into each output row over the valid column range.
func depthwiseForwardGeneric(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
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

/// y[i] += a · x[i] for `count` floats (a plain loop: LLVM vectorises it better than hand-written SIMD8).
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i < count { y[i] += a * x[i]; i += 1 }
}

// MARK: - Backward

func depthwiseBackwardInput(_ dy: Tensor, _ weight: Tensor, _ geo: ConvGeometry) -> Tensor {
    depthwiseUsesPaddedPlanes(geo) ? depthwiseBackwardInputPadded(dy, weight, geo)
        : depthwiseBackwardInputGeneric(dy, weight, geo)
}

func depthwiseBackwardWeight(_ dy: Tensor, _ x: Tensor, _ geo: ConvGeometry) -> Tensor {
    depthwiseUsesPaddedPlanes(geo) ? depthwiseBackwardWeightPadded(dy, x, geo)
        : depthwiseBackwardWeightGeneric(dy, x, geo)
}

/// The layout of the forward's padded planes: `rows`×`rowWidth` floats; for stride 2 a row holds its even
/// columns, then its odd ones (`half` each), so every tap of an output row is a contiguous run.
struct PaddedPlane {
    let rows: Int, width: Int, half: Int, rowWidth: Int, stride: Int

    init(_ geo: ConvGeometry) {
        stride = geo.stride.h
        rows = (geo.p - 1) * stride + geo.r
        width = (geo.q - 1) * stride + geo.r
        half = (width + 1) / 2
        rowWidth = stride == 1 ? width : 2 * half
    }

    /// Offset inside a stored row of padded column `column`.
    @inline(__always) func offset(ofColumn column: Int) -> Int {
        stride == 1 ? column : (column & 1) * half + column / 2
    }

    /// Copies a P×Q plane to rows of `rowWidth` with zeros after the Q values, so that a stride-1 tap over the
    /// whole plane is one run of (P − 1)·rowWidth + Q floats whose wrap-around terms are zero.
    func spread(_ src: UnsafePointer<Float>, p: Int, q: Int, into dst: UnsafeMutablePointer<Float>) {
        for oy in 0..<p {
            (dst + oy * rowWidth).update(from: src + oy * q, count: q)
            (dst + oy * rowWidth + q).update(repeating: 0, count: rowWidth - q)
        }
    }
}

/// d x for the padded-plane geometries: w · d y is scattered tap by tap into a zeroed padded plane (one long
/// vector loop per tap for stride 1, one per output row and tap for stride 2), whose interior is then d x.
func depthwiseBackwardInputPadded(_ dy: Tensor, _ weight: Tensor, _ geo: ConvGeometry) -> Tensor {
    let m = geo.k / geo.c, (h, w, p, q, r) = (geo.h, geo.w, geo.p, geo.q, geo.r)
    let (pt, pl) = (geo.padding.top, geo.padding.left), layout = PaddedPlane(geo)
    var dx = Tensor(shape: [geo.n, geo.c, h, w], unsafeUninitialized: { _ in })
    dx.data.withUnsafeMutableBufferPointer { dxp in
        dy.data.withUnsafeBufferPointer { dyp in
            weight.data.withUnsafeBufferPointer { wp in
                let dxb = dxp.baseAddress!, dyb = dyp.baseAddress!, wb = wp.baseAddress!
                Engine.parallelChunks(geo.n * geo.c, minimumPerThread: max(1, 4096 / max(p * q, 1))) { range in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: layout.rows * layout.rowWidth)
                    let rows = UnsafeMutablePointer<Float>.allocate(capacity: layout.stride == 1 ? p * layout.rowWidth : 0)
                    defer { scratch.deallocate(); rows.deallocate() }
                    for plane in range {
                        let n = plane / geo.c, c = plane % geo.c
                        scratch.update(repeating: 0, count: layout.rows * layout.rowWidth)
                        for k in (c * m)..<(c * m + m) {
                            let src = dyb + (n * geo.k + k) * p * q, kernel = wb + k * r * r
                            if layout.stride == 1 {
                                layout.spread(src, p: p, q: q, into: rows)
                                let count = (p - 1) * layout.rowWidth + q
                                for ky in 0..<r {
                                    for kx in 0..<r {
                                        axpy(kernel[ky * r + kx], rows, scratch + ky * layout.rowWidth + kx, count)
                                    }
                                }
                            } else {
                                for oy in 0..<p {
                                    for ky in 0..<r {
                                        let line = scratch + (oy * 2 + ky) * layout.rowWidth
                                        for kx in 0..<r {
                                            axpy(kernel[ky * r + kx], src + oy * q, line + layout.offset(ofColumn: kx), q)
                                        }
                                    }
                                }
                            }
                        }
                        // Input (iy, ix) sits at padded (iy + pt, ix + pl); inputs past the padded plane were read
                        // by no output.
                        let dst = dxb + plane * h * w
                        for iy in 0..<h {
                            let row = iy + pt, out = dst + iy * w
                            guard row < layout.rows else { out.update(repeating: 0, count: w); continue }
                            let line = scratch + row * layout.rowWidth
                            let inside = max(0, min(w, layout.width - pl))
                            if layout.stride == 1 {
                                out.update(from: line + pl, count: inside)
                            } else {
                                for ix in 0..<inside { out[ix] = line[layout.offset(ofColumn: ix + pl)] }
                            }
                            (out + inside).update(repeating: 0, count: w - inside)
                        }
                    }
                }
            }
        }
    }
    return dx
}

/// d weight for the padded-plane geometries: each tap is the dot product of d y with the padded input plane
/// shifted by the tap, summed over the batch in order (Reductions.swift), one output channel per worker.
func depthwiseBackwardWeightPadded(_ dy: Tensor, _ x: Tensor, _ geo: ConvGeometry) -> Tensor {
    let m = geo.k / geo.c, (h, w, p, q, r) = (geo.h, geo.w, geo.p, geo.q, geo.r)
    let (pt, pl) = (geo.padding.top, geo.padding.left), layout = PaddedPlane(geo)
    var dwt = Tensor(shape: [geo.k, 1, r, r], unsafeUninitialized: { _ in })
    dwt.data.withUnsafeMutableBufferPointer { dwp in
        dy.data.withUnsafeBufferPointer { dyp in
            x.data.withUnsafeBufferPointer { xp in
                let dwb = dwp.baseAddress!, dyb = dyp.baseAddress!, xb = xp.baseAddress!
                Engine.parallelChunks(geo.k, minimumPerThread: max(1, 4096 / max(geo.n * p * q, 1))) { range in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: layout.rows * layout.rowWidth)
                    let rows = UnsafeMutablePointer<Float>.allocate(capacity: layout.stride == 1 ? p * layout.rowWidth : 0)
                    var sums = [Double](repeating: 0, count: r * r)
                    defer { scratch.deallocate(); rows.deallocate() }
                    for k in range {
                        for t in 0..<(r * r) { sums[t] = 0 }
                        for n in 0..<geo.n {
                            padPlane(xb + (n * geo.c + k / m) * h * w, h: h, w: w, top: pt, left: pl, into: scratch,
                                     rows: layout.rows, width: layout.width, rowWidth: layout.rowWidth,
                                     deinterleave: layout.stride == 2)
                            let g = dyb + (n * geo.k + k) * p * q
                            if layout.stride == 1 {
                                layout.spread(g, p: p, q: q, into: rows)
                                let count = (p - 1) * layout.rowWidth + q
                                for ky in 0..<r {
                                    for kx in 0..<r {
                                        sums[ky * r + kx] += blockedDot(rows, scratch + ky * layout.rowWidth + kx, count)
                                    }
                                }
                            } else {
                                for ky in 0..<r {
                                    for kx in 0..<r {
                                        var acc = 0.0
                                        for oy in 0..<p {
                                            let line = scratch + (oy * 2 + ky) * layout.rowWidth + layout.offset(ofColumn: kx)
                                            acc += blockedDot(g + oy * q, line, q)
                                        }
                                        sums[ky * r + kx] += acc
                                    }
                                }
                            }
                        }
                        for t in 0..<(r * r) { dwb[k * r * r + t] = Float(sums[t]) }
                    }
                }
            }
        }
    }
    return dwt
}

/// d x: every tap scatters w · d y back onto the input row it read; one input channel per parallel item.
func depthwiseBackwardInputGeneric(_ dy: Tensor, _ weight: Tensor, _ geo: ConvGeometry) -> Tensor {
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
func depthwiseBackwardWeightGeneric(_ dy: Tensor, _ x: Tensor, _ geo: ConvGeometry) -> Tensor {
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
