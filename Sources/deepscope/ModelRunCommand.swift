// `deepscope model run`: runs a detector on a preprocessed N×3×H×W .npy and writes logits, GradCAM, attention
// and named activations as .npy files — how users and tests check a model against PyTorch.
import ArgumentParser
import Detection
import Foundation
import Models
import Neural
import Weights

// MARK: - Detector specification

/// What `--detector` resolves to: Detection's manifest (a manifest path, a bundled detector, a preset
/// `family:model`, or `ARCH[:VARIANT[:PADDING]]`) with `--weights` applied; errors become one-line CLI errors.
struct DetectorSpec {
    var manifest: DetectorManifest
    var architecture: String { manifest.architecture }
    var variant: String? { manifest.variant }
    var padding: String? { manifest.padding }
    var weights: URL? { manifest.weights }
    var inputSize: Int {
        get { manifest.input.size }
        set { manifest.input.size = newValue }
    }

    init(_ spec: String, weights: String?) throws {
        do {
            var m = try DetectorManifest.resolve(spec: spec, assets: assetsDirectory())
            if let weights { m.weights = URL(fileURLWithPath: weights) }
            manifest = m
        } catch let error as DetectionError { throw CLIError(error.description) }
    }

    /// Loads the weights and builds the bound network.
    func makeNetwork() throws -> Network { try makeDetector().network }

    /// Loads the weights and binds network and head.
    func makeDetector() throws -> Detector {
        do { return try Detector.load(manifest: manifest) } catch let error as DetectionError { throw CLIError(error.description) }
    }

    /// The layer GradCAM explains: `--gradcam-layer`, the manifest's, or the architecture's head convolution.
    func layer(for network: Network, override: String?) -> String? {
        override ?? manifest.gradcamLayer ?? (network as? EfficientNet)?.headLayerName
    }
}

// MARK: - GradCAM

/// The seed of ∂y/∂logits for GradCAM: y is logit `target` (default: each item's argmax); for a single-logit
/// model y = +z, and `target` 0 asks for y = −z (the "real" map).
func gradcamSeed(logits: Tensor, target: Int?) throws -> Tensor {
    let n = logits.shape[0], k = logits.shape[1]
    var seed = Tensor(shape: logits.shape)
    for i in 0..<n {
        if k == 1 {
            guard target == nil || target == 0 || target == 1 else {
                throw CLIError("--class \(target!): a single-logit model has classes 0 (real) and 1 (fake)")
            }
            seed.data[i] = target == 0 ? -1 : 1
        } else {
            let row = Array(logits.data[(i * k)..<((i + 1) * k)])
            let c = target ?? row.indices.max { row[$0] < row[$1] }!
            guard c >= 0 && c < k else { throw CLIError("--class \(c): the model has \(k) classes") }
            seed.data[i * k + c] = 1
        }
    }
    return seed
}

/// ReLU(Σ_k α_k A_k), α_k = spatial mean of ∂y/∂A_k, one map per batch item: N×h×w.
func gradcamMap(activation a: Tensor, gradient d: Tensor) -> Tensor {
    let (n, c, hw) = (a.shape[0], a.shape[1], a.shape[2] * a.shape[3])
    var cam = [Float](repeating: 0, count: n * hw)
    for i in 0..<n {
        for ch in 0..<c {
            let base = (i * c + ch) * hw
            var alpha = 0.0
            for p in 0..<hw { alpha += Double(d.data[base + p]) }
            let al = Float(alpha / Double(hw))
            for p in 0..<hw { cam[i * hw + p] += al * a.data[base + p] }
        }
    }
    return Tensor(shape: [n, a.shape[2], a.shape[3]], data: cam.map { max($0, 0) })
}

