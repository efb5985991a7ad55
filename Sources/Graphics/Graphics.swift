// Graphics: colour maps, heatmap overlays and terminal image encoders (ASCII, half blocks, sixel), each in two
// stages — compute (image → cell grid or indexed image) then encode (→ escape sequences for a terminal).
import Media

// MARK: - Colour value

/// One 8-bit RGB colour, the unit cell grids and palettes are made of.
public struct RGB: Sendable, Hashable, CustomStringConvertible {
    /// Red, 0–255.
    public var r: UInt8
    /// Green, 0–255.
    public var g: UInt8
    /// Blue, 0–255.
    public var b: UInt8

    /// A colour from its three 8-bit channels.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// `rgb(r,g,b)`, for messages and test output.
    public var description: String { "rgb(\(r),\(g),\(b))" }

    /// Rec. 601 luma in [0, 255], the weighting the ASCII ramp and grey matching use.
    var luma: Float { 0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b) }
}

// MARK: - Pixel access

extension RGBImage {
    /// The colour at column `x`, row `y` (no bounds check beyond the array's own).
    func pixel(_ x: Int, _ y: Int) -> RGB {
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
