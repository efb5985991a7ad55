import Detection
import Explain
import Foundation
import Media

/// `analyze --explain`: collects each track's crops while the analysis runs, then explains every track with the
/// named explainers and writes overlays, optional maps, metrics.csv and the summary.json entries.
final class AnalyzeExplainer {
    let names: [String]
    let runner: ExplainRunner
    let shap: SHAPExplainer?
    let detector: Detector
    let saveMaps: Bool
    private var crops: [Int: [(frame: Int, crop: RGBImage)]] = [:]

    /// - Throws: `CLIError` for an unknown explainer or an explainer the detector cannot run.
    init(list: String, detector: Detector, saveMaps: Bool, shapOptions: SHAPOptions) throws {
        names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw CLIError("--explain: name at least one explainer") }
        let known = ExplainRunner.knownNames + ["shap"]
        if let bad = names.first(where: { !known.contains($0) }) {
            throw CLIError("--explain: unknown explainer '\(bad)'; known: " + known.joined(separator: ", "))
        }
        if names.contains("attention"), detector.manifest.architecture != "efficientnet-autoatt" {
            throw CLIError("--explain attention: detector \(detector.manifest.name) (\(detector.manifest.architecture)) has no attention map")
        }
        if names.contains(where: { $0.hasPrefix("ltpa") }), detector.manifest.architecture != "efficientnet-ltpa" {
            throw CLIError("--explain ltpa: detector \(detector.manifest.name) (\(detector.manifest.architecture)) is not an LTPA network")
        }
        do {
            runner = try ExplainRunner(network: detector.network, names: names.filter { $0 != "shap" },
                                       camLayer: detector.manifest.gradcamLayer)
        } catch { throw CLIError("--explain: \(error)") }
        let output = detector.manifest.output
        shap = names.contains("shap")
            ? SHAPExplainer(network: detector.network, target: output.classes.count == 2 ? .classIndex(1 - output.realIndex) : .predicted,
                            preprocess: { detector.preprocess($0) }, options: shapOptions)
            : nil
        self.detector = detector
        self.saveMaps = saveMaps
    }

    /// The analysis hook: keeps every scored face's crop by track.
    func collect(_ context: FrameContext) {
        for (face, crop) in zip(context.result.faces, context.crops) { crops[face.track, default: []].append((context.frame, crop)) }
    }

    /// Explains every track and writes `overlays/`, `maps/` (with `--save-maps`) and `metrics.csv` under `dir`.
    /// - Returns: the summary.json entries: `metrics` (explainer → track → I, V, tau, rho, mu) and `shap` clips.
    func finish(into dir: URL) throws -> (metrics: [String: Any], shap: [[String: Any]]) {
        var results: [TrackExplanation] = []
        var shapClips: [[String: Any]] = []
        let progress = ProgressBar(label: "explain", total: crops.count * (runner.explainers.count + (shap == nil ? 0 : 1)))
        defer { progress.finish() }
        for track in crops.keys.sorted() {
            let items = crops[track]!.sorted { $0.frame < $1.frame }
            let images = items.map(\.crop)
            let clip = FaceClip(input: detector.preprocess(images), crops: images, frames: items.map(\.frame), track: track)
            var trackResults: [TrackExplanation] = []
            for explainer in runner.explainers {
                trackResults += try ExplainRunner(explainers: [explainer]).run([clip], cancellation: Cancellation())
                progress.advance()
            }
            if let shap {
                let detailed = try shap.explainDetailed(clip, cancellation: Cancellation()) { _ in }
                trackResults.append(TrackExplanation(explainer: "shap", track: track, frames: clip.frames, maps: detailed.maps,
                                                     metrics: consistencyMetrics(detailed.maps)))
                let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(detailed.clips))
                shapClips.append(["track": track, "clips": encoded])
                progress.advance()
            }
            for result in trackResults {
                // SHAP values are signed score units: the overlay shows the positive part, as the metrics do.
                let shown = result.explainer == "shap" ? result.maps.map(Self.positiveNormalised) : result.maps
                try ExplainExport.writeOverlays(TrackExplanation(explainer: result.explainer, track: track, frames: result.frames,
                                                                 maps: shown, metrics: result.metrics),
                                                crops: images, under: dir)
                if saveMaps {
                    for (frame, map) in zip(result.frames, result.maps) {
                        try ExplainExport.writeMap(map, explainer: result.explainer, frame: frame, track: track, under: dir)
                    }
                }
            }
            results += trackResults
        }
        try ExplainExport.writeMetricsCSV(results, to: dir.appendingPathComponent("metrics.csv"))
        var metrics: [String: Any] = [:]
        for r in results {
            let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r.metrics))
            var byTrack = metrics[r.explainer] as? [String: Any] ?? [:]
            byTrack[String(r.track)] = object
            metrics[r.explainer] = byTrack
        }
        return (metrics, shapClips)
    }

    /// The positive part divided by its maximum (all-zero stays zero).
    static func positiveNormalised(_ map: HeatMap) -> HeatMap {
        let top = map.values.max() ?? 0
        guard top > 0 else { return HeatMap(width: map.width, height: map.height, values: map.values.map { _ in 0 }) }
        return HeatMap(width: map.width, height: map.height, values: map.values.map { max(0, $0) / top })
    }
}

extension AnalyzeCommand {
    /// SHAPOptions from `--shap-segments`, `--shap-samples`, `--shap-frames`, `--shap-mask`, `--seed`.
    func shapOptions() throws -> SHAPOptions {
        var o = SHAPOptions()
        guard shapSegments >= 2, shapSegments <= 1000 else { throw CLIError("--shap-segments must be in 2…1000, got \(shapSegments)") }
        guard shapFrames >= 1, shapFrames <= 256 else { throw CLIError("--shap-frames must be in 1…256, got \(shapFrames)") }
        o.segments = shapSegments
        o.frames = shapFrames
        o.seed = seed
        if let shapSamples {
            guard let s = SHAPSamples(parsing: shapSamples) else {
                throw CLIError("--shap-samples: '\(shapSamples)' is not a positive count, auto or all")
            }
            o.samples = s
        }
        guard let mask = SHAPMask(rawValue: shapMask) else { throw CLIError("--shap-mask: '\(shapMask)' is not blur or mean") }
        o.mask = mask
        return o
    }
}
