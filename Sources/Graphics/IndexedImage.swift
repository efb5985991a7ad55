// Palette images: the computed form of a picture for sixel, before any escape sequence is chosen.
import Media

/// An image of palette indices, rows top to bottom, with at most 256 palette entries.
public struct IndexedImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// The colours the indices refer to (at most 256).
    public var palette: [RGB]
    /// `width * height` palette indices.
    public var indices: [UInt8]

    /// An indexed image from its parts.
    /// - Precondition: `indices.count == width * height`, `palette.count <= 256`, every index in the palette.
    public init(width: Int, height: Int, palette: [RGB], indices: [UInt8]) {
        precondition(width >= 0 && height >= 0 && indices.count == width * height, "IndexedImage: index count")
        precondition(palette.count <= 256, "IndexedImage: palette has \(palette.count) colours, at most 256 allowed")
        self.width = width
        self.height = height
        self.palette = palette
        self.indices = indices
    }

    /// The image with each index replaced by its palette colour.
    public var rgbImage: RGBImage {
        var pixels = [UInt8](repeating: 0, count: indices.count * 3)
        for (k, i) in indices.enumerated() {
            let c = palette[Int(i)]
            pixels[3 * k] = c.r; pixels[3 * k + 1] = c.g; pixels[3 * k + 2] = c.b
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
