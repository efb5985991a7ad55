// Conv2d: 2-D convolution (stride, dilation, groups, asymmetric padding), im2col + sgemm, forward and backward.
//
// Letters: N batch, C input channels, H×W input, K output channels, R×S kernel, P×Q output, G groups;
// Cg = C/G and Kg = K/G channels per group. Weight is [K, Cg, R, S] as in PyTorch.
// Kept for backward: the input x (for d weight) and the weight (for d input).
// Paths: 1×1/stride 1/no padding multiplies the input directly; depthwise (G = C) has its own direct kernel
// (DepthwiseConv.swift); everything else lowers each group to im2col [Cg·R·S, P·Q] and one product. The forward
// product is the engine's micro-kernel (PackedGemm.swift) where the output has at least 32 columns, sgemm
// otherwise; the backward products are sgemm.

// MARK: - Forward

/// The fast conv2d forward: bias and activation are applied in one pass over the output.
/// `inputScale` ([N·C] factors, pointwise convs with one group only) multiplies input channel c of sample n
/// first; it is applied to a per-sample copy of the K×C weights, never to the C×H×W input.
/// 3×3 stride-1 convolutions go through Winograd (Winograd.swift): with `winograd`, the weight's transform made
/// once by the caller, or else on large maps, where transforming the weight on the spot costs little.
/// `residual` (the output's shape) is added before the activation, in the GEMM's or Winograd's epilogue: a
/// shortcut connection without a separate pass.
func conv2dForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                   activation: Activation = .identity, inputScale: Tensor? = nil,
                   winograd: WinogradFilter? = nil, inputActivation: Activation = .identity,
                   residual: Tensor? = nil) -> Tensor {
    if let bias { precondition(bias.count == geo.k, "conv2d: bias has \(bias.count) values for \(geo.k) channels") }
    if let residual {
        precondition(residual.shape == geo.outputShape, "conv2d: residual \(residual.shape) is not \(geo.outputShape)")
    }
    // The depthwise kernels fuse an input activation; the others get an activated copy.
    if inputActivation != .identity && !geo.isDepthwise {
        return conv2dForward(inputActivation.apply(x), weight, bias, geo, activation: activation,
                             inputScale: inputScale, winograd: winograd, residual: residual)
    }
    if geo.isDepthwise {
        guard let residual else {
            return depthwiseForward(x, weight, bias, geo, activation: activation, inputActivation: inputActivation)
        }
        var y = depthwiseForward(x, weight, bias, geo, activation: .identity, inputActivation: inputActivation)
        y.data.withUnsafeMutableBufferPointer { yp in
            residual.data.withUnsafeBufferPointer { addInPlace(yp.baseAddress!, $0.baseAddress!, yp.count) }
            activation.apply(yp.baseAddress!, yp.count)
        }
        return y
    }
    if inputScale == nil && winogradApplies(geo) {
        if let winograd { return winogradForward(x, winograd, bias, geo, activation: activation, residual: residual) }
        if geo.p * geo.q >= winogradOnTheSpotArea {
            return winogradForward(x, WinogradFilter(weight: weight), bias, geo, activation: activation,
                                   residual: residual)
        }
    }
    if let inputScale {
        precondition(geo.isPointwise && geo.groups == 1 && inputScale.count == geo.n * geo.c,
                     "conv2d: inputScale needs a 1×1 conv with one group and N·C factors")
    }
    let pq = geo.p * geo.q, kg = geo.kg, rows = geo.colRows
    // im2col writes every element of the column buffer, padding zeros included: no need to clear it first.
    var col = [Float](unsafeUninitializedCapacity: geo.isPointwise ? 0 : rows * pq) { $1 = $0.count }
    // W·(x ⊙ s) = (W ⊙ sᵀ)·x: scale whichever is smaller, the K×C weights (early layers, large H×W) or the C×H×W
    // input (late layers, where K exceeds H×W). The input is pointwise here, so a scaled copy is its own source.
    let scalesInput = inputScale != nil && geo.k > pq
    var scaled = [Float](repeating: 0, count: inputScale == nil ? 0 : (scalesInput ? geo.c * pq : geo.k * geo.c))
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    let biasValues = bias?.data ?? [], residualValues = residual?.data ?? []
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
          residualValues.withUnsafeBufferPointer { rp in
          biasValues.withUnsafeBufferPointer { bp in
            weight.data.withUnsafeBufferPointer { wOriginal in
              scaled.withUnsafeMutableBufferPointer { sw in
                col.withUnsafeMutableBufferPointer { cp in
                    for n in 0..<geo.n {
                        var wp = wOriginal
                        if let inputScale, scalesInput {
                            inputScale.data.withUnsafeBufferPointer { s in
                                let sn = s.baseAddress! + n * geo.c, from = xp.baseAddress! + n * geo.c * pq
                                let to = sw.baseAddress!
                                Engine.parallelFor(geo.c, minimumPerThread: max(1, 16_384 / max(pq, 1))) { c in
                                    let (planeFrom, planeTo, factor) = (from + c * pq, to + c * pq, sn[c])
                                    for i in 0..<pq { planeTo[i] = planeFrom[i] * factor }
                                }
                            }
                        } else if let inputScale {
                            inputScale.data.withUnsafeBufferPointer { s in
                                let sn = s.baseAddress! + n * geo.c, (from, to) = (wOriginal.baseAddress!, sw.baseAddress!)
                                Engine.parallelFor(geo.k, minimumPerThread: max(1, 16_384 / max(geo.c, 1))) { k in
                                    let (rowFrom, rowTo) = (from + k * geo.c, to + k * geo.c)
                                    for c in 0..<geo.c { rowTo[c] = rowFrom[c] * sn[c] }
                                }
                            }
                            wp = UnsafeBufferPointer(sw)
                        }
                        for g in 0..<geo.groups {
                            let xg = xp.baseAddress! + (n * geo.c + g * geo.cg) * geo.h * geo.w
                            let source: UnsafePointer<Float>
                            if scalesInput {
                                source = UnsafePointer(sw.baseAddress!)
                            } else if geo.isPointwise {
                                source = xg
                            } else {
                                im2col(xg, geo, into: cp.baseAddress!)
                                source = UnsafePointer(cp.baseAddress!)
                            }
                            let out = yp.baseAddress! + (n * geo.k + g * kg) * pq
                            let groupBias = bias == nil ? nil : bp.baseAddress! + g * kg
                            let groupResidual = residual == nil ? nil : rp.baseAddress! + (n * geo.k + g * kg) * pq
                            if pq >= gemmBlockColumns {
                                gemmForward(m: kg, n: pq, k: rows, w: wp.baseAddress! + g * kg * rows, ldw: rows,
                                            x: source, ldx: pq, y: out, ldy: pq, bias: groupBias,
                                            activation: activation, residual: groupResidual)
                                continue
                            }
                            if pq == 1 {
                                gemvForward(m: kg, k: rows, w: wp.baseAddress! + g * kg * rows, ldw: rows, x: source,
                                            y: out, bias: groupBias, residual: groupResidual, activation: activation)
                                continue
                            }
                            // Other narrow outputs (2 to 31 columns): OpenBLAS. The bias is the tile's starting value;
                            // the residual and the activation follow per tile while it is still in cache.
                            sgemm(m: kg, n: pq, k: rows, a: wp.baseAddress! + g * kg * rows, lda: rows,
                                  b: source, ldb: pq, c: out, ldc: pq,
                                  rowBias: groupBias) { channels, columns in
                                for ch in channels {
                                    let at = ch * pq + columns.lowerBound
                                    if let groupResidual { addInPlace(out + at, groupResidual + at, columns.count) }
                                    activation.apply(out + at, columns.count)
                                }
                            }
                        }
                    }
                }
              }
            }
          }
          }
        }
    }
    return y
}

