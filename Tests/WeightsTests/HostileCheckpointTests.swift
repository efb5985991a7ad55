import Foundation
import Testing
import TestSupport
@testable import Weights

/// Malformed and malicious checkpoints and pickles: each gives a clear error (or an inert load), never a crash,
/// a huge allocation or code execution.
@Suite struct HostileCheckpointTests {
    private func loadError(_ data: Data) -> WeightsError? {
        do {
            _ = try TensorFile.load(data: data)
            return nil
        } catch let error as WeightsError {
            return error
        } catch {
            Issue.record("non-WeightsError thrown: \(error)")
            return nil
        }
    }

    @Test func theBuilderMakesALoadableCheckpoint() throws {
        // Guards the hostile cases below: they differ from this one in a single field.
        let file = try TensorFile.load(data: legacyCheckpoint(storageCount: 6, offset: 1, sizes: [2, 2], strides: [1, 2]))
        #expect(file.names == ["w"])
        #expect(file["w"]?.data == [1, 3, 2, 4])
    }

    @Test func viewOutsideTheStorage() throws {
        let error = try #require(loadError(legacyCheckpoint(storageCount: 6, offset: 3, sizes: [2, 2], strides: [2, 1])))
        #expect(error.description.contains("tensor 'w'"), "\(error)")
        #expect(error.description.contains("reaches element"), "\(error)")
    }

    @Test(arguments: [
        ([1 << 40], [1]),            // far past the storage
        ([1 << 62, 1 << 62], [1, 1]),  // shape product overflows
        ([1 << 40, 1 << 20], [0, 0]),  // a stride-0 expansion asking for 2⁶⁰ copies
        ([4], [-1]),                 // negative stride
        ([-4], [1]),                 // negative size
        ([3, 3], [1 << 62, 1 << 62]),  // stride span overflows
    ])
    func absurdViews(_ sizes: [Int], _ strides: [Int]) throws {
        let error = try #require(loadError(legacyCheckpoint(storageCount: 6, offset: 0, sizes: sizes, strides: strides)))
        #expect(error.description.contains("tensor 'w'"), "\(error)")
    }

    @Test func sharedStorageViewsStayWithinABudget() throws {
        // One 4-byte storage: a single 4M-element expanded view is tolerated, three are refused.
        let one = try TensorFile.load(data: legacyCheckpoint(storageCount: 1, offset: 0, sizes: [1 << 21, 2], strides: [0, 0]))
        #expect(one["w"]?.count == 1 << 22)
        let error = try #require(loadError(legacyCheckpoint(storageCount: 1, offset: 0, sizes: [1 << 21, 2], strides: [0, 0], copies: 3)))
        #expect(error.description.contains("add up"), "\(error)")
    }

    @Test func absurdRank() throws {
        let error = try #require(loadError(legacyCheckpoint(storageCount: 6, offset: 0, sizes: Array(repeating: 1, count: 100),
                                                            strides: Array(repeating: 1, count: 100))))
        #expect(error.description.contains("sizes or strides"), "\(error)")
    }

    @Test func hugeStorageDeclaredButNotPresent() throws {
        // The pickle claims 2⁶⁰ elements; the reader must refuse without trying to hold them.
        let error = try #require(loadError(legacyCheckpoint(storageCount: 1 << 60, offset: 0, sizes: [2], strides: [1],
                                                            values: [1, 2])))
        #expect(error.description.contains("legacy storage 0"), "\(error)")
    }

    @Test func storageCountDisagreesWithThePickle() throws {
        let error = try #require(loadError(legacyCheckpoint(storageCount: 6, offset: 0, sizes: [2], strides: [1], fileCount: 5)))
        #expect(error.description.contains("holds 5 elements"), "\(error)")
    }

    @Test func unknownStorageType() throws {
        let error = try #require(loadError(legacyCheckpoint(storageCount: 6, storageType: "ComplexFloatStorage", offset: 0,
                                                            sizes: [2], strides: [1])))
        #expect(error.description.contains("ComplexFloatStorage"), "\(error)")
    }

    @Test func compressedZipRecordIsAClearError() throws {
        var bytes = [UInt8](try Data(contentsOf: weightsFixture("state_zip.pt")))
        // Mark data.pkl's central-directory entry as deflated (method 8).
        let name = Array("state_zip/data.pkl".utf8)
        let signature: [UInt8] = [0x50, 0x4b, 1, 2]
        var found: Int?
        for i in 0..<(bytes.count - 46 - name.count) {
            let isEntry = Array(bytes[i..<(i + 4)]) == signature
            if isEntry, Array(bytes[(i + 46)..<(i + 46 + name.count)]) == name { found = i }
        }
        let at = try #require(found)
        bytes[at + 10] = 8
        let error = try #require(loadError(Data(bytes)))
        #expect(error.description.contains("compressed"), "\(error)")
    }

    @Test func torchScriptIsRefusedClearly() throws {
        let error = try #require(loadError(try Data(contentsOf: weightsFixture("torchscript.pt"))))
        #expect(error.description.contains("TorchScript"), "\(error)")
    }

    @Test func emptyAndUnknownFiles() throws {
        #expect(loadError(Data())?.description.contains("empty") == true)
        #expect(loadError(Data("hello, world, this is text".utf8))?.description.contains("not a weights file") == true)
        var tar = [UInt8](repeating: 0, count: 600)
        tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
        #expect(loadError(Data(tar))?.description.contains("tar") == true)
    }

    @Test func missingFileNamesThePath() {
        #expect(throws: WeightsError.self) { try TensorFile.load(contentsOf: URL(fileURLWithPath: "/nonexistent/x.pth")) }
        do { _ = try TensorFile.load(contentsOf: URL(fileURLWithPath: "/nonexistent/x.pth")) } catch {
            #expect("\(error)".contains("/nonexistent/x.pth"))
        }
    }
}
