// DepthwiseBlocked: the depthwise forward on blocks of 16 channels, one vector per pixel.
//
// Letters as in DepthwiseConv.swift (channel multiplier 1 here: K = C).
// The plane-wise kernels vectorise along a row, which wastes lanes and passes on the small planes of late
// stages (7×7 and 14×14: vectors run over padding, rows end in scalar tails) and needs a deinterleaving copy for
// stride 2. Here 16 channels are first interleaved into a zero-padded [H+pad][W+pad][16] buffer, so one
// 16-lane vector holds one pixel of 16 channels: every tap is one vector FMA whatever the plane size, stride
// or padding, the 16 weights of a tap are one vector, and bias and activation apply to whole vectors. The
// result is interleaved back into the output planes. Each output is bias + Σ taps in (ky, kx) order.

private typealias Pixel = SIMD16<Float>
private let blockChannels = 16

// Private copies of the vector helpers (see PackedGemm.swift: debug builds do not inline across files).
@inline(__always) private func fused(_ acc: Pixel, _ a: Pixel, _ b: Pixel) -> Pixel {
    #if DEEPSCOPE_FMA
    return acc.addingProduct(a, b)
    #else
    return acc + a * b
    #endif
}

@inline(__always) private func load(_ p: UnsafePointer<Float>) -> Pixel {
    UnsafeRawPointer(p).loadUnaligned(as: Pixel.self)
}

@inline(__always) private func store(_ v: Pixel, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Pixel.self)
}

/// Whether the channel-blocked kernel handles this geometry (multiplier 1, no dilation, no negative padding).
func depthwiseUsesBlocks(_ geo: ConvGeometry) -> Bool {
    geo.k == geo.c && geo.dilation == 1 && geo.padding.top >= 0 && geo.padding.left >= 0
}

