// Winograd: 3×3 stride-1 convolutions as F(2×2, 3×3), for inference.
//
// Letters as in Conv2d.swift (N, C, H×W, K, P×Q). The output is cut into 2×2 tiles, T = ⌈P/2⌉·⌈Q/2⌉ per image;
// each tile reads a 4×4 input patch d. With the transforms of Lavin & Gray (2016)
//   V = Bᵀ d B,  U = G g Gᵀ (the 3×3 filter g, once per weight),  Y = Aᵀ (U ⊙ V) A,
// a tile's 36 multiply-adds per channel pair become 16, and summing over input channels turns the products into
// 16 matrix products, one per position ξ of the 4×4 transformed tile: M[ξ] (K×NT) = U[ξ] (K×C) · V[ξ] (C×NT),
// run on the engine's micro-kernel (PackedGemm.swift). That is 2.25× fewer multiply-adds than im2col + GEMM
// and no im2col: ResNet's 3×3 convolutions are almost all of its time.
// Accuracy: B, G and A have entries 0, ±1 and ½, so the transforms only add and halve; results differ from the
// direct convolution by rounding only (the ResNet and Xception parity tests check plain inference's logits
// against PyTorch to 1e-4 of their scale; KernelTests against the naive convolution). Every output is computed
// the same way whatever the thread count.
// Only the forward; the backward of these convolutions stays im2col + GEMM (Conv2d.swift).

// MARK: - Filter

/// The transformed weights of a 3×3 convolution: U[ξ] = G g Gᵀ, sixteen K×C matrices.
public struct WinogradFilter: Sendable {
    /// Output and input channels.
    public let k: Int, c: Int
    /// [16] × K×C in `PackedWeights`' layout (`packedStride` floats each): the sixteen products' weights.
    let u: [Float]
    var packedStride: Int { packedWeightCount(rows: k, columns: c) }

    /// - Parameter weight: [K, C, 3, 3], as PyTorch stores a conv's weight.
    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "Winograd: weight \(weight.shape) is not [K, C, 3, 3]")
        let (k, c) = (weight.shape[0], weight.shape[1])
        self.k = k
        self.c = c
        let plain = [Float](unsafeUninitializedCapacity: 16 * k * c) { out, initialized in
            let plane = k * c, chunks = (c + lanes - 1) / lanes
            weight.data.withUnsafeBufferPointer { wp in
                Engine.parallelFor(k, minimumPerThread: 8) { kk in
                    // The filter's nine taps as nine rows over the input channels (zero-padded to whole vectors),
                    // so 16 channels transform at once.
                    let taps = UnsafeMutablePointer<Float>.allocate(capacity: 9 * chunks * lanes)
                    defer { taps.deallocate() }
                    taps.update(repeating: 0, count: 9 * chunks * lanes)
                    for cc in 0..<c {
                        for t in 0..<9 { taps[t * chunks * lanes + cc] = wp[(kk * c + cc) * 9 + t] }
                    }
                    for chunk in 0..<chunks {
                        @inline(__always) func g(_ i: Int, _ j: Int) -> Lanes { load(taps + (3 * i + j) * chunks * lanes + chunk * lanes) }
                        let half = Lanes(repeating: 0.5)
                        // G g: rows g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2 (each a row of three).
                        func column(_ j: Int) -> (Lanes, Lanes, Lanes, Lanes) {
                            let (a0, a1, a2) = (g(0, j), g(1, j), g(2, j))
                            return (a0, (a0 + a1 + a2) * half, (a0 - a1 + a2) * half, a2)
                        }
                        let (c0, c1, c2) = (column(0), column(1), column(2))
                        let count = min(lanes, c - chunk * lanes)
                        // (G g) Gᵀ: the same combination along row i of G g; U[ξ = 4i + j].
                        func emit(_ i: Int, _ b0: Lanes, _ b1: Lanes, _ b2: Lanes) {
                            func put(_ j: Int, _ value: Lanes) {
                                let to = out.baseAddress! + (4 * i + j) * plane + kk * c + chunk * lanes
                                if count == lanes { store(value, to) } else { for l in 0..<count { to[l] = value[l] } }
                            }
                            put(0, b0); put(1, (b0 + b1 + b2) * half); put(2, (b0 - b1 + b2) * half); put(3, b2)
                        }
                        emit(0, c0.0, c1.0, c2.0); emit(1, c0.1, c1.1, c2.1)
                        emit(2, c0.2, c1.2, c2.2); emit(3, c0.3, c1.3, c2.3)
                    }
                }
            }
            initialized = 16 * k * c
        }
        let stride = packedWeightCount(rows: k, columns: c)
        u = [Float](unsafeUninitializedCapacity: 16 * stride) { out, initialized in
            plain.withUnsafeBufferPointer { from in
                for xi in 0..<16 {
                    packWeightRows(from.baseAddress! + xi * k * c, rows: k, columns: c, into: out.baseAddress! + xi * stride)
                }
            }
            initialized = 16 * stride
        }
    }
}

