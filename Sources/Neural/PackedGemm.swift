// PackedGemm: the forward product of 1×1 and im2col convolutions, Y = act(W·X + bias), on the engine's own
// register-blocked micro-kernel instead of OpenBLAS.
//
// Letters: W is M×K (output channels × input channels, row-major, row stride ldw), X is K×N (N = P·Q columns,
// row stride ldx), Y is M×N (row stride ldy).
// Why not sgemm: OpenBLAS repacks W for every call and X for every tile (a sixth of its time on EfficientNet's
// shapes), and its C tile makes a second pass for bias and activation. Here W is packed once at load time
// (`PackedWeights`; other weights per call), X is copied run by run of K into contiguous panels, the
// micro-kernel keeps an 8×48 block of Y in twenty-four 16-lane registers (8×32 and 8×16 for the last columns),
// and the bias goes in before and the residual and the activation after, while the block's rows are still in L1.
// Each output is bias + Σₖ w·x summed in k order (fused where the build has FMA), whatever the slab, row group,
// edge or thread count, so results do not depend on `Engine.threads`. (Tail columns handled as dot products sum
// k in four interleaved partial sums, the same for any thread count.)

import COpenBLAS

// MARK: - Entry point

/// Rows of every register block, and the columns of the 8×32 one, which takes a product's last 32 columns; 32
/// is also the narrowest product the micro-kernel takes (below it the plain conv path runs OpenBLAS).
let gemmBlockRows = 8, gemmBlockColumns = 32

/// Columns of the main register block, 8×48: twenty-four accumulators, so each step's eight weights feed 24
/// multiply-adds where the 8×32 block gave them 16 (a pass like Xception's, 91 row blocks of W from L2 over an X
/// panel in L1, on one core of the Ice Lake machine: 107–120 → 138–167 GFLOP/s; whole products 1.2–2.2× faster).
let gemmWideColumns = 48

/// The longest run of K one pass of the micro-kernel takes: a block of X, K × 48 floats, then fits in L1 (30 KB)
/// while every row block of W passes over it.
let gemmDepthChunk = 160

