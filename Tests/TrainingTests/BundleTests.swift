// Bundles written by the trainer load through Detection (manifest, float16 weights, k-NN head) and score as
// the trainer's own inference does.
import Detection
import Foundation
import Neural
import TestSupport
import Testing
@testable import Training

@Suite(.timeLimit(.minutes(1)))
struct BundleTests {
    @Test(arguments: [NetHead.autoatt, .softmax, .ltpa, .embedding])
    func bundleLoadsInDetection(head: NetHead) throws {
        let dir = try makeTemporaryDirectory("bundle-\(head)")
        let outputs = head == .softmax ? 6 : head == .embedding ? 8 : 1
        let net = try TrainableNet(variant: "w0.1d0.1r32", head: head, outputs: outputs, seed: 5)
        let crops = toyCrops(count: 6, size: 32, classes: 2)
        let classes = outputs == 6 ? ["real"] + ForgeryMethod.allCases.dropFirst().map(\.rawValue) : ["real", "fake"]
        var d = BundleDescription(name: "test \(head)", classes: head == .embedding ? ["real", "fake"] : classes)
        d.k = 1
        let ours = inferenceOutputs(net, crops.images)
        try writeBundle(net, d, to: dir, gallery: head == .embedding ? (ours, crops.labels) : nil)

        let detector = try Detector.load(spec: dir.path, weights: nil)
        #expect(detector.manifest.input.size == 32)
        let raw = detector.run(detector.preprocess(crops.images))
        // float16 storage rounds the weights: a loose tolerance, still far tighter than any real disagreement.
        expectClose(raw.data, ours.data, atol: 2e-2, rtol: 2e-2, "\(head)")
        let scored = try detector.score(detector.preprocess(crops.images))
        #expect(scored.count == crops.count)
        if head == .embedding {
            // 1-NN against a gallery of the same crops finds each crop itself.
            #expect(scored.map(\.predicted) == crops.labels)
        }
    }
}
