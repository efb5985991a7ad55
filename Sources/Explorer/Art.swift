import Explain
import Faces
import Graphics
import Media

// MARK: - Pixel composition (pure; the loop paints the results in the current render mode)

/// The frame with the selected face's heatmap pasted over its crop rectangle (the `o` overlay), and, for sixel
/// where text cannot sit on the image, the face boxes drawn into the pixels.
func composeFrame(_ image: RGBImage, faces: [FaceMark], selected: Int?, overlay: HeatMap?, boxes: Bool) -> RGBImage {
    var out = image
    if let overlay, let face = faces.first(where: { $0.track == selected }) ?? faces.first {
        let r = face.cropBox
        let x0 = Int(r.x1.rounded()), y0 = Int(r.y1.rounded())
        let w = Int(r.x2.rounded()) - x0, h = Int(r.y2.rounded()) - y0
        if w > 1, h > 1 {
            // The crop may reach past the frame (the detector pads it); blend on a padded patch, paste what is inside.
            var patch = RGBImage(width: w, height: h)
            for y in 0..<h { for x in 0..<w where inside(image, x0 + x, y0 + y) { copyPixel(image, x0 + x, y0 + y, into: &patch, x, y) } }
            let blended = ExplainExport.overlayImage(overlay, crop: patch)
            for y in 0..<h { for x in 0..<w where inside(image, x0 + x, y0 + y) { copyPixel(blended, x, y, into: &out, x0 + x, y0 + y) } }
        }
    }
    if boxes {
        let thickness = max(1, image.width / 200)
        for face in faces {
            let color: (UInt8, UInt8, UInt8) = face.track == selected ? (255, 220, 0) : (0, 220, 0)
            drawRectangle(face.box, color: color, thickness: thickness, on: &out)
        }
    }
    return out
}

/// The face pane: the crop with the map over it (or the bare crop), and SHAP supervoxel borders in white.
func composeFace(_ crop: RGBImage, map: HeatMap?, borders: [Bool]?) -> RGBImage {
    var out = map.map { ExplainExport.overlayImage($0, crop: crop) } ?? crop
    if let borders, borders.count == crop.width * crop.height {
        for (i, edge) in borders.enumerated() where edge {
            out.pixels[3 * i] = 255; out.pixels[3 * i + 1] = 255; out.pixels[3 * i + 2] = 255
        }
    }
    return out
}

/// A map as the panes show it: CAM and attention maps are already in [0, 1]; SHAP values are signed score units,
/// shown as their positive part over the map's largest value (the metrics' convention, per frame).
func displayable(_ map: HeatMap, explainer: String) -> HeatMap {
    guard explainer == "shap" else { return map }
    let top = map.values.max() ?? 0
    return HeatMap(width: map.width, height: map.height, values: map.values.map { top > 0 ? max(0, $0) / top : 0 })
}

private func inside(_ image: RGBImage, _ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < image.width && y < image.height }

private func copyPixel(_ from: RGBImage, _ x: Int, _ y: Int, into to: inout RGBImage, _ tx: Int, _ ty: Int) {
    let s = 3 * (y * from.width + x), d = 3 * (ty * to.width + tx)
    to.pixels[d] = from.pixels[s]; to.pixels[d + 1] = from.pixels[s + 1]; to.pixels[d + 2] = from.pixels[s + 2]
}

private func drawRectangle(_ box: FaceBox, color: (UInt8, UInt8, UInt8), thickness: Int, on image: inout RGBImage) {
    let x0 = max(0, Int(box.x1)), y0 = max(0, Int(box.y1))
    let x1 = min(image.width - 1, Int(box.x2)), y1 = min(image.height - 1, Int(box.y2))
    guard x1 > x0, y1 > y0 else { return }
    func set(_ x: Int, _ y: Int) {
        guard inside(image, x, y) else { return }
        let d = 3 * (y * image.width + x)
        image.pixels[d] = color.0; image.pixels[d + 1] = color.1; image.pixels[d + 2] = color.2
    }
    for t in 0..<thickness {
        for x in x0...x1 { set(x, y0 + t); set(x, y1 - t) }
        for y in y0...y1 { set(x0 + t, y); set(x1 - t, y) }
    }
}
