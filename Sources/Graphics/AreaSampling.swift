// Area-averaged resampling: each output pixel is the exact coverage-weighted mean of the input it spans.
import Media

/// Resamples `image` to `toWidth × toHeight` as float RGB (0–255), each output pixel the mean of the input
/// area it covers with fractional edges weighted by coverage (OpenCV's INTER_AREA when shrinking).
/// Enlarging picks the pixel under each output pixel, blending at the edges it straddles.
func areaAverage(_ image: RGBImage, toWidth: Int, toHeight: Int) -> [Float] {
    guard toWidth > 0, toHeight > 0 else { return [] }
    guard image.width > 0, image.height > 0 else { return [Float](repeating: 0, count: toWidth * toHeight * 3) }
    let xTaps = coverage(from: image.width, to: toWidth)
    let yTaps = coverage(from: image.height, to: toHeight)
    // Horizontal pass into a float buffer (height × toWidth), then vertical: separable, so O(output · taps).
    var horizontal = [Float](repeating: 0, count: image.height * toWidth * 3)
    image.pixels.withUnsafeBufferPointer { src in
        horizontal.withUnsafeMutableBufferPointer { dst in
            for y in 0..<image.height {
                let srcRow = y * image.width * 3, dstRow = y * toWidth * 3
                for (x, taps) in xTaps.enumerated() {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for tap in taps {
                        let i = srcRow + 3 * tap.index
                        r += tap.weight * Float(src[i]); g += tap.weight * Float(src[i + 1]); b += tap.weight * Float(src[i + 2])
                    }
                    dst[dstRow + 3 * x] = r; dst[dstRow + 3 * x + 1] = g; dst[dstRow + 3 * x + 2] = b
                }
            }
        }
    }
    var out = [Float](repeating: 0, count: toWidth * toHeight * 3)
    let rowLength = toWidth * 3
    horizontal.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for (y, taps) in yTaps.enumerated() {
                let dstRow = y * rowLength
                for tap in taps {
                    let srcRow = tap.index * rowLength
                    for i in 0..<rowLength { dst[dstRow + i] += tap.weight * src[srcRow + i] }
                }
            }
        }
    }
    return out
}

/// Per output index, the input indices it overlaps with their normalised overlap lengths.
private func coverage(from source: Int, to destination: Int) -> [[(index: Int, weight: Float)]] {
    let scale = Double(source) / Double(destination)
    return (0..<destination).map { d in
        let start = Double(d) * scale, end = Double(d + 1) * scale
        var taps: [(index: Int, weight: Float)] = []
        var i = Int(start.rounded(.down))
        while i < source && Double(i) < end {
            let overlap = min(end, Double(i + 1)) - max(start, Double(i))
            if overlap > 1e-9 { taps.append((i, Float(overlap / scale))) }
            i += 1
        }
        return taps
    }
}