/// y = activation(W·x + bias + residual) for a convolution with one group from packed weights
/// (`PackedWeights`, the weight [K, C, R, S] as K × C·R·S), image by image: 1×1 stride-1 maps straight from the
/// input, others through im2col. Maps of under 32 outputs take the micro-kernel's 16-wide and dot-column tails
/// (the plain path hands them to OpenBLAS, so there the two differ in the last bits).
/// `inputScale` ([N·C], 1×1 convs only) multiplies input channel c of sample n first, scaling whichever is
/// smaller as `conv2dForward` does (the same bits): the weights, packed, or the input.
func convForwardPacked(_ x: Tensor, _ packed: PackedWeights, _ bias: Tensor?, _ geo: ConvGeometry,
                       activation: Activation, inputScale: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
    precondition(geo.groups == 1 && packed.shape == [geo.k, geo.c, geo.r, geo.s],
                 "conv2d: packed weights \(packed.shape) do not fit the convolution \(geo)")
    if let bias { precondition(bias.count == geo.k, "conv2d: bias has \(bias.count) values for \(geo.k) channels") }
    if let residual {
        precondition(residual.shape == geo.outputShape, "conv2d: residual \(residual.shape) is not \(geo.outputShape)")
    }
    if let inputScale {
        precondition(geo.isPointwise && inputScale.count == geo.n * geo.c,
                     "conv2d: inputScale needs a 1×1 conv and N·C factors")
    }
    let pq = geo.p * geo.q, rows = geo.colRows
    let scalesInput = inputScale != nil && geo.k > pq
    let band = geo.isPointwise ? pq : im2colBand(rows: rows, columns: pq)
    var col = [Float](unsafeUninitializedCapacity: geo.isPointwise && !scalesInput ? 0 : rows * band) { $1 = $0.count }
    var scaled = [Float](unsafeUninitializedCapacity: inputScale != nil && !scalesInput ? packed.data.count : 0) {
        $1 = $0.count
    }
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
          (residual?.data ?? []).withUnsafeBufferPointer { rp in
            packed.data.withUnsafeBufferPointer { wp in
              col.withUnsafeMutableBufferPointer { cp in
              scaled.withUnsafeMutableBufferPointer { sp in
              (inputScale?.data ?? []).withUnsafeBufferPointer { factors in
                (bias?.data ?? []).withUnsafeBufferPointer { bp in
                    for n in 0..<geo.n {
                        let image = xp.baseAddress! + n * geo.c * geo.h * geo.w
                        var weights = wp.baseAddress!
                        let source: UnsafePointer<Float>
                        if inputScale != nil && scalesInput {
                            let (sn, to) = (factors.baseAddress! + n * geo.c, cp.baseAddress!)
                            Engine.parallelFor(geo.c, minimumPerThread: max(1, 16_384 / max(pq, 1))) { c in
                                let (planeFrom, planeTo, factor) = (image + c * pq, to + c * pq, sn[c])
                                for i in 0..<pq { planeTo[i] = planeFrom[i] * factor }
                            }
                            source = UnsafePointer(to)
                        } else if geo.isPointwise {
                            source = image
                        } else {
                            // In bands of columns, each unfolded into the same buffer while the last is in cache.
                            for first in stride(from: 0, to: pq, by: band) {
                                let columns = first..<min(pq, first + band)
                                im2col(image, geo, columns: columns, into: cp.baseAddress!)
                                gemmForward(m: geo.k, n: columns.count, k: rows, w: weights, ldw: rows,
                                            x: cp.baseAddress!, ldx: columns.count,
                                            y: yp.baseAddress! + n * geo.k * pq + first, ldy: pq,
                                            bias: bias == nil ? nil : bp.baseAddress!, activation: activation,
                                            packedW: true,
                                            residual: residual == nil ? nil : rp.baseAddress! + n * geo.k * pq + first)
                            }
                            continue
                        }
                        if inputScale != nil && !scalesInput {
                            scalePackedWeights(wp.baseAddress!, rows: geo.k, columns: geo.c,
                                               scale: factors.baseAddress! + n * geo.c, into: sp.baseAddress!)
                            weights = UnsafePointer(sp.baseAddress!)
                        }
                        gemmForward(m: geo.k, n: pq, k: rows, w: weights, ldw: rows, x: source, ldx: pq,
                                    y: yp.baseAddress! + n * geo.k * pq, ldy: pq,
                                    bias: bias == nil ? nil : bp.baseAddress!, activation: activation, packedW: true,
                                    residual: residual == nil ? nil : rp.baseAddress! + n * geo.k * pq)
                    }
                }
              }
              }
              }
            }
          }
        }
    }
    return y
}

