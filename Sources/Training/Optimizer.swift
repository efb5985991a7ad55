// Optimizer: SGD with momentum and AdamW over named parameters, with PyTorch's update rules, plus the
// cosine learning-rate schedule; state is plain arrays so checkpoints can save and restore it exactly.
import Foundation
import Neural

// MARK: - Schedule

/// Cosine annealing from `base` to `floor` over `total` steps after `warmup` linear warm-up steps.
public struct CosineSchedule: Sendable, Equatable {
    public var base: Double, floor: Double, total: Int, warmup: Int

    public init(base: Double, floor: Double = 0, total: Int, warmup: Int = 0) {
        self.base = base; self.floor = floor; self.total = max(total, 1); self.warmup = max(warmup, 0)
    }

    /// The learning rate for step `step` (0-based).
    public func rate(at step: Int) -> Double {
        if step < warmup { return base * Double(step + 1) / Double(warmup) }
        let t = Double(min(step - warmup, total - warmup)) / Double(max(total - warmup, 1))
        return floor + 0.5 * (base - floor) * (1 + cos(Double.pi * t))
    }
}

// MARK: - Optimizers

/// Which update rule, with its hyper-parameters.
public enum OptimizerKind: Sendable, Equatable {
    /// PyTorch SGD: v = μ·v + (g + λ·p); p −= lr·v (weight decay coupled to the gradient).
    case sgd(momentum: Double, weightDecay: Double)
    /// PyTorch AdamW: p −= lr·λ·p, then the Adam step with bias-corrected moments.
    case adamW(beta1: Double, beta2: Double, eps: Double, weightDecay: Double)
}

/// An optimiser over a fixed list of parameter tensors (indexed as the model lists them).
public struct Optimizer: Sendable {
    public let kind: OptimizerKind
    /// Completed steps (Adam's bias correction uses it).
    public private(set) var step: Int = 0
    var first: [[Float]]
    var second: [[Float]]

    public init(kind: OptimizerKind, shapes: [[Int]]) {
        self.kind = kind
        first = shapes.map { [Float](repeating: 0, count: $0.reduce(1, *)) }
        if case .adamW = kind {
            second = shapes.map { [Float](repeating: 0, count: $0.reduce(1, *)) }
        } else {
            second = []
        }
    }

    /// Applies one update with learning rate `lr`. `decays[i]` false exempts a parameter from weight decay
    /// (biases and batch-norm affine parameters, as the usual recipes do).
    public mutating func update(_ params: inout [Tensor], gradients: [Tensor], lr: Double, decays: [Bool]) {
        precondition(params.count == gradients.count && params.count == first.count, "Optimizer.update: count mismatch")
        step += 1
        switch kind {
        case .sgd(let mu, let wd):
            for i in params.indices {
                let lambda = decays[i] ? Float(wd) : 0, m = Float(mu), rate = Float(lr)
                params[i].data.withUnsafeMutableBufferPointer { p in
                    gradients[i].data.withUnsafeBufferPointer { g in
                        first[i].withUnsafeMutableBufferPointer { v in
                            for j in 0..<p.count {
                                let d = g[j] + lambda * p[j]
                                // PyTorch starts the momentum buffer at the first gradient, not at zero.
                                v[j] = step == 1 ? d : m * v[j] + d
                                p[j] -= rate * v[j]
                            }
                        }
                    }
                }
            }
        case .adamW(let b1, let b2, let eps, let wd):
            let c1 = 1 - Foundation.pow(b1, Double(step)), c2 = 1 - Foundation.pow(b2, Double(step))
            let stepSize = Float(lr / c1), root2 = Float(c2.squareRoot())
            for i in params.indices {
                let decay = decays[i] ? Float(1 - lr * wd) : 1
                let (fb1, fb2, feps) = (Float(b1), Float(b2), Float(eps))
                params[i].data.withUnsafeMutableBufferPointer { p in
                    gradients[i].data.withUnsafeBufferPointer { g in
                        first[i].withUnsafeMutableBufferPointer { m in
                            second[i].withUnsafeMutableBufferPointer { v in
                                for j in 0..<p.count {
                                    p[j] *= decay
                                    m[j] = fb1 * m[j] + (1 - fb1) * g[j]
                                    v[j] = fb2 * v[j] + (1 - fb2) * g[j] * g[j]
                                    p[j] -= stepSize * m[j] / (v[j].squareRoot() / root2 + feps)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The state as named tensors for a checkpoint (`optim.first.i`, `optim.second.i`, `optim.step`).
    public func stateTensors() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = [("optim.step", Tensor(shape: [1], data: [Float(step)]))]
        for (i, f) in first.enumerated() { out.append(("optim.first.\(i)", Tensor(shape: [f.count], data: f))) }
        for (i, s) in second.enumerated() { out.append(("optim.second.\(i)", Tensor(shape: [s.count], data: s))) }
        return out
    }

    /// Restores state written by `stateTensors()`.
    public mutating func restore(from tensors: [String: Tensor]) throws {
        guard let s = tensors["optim.step"]?.data.first else { throw TrainingError.invalidOption("checkpoint lacks optim.step") }
        step = Int(s)
        for i in first.indices {
            guard let t = tensors["optim.first.\(i)"], t.count == first[i].count else {
                throw TrainingError.invalidOption("checkpoint lacks or mis-sizes optim.first.\(i)")
            }
            first[i] = t.data
        }
        for i in second.indices {
            guard let t = tensors["optim.second.\(i)"], t.count == second[i].count else {
                throw TrainingError.invalidOption("checkpoint lacks or mis-sizes optim.second.\(i)")
            }
            second[i] = t.data
        }
    }
}
