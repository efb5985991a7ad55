// Reductions: per-plane sums and dot products in a fixed, vectorised order (16 float lanes over blocks of 256
// elements, blocks added in Double). Batch-norm statistics, bias gradients and depthwise weight gradients use
// them; the order depends only on the length, so results are the same on every run and thread count.

/// Σ p[i] in a fixed order: 16 float lanes over blocks of 256 elements, blocks summed in Double. Vectorised, and
/// the same value on every run.
func blockedSum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0, i = 0
    while i + 16 <= count {
        var lanes = SIMD16<Float>()
        let blockEnd = min(count - 15, i + 256)
        while i < blockEnd {
            lanes += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        total += Double(lanes.sum())
    }
    while i < count { total += Double(p[i]); i += 1 }
    return total
}

/// Σ (p[i] − mean)² in the order of `blockedSum`.
func blockedSquaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, from mean: Double) -> Double {
    var total = 0.0, i = 0
    let mu = SIMD16<Float>(repeating: Float(mean))
    while i + 16 <= count {
        var lanes = SIMD16<Float>()
        let blockEnd = min(count - 15, i + 256)
        while i < blockEnd {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) - mu
            lanes += d * d
            i += 16
        }
        total += Double(lanes.sum())
    }
    while i < count { let d = Double(p[i]) - mean; total += d * d; i += 1 }
    return total
}

/// Σ a[i]·b[i] in the order of `blockedSum`.
func blockedDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0, i = 0
    while i + 16 <= count {
        var lanes = SIMD16<Float>()
        let blockEnd = min(count - 15, i + 256)
        while i < blockEnd {
            lanes += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        total += Double(lanes.sum())
    }
    while i < count { total += Double(a[i] * b[i]); i += 1 }
    return total
}
