// Losses: the papers' training objectives as value + gradient w.r.t. their input (logits, cosines or
// embeddings); the trainer seeds the graph's backward with that gradient. Shapes: N samples, K classes, D dims.
import Foundation
import Neural

/// A loss value and d loss / d input, shaped like the input. Losses are means over the batch.
public struct LossResult: Sendable {
    public var value: Double
    public var gradient: Tensor
}

// MARK: - Binary cross-entropy

/// Binary cross-entropy with logits (PyTorch `binary_cross_entropy_with_logits`, mean): logits N or N×1,
/// targets 0 (real) or 1 (fake).
public func bceWithLogits(_ logits: Tensor, targets: [Float]) -> LossResult {
    let n = logits.count
    precondition(targets.count == n, "bceWithLogits: \(targets.count) targets for \(n) logits")
    var loss = 0.0
    var grad = [Float](repeating: 0, count: n)
    for i in 0..<n {
        let z = Double(logits.data[i]), y = Double(targets[i])
        // max(z,0) − z·y + log(1 + e^−|z|): the stable form that never overflows.
        loss += max(z, 0) - z * y + Foundation.log1p(Foundation.exp(-abs(z)))
        grad[i] = Float((sigmoid(z) - y) / Double(n))
    }
    return LossResult(value: loss / Double(n), gradient: Tensor(shape: logits.shape, data: grad))
}

/// Binary focal loss on logits (Lin et al.): −α_t (1 − p_t)^γ log p_t, mean over the batch.
public func binaryFocal(_ logits: Tensor, targets: [Float], gamma: Double = 2, alpha: Double = 0.25) -> LossResult {
    let n = logits.count
    var loss = 0.0
    var grad = [Float](repeating: 0, count: n)
    for i in 0..<n {
        let z = Double(logits.data[i]), y = Double(targets[i])
        let p = sigmoid(z)
        let pt = y * p + (1 - y) * (1 - p)
        let at = y * alpha + (1 - y) * (1 - alpha)
        let ce = max(z, 0) - z * y + Foundation.log1p(Foundation.exp(-abs(z)))  // −log p_t
        let w = Foundation.pow(1 - pt, gamma)
        loss += at * w * ce
        // d/dz: d ce/dz = p − y; d p_t/dz = (2y − 1) p (1 − p).
        let dpt = (2 * y - 1) * p * (1 - p)
        let dw = gamma > 0 ? -gamma * Foundation.pow(1 - pt, gamma - 1) * dpt : 0
        grad[i] = Float(at * (dw * ce + w * (p - y)) / Double(n))
    }
    return LossResult(value: loss / Double(n), gradient: Tensor(shape: logits.shape, data: grad))
}

// MARK: - Softmax cross-entropy

/// Softmax cross-entropy (PyTorch `cross_entropy`, mean) on N×K logits with integer labels.
public func softmaxCrossEntropy(_ logits: Tensor, labels: [Int]) -> LossResult {
    let n = logits.shape[0], k = logits.count / max(n, 1)
    precondition(labels.count == n, "softmaxCrossEntropy: \(labels.count) labels for \(n) rows")
    var loss = 0.0
    var grad = [Float](repeating: 0, count: n * k)
    for i in 0..<n {
        let row = (0..<k).map { Double(logits.data[i * k + $0]) }
        let p = softmaxRow(row)
        loss -= Foundation.log(max(p[labels[i]], 1e-300))
        for j in 0..<k { grad[i * k + j] = Float((p[j] - (j == labels[i] ? 1 : 0)) / Double(n)) }
    }
    return LossResult(value: loss / Double(n), gradient: Tensor(shape: logits.shape, data: grad))
}

// MARK: - ArcFace

