// Models: detector and face-network architectures built from Neural, bound strictly to PyTorch key names.
import Foundation
import Neural

/// A network deepscope can run: built from a checkpoint's tensors, run inside a `Graph`.
///
/// Each architecture names its layers with PyTorch's module paths (`g.name("efficientnet._conv_head", x)`)
/// so GradCAM and `--activations` address layers exactly as a PyTorch user would.
public protocol Network: AnyObject, Sendable {
    /// The checkpoint keys this network binds, in PyTorch's `state_dict()` order.
    var parameterKeys: [String] { get }
    /// Runs the forward pass on an N×3×H×W input and returns the output (logits or head input).
    func forward(_ x: Variable, in g: Graph) -> Variable
    /// Module paths that `forward` names, in execution order (what `g.name` receives).
    var layerNames: [String] { get }
}

/// Errors of binding a checkpoint to an architecture.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// Strict binding failed; every problem is listed so the user sees the whole mismatch at once.
    case binding(architecture: String, missing: [String], unexpected: [String], misshapen: [String])
    case unsupported(String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .binding(let arch, let missing, let unexpected, let misshapen):
            var parts: [String] = []
            func list(_ keys: [String]) -> String {
                keys.prefix(6).joined(separator: ", ") + (keys.count > 6 ? " … (\(keys.count) in all)" : "")
            }
            if !missing.isEmpty { parts.append("missing keys: \(list(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected keys: \(list(unexpected))") }
            if !misshapen.isEmpty { parts.append("wrong shapes: \(list(misshapen))") }
            return "the checkpoint does not fit \(arch): " + parts.joined(separator: "; ")
        case .unsupported(let why): return "unsupported model: \(why)"
        case .invalidConfiguration(let why): return "invalid model configuration: \(why)"
        }
    }
}

/// Strict binding of named checkpoint tensors to an architecture's parameters.
///
/// Architectures ask for each key with its expected shape (`take`); `finish()` then throws one error listing
/// every missing, unexpected and mis-shaped key. Nothing is matched by reflection or by position.
public final class StateDictBinder {
    private let architecture: String
    private var tensors: [String: Tensor]
    private var order: [String]
    private var used: Set<String> = []
    private var missing: [String] = []
    private var misshapen: [String] = []
    /// Keys a checkpoint may carry that no architecture reads (BatchNorm's step counter).
    private let ignorable: (String) -> Bool

    public init(_ pairs: [(String, Tensor)], architecture: String,
                ignoring ignorable: @escaping (String) -> Bool = { $0.hasSuffix("num_batches_tracked") }) {
        self.architecture = architecture
        var dict: [String: Tensor] = [:]
        for (k, v) in pairs { dict[k] = v }
        tensors = dict
        order = pairs.map(\.0)
        self.ignorable = ignorable
    }

    /// The tensor stored under `key`, which must have `shape` (a placeholder of that shape when it is absent or
    /// mis-shaped, so that binding carries on and reports every problem at the end).
    public func take(_ key: String, shape: [Int]) -> Tensor {
        used.insert(key)
        guard let t = tensors[key] else {
            missing.append(key)
            return Tensor(shape: shape)
        }
        guard t.shape == shape else {
            // PyTorch stores some 1×1 linear layers as 2-D and some as 4-D; an equal element count with trailing
            // unit dimensions is the same parameter.
            if t.count == shape.reduce(1, *), t.shape.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) {
                return Tensor(shape: shape, data: t.data)
            }
            misshapen.append("\(key) \(t.shape) (expected \(shape))")
            return Tensor(shape: shape)
        }
        return t
    }

    /// Whether the checkpoint has `key` (for optional parameters such as a conv bias).
    public func has(_ key: String) -> Bool { tensors[key] != nil }

    /// Throws if any key was missing, mis-shaped or left unused.
    public func finish() throws {
        let unexpected = order.filter { !used.contains($0) && !ignorable($0) }
        guard missing.isEmpty && misshapen.isEmpty && unexpected.isEmpty else {
            throw ModelError.binding(architecture: architecture, missing: missing, unexpected: unexpected,
                                     misshapen: misshapen)
        }
    }
}

// MARK: - Batched inference

/// The network's output on an N-image batch, computed image by image with one image per engine worker, each
/// single-threaded. On two cores this beats one batched pass whose every op is split in two: EfficientNet's many
/// small, memory-bound ops between sgemm calls gain little from a second thread, whole images do. Each image's
/// output is exactly what a batch of one gives. With one thread the images run one after another, not as one
/// batched pass: a layer's activations for one image mostly stay in cache until the next layer reads them, for
/// eight they do not (B4 batch 8 on one thread: 49.5 → 42.4 ms per image). Inference only: nothing is recorded or
/// captured.
///
/// ```swift
/// let logits = forwardImagewise(network, input)   // input N×3×H×W → output N×…
/// ```
public func forwardImagewise(_ network: Network, _ input: Tensor) -> Tensor {
    let n = input.shape.first ?? 0
    guard n > 1 else {
        let g = Graph()
        return network.forward(g.input(input), in: g).tensor
    }
    let per = input.count / n, itemShape = [1] + input.shape.dropFirst()
    let lock = NSLock()
    nonisolated(unsafe) var outputs = [Tensor?](repeating: nil, count: n)
    Engine.forEachItemSingleThreaded(n) { i in
        let item = Tensor(shape: itemShape, data: Array(input.data[(i * per)..<((i + 1) * per)]))
        let g = Graph()
        let out = network.forward(g.input(item), in: g).tensor
        lock.withLock { outputs[i] = out }
    }
    let parts = outputs.map { $0! }
    let shape = [n] + parts[0].shape.dropFirst()
    return Tensor(shape: shape, data: parts.flatMap(\.data))
}

