// Reads the golden fixtures written by Tests/Fixtures/make_neural_*.py: a JSON index plus float32 tensors.
import Foundation
import Testing
import TestSupport
@testable import Neural

/// One fixture pair `<stem>.json` + `<stem>.bin`, parsed once.
final class GoldenFile: @unchecked Sendable {
    let tensors: [String: Tensor]
    let cases: [String: [String: Any]]
    let caseNames: [String]
    let root: [String: Any]

    init(_ stem: String) {
        let json = fixtureURL("neural/\(stem).json"), bin = fixtureURL("neural/\(stem).bin")
        guard let jsonData = try? Data(contentsOf: json), let blob = try? Data(contentsOf: bin),
              let root = (try? JSONSerialization.jsonObject(with: jsonData)) as? [String: Any],
              let index = root["tensors"] as? [String: [String: Any]] else {
            fatalError("golden fixture \(stem) is missing or unreadable; run Tests/Fixtures/make_neural_\(stem).py")
        }
        self.root = root
        var tensors: [String: Tensor] = [:]
        for (name, entry) in index {
            let shape = entry["shape"] as! [Int], offset = entry["offset"] as! Int, count = entry["count"] as! Int
            var values = [Float](repeating: 0, count: count)
            _ = values.withUnsafeMutableBytes { dst in
                blob.copyBytes(to: dst, from: (offset * 4)..<((offset + count) * 4))
            }
            tensors[name] = Tensor(shape: shape, data: values)
        }
        self.tensors = tensors
        let list = root["cases"] as? [[String: Any]] ?? []
        var cases: [String: [String: Any]] = [:]
        for c in list { cases[c["name"] as! String] = c }
        self.cases = cases
        self.caseNames = list.map { $0["name"] as! String }
    }

    func tensor(_ name: String) -> Tensor {
        guard let t = tensors[name] else { fatalError("golden tensor \(name) missing") }
        return t
    }

    static let ops = GoldenFile("ops")
    static let composite = GoldenFile("composite")
}

// MARK: - Deterministic random numbers

/// SplitMix64: a tiny seeded generator so random-shape tests are reproducible.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A tensor of uniform values in −1…1 (scaled).
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = Float.random(in: -1...1, using: &self) * scale }
        return Tensor(shape: shape, data: values)
    }
}