// MARK: - im2col / col2im

/// Columns of the im2col matrix unfolded at a time for the packed forward: all of them up to 1 MB of matrix, else
/// bands of a multiple of the product's 48-column blocks (so every block of the product is the one the whole
/// matrix would give, and so are the bits) of about 384 KB, which the product reads back from L2. ResNet's 7×7
/// stem at 224×224 unfolds 7.4 MB, written to memory and read back whole on a core with a 1.25 MB L2.
func im2colBand(rows: Int, columns: Int) -> Int {
    guard rows * columns > 1 << 18 else { return columns }
    return max(6 * gemmWideColumns, (96 << 10) / max(1, rows) / gemmWideColumns * gemmWideColumns)
}

/// Unfolds the Cg input channels at `x` into rows (ci, ky, kx) × columns (oy, ox), zero where padded: the output
/// positions `columns` of them (all by default), rows `columns.count` floats apart.
func im2col(_ x: UnsafePointer<Float>, _ geo: ConvGeometry, columns: Range<Int>? = nil,
            into col: UnsafeMutablePointer<Float>) {
    let (h, w, p, q, r, s) = (geo.h, geo.w, geo.p, geo.q, geo.r, geo.s)
    let (sh, sw, dh, dw) = (geo.stride.h, geo.stride.w, geo.dilation.h, geo.dilation.w)
    let (pt, pl) = (geo.padding.top, geo.padding.left)
    let columns = columns ?? 0..<(p * q)
    guard !columns.isEmpty else { return }
    let firstRow = columns.lowerBound / q, lastRow = (columns.upperBound - 1) / q
    Engine.parallelFor(geo.colRows, minimumPerThread: 8) { row in
        let ci = row / (r * s), ky = (row / s) % r, kx = row % s
        let plane = x + ci * h * w
        let out = col + row * columns.count - columns.lowerBound
        let (lo, hi) = validRange(outputs: q, input: w, offset: kx * dw - pl, stride: sw)
        for oy in firstRow...lastRow {
            // This output row's columns within the range: [a, b).
            let a = max(0, columns.lowerBound - oy * q), b = min(q, columns.upperBound - oy * q)
            let iy = oy * sh - pt + ky * dh
            let dst = out + oy * q
            guard iy >= 0 && iy < h else {
                (dst + a).update(repeating: 0, count: b - a)
                continue
            }
            let src = plane + iy * w + kx * dw - pl
            let (from, to) = (max(a, lo), min(b, hi))
            for ox in a..<max(a, min(b, lo)) { dst[ox] = 0 }
            if sw == 1 {
                if to > from { (dst + from).update(from: src + from, count: to - from) }
            } else {
                var ox = from
                if sw == 2 {
                    // 16 outputs from the even lanes of 32 inputs, while all 32 lie inside the input row.
                    let offset = kx * dw - pl
                    while ox + 16 <= to && offset + 2 * ox + 31 < w {
                        storeEvens(src + 2 * ox, dst + ox)
                        ox += 16
                    }
                }
                while ox < to { dst[ox] = src[ox * sw]; ox += 1 }
            }
            for ox in min(b, max(a, lo, hi))..<b { dst[ox] = 0 }
        }
    }
}

