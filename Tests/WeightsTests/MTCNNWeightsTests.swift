import Foundation
import Testing
import TestSupport
@testable import Weights

/// facenet-pytorch ships MTCNN weights as legacy (< 1.6) checkpoints whose convolution weights have transposed
/// strides; the real files are read from the oracle venv when it is installed.
@Suite struct MTCNNWeightsTests {
    static let dataFolder = URL(fileURLWithPath:
        "/root/.cache/deepscope-oracle/venv/lib/python3.11/site-packages/facenet_pytorch/data")
    static var available: Bool { FileManager.default.fileExists(atPath: dataFolder.appendingPathComponent("pnet.pt").path) }

    @Test(.enabled(if: available, "facenet-pytorch weights not installed"), arguments: ["pnet", "rnet", "onet"])
    func matchesTorch(_ net: String) throws {
        let data = try Data(contentsOf: fixtureURL("weights/mtcnn_expected.json"))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
        let expected = try #require(all[net])
        let loaded = try TensorFile.load(contentsOf: Self.dataFolder.appendingPathComponent(net + ".pt"))
        #expect(loaded.format == .torchLegacy)
        #expect(loaded.names == expected.map { $0["name"] as? String ?? "" })
        for (entry, want) in zip(loaded.entries, expected) {
            let name = entry.name
            #expect(entry.tensor.shape == (want["shape"] as? [NSNumber])?.map(\.intValue), "\(name) shape")
            for (index, value) in want["probes"] as? [String: NSNumber] ?? [:] {
                #expect(entry.tensor.data[Int(index)!] == Float(value.doubleValue), "\(name)[\(index)]")
            }
            let sum = entry.tensor.data.reduce(0.0) { $0 + Double($1) }
            let absSum = entry.tensor.data.reduce(0.0) { $0 + abs(Double($1)) }
            let wantAbs = (want["abs_sum"] as? NSNumber)?.doubleValue ?? .nan
            #expect(abs(sum - ((want["sum"] as? NSNumber)?.doubleValue ?? .nan)) <= 1e-9 * max(1, wantAbs), "\(name) sum")
            #expect(abs(absSum - wantAbs) <= 1e-9 * max(1, wantAbs), "\(name) |sum|")
        }
    }

    @Test(.enabled(if: available, "facenet-pytorch weights not installed"))
    func transposedStridesAreGathered() throws {
        // The first weight's strides in the file are (1, 10, 30, 90): reading it as contiguous would scramble it.
        let data = try Data(contentsOf: fixtureURL("weights/mtcnn_expected.json"))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
        let stride = (all["pnet"]?.first?["stride"] as? [NSNumber])?.map(\.intValue)
        #expect(stride == [1, 10, 30, 90], "the fixture no longer exercises transposed strides")
    }
}
