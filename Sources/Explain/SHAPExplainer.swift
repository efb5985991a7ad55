// 3-D segment Kernel SHAP: which space-time regions of a face clip move the detector's score, by supervoxel.
import Media
import Models
import Neural

// MARK: - Options and results

/// The settings of `analyze --explain shap` (`--shap-segments`, `--shap-samples`, `--shap-frames`,
/// `--shap-mask`, `--seed`) and the finer supervoxel and batching knobs.
public struct SHAPOptions: Sendable, Equatable {
    /// Approximate supervoxels per clip (the players M).
    public var segments: Int = 50
    /// Coalitions per clip: 2M + 2048 by default, `.all` for exact values.
    public var samples: SHAPSamples = .automatic
    /// Frames per clip: a longer track is explained in consecutive clips of this many frames.
    public var frames: Int = 8
    public var mask: SHAPMask = .blur
    public var seed: UInt64 = 0
    /// shap's optional L1 step (`num_features(r)`): only r supervoxels get a value; nil (default) is off.
    public var selectFeatures: Int? = nil
    /// SLIC compactness and pre-smoothing (voxels).
    public var compactness: Double = 10
    public var slicSigma: Double = 1
    /// Blur of the `.blur` background in pixels; nil: 1/16 of the crop's larger side (14 px at 224).
    public var blurSigma: Double? = nil
    /// Images per forward pass (whole coalitions of `frames` images each).
    public var batchImages: Int = 32

    public init() {}
}

/// What one clip's explanation found: enough to redraw it, audit it and write it to summary.json.
///
/// Encodes (for summary.json) as `frames`, `segments` (the supervoxel count; the label volume itself is left
/// out), `phi`, `samples`, `seed`, `full_value`, `empty_value`, `additivity_error`.
public struct SHAPClipDetails: Sendable, Encodable {
    /// Video frame indices of the clip.
    public var frames: [Int]
    /// The players: supervoxel labels over the clip (draw their borders with `borders(frame:)`).
    public var supervoxels: Supervoxels
    /// One Shapley value per supervoxel, in score units (positive: evidence for the target).
    public var phi: [Double]
    /// Coalitions in the Kernel SHAP design, and the seed that drew them.
    public var samples: Int
    public var seed: UInt64
    /// The score with nothing hidden and with everything hidden.
    public var fullValue: Double
    public var emptyValue: Double
    /// |Σφ − (full − empty)|.
    public var additivityError: Double

    enum CodingKeys: String, CodingKey {
        case frames, segments, phi, samples, seed
        case fullValue = "full_value", emptyValue = "empty_value", additivityError = "additivity_error"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(frames, forKey: .frames)
        try c.encode(supervoxels.count, forKey: .segments)
        try c.encode(phi, forKey: .phi)
        try c.encode(samples, forKey: .samples)
        try c.encode(seed, forKey: .seed)
        try c.encode(fullValue, forKey: .fullValue)
        try c.encode(emptyValue, forKey: .emptyValue)
        try c.encode(additivityError, forKey: .additivityError)
    }
}

/// Maps for every crop plus per-clip details.
public struct SHAPExplanation: Sendable {
    public var maps: [HeatMap]
    public var clips: [SHAPClipDetails]
}

// MARK: - Explainer

/// Kernel SHAP over supervoxels of T-frame clips of a face track.
///
/// Each clip of `options.frames` crops is cut into about `options.segments` SLIC supervoxels; Kernel SHAP (shap's
/// KernelExplainer algorithm) values them with coalitions whose hidden supervoxels show the blurred clip (or
/// their mean colour), the value being the target score averaged over the clip's frames. Every pixel of a
/// map carries its supervoxel's φ; metrics take the positive part themselves.
///
/// ```swift
/// let shap = SHAPExplainer(network: net, target: fakeLogit,
///                          preprocess: { SHAPExplainer.normalize($0, mean: imagenetMean, std: imagenetStd) })
/// let maps = try shap.explain(clip, cancellation: Cancellation()) { print($0) }
/// ```
public struct SHAPExplainer: Explainer {
    public let name = "shap"
    public let cost = ExplainerCost.background
    public let network: Network
    public let target: ExplainTarget
    public let preprocess: SHAPPreprocess
    public let options: SHAPOptions