/// to[0..<16] = from[0], from[2], …, from[30]: one two-source permute.
@inline(__always)
private func storeEvens(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>) {
    let a = UnsafeRawPointer(from).loadUnaligned(as: SIMD16<Float>.self)
    let b = UnsafeRawPointer(from + 16).loadUnaligned(as: SIMD16<Float>.self)
    let evens = SIMD16(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14])
    UnsafeMutableRawPointer(to).storeBytes(of: evens, as: SIMD16<Float>.self)
}

/// Folds columns back onto the input (the adjoint of im2col), adding into `x`.
func col2im(_ col: UnsafePointer<Float>, _ geo: ConvGeometry, addingInto x: UnsafeMutablePointer<Float>) {
    let (h, w, p, q, r, s) = (geo.h, geo.w, geo.p, geo.q, geo.r, geo.s)
    let (sh, sw, dh, dw) = (geo.stride.h, geo.stride.w, geo.dilation.h, geo.dilation.w)
    let (pt, pl) = (geo.padding.top, geo.padding.left)
    // One channel per parallel item: rows of different channels never touch the same input plane.
    Engine.parallelFor(geo.cg) { ci in
        let plane = x + ci * h * w
        for ky in 0..<r {
            for kx in 0..<s {
                let src = col + ((ci * r + ky) * s + kx) * p * q
                let (lo, hi) = validRange(outputs: q, input: w, offset: kx * dw - pl, stride: sw)
                for oy in 0..<p {
                    let iy = oy * sh - pt + ky * dh
                    guard iy >= 0 && iy < h else { continue }
                    let dst = plane + iy * w + kx * dw - pl
                    let row = src + oy * q
                    for ox in lo..<max(lo, hi) { dst[ox * sw] += row[ox] }
                }
            }
        }
    }
}

