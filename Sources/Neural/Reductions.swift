// Reductions: per-plane sums and dot products in a fixed, vectorised order (16 float lanes over blocks of 256
// elements, blocks added in Double). Batch-norm statistics, bias gradients and depthwise weight gradients use
// them; the order depends only on the length, so results are the same on every run and thread count.

/// Σ over i < count in that order: `lanes(i)` gives the 16 terms at i…i+15 (summed in float within a block of
/// 256 elements), `tail(i)` the single terms after the last full 16.
@inline(__always)
private func blockedReduce(_ count: Int, lanes: (Int) -> SIMD16<Float>, tail: (Int) -> Double) -> Double {
    var total = 0.0, i = 0
    while i + 16 <= count {
        var block = SIMD16<Float>()
        let blockEnd = min(count - 15, i + 256)
        while i < blockEnd {
            block += lanes(i)
            i += 16
        }
        total += Double(block.sum())
    }
    while i < count { total += tail(i); i += 1 }
    return total
}

/// The 16 floats at p + i (unaligned).
@inline(__always)
private func sixteen(_ p: UnsafePointer<Float>, at i: Int) -> SIMD16<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
}

/// Σ p[i].
func blockedSum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    blockedReduce(count, lanes: { sixteen(p, at: $0) }, tail: { Double(p[$0]) })
}

/// Σ (p[i] − mean)².
func blockedSquaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, from mean: Double) -> Double {
    let mu = SIMD16<Float>(repeating: Float(mean))
    return blockedReduce(count, lanes: { let d = sixteen(p, at: $0) - mu; return d * d },
                         tail: { let d = Double(p[$0]) - mean; return d * d })
}

/// Σ a[i]·b[i].
func blockedDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
    blockedReduce(count, lanes: { sixteen(a, at: $0) * sixteen(b, at: $0) }, tail: { Double(a[$0] * b[$0]) })
}
