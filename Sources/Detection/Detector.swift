import Faces
import Foundation
import Media
import Models
import Neural
import Weights

// MARK: - Output

/// What a detector says about one face.
public struct DetectorOutput: Sendable, Equatable {
    /// The logit of p_fake: z itself for a sigmoid-logit head, log(p_fake / p_real) for the others.
    public var logit: Float
    /// p_fake (DESIGN.md: σ(z), or 1 − p_real).
    public var probability: Float
    /// One probability per class, in the manifest's class order.
    public var classProbabilities: [Float]
    /// Index of the predicted class (argmax; for a sigmoid-logit head `fake` when p_fake ≥ 0.5).
    public var predicted: Int

    public init(logit: Float, probability: Float, classProbabilities: [Float], predicted: Int) {
        self.logit = logit; self.probability = probability
        self.classProbabilities = classProbabilities; self.predicted = predicted
    }
}

// MARK: - Detector

/// A bound network with its preprocessing, crop policy and head: face crops in, fake probabilities out.
///
/// ```swift
/// let detector = try Detector.load(spec: "icpr2020dfdc:EfficientNetAutoAttB4", weights: "EfficientNetAutoAttB4_DFDC_bestval.pth")
/// let crop = try detector.crop(frame, face)
/// let out = try detector.score(detector.preprocess([crop]))[0]   // out.probability is p_fake
/// ```
public final class Detector: Sendable {
    public let manifest: DetectorManifest
    public let network: Network
    let head: Head

    /// Resolves `spec` (a manifest path or folder, a bundled detector name, a preset `family:model`, or
    /// `ARCH[:VARIANT[:PADDING]]`), loads its weights (`weights` overrides the manifest's) and binds them strictly.
    ///
    /// - Parameter assets: deepscope's `assets/` folder, where bundled detectors live (`detectors/<name>/manifest.json`).
    /// - Throws: `DetectionError` naming the field, file or keys at fault; a checkpoint that does not fit gets a
    ///   suggestion of the preset it does fit.
    public static func load(spec: String, weights: String?, assets: URL? = nil) throws -> Detector {
        var manifest = try DetectorManifest.resolve(spec: spec, assets: assets)
        if let weights { manifest.weights = URL(fileURLWithPath: weights) }
        return try load(manifest: manifest)
    }

    /// Loads the manifest's weights file and binds it (see `load(spec:weights:assets:)`).
    public static func load(manifest: DetectorManifest) throws -> Detector {
        guard let url = manifest.weights else { throw DetectionError.noWeights(detector: manifest.source) }
        let file: TensorFile
        do { file = try TensorFile.load(contentsOf: url) } catch {
            throw DetectionError.weights(file: url.path, reason: "\(error)")
        }
        return try Detector(manifest: manifest, tensors: file.removingCommonPrefixes().namedTensors)
    }

    /// Binds named tensors (wrapper prefixes such as `module.` already removed) to the manifest's network and head.
    public init(manifest: DetectorManifest, tensors: [(String, Tensor)]) throws {
        self.manifest = manifest
        do {
            network = try manifest.bind(tensors)
        } catch let error as DetectionError {
            throw error
        } catch {
            let suggestion = DetectorPresets.all.first { $0.name != manifest.source.replacingOccurrences(of: "preset ", with: "")
                && (try? $0.manifest.bind(tensors)) != nil }
            throw DetectionError.checkpointMismatch(detector: manifest.source, reason: "\(error)", suggestion: suggestion?.name)
        }
        head = try Head(manifest.output, detector: manifest.source)
    }

