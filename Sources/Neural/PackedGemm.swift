// PackedGemm: the forward product of 1×1 and im2col convolutions, Y = act(W·X + bias), on the engine's own
// register-blocked micro-kernel instead of OpenBLAS.
//
// Letters: W is M×K (output channels × input channels, row-major, row stride ldw), X is K×N (N = P·Q columns,
// row stride ldx), Y is M×N (row stride ldy).
// Why not sgemm: OpenBLAS repacks W for every call and X for every tile (a sixth of its time on EfficientNet's
// shapes), and its C tile makes a second pass for bias and activation. Here the micro-kernel keeps an 8×32 block
// of Y in sixteen 16-lane registers, reads W as eight broadcast streams straight from its rows (or as one stream
// from weights packed once at load, `PackedWeights`) and X as two vector loads per step straight from its rows
// (copied into contiguous panels only where X is large), and adds the bias before and the residual and the
// activation after, while the block's rows are still in L1.
// Each output is bias + Σₖ w·x summed in k order (fused where the build has FMA), whatever the tile, edge or
// thread count, so results do not depend on `Engine.threads`.

// MARK: - Entry point

/// Rows and columns of the register block.
let gemmBlockRows = 8, gemmBlockColumns = 32

/// Y = activation(W·X + bias) for the shapes where the micro-kernel pays: at least one full block of columns.
/// With `batch` > 1, as many products of the same shape in one parallel job: product b reads W + b·batchStrides.w
/// and X + b·batchStrides.x and writes Y + b·batchStrides.y (Winograd's sixteen).
/// With `packedW`, W is in `PackedWeights`' layout (ldw unused) instead of row-major. With `residual` (laid out
/// as Y), Y = activation(W·X + bias + residual): a shortcut added in the epilogue, after the sum.
func gemmForward(m: Int, n: Int, k: Int, w: UnsafePointer<Float>, ldw: Int, x: UnsafePointer<Float>, ldx: Int,
                 y: UnsafeMutablePointer<Float>, ldy: Int, bias: UnsafePointer<Float>?, activation: Activation,
                 batch: Int = 1, batchStrides: (w: Int, x: Int, y: Int) = (0, 0, 0), packedW: Bool = false,
                 residual: UnsafePointer<Float>? = nil) {
    guard m > 0 && n > 0 && batch > 0 else { return }
    // Work items: one row block (8 rows) × one column slab (X's slab, K × 256 floats, stays in L2 while the row
    // blocks pass over it). Items are small, so two workers stay balanced even on the 7×7 stages' single slab.
    // When X is larger than about three quarters of L2 (Xception's 728×361 and 728×1369), slabs are 96 columns
    // and always taken slab-major, so one slab stays in L2 while W streams; whole-width row blocks had each
    // streamed all of X from L3 again (728×728 over 19×19 on two threads: 141–166 → 166–193 GFLOP/s, with eight
    // layers' weights and inputs as in the network).
    let largeX = k * n >= 192 << 10
    let slabWidth = largeX ? 96 : 256
    let slabs = (n + slabWidth - 1) / slabWidth, rowBlocks = (m + gemmBlockRows - 1) / gemmBlockRows
    // Columns: blocks of 32, then one of 16 if that many remain, then the tail: one or two columns as dot
    // products, 3…15 as a zero-padded block of 16 (so a 7×7 map, 49 = 32 + 16 + 1, wastes nothing, where
    // padding it to 64 wasted a quarter).
    let wide = n / gemmBlockColumns * gemmBlockColumns
    let half = n - wide >= 16 ? 16 : 0
    let tailStart = wide + half, tail = n - tailStart
    let edgeRows = m - (rowBlocks - 1) * gemmBlockRows
    // Zero-padded copies, made once: X's tail columns (K × 16, or K per dot column) and W's last rows (8 × K;
    // packed weights are padded already). A padded zero adds exactly nothing, so padded outputs equal what a full
    // block gives.
    let tailSize = tail > 0 ? k * 16 : 0, edgeSize = edgeRows < gemmBlockRows && !packedW ? gemmBlockRows * k : 0
    let tailXs = UnsafeMutablePointer<Float>.allocate(capacity: batch * tailSize)
    let edgeWs = UnsafeMutablePointer<Float>.allocate(capacity: batch * edgeSize)
    defer { tailXs.deallocate(); edgeWs.deallocate() }
    for b in 0..<batch {
        let (x, w, tailX, edgeW) = (x + b * batchStrides.x, w + b * batchStrides.w, tailXs + b * tailSize, edgeWs + b * edgeSize)
        if tail >= 3 {
            for p in 0..<k {
                let row = tailX + p * 16
                row.update(from: x + p * ldx + tailStart, count: tail)
                (row + tail).update(repeating: 0, count: 16 - tail)
            }
        } else if tail > 0 {
            for j in 0..<tail { for p in 0..<k { tailX[j * k + p] = x[p * ldx + tailStart + j] } }
        }
        if edgeSize > 0 {
            let first = (rowBlocks - 1) * gemmBlockRows
            for r in 0..<gemmBlockRows {
                if r < edgeRows { (edgeW + r * k).update(from: w + (first + r) * ldw, count: k) }
                else { (edgeW + r * k).update(repeating: 0, count: k) }
            }
        }
    }
    // One work item: row block r0 of product b over one slab. `panel`, when given, holds the slab's full
    // 32-column blocks packed one after another (block j at panel + 32·j·K, row stride 32).
    func item(_ b: Int, slab: Int, r0: Int, panel: UnsafePointer<Float>?) {
        let (x, w, y) = (x + b * batchStrides.x, w + b * batchStrides.w, y + b * batchStrides.y)
        let (tailX, edgeW) = (tailXs + b * tailSize, edgeWs + b * edgeSize)
        let cols = (slab * slabWidth)..<min(n, (slab + 1) * slabWidth)
        let blockRows = min(gemmBlockRows, m - r0)
        // Where W's element (r, p) of this block lies: wBlock + r·wStride + p·kStride.
        let (wBlock, wStride, kStride) = packedW ? (w + r0 * k, 1, gemmBlockRows)
            : blockRows == gemmBlockRows ? (w + r0 * ldw, ldw, 1) : (UnsafePointer(edgeW), k, 1)
        var initial = SIMD8<Float>()
        for r in 0..<blockRows { initial[r] = bias?[r0 + r] ?? 0 }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmBlockRows * gemmBlockColumns) { scratchBuffer in
            let scratch = scratchBuffer.baseAddress!
            // Runs `kernel` into Y, or through the scratch block where Y has fewer than 8 rows or `width` columns.
            func block(_ column: Int, width: Int, full: Bool,
                       _ kernel: (UnsafeMutablePointer<Float>, Int) -> Void) {
                if blockRows == gemmBlockRows && full {
                    kernel(y + r0 * ldy + column, ldy)
                } else {
                    kernel(scratch, gemmBlockColumns)
                    for r in 0..<blockRows {
                        (y + (r0 + r) * ldy + column).update(from: scratch + r * gemmBlockColumns, count: width)
                    }
                }
            }
            var column = cols.lowerBound
            while column < min(cols.upperBound, wide) {
                let (xc, ldc) = panel.map { ($0 + (column - cols.lowerBound) * k, gemmBlockColumns) } ?? (x + column, ldx)
                block(column, width: gemmBlockColumns, full: true) { out, ldo in
                    microKernel(k: k, w: wBlock, ldw: wStride, kStride: kStride, x: xc, ldx: ldc, initial: initial, out: out, ldo: ldo)
                }
                column += gemmBlockColumns
            }
            guard cols.upperBound == n else { return }
            if half > 0 {
                block(wide, width: 16, full: true) { out, ldo in
                    microKernel16(k: k, w: wBlock, ldw: wStride, kStride: kStride, x: x + wide, ldx: ldx, initial: initial, out: out, ldo: ldo)
                }
            }
            if tail >= 3 {
                block(tailStart, width: tail, full: false) { out, ldo in
                    microKernel16(k: k, w: wBlock, ldw: wStride, kStride: kStride, x: tailX, ldx: 16, initial: initial, out: out, ldo: ldo)
                }
            } else if tail > 0 && packedW {
                for j in 0..<tail {
                    let sums = packedColumn(k: k, w: wBlock, x: tailX + j * k, initial: initial)
                    for r in 0..<blockRows { y[(r0 + r) * ldy + tailStart + j] = sums[r] }
                }
            } else if tail > 0 {
                for r in 0..<blockRows {
                    for j in 0..<tail {
                        y[(r0 + r) * ldy + tailStart + j] = initial[r] + dot(wBlock + r * wStride, tailX + j * k, k)
                    }
                }
            }
        }
        // The residual and the activation, over the block's rows while they are still in L1.
        if let residual {
            let residual = residual + b * batchStrides.y
            for r in 0..<blockRows {
                addInPlace(y + (r0 + r) * ldy + cols.lowerBound, residual + (r0 + r) * ldy + cols.lowerBound, cols.count)
            }
        }
        if activation != .identity {
            for r in 0..<blockRows { activation.apply(y + (r0 + r) * ldy + cols.lowerBound, cols.count) }
        }
    }
    // Large maps (Xception's 147×147 and 74×74 stages): X's rows lie tens of kilobytes apart, so every step of
    // the kernel touched a new page and the kernel ran at 65–80 GFLOP/s on one thread, no faster on two. There
    // each item is a whole slab: its 32-column blocks are first copied into a contiguous panel (K × slab width,
    // in L2), which all row blocks then read. The sums are the same, term for term. Large X's narrow slabs are
    // packed too: aligned, contiguous rows of X are the micro-kernel's best case (Xception's 25 728→728 convs at
    // 19×19 on one thread: 100 → 91 ms in the network; 728→728 at 37×37 18 → 13.6 ms).
    let packs = (ldx >= 4096 || largeX) && rowBlocks >= 4 && slabs >= 2 * Engine.threads
    if packs {
        Engine.parallelFor(batch * slabs) { batchSlab in
            let b = batchSlab / slabs, slab = batchSlab % slabs
            let x = x + b * batchStrides.x
            let first = slab * slabWidth, last = min(min(n, first + slabWidth), wide)
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: k * slabWidth)
            defer { panel.deallocate() }
            for column in stride(from: first, to: last, by: gemmBlockColumns) {
                let to = panel + (column - first) * k
                for p in 0..<k {
                    let from = x + p * ldx + column
                    store(load(from), to + p * gemmBlockColumns)
                    store(load(from + 16), to + p * gemmBlockColumns + 16)
                }
            }
            for rowBlock in 0..<rowBlocks { item(b, slab: slab, r0: rowBlock * gemmBlockRows, panel: panel) }
        }
        return
    }
    // Workers take contiguous runs of items. With many slabs, slab-major order gives each worker its own slabs;
    // with up to four of a small X, a narrower last slab would leave one worker idle for long (a 19×19 map is
    // 256 + 105 columns), so the order is row-block-major there and every worker gets all slabs of its row
    // blocks (X, K × at most 1024 columns and under 768 KB, stays in cache).
    let rowBlockMajor = slabs <= 4 && !largeX
    Engine.parallelFor(batch * slabs * rowBlocks) { batchItem in
        let b = batchItem / (slabs * rowBlocks), index = batchItem % (slabs * rowBlocks)
        let slab = rowBlockMajor ? index % slabs : index / rowBlocks
        let r0 = (rowBlockMajor ? index / slabs : index % rowBlocks) * gemmBlockRows
        item(b, slab: slab, r0: r0, panel: nil)
    }
}

