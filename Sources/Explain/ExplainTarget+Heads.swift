// The scores explainers attribute, for the heads deepscope runs: single-logit (binary extension) and softmax.
import Neural

// MARK: - Standard targets

extension ExplainTarget {
    /// The predicted class: +z for a single-logit detector (its "fake" map), else the argmax logit of each item.
    public static let predicted = ExplainTarget(name: "predicted") { logits, g in
        let k = logits.shape[1]
        guard k > 1 else { return g.reshape(logits, [logits.shape[0]]) }
        var mask = Tensor(shape: logits.shape)
        for i in 0..<logits.shape[0] {
            let row = logits.tensor.data[(i * k)..<((i + 1) * k)]
            mask.data[row.indices.max { row[$0] < row[$1] }!] = 1  // slice indices are absolute
        }
        return pick(logits, mask: mask, in: g)
    }

    /// Class `index`: on a single-logit detector 1 is y = +z ("fake") and 0 is y = −z ("real"), the binary
    /// extension; on a softmax head the class's pre-softmax logit. An index the head lacks scores zero, so the
    /// caller checks it against the logits (`isValid(_:classes:)`).
    public static func classIndex(_ index: Int) -> ExplainTarget {
        ExplainTarget(name: "class \(index)") { logits, g in
            let (n, k) = (logits.shape[0], logits.shape[1])
            if k == 1 {
                let z = g.reshape(logits, [n])
                return index == 0 ? g.affine(z, scale: -1) : index == 1 ? z : g.affine(z, scale: 0)
            }
            var mask = Tensor(shape: logits.shape)
            if (0..<k).contains(index) { for i in 0..<n { mask.data[i * k + index] = 1 } }
            return pick(logits, mask: mask, in: g)
        }
    }

    /// "Fake" of a single-logit detector (y = +z).
    public static let fake = classIndex(1)
    /// "Real" of a single-logit detector (y = −z): the negated-gradient map of the binary extension.
    public static let real = classIndex(0)

    /// Whether `classIndex(index)` names an output of a head with `classes` logits (2 for a single logit).
    public static func isValid(_ index: Int, classes: Int) -> Bool {
        index >= 0 && index < max(classes, 2)
    }
}

/// Σ_k mask·logits per item: the logit the one-hot mask selects, differentiable.
private func pick(_ logits: Variable, mask: Tensor, in g: Graph) -> Variable {
    g.sum(g.multiply(logits, g.constant(mask)), axes: [1], keepDims: false)
}