/// The outputs ox in lo..<hi whose input column ox·stride + offset lies inside 0..<input.
@inline(__always)
func validRange(outputs: Int, input: Int, offset: Int, stride: Int) -> (Int, Int) {
    // ceil(−offset / stride) and ceil((input − offset) / stride), clamped to the outputs.
    func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
    let lo = min(max(ceilDiv(-offset, stride), 0), outputs)
    let hi = min(max(ceilDiv(input - offset, stride), 0), outputs)
    return (lo, hi)
}

// MARK: - Backward

/// d x from d y: per group, col = Wᵀ · dy, then col2im.
func conv2dBackwardInput(_ dy: Tensor, _ weight: Tensor, _ geo: ConvGeometry) -> Tensor {
    if geo.isDepthwise { return depthwiseBackwardInput(dy, weight, geo) }
    let pq = geo.p * geo.q, kg = geo.kg, rows = geo.colRows
    var dx = Tensor(shape: [geo.n, geo.c, geo.h, geo.w])
    // sgemm (beta 0) writes every element of the column buffer.
    var col = [Float](unsafeUninitializedCapacity: geo.isPointwise ? 0 : rows * pq) { $1 = $0.count }
    dx.data.withUnsafeMutableBufferPointer { dxp in
        dy.data.withUnsafeBufferPointer { dyp in
            weight.data.withUnsafeBufferPointer { wp in
                col.withUnsafeMutableBufferPointer { cp in
                    for n in 0..<geo.n {
                        for g in 0..<geo.groups {
                            let dxg = dxp.baseAddress! + (n * geo.c + g * geo.cg) * geo.h * geo.w
                            let dyg = dyp.baseAddress! + (n * geo.k + g * kg) * pq
                            let wg = wp.baseAddress! + g * kg * rows
                            if geo.isPointwise {
                                sgemm(transA: true, m: rows, n: pq, k: kg, a: wg, lda: rows, b: dyg, ldb: pq,
                                      c: dxg, ldc: pq)
                            } else {
                                sgemm(transA: true, m: rows, n: pq, k: kg, a: wg, lda: rows, b: dyg, ldb: pq,
                                      c: cp.baseAddress!, ldc: pq)
                                col2im(cp.baseAddress!, geo, addingInto: dxg)
                            }
                        }
                    }
                }
            }
        }
    }
    return dx
}