/// Y = activation(W·X + bias) for the shapes where the micro-kernel pays: at least one full block of columns.
/// With `batch` > 1, as many products of the same shape in one parallel job: product b reads W + b·batchStrides.w
/// and X + b·batchStrides.x and writes Y + b·batchStrides.y (Winograd's sixteen).
/// With `packedW`, W is in `PackedWeights`' layout (ldw unused) instead of row-major. With `residual` (laid out
/// as Y), Y = activation(W·X + bias + residual): a shortcut added in the epilogue, after the sum.
///
/// The loop nest is the classic one of blocked matrix products. A work item is one image, one slab of up to
/// 288 columns and one group of row blocks. For each run of K (at most `gemmDepthChunk` deep), the slab's blocks
/// of X are copied into contiguous panels; then for each 48-column block (in L1) every row block of W (in L2)
/// passes over it, and the 8×48 block of Y is carried from one run to the next in Y itself. The residual and the
/// activation follow the last run while the block is in L1. The other order (a row block of W over all of K in
/// L1, X streaming from L2) reads more bytes per step; it won for Xception's 728×728 products with the 8×32 block
/// and lost to the 8×48 one (one core, Ice Lake: 84 against 104 GFLOP/s; even on two).
func gemmForward(m: Int, n: Int, k: Int, w: UnsafePointer<Float>, ldw: Int, x: UnsafePointer<Float>, ldx: Int,
                 y: UnsafeMutablePointer<Float>, ldy: Int, bias: UnsafePointer<Float>?, activation: Activation,
                 batch: Int = 1, batchStrides: (w: Int, x: Int, y: Int) = (0, 0, 0), packedW: Bool = false,
                 residual: UnsafePointer<Float>? = nil) {
    guard m > 0 && n > 0 && batch > 0 else { return }
    let rowBlocks = (m + gemmBlockRows - 1) / gemmBlockRows, edgeRows = m - (rowBlocks - 1) * gemmBlockRows
    // Columns: blocks of 48, then one of 32 or 16 if that many remain (the part block), then the tail: one or
    // two columns as dot products, 3…15 as a zero-padded block of 16 (so a 7×7 map, 49 = 48 + 1, wastes
    // nothing, where padding it to 64 wasted a quarter).
    let fullBlocks = n / gemmWideColumns, wide = fullBlocks * gemmWideColumns
    let half = n - wide >= 32 ? 32 : n - wide >= 16 ? 16 : 0
    let tailStart = wide + half, tail = n - tailStart
    // Runs of K of equal depth, at most `gemmDepthChunk`.
    let runs = (k + gemmDepthChunk - 1) / gemmDepthChunk, depth = (k + runs - 1) / runs
    // Slabs: the full blocks split evenly into slabs of at most six; the part block joins the last slab (a slab
    // of its own when there are no full blocks).
    let slabs = max(1, (fullBlocks + 5) / 6)
    // Row groups. Each item copies its slab of X, so no more groups than needed (four groups on one thread:
    // 160×960 over 14×14, 75 → 87 GFLOP/s; on two, 122 → 155): one on one thread, and with at least two slabs
    // per worker the fewest that give every worker the same number of items, slab by slab (a worker's items are
    // consecutive, so it copies each of its slabs once). With fewer slabs than that, one group per worker, and
    // items ordered group by group, so each worker takes its share of the rows over every slab: slabs differ in
    // width (the last holds the part block and the tail), and Xception's 19×19 maps, two slabs of 144 and 217
    // columns, left one of two workers idle a third of the time (its forward on two threads: 110–127 → 100–111 ms).
    let units = batch * slabs, threads = Engine.threads
    let groupMajor = threads > 1 && units < 2 * threads
    let groups = min(rowBlocks, threads == 1 ? 1 : groupMajor ? threads : threads / greatestCommonDivisor(threads, units))
    // The tail's columns, zero-padded, made once per product: K × 16 floats, or K per dot column.
    let tailSize = tail > 0 ? k * 16 : 0
    let tailXs = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batch * tailSize))
    defer { tailXs.deallocate() }
    if tail > 0 {
        for b in 0..<batch {
            let (x, tailX) = (x + b * batchStrides.x, tailXs + b * tailSize)
            if tail >= 3 {
                for p in 0..<k {
                    let row = tailX + p * 16
                    row.update(from: x + p * ldx + tailStart, count: tail)
                    (row + tail).update(repeating: 0, count: 16 - tail)
                }
            } else {
                for j in 0..<tail { for p in 0..<k { tailX[j * k + p] = x[p * ldx + tailStart + j] } }
            }
        }
    }
    // Row-major W (not packed: a recording graph's plain weights, packed per call for nothing but this product):
    // its last row block zero-padded to eight rows, made once per product.
    let edgeSize = !packedW && edgeRows < gemmBlockRows ? gemmBlockRows * k : 0
    let edgeWs = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batch * edgeSize))
    defer { edgeWs.deallocate() }
    if edgeSize > 0 {
        for b in 0..<batch {
            let (w, edgeW) = (w + b * batchStrides.w, edgeWs + b * edgeSize)
            for r in 0..<gemmBlockRows {
                if r < edgeRows { (edgeW + r * k).update(from: w + ((rowBlocks - 1) * gemmBlockRows + r) * ldw, count: k) }
                else { (edgeW + r * k).update(repeating: 0, count: k) }
            }
        }
    }
    Engine.parallelFor(units * groups) { index in
        let (group, unit) = groupMajor ? (index / units, index % units) : (index % groups, index / groups)
        let b = unit / slabs, slab = unit % slabs
        let (x, w, y) = (x + b * batchStrides.x, w + b * batchStrides.w, y + b * batchStrides.y)
        let edgeW = UnsafePointer(edgeWs + b * edgeSize)
        let residual = residual.map { $0 + b * batchStrides.y }
        let tailX = UnsafePointer(tailXs + b * tailSize)
        let blocks = (slab * fullBlocks / slabs)..<((slab + 1) * fullBlocks / slabs)
        let lastSlab = slab == slabs - 1
        let halfHere = half > 0 && lastSlab, tailHere = tail > 0 && lastSlab
        let firstColumn = blocks.lowerBound * gemmWideColumns
        let width = blocks.count * gemmWideColumns + (halfHere ? half : 0)
        let rows = (group * rowBlocks / groups)..<((group + 1) * rowBlocks / groups)
        guard !rows.isEmpty else { return }
        let ownsEdge = edgeRows < gemmBlockRows && rows.upperBound == rowBlocks
        // Column units of the slab: its full blocks, then the part block, then the tail (padded 16-block, or dot
        // columns). Units 0..<blocks.count + (halfHere ? 1 : 0) read the panel.
        let panelUnits = blocks.count + (halfHere ? 1 : 0)
        let units = panelUnits + (tailHere ? 1 : 0)
        // The slab's X for one run of K: block j at panel + j·48·depth, the part block after the last.
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: max(1, depth * width))
        // The edge row block's Y (rows past M are padding): 8 rows of the slab's width. The padded tail's Y: 8 × 16
        // per row block. The dot columns' sums: one vector of eight per row block and column.
        let edgeY = UnsafeMutablePointer<Float>.allocate(capacity: ownsEdge ? gemmBlockRows * width : 1)
        let tailY = UnsafeMutablePointer<Float>.allocate(capacity: tailHere && tail >= 3 ? rows.count * gemmBlockRows * 16 : 1)
        let sums = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: tailHere && tail < 3 ? rows.count * tail : 1)
        defer { panel.deallocate(); edgeY.deallocate(); tailY.deallocate(); sums.deallocate() }
        for run in 0..<runs {
            let k0 = run * depth, kc = min(depth, k - k0)
            for (j, block) in blocks.enumerated() {
                packColumns(x + k0 * ldx + block * gemmWideColumns, ldx: ldx, k: kc, width: gemmWideColumns,
                            into: panel + j * gemmWideColumns * kc)
            }
            if halfHere {
                packColumns(x + k0 * ldx + wide, ldx: ldx, k: kc, width: half, into: panel + blocks.count * gemmWideColumns * kc)
            }
            let last = run == runs - 1
            // Unit `unit` of row block `rowBlock` over this run.
            func step(_ unit: Int, _ rowBlock: Int) {
                let r0 = rowBlock * gemmBlockRows
                // Where W's element (r, p) of this block and run lies: wBlock + r·ldw + p·kStride.
                let (wBlock, wStride, kStride) = packedW ? (w + r0 * k + k0 * gemmBlockRows, 1, gemmBlockRows)
                    : edgeSize > 0 && rowBlock == rowBlocks - 1 ? (edgeW + k0, k, 1) : (w + r0 * ldw + k0, ldw, 1)
                // No software prefetch of the next row block's weights: with the 8×32 block on Emerald Rapids it
                // paid (272→1632 over 7×7, cold weights: 90 → 101 GFLOP/s); with the 8×48 block on Ice Lake its
                // burst of misses stalled the core more than the hardware prefetcher's stream (seven shapes, one
                // and two threads: 2–8 % faster without).
                let initial: SIMD8<Float>? = run > 0 ? nil : rowBias(bias, r0, m)
                let blockRows = min(gemmBlockRows, m - r0)
                // The next full block of this row block's Y, asked for while this one multiplies (the row blocks
                // of the group pass in between). 128×128 over 147×147 on one core: 63 → 76–84 GFLOP/s; 144×24 over
                // 112×112: 38–54 → 61–70 (Ice Lake, 48 MB of L3 shared with other machines).
                if unit + 1 < blocks.count {
                    prefetchForWrite(y + r0 * ldy + firstColumn + (unit + 1) * gemmWideColumns, ldy, rows: blockRows,
                                     columns: gemmWideColumns)
                }
                if unit == panelUnits {
                    // The tail.
                    let slot = rowBlock - rows.lowerBound
                    if tail >= 3 {
                        let out = tailY + slot * gemmBlockRows * 16
                        microKernel16(k: kc, w: wBlock, ldw: wStride, kStride: kStride, x: tailX + k0 * 16, ldx: 16,
                                      initial: initial, out: out, ldo: 16)
                        guard last else { return }
                        for r in 0..<blockRows { (y + (r0 + r) * ldy + tailStart).update(from: out + r * 16, count: tail) }
                    } else {
                        for j in 0..<tail {
                            let carried = initial ?? sums[slot * tail + j]
                            sums[slot * tail + j] = packedColumn(k: kc, w: wBlock, ldw: wStride, kStride: kStride,
                                                                 x: tailX + j * k + k0, initial: carried)
                        }
                        guard last else { return }
                        for j in 0..<tail { for r in 0..<blockRows { y[(r0 + r) * ldy + tailStart + j] = sums[slot * tail + j][r] } }
                    }
                    finish(y + r0 * ldy + tailStart, ldy, rows: blockRows, columns: tail,
                           residual: residual.map { $0 + r0 * ldy + tailStart }, activation)
                    return
                }
                let isHalf = unit == blocks.count
                let column = isHalf ? wide : firstColumn + unit * gemmWideColumns
                let columns = isHalf ? half : gemmWideColumns
                let xj = UnsafePointer(panel + unit * gemmWideColumns * kc)
                let edge = ownsEdge && rowBlock == rowBlocks - 1
                let (out, ldo) = edge ? (edgeY + (column - firstColumn), width) : (y + r0 * ldy + column, ldy)
                if !isHalf {
                    microKernel48(k: kc, w: wBlock, ldw: wStride, kStride: kStride, x: xj, initial: initial, out: out,
                                  ldo: ldo)
                } else if half == 32 {
                    microKernel(k: kc, w: wBlock, ldw: wStride, kStride: kStride, x: xj, ldx: gemmBlockColumns,
                                initial: initial, out: out, ldo: ldo)
                } else {
                    microKernel16(k: kc, w: wBlock, ldw: wStride, kStride: kStride, x: xj, ldx: 16, initial: initial,
                                  out: out, ldo: ldo)
                }
                guard last else { return }
                if edge {
                    for r in 0..<blockRows { (y + (r0 + r) * ldy + column).update(from: out + r * ldo, count: columns) }
                }
                finish(y + r0 * ldy + column, ldy, rows: blockRows, columns: columns,
                       residual: residual.map { $0 + r0 * ldy + column }, activation)
            }
            // Every row block of the group over one column unit (in L1), unit after unit; with three units or
            // fewer (7×7 maps: 32 + 16 + 1 columns) each row block over all units instead, so W is read once, not
            // once per unit (1632×49×272 on one core: 133 → 140 GFLOP/s).
            if units <= 3 {
                for rowBlock in rows { for unit in 0..<units { step(unit, rowBlock) } }
            } else {
                for unit in 0..<units { for rowBlock in rows { step(unit, rowBlock) } }
            }
        }
    }
}

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}