    /// The face cut from `frame` by the detector's crop policy, at its input size.
    public func crop(_ frame: RGBImage, _ face: Face) throws -> RGBImage {
        let size = manifest.input.size
        switch manifest.crop {
        case .face(let policy):
            return try cropFace(frame, face, policy: policy, size: size)
        case .box(let margin):
            let b = face.box
            let w = Double(b.x2 - b.x1), h = Double(b.y2 - b.y1)
            // Python's int() truncates toward zero; the far edges get SBI's +1.
            let x0 = max(0, Int((Double(b.x1) - margin * w).rounded(.towardZero)))
            let y0 = max(0, Int((Double(b.y1) - margin * h).rounded(.towardZero)))
            let x1 = min(frame.width, Int((Double(b.x2) + margin * w).rounded(.towardZero)) + 1)
            let y1 = min(frame.height, Int((Double(b.y2) + margin * h).rounded(.towardZero)) + 1)
            guard w.isFinite, h.isFinite, x1 > x0, y1 > y0 else {
                throw FacesError.invalidCrop("the face box lies outside the \(frame.width)×\(frame.height) frame")
            }
            return frame.crop(x: x0, y: y0, width: x1 - x0, height: y1 - y0).resizedBilinear(width: size, height: size)
        case .aligned(let scale):
            guard face.landmarks.count == 5 else {
                throw FacesError.invalidCrop("align5 needs 5 landmarks, the face has \(face.landmarks.count)")
            }
            // DeepfakeBench's template is h(T) with h(p) = p / s + N(s − 1) / (2s). Faces aligns landmarks L to T
            // by the least-squares similarity F; least squares commutes with similarities, so aligning
            // g(L) with g = F⁻¹ ∘ h⁻¹ ∘ F gives F ∘ g⁻¹ = h ∘ F — DeepfakeBench's transform — through Faces' own warp.
            let f = SimilarityTransform.leastSquares(from: face.landmarks, to: alignmentTemplate(size: size))
            let offset = Double(size) * (scale - 1) / (2 * scale)
            let hInverse = SimilarityTransform(a: scale, b: 0, tx: -offset * scale, ty: -offset * scale)
            let g = compose(f.inverted(), compose(hInverse, f))
            var moved = face
            moved.landmarks = face.landmarks.map(g.apply)
            return try cropFace(frame, moved, policy: .align5, size: size)
        }
    }

    /// Crops as the network's N×3×S×S input: channel order, then (pixel / scale − mean) / std (S = size − trim).
    /// A crop of another size is resized bilinearly first.
    public func preprocess(_ crops: [RGBImage]) -> Tensor {
        let spec = manifest.input, s = spec.size, side = s - spec.trim, plane = side * side
        var out = Tensor(shape: [crops.count, 3, side, side])
        for (n, image) in crops.enumerated() {
            let img = image.width == s && image.height == s ? image : image.resizedBilinear(width: s, height: s)
            for c in 0..<3 {
                let source = spec.bgr ? 2 - c : c
                let mean = spec.mean[c], std = spec.std[c], scale = spec.scale
                let base = (n * 3 + c) * plane
                for y in 0..<side {
                    for x in 0..<side {
                        out.data[base + y * side + x] = (Float(img.pixels[(y * s + x) * 3 + source]) / scale - mean) / std
                    }
                }
            }
        }
        return out
    }

    /// The network's raw output (logits or embedding), N×K, on a preprocessed input.
    public func run(_ input: Tensor, in graph: Graph = Graph()) -> Tensor {
        network.forward(graph.input(input), in: graph).tensor
    }

    /// Scores a preprocessed N×3×S×S input: one output per item (image by image on the engine's workers).
    public func score(_ input: Tensor) throws -> [DetectorOutput] {
        try head.outputs(forwardImagewise(network, input))
    }

    /// Applies the head to a raw network output (what `run` or a recorded graph produced).
    public func outputs(fromRaw raw: Tensor) throws -> [DetectorOutput] { try head.outputs(raw) }
}

/// a ∘ b: apply b, then a.
private func compose(_ a: SimilarityTransform, _ b: SimilarityTransform) -> SimilarityTransform {
    SimilarityTransform(a: a.a * b.a - a.b * b.b, b: a.b * b.a + a.a * b.b,
                        tx: a.a * b.tx - a.b * b.ty + a.tx, ty: a.b * b.tx + a.a * b.ty + a.ty)
}

