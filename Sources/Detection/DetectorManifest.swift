import Faces
import Foundation

// MARK: - Manifest

/// How a face crop becomes the network's input: x = (pixel / scale − mean) / std, per channel, in `order`.
public struct InputSpec: Sendable, Equatable {
    /// Side of the square input, in pixels.
    public var size: Int
    /// Channel order the network expects (CADDM feeds BGR).
    public var bgr: Bool
    /// Pixel values are divided by this first (255 for [0, 1] inputs, 1 for raw 0–255).
    public var scale: Float
    public var mean: [Float]
    public var std: [Float]
    /// Trailing rows and columns dropped after preprocessing (the network sees size − trim pixels).
    ///
    /// DeepfakeBench's EfficientNet-B4 replaces efficientnet_pytorch's stem by an unpadded `nn.Conv2d(3, 48, 3, 2)`.
    /// The SAME-padded stem pads only the bottom and right (0, 1, 0, 1), so on an input without its last row and
    /// column it computes exactly what the unpadded stem computes on the whole crop: trim 1 reproduces it.
    public var trim = 0

    public init(size: Int, bgr: Bool = false, scale: Float = 255, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) {
        self.size = size; self.bgr = bgr; self.scale = scale; self.mean = mean; self.std = std
    }

    /// ImageNet statistics, as torchvision's `Normalize` uses them.
    public static func imagenet(size: Int) -> InputSpec {
        InputSpec(size: size, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    }

    /// mean = std = 0.5: inputs in [−1, 1] (FaceForensics++, DeepfakeBench).
    public static func halves(size: Int) -> InputSpec { InputSpec(size: size, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]) }
}

/// How a detector's face is cut out of the frame: one of the Faces module's policies, or a box-relative crop.
public enum DetectorCrop: Sendable, Equatable {
    case face(CropPolicy)
    /// SBI's `crop_face(..., crop_by_bbox=True, phase='test')`: the box grown by `margin`·width left and right and
    /// `margin`·height above and below (Python `int()` truncation, +1 on the far edges), clamped to the frame, then
    /// squashed to the input size (cv2.resize, aspect not kept).
    case box(margin: Double)
    /// DeepfakeBench's `img_align_crop(scale=1.3)`: the ArcFace 5-point alignment with the template shrunk by
    /// `scale` about the output's centre (a wider field of view), black outside the frame.
    case aligned(scale: Double)

    public static func scale(margin: Double) -> DetectorCrop { .face(.scale(margin: margin)) }
    public static func margin(factor: Double) -> DetectorCrop { .face(.margin(factor: factor)) }
    public static var align5: DetectorCrop { .face(.align5) }

    /// A short human-readable form, e.g. `margin(×1.3)`.
    public var name: String {
        switch self {
        case .face(.scale(let margin)): return "scale(margin \(margin))"
        case .face(.margin(let factor)): return "margin(×\(factor))"
        case .face(.align5): return "align5"
        case .box(let margin): return "box(margin \(margin))"
        case .aligned(let scale): return "align5(scale \(scale))"
        }
    }
}

/// The classifier an `embedding` head applies to the network's embedding.
public enum EmbeddingClassifier: String, Sendable, Equatable, CaseIterable {
    /// k nearest neighbours in a labelled gallery (Euclidean distance between L2-normalised embeddings).
    case knn
    /// Logistic regression: σ(w·e + b) for one row, softmax(W·e + b) for one row per class.
    case logistic
    /// Linear SVM: decision value w·e + b (positive = fake), squashed by σ for a probability.
    case linearSVM = "linear-svm"
}

/// What the network's output means (the manifest's `output`).
public enum HeadKind: Sendable, Equatable {
    /// One logit z; p_fake = σ(z).
    case sigmoidLogit
    /// One logit per named class; p_fake = 1 − p_real.
    case softmax
    /// ArcFace-style: s · cos(embedding, class weight) per class, then softmax.
    case cosine(scale: Float)
    /// An embedding classified by a stored classifier.
    case embedding(EmbeddingClassifier, k: Int)

    /// The manifest spelling of the kind.
    public var name: String {
        switch self {
        case .sigmoidLogit: return "sigmoid-logit"
        case .softmax: return "softmax"
        case .cosine: return "cosine"
        case .embedding(let c, _): return "embedding/\(c.rawValue)"
        }
    }
}

