// ModelFactory: builds a `Network` from a manifest's architecture identifier, variant, padding and tensors.
import Neural

/// Architecture identifiers `makeNetwork` knows, as manifests spell them.
public let knownArchitectures = ["efficientnet", "efficientnet-autoatt"]

/// Builds and strictly binds the network a detector manifest describes.
///
/// - Parameters:
///   - architecture: the manifest's `architecture` (`efficientnet`, `efficientnet-autoatt`, …).
///   - variant: e.g. `b4`; nil takes the architecture's default (`b4` for EfficientNet).
///   - padding: the padding convention (`lukemelas-0.7` when nil for EfficientNet).
///   - inputSize: the detector's input size. EfficientNet ignores it: efficientnet_pytorch builds its static
///     padding for the variant's own resolution (B4: 380) whatever size the detector is fed, as
///     `EfficientNet.from_pretrained` did when the published checkpoints were trained.
///   - keyPrefix: only keys starting with it are bound, with it removed (`feat_ext.` for a triplet-tuned model).
///   - tensors: the checkpoint's named tensors.
/// - Throws: `ModelError` for an unknown identifier, a bad variant or padding, or a checkpoint that does not fit.
/// ```swift
/// let net = try makeNetwork(architecture: "efficientnet-autoatt", variant: "b4", padding: "lukemelas-0.7",
///                           inputSize: 224, keyPrefix: "", tensors: file.namedTensors)
/// ```
public func makeNetwork(architecture: String, variant: String?, padding: String?, inputSize: Int,
                        keyPrefix: String, tensors: [(String, Tensor)]) throws -> Network {
    let selected = keyPrefix.isEmpty ? tensors : tensors.compactMap { key, value in
        key.hasPrefix(keyPrefix) ? (String(key.dropFirst(keyPrefix.count)), value) : nil
    }
    switch architecture {
    case "efficientnet", "efficientnet-autoatt":
        let config = try EfficientNetConfig(variant: variant ?? "b4")
        let convention = padding ?? EfficientNetPadding.lukemelas07.rawValue
        guard let pad = EfficientNetPadding(rawValue: convention) else {
            throw ModelError.invalidConfiguration("padding '\(convention)' for \(architecture); known: "
                + EfficientNetPadding.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return try EfficientNet(config: config, padding: pad, attention: architecture == "efficientnet-autoatt",
                                tensors: selected)
    default:
        throw ModelError.unsupported("architecture '\(architecture)'; known: " + knownArchitectures.joined(separator: ", "))
    }
}
