import Foundation
import Media

// MARK: - Policies

/// How a detector wants its face cut out of the frame (the manifest's `crop.policy`).
public enum CropPolicy: Sendable, Equatable {
    /// icpr2020dfdc: the box grown by `margin` of its height (twice that above, for the forehead), then the
    /// square of side max(w, h) around its centre, clamped to the frame, resized.
    case scale(margin: Double)
    /// FaceForensics++: the square of side ⌊max(w, h) · `factor`⌋ around the box centre, clamped, resized.
    case margin(factor: Double)
    /// Similarity transform (least squares, Umeyama) of the 5 landmarks onto the ArcFace template scaled to
    /// the output size, bilinear warp, black outside the frame.
    case align5
}

/// A pixel rectangle: columns x ..< x + width, rows y ..< y + height.
public struct PixelRect: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
}

// MARK: - Crop rectangles

extension CropPolicy {
    /// The frame rectangle a box-based policy cuts (nil for `align5`, which warps instead).
    public func rectangle(for box: FaceBox, frameWidth fw: Int, frameHeight fh: Int, size: Int) -> PixelRect? {
        switch self {
        case .align5:
            return nil
        case .scale(let margin):
            // blazeface/face_extract.py `_add_margin_to_detections`: torch.round is half-to-even.
            let offset = (margin * Double(box.y2 - box.y1)).rounded(.toNearestOrEven)
            let top = max(Double(box.y1) - 2 * offset, 0), left = max(Double(box.x1) - offset, 0)
            let bottom = min(Double(box.y2) + offset, Double(fh)), right = min(Double(box.x2) + offset, Double(fw))
            // isplutils.utils.extract_bb, "scale": side from the ratio, as Python computes it.
            let bw = Int(right) - Int(left), bh = Int(bottom) - Int(top)
            let ratio = bw > 0 && bh > 0 ? min(Double(size) / Double(bh), Double(size) / Double(bw)) : 1
            let side = Int(Double(size) / ratio)
            let cx = ((left + right) / 2).rounded(.down), cy = ((bottom + top) / 2).rounded(.down)
            let newTop = max(cy - Double(floorDiv(side, 2)), 0), newLeft = max(cx - Double(floorDiv(side, 2)), 0)
            let newBottom = min(newTop + Double(side), Double(fh)), newRight = min(newLeft + Double(side), Double(fw))
            return PixelRect(x: Int(newLeft), y: Int(newTop), width: max(0, Int(newRight) - Int(newLeft)),
                             height: max(0, Int(newBottom) - Int(newTop)))
        case .margin(let factor):
            // FaceForensics classification/detect_from_video.py `get_boundingbox`, on integer corners like dlib's.
            let x1 = Int(box.x1), y1 = Int(box.y1), x2 = Int(box.x2), y2 = Int(box.y2)
            var side = Int(Double(max(x2 - x1, y2 - y1)) * factor)
            let cx = floorDiv(x1 + x2, 2), cy = floorDiv(y1 + y2, 2)
            let x = max(cx - floorDiv(side, 2), 0), y = max(cy - floorDiv(side, 2), 0)
            side = max(0, min(fw - x, fh - y, side))
            return PixelRect(x: x, y: y, width: side, height: side)
        }
    }
}

/// Python's `//` on integers (rounds toward −∞).
func floorDiv(_ a: Int, _ b: Int) -> Int { Int((Double(a) / Double(b)).rounded(.down)) }

// MARK: - Cropping

/// The ArcFace 5-point template for 112×112 (insightface's `arcface_dst`), scaled to other sizes.
let arcfaceTemplate: [FacePoint] = [
    FacePoint(x: 38.2946, y: 51.6963), FacePoint(x: 73.5318, y: 51.5014), FacePoint(x: 56.0252, y: 71.7366),
    FacePoint(x: 41.5493, y: 92.3655), FacePoint(x: 70.7299, y: 92.2041),
]

/// The template points for a `size`×`size` output.
public func alignmentTemplate(size: Int) -> [FacePoint] {
    let s = Float(size) / 112
    return arcfaceTemplate.map { FacePoint(x: $0.x * s, y: $0.y * s) }
}

