// Metrics: the validation numbers the trainer reports and the README records (AUC, accuracy, confusion).
import Foundation

/// Area under the ROC curve of `scores` for binary `labels` (1 = positive), ties counted half (Mann–Whitney).
public func rocAUC(scores: [Double], labels: [Int]) -> Double {
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var ranks = [Double](repeating: 0, count: scores.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let r = Double(i + j) / 2 + 1
        for k in i...j { ranks[order[k]] = r }
        i = j + 1
    }
    let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
    guard positives > 0 && negatives > 0 else { return .nan }
    let rankSum = zip(ranks, labels).filter { $0.1 == 1 }.map(\.0).reduce(0, +)
    return (rankSum - Double(positives * (positives + 1)) / 2) / Double(positives * negatives)
}

/// counts[truth][predicted] over `classes` classes.
public func confusionMatrix(truth: [Int], predicted: [Int], classes: Int) -> [[Int]] {
    var m = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    for (t, p) in zip(truth, predicted) { m[t][p] += 1 }
    return m
}
