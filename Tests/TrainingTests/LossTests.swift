// Losses against PyTorch autograd (golden file from make_train_losses.py) and central finite differences.
import Foundation
import Neural
import TestSupport
import Testing
@testable import Training

@Suite(.timeLimit(.minutes(1)))
struct LossTests {
    let golden: [String: [String: Any]] = {
        let data = try! Data(contentsOf: fixtureURL("train/losses.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }()

    func floats(_ case: String, _ key: String) -> [Float] { (golden[`case`]![key] as! [Double]).map(Float.init) }
    func ints(_ case: String, _ key: String) -> [Int] { golden[`case`]![key] as! [Int] }
    func value(_ case: String, _ key: String) -> Double { golden[`case`]![key] as! Double }

    /// Central differences of `f` at `x` (Double arithmetic inside the losses, so h can be small).
    func numericGradient(_ x: Tensor, _ f: (Tensor) -> Double, h: Float = 1e-3) -> [Float] {
        (0..<x.count).map { i in
            var a = x, b = x
            a.data[i] += h; b.data[i] -= h
            return Float((f(a) - f(b)) / Double(2 * h))
        }
    }

    func check(_ name: String, input: Tensor, _ loss: (Tensor) -> LossResult) {
        let r = loss(input)
        #expect(abs(r.value - value(name, "loss")) < 1e-5, "\(name): loss \(r.value) vs PyTorch \(value(name, "loss"))")
        expectClose(r.gradient.data, floats(name, "grad"), atol: 1e-5, rtol: 1e-4)
        expectClose(r.gradient.data, numericGradient(input) { loss($0).value }, atol: 2e-3, rtol: 1e-2)
    }

    @Test func binaryCrossEntropy() {
        let t = floats("bce", "targets")
        check("bce", input: Tensor(shape: [6], data: floats("bce", "logits"))) { bceWithLogits($0, targets: t) }
    }

    @Test func focal() {
        let t = floats("focal", "targets")
        check("focal", input: Tensor(shape: [6], data: floats("focal", "logits"))) {
            binaryFocal($0, targets: t, gamma: 2, alpha: 0.25)
        }
    }

    @Test func softmaxCE() {
        let l = ints("softmax_ce", "labels")
        check("softmax_ce", input: Tensor(shape: [5, 4], data: floats("softmax_ce", "logits"))) {
            softmaxCrossEntropy($0, labels: l)
        }
    }

    @Test(arguments: ["arcface", "arcfacemod"]) func arcFaceMargins(name: String) {
        let l = ints(name, "labels")
        let m = (golden[name]!["margins"] as! [Double])
        check(name, input: Tensor(shape: [5, 3], data: floats(name, "cosines"))) {
            arcFace($0, labels: l, scale: 30, margins: m)
        }
    }

    @Test func tripletSemiHard() {
        let l = ints("triplet", "labels")
        let margin = value("triplet", "margin")
        let e = Tensor(shape: [8, 4], data: floats("triplet", "embeddings"))
        let r = semiHardTriplet(e, labels: l, margin: margin)
        #expect(abs(r.value - value("triplet", "loss")) < 1e-5)
        expectClose(r.gradient.data, floats("triplet", "grad"), atol: 1e-5, rtol: 1e-4)
        // Finite differences only hold while the mined triplets stay the same, which a small step keeps.
        expectClose(r.gradient.data, numericGradient(e, { semiHardTriplet($0, labels: l, margin: margin).value }, h: 1e-4),
                    atol: 5e-3, rtol: 2e-2)
        #expect(r.value > 0)
    }

    @Test func arcFaceModPenalisesRealMoreThanFake() {
        // Same cosine to the true class: a real sample (larger margin) must cost more than a fake one.
        let c = Tensor(shape: [2, 2], data: [0.6, 0.1, 0.1, 0.6])
        let real = arcFace(Tensor(shape: [1, 2], data: [0.6, 0.1]), labels: [0], margins: [0.7, 0.3]).value
        let fake = arcFace(Tensor(shape: [1, 2], data: [0.1, 0.6]), labels: [1], margins: [0.7, 0.3]).value
        #expect(real > fake)
        #expect(arcFace(c, labels: [0, 1], margins: [0.5]).value > softmaxCrossEntropy(
            Tensor(shape: [2, 2], data: c.data.map { $0 * 30 }), labels: [0, 1]).value)
    }
}
