// The data structures behind ColorQuantizer: an exact colour set, a coarse histogram, median-cut boxes and a
// cached nearest-palette lookup.
import Media

// MARK: - Exact colour set

/// Up to 256 distinct 24-bit colours in an open-addressing table, with their palette indices.
struct ColorSet {
    private static let capacity = 1024
    private static let empty = UInt32.max
    private var keys = [UInt32](repeating: ColorSet.empty, count: ColorSet.capacity)
    private var values = [UInt8](repeating: 0, count: ColorSet.capacity)
    private(set) var colors: [RGB] = []

    /// Adds `key` (0xRRGGBB); false when it is new and the set already holds `limit` colours.
    mutating func insert(_ key: UInt32, limit: Int) -> Bool {
        var slot = Self.slot(key)
        while true {
            if keys[slot] == key { return true }
            if keys[slot] == Self.empty { break }
            slot = (slot + 1) & (Self.capacity - 1)
        }
        guard colors.count < limit else { return false }
        keys[slot] = key
        values[slot] = UInt8(colors.count)
        colors.append(RGB(UInt8(key >> 16), UInt8((key >> 8) & 0xFF), UInt8(key & 0xFF)))
        return true
    }

    /// The palette index of a colour that was inserted.
    func lookup(_ key: UInt32) -> UInt8 {
        var slot = Self.slot(key)
        while keys[slot] != key { slot = (slot + 1) & (Self.capacity - 1) }
        return values[slot]
    }

    private static func slot(_ key: UInt32) -> Int { Int((key &* 2_654_435_761) >> 22) & (capacity - 1) }
}

// MARK: - Histogram

/// Pixel counts and channel sums in 32×32×32 bins (5 bits per channel).
struct Histogram {
    struct Stats { var r = 0, g = 0, b = 0, count = 0 }
    private(set) var stats = [Stats](repeating: Stats(), count: 1 << 15)
    /// The bins holding at least one pixel.
    private(set) var occupied: [Int] = []

    init(_ image: RGBImage) {
        var stats = [Stats](repeating: Stats(), count: 1 << 15)
        var occupied: [Int] = []
        image.pixels.withUnsafeBufferPointer { p in
            stats.withUnsafeMutableBufferPointer { stats in
                for k in 0..<(image.width * image.height) {
                    let r = Int(p[3 * k]), g = Int(p[3 * k + 1]), b = Int(p[3 * k + 2])
                    let bin = (r >> 3) << 10 | (g >> 3) << 5 | (b >> 3)
                    if stats[bin].count == 0 { occupied.append(bin) }
                    stats[bin].r += r; stats[bin].g += g; stats[bin].b += b; stats[bin].count += 1
                }
            }
        }
        self.stats = stats
        self.occupied = occupied
    }

    /// The mean colour of a bin's pixels, per channel.
    func mean(_ bin: Int) -> (Double, Double, Double) {
        let s = stats[bin], n = Double(s.count)
        return (Double(s.r) / n, Double(s.g) / n, Double(s.b) / n)
    }
}

// MARK: - Median-cut box

/// A set of histogram bins with its weighted mean and squared error about that mean.
struct Box {
    var bins: [Int]
    private(set) var mean = RGB(0, 0, 0)
    private(set) var error: Double = 0
    private var variance: (Double, Double, Double) = (0, 0, 0)

    init(bins: [Int], histogram: Histogram) {
        self.bins = bins
        var n = 0.0, s = (0.0, 0.0, 0.0)
        for bin in bins {
            let st = histogram.stats[bin]
            n += Double(st.count); s.0 += Double(st.r); s.1 += Double(st.g); s.2 += Double(st.b)
        }
        guard n > 0 else { return }
        let m = (s.0 / n, s.1 / n, s.2 / n)
        mean = RGB(UInt8(m.0.rounded()), UInt8(m.1.rounded()), UInt8(m.2.rounded()))
        var v = (0.0, 0.0, 0.0)
        for bin in bins {
            let c = histogram.mean(bin), w = Double(histogram.stats[bin].count)
            v.0 += w * (c.0 - m.0) * (c.0 - m.0); v.1 += w * (c.1 - m.1) * (c.1 - m.1); v.2 += w * (c.2 - m.2) * (c.2 - m.2)
        }
        variance = v
        error = v.0 + v.1 + v.2
    }