// MARK: - Binding

extension DetectorManifest {
    /// Builds the network from checkpoint tensors: renames, wrapper folding, class-count check, strict binding.
    func bind(_ tensors: [(String, Tensor)]) throws -> Network {
        var named = tensors.map { key, value in
            let rename = keyRenames.first { key.hasPrefix($0.key) }
            return (rename.map { $0.value + key.dropFirst($0.key.count) } ?? key, value)
        }
        if wrapper == .siameseTuning { named = try foldSiameseTuning(named) }
        if let headKey {
            // Heads that sit behind an optional wrapper (`model.`) or a Dropout (`last_linear.1`) are found either way.
            let full = keyPrefix + headKey, behindDropout = full.replacingOccurrences(of: ".weight", with: ".1.weight")
            let unwrapped = [full, behindDropout].filter { $0.hasPrefix("model.") }.map { String($0.dropFirst(6)) }
            let candidates = [full, behindDropout] + unwrapped
            guard let (full, w) = candidates.lazy.compactMap({ key in named.first { $0.0 == key }.map { (key, $0.1) } }).first else {
                throw ModelError.binding(architecture: "\(name)", missing: [keyPrefix + headKey], unexpected: [], misshapen: [])
            }
            let expected: Int? = {
                switch output.kind {
                case .sigmoidLogit: return 1
                case .softmax: return output.classes.count
                default: return nil
                }
            }()
            if let expected, w.shape.first != expected {
                throw ModelError.binding(architecture: "\(name)", missing: [], unexpected: [],
                                         misshapen: ["\(full) \(w.shape) (expected \(expected) outputs for a \(output.kind.name) head)"])
            }
        }
        return try makeNetwork(architecture: architecture, variant: variant, padding: padding, inputSize: input.size,
                               keyPrefix: keyPrefix, tensors: named)
    }

    /// icpr2020dfdc SiameseTuning: out = Linear(BatchNorm1d(features)). Folded into the backbone's own linear
    /// head (whose trained values the wrapper never uses): W' = W·diag(γ/√(σ²+ε)), b' = b + W·(β − μ·γ/√(σ²+ε)).
    private func foldSiameseTuning(_ tensors: [(String, Tensor)]) throws -> [(String, Tensor)] {
        let dict = Dictionary(tensors, uniquingKeysWith: { a, _ in a })
        let needed = ["classifier.0.weight", "classifier.0.bias", "classifier.0.running_mean", "classifier.0.running_var",
                      "classifier.1.weight", "classifier.1.bias"]
        let missing = needed.filter { dict[$0] == nil }
        guard missing.isEmpty, let headKey else {
            throw ModelError.binding(architecture: "\(name) (SiameseTuning)", missing: missing, unexpected: [], misshapen: [])
        }
        let gamma = dict["classifier.0.weight"]!, beta = dict["classifier.0.bias"]!
        let mean = dict["classifier.0.running_mean"]!, variance = dict["classifier.0.running_var"]!
        let w = dict["classifier.1.weight"]!, b = dict["classifier.1.bias"]!
        let d = gamma.count
        guard beta.count == d, mean.count == d, variance.count == d, w.rank == 2, w.shape[1] == d, b.count == w.shape[0] else {
            throw ModelError.binding(architecture: "\(name) (SiameseTuning)", missing: [], unexpected: [],
                                     misshapen: ["classifier.1.weight \(w.shape) over \(d) features"])
        }
        let k = w.shape[0]
        var folded = Tensor(shape: [k, d]), bias = Tensor(shape: [k])
        for o in 0..<k {
            var acc = Double(b.data[o])
            for i in 0..<d {
                let g = Double(gamma.data[i]) / (Double(variance.data[i]) + 1e-5).squareRoot()
                folded.data[o * d + i] = Float(Double(w.data[o * d + i]) * g)
                acc += Double(w.data[o * d + i]) * (Double(beta.data[i]) - Double(mean.data[i]) * g)
            }
            bias.data[o] = Float(acc)
        }
        let weightKey = keyPrefix + headKey
        let biasKey = String(weightKey.dropLast("weight".count)) + "bias"
        var out: [(String, Tensor)] = []
        for (key, value) in tensors where key.hasPrefix("feat_ext.") {
            let inner = String(key.dropFirst("feat_ext.".count))
            out.append((inner, inner == weightKey ? folded : inner == biasKey ? bias : value))
        }
        let unexpected = tensors.map(\.0).filter { !$0.hasPrefix("feat_ext.") && !$0.hasPrefix("classifier.") }
        guard unexpected.isEmpty, out.contains(where: { $0.0 == weightKey }) else {
            throw ModelError.binding(architecture: "\(name) (SiameseTuning)",
                                     missing: out.contains(where: { $0.0 == weightKey }) ? [] : ["feat_ext." + weightKey],
                                     unexpected: unexpected, misshapen: [])
        }
        return out
    }
}

