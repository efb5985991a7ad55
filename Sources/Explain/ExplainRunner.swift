// ExplainRunner: builds explainers by name for a detector and runs them over face tracks, maps plus metrics.
import Models
import Neural

// MARK: - Results

/// One explainer's maps of one face track, and their consistency metrics.
public struct TrackExplanation: Sendable {
    /// The explainer's name (`gradcam`, `attention`, `ltpa1`, …).
    public var explainer: String
    public var track: Int
    /// The video frame index of each map.
    public var frames: [Int]
    /// One map per frame, at the detector's input size.
    public var maps: [HeatMap]
    public var metrics: ConsistencyMetrics

    /// Maps computed elsewhere (the explorer's cache, SHAP's detailed run) with their metrics, for the exports.
    public init(explainer: String, track: Int, frames: [Int], maps: [HeatMap], metrics: ConsistencyMetrics) {
        self.explainer = explainer; self.track = track; self.frames = frames; self.maps = maps; self.metrics = metrics
    }
}

// MARK: - Runner

/// Runs a list of explainers over preprocessed face clips (one per track) and computes each track's metrics:
/// what `analyze --explain gradcam,attention,ltpa` and the explorer's background analysis call.
///
/// ```swift
/// let runner = try ExplainRunner(network: net, names: ["gradcam", "attention"], camLayer: nil)
/// let results = try runner.run(clips, cancellation: Cancellation()) { print($0) }
/// try ExplainExport.writeMetricsCSV(results, to: out.appendingPathComponent("metrics.csv"))
/// ```
public struct ExplainRunner: Sendable {
    /// Names `init(network:names:…)` understands; `ltpa` stands for its three levels `ltpa1`, `ltpa2`, `ltpa3`.
    public static let knownNames = ["gradcam", "gradcampp", "layercam", "attention", "ltpa", "ltpa1", "ltpa2", "ltpa3"]

    public let explainers: [any Explainer]

    /// Runs the given explainers (including ones built elsewhere, such as SHAP), in order.
    public init(explainers: [any Explainer]) { self.explainers = explainers }

    /// Builds the named explainers for `network`.
    /// - Parameters:
    ///   - names: from `knownNames`, in the order wanted.
    ///   - camLayer: the layer the CAM methods explain; nil takes the architecture's usual one (the head
    ///     convolution of EfficientNet, ResNet's `layer4`, Xception's `conv4`).
    ///   - target: the explained score (default: the predicted class; `.fake` / `.real` on single-logit heads).
    /// - Throws: `ExplainError.unsupported` for an unknown name or a CAM layer that cannot be chosen.
    public init(network: Network, names: [String], camLayer: String?, target: ExplainTarget = .predicted) throws {
        var built: [any Explainer] = []
        for name in names {
            if let method = CAMMethod(rawValue: name) {
                guard let layer = camLayer ?? Self.defaultCAMLayer(of: network) else {
                    throw ExplainError.unsupported("no default GradCAM layer for this architecture; name one")
                }
                built.append(CAMExplainer(method, network: network, layer: layer, target: target))
            } else if name == "attention" {
                built.append(AttentionExplainer(network: network))
            } else if name == "ltpa" {
                built += (1...3).map { LTPAExplainer(network: network, level: $0) }
            } else if name.hasPrefix("ltpa"), let level = Int(name.dropFirst(4)), (1...3).contains(level) {
                built.append(LTPAExplainer(network: network, level: level))
            } else {
                throw ExplainError.unsupported("unknown explainer '\(name)'; known: " + Self.knownNames.joined(separator: ", "))
            }
        }
        explainers = built
    }

    /// The layer GradCAM usually explains for each architecture deepscope builds.
    public static func defaultCAMLayer(of network: Network) -> String? {
        switch network {
        case let n as EfficientNet: return n.headLayerName
        case let n as LTPA: return n.headLayerName
        case let n as ResNet: return n.defaultGradCAMLayer
        case let n as Xception: return n.defaultGradCAMLayer
        case let n as Meso4: return n.defaultGradCAMLayer
        case let n as MesoInception4: return n.defaultGradCAMLayer
        default: return nil
        }
    }

    /// Every explainer over every clip, in the order explainers × clips; `progress` gets the fraction done.
    public func run(_ clips: [FaceClip], cancellation: Cancellation,
                    progress: @Sendable (Double) -> Void = { _ in }) throws -> [TrackExplanation] {
        var results: [TrackExplanation] = []
        let total = Double(max(1, explainers.count * clips.count))
        for (e, explainer) in explainers.enumerated() {
            for (c, clip) in clips.enumerated() {
                let done = Double(e * clips.count + c)
                let maps = try explainer.explain(clip, cancellation: cancellation) { progress((done + $0) / total) }
                results.append(TrackExplanation(explainer: explainer.name, track: clip.track, frames: clip.frames,
                                                maps: maps, metrics: consistencyMetrics(maps)))
            }
        }
        progress(1)
        return results
    }
}
