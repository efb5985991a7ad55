import Foundation
import Testing
import TestSupport

/// `deepscope model inspect` end to end, through the built binary (skipped when it has not been built).
@Suite struct ModelInspectCLITests {
    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: deepscopeBinary.path) }

    @Test(.enabled(if: binaryExists, "deepscope binary not built"))
    func jsonDescribesACheckpoint() throws {
        let result = try runProcess(deepscopeBinary.path, ["model", "inspect", fixtureURL("weights/nested_legacy.pt").path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(report["format"] as? String == "torch-legacy")
        #expect(report["statePath"] as? String == "net")
        #expect(report["removedPrefixes"] as? [String] == ["module."])
        #expect(report["tensorCount"] as? Int == 12)
        #expect(report["parameterCount"] as? Int == 154)
        #expect(report.keys.contains("architecture"), "architecture must be present (null when unrecognised)")
        let tensors = try #require(report["tensors"] as? [[String: Any]])
        #expect(tensors.first?["name"] as? String == "conv1.weight")
        #expect(tensors.first?["shape"] as? [Int] == [4, 3, 3, 3])
        #expect(tensors.first { $0["name"] as? String == "bn1.num_batches_tracked" }?["dtype"] as? String == "int64")
    }

    @Test(.enabled(if: binaryExists, "deepscope binary not built"))
    func textNamesTheArchitecture() throws {
        // A safetensors file with MTCNN P-Net's key names: inspect must say so.
        let folder = try makeTemporaryDirectory()
        let url = folder.appendingPathComponent("pnet.safetensors")
        let keys = ["conv1.weight", "conv1.bias", "prelu1.weight", "conv4_1.weight", "conv4_2.weight"]
        var header = "{" + keys.enumerated().map { i, k in "\"\(k)\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\(4 * i),\(4 * i + 4)]}" }
            .joined(separator: ",") + "}"
        while (header.utf8.count + 8) % 8 != 0 { header += " " }
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8)
        bytes += [UInt8](repeating: 0, count: 4 * keys.count)
        try Data(bytes).write(to: url)
        let result = try runProcess(deepscopeBinary.path, ["model", "inspect", url.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("mtcnn-pnet"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("conv4_1.weight"))
    }

    @Test(.enabled(if: binaryExists, "deepscope binary not built"))
    func badFilesFailWithOneLine() throws {
        let folder = try makeTemporaryDirectory()
        let url = folder.appendingPathComponent("broken.pth")
        try Data([0x80, 0x02, 0x8a, 0x0a, 0x6c]).write(to: url)
        let result = try runProcess(deepscopeBinary.path, ["model", "inspect", url.path])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("broken.pth"))
        #expect(result.stderr.contains("truncated"))
    }
}
