// Kernel SHAP: Shapley values of a coalition game by shap's KernelExplainer algorithm, seedable.
import Foundation

// MARK: - Public types

/// How many coalitions Kernel SHAP evaluates.
public enum SHAPSamples: Sendable, Equatable, CustomStringConvertible {
    /// shap's default, 2M + 2048 (capped at 2^M − 2).
    case automatic
    /// Every coalition (2^M − 2): the result is then the exact Shapley values.
    case all
    case count(Int)

    /// Parses the `--shap-samples` value: `auto`, `all` or a positive count.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "auto", "default": self = .automatic
        case "all": self = .all
        default:
            guard let n = Int(text), n > 0 else { return nil }
            self = .count(n)
        }
    }

    /// The coalition budget for `features` players (shap's `nsamples` after its cap).
    public func budget(features m: Int) -> Int {
        let cap = m <= 30 ? (1 << m) - 2 : Int.max
        switch self {
        case .automatic: return min(2 * m + 2048, cap)
        case .all:
            precondition(m <= 30, "SHAPSamples.all: 2^\(m) coalitions is too many")
            return cap
        case .count(let n): return min(n, cap)
        }
    }

    public var description: String {
        switch self {
        case .automatic: return "auto"
        case .all: return "all"
        case .count(let n): return String(n)
        }
    }
}

/// The coalitions Kernel SHAP evaluates and their kernel weights (a player is present where the mask is true).
public struct SHAPDesign: Sendable {
    public var features: Int
    public var masks: [[Bool]]
    public var weights: [Double]
}

/// The outcome of one Kernel SHAP run.
public struct SHAPResult: Sendable {
    /// One Shapley value per player.
    public var phi: [Double]
    /// v(all players) and v(no player).
    public var fullValue: Double
    public var emptyValue: Double
    /// Coalitions in the design (the all and none coalitions not counted).
    public var samples: Int
    /// |Σφ − (v(all) − v(none))|: zero up to rounding, by the efficiency constraint.
    public var additivityError: Double { abs(phi.reduce(0, +) - (fullValue - emptyValue)) }
}

// MARK: - Kernel SHAP

/// shap's KernelExplainer for one output and a single all-absent background: coalition sizes whose every
/// subset the budget covers are enumerated (smallest sizes and their complements first), the rest are drawn
/// in complementary pairs with repeats adding weight, and the values come from weighted least squares with
/// the efficiency constraint eliminating the last player. L1 feature selection is off unless asked for
/// (shap's `l1_reg=False`; `selectFeatures` is its `num_features(r)`).
public enum KernelSHAP {
    /// Explains a game: `evaluate` receives coalition masks (possibly in several calls) and returns their values.
    ///
    /// ```swift
    /// let result = try KernelSHAP.explain(features: 12, samples: .all, seed: 0) { masks in masks.map(v) }
    /// ```
    /// - Parameter selectFeatures: shap's `l1_reg="num_features(r)"`: only the first r players least-angle
    ///   regression picks get a value; nil (the default) is `l1_reg=False`.
    public static func explain(features m: Int, samples: SHAPSamples = .automatic, seed: UInt64 = 0,
                               selectFeatures: Int? = nil,
                               evaluate: ([[Bool]]) throws -> [Double]) rethrows -> SHAPResult {
        let ends = try evaluate([Array(repeating: true, count: m), Array(repeating: false, count: m)])
        precondition(ends.count == 2, "KernelSHAP: evaluate returned \(ends.count) values for 2 coalitions")
        let (full, empty) = (ends[0], ends[1])
        guard m >= 2 else {
            return SHAPResult(phi: m == 1 ? [full - empty] : [], fullValue: full, emptyValue: empty, samples: 0)
        }
        let design = self.design(features: m, samples: samples, seed: seed)
        let values = try evaluate(design.masks)
        precondition(values.count == design.masks.count, "KernelSHAP: \(values.count) values for \(design.masks.count) coalitions")
        let selected = selectFeatures.map { lassoSelection(design, values: values, full: full, empty: empty, features: $0) }
        let phi = solve(design, values: values, full: full, empty: empty, selected: selected)
        return SHAPResult(phi: phi, fullValue: full, emptyValue: empty, samples: design.masks.count)
    }

