// Forger: synthesises manipulated faces in a real frame — five blending methods that become the attribution
// classes — each a perturbed source face blended into the frame through a soft landmark mask, seeded.
import Foundation
import Faces
import Media

/// The forgery classes, in label order (label 0 is pristine).
public enum ForgeryMethod: String, Sendable, CaseIterable, Codable {
    case pristine
    /// Self-Blended Images: colour/sharpness-perturbed, slightly warped copy of the same face.
    case selfBlend = "self-blend"
    /// The face down- and up-sampled (a low-resolution generator's output pasted in).
    case lowRes = "low-res"
    /// A face whose colour statistics do not match the frame's.
    case colourMismatch = "colour-mismatch"
    /// One region (eyes or mouth) replaced by the same region from another moment.
    case partialSwap = "partial-swap"
    /// A face with blocky quantisation and over-sharpening the frame around it does not have.
    case compression

    public var label: Int { Self.allCases.firstIndex(of: self)! }
}

/// One forged frame: the image and the mask actually blended (zeros for pristine).
public struct Forgery: Sendable {
    public var image: RGBImage
    public var mask: BlendMask
}

/// Forges `method` into `frame` around `face`. Draws come from (seed, frame index, method) only, so any frame
/// can be recomputed alone (the mask-mass report recomputes masks this way).
/// - Parameter donor: the frame and face a partial swap takes its region from.
public func forge(_ method: ForgeryMethod, frame: RGBImage, face: Face, frameIndex: Int, seed: UInt64,
                  donor: (RGBImage, Face)? = nil) -> Forgery {
    let w = frame.width, h = frame.height
    var rng = SeededGenerator(seed: seed ^ (UInt64(frameIndex) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(method.label) << 56))
    guard method != .pristine else {
        return Forgery(image: frame, mask: BlendMask(width: w, height: h, values: [Float](repeating: 0, count: w * h)))
    }
    let eyeDist = Double(hypot(face.landmarks[1].x - face.landmarks[0].x, face.landmarks[1].y - face.landmarks[0].y))
    let blurRadius = max(1, Int(eyeDist / 10))
    var region = MaskRegion.face
    if method == .partialSwap { region = rng.uniform() < 0.5 ? .eyes : .mouth }
    let mask = blendMask(for: face, width: w, height: h, region: region, grow: rng.uniform(1.0...1.2),
                         erode: 1 + Int(rng.uniform() * 2), blur: blurRadius)
    let f = planes(frame)
    var source: [Float]
    switch method {
    case .pristine:
        source = f
    case .selfBlend:
        let c = face.box.center
        source = warp(f, w, h, scale: rng.uniform(0.97...1.04), dx: rng.uniform(-2...2), dy: rng.uniform(-2...2),
                      cx: Double(c.x), cy: Double(c.y))
        source = jitterColour(source, gains: (0..<3).map { _ in rng.uniform(0.92...1.08) }, offsets: (0..<3).map { _ in rng.uniform(-8...8) })
        source = rng.uniform() < 0.5 ? sharpen(source, w, h, amount: rng.uniform(0.4...0.9)) : blur(source, w, h, radius: 1)
    case .lowRes:
        let factor = rng.uniform(3...5)
        let small = frame.resizedBilinear(width: max(4, Int(Double(w) / factor)), height: max(4, Int(Double(h) / factor)))
        source = planes(small.resizedBilinear(width: w, height: h))
    case .colourMismatch:
        let sign = rng.uniform() < 0.5 ? -1.0 : 1.0
        source = jitterColour(f, gains: [1 + sign * rng.uniform(0.12...0.2), 1, 1 - sign * rng.uniform(0.12...0.2)],
                              offsets: [sign * rng.uniform(10...18), rng.uniform(-6...6), -sign * rng.uniform(10...18)])
    case .partialSwap:
        if let (d, df) = donor {
            // Align the donor's landmarks onto this face (similarity, least squares) and sample through the inverse.
            let back = SimilarityTransform.leastSquares(from: face.landmarks, to: df.landmarks)
            source = warpSimilarity(planes(d), w, h, back)
        } else {
            source = warp(f, w, h, scale: 1, dx: rng.uniform(-3...3), dy: rng.uniform(2...4), cx: 0, cy: 0)
        }
        source = jitterColour(source, gains: [1.05, 1.0, 0.95], offsets: [4, 0, -4])
    case .compression:
        source = sharpen(blockQuantise(f, w, h, block: 4, levels: Int(rng.uniform(10...16))), w, h, amount: rng.uniform(0.8...1.4))
    }
    var out = f
    for c in 0..<3 {
        for i in 0..<(w * h) {
            let m = mask.values[i]
            out[c * w * h + i] = m * source[c * w * h + i] + (1 - m) * f[c * w * h + i]
        }
    }
    return Forgery(image: image(out, w, h), mask: mask)
}

