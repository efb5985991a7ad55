import Foundation

// MARK: - Rotation

extension RGBImage {
    /// The image turned clockwise by a multiple of 90 degrees (other angles are rounded to the nearest quarter).
    public func rotated(byDegrees degrees: Int) -> RGBImage {
        let quarter = ((Int((Double(degrees) / 90).rounded()) % 4) + 4) % 4
        if quarter == 0 { return self }
        let (w, h) = (width, height)
        let (ow, oh) = quarter == 2 ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let (ox, oy): (Int, Int)
                        switch quarter {
                        case 1: (ox, oy) = (h - 1 - y, x)
                        case 2: (ox, oy) = (w - 1 - x, h - 1 - y)
                        default: (ox, oy) = (y, w - 1 - x)
                        }
                        let s = (y * w + x) * 3, d = (oy * ow + ox) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
