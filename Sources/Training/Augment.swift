// Augment: seeded image augmentation for training crops (flip, rescale, small shift, colour jitter) and the
// preprocessing that turns S×S RGB crops into the normalised N×3×S×S batch a detector expects.
import Foundation
import Media
import Neural

/// Augmentation strengths; `none` turns every transform off (validation).
public struct Augmentation: Sendable, Equatable {
    public var flip = true
    /// Zoom range around 1 (0.1: 0.9–1.1×).
    public var rescale = 0.1
    /// Shift as a fraction of the side.
    public var shift = 0.05
    /// Brightness/contrast jitter amplitude.
    public var colour = 0.1

    public init(flip: Bool = true, rescale: Double = 0.1, shift: Double = 0.05, colour: Double = 0.1) {
        self.flip = flip; self.rescale = rescale; self.shift = shift; self.colour = colour
    }
    public static let none = Augmentation(flip: false, rescale: 0, shift: 0, colour: 0)
}

/// ImageNet normalisation, as the bundled manifests declare it.
public let imagenetMean: [Float] = [0.485, 0.456, 0.406]
public let imagenetStd: [Float] = [0.229, 0.224, 0.225]

/// Writes one crop into `out` (3×S×S at `offset`), augmented with draws from `rng` and normalised.
/// Sampling is bilinear from the crop with edge clamping: one pass does zoom, shift and flip together.
func writeAugmented(_ image: RGBImage, _ a: Augmentation, rng: inout SeededGenerator,
                    into out: UnsafeMutableBufferPointer<Float>, offset: Int) {
    let s = image.width
    let flip = a.flip && rng.uniform() < 0.5
    let zoom = 1 + (a.rescale > 0 ? rng.uniform(-a.rescale...a.rescale) : 0)
    let dx = a.shift > 0 ? rng.uniform(-a.shift...a.shift) * Double(s) : 0
    let dy = a.shift > 0 ? rng.uniform(-a.shift...a.shift) * Double(s) : 0
    let gain = 1 + (a.colour > 0 ? rng.uniform(-a.colour...a.colour) : 0)
    let bias = a.colour > 0 ? rng.uniform(-a.colour...a.colour) * 0.5 : 0
    let c = Double(s - 1) / 2
    let plane = s * s
    image.pixels.withUnsafeBufferPointer { px in
        for y in 0..<s {
            let sy = min(max((Double(y) - c) / zoom + c + dy, 0), Double(s - 1))
            let y0 = Int(sy), y1 = min(y0 + 1, s - 1), fy = sy - Double(y0)
            for x in 0..<s {
                let xx = flip ? s - 1 - x : x
                let sx = min(max((Double(xx) - c) / zoom + c + dx, 0), Double(s - 1))
                let x0 = Int(sx), x1 = min(x0 + 1, s - 1), fx = sx - Double(x0)
                for ch in 0..<3 {
                    let p00 = Double(px[(y0 * s + x0) * 3 + ch]), p01 = Double(px[(y0 * s + x1) * 3 + ch])
                    let p10 = Double(px[(y1 * s + x0) * 3 + ch]), p11 = Double(px[(y1 * s + x1) * 3 + ch])
                    let v = (p00 * (1 - fx) + p01 * fx) * (1 - fy) + (p10 * (1 - fx) + p11 * fx) * fy
                    let unit = (v / 255 - 0.5) * gain + 0.5 + bias
                    out[offset + ch * plane + y * s + x] = (Float(unit) - imagenetMean[ch]) / imagenetStd[ch]
                }
            }
        }
    }
}

/// The normalised N×3×S×S batch of `images`, augmented with a generator seeded from `seed`.
public func makeBatch(_ images: [RGBImage], augmentation: Augmentation, seed: UInt64) -> Tensor {
    let s = images.first?.width ?? 0
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: [images.count, 3, s, s]) { out in
        for (i, image) in images.enumerated() {
            writeAugmented(image, augmentation, rng: &rng, into: out, offset: i * 3 * s * s)
        }
    }
}