/// y = activation(W·x + bias + residual) for one column x (K floats): squeeze-excite's convs on 1×1 maps. Rows in
/// parallel runs of 32, each a dot product with fixed partial sums, so results do not depend on the threads
/// (OpenBLAS ran these matrix-vector products on one thread, a tile per product: B4's 48 of them took 0.86 ms on
/// two threads against 0.92 on one).
func gemvForward(m: Int, k: Int, w: UnsafePointer<Float>, ldw: Int, x: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil,
                 activation: Activation) {
    let runs = (m + 31) / 32
    Engine.parallelFor(runs, minimumPerThread: max(1, 2048 / max(1, k))) { run in
        let rows = (run * 32)..<min(m, run * 32 + 32)
        for r in rows {
            y[r] = (bias?[r] ?? 0) + dot(w + r * ldw, x, k) + (residual?[r] ?? 0)
        }
        activation.apply(y + rows.lowerBound, rows.count)
    }
}

// MARK: - Packed weights

/// A weight matrix W (M×K) in the micro-kernel's order: rows in blocks of eight, interleaved, so that block b
/// holds w[8b + r][p] at 8·(b·K + p) + r, the last block padded with zero rows. The kernel then reads the weights
/// as one contiguous stream instead of eight rows K floats apart. Made once per layer at load time, for the
/// pointwise convs whose weights come from memory on every pass: EfficientNet's expand convs (1632×272 at 7×7:
/// 75 → 94 GFLOP/s on one core with weights streaming from memory; on 728×728 it gains nothing).
public struct PackedWeights: Sendable {
    /// M and K.
    public let rows: Int, columns: Int
    let data: [Float]