    /// The coalitions and kernel weights shap's `KernelExplainer.explain` builds for `m ≥ 2` players.
    public static func design(features m: Int, samples: SHAPSamples, seed: UInt64) -> SHAPDesign {
        precondition(m >= 2, "KernelSHAP.design: needs at least two players")
        let nsamples = samples.budget(features: m)
        var design = SHAPDesign(features: m, masks: [], weights: [])
        design.masks.reserveCapacity(nsamples)

        // Shapley kernel mass per coalition size s (and M − s, folded in while the size is paired).
        let sizes = m / 2, pairedSizes = (m - 1) / 2  // ⌈(M−1)/2⌉ and ⌊(M−1)/2⌋
        var sizeWeights = (1...sizes).map { s in Double(m - 1) / Double(s * (m - s)) }
        for i in 0..<pairedSizes { sizeWeights[i] *= 2 }
        let total = sizeWeights.reduce(0, +)
        for i in sizeWeights.indices { sizeWeights[i] /= total }

        // Whole sizes the budget covers, at their exact kernel weight.
        var fullSizes = 0
        var left = Double(nsamples)
        var remaining = sizeWeights
        for s in 1...sizes {
            let paired = s <= pairedSizes
            let subsets = binomial(m, s) * (paired ? 2 : 1)
            guard left * remaining[s - 1] / subsets >= 1 - 1e-8 else { break }
            fullSizes += 1
            left -= subsets
            if remaining[s - 1] < 1 {
                let scale = 1 - remaining[s - 1]
                for i in remaining.indices { remaining[i] /= scale }
            }
            let w = sizeWeights[s - 1] / binomial(m, s) / (paired ? 2 : 1)
            forEachCombination(m, s) { mask in
                design.masks.append(mask)
                design.weights.append(w)
                if paired {
                    design.masks.append(mask.map { !$0 })
                    design.weights.append(w)
                }
            }
        }

        // The rest: sizes drawn by their kernel mass, members uniformly, each draw with its complement.
        let fixed = design.masks.count
        var samplesLeft = nsamples - fixed
        guard fullSizes != sizes, samplesLeft > 0 else { return design }
        var drawWeights = sizeWeights
        for i in 0..<pairedSizes { drawWeights[i] /= 2 }  // each draw below adds two samples
        drawWeights = Array(drawWeights[fullSizes...])
        let drawTotal = drawWeights.reduce(0, +)
        var cumulative: [Double] = []
        var acc = 0.0
        for w in drawWeights { acc += w / drawTotal; cumulative.append(acc) }
        var rng = SHAPRandom(seed: seed)
        var seen: [MaskKey: Int] = [:]
        var order = Array(0..<m)
        // shap draws 4 × samples_left sizes up front and stops when they run out.
        var draws = 4 * samplesLeft
        while samplesLeft > 0 && draws > 0 {
            draws -= 1
            let u = rng.uniform()
            let index = cumulative.firstIndex { u < $0 } ?? (cumulative.count - 1)
            let size = index + fullSizes + 1
            var mask = [Bool](repeating: false, count: m)
            for i in 0..<size {
                let j = i + Int(rng.below(UInt64(m - i)))
                order.swapAt(i, j)
                mask[order[i]] = true
            }
            let key = MaskKey(mask)
            let isNew: Bool
            if let at = seen[key] {
                design.weights[at] += 1
                isNew = false
            } else {
                seen[key] = design.masks.count
                design.masks.append(mask)
                design.weights.append(1)
                samplesLeft -= 1
                isNew = true
            }
            if samplesLeft > 0 && size <= pairedSizes {
                if isNew {
                    design.masks.append(mask.map { !$0 })
                    design.weights.append(1)
                    samplesLeft -= 1
                } else {
                    // The complement was stored right after its first draw.
                    design.weights[seen[key]! + 1] += 1
                }
            }
        }
        // The drawn samples share the kernel mass the enumerated sizes left over.
        let massLeft = sizeWeights[fullSizes...].reduce(0, +)
        let drawn = design.weights[fixed...].reduce(0, +)
        for i in fixed..<design.weights.count { design.weights[i] *= massLeft / drawn }
        return design
    }