/// Asks for the lines of a block of Y (`rows` rows ldy apart, `columns` floats each) ahead of writing them.
@inline(__always)
private func prefetchForWrite(_ y: UnsafeMutablePointer<Float>, _ ldy: Int, rows: Int, columns: Int) {
    for r in 0..<rows {
        var c = 0
        while c < columns { ds_prefetch_write(y + r * ldy + c); c += 16 }
        ds_prefetch_write(y + r * ldy + columns - 1)
    }
}

/// The bias of rows r0 ..< r0 + 8 (zero past M or without a bias).
@inline(__always)
private func rowBias(_ bias: UnsafePointer<Float>?, _ r0: Int, _ m: Int) -> SIMD8<Float> {
    var initial = SIMD8<Float>()
    if let bias { for r in 0..<min(gemmBlockRows, m - r0) { initial[r] = bias[r0 + r] } }
    return initial
}

/// The epilogue of a finished block of Y: the residual, then the activation, row by row.
@inline(__always)
private func finish(_ y: UnsafeMutablePointer<Float>, _ ldy: Int, rows: Int, columns: Int,
                    residual: UnsafePointer<Float>?, _ activation: Activation) {
    if let residual { for r in 0..<rows { addInPlace(y + r * ldy, residual + r * ldy, columns) } }
    if activation != .identity { for r in 0..<rows { activation.apply(y + r * ldy, columns) } }
}

