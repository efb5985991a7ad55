// CAM: GradCAM, GradCAM++ and LayerCAM on any named layer, computed exactly as pytorch-grad-cam defines them.
import Foundation
import Models
import Neural

// MARK: - Methods

/// The gradient-weighted class-activation methods of pytorch-grad-cam.
public enum CAMMethod: String, Sendable, CaseIterable {
    /// α_k = spatial mean of ∂y/∂A_k; map = ReLU(Σ_k α_k A_k).
    case gradcam
    /// GradCAM++ (Chattopadhyay et al., eq. 19 as pytorch-grad-cam writes it): α_k = Σ_ij ReLU(G)·a_ij with
    /// a_ij = G² / (2G² + Σ_ij A · G³ + 1e-6), zero where G = 0.
    case gradcampp
    /// LayerCAM (Jiang et al.): map = ReLU(Σ_k ReLU(G_k) ⊙ A_k), per-position weights.
    case layercam
}

// MARK: - Layer-resolution maps

/// One CAM run on a batch: what `model run --cam` writes and what the explainer scales.
public struct CAMResult: Sendable {
    /// The network output, N×K.
    public var logits: Tensor
    /// The explained layer's activation A, N×C×h×w.
    public var activation: Tensor
    /// ∂y/∂A, N×C×h×w.
    public var gradient: Tensor
    /// The ReLU'd map at the layer's resolution, N×h×w, not normalised.
    public var map: Tensor
}

