// Heads against scikit-learn's classifiers and the ArcFace formula, and the p_fake definitions.
@testable import Detection
import Foundation
import Neural
import Testing
import TestSupport

@Suite(.timeLimit(.minutes(1))) struct HeadTests {
    let fixture: [String: Any]
    let queries: Tensor
    init() throws {
        fixture = try jsonFixture("heads/heads.json")
        let rows = (fixture["queries"] as! [[NSNumber]]).map { $0.map(\.floatValue) }
        queries = Tensor(shape: [rows.count, rows[0].count], data: rows.flatMap { $0 })
    }

    func head(_ kind: HeadKind, _ classes: [String], _ file: String) throws -> Head {
        try Head(OutputSpec(kind: kind, classes: classes, parameters: detectionFixture("heads/\(file).safetensors")), detector: "test")
    }

    func table(_ key: String) -> [[Float]] { (fixture[key] as! [[NSNumber]]).map { $0.map(\.floatValue) } }

    @Test func logisticRegressionMatchesPredictProba() throws {
        let out = try head(.embedding(.logistic, k: 5), ["real", "fake"], "logistic").outputs(queries)
        for (o, p) in zip(out, table("logistic")) {
            expectClose(o.classProbabilities, p, atol: 1e-5, rtol: 1e-4, "binary logistic")
            #expect(abs(o.probability - p[1]) < 1e-5)
        }
        let three = try head(.embedding(.logistic, k: 5), ["real", "df", "f2f"], "logistic3").outputs(queries)
        for (o, p) in zip(three, table("logistic3")) {
            expectClose(o.classProbabilities, p, atol: 1e-5, rtol: 1e-4, "multinomial logistic")
            #expect(abs(o.probability - (1 - p[0])) < 1e-5)
            #expect(o.predicted == p.indices.max { p[$0] < p[$1] }!)
        }
    }

    @Test func linearSVMUsesTheDecisionFunction() throws {
        let out = try head(.embedding(.linearSVM, k: 5), ["real", "fake"], "svm").outputs(queries)
        let decision = (fixture["svm"] as! [NSNumber]).map(\.floatValue)
        expectClose(out.map(\.logit), decision, atol: 1e-4, rtol: 1e-4, "decision values")
        for (o, d) in zip(out, decision) { #expect(o.predicted == (d >= 0 ? 1 : 0)) }
    }

    @Test func knnVotesLikeScikitLearn() throws {
        let out = try head(.embedding(.knn, k: 5), ["real", "df", "f2f"], "knn").outputs(queries)
        for (o, p) in zip(out, table("knn")) {
            expectClose(o.classProbabilities, p, atol: 1e-6, rtol: 0, "knn votes")
            #expect(abs(o.probability - (1 - p[0])) < 1e-6)
            #expect(o.logit.isFinite)
        }
    }

    @Test func cosineHeadIsScaledCosineSoftmax() throws {
        let out = try head(.cosine(scale: 16), ["real", "df", "f2f"], "cosine").outputs(queries)
        for (o, p) in zip(out, table("cosine")) { expectClose(o.classProbabilities, p, atol: 1e-5, rtol: 1e-4, "cosine") }
    }

    @Test func sigmoidAndSoftmaxDefinitions() throws {
        let sig = try Head(OutputSpec(kind: .sigmoidLogit, classes: ["fake", "real"]), detector: "t")
            .outputs(Tensor(shape: [2, 1], data: [2, -800]))
        #expect(abs(sig[0].probability - Float(1 / (1 + exp(-2.0)))) < 1e-7)
        #expect(sig[0].classProbabilities[0] == sig[0].probability && sig[0].predicted == 0)   // "real" is class 1 here
        #expect(sig[1].probability == 0 && sig[1].predicted == 1 && sig[1].logit == -800)
        let soft = try Head(OutputSpec(kind: .softmax, classes: ["real", "a", "b"]), detector: "t")
            .outputs(Tensor(shape: [1, 3], data: [1, 2, 3]))[0]
        let e = [exp(1.0), exp(2.0), exp(3.0)], s = e.reduce(0, +)
        #expect(abs(Double(soft.probability) - (e[1] + e[2]) / s) < 1e-6)
        #expect(abs(Double(soft.logit) - log((e[1] + e[2]) / e[0])) < 1e-5)
        #expect(soft.predicted == 2)
        // A huge logit gap stays finite.
        let extreme = try Head(OutputSpec(kind: .softmax), detector: "t").outputs(Tensor(shape: [1, 2], data: [-500, 500]))[0]
        #expect(extreme.logit == 1000 && extreme.probability == 1)
    }

    @Test func mismatchedWidthsAreClearErrors() throws {
        let soft = try Head(OutputSpec(kind: .softmax, classes: ["real", "a", "b"]), detector: "d")
        #expect(throws: DetectionError.head(detector: "d", reason: "the network gives 2 outputs per face; a softmax head needs 3 (one per class)")) {
            try soft.outputs(Tensor(shape: [1, 2]))
        }
        #expect(throws: DetectionError.self) { try head(.cosine(scale: 1), ["real", "fake"], "logistic") }   // one row
        #expect(throws: DetectionError.self) {
            try Head(OutputSpec(kind: .cosine(scale: 1), parameters: URL(fileURLWithPath: "/nonexistent.safetensors")), detector: "d")
        }
    }
}
