// Kernel SHAP's optional L1 step: shap's `num_features(r)` keeps the first r players that least-angle regression
// (scikit-learn's `lars_path`, method "lar") brings into its active set.
import Foundation

extension KernelSHAP {
    /// The players shap keeps with `l1_reg="num_features(r)"`, in the order they entered the LARS path.
    ///
    /// shap regresses on an augmented design: each coalition appears with weight k·(M − |z|) and target
    /// v − v(none), and as z − 1 with weight k·|z| and target v − v(all); rows are scaled by √weight.
    static func lassoSelection(_ design: SHAPDesign, values: [Double], full: Double, empty: Double,
                               features r: Int) -> [Int] {
        let m = design.features, n = design.masks.count
        var x = [Double](repeating: 0, count: 2 * n * m)  // row-major (2N)×M
        var y = [Double](repeating: 0, count: 2 * n)
        for (i, mask) in design.masks.enumerated() {
            let size = Double(mask.filter { $0 }.count)
            let top = (design.weights[i] * (Double(m) - size)).squareRoot()
            let bottom = (design.weights[i] * size).squareRoot()
            for j in 0..<m {
                x[i * m + j] = top * (mask[j] ? 1 : 0)
                x[(n + i) * m + j] = bottom * (mask[j] ? 0 : -1)
            }
            y[i] = top * (values[i] - empty)
            y[n + i] = bottom * (values[i] - empty - (full - empty))
        }
        return larsActive(x, y, rows: 2 * n, columns: m, maxIterations: r)
    }

    /// The active set of scikit-learn's `lars_path(X, y, max_iter=r, method="lar")`, in order of entry; its
    /// quirks kept: the inactive list is reordered by swapping, an iteration in which an active coefficient
    /// would change sign flips that sign and adds no variable, and equiangular correlations are rounded to
    /// 15 decimals.
    static func larsActive(_ x: [Double], _ y: [Double], rows: Int, columns m: Int, maxIterations: Int) -> [Int] {
        func column(_ j: Int) -> [Double] { (0..<rows).map { x[$0 * m + j] } }
        let cols = (0..<m).map(column)
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var inactive = Array(0..<m)
        var cov = cols.map { dot($0, y) }       // aligned with `inactive`
        var active: [Int] = [], signs: [Double] = [], coef: [Double] = []
        let tiny = Double(Float.leastNormalMagnitude)
        let floor = Double(Float.ulpOfOne)
        var drop = false
        var iteration = 0
        func minPositive(_ v: [Double]) -> Double { v.filter { $0 > 0 }.min() ?? .greatestFiniteMagnitude }
        while true {
            var c = 0.0, pick = 0
            if !cov.isEmpty {
                for (k, v) in cov.enumerated() where abs(v) > c { c = abs(v); pick = k }
            }
            if c / Double(rows) <= floor { break }
            if iteration >= maxIterations || active.count >= m { break }
            if !drop {
                signs.append(cov[pick] < 0 ? -1 : (cov[pick] > 0 ? 1 : 0))
                cov.swapAt(pick, 0)
                inactive.swapAt(pick, 0)
                active.append(inactive.removeFirst())
                cov.removeFirst()
                coef.append(0)
            }
            // Equiangular direction: G_A⁻¹ s normalised.
            let k = active.count
            var gram = [Double](repeating: 0, count: k * k)
            for a in 0..<k { for b in 0..<k { gram[a * k + b] = dot(cols[active[a]], cols[active[b]]) } }
            var ls = solveLinear(gram, signs, size: k)
            let aa = 1 / max(zip(ls, signs).reduce(0) { $0 + $1.0 * $1.1 }, 1e-300).squareRoot()
            for i in ls.indices { ls[i] *= aa }
            var direction = [Double](repeating: 0, count: rows)
            for (a, j) in active.enumerated() { for i in 0..<rows { direction[i] += ls[a] * x[i * m + j] } }
            let correlation = inactive.map { j -> Double in
                let v = dot(cols[j], direction)
                return (v * 1e15).rounded() / 1e15
            }
            let g1 = minPositive(zip(cov, correlation).map { (c - $0.0) / (aa - $0.1 + tiny) })
            let g2 = minPositive(zip(cov, correlation).map { (c + $0.0) / (aa + $0.1 + tiny) })
            let gamma = min(g1, g2, c / aa)
            drop = false
            let z = coef.indices.map { -coef[$0] / (ls[$0] + tiny) }
            let zPositive = minPositive(z)
            if zPositive < gamma {
                for i in z.indices where z[i] == zPositive { signs[i] = -signs[i] }
                drop = true
            }
            iteration += 1
            for i in coef.indices { coef[i] += gamma * ls[i] }
            for i in cov.indices { cov[i] -= gamma * correlation[i] }
        }
        return active
    }
}