/// y = activation(W·x + bias + residual) for one column x (K floats): squeeze-excite's convs on 1×1 maps. Rows in
/// parallel runs of 32, each a dot product with fixed partial sums, so results do not depend on the threads
/// (OpenBLAS ran these matrix-vector products on one thread, a tile per product: B4's 48 of them took 0.86 ms on
/// two threads against 0.92 on one).
func gemvForward(m: Int, k: Int, w: UnsafePointer<Float>, ldw: Int, x: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil,
                 activation: Activation) {
    // Runs of 32 rows; a second worker from about 16 Ki multiply-adds (a few µs; the team's dispatch costs well
    // under one): B4's squeeze-excite expansions (68→1632) ran on one thread while the other spun.
    let runs = (m + 31) / 32
    Engine.parallelFor(runs, minimumPerThread: max(1, 512 / max(1, k))) { run in
        let rows = (run * 32)..<min(m, run * 32 + 32)
        for r in rows {
            y[r] = (bias?[r] ?? 0) + dot(w + r * ldw, x, k) + (residual?[r] ?? 0)
        }
        activation.apply(y + rows.lowerBound, rows.count)
    }
}

// MARK: - Packed weights

/// A weight matrix W (M×K) in the micro-kernel's order: rows in blocks of eight, interleaved, so that block b
/// holds w[8b + r][p] at 8·(b·K + p) + r, the last block padded with zero rows. The kernel then reads the eight
/// weights of a step at fixed offsets from one pointer instead of from eight rows K floats apart (see
/// `microKernel`). Made once per layer at load time for the folded convs of every network (a conv's weight
/// [K, C, R, S] is the matrix K × C·R·S, as im2col orders its rows), and per call for weights scaled by a
/// squeeze-excite gate.
public struct PackedWeights: Sendable {
    /// M and K.
    public let rows: Int, columns: Int
    /// The weight's own shape ([M, K] or a conv's [K, C, R, S]).
    public let shape: [Int]
    let data: [Float]