// MARK: - Forward

/// Output area from which a convolution without a prepared filter transforms its weight on the spot: the
/// transform costs about what 1/30 of a 32×32 output's multiply-adds do.
let winogradOnTheSpotArea = 1024

/// Whether `geo` is a convolution the Winograd path computes: 3×3, stride 1, no dilation, one group,
/// non-negative padding.
func winogradApplies(_ geo: ConvGeometry) -> Bool {
    WinogradFilter.applies(kernel: Size2D(geo.r, geo.s), stride: geo.stride, dilation: geo.dilation,
                           groups: geo.groups, padding: geo.padding)
}

extension WinogradFilter {
    /// Whether a convolution with these hyper-parameters takes the Winograd path (what a layer asks before
    /// keeping its weights as a filter).
    public static func applies(kernel: Size2D, stride: Size2D, dilation: Size2D, groups: Int,
                               padding: Padding2D) -> Bool {
        kernel == 3 && stride == 1 && dilation == 1 && groups == 1
            && padding.top >= 0 && padding.bottom >= 0 && padding.left >= 0 && padding.right >= 0
    }
}

/// y = activation(conv2d(x, g) + bias + residual) for the weights `filter` was made from.
func winogradForward(_ x: Tensor, _ filter: WinogradFilter, _ bias: Tensor?, _ geo: ConvGeometry,
                     activation: Activation, residual: Tensor? = nil) -> Tensor {
    precondition(winogradApplies(geo) && filter.k == geo.k && filter.c == geo.c,
                 "Winograd: filter \(filter.k)×\(filter.c) does not fit the convolution")
    let (n, c, k, p, q) = (geo.n, geo.c, geo.k, geo.p, geo.q)
    let (tileRows, tileColumns) = ((p + 1) / 2, (q + 1) / 2)
    var y = Tensor(shape: geo.outputShape, unsafeUninitialized: { _ in })
    // V and M take 16·(C + K) floats per tile. Large maps go in bands of tile rows whose V and M stay within
    // about 1.5 MB (in cache between the three steps), but of at least 256 tiles, since every band reads all of
    // U again; small maps in one pass over all images' tiles. Bands are of equal height.
    let cached = max(1, (3 << 19) / (64 * (c + k) * tileColumns)), least = (256 + tileColumns - 1) / tileColumns
    let bands = (tileRows + max(cached, least) - 1) / max(cached, least)
    let bandRows = (tileRows + bands - 1) / bands
    x.data.withUnsafeBufferPointer { xp in
        y.data.withUnsafeMutableBufferPointer { yp in
            (residual?.data ?? []).withUnsafeBufferPointer { rp in
                let (input, output) = (xp.baseAddress!, yp.baseAddress!)
                let shortcut = residual == nil ? nil : rp.baseAddress!
                if bandRows >= tileRows {
                    winogradBand(input, filter, bias, geo, activation, output, shortcut, images: 0..<n,
                                 tileRows: 0..<tileRows)
                } else {
                    for image in 0..<n {
                        for first in stride(from: 0, to: tileRows, by: bandRows) {
                            winogradBand(input, filter, bias, geo, activation, output, shortcut,
                                         images: image..<(image + 1), tileRows: first..<min(tileRows, first + bandRows))
                        }
                    }
                }
            }
        }
    }
    return y
}