/// The head of a detector: its kind, the class names and (for `cosine` and `embedding`) the file holding its
/// parameters.
public struct OutputSpec: Sendable, Equatable {
    public var kind: HeadKind
    /// Class names in output order; one of them is `real` (the other classes are kinds of fake).
    public var classes: [String]
    /// safetensors with the head's parameters: `weight` (cosine, logistic, linear-svm), `bias`, or `gallery` and
    /// `labels` (knn, labels as class indices).
    public var parameters: URL?

    public init(kind: HeadKind, classes: [String] = ["real", "fake"], parameters: URL? = nil) {
        self.kind = kind; self.classes = classes; self.parameters = parameters
    }

    /// Index of the `real` class.
    public var realIndex: Int { classes.firstIndex(of: "real") ?? 0 }
}

/// A checkpoint written by a training wrapper whose classifier sits outside the backbone.
public enum CheckpointWrapper: String, Sendable, Equatable {
    /// icpr2020dfdc `SiameseTuning`: the backbone under `feat_ext.` and `classifier` = BatchNorm1d + Linear over
    /// the pooled features. Both are affine in eval mode, so they fold exactly into the backbone's own linear head.
    case siameseTuning = "siamese-tuning"
}

/// A detector manifest (DESIGN.md, schema 1): architecture, weights, preprocessing, crop and head.
public struct DetectorManifest: Sendable, Equatable {
    public var schema = 1
    public var name: String
    public var architecture: String
    public var variant: String?
    public var padding: String?
    public var weights: URL?
    /// Only checkpoint keys starting with it are bound, with it removed.
    public var keyPrefix = ""
    /// Prefix renames applied to checkpoint keys before binding (`last_layer.` → `classifier.`).
    public var keyRenames: [String: String] = [:]
    public var wrapper: CheckpointWrapper?
    public var input: InputSpec
    public var crop: DetectorCrop
    public var output: OutputSpec
    public var gradcamLayer: String?
    public var attentionLayer: String?
    /// The key of the final linear layer's weight after renames (presets: checks the class count before running).
    var headKey: String?
    /// Where the manifest came from (a path, a preset name), for messages.
    public var source: String

    public init(name: String, architecture: String, variant: String? = nil, padding: String? = nil,
                input: InputSpec, crop: DetectorCrop, output: OutputSpec, source: String) {
        self.name = name; self.architecture = architecture; self.variant = variant; self.padding = padding
        self.input = input; self.crop = crop; self.output = output; self.source = source
    }
}

// MARK: - Parsing