    /// - Parameter weight: [M, K] or [M, K, 1, 1] (a pointwise conv's weight), row-major.
    public init(_ weight: Tensor) {
        precondition(weight.rank >= 2 && weight.shape.dropFirst(2).allSatisfy { $0 == 1 },
                     "PackedWeights: \(weight.shape) is not [M, K] or [M, K, 1, 1]")
        let (m, k) = (weight.shape[0], weight.shape[1])
        rows = m
        columns = k
        let blocks = (m + gemmBlockRows - 1) / gemmBlockRows
        data = [Float](unsafeUninitializedCapacity: blocks * gemmBlockRows * k) { out, initialized in
            weight.data.withUnsafeBufferPointer { wp in
                let (from, to) = (wp.baseAddress!, out.baseAddress!)
                Engine.parallelFor(blocks) { b in
                    let block = to + b * gemmBlockRows * k
                    for r in 0..<gemmBlockRows {
                        let row = gemmBlockRows * b + r
                        if row < m {
                            for p in 0..<k { block[p * gemmBlockRows + r] = from[row * k + p] }
                        } else {
                            for p in 0..<k { block[p * gemmBlockRows + r] = 0 }
                        }
                    }
                }
            }
            initialized = out.count
        }
    }
}

// MARK: - Micro-kernel