/// The output rows of tile rows `tileRows` of `images`: input transform, the sixteen products, output transform.
private func winogradBand(_ x: UnsafePointer<Float>, _ filter: WinogradFilter, _ bias: Tensor?, _ geo: ConvGeometry,
                          _ activation: Activation, _ y: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                          images: Range<Int>, tileRows: Range<Int>) {
    let (c, h, w, k, p, q) = (geo.c, geo.h, geo.w, geo.k, geo.p, geo.q)
    let tileColumns = (q + 1) / 2
    let tiles = tileRows.count * tileColumns, columns = images.count * tiles
    // Rows of V and M: the band's tiles of every image, plus one vector of slack, since a run of 16 tiles at the
    // end of a tile row is written (and read) whole.
    let ld = columns + lanes
    // The zero-padded input rows the band reads: 2 rows and columns of margin around 2×2 tiles, tile columns
    // rounded up to whole vectors. Padded row 0 is input row 2·first − top.
    let paddedColumns = 2 * ((tileColumns + lanes - 1) / lanes * lanes) + 2
    let paddedRows = 2 * tileRows.count + 2
    let firstRow = 2 * tileRows.lowerBound - geo.padding.top
    var v = [Float](unsafeUninitializedCapacity: 16 * c * ld) { $1 = $0.count }
    var m = [Float](unsafeUninitializedCapacity: 16 * k * ld) { $1 = $0.count }
    v.withUnsafeMutableBufferPointer { vp in
        // Input transform, one channel per item: pad the band's rows, then V[ξ][c][tile] for 16 tiles at a time.
        Engine.parallelFor(c, minimumPerThread: 4) { channel in
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedRows * paddedColumns)
            defer { padded.deallocate() }
            for (index, image) in images.enumerated() {
                padded.update(repeating: 0, count: paddedRows * paddedColumns)
                let plane = x + (image * c + channel) * h * w
                let columnsUsed = min(w, paddedColumns - geo.padding.left)
                for row in max(0, firstRow)..<min(h, firstRow + paddedRows) {
                    (padded + (row - firstRow) * paddedColumns + geo.padding.left)
                        .update(from: plane + row * w, count: columnsUsed)
                }
                let out = vp.baseAddress! + channel * ld + index * tiles
                for ty in 0..<tileRows.count {
                    for tx in stride(from: 0, to: tileColumns, by: lanes) {
                        inputTransform(padded + 2 * ty * paddedColumns + 2 * tx, paddedColumns,
                                       out + ty * tileColumns + tx, c * ld)
                    }
                }
            }
        }
    }
    // The sixteen products, in one parallel job.
    filter.u.withUnsafeBufferPointer { up in
        v.withUnsafeBufferPointer { vp in
            m.withUnsafeMutableBufferPointer { mp in
                gemmForward(m: k, n: columns, k: c, w: up.baseAddress!, ldw: c, x: vp.baseAddress!, ldx: ld,
                            y: mp.baseAddress!, ldy: ld, bias: nil, activation: .identity,
                            batch: 16, batchStrides: (filter.packedStride, c * ld, k * ld), packedW: true)
            }
        }
    }
    // Output transform, one output channel per item; bias added, then the residual and the activation over the
    // band's rows.
    let biasValues = bias?.data
    m.withUnsafeBufferPointer { mp in
        Engine.parallelFor(k, minimumPerThread: 4) { channel in
            let b = biasValues?[channel] ?? 0
            for (index, image) in images.enumerated() {
                let source = mp.baseAddress! + channel * ld + index * tiles
                let plane = y + (image * k + channel) * p * q
                for ty in 0..<tileRows.count {
                    for tx in stride(from: 0, to: tileColumns, by: lanes) {
                        outputTransform(source + ty * tileColumns + tx, k * ld, bias: b, plane: plane,
                                        row: 2 * (tileRows.lowerBound + ty), column: 2 * tx, p: p, q: q)
                    }
                }
                let rows = (2 * tileRows.lowerBound)..<min(p, 2 * tileRows.upperBound)
                if let residual {
                    addInPlace(plane + rows.lowerBound * q, residual + (image * k + channel) * p * q + rows.lowerBound * q,
                               rows.count * q)
                }
                activation.apply(plane + rows.lowerBound * q, rows.count * q)
            }
        }
    }
}

// MARK: - Transforms

// The vector helpers below are this file's private copies, as in PackedGemm.swift and DepthwiseBlocked.swift:
// debug builds never inline across files, and an out-of-line load or permute leaves a kernel scalar.
private typealias Lanes = SIMD16<Float>
private let lanes = 16

@inline(__always) private func load(_ p: UnsafePointer<Float>) -> Lanes {
    UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

@inline(__always) private func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
}

/// Lanes 0, 2, …, 30 and 1, 3, …, 31 of the 32 floats a ‖ b (each a two-source permute).
@inline(__always) private func evens(_ a: Lanes, _ b: Lanes) -> Lanes {
    Lanes(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14])
}

@inline(__always) private func odds(_ a: Lanes, _ b: Lanes) -> Lanes {
    Lanes(a[1], a[3], a[5], a[7], a[9], a[11], a[13], a[15], b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15])
}