extension DetectorManifest {
    /// Reads and validates a manifest file; relative paths in it are relative to its folder.
    public static func load(contentsOf url: URL) throws -> DetectorManifest {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DetectionError.unreadableManifest(source: url.path, reason: "cannot read the file")
        }
        return try parse(data, source: url.path, directory: url.deletingLastPathComponent())
    }

    /// Parses and validates manifest JSON.
    ///
    /// - Parameters:
    ///   - source: names the manifest in error messages.
    ///   - directory: the folder relative `weights` and `output.parameters` paths are resolved against.
    public static func parse(_ data: Data, source: String, directory: URL) throws -> DetectorManifest {
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw DetectionError.unreadableManifest(source: source, reason: "not a JSON object")
        }
        let r = FieldReader(source: source, directory: directory)
        let schema = try r.int(root, "schema", in: "", default: 1)
        guard schema == 1 else { throw r.fail("schema", "must be 1 (this deepscope reads schema 1), got \(schema ?? 1)") }
        let architecture = try r.string(root, "architecture", in: "")
        guard let architecture, !architecture.isEmpty else { throw r.fail("architecture", "is required (a string such as \"efficientnet\")") }
        var layout = try r.string(root, "layout", in: "")
        var variant = try r.string(root, "variant", in: "")
        var padding = try r.string(root, "padding", in: "")
        // DESIGN.md spells the Xception key layout `layout`; the model factory takes it as the variant (the ResNet
        // layout as the padding), so the manifest keeps the user's words and the factory its own.
        if let l = layout {
            if architecture == "xception" { variant = l } else if architecture == "resnet" { padding = l }
            layout = nil
        }
        var m = DetectorManifest(name: try r.string(root, "name", in: "") ?? architecture, architecture: architecture,
                                 variant: variant, padding: padding, input: InputSpec(size: 224),
                                 crop: .scale(margin: 0), output: OutputSpec(kind: .sigmoidLogit), source: source)
        m.weights = try r.path(root, "weights", in: "")
        m.keyPrefix = try r.string(root, "keyPrefix", in: "") ?? ""
        if let renames = root["keyRenames"] {
            guard let dict = renames as? [String: String] else { throw r.fail("keyRenames", "must be an object of strings") }
            m.keyRenames = dict
        }
        if let w = try r.string(root, "wrapper", in: "") {
            guard let wrapper = CheckpointWrapper(rawValue: w) else { throw r.fail("wrapper", "must be \"siamese-tuning\", got \"\(w)\"") }
            m.wrapper = wrapper
        }
        m.input = try parseInput(root, r)
        m.crop = try parseCrop(root, r)
        m.output = try parseOutput(root, r)
        if let explain = try r.object(root, "explain", in: "") {
            m.gradcamLayer = try r.string(explain, "gradcamLayer", in: "explain.")
            m.attentionLayer = try r.string(explain, "attention", in: "explain.")
        }
        return m
    }

    private static func parseInput(_ root: [String: Any], _ r: FieldReader) throws -> InputSpec {
        guard let input = try r.object(root, "input", in: "") else { throw r.fail("input", "is required (an object with 'size')") }
        guard let size = try r.int(input, "size", in: "input.", default: nil), size > 0, size <= 4096 else {
            throw r.fail("input.size", "must be a positive integer (at most 4096)")
        }
        var spec = InputSpec(size: size)
        let order = try r.string(input, "order", in: "input.") ?? "RGB"
        guard order == "RGB" || order == "BGR" else { throw r.fail("input.order", "must be \"RGB\" or \"BGR\", got \"\(order)\"") }
        spec.bgr = order == "BGR"
        spec.scale = try r.float(input, "scale", in: "input.") ?? 255
        guard spec.scale > 0 else { throw r.fail("input.scale", "must be positive") }
        spec.mean = try r.floats3(input, "mean", in: "input.") ?? [0, 0, 0]
        spec.std = try r.floats3(input, "std", in: "input.") ?? [1, 1, 1]
        guard spec.std.allSatisfy({ $0 > 0 }) else { throw r.fail("input.std", "must hold three positive numbers") }
        spec.trim = try r.int(input, "trim", in: "input.", default: 0) ?? 0
        guard spec.trim >= 0, spec.trim < size else { throw r.fail("input.trim", "must be an integer in 0..<input.size") }
        return spec
    }

    private static func parseCrop(_ root: [String: Any], _ r: FieldReader) throws -> DetectorCrop {
        guard let crop = try r.object(root, "crop", in: "") else { return .scale(margin: 0) }
        let policy = try r.string(crop, "policy", in: "crop.") ?? "scale"
        switch policy {
        case "scale":
            let margin = try r.double(crop, "margin", in: "crop.") ?? 0
            guard margin >= 0, margin < 10 else { throw r.fail("crop.margin", "must be in [0, 10)") }
            return .scale(margin: margin)
        case "margin":
            let factor = try r.double(crop, "factor", in: "crop.") ?? 1.3
            guard factor > 0, factor < 10 else { throw r.fail("crop.factor", "must be in (0, 10)") }
            return .margin(factor: factor)
        case "align5":
            let scale = try r.double(crop, "scale", in: "crop.") ?? 1
            guard scale >= 1, scale < 10 else { throw r.fail("crop.scale", "must be in [1, 10)") }
            return scale == 1 ? .align5 : .aligned(scale: scale)
        case "box":
            let margin = try r.double(crop, "margin", in: "crop.") ?? 0.125
            guard margin >= 0, margin < 10 else { throw r.fail("crop.margin", "must be in [0, 10)") }
            return .box(margin: margin)
        default:
            throw r.fail("crop.policy", "must be \"scale\", \"margin\", \"align5\" or \"box\", got \"\(policy)\"")
        }
    }

    private static func parseOutput(_ root: [String: Any], _ r: FieldReader) throws -> OutputSpec {
        guard let output = try r.object(root, "output", in: "") else { return OutputSpec(kind: .sigmoidLogit) }
        let kindName = try r.string(output, "kind", in: "output.") ?? "sigmoid-logit"
        var classes = ["real", "fake"]
        if let raw = output["classes"] {
            guard let list = raw as? [String], list.count >= 2, Set(list).count == list.count else {
                throw r.fail("output.classes", "must be a list of at least two distinct names")
            }
            classes = list
        }
        guard classes.contains("real") else { throw r.fail("output.classes", "must include \"real\"") }
        let kind: HeadKind
        switch kindName {
        case "sigmoid-logit":
            guard classes.count == 2 else { throw r.fail("output.classes", "must name two classes for sigmoid-logit") }
            kind = .sigmoidLogit
        case "softmax":
            kind = .softmax
        case "cosine":
            let s = try r.float(output, "scale", in: "output.") ?? 30
            guard s > 0 else { throw r.fail("output.scale", "must be positive") }
            kind = .cosine(scale: s)
        case "embedding":
            let name = try r.string(output, "classifier", in: "output.") ?? ""
            guard let c = EmbeddingClassifier(rawValue: name) else {
                throw r.fail("output.classifier", "must be \"knn\", \"logistic\" or \"linear-svm\" for an embedding head")
            }
            let k = try r.int(output, "k", in: "output.", default: 5) ?? 5
            guard k >= 1 else { throw r.fail("output.k", "must be a positive integer") }
            kind = .embedding(c, k: k)
        default:
            throw r.fail("output.kind", "must be sigmoid-logit, softmax, cosine or embedding, got \"\(kindName)\"")
        }
        let parameters = try r.path(output, "parameters", in: "output.")
        switch kind {
        case .cosine, .embedding:
            guard parameters != nil else { throw r.fail("output.parameters", "is required for a \(kindName) head (a safetensors file)") }
        default: break
        }
        return OutputSpec(kind: kind, classes: classes, parameters: parameters)
    }
}

