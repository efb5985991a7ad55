// Explain: GradCAM family, attention maps, supervoxels with Kernel SHAP, explainer consistency metrics.
import Foundation
import Media
import Models
import Neural

// MARK: - Inputs and outputs

/// One face track's consecutive crops, ready for a detector: what every explainer takes.
public struct FaceClip: Sendable {
    /// The crops as the detector sees them after preprocessing: T×3×H×W.
    public var input: Tensor
    /// The same crops as RGB images (H×W), for overlays and colour-space work such as supervoxels.
    public var crops: [RGBImage]
    /// The video frame index of each crop.
    public var frames: [Int]
    /// The face track the crops belong to.
    public var track: Int

    public init(input: Tensor, crops: [RGBImage], frames: [Int], track: Int) {
        precondition(input.rank == 4 && input.shape[0] == crops.count && crops.count == frames.count,
                     "FaceClip: \(input.shape) input for \(crops.count) crops and \(frames.count) frames")
        self.input = input
        self.crops = crops
        self.frames = frames
        self.track = track
    }
}

/// A saliency map over one crop, row-major, `height`×`width`; larger means more evidence for the target.
public struct HeatMap: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(values.count == width * height, "HeatMap: \(values.count) values for \(width)×\(height)")
        self.width = width
        self.height = height
        self.values = values
    }
}

/// What the explained score is: the scalar an explainer attributes, built from the network's output.
///
/// `score` receives the network output for a batch (N×K) and returns the N per-item scalars to explain (N×1 or N),
/// inside the same graph, so gradients flow through it: the fake logit of a binary detector, a class's logit for
/// an attribution detector, the negated logit for the binary extension's "real" map.
public struct ExplainTarget: Sendable {
    public var name: String
    public var score: @Sendable (Variable, Graph) -> Variable

    public init(name: String, score: @escaping @Sendable (Variable, Graph) -> Variable) {
        self.name = name
        self.score = score
    }
}

// MARK: - The interface

/// How long an explainer takes: `instant` ones run on key presses, `background` ones off the UI thread with progress.
public enum ExplainerCost: Sendable {
    case instant
    case background
}

/// A flag a caller sets to stop a running explanation; explainers check it between batches.
public final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    public func cancel() { lock.withLock { cancelled = true } }
    public var isCancelled: Bool { lock.withLock { cancelled } }
}

/// Errors explainers raise.
public enum ExplainError: Error, CustomStringConvertible, Equatable {
    case cancelled
    case unknownLayer(String, known: [String])
    case unsupported(String)

    public var description: String {
        switch self {
        case .cancelled: return "explanation cancelled"
        case .unknownLayer(let name, let known):
            return "no layer named '\(name)'; layers: " + known.prefix(12).joined(separator: ", ")
                + (known.count > 12 ? " … (\(known.count) in all)" : "")
        case .unsupported(let why): return "cannot explain: \(why)"
        }
    }
}

/// A saliency method: a face clip in, one map per crop out.
///
/// Implementations are value types or immutable classes holding the network; `explain` may be called from any
/// thread and must poll `cancellation` between units of work (batches, coalitions) so the explorer can drop a
/// stale request at once. `progress` receives the fraction done in [0, 1].
public protocol Explainer: Sendable {
    /// Short name used in the UI, file names and metrics (`gradcam`, `attention`, `ltpa`, `shap`).
    var name: String { get }
    var cost: ExplainerCost { get }
    func explain(_ clip: FaceClip, cancellation: Cancellation,
                 progress: @Sendable (Double) -> Void) throws -> [HeatMap]
}