/// d weight from d y and the kept input: per group, dW += dy · colᵀ, summed over the batch.
func conv2dBackwardWeight(_ dy: Tensor, _ x: Tensor, _ geo: ConvGeometry) -> Tensor {
    if geo.isDepthwise { return depthwiseBackwardWeight(dy, x, geo) }
    let pq = geo.p * geo.q, kg = geo.kg, rows = geo.colRows
    var dw = Tensor(shape: [geo.k, geo.cg, geo.r, geo.s])
    var col = [Float](unsafeUninitializedCapacity: geo.isPointwise ? 0 : rows * pq) { $1 = $0.count }
    dw.data.withUnsafeMutableBufferPointer { dwp in
        dy.data.withUnsafeBufferPointer { dyp in
            x.data.withUnsafeBufferPointer { xp in
                col.withUnsafeMutableBufferPointer { cp in
                    for n in 0..<geo.n {
                        for g in 0..<geo.groups {
                            let xg = xp.baseAddress! + (n * geo.c + g * geo.cg) * geo.h * geo.w
                            let source: UnsafePointer<Float>
                            if geo.isPointwise {
                                source = xg
                            } else {
                                im2col(xg, geo, into: cp.baseAddress!)
                                source = UnsafePointer(cp.baseAddress!)
                            }
                            sgemm(transB: true, m: kg, n: rows, k: pq, a: dyp.baseAddress! + (n * geo.k + g * kg) * pq,
                                  lda: pq, b: source, ldb: pq, beta: n == 0 ? 0 : 1,
                                  c: dwp.baseAddress! + g * kg * rows, ldc: rows)
                        }
                    }
                }
            }
        }
    }
    return dw
}

/// d bias: d y summed over batch and space, per channel (accumulated in Double).
func channelSums(_ dy: Tensor) -> Tensor {
    let (n, c, h, w) = dy.nchw
    var sums = [Float](repeating: 0, count: c)
    dy.data.withUnsafeBufferPointer { p in
        sums.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            // One channel per worker, batch items in order: the sums do not depend on the thread count.
            Engine.parallelFor(c, minimumPerThread: max(1, 16_384 / max(n * h * w, 1))) { ch in
                var acc = 0.0
                for b in 0..<n { acc += blockedSum(p.baseAddress! + (b * c + ch) * h * w, h * w) }
                outBase[ch] = Float(acc)
            }
        }
    }
    return Tensor(shape: [c], data: sums)
}

/// Σ a·b per channel over batch and space (accumulated in Double, in the fixed order of Reductions.swift).
func channelDots(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "channelDots: shapes \(a.shape) and \(b.shape)")
    let (n, c, h, w) = a.nchw
    var sums = [Float](repeating: 0, count: c)
    a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            sums.withUnsafeMutableBufferPointer { out in
                let outBase = out.baseAddress!
                Engine.parallelFor(c, minimumPerThread: max(1, 16_384 / max(n * h * w, 1))) { ch in
                    var acc = 0.0
                    for item in 0..<n {
                        let offset = (item * c + ch) * h * w
                        acc += blockedDot(ap.baseAddress! + offset, bp.baseAddress! + offset, h * w)
                    }
                    outBase[ch] = Float(acc)
                }
            }
        }
    }
    return Tensor(shape: [c], data: sums)
}

// MARK: - Naive reference

/// Direct seven-loop conv2d in Double: the reference the fast paths are tested against.
func conv2dNaive(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry) -> Tensor {
    var y = [Float](repeating: 0, count: geo.n * geo.k * geo.p * geo.q)
    for n in 0..<geo.n {
        for k in 0..<geo.k {
            let g = k / geo.kg
            for oy in 0..<geo.p {
                for ox in 0..<geo.q {
                    var acc = Double(bias?.data[k] ?? 0)
                    for ci in 0..<geo.cg {
                        let c = g * geo.cg + ci
                        for ky in 0..<geo.r {
                            let iy = oy * geo.stride.h - geo.padding.top + ky * geo.dilation.h
                            guard iy >= 0 && iy < geo.h else { continue }
                            for kx in 0..<geo.s {
                                let ix = ox * geo.stride.w - geo.padding.left + kx * geo.dilation.w
                                guard ix >= 0 && ix < geo.w else { continue }
                                acc += Double(x.data[((n * geo.c + c) * geo.h + iy) * geo.w + ix])
                                    * Double(weight.data[((k * geo.cg + ci) * geo.r + ky) * geo.s + kx])
                            }
                        }
                    }
                    y[((n * geo.k + k) * geo.p + oy) * geo.q + ox] = Float(acc)
                }
            }
        }
    }
    return Tensor(shape: geo.outputShape, data: y)
}

