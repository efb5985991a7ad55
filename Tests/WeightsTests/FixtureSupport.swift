import Foundation
import Neural
import TestSupport
@testable import Weights

/// One tensor as `make_weights_files.py` recorded it with PyTorch/NumPy.
struct ExpectedTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var data: [Float]
}

/// `Tests/Fixtures/weights/expected.json` (re-read per call: it is small, and a global `Any` is not Sendable).
func expectedFixtures() -> [String: Any] {
    let url = fixtureURL("weights/expected.json")
    guard let data = try? Data(contentsOf: url),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
    return object
}

func expectedTensors(_ file: String) -> [ExpectedTensor] {
    guard let list = expectedFixtures()[file] as? [[String: Any]] else { return [] }
    return list.map { e in
        ExpectedTensor(name: e["name"] as? String ?? "?", dtype: e["dtype"] as? String ?? "?",
                       shape: (e["shape"] as? [NSNumber] ?? []).map(\.intValue),
                       data: (e["data"] as? [NSNumber] ?? []).map { Float($0.doubleValue) })
    }
}

func weightsFixture(_ name: String) -> URL { fixtureURL("weights/" + name) }

/// Every fixture file, for the hostile-input tests.
let allWeightFixtures = [
    "state_zip.pt", "state_legacy.pt", "module_zip.pt", "module_legacy.pt", "nested_zip.pt", "nested_legacy.pt",
    "dtypes_zip.pt", "dtypes_legacy.pt", "dtypes_big.pt", "tensors.safetensors", "f32.npy", "f64_fortran.npy", "i64.npy", "u8.npy",
    "f16_big_endian.npy", "bool.npy", "scalar.npy", "v2.npy",
]