    /// - Parameter weight: [M, K] or a conv's [K, C, R, S], row-major.
    public init(_ weight: Tensor) {
        precondition(weight.rank >= 2, "PackedWeights: \(weight.shape) is not a matrix or a conv's weight")
        let (m, k) = (weight.shape[0], weight.count / max(weight.shape[0], 1))
        rows = m
        columns = k
        shape = weight.shape
        data = [Float](unsafeUninitializedCapacity: packedWeightCount(rows: m, columns: k)) { out, initialized in
            weight.data.withUnsafeBufferPointer { wp in
                packWeightRows(wp.baseAddress!, rows: m, columns: k, into: out.baseAddress!)
            }
            initialized = out.count
        }
    }

    /// The weight in its own shape and order again (checks, and callers that need the plain weight).
    public func unpacked() -> Tensor {
        var plain = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let (block, lane) = (r / gemmBlockRows, r % gemmBlockRows)
            for p in 0..<columns { plain[r * columns + p] = data[(block * columns + p) * gemmBlockRows + lane] }
        }
        return Tensor(shape: shape, data: plain)
    }
}

/// Floats that M×K weights take when packed: whole blocks of eight rows.
func packedWeightCount(rows m: Int, columns k: Int) -> Int {
    (m + gemmBlockRows - 1) / gemmBlockRows * gemmBlockRows * k
}

/// Packs row-major W (M×K) into `PackedWeights`' layout at `to`. Blocks in parallel.
func packWeightRows(_ from: UnsafePointer<Float>, rows m: Int, columns k: Int, into to: UnsafeMutablePointer<Float>) {
    // A second worker from 16 Ki floats.
    let blocks = (m + gemmBlockRows - 1) / gemmBlockRows
    Engine.parallelFor(blocks, minimumPerThread: max(1, 16_384 / max(gemmBlockRows * k, 1))) { b in
        let block = to + b * gemmBlockRows * k
        let rows = min(gemmBlockRows, m - gemmBlockRows * b)
        // Sixteen columns of the eight rows at a time: read along the rows, then written out column by
        // column as vectors of eight. (Element by element, with stores 32 bytes apart, B4's 272×1632 took 0.5 ms.)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmBlockRows * 16) { tileBuffer in
            let tile = tileBuffer.baseAddress!
            tile.update(repeating: 0, count: gemmBlockRows * 16)
            var p = 0
            while p < k {
                let count = min(16, k - p)
                for r in 0..<rows {
                    let row = from + (gemmBlockRows * b + r) * k + p
                    if count == 16 {
                        store(load(row), tile + r * 16)
                    } else {
                        for j in 0..<count { tile[r * 16 + j] = row[j] }
                    }
                }
                for j in 0..<count {
                    var column = SIMD8<Float>()
                    for r in 0..<gemmBlockRows { column[r] = tile[r * 16 + j] }
                    UnsafeMutableRawPointer(block + (p + j) * gemmBlockRows).storeBytes(of: column, as: SIMD8<Float>.self)
                }
                p += 16
            }
        }
    }
}