/// ArcFace's additive angular margin on N×K cosines (normalised embedding · normalised class weight):
/// the target logit becomes s·cos(θ + m_y), the others s·cos θ, then softmax cross-entropy.
///
/// `margins` gives m per class: one value for ArcFace; ArcFaceMod gives the real class a larger margin
/// than the fake classes (the real class must be compact, fakes may spread).
public func arcFace(_ cosines: Tensor, labels: [Int], scale s: Double = 30, margins: [Double]) -> LossResult {
    let n = cosines.shape[0], k = cosines.count / max(n, 1)
    precondition(margins.count == 1 || margins.count == k, "arcFace: \(margins.count) margins for \(k) classes")
    var logits = [Double](repeating: 0, count: n * k)
    var dLogitDCos = [Double](repeating: s, count: n * k)
    for i in 0..<n {
        for j in 0..<k {
            let c = min(max(Double(cosines.data[i * k + j]), -1 + 1e-7), 1 - 1e-7)
            if j == labels[i] {
                let m = margins.count == 1 ? margins[0] : margins[j]
                let sinT = (1 - c * c).squareRoot()
                logits[i * k + j] = s * (c * Foundation.cos(m) - sinT * Foundation.sin(m))
                // d/dc [c cos m − √(1−c²) sin m] = cos m + c sin m / √(1−c²).
                dLogitDCos[i * k + j] = s * (Foundation.cos(m) + c * Foundation.sin(m) / sinT)
            } else {
                logits[i * k + j] = s * c
            }
        }
    }
    let ce = softmaxCrossEntropy(Tensor(shape: cosines.shape, data: logits.map(Float.init)), labels: labels)
    var grad = ce.gradient
    for i in grad.data.indices { grad.data[i] = Float(Double(grad.data[i]) * dLogitDCos[i]) }
    return LossResult(value: ce.value, gradient: grad)
}

// MARK: - Triplet with online semi-hard mining

/// Triplet loss max(0, d(a,p) − d(a,n) + margin) on N×D embeddings with Euclidean distances, mined online
/// in the batch: for every anchor–positive pair the negative is the closest one still farther than the
/// positive (semi-hard); when none is, the farthest negative (FaceNet's rule as TensorFlow Addons implements
/// it). Mean over anchor–positive pairs.
public func semiHardTriplet(_ embeddings: Tensor, labels: [Int], margin: Double = 0.2) -> LossResult {
    let n = embeddings.shape[0], d = embeddings.count / max(n, 1)
    let e = embeddings.data.map(Double.init)
    var dist = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n where j != i {
            var s = 0.0
            for t in 0..<d { let v = e[i * d + t] - e[j * d + t]; s += v * v }
            dist[i * n + j] = s.squareRoot()
        }
    }
    var grad = [Double](repeating: 0, count: n * d)
    var total = 0.0, pairs = 0
    // Adds ±(x_i − x_j)/‖x_i − x_j‖ to both ends of one distance's gradient.
    func push(_ i: Int, _ j: Int, _ w: Double) {
        let r = max(dist[i * n + j], 1e-12)
        for t in 0..<d {
            let g = w * (e[i * d + t] - e[j * d + t]) / r
            grad[i * d + t] += g
            grad[j * d + t] -= g
        }
    }
    var active: [(Int, Int, Int)] = []
    for a in 0..<n {
        for p in 0..<n where p != a && labels[p] == labels[a] {
            pairs += 1
            let dap = dist[a * n + p]
            var chosen = -1, best = Double.infinity, farthest = -1, far = -Double.infinity
            for q in 0..<n where labels[q] != labels[a] {
                let daq = dist[a * n + q]
                if daq > dap && daq < best { best = daq; chosen = q }
                if daq > far { far = daq; farthest = q }
            }
            let neg = chosen >= 0 ? chosen : farthest
            guard neg >= 0 else { continue }
            let l = dap - dist[a * n + neg] + margin
            if l > 0 { total += l; active.append((a, p, neg)) }
        }
    }
    let scale = 1 / Double(max(pairs, 1))
    for (a, p, q) in active { push(a, p, scale); push(a, q, -scale) }
    return LossResult(value: total * scale, gradient: Tensor(shape: embeddings.shape, data: grad.map(Float.init)))
}

// MARK: - Helpers

@inline(__always) func sigmoid(_ z: Double) -> Double { z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z)) }

func softmaxRow(_ row: [Double]) -> [Double] {
    let m = row.max() ?? 0
    let e = row.map { Foundation.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}