/// Runs forward, backward to `layer` and the map: what both `model run` and `bench model` time.
func runGradCAM(_ network: Network, input: Tensor, layer: String, target: Int?, capturing: Set<String>)
    throws -> (graph: Graph, logits: Tensor, cam: Tensor) {
    let g = Graph(recording: true, capturing: capturing)
    let logits = network.forward(g.input(input), in: g)
    guard let a = g.activation(layer) else {
        throw CLIError("--gradcam-layer \(layer): no such layer; known: " + network.layerNames.prefix(12).joined(separator: ", ")
            + (network.layerNames.count > 12 ? " … (\(network.layerNames.count) in all)" : ""))
    }
    let grad = g.backward(from: logits, seed: try gradcamSeed(logits: logits.tensor, target: target), to: [a])[0]
    return (g, logits.tensor, gradcamMap(activation: a.tensor, gradient: grad))
}

// MARK: - Command

struct ModelRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a detector on a preprocessed N×3×H×W .npy and write its outputs as .npy.",
        discussion: """
        Writes logits.npy; gradcam.npy (N×h×w at the layer's resolution: ReLU(Σ α_k A_k), α_k the spatial mean of \
        ∂y/∂A_k); gradcam_up.npy (that raw map resized bilinearly to the input size with half-pixel centres, which \
        is cv2.resize INTER_LINEAR and torch's align_corners=False — pytorch-grad-cam additionally min-max \
        normalises before and after its resize; gradcam_up.npy is not normalised); attention.npy when the model \
        has one; and NAME.npy for each --activations name.
        """)

    @Option(help: "A detector manifest (detector.json) or ARCH[:VARIANT[:PADDING]].") var detector: String
    @Option(help: "The weights file (overrides the manifest's).") var weights: String?
    @Option(help: "An N×3×H×W float32 .npy, already preprocessed.") var input: String
    @Option(help: "The output folder.") var out: String
    @Option(name: .customLong("gradcam-layer"), help: "The layer GradCAM explains (a PyTorch module path).")
    var gradcamLayer: String?
    @Option(name: .customLong("class"), help: "The class GradCAM explains (default: predicted; 0 = real on single-logit models).")
    var targetClass: Int?
    @Option(help: "Comma-separated layer names whose activations to write.") var activations: String?

    func run() throws {
        let spec = try DetectorSpec(detector, weights: weights)
        let network = try spec.makeNetwork()
        let x = try NumpyFile.read(contentsOf: URL(fileURLWithPath: input))
        guard x.rank == 4, x.shape[1] == 3, x.shape[0] > 0 else {
            throw CLIError("--input \(input): expected an N×3×H×W array, got shape \(x.shape)")
        }
        let names = (activations ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        func write(_ t: Tensor, _ name: String) throws { try NumpyFile.write(t, to: outURL.appendingPathComponent(name + ".npy")) }

        let capture = Set(names + [EfficientNet.attentionName])
        let graph: Graph
        if let layer = spec.layer(for: network, override: gradcamLayer) {
            let result = try runGradCAM(network, input: x, layer: layer, target: targetClass, capturing: capture)
            graph = result.graph
            try write(result.logits, "logits")
            try write(result.cam, "gradcam")
            let (n, h, w) = (result.cam.shape[0], result.cam.shape[1], result.cam.shape[2])
            let up = Graph().resize(Variable(result.cam.reshaped([n, 1, h, w])), to: Size2D(x.shape[2], x.shape[3]))
            try write(up.tensor.reshaped([n, x.shape[2], x.shape[3]]), "gradcam_up")
        } else {
            graph = Graph(capturing: capture)
            try write(network.forward(graph.input(x), in: graph).tensor, "logits")
            FileHandle.standardError.write(Data("model run: no GradCAM layer known for \(spec.architecture); pass --gradcam-layer\n".utf8))
        }
        if let att = graph.activation(EfficientNet.attentionName) { try write(att.tensor, "attention") }
        for name in names {
            guard let a = graph.activation(name) else {
                throw CLIError("--activations \(name): no such layer; known: " + network.layerNames.prefix(12).joined(separator: ", ")
                    + (network.layerNames.count > 12 ? " … (\(network.layerNames.count) in all)" : ""))
            }
            try write(a.tensor, name)
        }
    }
}
