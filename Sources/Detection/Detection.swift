// Detection: detector manifests and presets, heads, per-frame scoring, video verdicts, evaluation metrics.
import Foundation

// MARK: - Errors

/// Failures of the Detection module; each message names the manifest, field, key or file at fault.
public enum DetectionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A manifest field is missing or invalid: `detector manifest X: field 'input.size' must be …`.
    case manifest(source: String, field: String, reason: String)
    /// A manifest file cannot be read or is not a JSON object.
    case unreadableManifest(source: String, reason: String)
    /// `--detector SPEC` names nothing deepscope knows.
    case unknownSpec(String, known: [String])
    /// The detector has no weights file (a preset without `--weights`).
    case noWeights(detector: String)
    /// The weights file cannot be read.
    case weights(file: String, reason: String)
    /// The checkpoint does not fit the detector; `suggestion` names a preset whose key set fits.
    case checkpointMismatch(detector: String, reason: String, suggestion: String?)
    /// The head's parameters are missing or malformed.
    case head(detector: String, reason: String)
    /// Evaluation input problems (labels, a list, a single class).
    case evaluation(String)

    public var description: String {
        switch self {
        case .manifest(let source, let field, let reason):
            return "detector manifest \(source): field '\(field)' \(reason)"
        case .unreadableManifest(let source, let reason):
            return "detector manifest \(source): \(reason)"
        case .unknownSpec(let spec, let known):
            return "--detector \(spec): not a manifest file, a bundled detector or a preset; presets: "
                + known.joined(separator: ", ")
        case .noWeights(let detector):
            return "detector \(detector): no weights file (pass --weights FILE)"
        case .weights(let file, let reason):
            return "weights \(file): \(reason)"
        case .checkpointMismatch(let detector, let reason, let suggestion):
            return "detector \(detector): \(reason)"
                + (suggestion.map { "; the checkpoint fits the preset \($0) (use --detector \($0))" } ?? "")
        case .head(let detector, let reason):
            return "detector \(detector): head: \(reason)"
        case .evaluation(let why):
            return "evaluate: \(why)"
        }
    }
}
