// Heads: the classifiers fitted on a trained embedding (k-NN gallery, logistic regression, linear SVM), as
// triplet- and ArcFaceMod-trained detectors use them; fitting is deterministic full-batch gradient descent.
import Foundation
import Neural

// MARK: - k-NN

/// A k-nearest-neighbour gallery over L2-normalised embeddings (cosine similarity, majority vote).
public struct KNNHead: Sendable {
    public let embeddings: Tensor
    public let labels: [Int]
    public let k: Int

    public init(embeddings: Tensor, labels: [Int], k: Int) {
        self.embeddings = normalisedRows(embeddings)
        self.labels = labels
        self.k = max(1, min(k, labels.count))
    }

    /// The majority label of the k most similar gallery rows for each row of `queries` (ties: nearest wins).
    public func predict(_ queries: Tensor) -> [Int] {
        let q = normalisedRows(queries)
        let n = q.shape[0], d = q.count / max(n, 1), m = labels.count
        return (0..<n).map { i in
            let sims = (0..<m).map { j in (0..<d).reduce(Float(0)) { $0 + q.data[i * d + $1] * embeddings.data[j * d + $1] } }
            let nearest = (0..<m).sorted { sims[$0] > sims[$1] }.prefix(k)
            var votes: [Int: Int] = [:]
            for j in nearest { votes[labels[j], default: 0] += 1 }
            let top = votes.values.max() ?? 0
            return nearest.first { votes[labels[$0]] == top }.map { labels[$0] } ?? 0
        }
    }
}

func normalisedRows(_ t: Tensor) -> Tensor {
    let n = t.shape[0], d = t.count / max(n, 1)
    var out = t
    for i in 0..<n {
        let norm = max((0..<d).reduce(Float(0)) { $0 + t.data[i * d + $1] * t.data[i * d + $1] }.squareRoot(), 1e-12)
        for j in 0..<d { out.data[i * d + j] /= norm }
    }
    return out
}

// MARK: - Linear heads

/// A binary linear classifier on the normalised embedding: score = w·x + b (> 0: fake).
public struct LinearHead: Sendable, Equatable {
    public var weight: [Float]
    public var bias: Float

    /// Logistic regression (`hinge: false`, L2 penalty λ) or a linear SVM (squared-hinge-free primal hinge
    /// with subgradients, `hinge: true`), fitted by `iterations` full-batch steps from zero — deterministic.
    public static func fit(_ x: Tensor, fake: [Bool], hinge: Bool, lambda: Double = 1e-3, iterations: Int = 500,
                           rate: Double = 0.5) -> LinearHead {
        let e = normalisedRows(x)
        let n = e.shape[0], d = e.count / max(n, 1)
        var w = [Double](repeating: 0, count: d), b = 0.0
        for _ in 0..<iterations {
            var gw = w.map { lambda * $0 }, gb = 0.0
            for i in 0..<n {
                let y = fake[i] ? 1.0 : -1.0
                var s = b
                for j in 0..<d { s += w[j] * Double(e.data[i * d + j]) }
                // Logistic: d/ds log(1 + e^{−ys}) = −y σ(−ys); hinge: −y when ys < 1.
                let coef = hinge ? (y * s < 1 ? -y : 0) : -y * sigmoid(-y * s)
                for j in 0..<d { gw[j] += coef * Double(e.data[i * d + j]) / Double(n) }
                gb += coef / Double(n)
            }
            for j in 0..<d { w[j] -= rate * gw[j] }
            b -= rate * gb
        }
        return LinearHead(weight: w.map(Float.init), bias: Float(b))
    }

    /// Scores for each row of `x` (normalised first, as in fitting).
    public func scores(_ x: Tensor) -> [Float] {
        let e = normalisedRows(x)
        let n = e.shape[0], d = e.count / max(n, 1)
        return (0..<n).map { i in (0..<d).reduce(bias) { $0 + weight[$1] * e.data[i * d + $1] } }
    }
}

// MARK: - k-NN gallery

/// The training crops an embedding bundle keeps as its k-NN gallery, given each crop's method label (0 pristine,
/// 1… the forgery methods of `ForgeryMethod`), as many per class as a fair vote needs. With real and fake
/// classes: every pristine crop and as many forged ones, taken from each method in turn (a majority vote over the
/// 1 : 5 real-to-fake mix of the crops calls nearly everything fake). With one class per method: every third crop
/// of each. Counting per method keeps the picks spread over the training frames whatever the file order.
public func galleryIndices(methods: [Int], binary: Bool) -> [Int] {
    let methodCount = ForgeryMethod.allCases.count, forged = max(methodCount - 1, 1)
    var seen = [Int](repeating: 0, count: methodCount)
    var picks: [Int] = []
    for (i, m) in methods.enumerated() {
        defer { seen[m] += 1 }
        if binary {
            if m == 0 || seen[m] % forged == (m - 1) % forged { picks.append(i) }
        } else if seen[m] % 3 == 0 {
            picks.append(i)
        }
    }
    return picks
}