/// a0 b0 a1 b1 … of the low and of the high halves.
@inline(__always) private func zipLow(_ a: Lanes, _ b: Lanes) -> Lanes {
    Lanes(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
}

@inline(__always) private func zipHigh(_ a: Lanes, _ b: Lanes) -> Lanes {
    Lanes(a[8], b[8], a[9], b[9], a[10], b[10], a[11], b[11], a[12], b[12], a[13], b[13], a[14], b[14], a[15], b[15])
}

/// V = Bᵀ d B for 16 neighbouring tiles (one per lane) whose 4×4 patches start at `patch` (row stride `ld`,
/// patch l at column 2l); V[ξ] is stored at out + ξ·ξStride.
@inline(__always)
private func inputTransform(_ patch: UnsafePointer<Float>, _ ld: Int, _ out: UnsafeMutablePointer<Float>,
                            _ xiStride: Int) {
    // Row r of the 16 patches, column by column, then (d B) along the row: (e0 − e2, e1 + e2, e2 − e1, e1 − e3).
    @inline(__always) func row(_ r: Int) -> (Lanes, Lanes, Lanes, Lanes) {
        let p = patch + r * ld
        let (a, b, a2, b2) = (load(p), load(p + 16), load(p + 2), load(p + 18))
        let (e0, e1, e2, e3) = (evens(a, b), odds(a, b), evens(a2, b2), odds(a2, b2))
        return (e0 - e2, e1 + e2, e2 - e1, e1 - e3)
    }
    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3))
    // Bᵀ along the columns: (d0 − d2, d1 + d2, d2 − d1, d1 − d3), then stored as ξ = 4i + j.
    func put(_ i: Int, _ t: (Lanes, Lanes, Lanes, Lanes)) {
        store(t.0, out + (4 * i) * xiStride); store(t.1, out + (4 * i + 1) * xiStride)
        store(t.2, out + (4 * i + 2) * xiStride); store(t.3, out + (4 * i + 3) * xiStride)
    }
    put(0, (r0.0 - r2.0, r0.1 - r2.1, r0.2 - r2.2, r0.3 - r2.3))
    put(1, (r1.0 + r2.0, r1.1 + r2.1, r1.2 + r2.2, r1.3 + r2.3))
    put(2, (r2.0 - r1.0, r2.1 - r1.1, r2.2 - r1.2, r2.3 - r1.3))
    put(3, (r1.0 - r3.0, r1.1 - r3.1, r1.2 - r3.2, r1.3 - r3.3))
}

/// Y = Aᵀ M A + bias for 16 neighbouring tiles: M[ξ] at source + ξ·ξStride; the 2×2 outputs go to rows
/// row, row + 1 and columns column … column + 31 of the P×Q plane, clipped to it.
@inline(__always)
private func outputTransform(_ source: UnsafePointer<Float>, _ xiStride: Int, bias: Float,
                             plane: UnsafeMutablePointer<Float>, row: Int, column: Int, p: Int, q: Int) {
    @inline(__always) func m(_ i: Int, _ j: Int) -> Lanes { load(source + (4 * i + j) * xiStride) }
    // Aᵀ along the columns: a = m0 + m1 + m2, c = m1 − m2 − m3 (rows of four).
    let (m00, m01, m02, m03) = (m(0, 0), m(0, 1), m(0, 2), m(0, 3))
    let (m10, m11, m12, m13) = (m(1, 0), m(1, 1), m(1, 2), m(1, 3))
    let (m20, m21, m22, m23) = (m(2, 0), m(2, 1), m(2, 2), m(2, 3))
    let (m30, m31, m32, m33) = (m(3, 0), m(3, 1), m(3, 2), m(3, 3))
    let (a0, a1, a2, a3) = (m00 + m10 + m20, m01 + m11 + m21, m02 + m12 + m22, m03 + m13 + m23)
    let (c0, c1, c2, c3) = (m10 - m20 - m30, m11 - m21 - m31, m12 - m22 - m32, m13 - m23 - m33)
    // Then along the rows.
    let b = Lanes(repeating: bias)
    let y00 = a0 + a1 + a2 + b, y01 = a1 - a2 - a3 + b
    let y10 = c0 + c1 + c2 + b, y11 = c1 - c2 - c3 + b
    let width = min(32, q - column)
    func put(_ even: Lanes, _ odd: Lanes, _ r: Int) {
        let out = plane + r * q + column
        if width == 32 {
            store(zipLow(even, odd), out); store(zipHigh(even, odd), out + 16)
        } else {
            let (lo, hi) = (zipLow(even, odd), zipHigh(even, odd))
            for i in 0..<min(width, 16) { out[i] = lo[i] }
            for i in 16..<max(16, width) { out[i] = hi[i - 16] }
        }
    }
    put(y00, y01, row)
    if row + 1 < p { put(y10, y11, row + 1) }
}
