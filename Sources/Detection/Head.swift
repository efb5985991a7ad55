import Foundation
import Neural
import Weights

// MARK: - Head

/// Turns a network's raw output into fake probabilities, per DESIGN.md's definition for each head kind.
struct Head: Sendable {
    let spec: OutputSpec
    let detector: String
    /// cosine / logistic / linear-svm: K×D class weights (K = 1 for a binary logistic or SVM).
    let weight: Tensor?
    let bias: Tensor?
    /// knn: M×D gallery embeddings, L2-normalised at load, and their class indices.
    let gallery: Tensor?
    let labels: [Int]

    init(_ spec: OutputSpec, detector: String) throws {
        self.spec = spec
        self.detector = detector
        guard let url = spec.parameters else {
            weight = nil; bias = nil; gallery = nil; labels = []
            return
        }
        let file: TensorFile
        do { file = try TensorFile.load(contentsOf: url) } catch {
            throw DetectionError.head(detector: detector, reason: "cannot read \(url.path): \(error)")
        }
        func fail(_ why: String) -> DetectionError { .head(detector: detector, reason: "\(url.lastPathComponent): \(why)") }
        switch spec.kind {
        case .embedding(.knn, _):
            guard let g = file["gallery"], g.rank == 2, g.shape[0] > 0 else { throw fail("needs a 2-D tensor 'gallery' (M×D)") }
            guard let l = file["labels"], l.count == g.shape[0] else { throw fail("needs 'labels' with one class index per gallery row") }
            let idx = l.data.map { Int($0) }
            guard zip(idx, l.data).allSatisfy({ Float($0) == $1 && $0 >= 0 && $0 < spec.classes.count }) else {
                throw fail("'labels' must hold class indices 0..<\(spec.classes.count)")
            }
            gallery = normalisedRows(g); labels = idx; weight = nil; bias = nil
        default:
            guard let w = file["weight"], w.rank == 2, w.shape[0] > 0 else { throw fail("needs a 2-D tensor 'weight' (K×D)") }
            let rows = w.shape[0]
            let binary = rows == 1
            guard binary ? spec.classes.count == 2 : rows == spec.classes.count else {
                throw fail("'weight' has \(rows) rows; the head names \(spec.classes.count) classes")
            }
            if case .cosine = spec.kind, binary { throw fail("a cosine head needs one weight row per class") }
            let b = file["bias"]
            if let b, b.count != rows { throw fail("'bias' has \(b.count) values for \(rows) weight rows") }
            weight = w; bias = b; gallery = nil; labels = []
        }
    }

    /// One output per row of `raw` (N×K logits, or N×D embeddings).
    func outputs(_ raw: Tensor) throws -> [DetectorOutput] {
        guard raw.rank >= 1, raw.shape[0] >= 0 else { return [] }
        let n = raw.shape[0], width = n == 0 ? 0 : raw.count / n
        let rows = (0..<n).map { Array(raw.data[($0 * width)..<(($0 + 1) * width)]) }
        func mismatch(_ expected: String) -> DetectionError {
            .head(detector: detector, reason: "the network gives \(width) outputs per face; a \(spec.kind.name) head needs \(expected)")
        }
        switch spec.kind {
        case .sigmoidLogit:
            guard width == 1 else { throw mismatch("1") }
            return rows.map { sigmoidOutput(Double($0[0])) }
        case .softmax:
            guard width == spec.classes.count else { throw mismatch("\(spec.classes.count) (one per class)") }
            return rows.map { softmaxOutput($0.map(Double.init)) }
        case .cosine(let scale):
            let w = weight!
            guard width == w.shape[1] else { throw mismatch("\(w.shape[1]) (the class weights' width)") }
            let classes = normalisedRows(w)
            return rows.map { e in
                let u = normalised(e)
                return softmaxOutput((0..<classes.shape[0]).map { k in Double(scale) * dot(u, classes, row: k) })
            }
        case .embedding(.knn, let k):
            let g = gallery!
            guard width == g.shape[1] else { throw mismatch("\(g.shape[1]) (the gallery's width)") }
            return rows.map { knnOutput(normalised($0), gallery: g, k: k) }
        case .embedding:
            let w = weight!
            guard width == w.shape[1] else { throw mismatch("\(w.shape[1]) (the classifier's width)") }
            return rows.map { e in
                let z = (0..<w.shape[0]).map { k in dot(e.map(Double.init), w, row: k) + Double(bias?.data[k] ?? 0) }
                // One row is a binary decision (positive = fake); several rows are one score per class.
                return z.count == 1 ? sigmoidOutput(z[0]) : softmaxOutput(z)
            }
        }
    }