/// Typed field access with errors that name the field.
private struct FieldReader {
    let source: String
    let directory: URL

    func fail(_ field: String, _ reason: String) -> DetectionError { .manifest(source: source, field: field, reason: reason) }

    func string(_ o: [String: Any], _ key: String, in path: String) throws -> String? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw fail(path + key, "must be a string") }
        return s
    }

    func object(_ o: [String: Any], _ key: String, in path: String) throws -> [String: Any]? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        guard let d = v as? [String: Any] else { throw fail(path + key, "must be an object") }
        return d
    }

    /// JSON numbers arrive as NSNumber.
    private func number(_ o: [String: Any], _ key: String, in path: String, what: String) throws -> NSNumber? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !(v is String) else { throw fail(path + key, "must be \(what)") }
        return n
    }

    func int(_ o: [String: Any], _ key: String, in path: String, default value: Int?) throws -> Int? {
        guard let n = try number(o, key, in: path, what: "a positive integer") else { return value }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 1e9 else { throw fail(path + key, "must be a positive integer") }
        return Int(d)
    }

    func double(_ o: [String: Any], _ key: String, in path: String) throws -> Double? {
        guard let n = try number(o, key, in: path, what: "a number") else { return nil }
        guard n.doubleValue.isFinite else { throw fail(path + key, "must be a finite number") }
        return n.doubleValue
    }

    func float(_ o: [String: Any], _ key: String, in path: String) throws -> Float? {
        try double(o, key, in: path).map(Float.init)
    }

    func floats3(_ o: [String: Any], _ key: String, in path: String) throws -> [Float]? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        guard let list = v as? [NSNumber], list.count == 3, list.allSatisfy({ $0.doubleValue.isFinite }) else {
            throw fail(path + key, "must be a list of three numbers")
        }
        return list.map { $0.floatValue }
    }

    /// A relative path is relative to the manifest, so a detector folder can move as a whole.
    func path(_ o: [String: Any], _ key: String, in path: String) throws -> URL? {
        guard let s = try string(o, key, in: path) else { return nil }
        guard !s.isEmpty else { throw fail(path + key, "must not be empty") }
        return s.hasPrefix("/") ? URL(fileURLWithPath: s) : directory.appendingPathComponent(s)
    }
}
