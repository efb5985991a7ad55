// Heatmap overlays and colour-bar legends: pure functions from maps and images to images.
import Media

// MARK: - Overlay

/// Blends a coloured heatmap onto an image: `(1 − w)·colour(map) + w·image` per channel, in float, rounded.
///
/// The map is resized bilinearly (half-pixel centres, as `cv2.resize`) to the image size when the sizes
/// differ. It is not renormalised per frame: a renormalised overlay flickers as the frame maximum moves.
/// - Parameters:
///   - heatmap: row-major values in [0, 1], `heatmapWidth × heatmapHeight` (defaulting to the image size).
///   - image: the picture underneath.
///   - colorMap: the colour map (JET by default, as pytorch-grad-cam).
///   - imageWeight: `w`, the image's share of each pixel.
///
/// ```swift
/// let shown = overlay(heatmap: cam, heatmapWidth: 224, heatmapHeight: 224, on: crop)
/// ```
public func overlay(heatmap: [Float], heatmapWidth: Int? = nil, heatmapHeight: Int? = nil, on image: RGBImage,
                    colorMap: ColorMap = .jet, imageWeight: Float = 0.5) -> RGBImage {
    let mapWidth = heatmapWidth ?? image.width, mapHeight = heatmapHeight ?? image.height
    precondition(heatmap.count == mapWidth * mapHeight,
                 "overlay: heatmap has \(heatmap.count) values, expected \(mapWidth)×\(mapHeight)")
    // An empty map (a face too small to explain) shows as all-zero rather than stopping the program.
    let map = (mapWidth == image.width && mapHeight == image.height)
        ? heatmap
        : heatmap.isEmpty ? [Float](repeating: 0, count: image.width * image.height)
        : resizeBilinear(heatmap, width: mapWidth, height: mapHeight, toWidth: image.width, toHeight: image.height)
    let table = colorMap.table
    let colourWeight = 1 - imageWeight
    var out = [UInt8](repeating: 0, count: image.pixels.count)
    image.pixels.withUnsafeBufferPointer { src in
        for k in 0..<map.count {
            let level = Int(ColorMap.level(map[k])) * 3
            for c in 0..<3 {
                let mixed = colourWeight * Float(table[level + c]) + imageWeight * Float(src[3 * k + c])
                // Half away from zero (all values are ≥ 0), clamped for weights outside [0, 1].
                out[3 * k + c] = UInt8(min(max((mixed + 0.5).rounded(.down), 0), 255))
            }
        }
    }
    return RGBImage(width: image.width, height: image.height, pixels: out)
}

/// A horizontal legend: the colour map from 0 at the left edge to 1 at the right, `height` rows tall.
public func colorBar(width: Int, height: Int, colorMap: ColorMap = .jet) -> RGBImage {
    var ramp = [Float](repeating: 0, count: width * height)
    for x in 0..<width {
        let v = width > 1 ? Float(x) / Float(width - 1) : 0
        for y in 0..<height { ramp[y * width + x] = v }
    }
    return colorMap.apply(to: ramp, width: width, height: height)
}

// MARK: - Bilinear resize

/// Resizes a row-major float map with half-pixel centres and edge clamping, the rule of
/// `cv2.resize(INTER_LINEAR)` and of `F.interpolate(mode="bilinear", align_corners=False)` when upsampling.
func resizeBilinear(_ map: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Float] {
    precondition(map.count == width * height && width > 0 && height > 0)
    let xs = bilinearTaps(from: width, to: toWidth)
    let ys = bilinearTaps(from: height, to: toHeight)
    var out = [Float](repeating: 0, count: toWidth * toHeight)
    for (y, ty) in ys.enumerated() {
        let row0 = ty.index * width, row1 = ty.next * width
        for (x, tx) in xs.enumerated() {
            let top = map[row0 + tx.index] * (1 - tx.fraction) + map[row0 + tx.next] * tx.fraction
            let bottom = map[row1 + tx.index] * (1 - tx.fraction) + map[row1 + tx.next] * tx.fraction
            out[y * toWidth + x] = top * (1 - ty.fraction) + bottom * ty.fraction
        }
    }
    return out
}

/// For each destination coordinate: the source sample left of it, the one right of it, and the weight of the right.
func bilinearTaps(from source: Int, to destination: Int) -> [(index: Int, next: Int, fraction: Float)] {
    let scale = Double(source) / Double(destination)
    return (0..<destination).map { d in
        let position = Float((Double(d) + 0.5) * scale - 0.5)
        var index = Int(position.rounded(.down))
        var fraction = position - Float(index)
        if index < 0 { index = 0; fraction = 0 }
        if index >= source - 1 { index = source - 1; fraction = 0 }
        return (index, min(index + 1, source - 1), fraction)
    }
}