/// Packed weights (`PackedWeights`' layout, M×K) with column p multiplied by scale[p]: a squeeze-excite gate
/// folded into weights packed at load.
func scalePackedWeights(_ from: UnsafePointer<Float>, rows m: Int, columns k: Int, scale: UnsafePointer<Float>,
                        into to: UnsafeMutablePointer<Float>) {
    // A second worker from 16 Ki floats (B4's 960→160 over 14×14 scaled its 20 row blocks on one thread).
    let blocks = (m + gemmBlockRows - 1) / gemmBlockRows
    Engine.parallelFor(blocks, minimumPerThread: max(1, 16_384 / max(gemmBlockRows * k, 1))) { b in
        let (source, target) = (from + b * gemmBlockRows * k, to + b * gemmBlockRows * k)
        for p in 0..<k {
            let column = UnsafeRawPointer(source + p * gemmBlockRows).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(target + p * gemmBlockRows).storeBytes(of: column * scale[p], as: SIMD8<Float>.self)
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

/// out[8×32] = initial (per row) + W[8×K] · X[K×32], or out += W·X when `initial` is nil (the next run of K).
/// W's element (r, p) is at w + r·ldw + p·kStride: one packed block (`PackedWeights`, ldw 1, kStride 8) or eight
/// rows (kStride 1); X has rows ldx apart. Sixteen accumulators (row r, half h) stay in registers; each step loads
/// one row of X as two vectors and broadcasts eight weights. The packed entry has both strides as constants, so the
/// eight weights are read at fixed offsets from one pointer; with run-time strides the compiler walks the eight
/// rows through one chained address register, seven dependent adds a step, which on a core with two 512-bit FMA
/// ports (Emerald Rapids), not the FMAs, sets the pace (728×728×361 on one core: 127 → 148 GFLOP/s packed).
@inline(never)
private func microKernel(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>, ldx: Int,
                         initial: SIMD8<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) {
    if kStride == gemmBlockRows && ldw == 1 {
        kernel8x32(k: k, w: w, ldw: 1, kStride: 8, x: x, ldx: ldx, initial: initial, out: out, ldo: ldo)
    } else {
        kernel8x32(k: k, w: w, ldw: ldw, kStride: kStride, x: x, ldx: ldx, initial: initial, out: out, ldo: ldo)
    }
}

@inline(__always)
private func kernel8x32(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>, ldx: Int,
                        initial: SIMD8<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) {
    var c00: Lanes, c01: Lanes, c10: Lanes, c11: Lanes, c20: Lanes, c21: Lanes, c30: Lanes, c31: Lanes
    var c40: Lanes, c41: Lanes, c50: Lanes, c51: Lanes, c60: Lanes, c61: Lanes, c70: Lanes, c71: Lanes
    if let initial {
        c00 = Lanes(repeating: initial[0]); c01 = c00; c10 = Lanes(repeating: initial[1]); c11 = c10
        c20 = Lanes(repeating: initial[2]); c21 = c20; c30 = Lanes(repeating: initial[3]); c31 = c30
        c40 = Lanes(repeating: initial[4]); c41 = c40; c50 = Lanes(repeating: initial[5]); c51 = c50
        c60 = Lanes(repeating: initial[6]); c61 = c60; c70 = Lanes(repeating: initial[7]); c71 = c70
    } else {
        c00 = load(out); c01 = load(out + 16); c10 = load(out + ldo); c11 = load(out + ldo + 16)
        c20 = load(out + 2 * ldo); c21 = load(out + 2 * ldo + 16); c30 = load(out + 3 * ldo); c31 = load(out + 3 * ldo + 16)
        c40 = load(out + 4 * ldo); c41 = load(out + 4 * ldo + 16); c50 = load(out + 5 * ldo); c51 = load(out + 5 * ldo + 16)
        c60 = load(out + 6 * ldo); c61 = load(out + 6 * ldo + 16); c70 = load(out + 7 * ldo); c71 = load(out + 7 * ldo + 16)
    }
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

/// out[8×48] = initial (per row) + W[8×K] · X[K×48], or out += W·X when `initial` is nil: the runs' main block,
/// X a panel of rows 48 floats apart, W as in `microKernel`. Twenty-four accumulators, three X vectors and one
/// broadcast weight: 28 of AVX-512's 32 vector registers.
@inline(never)
private func microKernel48(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>,
                           initial: SIMD8<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) {
    if kStride == gemmBlockRows && ldw == 1 {
        kernel8x48(k: k, w: w, ldw: 1, kStride: 8, x: x, initial: initial, out: out, ldo: ldo)
    } else {
        kernel8x48(k: k, w: w, ldw: ldw, kStride: kStride, x: x, initial: initial, out: out, ldo: ldo)
    }
}

@inline(__always)
private func kernel8x48(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>,
                        initial: SIMD8<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) {
    var c00: Lanes, c01: Lanes, c02: Lanes, c10: Lanes, c11: Lanes, c12: Lanes
    var c20: Lanes, c21: Lanes, c22: Lanes, c30: Lanes, c31: Lanes, c32: Lanes
    var c40: Lanes, c41: Lanes, c42: Lanes, c50: Lanes, c51: Lanes, c52: Lanes
    var c60: Lanes, c61: Lanes, c62: Lanes, c70: Lanes, c71: Lanes, c72: Lanes
    if let initial {
        c00 = Lanes(repeating: initial[0]); c01 = c00; c02 = c00
        c10 = Lanes(repeating: initial[1]); c11 = c10; c12 = c10
        c20 = Lanes(repeating: initial[2]); c21 = c20; c22 = c20
        c30 = Lanes(repeating: initial[3]); c31 = c30; c32 = c30
        c40 = Lanes(repeating: initial[4]); c41 = c40; c42 = c40
        c50 = Lanes(repeating: initial[5]); c51 = c50; c52 = c50
        c60 = Lanes(repeating: initial[6]); c61 = c60; c62 = c60
        c70 = Lanes(repeating: initial[7]); c71 = c70; c72 = c70
    } else {
        @inline(__always) func row(_ r: Int) -> (Lanes, Lanes, Lanes) {
            (load(out + r * ldo), load(out + r * ldo + 16), load(out + r * ldo + 32))
        }
        (c00, c01, c02) = row(0); (c10, c11, c12) = row(1); (c20, c21, c22) = row(2); (c30, c31, c32) = row(3)
        (c40, c41, c42) = row(4); (c50, c51, c52) = row(5); (c60, c61, c62) = row(6); (c70, c71, c72) = row(7)
    }
    let w0 = w, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
    let w4 = w3 + ldw, w5 = w4 + ldw, w6 = w5 + ldw, w7 = w6 + ldw
    var xp = x, o = 0
    for _ in 0..<k {
        let x0 = load(xp), x1 = load(xp + 16), x2 = load(xp + 32)
        xp += gemmWideColumns
        var b = Lanes(repeating: w0[o]); c00 = fused(c00, b, x0); c01 = fused(c01, b, x1); c02 = fused(c02, b, x2)
        b = Lanes(repeating: w1[o]); c10 = fused(c10, b, x0); c11 = fused(c11, b, x1); c12 = fused(c12, b, x2)
        b = Lanes(repeating: w2[o]); c20 = fused(c20, b, x0); c21 = fused(c21, b, x1); c22 = fused(c22, b, x2)
        b = Lanes(repeating: w3[o]); c30 = fused(c30, b, x0); c31 = fused(c31, b, x1); c32 = fused(c32, b, x2)
        b = Lanes(repeating: w4[o]); c40 = fused(c40, b, x0); c41 = fused(c41, b, x1); c42 = fused(c42, b, x2)
        b = Lanes(repeating: w5[o]); c50 = fused(c50, b, x0); c51 = fused(c51, b, x1); c52 = fused(c52, b, x2)
        b = Lanes(repeating: w6[o]); c60 = fused(c60, b, x0); c61 = fused(c61, b, x1); c62 = fused(c62, b, x2)
        b = Lanes(repeating: w7[o]); c70 = fused(c70, b, x0); c71 = fused(c71, b, x1); c72 = fused(c72, b, x2)
        o += kStride
    }
    @inline(__always) func put(_ r: Int, _ a: Lanes, _ b: Lanes, _ c: Lanes) {
        store(a, out + r * ldo); store(b, out + r * ldo + 16); store(c, out + r * ldo + 32)
    }
    put(0, c00, c01, c02); put(1, c10, c11, c12); put(2, c20, c21, c22); put(3, c30, c31, c32)
    put(4, c40, c41, c42); put(5, c50, c51, c52); put(6, c60, c61, c62); put(7, c70, c71, c72)
}

/// out[8×16] = initial (per row) + W[8×K] · X[K×16], or out += W·X when `initial` is nil: the half-width kernel
/// for the last 16 (or padded) columns, W as in `microKernel`.
@inline(never)
private func microKernel16(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>, ldx: Int,
                           initial: SIMD8<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) {
    if kStride == gemmBlockRows && ldw == 1 {
        kernel8x16(k: k, w: w, ldw: 1, kStride: 8, x: x, ldx: ldx, initial: initial, out: out, ldo: ldo)
    } else {
        kernel8x16(k: k, w: w, ldw: ldw, kStride: kStride, x: x, ldx: ldx, initial: initial, out: out, ldo: ldo)
    }
}

@inline(__always)
private func kernel8x16(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>, ldx: Int,
                        initial: SIMD8<Float>?, out: UnsafeMutablePointer<Float>, ldo: Int) {
    var c0: Lanes, c1: Lanes, c2: Lanes, c3: Lanes, c4: Lanes, c5: Lanes, c6: Lanes, c7: Lanes
    if let initial {
        c0 = Lanes(repeating: initial[0]); c1 = Lanes(repeating: initial[1])
        c2 = Lanes(repeating: initial[2]); c3 = Lanes(repeating: initial[3])
        c4 = Lanes(repeating: initial[4]); c5 = Lanes(repeating: initial[5])
        c6 = Lanes(repeating: initial[6]); c7 = Lanes(repeating: initial[7])
    } else {
        c0 = load(out); c1 = load(out + ldo); c2 = load(out + 2 * ldo); c3 = load(out + 3 * ldo)
        c4 = load(out + 4 * ldo); c5 = load(out + 5 * ldo); c6 = load(out + 6 * ldo); c7 = load(out + 7 * ldo)
    }
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

/// Copies the K×`width` block of X at `x` (row stride ldx; width 48, 32 or 16) into `panel`, rows `width` floats
/// apart.
private func packColumns(_ x: UnsafePointer<Float>, ldx: Int, k: Int, width: Int, into panel: UnsafeMutablePointer<Float>) {
    if width == gemmWideColumns {
        for p in 0..<k {
            let (from, to) = (x + p * ldx, panel + p * gemmWideColumns)
            store(load(from), to)
            store(load(from + 16), to + 16)
            store(load(from + 32), to + 32)
        }
    } else if width == gemmBlockColumns {
        for p in 0..<k {
            let from = x + p * ldx
            store(load(from), panel + p * gemmBlockColumns)
            store(load(from + 16), panel + p * gemmBlockColumns + 16)
        }
    } else {
        for p in 0..<k { store(load(x + p * ldx), panel + p * 16) }
    }
}

/// y[i] += r[i] for `count` floats.
func addInPlace(_ y: UnsafeMutablePointer<Float>, _ r: UnsafePointer<Float>, _ count: Int) {
    var i = 0
    while i + 16 <= count { store(load(y + i) + load(r + i), y + i); i += 16 }
    while i < count { y[i] += r[i]; i += 1 }
}

/// initial + W[8×K] · x for one column x (K contiguous floats), W as in `microKernel`: 8-lane multiply-adds
/// into four partial sums (k mod 4), added in a fixed order at the end — the same sums for packed and row-major W.
/// With one sum, each step waited for the last (4 cycles a step): on a 7×7 map (49 = 32 + 16 + 1 columns) the
/// one column took as long as half the 32-column block.
private func packedColumn(k: Int, w: UnsafePointer<Float>, ldw: Int, kStride: Int, x: UnsafePointer<Float>,
                          initial: SIMD8<Float>) -> SIMD8<Float> {
    let packed = ldw == 1 && kStride == gemmBlockRows
    @inline(__always) func column(_ p: Int) -> SIMD8<Float> {
        if packed { return UnsafeRawPointer(w + p * gemmBlockRows).loadUnaligned(as: SIMD8<Float>.self) }
        let q = p * kStride
        return SIMD8(w[q], w[ldw + q], w[2 * ldw + q], w[3 * ldw + q], w[4 * ldw + q], w[5 * ldw + q],
                     w[6 * ldw + q], w[7 * ldw + q])
    }
    @inline(__always) func step(_ acc: inout SIMD8<Float>, _ p: Int) {
        #if DEEPSCOPE_FMA
        acc = acc.addingProduct(column(p), SIMD8(repeating: x[p]))
        #else
        acc += column(p) * SIMD8(repeating: x[p])
        #endif
    }
    var (a0, a1, a2, a3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
    var p = 0
    while p + 4 <= k { step(&a0, p); step(&a1, p + 1); step(&a2, p + 2); step(&a3, p + 3); p += 4 }
    while p < k { step(&a0, p); p += 1 }
    return initial + ((a0 + a1) + (a2 + a3))
}

/// Σ a[i]·b[i] over `count` floats: four 16-lane partial sums (k in steps of 64), then a scalar tail, then
/// the lanes added in a fixed order. The matrix-vector product's rows (`gemvForward`).
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

