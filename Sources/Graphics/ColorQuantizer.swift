// Colour quantisation to a palette of at most 256 colours: exact when the image has few colours, else
// variance-driven median cut refined by k-means, with optional Floyd–Steinberg dithering.
import Media

/// Reduces an image to an `IndexedImage` with a palette made for that image (never a fixed palette).
///
/// Images with at most `maxColors` distinct colours keep them exactly. Otherwise colours are gathered in a
/// 5-bit-per-channel histogram; the box with the largest squared error is split at the weighted median of
/// its widest channel until there are `maxColors` boxes; the box means are then refined by a few rounds of
/// weighted k-means (Lloyd) over the histogram.
///
/// ```swift
/// let indexed = ColorQuantizer.quantize(frame, maxColors: 256, dither: false)
/// ```
public enum ColorQuantizer {
    /// Rounds of k-means refinement after median cut; each moves the palette to the means of the colours
    /// nearest to it, lowering the squared error, and two capture most of the gain.
    static let refinementRounds = 2

    /// The indexed image.
    /// - Parameters:
    ///   - maxColors: palette size limit, 1–256.
    ///   - dither: spread each pixel's error to its neighbours (Floyd–Steinberg), for smooth gradients.
    public static func quantize(_ image: RGBImage, maxColors: Int = 256, dither: Bool = false) -> IndexedImage {
        precondition((1...256).contains(maxColors), "ColorQuantizer: maxColors \(maxColors) is outside 1…256")
        if let exact = exactPalette(image, limit: maxColors) {
            let indices = image.pixels.withUnsafeBufferPointer { p in
                (0..<(image.width * image.height)).map { k in
                    exact.lookup(UInt32(p[3 * k]) << 16 | UInt32(p[3 * k + 1]) << 8 | UInt32(p[3 * k + 2]))
                }
            }
            return IndexedImage(width: image.width, height: image.height, palette: exact.colors, indices: indices)
        }
        let histogram = Histogram(image)
        var palette = medianCut(histogram, maxColors: maxColors)
        for _ in 0..<refinementRounds { palette = refine(palette, histogram) }
        // Dithered colours wander over far more cells than the image's own, so their lookup is coarser (5 bits,
        // 8 levels a cell): a quarter of the searches, and the diffused error absorbs the difference.
        let indices = dither ? floydSteinberg(image, PaletteMap(palette, bits: 5))
                             : PaletteMap(palette, bits: 6).indices(of: image)
        return IndexedImage(width: image.width, height: image.height, palette: palette, indices: indices)
    }

    // MARK: - Few colours: exact

    /// The image's distinct colours in order of appearance, or nil as soon as there are more than `limit`.
    private static func exactPalette(_ image: RGBImage, limit: Int) -> ColorSet? {
        var set = ColorSet()
        let found = image.pixels.withUnsafeBufferPointer { p -> Bool in
            for k in 0..<(image.width * image.height) {
                let key = UInt32(p[3 * k]) << 16 | UInt32(p[3 * k + 1]) << 8 | UInt32(p[3 * k + 2])
                if !set.insert(key, limit: limit) { return false }
            }
            return true
        }
        return found ? set : nil
    }

    // MARK: - Median cut

    private static func medianCut(_ histogram: Histogram, maxColors: Int) -> [RGB] {
        var boxes = [Box(bins: histogram.occupied, histogram: histogram)]
        while boxes.count < maxColors {
            // Split where it lowers the error most: the box with the largest squared error that can split.
            guard let target = boxes.indices.filter({ boxes[$0].bins.count > 1 })
                .max(by: { boxes[$0].error < boxes[$1].error }), boxes[target].error > 0 else { break }
            let (low, high) = boxes[target].split(histogram)
            boxes[target] = low
            boxes.append(high)
        }
        return boxes.map { $0.mean }
    }

    // MARK: - k-means refinement

    private static func refine(_ palette: [RGB], _ histogram: Histogram) -> [RGB] {
        var sums = [(Double, Double, Double, Double)](repeating: (0, 0, 0, 0), count: palette.count)
        for bin in histogram.occupied {
            let s = histogram.stats[bin]
            let c = PaletteMap.nearest(in: palette, r: Float(s.r) / Float(s.count), g: Float(s.g) / Float(s.count),
                                b: Float(s.b) / Float(s.count))
            sums[c].0 += Double(s.r); sums[c].1 += Double(s.g); sums[c].2 += Double(s.b); sums[c].3 += Double(s.count)
        }
        return palette.indices.map { i in
            let s = sums[i]
            guard s.3 > 0 else { return palette[i] }
            return RGB(UInt8((s.0 / s.3).rounded()), UInt8((s.1 / s.3).rounded()), UInt8((s.2 / s.3).rounded()))
        }
    }

    // MARK: - Dithering

    /// Floyd–Steinberg: 7/16 right, 3/16 below left, 5/16 below, 1/16 below right, scanning left to right.
    private static func floydSteinberg(_ image: RGBImage, _ map: PaletteMap) -> [UInt8] {
        let w = image.width
        var indices = [UInt8](repeating: 0, count: w * image.height)
        // Error rows padded by one pixel each side so the kernel never needs an edge test; raw buffers because
        // this runs per pixel and captured arrays would pay exclusivity checks on every access.
        var current = UnsafeMutableBufferPointer<Float>.allocate(capacity: (w + 2) * 3)
        var next = UnsafeMutableBufferPointer<Float>.allocate(capacity: (w + 2) * 3)
        defer { current.deallocate(); next.deallocate() }
        current.initialize(repeating: 0)
        next.initialize(repeating: 0)
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<image.height {
                for x in 0..<w {
                    let p = (y * w + x) * 3, e = (x + 1) * 3
                    let r = min(max(Float(pixels[p]) + current[e], 0), 255)
                    let g = min(max(Float(pixels[p + 1]) + current[e + 1], 0), 255)
                    let b = min(max(Float(pixels[p + 2]) + current[e + 2], 0), 255)
                    let i = map.nearestCached(r: Int(r + 0.5), g: Int(g + 0.5), b: Int(b + 0.5))
                    indices[y * w + x] = UInt8(i)
                    let chosen = map.palette[i]
                    let errors = (r - Float(chosen.r), g - Float(chosen.g), b - Float(chosen.b))
                    for c in 0..<3 {
                        let error = c == 0 ? errors.0 : (c == 1 ? errors.1 : errors.2)
                        current[e + 3 + c] += error * (7.0 / 16)
                        next[e - 3 + c] += error * (3.0 / 16)
                        next[e + c] += error * (5.0 / 16)
                        next[e + 3 + c] += error * (1.0 / 16)
                    }
                }
                swap(&current, &next)
                next.update(repeating: 0)
            }
        }
        return indices
    }
}
