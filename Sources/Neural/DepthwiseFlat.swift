// DepthwiseFlat: the depthwise 3×3 stride-1 forward on planes of at least 16×16 (Xception's 19×19 to 147×147,
// B4's 56×56 and 112×112).
//
// Letters as in DepthwiseConv.swift (channel multiplier 1 here: K = C).
// Each plane is copied into a zero-bordered scratch plane one column wider on each side, and the outputs are
// computed over that plane's flat index: output i (at padded row i / (W + 2), column i % (W + 2)) is the sum of
// the nine values at i + ky·(W + 2) + kx. The two wrap-around columns per row are computed and thrown away, so
// the whole plane is one run of 16-lane vectors, nine FMAs each, with the nine weights held in registers, and no
// row ends in a scalar tail. Each output is bias + Σ taps in (ky, kx) order, as in the other depthwise kernels.
// Measured on one core against the kernels it replaces there (the channel blocks below 32×32, the padded planes
// above): 728 channels at 19×19 0.175 → 0.135 ms, at 37×37 0.72 → 0.45 ms; 192 at 56×56 0.33 → 0.26 ms; 256 at
// 74×74 1.17 → 1.10 ms; 128 at 147×147 2.5 → 2.3 ms; B4's 112×112 planes tie. At 14×14 and 10×10 the channel
// blocks stay faster.

private typealias Lanes = SIMD16<Float>

// Private copies of the vector helpers (see PackedGemm.swift: debug builds do not inline across files).
@inline(__always) private func fused(_ acc: Lanes, _ a: Lanes, _ b: Lanes) -> Lanes {
    #if DEEPSCOPE_FMA
    return acc.addingProduct(a, b)
    #else
    return acc + a * b
    #endif
}

@inline(__always) private func load(_ p: UnsafePointer<Float>) -> Lanes {
    UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

@inline(__always) private func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
}

/// Copies `count` floats in vectors and a scalar tail. The planes' rows are short (19 to 147 floats): a library
/// copy per row, two per row and plane, cost more than the nine multiply-adds per output (728 channels at 19×19
/// on one core: 0.28 → 0.10 ms).
@inline(__always) private func copyRow(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i + 16 <= count { store(load(from + i), to + i); i += 16 }
    while i < count { to[i] = from[i]; i += 1 }
}

/// Whether the flat kernel takes this geometry: 3×3, stride 1, no dilation, padding 1 all round, multiplier 1,
/// planes of at least 16×16 pixels.
func depthwiseUsesFlatPlanes(_ geo: ConvGeometry) -> Bool {
    geo.k == geo.c && geo.r == 3 && geo.s == 3 && geo.stride == 1 && geo.dilation == 1
        && geo.padding == Padding2D(1, 1) && geo.h * geo.w >= 256
}

/// y = activation(depthwise3×3(inputActivation(x)) + bias).
func depthwiseForwardFlat(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                          activation: Activation, inputActivation: Activation = .identity) -> Tensor {
    precondition(depthwiseUsesFlatPlanes(geo), "depthwise flat: unsupported geometry \(geo)")
    let (h, w) = (geo.h, geo.w)
    let paddedWidth = w + 2, paddedCount = (h + 2) * paddedWidth
    // Outputs over the padded width, in whole vectors; the last vector's taps read up to two rows and 2 + 15
    // columns past the last output, inside the slack after the plane (zero, never written).
    let outputs = h * paddedWidth, vectors = (outputs + 15) / 16
    let scratchCount = vectors * 16 + 2 * paddedWidth + 2
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wtp in
                let (yb, xb, wb) = (yp.baseAddress!, xp.baseAddress!, wtp.baseAddress!)
                let biasValues = bias?.data
                Engine.parallelChunks(geo.n * geo.c, minimumPerThread: 8) { planes in
                    let padded = UnsafeMutablePointer<Float>.allocate(capacity: max(paddedCount, scratchCount))
                    let out = UnsafeMutablePointer<Float>.allocate(capacity: vectors * 16)
                    defer { padded.deallocate(); out.deallocate() }
                    // The border and the slack are zero for every plane: only the interior is ever written.
                    padded.update(repeating: 0, count: max(paddedCount, scratchCount))
                    for plane in planes {
                        let channel = plane % geo.c
                        let source = xb + plane * h * w
                        for row in 0..<h {
                            let (from, to) = (source + row * w, padded + (row + 1) * paddedWidth + 1)
                            if inputActivation == .relu {
                                // Inline: a call per short row to the general activation cost more than the copy.
                                var i = 0
                                while i + 16 <= w { store(pointwiseMax(load(from + i), Lanes()), to + i); i += 16 }
                                while i < w { to[i] = max(from[i], 0); i += 1 }
                            } else {
                                copyRow(from, to, w)
                                if inputActivation != .identity { inputActivation.apply(to, w) }
                            }
                        }
                        let k = wb + channel * 9
                        let (w0, w1, w2) = (Lanes(repeating: k[0]), Lanes(repeating: k[1]), Lanes(repeating: k[2]))
                        let (w3, w4, w5) = (Lanes(repeating: k[3]), Lanes(repeating: k[4]), Lanes(repeating: k[5]))
                        let (w6, w7, w8) = (Lanes(repeating: k[6]), Lanes(repeating: k[7]), Lanes(repeating: k[8]))
                        let initial = Lanes(repeating: biasValues?[channel] ?? 0)
                        let (row1, row2) = (paddedWidth, 2 * paddedWidth)
                        for v in 0..<vectors {
                            let p = UnsafePointer(padded + 16 * v)
                            var a = fused(initial, w0, load(p))
                            a = fused(a, w1, load(p + 1)); a = fused(a, w2, load(p + 2))
                            a = fused(a, w3, load(p + row1)); a = fused(a, w4, load(p + row1 + 1))
                            a = fused(a, w5, load(p + row1 + 2)); a = fused(a, w6, load(p + row2))
                            a = fused(a, w7, load(p + row2 + 1)); a = fused(a, w8, load(p + row2 + 2))
                            store(a, out + 16 * v)
                        }
                        let target = yb + plane * h * w
                        for row in 0..<h { copyRow(out + row * paddedWidth, target + row * w, w) }
                        activation.apply(target, h * w)
                    }
                }
            }
        }
    }
    return y
}
