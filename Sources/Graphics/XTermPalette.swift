// The xterm 256-colour palette and the 16 ANSI colours, with nearest-colour lookup into each.

/// xterm's colour palette: 16 ANSI colours, a 6×6×6 cube (16–231) and a 24-step grey ramp (232–255).
public enum XTermPalette {
    /// The six channel levels of the colour cube.
    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// xterm's default values of the 16 ANSI colours (terminals differ; these are the usual reference).
    static let ansi16: [RGB] = [
        RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0),
        RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
        RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0), RGB(255, 255, 0),
        RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255),
    ]

    // MARK: - Lookup

    /// The colour xterm shows for palette index `index`.
    public static func color(_ index: UInt8) -> RGB {
        let i = Int(index)
        if i < 16 { return ansi16[i] }
        if i >= 232 { let v = UInt8(8 + 10 * (i - 232)); return RGB(v, v, v) }
        let c = i - 16
        return RGB(UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[c / 6 % 6]), UInt8(cubeLevels[c % 6]))
    }

    /// The nearest (Euclidean RGB) entry among indices 16–255, the part of the palette every xterm-like
    /// terminal agrees on; the 16 ANSI colours are left out because themes redefine them.
    public static func nearestIndex(_ c: RGB) -> UInt8 {
        // Distance is separable over channels in the cube, so the nearest level per channel is the nearest
        // cube entry; for greys the squared distance is convex in the grey value, so the nearest step to the
        // channel mean wins. The better of the two is the nearest overall.
        let r = nearestCubeLevel(Int(c.r)), g = nearestCubeLevel(Int(c.g)), b = nearestCubeLevel(Int(c.b))
        let cubeIndex = 16 + 36 * r + 6 * g + b
        let mean = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let greyStep = min(23, max(0, (mean - 8 + 5) / 10))
        let greyIndex = 232 + greyStep
        let cubeDistance = distance(c, color(UInt8(cubeIndex)))
        let greyDistance = min(distance(c, color(UInt8(greyIndex))),
                               greyStep < 23 ? distance(c, color(UInt8(greyIndex + 1))) : Int.max,
                               greyStep > 0 ? distance(c, color(UInt8(greyIndex - 1))) : Int.max)
        if greyDistance < cubeDistance {
            // Pick whichever neighbouring grey step achieved the minimum.
            for candidate in [greyIndex, greyIndex + 1, greyIndex - 1] where (232...255).contains(candidate)
                && distance(c, color(UInt8(candidate))) == greyDistance {
                return UInt8(candidate)
            }
        }
        return UInt8(cubeIndex)
    }

    /// The nearest of the 16 ANSI colours, in xterm's default values.
    public static func nearestANSI16(_ c: RGB) -> UInt8 {
        var best = 0, bestDistance = Int.max
        for (i, candidate) in ansi16.enumerated() {
            let d = distance(c, candidate)
            if d < bestDistance { best = i; bestDistance = d }
        }
        return UInt8(best)
    }

    // MARK: - Internals

    private static func nearestCubeLevel(_ v: Int) -> Int {
        // Midpoints between the levels 0, 95, 135, 175, 215, 255.
        if v < 48 { return 0 }
        if v < 115 { return 1 }
        return min(5, (v - 115) / 40 + 2)
    }

    static func distance(_ a: RGB, _ b: RGB) -> Int {
        let dr = Int(a.r) - Int(b.r), dg = Int(a.g) - Int(b.g), db = Int(a.b) - Int(b.b)
        return dr * dr + dg * dg + db * db
    }
}
