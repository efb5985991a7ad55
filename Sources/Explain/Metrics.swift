// Metrics: the explainer consistency metrics I, V, τ, ρ, μ of one track's maps, as DESIGN.md defines them.
import Foundation

// MARK: - Result

/// Consistency of one explainer over one face track (see `docs/metrics.md`).
public struct ConsistencyMetrics: Sendable, Equatable, Codable {
    /// Intensity: mean over frames of the mean map value.
    public var intensity: Double
    /// Variance: mean over frames of the population variance of the map.
    public var variance: Double
    /// Temporal consistency τ: mean Pearson correlation of consecutive maps.
    public var temporal: Double
    /// Spatial autocorrelation ρ at offsets of 10, 20 and 30 % of the smaller side.
    public var spatial: Double
    /// Centrality μ: share of the map's mass in the centred rectangle of half the area.
    public var centrality: Double

    public init(intensity: Double, variance: Double, temporal: Double, spatial: Double, centrality: Double) {
        self.intensity = intensity
        self.variance = variance
        self.temporal = temporal
        self.spatial = spatial
        self.centrality = centrality
    }

    /// The CSV columns in `metrics.csv` order: I, V, tau, rho, mu.
    public var columns: [Double] { [intensity, variance, temporal, spatial, centrality] }

    /// JSON (`summary.json`) uses the short names of `metrics.csv`.
    enum CodingKeys: String, CodingKey {
        case intensity = "I", variance = "V", temporal = "tau", spatial = "rho", centrality = "mu"
    }
}

// MARK: - Computation

/// I, V, τ, ρ and μ of one track's maps (in frame order), all of one size.
///
/// Maps are taken as their positive part divided by the largest value over the track (an all-zero track stays
/// zero). A term that is undefined — τ for a pair with a constant map, ρ for a constant map, μ for a map with no
/// mass — is left out of its average, and a metric with no defined term is 0, so the result is never NaN.
/// ```swift
/// let m = consistencyMetrics(maps)   // maps: [HeatMap] of one track
/// print(m.temporal)
/// ```
public func consistencyMetrics(_ maps: [HeatMap]) -> ConsistencyMetrics {
    guard let first = maps.first else { return ConsistencyMetrics(intensity: 0, variance: 0, temporal: 0, spatial: 0, centrality: 0) }
    let (h, w) = (first.height, first.width)
    precondition(maps.allSatisfy { $0.width == w && $0.height == h }, "consistencyMetrics: maps differ in size")
    var frames = maps.map { $0.values.map { Double(max($0, 0)) } }
    let top = frames.lazy.compactMap { $0.max() }.max() ?? 0
    if top > 0 { for t in frames.indices { for k in frames[t].indices { frames[t][k] /= top } } }

    var intensity: [Double] = [], variance: [Double] = [], temporal: [Double] = []
    var spatial: [Double] = [], centrality: [Double] = []
    for (t, f) in frames.enumerated() {
        let mean = f.reduce(0, +) / Double(f.count)
        intensity.append(mean)
        variance.append(f.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(f.count))
        if t > 0, let r = pearson(frames[t - 1], f) { temporal.append(r) }
        if let r = autocorrelation(f, height: h, width: w) { spatial.append(r) }
        if let m = centralMass(f, height: h, width: w) { centrality.append(m) }
    }
    return ConsistencyMetrics(intensity: average(intensity), variance: average(variance), temporal: average(temporal),
                              spatial: average(spatial), centrality: average(centrality))
}

/// The mean of the defined terms, 0 when there are none.
private func average(_ terms: [Double]) -> Double { terms.isEmpty ? 0 : terms.reduce(0, +) / Double(terms.count) }

private func isConstant(_ f: [Double]) -> Bool { f.min() == f.max() }

/// Pearson correlation; nil when either map is constant.
func pearson(_ a: [Double], _ b: [Double]) -> Double? {
    guard !isConstant(a), !isConstant(b) else { return nil }
    let n = Double(a.count)
    let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for k in a.indices {
        let da = a[k] - ma, db = b[k] - mb
        sab += da * db; saa += da * da; sbb += db * db
    }
    return sab / (saa * sbb).squareRoot()
}

/// mean over s ∈ {1, 2, 3} of ½(a(δs, 0) + a(0, δs)) / a(0, 0), δ = ⌊0.1·min(H, W) + ½⌋; nil for a constant map.
func autocorrelation(_ f: [Double], height h: Int, width w: Int) -> Double? {
    guard !isConstant(f) else { return nil }
    let mean = f.reduce(0, +) / Double(f.count)
    let c = f.map { $0 - mean }
    let delta = Int((0.1 * Double(min(h, w)) + 0.5).rounded(.down))
    /// Mean of c(y, x)·c(y + dy, x + dx) over the pixels where both exist.
    func a(_ dy: Int, _ dx: Int) -> Double {
        guard dy < h && dx < w else { return 0 }
        var sum = 0.0
        for y in 0..<(h - dy) { for x in 0..<(w - dx) { sum += c[y * w + x] * c[(y + dy) * w + x + dx] } }
        return sum / Double((h - dy) * (w - dx))
    }
    let zero = a(0, 0)
    let terms = (1...3).map { s in 0.5 * (a(delta * s, 0) + a(0, delta * s)) / zero }
    return terms.reduce(0, +) / 3
}

/// Σ(inner) / Σ(all), inner the centred ⌊H/√2 + ½⌋ × ⌊W/√2 + ½⌋ rectangle; nil for a map with no mass.
func centralMass(_ f: [Double], height h: Int, width w: Int) -> Double? {
    let total = f.reduce(0, +)
    guard total > 0 else { return nil }
    let ih = Int((Double(h) / 2.0.squareRoot() + 0.5).rounded(.down))
    let iw = Int((Double(w) / 2.0.squareRoot() + 0.5).rounded(.down))
    let (r0, c0) = ((h - ih) / 2, (w - iw) / 2)
    var inner = 0.0
    for y in r0..<(r0 + ih) { for x in c0..<(c0 + iw) { inner += f[y * w + x] } }
    return inner / total
}
