// The consistency metrics against an independent numpy implementation of DESIGN.md (metrics.json).
import Foundation
import Testing
import Explain
import TestSupport

@Suite(.timeLimit(.minutes(1))) struct MetricsTests {
    struct Case: Decodable {
        var shape: [Int]
        var maps: [Double]
        var expected: [String: Double]
    }

    static let cases: [String: Case] = {
        let data = try! Data(contentsOf: fixtureURL("explain/metrics.json"))
        return try! JSONDecoder().decode([String: Case].self, from: data)
    }()

    @Test(arguments: ["blobs", "noise", "one_frame", "constant", "zeros", "mixed"])
    func matchesNumpy(name: String) throws {
        let c = try #require(Self.cases[name])
        let (t, h, w) = (c.shape[0], c.shape[1], c.shape[2])
        let maps = (0..<t).map { i in
            HeatMap(width: w, height: h, values: c.maps[(i * h * w)..<((i + 1) * h * w)].map { Float($0) })
        }
        let m = consistencyMetrics(maps)
        let got = ["I": m.intensity, "V": m.variance, "tau": m.temporal, "rho": m.spatial, "mu": m.centrality]
        for (key, want) in c.expected {
            let value = got[key]!
            #expect(value.isFinite, "\(name) \(key) is not finite")
            #expect(abs(value - want) <= 1e-6, "\(name) \(key): \(value) vs numpy \(want)")
        }
    }

    @Test func encodesWithTheCSVNames() throws {
        let m = ConsistencyMetrics(intensity: 0.5, variance: 0.25, temporal: 0.75, spatial: 0.125, centrality: 1)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(m)) as? [String: Double]
        #expect(json == ["I": 0.5, "V": 0.25, "tau": 0.75, "rho": 0.125, "mu": 1])
        #expect(try JSONDecoder().decode(ConsistencyMetrics.self, from: JSONEncoder().encode(m)) == m)
    }

    @Test func emptyTrackIsAllZero() {
        #expect(consistencyMetrics([]).columns == [0, 0, 0, 0, 0])
    }

    @Test func scaleOfTheMapsDoesNotMatter() throws {
        let c = try #require(Self.cases["blobs"])
        let (t, h, w) = (c.shape[0], c.shape[1], c.shape[2])
        func maps(_ k: Float) -> [HeatMap] {
            (0..<t).map { i in HeatMap(width: w, height: h, values: c.maps[(i * h * w)..<((i + 1) * h * w)].map { Float($0) * k }) }
        }
        let a = consistencyMetrics(maps(1)).columns, b = consistencyMetrics(maps(7.5)).columns
        for (x, y) in zip(a, b) { #expect(abs(x - y) < 1e-6) }
    }
}
