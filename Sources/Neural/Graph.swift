// Graph: the context models run their forward code in; records a tape when asked and walks it backwards.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif


// MARK: - Variable

/// A tensor flowing through a `Graph`: the value plus, when the graph records, the tape node that made it.
public struct Variable: Sendable {
    /// The computed value.
    public let tensor: Tensor
    /// The tape node that produced this value; −1 for values the tape does not know (constants, inference).
    let node: Int

    init(_ tensor: Tensor, node: Int) {
        self.tensor = tensor
        self.node = node
    }

    /// A constant: a value the tape never differentiates (weights in inference, fixed tables).
    public init(_ tensor: Tensor) { self.init(tensor, node: -1) }

    public var shape: [Int] { tensor.shape }
    public var count: Int { tensor.count }
}

// MARK: - Tape node

/// What one recorded op needs for its backward: its inputs' nodes and a closure that, given d(out) and which
/// inputs want a gradient, returns those inputs' gradients (nil where not wanted).
struct TapeNode {
    var inputs: [Int]
    var backward: ((Tensor, [Bool]) -> [Tensor?])?
}

// MARK: - Graph

/// The context every model's forward code runs in: `g.conv2d(x, weight: w, ...)`.
///
/// With `recording: false` ops only compute (no tape, no kept activations). With `recording: true` each op
/// also records a node, and `backward(from:seed:to:)` returns gradients for any recorded variables: inputs,
/// parameters made with `parameter(_:)`, or intermediate activations such as a layer named with `name(_:_:)`.
///
/// ```swift
/// let g = Graph(recording: true)
/// let logits = model.forward(g.input(image), in: g)      // model calls g.name("layer4", x) on the way
/// let grads = g.backward(from: logits, seed: oneHot, to: [g.activation("layer4")!])
/// ```
public final class Graph {
    /// Whether ops push tape nodes. A graph made with `recording: true, from: layer` starts out not recording and
    /// turns to recording at the activation named `layer` (see `name(_:_:)`).
    public private(set) var isRecording: Bool
    /// Names whose activations are kept in inference mode too (`deepscope model run --activations`), and the
    /// layer recording starts from.
    public let captured: Set<String>
    /// The activation recording starts from, while the graph has not reached it.
    private var recordingFrom: String?

    /// Per-op call counts and CPU seconds (summed over threads), when made with `profiling: true`.
    /// CPU time rather than wall time: on a shared machine it measures this process's work only.
    public private(set) var profile: [String: (calls: Int, seconds: Double)] = [:]
    let isProfiling: Bool

    var nodes: [TapeNode] = []
    private var accumulated: [Int: Tensor] = [:]
    private var activations: [String: Variable] = [:]

    /// - Parameters:
    ///   - recording: push a tape node per op so gradients can be asked for later.
    ///   - layer: with `recording`, record only from the activation of that name on: the ops before it run as
    ///     inference does (folded, fused: as fast as a plain forward) and the activation becomes a leaf, which is
    ///     all a gradient with respect to it needs (GradCAM). The layer is captured, so it is computed exactly.
    ///   - capturing: names (see `name(_:_:)`) whose activations to keep even when not recording.
    ///   - profiling: time every op by kind into `profile`.
    public init(recording: Bool = false, from layer: String? = nil, capturing: Set<String> = [],
                profiling: Bool = false) {
        self.isRecording = recording && layer == nil
        self.recordingFrom = recording ? layer : nil
        self.captured = capturing.union(layer.map { [$0] } ?? [])
        self.isProfiling = profiling
    }

    /// Runs `body`, adding its wall time to `profile[kind]` when profiling.
    @inline(__always)
    func timed<T>(_ kind: @autoclosure () -> String, _ body: () -> T) -> T {
        guard isProfiling else { return body() }
        let start = processCPUSeconds()
        let result = body()
        let seconds = processCPUSeconds() - start
        let key = kind()
        let old = profile[key] ?? (0, 0)
        profile[key] = (old.calls + 1, old.seconds + seconds)
        return result
    }

    // MARK: Leaves

    /// A differentiable leaf (an input image, or anything a gradient will be asked for) when recording.
    public func input(_ tensor: Tensor) -> Variable {
        guard isRecording else { return Variable(tensor, node: -1) }
        nodes.append(TapeNode(inputs: [], backward: nil))
        return Variable(tensor, node: nodes.count - 1)
    }

    /// A trainable parameter: a leaf like `input(_:)`; the separate name keeps model code readable.
    public func parameter(_ tensor: Tensor) -> Variable { input(tensor) }

