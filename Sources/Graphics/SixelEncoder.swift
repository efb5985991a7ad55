// Encodes images as DEC sixel graphics: a quantised palette, then bands of six rows, run-length coded.
import Media

/// Writes sixel images: `ESC P 0;1;0 q "1;1;W;H`, the palette in RGB percent, one band per six rows with a
/// `#i` run per colour separated by `$`, bands separated by `-` (none after the last), then `ESC \`.
///
/// Heights that are not a multiple of six are padded with transparent rows (raster attributes give the
/// padded height), because terminals advance the cursor by whole bands anyway.
///
/// ```swift
/// let fitted = scaleToFit(frame, maxWidth: 1000, maxHeight: 720, heightMultipleOf: 6)
/// FileHandle.standardOutput.write(SixelEncoder.encode(fitted).data(using: .utf8)!)
/// ```
public enum SixelEncoder {
    /// Quantises `image` to at most `maxColors` colours and encodes it.
    public static func encode(_ image: RGBImage, maxColors: Int = 256, dither: Bool = false) -> String {
        encode(ColorQuantizer.quantize(image, maxColors: maxColors, dither: dither))
    }

    /// Encodes an already indexed image.
    public static func encode(_ image: IndexedImage) -> String {
        let width = image.width, bands = (image.height + 5) / 6
        var w = ByteWriter(capacity: 64 + image.palette.count * 20 + width * bands * 8)
        w.append(EscapeSequence.sixelStart)
        EscapeSequence.writeSixelRaster(width: width, height: bands * 6, into: &w)
        for (i, c) in image.palette.enumerated() {
            EscapeSequence.writeSixelColor(i, percent: (percent(c.r), percent(c.g), percent(c.b)), into: &w)
        }
        guard width > 0 else { w.append(EscapeSequence.sixelEnd); return w.string }

        // masks[colour * width + x]: the six-bit column of colour `colour` at x in the current band; only the
        // columns a colour touched (firstX…lastX) are cleared after the band, so a band costs its own pixels.
        // Raw buffers, not captured arrays: this loop runs for every pixel of every frame.
        let colours = max(image.palette.count, 1)
        let masks = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: colours * width)
        let firstX = UnsafeMutableBufferPointer<Int>.allocate(capacity: colours)
        let lastX = UnsafeMutableBufferPointer<Int>.allocate(capacity: colours)
        defer { masks.deallocate(); firstX.deallocate(); lastX.deallocate() }
        masks.initialize(repeating: 0)
        firstX.initialize(repeating: Int.max)
        lastX.initialize(repeating: -1)
        var used: [Int] = []
        for band in 0..<bands {
            for bit in 0..<min(6, image.height - band * 6) {
                let row = (band * 6 + bit) * width, value = UInt8(1) << UInt8(bit)
                for x in 0..<width {
                    let c = Int(image.indices[row + x])
                    if lastX[c] < 0 { used.append(c) }
                    masks[c * width + x] |= value
                    if x < firstX[c] { firstX[c] = x }
                    if x > lastX[c] { lastX[c] = x }
                }
            }
            // Colours in palette order keep the output deterministic whatever order pixels came in.
            used.sort()
            for (n, c) in used.enumerated() {
                if n > 0 { w.append(byte: EscapeSequence.sixelCarriageReturn) }
                EscapeSequence.writeSixelSelect(c, into: &w)
                let row = UnsafeMutableBufferPointer(rebasing: masks[(c * width)..<(c * width + width)])
                writeRow(row, first: firstX[c], end: lastX[c] + 1, into: &w)
                for x in firstX[c]...lastX[c] { row[x] = 0 }
                firstX[c] = Int.max
                lastX[c] = -1
            }
            used.removeAll(keepingCapacity: true)
            if band < bands - 1 { w.append(byte: EscapeSequence.sixelNewLine) }
        }
        w.append(EscapeSequence.sixelEnd)
        return w.string
    }

    // MARK: - Internals

    /// Sixel characters for columns `0..<end` of one colour's band, equal neighbours run-length coded; the
    /// columns before `first` are known to be empty.
    private static func writeRow(_ masks: UnsafeMutableBufferPointer<UInt8>, first: Int, end: Int, into w: inout ByteWriter) {
        if first > 0 { EscapeSequence.writeSixelRun(0, count: first, into: &w) }
        var x = first
        while x < end {
            let bits = masks[x]
            var run = 1
            while x + run < end && masks[x + run] == bits { run += 1 }
            EscapeSequence.writeSixelRun(bits, count: run, into: &w)
            x += run
        }
    }

    /// A channel byte as sixel's RGB percent, rounded to nearest.
    static func percent(_ v: UInt8) -> Int { (Int(v) * 100 + 127) / 255 }
}

// MARK: - Scaling

/// Scales `image` to the largest size within `maxWidth × maxHeight` that keeps its aspect ratio, area-averaging
/// when shrinking and interpolating bilinearly when enlarging.
/// - Parameter heightMultipleOf: round the height down to a multiple of this (6 gives whole sixel bands).
public func scaleToFit(_ image: RGBImage, maxWidth: Int, maxHeight: Int, heightMultipleOf multiple: Int = 1) -> RGBImage {
    precondition(multiple >= 1, "scaleToFit: heightMultipleOf must be at least 1")
    guard image.width > 0, image.height > 0, maxWidth > 0, maxHeight >= multiple else {
        return RGBImage(width: 0, height: 0, pixels: [])
    }
    let scale = min(Double(maxWidth) / Double(image.width), Double(maxHeight) / Double(image.height))
    let width = max(1, min(maxWidth, Int((Double(image.width) * scale).rounded())))
    var height = max(1, min(maxHeight, Int((Double(image.height) * scale).rounded())))
    height = max(multiple, height / multiple * multiple)
    if width == image.width && height == image.height { return image }
    if width <= image.width && height <= image.height {
        let samples = areaAverage(image, toWidth: width, toHeight: height)
        return RGBImage(width: width, height: height, pixels: samples.map { UInt8(min(max($0 + 0.5, 0), 255)) })
    }
    return RGBImage(width: width, height: height, pixels: resizeBilinearRGB(image, toWidth: width, toHeight: height))
}

/// Bilinear RGB resize with half-pixel centres, all three channels per tap, rounded to bytes.
private func resizeBilinearRGB(_ image: RGBImage, toWidth: Int, toHeight: Int) -> [UInt8] {
    let xs = bilinearTaps(from: image.width, to: toWidth), ys = bilinearTaps(from: image.height, to: toHeight)
    var out = [UInt8](repeating: 0, count: toWidth * toHeight * 3)
    image.pixels.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for (y, ty) in ys.enumerated() {
                let row0 = ty.index * image.width * 3, row1 = ty.next * image.width * 3
                let wy1 = ty.fraction, wy0 = 1 - wy1
                var o = 3 * y * toWidth
                for tx in xs {
                    let wx1 = tx.fraction, wx0 = 1 - wx1
                    let a = 3 * tx.index, b = 3 * tx.next
                    for c in 0..<3 {
                        let top = Float(src[row0 + a + c]) * wx0 + Float(src[row0 + b + c]) * wx1
                        let bottom = Float(src[row1 + a + c]) * wx0 + Float(src[row1 + b + c]) * wx1
                        // Convex weights keep the value in 0…255, so only rounding is needed.
                        dst[o + c] = UInt8(top * wy0 + bottom * wy1 + 0.5)
                    }
                    o += 3
                }
            }
        }
    }
    return out
}