    /// Splits at the weighted median of the channel with the largest spread; both halves are non-empty.
    func split(_ histogram: Histogram) -> (Box, Box) {
        let channel = variance.0 >= variance.1 && variance.0 >= variance.2 ? 0 : (variance.1 >= variance.2 ? 1 : 2)
        func key(_ bin: Int) -> Double {
            let c = histogram.mean(bin)
            return channel == 0 ? c.0 : (channel == 1 ? c.1 : c.2)
        }
        let sorted = bins.sorted { key($0) < key($1) }
        let total = sorted.reduce(0) { $0 + histogram.stats[$1].count }
        var running = 0, cut = 1
        for (i, bin) in sorted.enumerated() {
            running += histogram.stats[bin].count
            if 2 * running >= total { cut = i + 1; break }
        }
        cut = min(max(cut, 1), sorted.count - 1)
        return (Box(bins: Array(sorted[..<cut]), histogram: histogram),
                Box(bins: Array(sorted[cut...]), histogram: histogram))
    }
}

// MARK: - Nearest palette entry

/// Nearest-colour search over a palette, cached per cell of RGB space (`bits` per channel).
final class PaletteMap {
    let palette: [RGB]
    /// Palette index per cell, −1 until first asked; a raw buffer so the per-pixel lookups carry no
    /// exclusivity checks (a class's stored array would).
    private let cache: UnsafeMutableBufferPointer<Int16>

    /// Dropped low bits per channel: a cell spans `1 << shift` levels of each channel.
    private let shift: Int
    private let bits: Int

    init(_ palette: [RGB], bits: Int = 6) {
        self.palette = palette
        self.bits = bits
        shift = 8 - bits
        cache = .allocate(capacity: 1 << (3 * bits))
        cache.initialize(repeating: -1)
    }

    deinit { cache.deallocate() }

    /// The index of the palette entry nearest (Euclidean) to the colour.
    func nearest(r: Float, g: Float, b: Float) -> Int { Self.nearest(in: palette, r: r, g: g, b: b) }

    /// The index of the entry of `palette` nearest (Euclidean) to the colour, the first on ties.
    static func nearest(in palette: [RGB], r: Float, g: Float, b: Float) -> Int {
        var best = 0, bestDistance = Float.infinity
        for (i, c) in palette.enumerated() {
            let dr = r - Float(c.r), dg = g - Float(c.g), db = b - Float(c.b)
            let d = dr * dr + dg * dg + db * db
            if d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }

    /// The palette entry nearest the centre of the colour's cell, computed once per cell: within
    /// `1 << shift` levels per channel of exact, and error diffusion absorbs the difference when dithering.
    func nearestCached(r: Int, g: Int, b: Int) -> Int {
        let cell = (r >> shift) << (2 * bits) | (g >> shift) << bits | (b >> shift)
        if cache[cell] < 0 {
            let half = Float(1 << shift) / 2 - 0.5
            cache[cell] = Int16(nearest(r: Float((r >> shift) << shift) + half, g: Float((g >> shift) << shift) + half,
                                        b: Float((b >> shift) << shift) + half))
        }
        return Int(cache[cell])
    }

    /// Each pixel's palette index; pixels sharing a cell share the entry nearest the cell's centre.
    func indices(of image: RGBImage) -> [UInt8] {
        image.pixels.withUnsafeBufferPointer { p in
            (0..<(image.width * image.height)).map { k in
                UInt8(nearestCached(r: Int(p[3 * k]), g: Int(p[3 * k + 1]), b: Int(p[3 * k + 2])))
            }
        }
    }
}