// MARK: - Graph op

extension Graph {
    /// A 3×3 stride-1 convolution from its Winograd filter (see `WinogradFilter`), for inference: the layer
    /// keeps the transformed weights instead of the plain ones. Not for recording graphs (no weight, no backward).
    /// `residual` is added before the activation, as in `conv2d(_:weight:)`.
    public func conv2d(_ x: Variable, winograd filter: WinogradFilter, bias: Variable? = nil,
                       padding: Padding2D = .zero, activation: Activation = .identity,
                       residual: Variable? = nil) -> Variable {
        precondition(!isRecording, "conv2d(winograd:) has no backward; a recording graph needs the plain weight")
        let geo = ConvGeometry(input: x.shape, weight: [filter.k, filter.c, 3, 3], stride: 1, padding: padding,
                               dilation: 1, groups: 1)
        return Variable(timed("conv winograd 3x3/1 \(geo.c)→\(geo.k) at \(geo.h)×\(geo.w)\(residual == nil ? "" : " +residual")") {
            winogradForward(x.tensor, filter, bias?.tensor, geo, activation: activation, residual: residual?.tensor)
        })
    }

    /// A convolution with one group from packed weights (see `PackedWeights`), for inference: the layer keeps
    /// its folded weights in the micro-kernel's order instead of the plain ones. `residual` as in
    /// `conv2d(_:weight:)`. Not for recording graphs (no backward).
    public func conv2d(_ x: Variable, packed: PackedWeights, bias: Variable? = nil, stride: Size2D = 1,
                       padding: Padding2D = .zero, activation: Activation = .identity, inputScale: Variable? = nil,
                       residual: Variable? = nil) -> Variable {
        precondition(!isRecording, "conv2d(packed:) has no backward; a recording graph needs the plain weight")
        precondition(packed.shape.count == 4, "conv2d: packed weights \(packed.shape) are not a conv's [K, C, R, S]")
        let geo = ConvGeometry(input: x.shape, weight: packed.shape, stride: stride, padding: padding,
                               dilation: 1, groups: 1)
        if let scale = inputScale {
            precondition(scale.shape == [geo.n, geo.c, 1, 1] && geo.isPointwise,
                         "conv2d: inputScale \(scale.shape) needs a 1×1 conv and [\(geo.n), \(geo.c), 1, 1]")
        }
        let path = inputScale != nil ? "conv 1x1 packed input-scaled" : geo.isPointwise ? "conv 1x1 packed" : "conv im2col packed"
        let plus = residual == nil ? "" : " +residual"
        return Variable(timed("\(path) \(geo.r)x\(geo.s)/\(geo.stride.h) \(geo.c)→\(geo.k) at \(geo.h)×\(geo.w)\(plus)") {
            convForwardPacked(x.tensor, packed, bias?.tensor, geo, activation: activation, inputScale: inputScale?.tensor,
                              residual: residual?.tensor)
        })
    }

