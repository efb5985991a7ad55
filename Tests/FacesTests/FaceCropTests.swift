import Foundation
import Testing
import Faces
import Media

@Suite("Face crops")
struct FaceCropTests {
    let box = FaceBox(x1: 64.36, y1: 37.85, x2: 111.2, y2: 95.79)

    @Test("FF++ margin: ⌊1.3·max side⌋ square on the integer centre, clamped")
    func marginRect() {
        let policy = CropPolicy.margin(factor: 1.3)
        // max(47, 58)·1.3 = 75.4 → 75; centre (87, 66); corner (87 − 37, 66 − 37).
        #expect(policy.rectangle(for: box, frameWidth: 176, frameHeight: 144, size: 299)
                == PixelRect(x: 50, y: 29, width: 75, height: 75))
        // Near the top-left corner the origin clamps to 0 and the side stays.
        let corner = FaceBox(x1: 10, y1: 20, x2: 50, y2: 70)
        #expect(policy.rectangle(for: corner, frameWidth: 176, frameHeight: 144, size: 299)
                == PixelRect(x: 0, y: 13, width: 65, height: 65))
        // Near the bottom-right the side shrinks to what is left of the frame.
        let edge = FaceBox(x1: 140, y1: 110, x2: 170, y2: 140)
        #expect(policy.rectangle(for: edge, frameWidth: 176, frameHeight: 144, size: 299)
                == PixelRect(x: 136, y: 106, width: 38, height: 38))
    }

    @Test("icpr2020dfdc scale: square of the longer side, with and without margin")
    func scaleRect() {
        // No margin: widths int(111.2) − int(64.36) = 47, heights 95 − 37 = 58 → side 58 around (87, 66).
        #expect(CropPolicy.scale(margin: 0).rectangle(for: box, frameWidth: 176, frameHeight: 144, size: 224)
                == PixelRect(x: 58, y: 37, width: 58, height: 58))
        // Margin 0.2: offset round(0.2 · 57.94) = 12, twice above → box 52.36, 13.85, 123.2, 107.79 → side 94.
        #expect(CropPolicy.scale(margin: 0.2).rectangle(for: box, frameWidth: 176, frameHeight: 144, size: 224)
                == PixelRect(x: 40, y: 13, width: 94, height: 94))
        #expect(CropPolicy.align5.rectangle(for: box, frameWidth: 176, frameHeight: 144, size: 224) == nil)
    }

    @Test("crops come out at the asked size, bad requests are clear errors")
    func cropSizes() throws {
        let frame = RGBImage(width: 176, height: 144, fill: (90, 60, 30))
        let face = Face(box: box, probability: 1, landmarks: alignmentTemplate(size: 112))
        for policy in [CropPolicy.scale(margin: 0), .margin(factor: 1.3), .align5] {
            let crop = try cropFace(frame, face, policy: policy, size: 64)
            #expect(crop.width == 64 && crop.height == 64)
        }
        // A uniform frame stays uniform through crop and resize.
        #expect(try cropFace(frame, face, policy: .scale(margin: 0), size: 50).pixels.allSatisfy { [90, 60, 30].contains($0) })
        #expect(throws: FacesError.self) { try cropFace(frame, face, policy: .scale(margin: 0), size: 0) }
        let outside = Face(box: FaceBox(x1: 300, y1: 300, x2: 340, y2: 340), probability: 1, landmarks: [])
        #expect(throws: FacesError.self) { try cropFace(frame, outside, policy: .margin(factor: 1.3), size: 64) }
        #expect(throws: FacesError.self) { try cropFace(frame, outside, policy: .align5, size: 64) }
    }

    @Test("the least-squares similarity recovers a known rotation, scale and shift")
    func similarity() {
        let truth = SimilarityTransform(a: 0.8 * cos(0.35), b: 0.8 * sin(0.35), tx: 31, ty: -7)
        let src = alignmentTemplate(size: 112)
        let dst = src.map(truth.apply)
        let fit = SimilarityTransform.leastSquares(from: src, to: dst)
        #expect(abs(fit.a - truth.a) < 1e-5 && abs(fit.b - truth.b) < 1e-5)
        #expect(abs(fit.tx - truth.tx) < 1e-3 && abs(fit.ty - truth.ty) < 1e-3)
        let back = fit.inverted()
        for (p, q) in zip(dst.map(back.apply), src) { #expect(abs(p.x - q.x) < 1e-3 && abs(p.y - q.y) < 1e-3) }
    }

    @Test("align5 puts the five landmarks on the template within 1 px")
    func align5() throws {
        // A black frame with a white 3×3 dot at each landmark of a rotated, scaled, shifted face.
        let placement = SimilarityTransform(a: 1.3 * cos(-0.4), b: 1.3 * sin(-0.4), tx: 40, ty: 60)
        let landmarks = alignmentTemplate(size: 112).map(placement.apply)
        var frame = RGBImage(width: 320, height: 240)
        for p in landmarks {
            let cx = Int(p.x.rounded()), cy = Int(p.y.rounded())
            for y in (cy - 1)...(cy + 1) { for x in (cx - 1)...(cx + 1) {
                for c in 0..<3 { frame.pixels[(y * 320 + x) * 3 + c] = 255 }
            } }
        }
        let face = Face(box: FaceBox(x1: 0, y1: 0, x2: 1, y2: 1), probability: 1,
                        landmarks: landmarks.map { FacePoint(x: $0.x.rounded(), y: $0.y.rounded()) })
        for size in [112, 224] {
            let crop = try cropFace(frame, face, policy: .align5, size: size)
            for target in alignmentTemplate(size: size) {
                // Brightness-weighted centroid of the dot near the template point.
                var sx = 0.0, sy = 0.0, sw = 0.0
                let r = size / 16
                for y in max(0, Int(target.y) - r)...min(size - 1, Int(target.y) + r) {
                    for x in max(0, Int(target.x) - r)...min(size - 1, Int(target.x) + r) {
                        let v = Double(crop.pixels[(y * size + x) * 3])
                        sx += v * Double(x); sy += v * Double(y); sw += v
                    }
                }
                #expect(sw > 0, "no dot near \(target) at size \(size)")
                guard sw > 0 else { continue }
                #expect(abs(sx / sw - Double(target.x)) <= 1 && abs(sy / sw - Double(target.y)) <= 1,
                        "dot at (\(sx / sw), \(sy / sw)), template \(target), size \(size)")
            }
        }
    }
}
