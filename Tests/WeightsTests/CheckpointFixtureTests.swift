import Foundation
import Neural
import Testing
import TestSupport
@testable import Weights

/// Every fixture written by real PyTorch / safetensors / NumPy decodes to exactly the values they recorded.
@Suite struct CheckpointFixtureTests {
    static let files = [
        "state_zip.pt", "state_legacy.pt", "module_zip.pt", "module_legacy.pt", "nested_zip.pt", "nested_legacy.pt",
        "dtypes_zip.pt", "dtypes_legacy.pt", "dtypes_big.pt", "tensors.safetensors", "f32.npy", "f64_fortran.npy", "i64.npy",
        "u8.npy", "f16_big_endian.npy", "bool.npy", "scalar.npy", "v2.npy",
    ]

    @Test(arguments: files)
    func decodesLikeTheLibraryThatWroteIt(_ file: String) throws {
        let expected = expectedTensors(file)
        #expect(!expected.isEmpty, "no expected values for \(file)")
        let loaded = try TensorFile.load(contentsOf: weightsFixture(file))
        #expect(loaded.names == expected.map(\.name), "\(file): names")
        for (entry, want) in zip(loaded.entries, expected) {
            #expect(entry.dtype.rawValue == want.dtype, "\(file) \(want.name): dtype")
            #expect(entry.tensor.shape == want.shape, "\(file) \(want.name): shape")
            // Widening is exact: every value is the Float the oracle printed.
            #expect(entry.tensor.data == want.data, "\(file) \(want.name): values")
        }
    }

    @Test func reportsTheFormat() throws {
        #expect(try TensorFile.load(contentsOf: weightsFixture("state_zip.pt")).format == .torchZip)
        #expect(try TensorFile.load(contentsOf: weightsFixture("state_legacy.pt")).format == .torchLegacy)
        #expect(try TensorFile.load(contentsOf: weightsFixture("tensors.safetensors")).format == .safetensors)
        #expect(try TensorFile.load(contentsOf: weightsFixture("f32.npy")).format == .npy)
    }

    @Test(arguments: ["nested_zip.pt", "nested_legacy.pt"])
    func unwrapsTrainingCheckpoints(_ file: String) throws {
        let loaded = try TensorFile.load(contentsOf: weightsFixture(file))
        #expect(loaded.statePath == "net")
        #expect(loaded.removedPrefixes == ["module."])
        #expect(loaded.names.contains("conv1.weight"))
        #expect(!loaded.names.contains { $0.contains("exp_avg") }, "optimizer state leaked into the state dict")
    }

    @Test(arguments: ["module_zip.pt", "module_legacy.pt"])
    func walksWholePickledModules(_ file: String) throws {
        let loaded = try TensorFile.load(contentsOf: weightsFixture(file))
        #expect(loaded.names.contains("head.1.weight"))
        #expect(!loaded.names.contains("scratch"), "a non-persistent buffer must be left out, as state_dict() does")
    }

    @Test func safetensorsMetadata() throws {
        let loaded = try TensorFile.load(contentsOf: weightsFixture("tensors.safetensors"))
        let want = expectedFixtures()["tensors.safetensors.metadata"] as? [String: String]
        #expect(loaded.metadata == want)
    }

    @Test func zipMetadataAndLookup() throws {
        let loaded = try TensorFile.load(contentsOf: weightsFixture("dtypes_zip.pt"))
        #expect(loaded.metadata["byteorder"] == "little")
        #expect(loaded["transposed"]?.shape == [4, 3])
        #expect(loaded["missing"] == nil)
        #expect(loaded.tensorsByName.count == loaded.entries.count)
        #expect(loaded.tensorsByName["f32"] == loaded["f32"])
        #expect(loaded.namedTensors.map(\.0) == loaded.names)
        #expect(loaded.entry(named: "i64")?.dtype == .int64)
        #expect(loaded.elementCount == expectedTensors("dtypes_zip.pt").reduce(0) { $0 + $1.data.count })
    }

    @Test func bigEndianZipCheckpoint() throws {
        // Written by Python's zipfile rather than torch's miniz: no 64-byte alignment, different extra fields.
        let loaded = try TensorFile.load(contentsOf: weightsFixture("dtypes_big.pt"))
        #expect(loaded.metadata["byteorder"] == "big")
        #expect(loaded["i64"]?.data == [-1_099_511_627_776, 0, 1_099_511_627_776, 12345])
    }

    @Test func selectingAPrefix() throws {
        let loaded = try TensorFile.load(contentsOf: weightsFixture("state_zip.pt")).selecting(prefix: "head.")
        #expect(loaded.names == ["0.weight", "0.bias", "1.weight"])
    }

    @Test func prefixesAreOnlyRemovedWhenEveryKeyHasThem() {
        let t = Tensor(shape: [1], data: [1])
        func file(_ names: [String]) -> TensorFile {
            TensorFile(format: .safetensors, entries: names.map { NamedTensor(name: $0, tensor: t, dtype: .float32) })
        }
        #expect(file(["module.backbone.a", "module.backbone.b"]).removingCommonPrefixes().names == ["a", "b"])
        #expect(file(["module.a", "b"]).removingCommonPrefixes().names == ["module.a", "b"])
        #expect(file(["backbone.a", "backbone.b"]).removingCommonPrefixes().removedPrefixes == ["backbone."])
    }
}
