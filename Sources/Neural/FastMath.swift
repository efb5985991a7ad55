// FastMath: vectorised exp and sigmoid for activation kernels, accurate to a few float ulps.

// MARK: - exp

/// e^x for eight lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7 minimax polynomial (the Cephes expf
/// coefficients), 2^n assembled in the exponent bits. Inputs are clamped to ±87.3 so results stay finite/normal.
@inline(__always)
func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = x.clamped(lowerBound: SIMD8(repeating: -87.3), upperBound: SIMD8(repeating: 87.3))
    let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
    // ln2 split in a high part exact in float and a low correction, so r keeps full precision.
    var r = clamped - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let er = p * (r * r) + r + 1
    let bits = (SIMD8<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
    return er * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// 1 / (1 + e^−x) for eight lanes.
@inline(__always)
func fastSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + fastExp(-x))
}

// MARK: - Buffer helpers

/// Applies `lanes` eight floats at a time and `scalar` via a padded lane group for the tail.
@inline(__always)
func mapInPlace(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ lanes: (SIMD8<Float>) -> SIMD8<Float>) {
    var i = 0
    let raw = UnsafeMutableRawPointer(p)
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        raw.storeBytes(of: lanes(v), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    if i < count {
        var v = SIMD8<Float>(repeating: 0)
        for j in 0..<(count - i) { v[j] = p[i + j] }
        let y = lanes(v)
        for j in 0..<(count - i) { p[i + j] = y[j] }
    }
}