/// The ReLU'd CAM of each batch item, N×h×w, from a layer's activation and the score's gradient there.
///
/// Sums run in Double: a B4 head has 1792 channels, and the float32 rounding of a long sum shows up after the
/// min-max scaling of a map with a small range.
public func camMap(_ method: CAMMethod, activation a: Tensor, gradient d: Tensor) -> Tensor {
    precondition(a.rank == 4 && a.shape == d.shape, "camMap: activation \(a.shape) vs gradient \(d.shape)")
    let (n, c, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    let hw = h * w
    var cam = [Double](repeating: 0, count: n * hw)
    a.data.withUnsafeBufferPointer { A in
        d.data.withUnsafeBufferPointer { G in
            for i in 0..<n {
                let out = i * hw
                for ch in 0..<c {
                    let base = (i * c + ch) * hw
                    switch method {
                    case .gradcam:
                        var alpha = 0.0
                        for p in 0..<hw { alpha += Double(G[base + p]) }
                        alpha /= Double(hw)
                        for p in 0..<hw { cam[out + p] += alpha * Double(A[base + p]) }
                    case .gradcampp:
                        var sumA = 0.0
                        for p in 0..<hw { sumA += Double(A[base + p]) }
                        var alpha = 0.0
                        for p in 0..<hw {
                            let gr = Double(G[base + p])
                            guard gr > 0 else { continue }  // ReLU(G)·a_ij vanishes where G ≤ 0
                            let g2 = gr * gr
                            alpha += gr * g2 / (2 * g2 + sumA * g2 * gr + 1e-6)
                        }
                        for p in 0..<hw { cam[out + p] += alpha * Double(A[base + p]) }
                    case .layercam:
                        for p in 0..<hw { cam[out + p] += max(Double(G[base + p]), 0) * Double(A[base + p]) }
                    }
                }
            }
        }
    }
    return Tensor(shape: [n, h, w], data: cam.map { Float(max($0, 0)) })
}

/// Runs forward and backward to `layer` for `target`, and the `method`'s map at the layer's resolution.
///
/// - Throws: `ExplainError.unknownLayer` when the network names no such layer.
public func runCAM(_ method: CAMMethod, network: Network, input: Tensor, layer: String, target: ExplainTarget,
                   capturing: Set<String> = []) throws -> (graph: Graph, result: CAMResult) {
    // Recording from the layer on: the trunk before it runs as plain inference does (the gradient is wanted at
    // the layer only), the rest records.
    let g = Graph(recording: true, from: layer, capturing: capturing)
    let logits = network.forward(g.input(input), in: g)
    guard let a = g.activation(layer), a.shape.count == 4 else {
        throw ExplainError.unknownLayer(layer, known: network.layerNames)
    }
    let score = target.score(logits, g)
    let grad = g.backward(from: score, to: [a])[0]
    let map = camMap(method, activation: a.tensor, gradient: grad)
    return (g, CAMResult(logits: logits.tensor, activation: a.tensor, gradient: grad, map: map))
}

/// `runCAM`'s result for an N-image batch, computed image by image: one recorded graph per image, one image per
/// engine worker (each single-threaded), as `forwardImagewise` runs inference. A recorded pass keeps every
/// activation of its batch for the backward; image by image, that stays one image's worth per worker (Xception
/// at 299, batch 8: 2.3–2.8× the forward's time as one batched pass). Each image's result is what it gets alone.
public func camImagewise(_ method: CAMMethod, network: Network, input: Tensor, layer: String,
                         target: ExplainTarget) throws -> CAMResult {
    let n = input.shape.first ?? 0
    guard n > 1 else { return try runCAM(method, network: network, input: input, layer: layer, target: target).result }
    let per = input.count / n, itemShape = [1] + input.shape.dropFirst()
    let lock = NSLock()
    nonisolated(unsafe) var results = [Result<CAMResult, Error>?](repeating: nil, count: n)
    Engine.forEachItemSingleThreaded(n) { i in
        let item = Tensor(shape: itemShape, data: Array(input.data[(i * per)..<((i + 1) * per)]))
        let result = Result { try runCAM(method, network: network, input: item, layer: layer, target: target).result }
        lock.withLock { results[i] = result }
    }
    let parts = try results.map { try $0!.get() }
    func stacked(_ part: (CAMResult) -> Tensor) -> Tensor {
        let first = part(parts[0])
        return Tensor(shape: [n] + first.shape.dropFirst(), data: parts.flatMap { part($0).data })
    }
    return CAMResult(logits: stacked(\.logits), activation: stacked(\.activation), gradient: stacked(\.gradient),
                     map: stacked(\.map))
}

// MARK: - Scaling to the input

/// pytorch-grad-cam's `scale_cam_image` applied twice around the resize: each map minus its minimum, divided
/// by (1e-7 + its maximum), bilinearly resized (cv2 INTER_LINEAR) to `height`×`width`, then scaled the same way
/// again (what `aggregate_multi_layers` does for a single layer).
public func scaledToInput(_ maps: Tensor, height: Int, width: Int) -> [HeatMap] {
    let (n, h, w) = (maps.shape[0], maps.shape[1], maps.shape[2])
    var first = maps
    for i in 0..<n { minMaxScale(&first.data, i * h * w..<(i + 1) * h * w) }
    let up: Tensor
    if h == height && w == width {
        up = first
    } else {
        up = Graph().resize(Variable(first.reshaped([n, 1, h, w])), to: Size2D(height, width)).tensor
    }
    var data = up.data
    for i in 0..<n { minMaxScale(&data, i * height * width..<(i + 1) * height * width) }
    return (0..<n).map { i in
        HeatMap(width: width, height: height, values: Array(data[(i * height * width)..<((i + 1) * height * width)]))
    }
}

/// In place: x − min, then / (1e-7 + max), in float32 as numpy does it.
func minMaxScale(_ x: inout [Float], _ range: Range<Int>) {
    guard !range.isEmpty else { return }
    var lo = Float.infinity
    for k in range { lo = min(lo, x[k]) }
    var hi = -Float.infinity
    for k in range { x[k] -= lo; hi = max(hi, x[k]) }
    let scale = 1e-7 + hi
    for k in range { x[k] /= scale }
}

// MARK: - Explainer

/// GradCAM, GradCAM++ or LayerCAM of one layer of a network, as an `Explainer`: maps in [0, 1] at the input
/// size, equal to pytorch-grad-cam's output for the same model, layer, target and input.
///
/// ```swift
/// let cam = CAMExplainer(.gradcam, network: net, layer: "efficientnet._conv_head", target: .fake)
/// let maps = try cam.explain(clip, cancellation: Cancellation()) { _ in }
/// ```
public struct CAMExplainer: Explainer {
    public let method: CAMMethod
    public let network: Network
    public let layer: String
    public let target: ExplainTarget
    /// Crops per forward/backward pass: bounds memory (a recorded B4 pass at 224 keeps ~200 MB per crop).
    public var batchSize: Int

    public init(_ method: CAMMethod, network: Network, layer: String, target: ExplainTarget = .predicted,
                batchSize: Int = 4) {
        self.method = method
        self.network = network
        self.layer = layer
        self.target = target
        self.batchSize = max(1, batchSize)
    }

    public var name: String { method.rawValue }
    public var cost: ExplainerCost { .instant }

    public func explain(_ clip: FaceClip, cancellation: Cancellation,
                        progress: @Sendable (Double) -> Void) throws -> [HeatMap] {
        try forEachBatch(of: clip.input, size: batchSize, cancellation: cancellation, progress: progress) { x in
            let result = try camImagewise(method, network: network, input: x, layer: layer, target: target)
            return scaledToInput(result.map, height: x.shape[2], width: x.shape[3])
        }
    }
}

/// Splits an N×… input into batches along axis 0, checking `cancellation` before each and reporting progress.
func forEachBatch(of input: Tensor, size: Int, cancellation: Cancellation, progress: @Sendable (Double) -> Void,
                  _ body: (Tensor) throws -> [HeatMap]) throws -> [HeatMap] {
    let n = input.shape[0], per = input.count / max(n, 1)
    var maps: [HeatMap] = []
    var start = 0
    while start < n {
        if cancellation.isCancelled { throw ExplainError.cancelled }
        let end = min(n, start + size)
        let batch = Tensor(shape: [end - start] + input.shape.dropFirst(),
                           data: Array(input.data[(start * per)..<(end * per)]))
        maps += try body(batch)
        start = end
        progress(Double(end) / Double(n))
    }
    return maps
}
