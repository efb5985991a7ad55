// Gemm: the single doorway to OpenBLAS's sgemm, row-major, with the engine's thread setting applied.
import COpenBLAS

// MARK: - sgemm

/// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major; op transposes when asked.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0 && n > 0 else { return }
    if k == 0 {
        // BLAS may leave C untouched for k = 0 with beta = 0 on some builds; make the empty sum explicit.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    Engine.prepareBLAS()
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
