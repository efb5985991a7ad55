import Foundation

// MARK: - Metrics at a threshold

/// Confusion counts and the rates derived from them, with "fake" (label 1) as the positive class and a score
/// ≥ threshold predicted fake (scikit-learn's convention in `roc_curve`).
public struct ThresholdMetrics: Sendable, Equatable {
    public var threshold: Double
    public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0
    public var accuracy: Double
    /// 0 when nothing is predicted fake (scikit-learn's `zero_division=0`).
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// nil when the list has no real (for FPR) or no fake (for FNR) items.
    public var fpr: Double?
    public var fnr: Double?
    /// (FPR + FNR) / 2.
    public var hter: Double?

    init(labels: [Int], scores: [Double], threshold: Double) {
        self.threshold = threshold
        for (y, s) in zip(labels, scores) {
            let fake = s >= threshold
            switch (y == 1, fake) {
            case (true, true): truePositives += 1
            case (true, false): falseNegatives += 1
            case (false, true): falsePositives += 1
            case (false, false): trueNegatives += 1
            }
        }
        let (tp, fp, tn, fn) = (Double(truePositives), Double(falsePositives), Double(trueNegatives), Double(falseNegatives))
        accuracy = labels.isEmpty ? 0 : (tp + tn) / Double(labels.count)
        precision = tp + fp > 0 ? tp / (tp + fp) : 0
        recall = tp + fn > 0 ? tp / (tp + fn) : 0
        f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0
        fpr = fp + tn > 0 ? fp / (fp + tn) : nil
        fnr = tp + fn > 0 ? fn / (tp + fn) : nil
        if let a = fpr, let b = fnr { hter = (a + b) / 2 }
    }
}

// MARK: - Binary metrics

/// One point of a ROC curve: predicting fake at score ≥ `threshold` gives these rates.
public struct ROCPoint: Sendable, Equatable {
    public var fpr: Double, tpr: Double, threshold: Double
}

/// The columns of detector papers' tables over labelled scores (label 1 = fake, scores = p_fake).
///
/// AUC, the ROC and EER need both classes; with one class they are nil and `note` says why, while the
/// threshold metrics and log loss are still defined.
public struct BinaryMetrics: Sendable, Equatable {
    public var count: Int, positives: Int, negatives: Int
    /// Area under the ROC (trapezoids over every distinct threshold, as `sklearn.metrics.roc_auc_score`).
    public var auc: Double?
    /// The equal error rate: at the ROC threshold where |FNR − FPR| is smallest (the first such), (FPR + FNR) / 2.
    public var eer: Double?
    public var eerThreshold: Double?
    /// Cross-entropy with p clipped to [ε, 1 − ε], ε = 2⁻⁵² (`sklearn.metrics.log_loss` on float64).
    public var logLoss: Double
    public var atHalf: ThresholdMetrics
    public var atEER: ThresholdMetrics?
    /// `sklearn.metrics.roc_curve(drop_intermediate=False)`: (0, 0) at threshold +∞, then one point per
    /// distinct score, highest first.
    public var roc: [ROCPoint]
    public var note: String?

    /// - Throws: `DetectionError.evaluation` for an empty list, mismatched lengths, labels other than 0/1 or
    ///   scores outside [0, 1].
    public init(labels: [Int], scores: [Double]) throws {
        guard !labels.isEmpty else { throw DetectionError.evaluation("no scored items to evaluate") }
        guard labels.count == scores.count else { throw DetectionError.evaluation("\(labels.count) labels for \(scores.count) scores") }
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw DetectionError.evaluation("labels must be 0 (real) or 1 (fake)") }
        guard scores.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
            throw DetectionError.evaluation("scores must be probabilities in [0, 1]")
        }
        count = labels.count
        positives = labels.filter { $0 == 1 }.count
        negatives = count - positives
        let eps = Double.ulpOfOne
        logLoss = zip(labels, scores).reduce(0.0) { acc, pair in
            let p = min(max(pair.1, eps), 1 - eps)
            return acc - (pair.0 == 1 ? Foundation.log(p) : Foundation.log(1 - p))
        } / Double(count)
        atHalf = ThresholdMetrics(labels: labels, scores: scores, threshold: 0.5)
        roc = []
        guard positives > 0, negatives > 0 else {
            note = "only one class (\(positives > 0 ? "fake" : "real")) in the list: AUC, ROC and EER are undefined"
            return
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0
        roc.append(ROCPoint(fpr: 0, tpr: 0, threshold: .infinity))
        var i = 0
        while i < order.count {
            let t = scores[order[i]]
            while i < order.count, scores[order[i]] == t {
                if labels[order[i]] == 1 { tp += 1 } else { fp += 1 }
                i += 1
            }
            roc.append(ROCPoint(fpr: Double(fp) / Double(negatives), tpr: Double(tp) / Double(positives), threshold: t))
        }
        var area = 0.0
        for (a, b) in zip(roc, roc.dropFirst()) { area += (b.fpr - a.fpr) * (a.tpr + b.tpr) / 2 }
        auc = area
        var best = 0
        for (j, p) in roc.enumerated() where abs((1 - p.tpr) - p.fpr) < abs((1 - roc[best].tpr) - roc[best].fpr) { best = j }
        eer = (roc[best].fpr + (1 - roc[best].tpr)) / 2
        eerThreshold = roc[best].threshold
        atEER = ThresholdMetrics(labels: labels, scores: scores, threshold: roc[best].threshold)
    }
}
