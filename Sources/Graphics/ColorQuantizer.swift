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
        let map = PaletteMap(palette)
        let indices = dither ? floydSteinberg(image, map) : map.indices(of: image)
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
        var current = [Float](repeating: 0, count: (w + 2) * 3), next = current
        for y in 0..<image.height {
            for x in 0..<w {
                let p = (y * w + x) * 3, e = (x + 1) * 3
                let r = min(max(Float(image.pixels[p]) + current[e], 0), 255)
                let g = min(max(Float(image.pixels[p + 1]) + current[e + 1], 0), 255)
                let b = min(max(Float(image.pixels[p + 2]) + current[e + 2], 0), 255)
                let i = map.nearest(r: r, g: g, b: b)
                indices[y * w + x] = UInt8(i)
                let chosen = map.palette[i]
                let error = (r - Float(chosen.r), g - Float(chosen.g), b - Float(chosen.b))
                for (c, err) in [error.0, error.1, error.2].enumerated() {
                    current[e + 3 + c] += err * 7 / 16
                    next[e - 3 + c] += err * 3 / 16
                    next[e + c] += err * 5 / 16
                    next[e + 3 + c] += err * 1 / 16
                }
            }
            swap(&current, &next)
            for i in next.indices { next[i] = 0 }
        }
        return indices
    }
}
