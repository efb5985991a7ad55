// ForgeMask: the blending mask of a synthetic forgery — a hull grown from the five MTCNN landmarks (or one
// region: eyes or mouth), rasterised, eroded and blurred so the blend boundary is soft, as SBI builds it.
import Foundation
import Faces

/// A soft mask over a W×H frame, values in [0, 1], row-major.
public struct BlendMask: Sendable, Equatable {
    public var width: Int, height: Int
    public var values: [Float]

    /// Mass-weighted share helpers use it; the mask's sum.
    public var mass: Float { values.reduce(0, +) }
}

/// Which part of the face a mask covers.
public enum MaskRegion: Sendable, Equatable {
    case face, eyes, mouth
}

// MARK: - Building

/// The mask for `face` in a `width`×`height` frame.
/// - Parameters:
///   - grow: scale of the hull about its centroid (SBI randomises it; the forger draws it from its seed).
///   - erode: erosion radius in pixels, applied before the blur (keeps the soft edge inside the hull).
///   - blur: box-blur radius in pixels, applied twice (close to a Gaussian).
public func blendMask(for face: Face, width: Int, height: Int, region: MaskRegion = .face, grow: Double = 1.15,
                      erode: Int = 2, blur: Int = 3) -> BlendMask {
    let l = face.landmarks.map { (Double($0.x), Double($0.y)) }
    var points: [(Double, Double)]
    let eyeMid = ((l[0].0 + l[1].0) / 2, (l[0].1 + l[1].1) / 2)
    let mouthMid = ((l[3].0 + l[4].0) / 2, (l[3].1 + l[4].1) / 2)
    let eyeDist = max(hypot(l[1].0 - l[0].0, l[1].1 - l[0].1), 4)
    switch region {
    case .face:
        // Five points only span eyes to mouth: extend up to the brows and down to the chin along the face axis.
        let axis = ((mouthMid.0 - eyeMid.0), (mouthMid.1 - eyeMid.1))
        points = l + [(l[0].0 - axis.0 * 0.55, l[0].1 - axis.1 * 0.55), (l[1].0 - axis.0 * 0.55, l[1].1 - axis.1 * 0.55),
                      (l[3].0 + axis.0 * 0.45, l[3].1 + axis.1 * 0.45), (l[4].0 + axis.0 * 0.45, l[4].1 + axis.1 * 0.45),
                      (mouthMid.0 + axis.0 * 0.6, mouthMid.1 + axis.1 * 0.6)]
    case .eyes:
        points = squares(around: [l[0], l[1]], radius: eyeDist * 0.35)
    case .mouth:
        points = squares(around: [l[3], l[4]], radius: eyeDist * 0.3)
    }
    let cx = points.map(\.0).reduce(0, +) / Double(points.count), cy = points.map(\.1).reduce(0, +) / Double(points.count)
    points = points.map { (cx + ($0.0 - cx) * grow, cy + ($0.1 - cy) * grow) }
    let hull = convexHull(points)
    var m = [Float](repeating: 0, count: width * height)
    for y in 0..<height {
        for x in 0..<width where inside(hull, Double(x) + 0.5, Double(y) + 0.5) { m[y * width + x] = 1 }
    }
    if erode > 0 { m = minFilter(m, width, height, erode) }
    for _ in 0..<2 where blur > 0 { m = boxBlur(m, width, height, blur) }
    return BlendMask(width: width, height: height, values: m)
}

// MARK: - Geometry

/// The corners of a square of half-side `radius` around each point.
func squares(around centres: [(Double, Double)], radius r: Double) -> [(Double, Double)] {
    var out: [(Double, Double)] = []
    for c in centres {
        let (x, y) = c
        out.append((x - r, y - r)); out.append((x + r, y - r)); out.append((x + r, y + r)); out.append((x - r, y + r))
    }
    return out
}

/// Andrew's monotone chain; counter-clockwise, no repeated end point.
func convexHull(_ pts: [(Double, Double)]) -> [(Double, Double)] {
    let p = pts.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    guard p.count > 2 else { return p }
    func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    }
    var lower: [(Double, Double)] = [], upper: [(Double, Double)] = []
    for q in p {
        while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
        lower.append(q)
    }
    for q in p.reversed() {
        while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
        upper.append(q)
    }
    return Array(lower.dropLast() + upper.dropLast())
}

func inside(_ hull: [(Double, Double)], _ x: Double, _ y: Double) -> Bool {
    guard hull.count > 2 else { return false }
    for i in hull.indices {
        let a = hull[i], b = hull[(i + 1) % hull.count]
        if (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) < 0 { return false }
    }
    return true
}

func minFilter(_ m: [Float], _ w: Int, _ h: Int, _ r: Int) -> [Float] {
    var out = m
    for y in 0..<h {
        for x in 0..<w where m[y * w + x] > 0 {
            var v: Float = 1
            for dy in -r...r { for dx in -r...r {
                let yy = y + dy, xx = x + dx
                v = min(v, (yy < 0 || yy >= h || xx < 0 || xx >= w) ? 0 : m[yy * w + xx])
            } }
            out[y * w + x] = v
        }
    }
    return out
}

/// Separable box blur with edge clamping.
func boxBlur(_ m: [Float], _ w: Int, _ h: Int, _ r: Int) -> [Float] {
    var tmp = m, out = m
    let n = Float(2 * r + 1)
    for y in 0..<h { for x in 0..<w {
        var s: Float = 0
        for d in -r...r { s += m[y * w + min(max(x + d, 0), w - 1)] }
        tmp[y * w + x] = s / n
    } }
    for y in 0..<h { for x in 0..<w {
        var s: Float = 0
        for d in -r...r { s += tmp[min(max(y + d, 0), h - 1) * w + x] }
        out[y * w + x] = s / n
    } }
    return out
}
