// Evaluation metrics against scikit-learn on the same scores (Tests/Fixtures/make_detection_metrics.py).
import Detection
import Foundation
import Testing
import TestSupport

@Suite(.timeLimit(.minutes(1))) struct MetricsTests {
    static let cases = ["random", "ties", "perfect", "extremes", "single"]

    func close(_ a: Double?, _ b: Double?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        switch (a, b) {
        case (nil, nil): break
        case (let x?, let y?): #expect(abs(x - y) <= 1e-9 + 1e-9 * abs(y), "\(what): \(x) vs \(y)", sourceLocation: sourceLocation)
        default: Issue.record("\(what): \(String(describing: a)) vs \(String(describing: b))", sourceLocation: sourceLocation)
        }
    }

    func checkThreshold(_ t: ThresholdMetrics, _ e: [String: Any], _ name: String) {
        let n = { (k: String) in (e[k] as? NSNumber)?.doubleValue }
        for (k, v) in [("accuracy", t.accuracy), ("precision", t.precision), ("recall", t.recall), ("f1", t.f1)] {
            close(v, n(k), "\(name) \(k)")
        }
        close(t.fpr, n("fpr"), "\(name) fpr"); close(t.fnr, n("fnr"), "\(name) fnr"); close(t.hter, n("hter"), "\(name) hter")
        #expect([t.truePositives, t.falsePositives, t.trueNegatives, t.falseNegatives]
                == ["tp", "fp", "tn", "fn"].map { (e[$0] as! NSNumber).intValue }, "\(name) confusion")
    }

    @Test(arguments: cases) func equalsScikitLearn(_ name: String) throws {
        let c = try #require(try jsonFixture("metrics.json")[name] as? [String: Any])
        let labels = (c["labels"] as! [NSNumber]).map(\.intValue)
        let scores = (c["scores"] as! [NSNumber]).map(\.doubleValue)
        let m = try BinaryMetrics(labels: labels, scores: scores)
        close(m.logLoss, (c["log_loss"] as! NSNumber).doubleValue, "log loss")
        checkThreshold(m.atHalf, c["at_half"] as! [String: Any], "@0.5")
        close(m.auc, (c["auc"] as? NSNumber)?.doubleValue, "auc")
        guard let roc = c["roc"] as? [String: Any] else {
            #expect(m.auc == nil && m.eer == nil && m.roc.isEmpty && m.note?.contains("only one class") == true)
            return
        }
        close(m.eer, (c["eer"] as! NSNumber).doubleValue, "eer")
        close(m.eerThreshold.flatMap { $0.isFinite ? $0 : nil }, (c["eer_threshold"] as? NSNumber)?.doubleValue, "eer threshold")
        checkThreshold(try #require(m.atEER), c["at_eer"] as! [String: Any], "@EER")
        #expect(m.roc.map(\.fpr) == doubles(roc["fpr"]).map { $0! })
        #expect(m.roc.map(\.tpr) == doubles(roc["tpr"]).map { $0! })
        #expect(m.roc.map { $0.threshold.isFinite ? $0.threshold : nil } == doubles(roc["thresholds"]))
    }

    @Test func badInputIsAClearError() {
        #expect(throws: DetectionError.evaluation("no scored items to evaluate")) { try BinaryMetrics(labels: [], scores: []) }
        #expect(throws: DetectionError.evaluation("labels must be 0 (real) or 1 (fake)")) { try BinaryMetrics(labels: [2], scores: [0.5]) }
        #expect(throws: DetectionError.evaluation("scores must be probabilities in [0, 1]")) { try BinaryMetrics(labels: [1], scores: [.nan]) }
    }
}