func depthwiseForwardBlocked(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                             activation: Activation) -> Tensor {
    let (c, h, w, p, q, r, s) = (geo.c, geo.h, geo.w, geo.p, geo.q, geo.r, geo.s)
    let (sh, sw, pt, pl) = (geo.stride.h, geo.stride.w, geo.padding.top, geo.padding.left)
    // The padded rows and columns the outputs read (padding past the input is zero; input the outputs never
    // reach, as with bottom/right padding of stride 2, is skipped).
    let hp = (p - 1) * sh + r, wp = (q - 1) * sw + s
    let blocks = (c + blockChannels - 1) / blockChannels
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wtp in
                let yb = yp.baseAddress!, xb = xp.baseAddress!, wb = wtp.baseAddress!
                let biasValues = bias?.data
                let tapCount = r * s, tapChunks = (tapCount + blockChannels - 1) / blockChannels
                // Tap (ky, kx) reads the pixel ky rows and kx columns from an output's top-left input pixel.
                let tapOffsets = (0..<tapCount).map { t in (t / s * wp + t % s) * blockChannels }
                Engine.parallelChunks(geo.n * blocks) { items in
                  let padded = UnsafeMutablePointer<Float>.allocate(capacity: hp * wp * blockChannels)
                  let out = UnsafeMutablePointer<Float>.allocate(capacity: p * q * blockChannels)
                  let taps = UnsafeMutablePointer<Pixel>.allocate(capacity: tapChunks * blockChannels)
                  let stage = UnsafeMutablePointer<Float>.allocate(capacity: 768)
                  defer { padded.deallocate(); out.deallocate(); taps.deallocate(); stage.deallocate() }
                  padded.update(repeating: 0, count: hp * wp * blockChannels)
                  for item in items {
                    let n = item / blocks, c0 = item % blocks * blockChannels
                    let channels = min(blockChannels, c - c0)
                    // Weights as one vector per tap (a transpose of 16 channels × 16 taps at a time); absent
                    // channels of the last block get zero weights.
                    for chunk in 0..<tapChunks {
                        let first = chunk * blockChannels
                        transposeBlock(wb + c0 * tapCount + first, tapCount, rows: channels,
                                       columns: min(blockChannels, tapCount - first),
                                       into: UnsafeMutableRawPointer(taps + first).assumingMemoryBound(to: Float.self),
                                       blockChannels, outRows: blockChannels, outColumns: blockChannels, stage: stage)
                    }
                    var initial = Pixel()
                    for j in 0..<channels { initial[j] = biasValues?[c0 + j] ?? 0 }
                    // Interleave: padded[iy + pt][ix + pl][j] = x[c0 + j][iy][ix], by 16×16 transposes of 16
                    // channels × 16 consecutive pixels of the flat plane (rows of 7 or 14 pixels would leave most
                    // transposes partial), then one vector copy per pixel to its padded place. Every block writes
                    // the same interior, so the zero border is written once per worker.
                    let planes = xb + (n * c + c0) * h * w
                    var first = 0
                    while first < h * w {
                        let count = min(blockChannels, h * w - first), pixelVectors = stage + 512
                        transposeBlock(planes + first, h * w, rows: channels, columns: count, into: pixelVectors,
                                       blockChannels, outRows: count, outColumns: blockChannels, stage: stage)
                        var (iy, ix) = (first / w + pt, first % w + pl)
                        for i in 0..<count {
                            if iy < hp && ix < wp {
                                store(load(pixelVectors + i * blockChannels), padded + (iy * wp + ix) * blockChannels)
                            }
                            ix += 1
                            if ix == w + pl { (iy, ix) = (iy + 1, pl) }
                        }
                        first += count
                    }
                    // Four output pixels at a time, in flat order across rows (a 7-wide row would otherwise end in
                    // three single pixels, each one dependent FMA chain): four independent chains share each tap's
                    // weights, and a tap is one offset from each pixel's top-left corner.
                    @inline(__always) func corner(_ i: Int) -> UnsafePointer<Float> {
                        UnsafePointer(padded) + ((i / q) * sh * wp + (i % q) * sw) * blockChannels
                    }
                    let pixels = p * q
                    var i = 0
                    while i + 4 <= pixels {
                        let (b0, b1, b2, b3) = (corner(i), corner(i + 1), corner(i + 2), corner(i + 3))
                        var (a0, a1, a2, a3) = (initial, initial, initial, initial)
                        if sw == 1 && (s == 3 || s == 5) && i % q + 4 <= q {
                            // Four neighbours in one row: tap kx of pixel j reads the vector tap kx + 1 of pixel
                            // j − 1 reads, so each kernel row loads 4 + s − 1 vectors instead of 4·s (same sums, same
                            // order).
                            for ky in 0..<r {
                                let line = b0 + ky * wp * blockChannels, wk = taps + ky * s
                                @inline(__always) func v(_ j: Int) -> Pixel { load(line + j * blockChannels) }
                                if s == 3 {
                                    let (x0, x1, x2, x3, x4, x5) = (v(0), v(1), v(2), v(3), v(4), v(5))
                                    let (w0, w1, w2) = (wk[0], wk[1], wk[2])
                                    a0 = fused(fused(fused(a0, w0, x0), w1, x1), w2, x2)
                                    a1 = fused(fused(fused(a1, w0, x1), w1, x2), w2, x3)
                                    a2 = fused(fused(fused(a2, w0, x2), w1, x3), w2, x4)
                                    a3 = fused(fused(fused(a3, w0, x3), w1, x4), w2, x5)
                                } else {
                                    let (x0, x1, x2, x3) = (v(0), v(1), v(2), v(3))
                                    let (x4, x5, x6, x7) = (v(4), v(5), v(6), v(7))
                                    let (w0, w1, w2, w3, w4) = (wk[0], wk[1], wk[2], wk[3], wk[4])
                                    a0 = fused(fused(fused(fused(fused(a0, w0, x0), w1, x1), w2, x2), w3, x3), w4, x4)
                                    a1 = fused(fused(fused(fused(fused(a1, w0, x1), w1, x2), w2, x3), w3, x4), w4, x5)
                                    a2 = fused(fused(fused(fused(fused(a2, w0, x2), w1, x3), w2, x4), w3, x5), w4, x6)
                                    a3 = fused(fused(fused(fused(fused(a3, w0, x3), w1, x4), w2, x5), w3, x6), w4, x7)
                                }
                            }
                            storeFour(a0, a1, a2, a3, at: out + i * blockChannels)
                            i += 4
                            continue
                        }
                        for t in 0..<tapCount {
                            let wv = taps[t], at = tapOffsets[t]
                            a0 = fused(a0, wv, load(b0 + at)); a1 = fused(a1, wv, load(b1 + at))
                            a2 = fused(a2, wv, load(b2 + at)); a3 = fused(a3, wv, load(b3 + at))
                        }
                        storeFour(a0, a1, a2, a3, at: out + i * blockChannels)
                        i += 4
                    }
                    while i < pixels {
                        let b0 = corner(i)
                        var a = initial
                        for t in 0..<tapCount { a = fused(a, taps[t], load(b0 + tapOffsets[t])) }
                        store(a, out + i * blockChannels)
                        i += 1
                    }
                    activation.apply(out, p * q * blockChannels)
                    // De-interleave into the output planes, 16 pixels at a time.
                    let outPlanes = yb + (n * c + c0) * p * q
                    var pixel = 0
                    while pixel < p * q {
                        let count = min(blockChannels, p * q - pixel)
                        transposeBlock(out + pixel * blockChannels, blockChannels, rows: count, columns: blockChannels,
                                       into: outPlanes + pixel, p * q, outRows: channels, outColumns: count, stage: stage)
                        pixel += count
                    }
                  }
                }
            }
        }
    }
    return y
}

