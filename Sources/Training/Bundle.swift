// Bundle: writes a trained network as a detector bundle — manifest.json (schema 1, DESIGN.md) plus
// weights.safetensors, and head.safetensors for an embedding detector's k-NN gallery.
import Foundation
import Neural
import Weights

/// What a bundle's manifest says beyond the network itself.
public struct BundleDescription: Sendable {
    public var name: String
    public var classes: [String]
    public var cropMargin = 0.1
    /// k of the k-NN head (embedding detectors).
    public var k = 5
    /// Free-form provenance (command, seed, split) stored in the safetensors metadata.
    public var provenance: [String: String] = [:]
    public init(name: String, classes: [String]) { self.name = name; self.classes = classes }
}

/// Writes `net` as a bundle into `directory` (created if needed). Weights are stored as float16 to keep bundles
/// small; `gallery` (embeddings and class labels) is required for an embedding network.
public func writeBundle(_ net: TrainableNet, _ d: BundleDescription, to directory: URL,
                        gallery: (embeddings: Tensor, labels: [Int])? = nil) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try SafeTensors.write(net.stateDict(), metadata: d.provenance, as: .float16,
                          to: directory.appendingPathComponent("weights.safetensors"))
    var output: [String: Any] = ["classes": d.classes]
    var explain: [String: Any] = ["gradcamLayer": "efficientnet._conv_head"]
    switch net.head {
    case .autoatt:
        output["kind"] = "sigmoid-logit"
        explain["attention"] = "efficientnet.attconv"
    case .softmax, .ltpa:
        output["kind"] = net.outputs == 1 ? "sigmoid-logit" : "softmax"
    case .embedding:
        guard let gallery else { throw TrainingError.invalidOption("an embedding bundle needs its k-NN gallery") }
        output["kind"] = "embedding"
        output["classifier"] = "knn"
        output["k"] = d.k
        output["parameters"] = "head.safetensors"
        let g = normalisedRows(gallery.embeddings)
        try SafeTensors.write([("gallery", g), ("labels", Tensor(shape: [gallery.labels.count], data: gallery.labels.map(Float.init)))],
                              to: directory.appendingPathComponent("head.safetensors"))
    }
    let manifest: [String: Any] = [
        "schema": 1, "name": d.name, "architecture": net.head.architecture, "variant": net.config.name,
        "padding": "lukemelas-0.7", "weights": "weights.safetensors", "keyPrefix": "",
        "input": ["size": net.config.resolution, "order": "RGB", "scale": 255,
                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]],
        "crop": ["policy": "scale", "margin": d.cropMargin],
        "output": output, "explain": explain,
    ]
    let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: directory.appendingPathComponent("manifest.json"), options: .atomic)
}