private typealias Lanes = SIMD16<Float>

/// acc + a · b, one fused multiply-add where the build targets FMA, else a multiply and an add.
/// (This file's vector helpers are private copies, as in Activations.swift and DepthwiseBlocked.swift: debug
/// builds compile file by file and never inline a call into another file, which would leave the kernel scalar.)
@inline(__always)
private func fused(_ acc: Lanes, _ a: Lanes, _ b: Lanes) -> Lanes {
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

/// out[8×32] = initial (per row) + W[8×K] · X[K×32]. Sixteen accumulators (row r, half h) stay in registers;
/// each step loads one row of X as two vectors and broadcasts one weight per row.
@inline(never)
private func microKernel(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>, ldx: Int,
                         initial: SIMD8<Float>, out: UnsafeMutablePointer<Float>, ldo: Int) {
    var c00 = Lanes(repeating: initial[0]), c01 = c00
    var c10 = Lanes(repeating: initial[1]), c11 = c10
    var c20 = Lanes(repeating: initial[2]), c21 = c20
    var c30 = Lanes(repeating: initial[3]), c31 = c30
    var c40 = Lanes(repeating: initial[4]), c41 = c40
    var c50 = Lanes(repeating: initial[5]), c51 = c50
    var c60 = Lanes(repeating: initial[6]), c61 = c60
    var c70 = Lanes(repeating: initial[7]), c71 = c70
    let w0 = w, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
    let w4 = w3 + ldw, w5 = w4 + ldw, w6 = w5 + ldw, w7 = w6 + ldw
    var xp = x, o = 0
    for _ in 0..<k {
        let x0 = load(xp), x1 = load(xp + 16)
        xp += ldx
        var b = Lanes(repeating: w0[o]); c00 = fused(c00, b, x0); c01 = fused(c01, b, x1)
        b = Lanes(repeating: w1[o]); c10 = fused(c10, b, x0); c11 = fused(c11, b, x1)
        b = Lanes(repeating: w2[o]); c20 = fused(c20, b, x0); c21 = fused(c21, b, x1)
        b = Lanes(repeating: w3[o]); c30 = fused(c30, b, x0); c31 = fused(c31, b, x1)
        b = Lanes(repeating: w4[o]); c40 = fused(c40, b, x0); c41 = fused(c41, b, x1)
        b = Lanes(repeating: w5[o]); c50 = fused(c50, b, x0); c51 = fused(c51, b, x1)
        b = Lanes(repeating: w6[o]); c60 = fused(c60, b, x0); c61 = fused(c61, b, x1)
        b = Lanes(repeating: w7[o]); c70 = fused(c70, b, x0); c71 = fused(c71, b, x1)
        o += kStride
    }
    store(c00, out); store(c01, out + 16)
    store(c10, out + ldo); store(c11, out + ldo + 16)
    store(c20, out + 2 * ldo); store(c21, out + 2 * ldo + 16)
    store(c30, out + 3 * ldo); store(c31, out + 3 * ldo + 16)
    store(c40, out + 4 * ldo); store(c41, out + 4 * ldo + 16)
    store(c50, out + 5 * ldo); store(c51, out + 5 * ldo + 16)
    store(c60, out + 6 * ldo); store(c61, out + 6 * ldo + 16)
    store(c70, out + 7 * ldo); store(c71, out + 7 * ldo + 16)
}

/// out[8×16] = initial (per row) + W[8×K] · X[K×16]: the half-width kernel for the last 16 (or padded) columns.
@inline(never)
private func microKernel16(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>, ldx: Int,
                           initial: SIMD8<Float>, out: UnsafeMutablePointer<Float>, ldo: Int) {
    var c0 = Lanes(repeating: initial[0]), c1 = Lanes(repeating: initial[1])
    var c2 = Lanes(repeating: initial[2]), c3 = Lanes(repeating: initial[3])
    var c4 = Lanes(repeating: initial[4]), c5 = Lanes(repeating: initial[5])
    var c6 = Lanes(repeating: initial[6]), c7 = Lanes(repeating: initial[7])
    let w0 = w, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
    let w4 = w3 + ldw, w5 = w4 + ldw, w6 = w5 + ldw, w7 = w6 + ldw
    var xp = x, o = 0
    for _ in 0..<k {
        let x0 = load(xp)
        xp += ldx
        c0 = fused(c0, Lanes(repeating: w0[o]), x0); c1 = fused(c1, Lanes(repeating: w1[o]), x0)
        c2 = fused(c2, Lanes(repeating: w2[o]), x0); c3 = fused(c3, Lanes(repeating: w3[o]), x0)
        c4 = fused(c4, Lanes(repeating: w4[o]), x0); c5 = fused(c5, Lanes(repeating: w5[o]), x0)
        c6 = fused(c6, Lanes(repeating: w6[o]), x0); c7 = fused(c7, Lanes(repeating: w7[o]), x0)
        o += kStride
    }
    store(c0, out); store(c1, out + ldo); store(c2, out + 2 * ldo); store(c3, out + 3 * ldo)
    store(c4, out + 4 * ldo); store(c5, out + 5 * ldo); store(c6, out + 6 * ldo); store(c7, out + 7 * ldo)
}

/// y[i] += r[i] for `count` floats.
func addInPlace(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, _ count: Int) {
    var i = 0
    while i + 16 <= count { store(load(y + i) + load(r + i), y + i); i += 16 }
    while i < count { y[i] += r[i]; i += 1 }
}

/// initial + W[8×K] · x for one column x (K contiguous floats) and a packed block of W: one 8-lane multiply-add
/// per k, summed in k order like the micro-kernels. The packed weights' counterpart of `dot`.
private func packedColumn(k: Int, w: UnsafePointer<Float>, x: UnsafePointer<Float>, initial: SIMD8<Float>) -> SIMD8<Float> {
    var acc = initial
    for p in 0..<k {
        let column = UnsafeRawPointer(w + p * gemmBlockRows).loadUnaligned(as: SIMD8<Float>.self)
        #if DEEPSCOPE_FMA
        acc = acc.addingProduct(column, SIMD8(repeating: x[p]))
        #else
        acc += column * SIMD8(repeating: x[p])
        #endif
    }
    return acc
}

/// Σ a[i]·b[i] over `count` floats: four 16-lane partial sums (k in steps of 64), then a scalar tail, then
/// the lanes added in a fixed order. Used for the last one or two columns of a product.
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var (s0, s1, s2, s3) = (Lanes(), Lanes(), Lanes(), Lanes())
    var i = 0
    while i + 64 <= count {
        s0 = fused(s0, load(a + i), load(b + i)); s1 = fused(s1, load(a + i + 16), load(b + i + 16))
        s2 = fused(s2, load(a + i + 32), load(b + i + 32)); s3 = fused(s3, load(a + i + 48), load(b + i + 48))
        i += 64
    }
    while i + 16 <= count { s0 = fused(s0, load(a + i), load(b + i)); i += 16 }
    var total = ((s0 + s1) + (s2 + s3)).sum()
    while i < count { total += a[i] * b[i]; i += 1 }
    return total
}