// MARK: - Image helpers (planar float, 0–255)

func planes(_ im: RGBImage) -> [Float] {
    let n = im.width * im.height
    var out = [Float](repeating: 0, count: 3 * n)
    for i in 0..<n { for c in 0..<3 { out[c * n + i] = Float(im.pixels[i * 3 + c]) } }
    return out
}

func image(_ p: [Float], _ w: Int, _ h: Int) -> RGBImage {
    let n = w * h
    var px = [UInt8](repeating: 0, count: 3 * n)
    for i in 0..<n { for c in 0..<3 { px[i * 3 + c] = UInt8(max(0, min(255, p[c * n + i].rounded()))) } }
    return RGBImage(width: w, height: h, pixels: px)
}

/// Bilinear resampling of a scale about (cx, cy) followed by a shift, edges clamped.
func warp(_ p: [Float], _ w: Int, _ h: Int, scale: Double, dx: Double, dy: Double, cx: Double, cy: Double) -> [Float] {
    var out = p
    for y in 0..<h { for x in 0..<w {
        let sx = min(max((Double(x) - dx - cx) / scale + cx, 0), Double(w - 1))
        let sy = min(max((Double(y) - dy - cy) / scale + cy, 0), Double(h - 1))
        sampleBilinear(p, w, h, sx, sy, into: &out, at: y * w + x)
    } }
    return out
}

/// Writes the bilinear sample of the planar RGB `p` at the clamped point (sx, sy) into pixel `index` of `out`.
@inline(__always)
private func sampleBilinear(_ p: [Float], _ w: Int, _ h: Int, _ sx: Double, _ sy: Double, into out: inout [Float],
                            at index: Int) {
    let n = w * h
    let x0 = Int(sx), y0 = Int(sy), x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1)
    let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
    for c in 0..<3 {
        let b = c * n
        let top = p[b + y0 * w + x0] * (1 - fx) + p[b + y0 * w + x1] * fx
        let bottom = p[b + y1 * w + x0] * (1 - fx) + p[b + y1 * w + x1] * fx
        out[b + index] = top * (1 - fy) + bottom * fy
    }
}

/// Samples `p` at `t(x, y)` for every output pixel (bilinear, edges clamped).
func warpSimilarity(_ p: [Float], _ w: Int, _ h: Int, _ t: SimilarityTransform) -> [Float] {
    var out = p
    for y in 0..<h { for x in 0..<w {
        let s = t.apply(FacePoint(x: Float(x), y: Float(y)))
        let sx = min(max(Double(s.x), 0), Double(w - 1)), sy = min(max(Double(s.y), 0), Double(h - 1))
        sampleBilinear(p, w, h, sx, sy, into: &out, at: y * w + x)
    } }
    return out
}

func jitterColour(_ p: [Float], gains: [Double], offsets: [Double]) -> [Float] {
    let n = p.count / 3
    var out = p
    for c in 0..<3 { for i in 0..<n { out[c * n + i] = p[c * n + i] * Float(gains[c]) + Float(offsets[c]) } }
    return out
}

func blur(_ p: [Float], _ w: Int, _ h: Int, radius: Int) -> [Float] {
    let n = w * h
    return (0..<3).flatMap { c in boxBlur(Array(p[(c * n)..<((c + 1) * n)]), w, h, radius) }
}

/// Unsharp mask: p + amount · (p − blur(p)).
func sharpen(_ p: [Float], _ w: Int, _ h: Int, amount: Double) -> [Float] {
    let b = blur(p, w, h, radius: 1)
    return zip(p, b).map { $0 + Float(amount) * ($0 - $1) }
}

/// Block means on a `block`-pixel grid mixed with coarse level quantisation: the look of a starved encoder.
func blockQuantise(_ p: [Float], _ w: Int, _ h: Int, block: Int, levels: Int) -> [Float] {
    let n = w * h
    var out = p
    let step = 255 / Float(max(levels - 1, 1))
    for c in 0..<3 {
        for by in stride(from: 0, to: h, by: block) { for bx in stride(from: 0, to: w, by: block) {
            var s: Float = 0, k: Float = 0
            for y in by..<min(by + block, h) { for x in bx..<min(bx + block, w) { s += p[c * n + y * w + x]; k += 1 } }
            let mean = s / k
            for y in by..<min(by + block, h) { for x in bx..<min(bx + block, w) {
                let v = 0.6 * mean + 0.4 * p[c * n + y * w + x]
                out[c * n + y * w + x] = (v / step).rounded() * step
            } }
        } }
    }
    return out
}
