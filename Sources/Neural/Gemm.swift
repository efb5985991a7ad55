// Gemm: the single doorway to OpenBLAS's sgemm, row-major, tiled over the engine's own threads.
//
// OpenBLAS runs single-threaded; the engine splits C into tiles and runs one sgemm per tile on its own workers.
// Convolution shapes are skinny (K = 24…448 input channels, N = H·W up to 12544), where OpenBLAS's own threading
// pays a synchronisation per call; tiles also let a fused epilogue (bias, activation) run while the tile is
// still in cache. The tiling depends only on the shape, never on the thread count, so results are identical for
// any `Engine.threads`.
import COpenBLAS

// MARK: - sgemm

/// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major; op transposes when asked. `epilogue(rows, cols)` runs
/// on each finished tile of C.
///
/// With `rowBias` (m values, only with beta = 0), C = alpha · op(A) · op(B) + rowBias broadcast along rows: each
/// tile of C is first filled with its rows' bias and the product added with beta = 1. OpenBLAS skips its own
/// pass over C when beta is 1 (it zero-fills C when beta is 0), so the bias costs no extra pass at all.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, rowBias: UnsafePointer<Float>? = nil,
           epilogue: ((Range<Int>, Range<Int>) -> Void)? = nil) {
    precondition(rowBias == nil || beta == 0, "sgemm: rowBias replaces beta · C")
    guard m > 0 && n > 0 else { return }
    Engine.prepareBLAS()
    let (tileM, tileN) = gemmTiles(m: m, n: n, k: k)
    let tilesM = (m + tileM - 1) / tileM, tilesN = (n + tileN - 1) / tileN
    Engine.parallelFor(tilesM * tilesN) { tile in
        let rows = (tile / tilesN * tileM)..<min(m, (tile / tilesN + 1) * tileM)
        let cols = (tile % tilesN * tileN)..<min(n, (tile % tilesN + 1) * tileN)
        let cTile = c + rows.lowerBound * ldc + cols.lowerBound
        var beta = beta
        if let rowBias {
            for i in 0..<rows.count { (cTile + i * ldc).update(repeating: rowBias[rows.lowerBound + i], count: cols.count) }
            beta = 1
        }
        if k == 0 {
            // BLAS may skip the update for k = 0; make the empty product explicit.
            for i in 0..<rows.count { for j in 0..<cols.count { cTile[i * ldc + j] = beta == 0 ? 0 : beta * cTile[i * ldc + j] } }
        } else {
            let aTile = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
            let bTile = transB ? b + cols.lowerBound * ldb : b + cols.lowerBound
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(rows.count), Int32(cols.count), Int32(k), alpha, aTile, Int32(lda), bTile, Int32(ldb),
                        beta, cTile, Int32(ldc))
        }
        epilogue?(rows, cols)
    }
}

/// Tile sizes for an m×n×k product: column tiles sized so a tile of C (about 384 KB) stays in L2 for the
/// epilogue, and row tiles when that leaves fewer than four tiles, so two workers stay busy on the small late
/// layers of a network. (A sweep of fixed 128…1024-column tiles on the B4-shaped stack favoured ~512 at m ≈ 192.)
func gemmTiles(m: Int, n: Int, k: Int) -> (Int, Int) {
    if m * n * k < 1 << 18 { return (m, n) }
    let preferred = min(max(98_304 / m / 64 * 64, 128), 1024)
    let tileN = n <= preferred * 3 / 2 ? n : preferred
    let tilesN = (n + tileN - 1) / tileN
    guard tilesN < 4 && m >= 64 else { return (m, tileN) }
    let tilesM = min((m + 31) / 32, (4 + tilesN - 1) / tilesN)
    let tileM = ((m + tilesM - 1) / tilesM + 15) / 16 * 16
    return (tileM, tileN)
}