/// The face cut from `frame` by `policy`, as a `size`×`size` image.
///
/// ```swift
/// let crop = try cropFace(frame, face, policy: .scale(margin: 0), size: 224)
/// ```
public func cropFace(_ frame: RGBImage, _ face: Face, policy: CropPolicy, size: Int) throws -> RGBImage {
    guard size > 0 else { throw FacesError.invalidCrop("output size \(size) must be positive") }
    if policy == .align5 {
        guard face.landmarks.count == 5 else { throw FacesError.invalidCrop("align5 needs 5 landmarks, the face has \(face.landmarks.count)") }
        let transform = SimilarityTransform.leastSquares(from: face.landmarks, to: alignmentTemplate(size: size))
        return warp(frame, inverse: transform.inverted(), width: size, height: size)
    }
    guard let rect = policy.rectangle(for: face.box, frameWidth: frame.width, frameHeight: frame.height, size: size),
          rect.width > 0, rect.height > 0 else {
        throw FacesError.invalidCrop("the face box lies outside the \(frame.width)×\(frame.height) frame")
    }
    return frame.crop(x: rect.x, y: rect.y, width: rect.width, height: rect.height).resizedBilinear(width: size, height: size)
}

// MARK: - Similarity transform

/// x' = a·x − b·y + tx, y' = b·x + a·y + ty: rotation, uniform scale and translation.
public struct SimilarityTransform: Sendable, Equatable {
    public var a: Double, b: Double, tx: Double, ty: Double
    public init(a: Double, b: Double, tx: Double, ty: Double) { self.a = a; self.b = b; self.tx = tx; self.ty = ty }

    public func apply(_ p: FacePoint) -> FacePoint {
        let x = Double(p.x), y = Double(p.y)
        return FacePoint(x: Float(a * x - b * y + tx), y: Float(b * x + a * y + ty))
    }

    public func inverted() -> SimilarityTransform {
        let d = a * a + b * b
        let ia = a / d, ib = -b / d
        return SimilarityTransform(a: ia, b: ib, tx: -(ia * tx - ib * ty), ty: -(ib * tx + ia * ty))
    }

    /// The least-squares similarity taking `src` to `dst` (Umeyama's solution without reflection, in its 2-D
    /// closed form). Degenerate input (all points equal) gives a pure translation.
    public static func leastSquares(from src: [FacePoint], to dst: [FacePoint]) -> SimilarityTransform {
        let n = Double(min(src.count, dst.count))
        guard n > 0 else { return SimilarityTransform(a: 1, b: 0, tx: 0, ty: 0) }
        let pairs = zip(src, dst).map { (Double($0.x), Double($0.y), Double($1.x), Double($1.y)) }
        let msx = pairs.map(\.0).reduce(0, +) / n, msy = pairs.map(\.1).reduce(0, +) / n
        let mdx = pairs.map(\.2).reduce(0, +) / n, mdy = pairs.map(\.3).reduce(0, +) / n
        var dot = 0.0, cross = 0.0, norm = 0.0
        for (sx, sy, dx, dy) in pairs {
            let (ux, uy, vx, vy) = (sx - msx, sy - msy, dx - mdx, dy - mdy)
            dot += ux * vx + uy * vy
            cross += ux * vy - uy * vx
            norm += ux * ux + uy * uy
        }
        let a = norm > 0 ? dot / norm : 1, b = norm > 0 ? cross / norm : 0
        return SimilarityTransform(a: a, b: b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy))
    }
}

/// Samples `image` at `inverse`(output pixel) bilinearly (pixel centres at integer coordinates, as
/// cv2.warpAffine); samples outside the image read black.
func warp(_ image: RGBImage, inverse: SimilarityTransform, width: Int, height: Int) -> RGBImage {
    var out = [UInt8](repeating: 0, count: width * height * 3)
    func pixel(_ x: Int, _ y: Int, _ c: Int) -> Double {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return 0 }
        return Double(image.pixels[(y * image.width + x) * 3 + c])
    }
    for v in 0..<height {
        for u in 0..<width {
            let sx = inverse.a * Double(u) - inverse.b * Double(v) + inverse.tx
            let sy = inverse.b * Double(u) + inverse.a * Double(v) + inverse.ty
            // A degenerate transform (landmarks all in one point) maps nowhere; leave black rather than trap.
            guard abs(sx) < 1e9, abs(sy) < 1e9 else { continue }
            let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
            guard x0 >= -1, y0 >= -1, x0 < image.width, y0 < image.height else { continue }
            let fx = sx - Double(x0), fy = sy - Double(y0)
            for c in 0..<3 {
                let top = pixel(x0, y0, c) * (1 - fx) + pixel(x0 + 1, y0, c) * fx
                let bottom = pixel(x0, y0 + 1, c) * (1 - fx) + pixel(x0 + 1, y0 + 1, c) * fx
                out[(v * width + u) * 3 + c] = UInt8(max(0, min(255, (top * (1 - fy) + bottom * fy).rounded())))
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: out)
}