/// Four consecutive pixel vectors.
@inline(__always) private func storeFour(_ a0: Pixel, _ a1: Pixel, _ a2: Pixel, _ a3: Pixel,
                                         at dst: UnsafeMutablePointer<Float>) {
    store(a0, dst); store(a1, dst + blockChannels); store(a2, dst + 2 * blockChannels); store(a3, dst + 3 * blockChannels)
}

// MARK: - 16×16 transpose

/// Transposes a block of up to 16×16: dst row i (stride ld), for i < outRows, gets the first outColumns values of
/// column i of the `rows` × `columns` block at src (row stride ls), the block's missing rows and columns read as
/// zero. A full block goes straight through `transpose16`; a partial one through `stage` (512 floats), so the
/// block's edges (the last channels, pixels or taps) never read or write past their arrays.
@inline(__always)
private func transposeBlock(_ src: UnsafePointer<Float>, _ ls: Int, rows: Int, columns: Int,
                            into dst: UnsafeMutablePointer<Float>, _ ld: Int, outRows: Int, outColumns: Int,
                            stage: UnsafeMutablePointer<Float>) {
    if rows == 16 && columns == 16 && outRows == 16 && outColumns == 16 {
        transpose16(src, ls, dst, ld)
        return
    }
    stage.update(repeating: 0, count: 256)
    for j in 0..<rows { (stage + j * 16).update(from: src + j * ls, count: columns) }
    transpose16(stage, 16, stage + 256, 16)
    for i in 0..<outRows { (dst + i * ld).update(from: stage + 256 + i * 16, count: outColumns) }
}

@inline(__always) private func zipLow(_ a: Pixel, _ b: Pixel) -> Pixel {
    Pixel(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
}

@inline(__always) private func zipHigh(_ a: Pixel, _ b: Pixel) -> Pixel {
    Pixel(a[8], b[8], a[9], b[9], a[10], b[10], a[11], b[11], a[12], b[12], a[13], b[13], a[14], b[14], a[15], b[15])
}

/// dst row i (stride ld) = column i of the 16×16 block at src (row stride ls). Four rounds of pairing row i with
/// row i + 8 and interleaving their halves transpose the block; each interleave is built from the lanes of two
/// vectors, which compiles to one two-source permute (the plain loop compiled to gathers and scatters, 5× slower).
@inline(__always)
private func transpose16(_ src: UnsafePointer<Float>, _ ls: Int, _ dst: UnsafeMutablePointer<Float>, _ ld: Int) {
    var (r0, r1, r2, r3) = (load(src), load(src + ls), load(src + 2 * ls), load(src + 3 * ls))
    var (r4, r5, r6, r7) = (load(src + 4 * ls), load(src + 5 * ls), load(src + 6 * ls), load(src + 7 * ls))
    var (r8, r9, r10, r11) = (load(src + 8 * ls), load(src + 9 * ls), load(src + 10 * ls), load(src + 11 * ls))
    var (r12, r13, r14, r15) = (load(src + 12 * ls), load(src + 13 * ls), load(src + 14 * ls), load(src + 15 * ls))
    for _ in 0..<4 {
        (r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15) =
            (zipLow(r0, r8), zipHigh(r0, r8), zipLow(r1, r9), zipHigh(r1, r9), zipLow(r2, r10), zipHigh(r2, r10),
             zipLow(r3, r11), zipHigh(r3, r11), zipLow(r4, r12), zipHigh(r4, r12), zipLow(r5, r13), zipHigh(r5, r13),
             zipLow(r6, r14), zipHigh(r6, r14), zipLow(r7, r15), zipHigh(r7, r15))
    }
    store(r0, dst); store(r1, dst + ld); store(r2, dst + 2 * ld); store(r3, dst + 3 * ld)
    store(r4, dst + 4 * ld); store(r5, dst + 5 * ld); store(r6, dst + 6 * ld); store(r7, dst + 7 * ld)
    store(r8, dst + 8 * ld); store(r9, dst + 9 * ld); store(r10, dst + 10 * ld); store(r11, dst + 11 * ld)
    store(r12, dst + 12 * ld); store(r13, dst + 13 * ld); store(r14, dst + 14 * ld); store(r15, dst + 15 * ld)
}
