// Exports: overlay and compare-grid PNGs, per-frame map .npy files and metrics.csv, each written atomically.
import Foundation
import Graphics
import Media
import Neural
import Weights

/// Errors of writing explanation exports; each names the file.
public enum ExportError: Error, CustomStringConvertible, Equatable {
    case unwritable(path: String, reason: String)
    case empty(String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): return "\(path): cannot write: \(reason)"
        case .empty(let what): return "nothing to export: \(what)"
        }
    }
}

/// The files the explorer (`x`, `X`) and `analyze --explain` write.
///
/// ```swift
/// let results = try ExplainRunner(network: net, names: ["gradcam", "attention"], camLayer: nil).run(clips, cancellation: c)
/// try ExplainExport.writeOverlayPNG(results[0].maps[0], crop: clips[0].crops[0], to: out.appendingPathComponent("o.png"))
/// try ExplainExport.writeMetricsCSV(results, to: out.appendingPathComponent("metrics.csv"))
/// ```
public enum ExplainExport {
    // MARK: - Images

    /// A map over its crop: `overlay(heatmap:…)` (JET, half image, half colour); the map is resized to the crop.
    public static func overlayImage(_ map: HeatMap, crop: RGBImage, colorMap: ColorMap = .jet) -> RGBImage {
        overlay(heatmap: map.values.map { min(max($0, 0), 1) }, heatmapWidth: map.width, heatmapHeight: map.height,
                on: crop, colorMap: colorMap)
    }

    /// Every explainer's overlay of one face side by side (in the given order), optional name labels above them,
    /// and a colour bar from 0 (left) to 1 (right) along the bottom.
    public static func compareGrid(_ panels: [(name: String, map: HeatMap)], crop: RGBImage, labels: Bool = true,
                                   colorMap: ColorMap = .jet) -> RGBImage {
        let gap = 4, scale = max(1, crop.width / 64)
        let labelHeight = labels ? LabelFont.height * scale + 2 * gap : gap
        let barHeight = max(6, crop.height / 16)
        let width = gap + panels.count * (crop.width + gap)
        let height = labelHeight + crop.height + 2 * gap + barHeight + gap
        var canvas = RGBImage(width: width, height: height, fill: (24, 24, 24))
        for (i, panel) in panels.enumerated() {
            let x = gap + i * (crop.width + gap)
            paste(overlayImage(panel.map, crop: crop, colorMap: colorMap), into: &canvas, x: x, y: labelHeight)
            if labels {
                LabelFont.draw(panel.name, into: &canvas, x: x, y: gap, scale: scale, maxWidth: crop.width)
            }
        }
        paste(colorBar(width: width - 2 * gap, height: barHeight, colorMap: colorMap), into: &canvas,
              x: gap, y: labelHeight + crop.height + 2 * gap)
        return canvas
    }

    /// Copies `image` into `canvas` with its top-left corner at (x, y), clipped to the canvas.
    static func paste(_ image: RGBImage, into canvas: inout RGBImage, x: Int, y: Int) {
        for row in 0..<image.height where y + row >= 0 && y + row < canvas.height {
            for col in 0..<image.width where x + col >= 0 && x + col < canvas.width {
                let s = 3 * (row * image.width + col), d = 3 * ((y + row) * canvas.width + x + col)
                canvas.pixels[d] = image.pixels[s]
                canvas.pixels[d + 1] = image.pixels[s + 1]
                canvas.pixels[d + 2] = image.pixels[s + 2]
            }
        }
    }

    // MARK: - Files

    /// Writes the overlay of `map` on `crop` as a PNG.
    public static func writeOverlayPNG(_ map: HeatMap, crop: RGBImage, to url: URL) throws {
        try writePNG(overlayImage(map, crop: crop), to: url)
    }

    /// Writes the compare grid (see `compareGrid`) as a PNG.
    public static func writeCompareGridPNG(_ panels: [(name: String, map: HeatMap)], crop: RGBImage, labels: Bool = true,
                                           to url: URL) throws {
        guard !panels.isEmpty else { throw ExportError.empty("a compare grid needs at least one explainer") }
        try writePNG(compareGrid(panels, crop: crop, labels: labels), to: url)
    }

    /// Writes `map` as an H×W float32 `.npy` at `<root>/maps/<explainer>/<frame>_<track>.npy`; returns the URL.
    @discardableResult
    public static func writeMap(_ map: HeatMap, explainer: String, frame: Int, track: Int, under root: URL) throws -> URL {
        let url = try prepared(root.appendingPathComponent("maps").appendingPathComponent(explainer)
            .appendingPathComponent("\(frame)_\(track).npy"))
        // NumpyFile writes atomically (temporary file, then rename).
        try NumpyFile.write(Tensor(shape: [map.height, map.width], data: map.values), to: url)
        return url
    }

    /// Writes `<root>/overlays/<explainer>/<frame>_<track>.png` for every map of `result` over the track's crops.
    public static func writeOverlays(_ result: TrackExplanation, crops: [RGBImage], under root: URL) throws {
        precondition(crops.count == result.maps.count, "writeOverlays: \(crops.count) crops for \(result.maps.count) maps")
        for (k, map) in result.maps.enumerated() {
            let url = root.appendingPathComponent("overlays").appendingPathComponent(result.explainer)
                .appendingPathComponent("\(result.frames[k])_\(result.track).png")
            try writePNG(overlayImage(map, crop: crops[k]), to: prepared(url))
        }
    }

    /// `metrics.csv`: a header `explainer,track,I,V,tau,rho,mu` and one row per explainer and track.
    public static func metricsCSV(_ results: [TrackExplanation]) -> String {
        var lines = ["explainer,track,I,V,tau,rho,mu"]
        for r in results {
            lines.append(([r.explainer, String(r.track)] + r.metrics.columns.map { String(format: "%.6f", $0) })
                .joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `metricsCSV(results)` to `url`.
    public static func writeMetricsCSV(_ results: [TrackExplanation], to url: URL) throws {
        try writeAtomically(Data(metricsCSV(results).utf8), to: prepared(url))
    }

    // MARK: - Atomic writing

    static func writePNG(_ image: RGBImage, to url: URL) throws {
        try writeAtomically(Data(PNG.encoded(image)), to: url)
    }

    /// Writes to a temporary file beside `url`, then renames it: a reader never sees half a file.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw ExportError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// Creates `url`'s folder; returns `url`.
    static func prepared(_ url: URL) throws -> URL {
        let folder = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw ExportError.unwritable(path: folder.path, reason: error.localizedDescription)
        }
        return url
    }
}
