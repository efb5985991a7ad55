import Foundation
import Neural
import Testing
import TestSupport
@testable import Weights

@Suite struct NumpyFileTests {
    @Test(arguments: [[2, 3, 4], [5], [], [0, 3], [1, 1, 1, 7]])
    func writeThenReadIsExact(_ shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let tensor = Tensor(shape: shape, data: (0..<count).map { Float($0) * 0.37 - 2 })
        let url = try makeTemporaryDirectory().appendingPathComponent("x.npy")
        try NumpyFile.write(tensor, to: url)
        #expect(try NumpyFile.read(contentsOf: url) == tensor)
    }

    @Test func headerIsWhatNumpyExpects() throws {
        let bytes = [UInt8](NumpyFile.encode(Tensor(shape: [3], data: [1, 2, 3])))
        #expect(Array(bytes.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0, "data must start 64-byte aligned")
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"))
        #expect(header.hasSuffix("\n"))
        #expect(bytes.count == 10 + headerLength + 12)
    }

    @Test func readingANonNpyFileIsAClearError() {
        #expect(throws: WeightsError.self) { try NumpyFile.read(contentsOf: weightsFixture("tensors.safetensors")) }
    }

    @Test(arguments: [
        "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }",
        "{'descr': '<f4', 'fortran_order': False, }",
    ])
    func badHeaders(_ header: String) {
        var bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
        bytes += [UInt8](repeating: 0, count: 8)
        #expect(throws: WeightsError.self) { try TensorFile.load(data: Data(bytes)) }
    }
}
