import Foundation
import Media

// MARK: - ROC plot

/// A ROC plot as an image: white ground, grey axes and chance diagonal, one coloured curve per entry (the
/// legend is the colour order, which `evaluate` prints beside the file).
///
/// ```swift
/// try PNG.write(rocImage([("mean", metrics.roc)]), to: out.appendingPathComponent("roc.png"))
/// ```
public func rocImage(_ curves: [(name: String, points: [ROCPoint])], size: Int = 320) -> RGBImage {
    var image = RGBImage(width: size, height: size, fill: (255, 255, 255))
    let margin = size / 10, span = size - 2 * margin
    func plot(_ fpr: Double, _ tpr: Double) -> (Int, Int) {
        (margin + Int((fpr * Double(span)).rounded()), size - margin - Int((tpr * Double(span)).rounded()))
    }
    func dot(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8), radius: Int) {
        for dy in -radius...radius { for dx in -radius...radius {
            let (px, py) = (x + dx, y + dy)
            guard px >= 0, py >= 0, px < size, py < size else { continue }
            let i = (py * size + px) * 3
            image.pixels[i] = c.0; image.pixels[i + 1] = c.1; image.pixels[i + 2] = c.2
        } }
    }
    func line(_ a: (Int, Int), _ b: (Int, Int), _ c: (UInt8, UInt8, UInt8), radius: Int = 0) {
        let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for s in 0...steps {
            let t = Double(s) / Double(steps)
            dot(a.0 + Int((Double(b.0 - a.0) * t).rounded()), a.1 + Int((Double(b.1 - a.1) * t).rounded()), c, radius: radius)
        }
    }
    let grey: (UInt8, UInt8, UInt8) = (160, 160, 160)
    line(plot(0, 0), plot(1, 0), grey); line(plot(0, 0), plot(0, 1), grey)
    line(plot(1, 0), plot(1, 1), (220, 220, 220)); line(plot(0, 1), plot(1, 1), (220, 220, 220))
    line(plot(0, 0), plot(1, 1), (200, 200, 200))
    let palette: [(UInt8, UInt8, UInt8)] = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14), (148, 103, 189)]
    for (n, curve) in curves.enumerated() {
        let colour = palette[n % palette.count]
        for (a, b) in zip(curve.points, curve.points.dropFirst()) {
            line(plot(a.fpr, a.tpr), plot(b.fpr, b.tpr), colour, radius: 1)
        }
    }
    return image
}

/// The colour names of `rocImage`'s curves, in order.
public let rocCurveColours = ["red", "blue", "green", "orange", "purple"]
