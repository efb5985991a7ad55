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
        let colours = image.palette.count
        var masks = [UInt8](repeating: 0, count: colours * width)
        var firstX = [Int](repeating: Int.max, count: colours), lastX = [Int](repeating: -1, count: colours)
        var used: [Int] = []
        image.indices.withUnsafeBufferPointer { indices in
            for band in 0..<bands {
                for bit in 0..<6 {
                    let y = band * 6 + bit
                    guard y < image.height else { break }
                    let row = y * width
                    for x in 0..<width {
                        let c = Int(indices[row + x])
                        if lastX[c] < 0 { used.append(c) }
                        masks[c * width + x] |= 1 << UInt8(bit)
                        if x < firstX[c] { firstX[c] = x }
                        if x > lastX[c] { lastX[c] = x }
                    }
                }
                // Colours in palette order keep the output deterministic whatever order pixels came in.
                used.sort()
                for (n, c) in used.enumerated() {
                    if n > 0 { w.append(byte: EscapeSequence.sixelCarriageReturn) }
                    EscapeSequence.writeSixelSelect(c, into: &w)
                    writeRow(masks, from: c * width, count: lastX[c] + 1, into: &w)
                    for x in firstX[c]...lastX[c] { masks[c * width + x] = 0 }
                    firstX[c] = Int.max
                    lastX[c] = -1
                }
                used.removeAll(keepingCapacity: true)
                if band < bands - 1 { w.append(byte: EscapeSequence.sixelNewLine) }
            }
        }
        w.append(EscapeSequence.sixelEnd)
        return w.string
    }

    // MARK: - Internals

    /// Sixel characters for `count` columns starting at `start`, equal neighbours run-length coded.
    private static func writeRow(_ masks: [UInt8], from start: Int, count: Int, into w: inout ByteWriter) {
        var x = 0
        while x < count {
            let bits = masks[start + x]
            var run = 1
            while x + run < count && masks[start + x + run] == bits { run += 1 }
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
    let shrinking = width <= image.width && height <= image.height
    let samples = shrinking
        ? areaAverage(image, toWidth: width, toHeight: height)
        : resizeBilinearRGB(image, toWidth: width, toHeight: height)
    return RGBImage(width: width, height: height,
                    pixels: samples.map { UInt8(min(max(($0 + 0.5).rounded(.down), 0), 255)) })
}

/// Bilinear RGB resize with half-pixel centres, one channel plane at a time.
private func resizeBilinearRGB(_ image: RGBImage, toWidth: Int, toHeight: Int) -> [Float] {
    var out = [Float](repeating: 0, count: toWidth * toHeight * 3)
    for c in 0..<3 {
        let plane = (0..<(image.width * image.height)).map { Float(image.pixels[3 * $0 + c]) }
        let resized = resizeBilinear(plane, width: image.width, height: image.height, toWidth: toWidth, toHeight: toHeight)
        for (k, v) in resized.enumerated() { out[3 * k + c] = v }
    }
    return out
}