// MARK: - Resolving --detector

extension DetectorManifest {
    /// The manifest `spec` names: a manifest file (or a folder holding `manifest.json`/`detector.json`), a bundled
    /// detector `assets/detectors/<spec>/manifest.json`, a preset `family:model`, or `ARCH[:VARIANT[:PADDING]]`.
    public static func resolve(spec: String, assets: URL? = nil) throws -> DetectorManifest {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: spec, isDirectory: &isDirectory) {
            let url = URL(fileURLWithPath: spec)
            guard isDirectory.boolValue else { return try load(contentsOf: url) }
            for name in ["manifest.json", "detector.json"] where fm.fileExists(atPath: url.appendingPathComponent(name).path) {
                return try load(contentsOf: url.appendingPathComponent(name))
            }
            throw DetectionError.unreadableManifest(source: spec, reason: "the folder has no manifest.json")
        }
        if spec.hasSuffix(".json") { throw DetectionError.unreadableManifest(source: spec, reason: "no such file") }
        if let assets, !spec.contains("/"), !spec.contains(":") {
            let url = assets.appendingPathComponent("detectors").appendingPathComponent(spec).appendingPathComponent("manifest.json")
            if fm.fileExists(atPath: url.path) { return try load(contentsOf: url) }
        }
        if let preset = DetectorPresets.named(spec) { return preset.manifest }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if (1...3).contains(parts.count), knownArchitectures.contains(parts[0]) {
            let variant = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
            let padding = parts.count > 2 && !parts[2].isEmpty ? parts[2] : nil
            var m = DetectorManifest(name: spec, architecture: parts[0], variant: variant, padding: padding,
                                     input: .imagenet(size: 224), crop: .scale(margin: 0),
                                     output: OutputSpec(kind: .sigmoidLogit), source: spec)
            m.input = .imagenet(size: 224)
            return m
        }
        throw DetectionError.unknownSpec(spec, known: DetectorPresets.all.map(\.name))
    }
}

// MARK: - Bundled detectors

/// A detector shipped in `assets/detectors/<name>/manifest.json`.
public struct BundledDetector: Sendable {
    public var name: String
    /// The parsed manifest, or why it could not be read.
    public var manifest: Result<DetectorManifest, DetectionError>

    /// Every bundled detector under `assets/detectors`, by name; an unreadable manifest is listed with its error.
    public static func all(assets: URL) -> [BundledDetector] {
        let dir = assets.appendingPathComponent("detectors")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { name in
            let url = dir.appendingPathComponent(name).appendingPathComponent("manifest.json")
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            do { return BundledDetector(name: name, manifest: .success(try DetectorManifest.load(contentsOf: url))) } catch let e as DetectionError {
                return BundledDetector(name: name, manifest: .failure(e))
            } catch {
                return BundledDetector(name: name, manifest: .failure(.unreadableManifest(source: url.path, reason: "\(error)")))
            }
        }
    }
}