    /// A value the tape treats as constant (no gradient flows into it).
    public func constant(_ tensor: Tensor) -> Variable { Variable(tensor) }

    // MARK: Named activations

    /// Names an activation so explainers and `--activations` can find it; returns `x` unchanged, except at the
    /// layer a graph records from, where recording starts and `x`'s value comes back as a recorded leaf. Model code
    /// goes on with the returned variable, so gradients reach the layer.
    public func name(_ name: String, _ x: Variable) -> Variable {
        if !isRecording, let from = recordingFrom, from == name {
            isRecording = true
            recordingFrom = nil
            let leaf = input(x.tensor)
            activations[name] = leaf
            return leaf
        }
        if isRecording || captured.contains(name) { activations[name] = x }
        return x
    }

    /// The activation named `name` in this run, if it was recorded or captured.
    public func activation(_ name: String) -> Variable? { activations[name] }

    /// Names of all activations kept in this run.
    public var activationNames: [String] { activations.keys.sorted() }

    // MARK: Recording

    /// Wraps an op's result, pushing a tape node when recording. `backward` is only called on a recorded graph.
    func record(_ value: Tensor, inputs: [Variable], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Variable {
        guard isRecording else { return Variable(value, node: -1) }
        nodes.append(TapeNode(inputs: inputs.map(\.node), backward: backward))
        return Variable(value, node: nodes.count - 1)
    }

    // MARK: Backward

    /// Back-propagates `seed` (d loss / d output; ones when nil) from `output` to `targets`.
    ///
    /// Only nodes on a path from `output` to a target are visited, and only gradients along such paths are
    /// computed. Gradients accumulate across calls until `zeroGradients()`. A target not reachable from
    /// `output` gets zeros.
    /// - Returns: d loss / d target for each target, in order, shaped like the target.
    public func backward(from output: Variable, seed: Tensor? = nil, to targets: [Variable]) -> [Tensor] {
        precondition(isRecording, "Graph.backward: the graph was not recording")
        if let seed { precondition(seed.shape == output.shape, "Graph.backward: seed \(seed.shape) vs output \(output.shape)") }
        let seed = seed ?? Tensor(shape: output.shape, repeating: 1)
        let targetNodes = Set(targets.map(\.node).filter { $0 >= 0 })
        if output.node >= 0 && !targetNodes.isEmpty {
            propagate(from: output.node, seed: seed, to: targetNodes)
        }
        return targets.map { t in
            t.node >= 0 ? (accumulated[t.node] ?? Tensor(shape: t.shape)) : Tensor(shape: t.shape)
        }
    }

    /// Forgets gradients accumulated by earlier `backward` calls.
    public func zeroGradients() { accumulated.removeAll() }

    private func propagate(from outputNode: Int, seed: Tensor, to targetNodes: Set<Int>) {
        // A node needs a gradient when it is a target or feeds one; node ids are already topologically ordered.
        var leadsToTarget = [Bool](repeating: false, count: outputNode + 1)
        for i in 0...outputNode {
            leadsToTarget[i] = targetNodes.contains(i) || nodes[i].inputs.contains { $0 >= 0 && leadsToTarget[$0] }
        }
        var pending: [Int: Tensor] = [outputNode: seed]
        for i in stride(from: outputNode, through: 0, by: -1) {
            guard leadsToTarget[i], let grad = pending.removeValue(forKey: i) else { continue }
            if targetNodes.contains(i) { accumulate(grad, into: i, store: &accumulated) }
            let node = nodes[i]
            guard let backward = node.backward else { continue }
            let wanted = node.inputs.map { $0 >= 0 && leadsToTarget[$0] }
            guard wanted.contains(true) else { continue }
            let inputGrads = backward(grad, wanted)
            for (k, input) in node.inputs.enumerated() where wanted[k] {
                guard let g = inputGrads[k] else { continue }
                accumulate(g, into: input, store: &pending)
            }
        }
    }

    private func accumulate(_ grad: Tensor, into node: Int, store: inout [Int: Tensor]) {
        if var existing = store.removeValue(forKey: node) {
            precondition(existing.shape == grad.shape, "Graph.backward: gradient shape \(grad.shape) vs \(existing.shape)")
            existing.data.withUnsafeMutableBufferPointer { e in
                grad.data.withUnsafeBufferPointer { g in for i in 0..<e.count { e[i] += g[i] } }
            }
            store[node] = existing
        } else {
            store[node] = grad
        }
    }
}

/// CPU seconds used by this process so far, all threads together.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