    public init(network: Network, target: ExplainTarget, preprocess: @escaping SHAPPreprocess,
                options: SHAPOptions = SHAPOptions()) {
        self.network = network
        self.target = target
        self.preprocess = preprocess
        self.options = options
    }

    public func explain(_ clip: FaceClip, cancellation: Cancellation,
                        progress: @Sendable (Double) -> Void) throws -> [HeatMap] {
        try explainDetailed(clip, cancellation: cancellation, progress: progress).maps
    }

    /// The maps together with each clip's supervoxels, values, samples, seed and additivity error.
    public func explainDetailed(_ clip: FaceClip, cancellation: Cancellation,
                                progress: @Sendable (Double) -> Void) throws -> SHAPExplanation {
        guard options.frames > 0, options.segments > 0, options.batchImages > 0 else {
            throw ExplainError.unsupported("SHAP needs positive frames, segments and batch size")
        }
        guard let first = clip.crops.first else { return SHAPExplanation(maps: [], clips: []) }
        guard clip.crops.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw ExplainError.unsupported("SHAP needs crops of one size; got \(Set(clip.crops.map { "\($0.width)×\($0.height)" }).sorted())")
        }
        let starts = Array(stride(from: 0, to: clip.crops.count, by: options.frames))
        var result = SHAPExplanation(maps: [], clips: [])
        for (n, start) in starts.enumerated() {
            let range = start..<min(start + options.frames, clip.crops.count)
            let details = try explainClip(Array(clip.crops[range]), frames: Array(clip.frames[range]),
                                          cancellation: cancellation) { f in
                progress((Double(n) + f) / Double(starts.count))
            }
            let area = first.width * first.height
            for t in 0..<range.count {
                let labels = details.supervoxels.labels[(t * area)..<((t + 1) * area)]
                result.maps.append(HeatMap(width: first.width, height: first.height,
                                           values: labels.map { Float(details.phi[Int($0)]) }))
            }
            result.clips.append(details)
        }
        progress(1)
        return result
    }

    private func explainClip(_ crops: [RGBImage], frames: [Int], cancellation: Cancellation,
                             progress: (Double) -> Void) throws -> SHAPClipDetails {
        if cancellation.isCancelled { throw ExplainError.cancelled }
        let slic = SLICOptions(segments: options.segments, compactness: options.compactness, sigma: options.slicSigma)
        let segments = Supervoxels(slic: crops, options: slic)
        let m = segments.count
        if options.samples == .all && m > 24 {
            throw ExplainError.unsupported("--shap-samples all with \(m) supervoxels is 2^\(m) coalitions; use at most 24 segments")
        }
        let blur = options.blurSigma ?? Double(max(crops[0].width, crops[0].height)) / 16
        let game = SHAPVideoGame(crops: crops, segments: segments, mask: options.mask, blurSigma: blur,
                                 network: network, target: target, preprocess: preprocess,
                                 batchImages: options.batchImages)
        let total = Double(2 + (m >= 2 ? options.samples.budget(features: m) : 0))
        var finished = 0
        let shap = try KernelSHAP.explain(features: m, samples: options.samples, seed: options.seed,
                                         selectFeatures: options.selectFeatures) { masks in
            let before = finished
            let values = try game.values(of: masks, cancellation: cancellation) { done in
                progress(min(Double(before + done) / total, 1))
            }
            finished += masks.count
            return values
        }
        return SHAPClipDetails(frames: frames, supervoxels: segments, phi: shap.phi, samples: shap.samples,
                               seed: options.seed, fullValue: shap.fullValue, emptyValue: shap.emptyValue,
                               additivityError: shap.additivityError)
    }
}
