// `deepscope model run`: runs a detector on a preprocessed N×3×H×W .npy and writes logits, GradCAM, attention
// and named activations as .npy files — how users and tests check a model against PyTorch.
import ArgumentParser
import Detection
import Explain
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

/// The score a CAM explains for `--class`: the predicted class when nil; on a single-logit model 1 is +z
/// ("fake") and 0 is −z ("real"), the binary extension.
func camTarget(_ targetClass: Int?) -> ExplainTarget {
    targetClass.map { ExplainTarget.classIndex($0) } ?? .predicted
}

/// Runs forward, backward to `layer` and the GradCAM map: what both `model run` and `bench model` time.
func runGradCAM(_ network: Network, input: Tensor, layer: String, target: Int?, capturing: Set<String>)
    throws -> (graph: Graph, logits: Tensor, cam: Tensor) {
    let (graph, result) = try runCAMForCLI(.gradcam, network, input: input, layer: layer, target: target,
                                          capturing: capturing)
    return (graph, result.logits, result.map)
}

/// `runCAM` with the CLI's errors: `--gradcam-layer` and `--class` named in one-line messages.
func runCAMForCLI(_ method: CAMMethod, _ network: Network, input: Tensor, layer: String, target: Int?,
                  capturing: Set<String>) throws -> (Graph, CAMResult) {
    let run: (graph: Graph, result: CAMResult)
    do {
        run = try runCAM(method, network: network, input: input, layer: layer, target: camTarget(target),
                         capturing: capturing)
    } catch ExplainError.unknownLayer {
        throw CLIError("--gradcam-layer \(layer): no such layer; known: " + network.layerNames.prefix(12).joined(separator: ", ")
            + (network.layerNames.count > 12 ? " … (\(network.layerNames.count) in all)" : ""))
    }
    let classes = run.result.logits.shape[1]
    if let target, !ExplainTarget.isValid(target, classes: classes) {
        throw CLIError(classes == 1 ? "--class \(target): a single-logit model has classes 0 (real) and 1 (fake)"
                                    : "--class \(target): the model has \(classes) classes")
    }
    return (run.graph, run.result)
}

// MARK: - Command

struct ModelRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a detector on a preprocessed N×3×H×W .npy and write its outputs as .npy.",
        discussion: """
        Writes logits.npy; for each --cam method M (gradcam, gradcampp, layercam) M.npy (N×h×w at the layer's \
        resolution, the ReLU'd map as pytorch-grad-cam computes it before scaling; gradcam is ReLU(Σ α_k A_k), α_k \
        the spatial mean of ∂y/∂A_k) and M_up.npy (that raw map resized bilinearly to the input size with \
        half-pixel centres, which is cv2.resize INTER_LINEAR and torch's align_corners=False — pytorch-grad-cam \
        additionally min-max normalises before and after its resize; M_up.npy is not normalised); attention.npy \
        when the model has one; and NAME.npy for each --activations name.
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
    @Option(help: "Comma-separated CAM methods to write: gradcam, gradcampp, layercam (default gradcam).")
    var cam: String = "gradcam"

    /// `--cam` parsed, in the order given.
    func camMethods() throws -> [CAMMethod] {
        let methods = try cam.split(separator: ",").map { name -> CAMMethod in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let method = CAMMethod(rawValue: trimmed) else {
                throw CLIError("--cam \(trimmed): unknown method; known: " + CAMMethod.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return method
        }
        guard !methods.isEmpty else { throw CLIError("--cam: name at least one method") }
        return methods
    }

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
            // Each method is its own forward/backward; the first run's graph serves --activations.
            var first: Graph?
            for method in try camMethods() {
                let (g, result) = try runCAMForCLI(method, network, input: x, layer: layer, target: targetClass,
                                                   capturing: first == nil ? capture : [])
                if first == nil { try write(result.logits, "logits") }
                first = first ?? g
                try write(result.map, method.rawValue)
                let (n, h, w) = (result.map.shape[0], result.map.shape[1], result.map.shape[2])
                let up = Graph().resize(Variable(result.map.reshaped([n, 1, h, w])), to: Size2D(x.shape[2], x.shape[3]))
                try write(up.tensor.reshaped([n, x.shape[2], x.shape[3]]), method.rawValue + "_up")
            }
            graph = first!
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