    /// Weighted least squares with Σφ = v(all) − v(none) imposed by eliminating the last player.
    ///
    /// - Parameter selected: the players allowed a non-zero value, in shap's order (the last one is eliminated);
    ///   all players by default, the L1-selected ones with `selectFeatures`.
    public static func solve(_ design: SHAPDesign, values: [Double], full: Double, empty: Double,
                             selected: [Int]? = nil) -> [Double] {
        let m = design.features, n = design.masks.count
        let gap = full - empty
        let players = selected ?? Array(0..<m)
        guard let eliminated = players.last else { return [Double](repeating: 0, count: m) }
        let p = players.count - 1
        // Normal equations (XᵀWX) w = XᵀWy with X_j = z_j − z_last, y = v − v(none) − z_last · gap.
        var a = [Double](repeating: 0, count: p * p)
        var b = [Double](repeating: 0, count: p)
        var x = [Double](repeating: 0, count: p)
        for r in 0..<n {
            let mask = design.masks[r]
            let last = mask[eliminated] ? 1.0 : 0.0
            for j in 0..<p { x[j] = (mask[players[j]] ? 1 : 0) - last }
            let y = values[r] - empty - last * gap
            let w = design.weights[r]
            for i in 0..<p where x[i] != 0 {
                let wx = w * x[i]
                b[i] += wx * y
                for j in 0..<p where x[j] != 0 { a[i * p + j] += wx * x[j] }
            }
        }
        let coefficients = solveLinear(a, b, size: p)
        var phi = [Double](repeating: 0, count: m)
        for j in 0..<p { phi[players[j]] = coefficients[j] }
        phi[eliminated] = gap - coefficients.reduce(0, +)
        for i in phi.indices where abs(phi[i]) < 1e-10 { phi[i] = 0 }
        return phi
    }

    // MARK: Helpers

    /// Gaussian elimination with partial pivoting; a (near-)singular system, which too few samples can give,
    /// gets a tiny ridge so it still returns the minimum-norm-like answer rather than NaN.
    static func solveLinear(_ matrix: [Double], _ rhs: [Double], size n: Int) -> [Double] {
        let scale = max((0..<n).map { abs(matrix[$0 * n + $0]) }.max() ?? 1, 1e-300)
        for ridge in [0.0, 1e-12, 1e-9, 1e-6] {
            var a = matrix, b = rhs
            for i in 0..<n { a[i * n + i] += ridge * scale }
            if let x = eliminate(&a, &b, n: n, tolerance: 1e-13 * scale) { return x }
        }
        return [Double](repeating: 0, count: n)
    }

    private static func eliminate(_ a: inout [Double], _ b: inout [Double], n: Int, tolerance: Double) -> [Double]? {
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(n, col + 1) where abs(a[r * n + col]) > abs(a[pivot * n + col]) { pivot = r }
            guard abs(a[pivot * n + col]) > tolerance else { return nil }
            if pivot != col {
                for j in 0..<n { a.swapAt(col * n + j, pivot * n + j) }
                b.swapAt(col, pivot)
            }
            let d = a[col * n + col]
            for r in (col + 1)..<max(n, col + 1) {
                let f = a[r * n + col] / d
                if f == 0 { continue }
                for j in col..<n { a[r * n + j] -= f * a[col * n + j] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = b[i]
            for j in (i + 1)..<max(n, i + 1) { s -= a[i * n + j] * x[j] }
            x[i] = s / a[i * n + i]
        }
        return x
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        var r = 1.0
        for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
        return r.rounded()
    }

    /// Calls `body` with every k-subset of 0..<n as a mask, in `itertools.combinations` order.
    static func forEachCombination(_ n: Int, _ k: Int, _ body: ([Bool]) -> Void) {
        var idx = Array(0..<k)
        while true {
            var mask = [Bool](repeating: false, count: n)
            for i in idx { mask[i] = true }
            body(mask)
            var i = k - 1
            while i >= 0 && idx[i] == n - k + i { i -= 1 }
            if i < 0 { return }
            idx[i] += 1
            for j in (i + 1)..<k { idx[j] = idx[j - 1] + 1 }
        }
    }
}

/// A coalition packed into bits, for finding repeats.
struct MaskKey: Hashable {
    var words: [UInt64]
    init(_ mask: [Bool]) {
        var words = [UInt64](repeating: 0, count: (mask.count + 63) / 64)
        for (i, on) in mask.enumerated() where on { words[i >> 6] |= 1 << UInt64(i & 63) }
        self.words = words
    }
}

/// SplitMix64: small, fast and the same on every platform, so a seed reproduces a run anywhere.
struct SHAPRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in 0..<n without modulo bias.
    mutating func below(_ n: UInt64) -> UInt64 {
        precondition(n > 0)
        let limit = UInt64.max - UInt64.max % n
        while true {
            let r = next()
            if r < limit { return r % n }
        }
    }
}
