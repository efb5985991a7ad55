import Explain
import Foundation
import Media

/// The `x` and `X` exports: the current overlay PNG at once, the compare grid and the video's metrics CSV in the
/// background (they may need maps not computed yet). File names carry the video, frame, track and explainer.
final class Exporter: @unchecked Sendable {
    let directory: URL
    let stem: String
    private let lock = NSLock()
    private var outbox: [Action] = []

    init(directory: String, videoPath: String) {
        self.directory = URL(fileURLWithPath: directory)
        stem = URL(fileURLWithPath: videoPath).deletingPathExtension().lastPathComponent
    }

    /// Small detector inputs (a 32-pixel test model, Meso's 256 is fine) are enlarged so the PNG can be looked at;
    /// the map is resized to the crop by the overlay anyway.
    static func viewable(_ crop: RGBImage) -> RGBImage {
        guard crop.width < 128, crop.width > 0 else { return crop }
        let k = (128 + crop.width - 1) / crop.width
        return crop.resizedBilinear(width: crop.width * k, height: crop.height * k)
    }

    func drain() -> [Action] { lock.withLock { defer { outbox = [] }; return outbox } }

    /// `x`: the selected face's current explainer over its crop, as `<video>_f<frame>_t<track>_<explainer>.png`.
    func exportOverlay(_ state: ExplorerState, explain: ExplainWorker, crops: CropStore) -> Action {
        guard let face = state.selectedFace, let name = state.detection.explainer else {
            return .notify("export: no face with an explainer on this frame", isError: true)
        }
        let key = MapKey(frame: state.currentFrame, track: face.track, explainer: name)
        guard let map = explain.map(key), let crop = crops.crop(frame: key.frame, track: key.track) else {
            return .notify("export: the \(name) map of this face is not ready yet", isError: true)
        }
        let url = directory.appendingPathComponent("\(stem)_f\(key.frame)_t\(key.track)_\(name).png")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try ExplainExport.writeOverlayPNG(displayable(map, explainer: name), crop: Self.viewable(crop), to: url)
        } catch {
            return .notify("export failed: \(error)", isError: true)
        }
        return .notify("wrote \(url.lastPathComponent) in \(directory.path)", isError: false)
    }

    /// `X`: the compare grid of the selected face (`…_compare.png`) and `<video>_metrics.csv` over every analysed
    /// track and explainer, on the explain worker's thread. SHAP joins the grid and the CSV where it was computed.
    func exportAll(_ state: ExplorerState, explain: ExplainWorker, crops: CropStore) {
        let names = state.detection.explainers
        guard let face = state.selectedFace, !names.isEmpty else {
            lock.withLock { outbox.append(.notify("export: no face with explainers on this frame", isError: true)) }
            return
        }
        let frame = state.currentFrame
        let grid = directory.appendingPathComponent("\(stem)_f\(frame)_t\(face.track)_compare.png")
        let csv = directory.appendingPathComponent("\(stem)_metrics.csv")
        let directory = self.directory
        explain.enqueue { [self] in
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                var results: [TrackExplanation] = []
                for name in names {
                    for track in crops.tracks {
                        if name != "shap" {
                            try explain.compute(crops.frames(of: track).map { MapKey(frame: $0, track: track, explainer: name) })
                        }
                        let series = explain.maps(explainer: name, track: track)
                        guard !series.isEmpty else { continue }
                        results.append(TrackExplanation(explainer: name, track: track, frames: series.map(\.frame),
                                                        maps: series.map(\.map), metrics: consistencyMetrics(series.map(\.map))))
                    }
                }
                let panels = names.compactMap { name in
                    explain.map(MapKey(frame: frame, track: face.track, explainer: name))
                        .map { (name: name, map: displayable($0, explainer: name)) }
                }
                guard let crop = crops.crop(frame: frame, track: face.track) else {
                    throw ExportError.empty("no crop of track \(face.track) at frame \(frame)")
                }
                try ExplainExport.writeCompareGridPNG(panels, crop: Self.viewable(crop), to: grid)
                try ExplainExport.writeMetricsCSV(results, to: csv)
                lock.withLock {
                    outbox.append(.notify("wrote \(grid.lastPathComponent), \(csv.lastPathComponent) in \(directory.path)", isError: false))
                }
            } catch {
                lock.withLock { outbox.append(.notify("export failed: \(error)", isError: true)) }
            }
        }
    }
}
