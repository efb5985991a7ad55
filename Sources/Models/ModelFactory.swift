// ModelFactory: builds a `Network` from a manifest's architecture identifier, variant, padding and tensors.
import Neural

/// Architecture identifiers `makeNetwork` knows, as manifests spell them.
public let knownArchitectures = ["efficientnet", "efficientnet-autoatt", "efficientnet-ltpa", "xception", "resnet", "meso4", "mesoinception4",
                                  "mtcnn-pnet", "mtcnn-rnet", "mtcnn-onet"]

/// Builds and strictly binds the network a detector manifest describes.
///
/// - Parameters:
///   - architecture: the manifest's `architecture` (`efficientnet`, `efficientnet-autoatt`, …).
///   - variant: e.g. `b4`; nil takes the architecture's default (`b4` for EfficientNet). For `xception` it is the
///     key layout (`cadene` when nil, `ffpp`, `timm`, `deepfakebench`); for `resnet` the depth (`18`, `34` when
///     nil, `50`).
///   - padding: the padding convention (`lukemelas-0.7` when nil for EfficientNet); for `resnet` the key layout
///     (`torchvision` when nil, `deepfakebench`).
///   - inputSize: the detector's input size; Meso4/MesoInception4 size their `fc1` from it. EfficientNet ignores it: efficientnet_pytorch builds its static
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
    case "efficientnet-ltpa", "ltpa":
        let config = try EfficientNetConfig(variant: variant ?? "b4")
        let convention = padding ?? EfficientNetPadding.lukemelas07.rawValue
        guard let pad = EfficientNetPadding(rawValue: convention) else {
            throw ModelError.invalidConfiguration("padding '\(convention)' for \(architecture); known: "
                + EfficientNetPadding.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return try LTPA(config: config, padding: pad, tensors: selected)
    case "xception":
        let name = variant ?? XceptionLayout.cadene.rawValue
        guard let layout = XceptionLayout(rawValue: name) else {
            throw ModelError.invalidConfiguration("xception layout '\(name)'; known: "
                + XceptionLayout.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return try Xception(layout: layout, tensors: selected)
    case "resnet":
        let name = variant ?? "34"
        guard let depth = Int(name.hasPrefix("resnet") ? String(name.dropFirst(6)) : name) else {
            throw ModelError.invalidConfiguration("resnet variant '\(name)'; known: 18, 34, 50")
        }
        let layoutName = padding ?? ResNetLayout.torchvision.rawValue
        guard let layout = ResNetLayout(rawValue: layoutName) else {
            throw ModelError.invalidConfiguration("resnet layout '\(layoutName)'; known: "
                + ResNetLayout.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return try ResNet(depth: depth, layout: layout, tensors: selected)
    case "meso4":
        return try Meso4(inputSize: inputSize, tensors: selected)
    case "mesoinception4":
        return try MesoInception4(inputSize: inputSize, tensors: selected)
    case "mtcnn-pnet":
        return try MTCNNPNet(tensors: selected)
    case "mtcnn-rnet":
        return try MTCNNRNet(tensors: selected)
    case "mtcnn-onet":
        return try MTCNNONet(tensors: selected)
    default:
        throw ModelError.unsupported("architecture '\(architecture)'; known: " + knownArchitectures.joined(separator: ", "))
    }
}
