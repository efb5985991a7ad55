import Media

// MARK: - Area resampling

/// Pixel spans of PyTorch's adaptive average pooling (what `F.interpolate(mode="area")` is): output cell i
/// covers input [⌊i·n/m⌋, ⌈(i+1)·n/m⌉).
func adaptiveSpans(input n: Int, output m: Int) -> [Range<Int>] {
    (0..<m).map { i in (i * n / m)..<(((i + 1) * n + m - 1) / m) }
}

/// Resamples the `rows`×`cols` region of `image` to `outHeight`×`outWidth` by area averaging and writes it
/// normalised as MTCNN wants ((v − 127.5) · 2⁻⁷), planar C×H×W, at `dst`.
///
/// Sums run in Float32 row by row, then divide by the span height and then the span width: PyTorch's CPU
/// kernel does exactly this, and the detector's thresholds and `floor`s make the last bit matter at times.
func resampleArea(_ image: RGBImage, rows: Range<Int>, cols: Range<Int>, outHeight: Int, outWidth: Int,
                  into dst: UnsafeMutablePointer<Float>) {
    let ys = adaptiveSpans(input: rows.count, output: outHeight)
    let xs = adaptiveSpans(input: cols.count, output: outWidth)
    let plane = outHeight * outWidth
    let stride = image.width * 3
    image.pixels.withUnsafeBufferPointer { px in
        for (oy, ySpan) in ys.enumerated() {
            let kh = Float(ySpan.count)
            for (ox, xSpan) in xs.enumerated() {
                var r: Float = 0, g: Float = 0, b: Float = 0
                for y in ySpan {
                    var p = (rows.lowerBound + y) * stride + (cols.lowerBound + xSpan.lowerBound) * 3
                    for _ in xSpan {
                        r += Float(px[p]); g += Float(px[p + 1]); b += Float(px[p + 2])
                        p += 3
                    }
                }
                let kw = Float(xSpan.count)
                let o = oy * outWidth + ox
                dst[o] = (r / kh / kw - 127.5) * 0.0078125
                dst[plane + o] = (g / kh / kw - 127.5) * 0.0078125
                dst[2 * plane + o] = (b / kh / kw - 127.5) * 0.0078125
            }
        }
    }
}