    /// 2-D convolution as PyTorch's `F.conv2d`, with optional bias and a fused activation.
    ///
    /// - Parameters:
    ///   - x: input [N, C, H, W].
    ///   - weight: [K, C/groups, R, S].
    ///   - bias: [K] or nil.
    ///   - padding: explicit zero padding; asymmetric values express TensorFlow SAME (`Padding2D.same`).
    ///   - activation: applied to the output; fused into the conv when not recording.
    ///   - inputScale: [N, C, 1, 1] factors multiplied into the input's channels first (a squeeze-excite gate);
    ///     for a 1×1 conv in inference they are folded into per-sample weights instead of touching the input.
    ///   - inputActivation: applied to the input first (Xception's ReLU before a separable conv); fused into
    ///     the depthwise kernel in inference, a separate op in a recording graph.
    ///   - residual: a tensor of the output's shape added before the activation (a shortcut connection,
    ///     `activation(conv(x) + residual)`); fused into the conv's epilogue in inference, an add op when recording.
    /// ```swift
    /// let y = g.conv2d(x, weight: w, bias: b, stride: 2, padding: 1, activation: .silu)
    /// ```
    public func conv2d(_ x: Variable, weight: Variable, bias: Variable? = nil, stride: Size2D = 1,
                       padding: Padding2D = .zero, dilation: Size2D = 1, groups: Int = 1,
                       activation: Activation = .identity, inputScale: Variable? = nil,
                       inputActivation: Activation = .identity, residual: Variable? = nil) -> Variable {
        let geo = ConvGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding,
                               dilation: dilation, groups: groups)
        if let residual {
            precondition(residual.shape == geo.outputShape, "conv2d: residual \(residual.shape) is not \(geo.outputShape)")
        }
        // An activation of the input: fused into the depthwise kernels in plain inference, a graph op otherwise.
        if inputActivation != .identity && (isRecording || !geo.isDepthwise || inputScale != nil) {
            return conv2d(activate(x, inputActivation), weight: weight, bias: bias, stride: stride, padding: padding,
                          dilation: dilation, groups: groups, activation: activation, inputScale: inputScale,
                          residual: residual)
        }
        // A shortcut: in a recording graph, the conv, an add and the activation, so gradients reach both.
        if let residual, isRecording {
            let y = conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                           groups: groups, inputScale: inputScale)
            return activate(add(y, residual), activation)
        }
        let plus = residual == nil ? "" : " +residual"
        if let scale = inputScale {
            precondition(scale.shape == [geo.n, geo.c, 1, 1], "conv2d: inputScale \(scale.shape) is not [\(geo.n), \(geo.c), 1, 1]")
            guard !isRecording && geo.isPointwise && groups == 1 else {
                return conv2d(multiply(x, scale), weight: weight, bias: bias, stride: stride, padding: padding,
                              dilation: dilation, groups: groups, activation: activation, residual: residual)
            }
            return Variable(timed("conv 1x1 input-scaled \(geo.c)→\(geo.k) at \(geo.h)×\(geo.w)\(plus)") {
                conv2dForward(x.tensor, weight.tensor, bias?.tensor, geo, activation: activation, inputScale: scale.tensor,
                              residual: residual?.tensor)
            })
        }
        // The profile's key: the path and the shape (built only when profiling).
        func kind() -> String {
            let path = geo.isDepthwise ? (inputActivation == .identity ? "conv depthwise" : "conv \(inputActivation)+depthwise")
                : geo.isPointwise ? "conv 1x1"
                : winogradApplies(geo) && geo.p * geo.q >= winogradOnTheSpotArea ? "conv winograd" : "conv im2col"
            return "\(path) \(geo.r)x\(geo.s)/\(geo.stride.h) \(geo.c)→\(geo.k) at \(geo.h)×\(geo.w)\(plus)"
        }
        guard isRecording else {
            return Variable(timed(kind()) {
                conv2dForward(x.tensor, weight.tensor, bias?.tensor, geo, activation: activation,
                              inputActivation: inputActivation, residual: residual?.tensor)
            })
        }
        let y = timed(kind()) { conv2dForward(x.tensor, weight.tensor, bias?.tensor, geo) }
        let xt = x.tensor, wt = weight.tensor
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        let out = record(y, inputs: inputs) { dy, wanted in
            var grads: [Tensor?] = [
                wanted[0] ? conv2dBackwardInput(dy, wt, geo) : nil,
                wanted[1] ? conv2dBackwardWeight(dy, xt, geo) : nil,
            ]
            if wanted.count > 2 { grads.append(wanted[2] ? channelSums(dy) : nil) }
            return grads
        }
        return activate(out, activation)
    }
}
