import Foundation
import Neural
import Testing
import TestSupport
@testable import Weights

@Suite struct SafeTensorsTests {
    private func loadError(_ data: Data) -> String? {
        do { _ = try TensorFile.load(data: data); return nil } catch { return "\(error)" }
    }

    // MARK: - Writer

    @Test func float32RoundTripIsExact() throws {
        let a = Tensor(shape: [2, 3], data: [1, -2.5, 3e-8, .greatestFiniteMagnitude, -0.0, 7])
        let b = Tensor(shape: [], data: [42])
        let c = Tensor(shape: [0, 4], data: [])
        let url = try makeTemporaryDirectory().appendingPathComponent("w.safetensors")
        try SafeTensors.write([("z.weight", a), ("a.scalar", b), ("empty", c)], metadata: ["format": "pt", "note": "q\"uote"], to: url)
        let back = try TensorFile.load(contentsOf: url)
        #expect(back.format == .safetensors)
        #expect(back.names == ["z.weight", "a.scalar", "empty"], "written order is kept")
        #expect(back["z.weight"] == a)
        #expect(back["a.scalar"] == b)
        #expect(back["empty"] == c)
        #expect(back.metadata == ["format": "pt", "note": "q\"uote"])
        #expect(back.entries.allSatisfy { $0.dtype == .float32 })
        // The data area starts 8-byte aligned, as the reference writer leaves it.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
    }

    @Test func float16RoundsToNearestEven() throws {
        // Expected halves: exact values, ties to even, overflow to infinity, subnormals, as torch's .half().
        let inputs: [Float] = [1, 1.0 / 3, 65504, 65519, 65520, -1e9, 6e-8, 1e-8, 2049, 2051, 0.1]
        let halves: [Float] = [1, 0.333251953125, 65504, 65504, .infinity, -.infinity, 5.9604645e-8, 0, 2048, 2052, 0.0999755859375]
        let data = try SafeTensors.encode([("x", Tensor(shape: [inputs.count], data: inputs))], as: .float16)
        let back = try TensorFile.load(data: data)
        #expect(back.entries.first?.dtype == .float16)
        #expect(back["x"]?.data == halves)
    }

    @Test func float16ValuesWrittenByTorchSurviveARoundTrip() throws {
        let original = try TensorFile.load(contentsOf: weightsFixture("tensors.safetensors"))
        let f16 = try #require(original.entry(named: "f16"))
        let back = try TensorFile.load(data: try SafeTensors.encode([("f16", f16.tensor)], as: .float16))
        #expect(back["f16"] == f16.tensor)
    }

    @Test func writerRefusesOtherDTypesAndDuplicates() {
        let t = Tensor(shape: [1], data: [1])
        #expect(throws: WeightsError.self) { try SafeTensors.encode([("a", t)], as: .int8) }
        #expect(throws: WeightsError.self) { try SafeTensors.encode([("a", t), ("a", t)]) }
    }

    // MARK: - Hostile headers

    @Test func hugeHeaderLength() {
        let message = loadError(safetensorsFile(header: "{}", data: [], declaredLength: 1 << 62))
        #expect(message?.contains("exceeds") == true, "\(message ?? "loaded")")
        let past = loadError(safetensorsFile(header: "{}", data: [], declaredLength: 5000))
        #expect(past?.contains("truncated") == true, "\(past ?? "loaded")")
    }

    @Test(arguments: [
        (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, "outside the data area"),
        (#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, "needs 12 bytes"),
        (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"v":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, "overlap"),
        (#"{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}}"#, "overflows"),
        (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, "non-negative"),
        (#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, "non-negative"),
        (#"{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, "unknown dtype"),
        (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, "outside the data area"),
        (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999999]}}"#, "pair of integers"),
        (#"{"w":{"dtype":"F32","shape":[2]}}"#, "no 'data_offsets'"),
        (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "twice"),
        (#"{"__metadata__":{"a":1}}"#, "__metadata__"),
        (#"[1,2]"#, "not a weights file"),  // sniffing wants "{" after the length
        (#"{"a":1}"# + "\u{0}", "invalid JSON"),
        (#"{"w":"#, "invalid JSON"),
    ])
    func badHeaders(_ header: String, _ expected: String) {
        let message = loadError(safetensorsFile(header: header, data: [UInt8](repeating: 0, count: 8)))
        #expect(message?.contains(expected) == true, "\(message ?? "loaded")")
        if header.contains("\"w\"") && !header.hasPrefix(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w""#) && header != #"{"w":"# {
            #expect(message?.contains("'w'") == true || message?.contains("'v'") == true, "the error should name the tensor: \(message ?? "")")
        }
    }

    @Test func absurdRank() {
        let shape = Array(repeating: "1", count: 100).joined(separator: ",")
        let message = loadError(safetensorsFile(header: #"{"w":{"dtype":"F32","shape":[\#(shape)],"data_offsets":[0,4]}}"#,
                                                data: [0, 0, 0, 0]))
        #expect(message?.contains("rank 100") == true, "\(message ?? "loaded")")
    }

    @Test func deeplyNestedJSONIsRefused() {
        let header = "{\"w\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let message = loadError(safetensorsFile(header: header, data: []))
        #expect(message?.contains("nested deeper") == true, "\(message ?? "loaded")")
    }
}

extension SafeTensorsTests {
    @Test func headerLengthWhoseLowByteLooksLikeAPickle() throws {
        // A header of 0x80 + 256·k bytes starts the file with 0x80, pickle's PROTO opcode.
        var name = "w"
        var data = try SafeTensors.encode([(name, Tensor(shape: [1], data: [3]))])
        while data.first != 0x80 {
            name += "x"
            data = try SafeTensors.encode([(name, Tensor(shape: [1], data: [3]))])
        }
        let back = try TensorFile.load(data: data)
        #expect(back.format == .safetensors)
        #expect(back[name]?.data == [3])
    }
}