    // MARK: - Definitions

    private var realIndex: Int { spec.realIndex }

    /// p_fake = σ(z); classes get [1 − p, p] in their manifest order.
    private func sigmoidOutput(_ z: Double) -> DetectorOutput {
        let p = sigmoid(z)
        let fake = realIndex == 0 ? 1 : 0
        var probs = [Float](repeating: 0, count: 2)
        probs[realIndex] = Float(1 - p); probs[fake] = Float(p)
        return DetectorOutput(logit: Float(z), probability: Float(p), classProbabilities: probs,
                              predicted: p >= 0.5 ? fake : realIndex)
    }

    /// Softmax over class scores; p_fake = 1 − p_real and its logit log(Σ_{k≠real} e^{z_k}) − z_real, both
    /// computed without overflow.
    private func softmaxOutput(_ z: [Double]) -> DetectorOutput {
        let top = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - top) }
        let sum = e.reduce(0, +)
        let probs = e.map { Float($0 / sum) }
        let others = z.indices.filter { $0 != realIndex }.map { z[$0] }
        let otherTop = others.max() ?? 0
        let logFake = otherTop + Foundation.log(others.map { Foundation.exp($0 - otherTop) }.reduce(0, +))
        let logit = logFake - z[realIndex]
        let predicted = z.indices.max { z[$0] < z[$1] || (z[$0] == z[$1] && $0 > $1) } ?? 0
        return DetectorOutput(logit: Float(logit), probability: Float(sigmoid(logit)), classProbabilities: probs,
                              predicted: predicted)
    }

    /// Votes of the k nearest gallery embeddings (ties in distance to the earlier row); p_fake = 1 − p_real, its
    /// logit clamped to ±log(1e6) so that a unanimous vote stays finite.
    private func knnOutput(_ u: [Double], gallery g: Tensor, k: Int) -> DetectorOutput {
        let m = g.shape[0], d = g.shape[1]
        var distances: [(Double, Int)] = []
        distances.reserveCapacity(m)
        for r in 0..<m {
            var s = 0.0
            for i in 0..<d { let diff = u[i] - Double(g.data[r * d + i]); s += diff * diff }
            distances.append((s, r))
        }
        distances.sort { $0 < $1 }
        var votes = [Double](repeating: 0, count: spec.classes.count)
        let used = min(k, m)
        for (_, r) in distances.prefix(used) { votes[labels[r]] += 1 }
        let probs = votes.map { Float($0 / Double(used)) }
        let pFake = 1 - Double(probs[realIndex])
        let clamped = min(max(pFake, 1e-6), 1 - 1e-6)
        let predicted = votes.indices.max { votes[$0] < votes[$1] || (votes[$0] == votes[$1] && $0 > $1) } ?? 0
        return DetectorOutput(logit: Float(Foundation.log(clamped / (1 - clamped))), probability: Float(pFake),
                              classProbabilities: probs, predicted: predicted)
    }
}

// MARK: - Helpers

func sigmoid(_ z: Double) -> Double { z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z)) }

private func normalised(_ v: [Float]) -> [Double] {
    let x = v.map(Double.init)
    let norm = max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
    return x.map { $0 / norm }
}

/// Each row scaled to unit length (as torch's F.normalize, eps 1e-12).
private func normalisedRows(_ t: Tensor) -> Tensor {
    let (r, d) = (t.shape[0], t.shape[1])
    var out = t
    for i in 0..<r {
        let row = normalised(Array(t.data[(i * d)..<((i + 1) * d)]))
        for j in 0..<d { out.data[i * d + j] = Float(row[j]) }
    }
    return out
}

private func dot(_ u: [Double], _ t: Tensor, row: Int) -> Double {
    let d = t.shape[1]
    var s = 0.0
    for i in 0..<d { s += u[i] * Double(t.data[row * d + i]) }
    return s
}
