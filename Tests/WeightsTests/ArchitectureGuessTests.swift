import Foundation
import Testing
import TestSupport
@testable import Weights

/// Key lists recorded from the libraries that define each architecture (timm, efficientnet_pytorch, torchvision,
/// facenet-pytorch, the MesoNet port) are recognised as what was built.
@Suite struct ArchitectureGuessTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var names: [String]
        var shapes: [String: [Int]]
        var expected: ArchitectureGuess?
        var testDescription: String { label }
    }

    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: fixtureURL("weights/architectures.json")),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
        return list.map { c in
            let names = c["names"] as? [String] ?? []
            let shapeList = c["shapes"] as? [Any] ?? []
            var shapes: [String: [Int]] = [:]
            for (name, shape) in zip(names, shapeList) {
                if let dims = shape as? [NSNumber] { shapes[name] = dims.map(\.intValue) }
            }
            var expected: ArchitectureGuess?
            if let e = c["expect"] as? [String: Any] {
                expected = ArchitectureGuess(
                    architecture: e["architecture"] as? String ?? "", variant: e["variant"] as? String,
                    layout: e["layout"] as? String, backbonePrefix: e["backbonePrefix"] as? String ?? "",
                    outputs: (e["outputs"] as? NSNumber)?.intValue, evidence: "")
            }
            return Case(label: c["label"] as? String ?? "?", names: names, shapes: shapes, expected: expected)
        }
    }()

    @Test func fixtureIsPresent() { #expect(Self.cases.count >= 30) }

    @Test(arguments: cases)
    func recognises(_ c: Case) {
        var guess = ArchitectureGuess.guess(names: c.names, shapes: c.shapes)
        if let evidence = guess?.evidence {
            #expect(!evidence.isEmpty)
            // Every family's evidence states a count or a key pattern, never a zero count from a broken matcher.
            #expect(!evidence.hasPrefix("0 "), "\(c.label): \(evidence)")
        }
        if c.label == "timm legacy_xception" { #expect(guess?.evidence.hasPrefix("12 blockN.rep") == true, "\(guess?.evidence ?? "")") }
        guess?.evidence = ""
        #expect(guess == c.expected, "\(c.label): \(guess?.summary ?? "nothing")")
    }

    @Test func summaryReadsWell() {
        let g = ArchitectureGuess(architecture: "efficientnet-autoatt", variant: "b4", layout: "efficientnet_pytorch",
                                  backbonePrefix: "efficientnet.", outputs: 1, evidence: "")
        #expect(g.summary == "efficientnet-autoatt b4 (efficientnet_pytorch layout, prefix 'efficientnet.', 1 output)")
    }

    @Test func guessesFromALoadedFile() throws {
        // The legacy MTCNN-free fixture is a TinyNet: conv1/bn1/fc, none of the known families.
        #expect(ArchitectureGuess.guess(try TensorFile.load(contentsOf: weightsFixture("state_zip.pt"))) == nil)
    }
}
