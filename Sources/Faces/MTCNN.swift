import Foundation
import Media
import Models
import Neural
import Weights

// MARK: - Options

/// MTCNN's knobs, defaulting to facenet-pytorch's `MTCNN()`.
public struct MTCNNOptions: Sendable, Equatable {
    /// Smallest face side searched for, in pixels.
    public var minFaceSize: Int = 20
    /// Pyramid step between scales.
    public var factor: Double = 0.709
    /// Face-probability thresholds of PNet, RNet and ONet.
    public var thresholds: [Float] = [0.6, 0.7, 0.7]

    public init(minFaceSize: Int = 20, factor: Double = 0.709, thresholds: [Float] = [0.6, 0.7, 0.7]) {
        self.minFaceSize = minFaceSize
        self.factor = factor
        self.thresholds = thresholds
    }

    func validated() throws -> MTCNNOptions {
        guard minFaceSize >= 1 else { throw FacesError.invalidOption(name: "minFaceSize", reason: "must be ≥ 1") }
        guard factor > 0, factor < 1 else { throw FacesError.invalidOption(name: "factor", reason: "must be in (0, 1)") }
        guard thresholds.count == 3, thresholds.allSatisfy({ (0...1).contains($0) }) else {
            throw FacesError.invalidOption(name: "thresholds", reason: "need three probabilities in [0, 1]")
        }
        return self
    }
}

// MARK: - Detector

/// The MTCNN face detector, computing what facenet-pytorch 2.6.0's `MTCNN(keep_all=True).detect(img,
/// landmarks=True)` returns: boxes, probabilities and five landmarks per face, largest box first.
///
/// ```swift
/// let mtcnn = try MTCNN(weightsDirectory: assets.appendingPathComponent("mtcnn"))
/// for face in mtcnn.detect(try video.frame(at: 0)) { print(face.box, face.probability) }
/// ```
public final class MTCNN: Sendable {
    let pnet: MTCNNPNet
    let rnet: MTCNNRNet
    let onet: MTCNNONet
    /// The options detection runs with.
    public let options: MTCNNOptions

    /// A detector from the three networks' tensors (facenet-pytorch key names), bound strictly.
    public init(pnet: TensorFile, rnet: TensorFile, onet: TensorFile, options: MTCNNOptions = MTCNNOptions()) throws {
        self.pnet = try MTCNNPNet(tensors: pnet.namedTensors)
        self.rnet = try MTCNNRNet(tensors: rnet.namedTensors)
        self.onet = try MTCNNONet(tensors: onet.namedTensors)
        self.options = try options.validated()
    }

    /// A detector from a folder holding `pnet`, `rnet` and `onet` weights, each as `.safetensors` or as
    /// facenet-pytorch's original `.pt`.
    public convenience init(weightsDirectory: URL, options: MTCNNOptions = MTCNNOptions()) throws {
        func load(_ name: String) throws -> TensorFile {
            let candidates = ["safetensors", "pt"].map { weightsDirectory.appendingPathComponent("\(name).\($0)") }
            guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                throw FacesError.weights(file: candidates[0].path, reason: "not found (nor \(name).pt beside it)")
            }
            do { return try TensorFile.load(contentsOf: url) } catch {
                throw FacesError.weights(file: url.path, reason: "\(error)")
            }
        }
        let (p, r, o) = (try load("pnet"), try load("rnet"), try load("onet"))
        do { try self.init(pnet: p, rnet: r, onet: o, options: options) } catch let error as ModelError {
            throw FacesError.weights(file: weightsDirectory.path, reason: error.description)
        }
    }

    /// Pyramid scales for an image whose shorter side is `shortSide` (facenet's loop, in Double).
    func scales(shortSide: Int) -> [Double] {
        let m = 12.0 / Double(options.minFaceSize)
        var minl = Double(shortSide) * m
        var scale = m
        var out: [Double] = []
        while minl >= 12 {
            out.append(scale)
            scale *= options.factor
            minl *= options.factor
        }
        return out
    }

    /// All faces in `image`, largest box first; empty for images too small to hold a 12-pixel face.
    public func detect(_ image: RGBImage) -> [Face] {
        let (h, w) = (image.height, image.width)
        guard h > 0, w > 0 else { return [] }
        let t = options.thresholds

        // MARK: Stage 1: PNet over the pyramid
        var proposed: [Candidate] = []
        for scale in scales(shortSide: min(h, w)) {
            let oh = Int(Double(h) * scale + 1), ow = Int(Double(w) * scale + 1)
            let input = Tensor(shape: [1, 3, oh, ow]) { buf in
                resampleArea(image, rows: 0..<h, cols: 0..<w, outHeight: oh, outWidth: ow, into: buf.baseAddress!)
            }
            let out = pnet.detect(input)
            let (reg, prob) = (out.boxRegression, out.probabilities)
            let (ph, pw) = (reg.shape[2], reg.shape[3])
            let found = reg.data.withUnsafeBufferPointer { r in
                prob.data.withUnsafeBufferPointer { p in
                    proposals(regression: r, faceProbability: UnsafeBufferPointer(rebasing: p[(ph * pw)..<(2 * ph * pw)]),
                              height: ph, width: pw, scale: scale, threshold: t[0])
                }
            }
            proposed += nmsUnion(found, threshold: 0.5).map { found[$0] }
        }
        var boxes = nmsUnion(proposed, threshold: 0.7).map { proposed[$0].regressedStage1().squared() }
        guard !boxes.isEmpty else { return [] }

        // MARK: Stage 2: RNet on 24×24 crops
        do {
            let (kept, input) = crops(image, boxes, size: 24)
            guard !kept.isEmpty else { return [] }
            let out = rnet.detect(input)
            let (reg, prob) = (out.boxRegression, out.probabilities)
            var passed: [Candidate] = []
            for (k, box) in kept.enumerated() where prob.data[2 * k + 1] > t[1] {
                passed.append(Candidate(x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: prob.data[2 * k + 1],
                                        reg: (reg.data[4 * k], reg.data[4 * k + 1], reg.data[4 * k + 2], reg.data[4 * k + 3])))
            }
            boxes = nmsUnion(passed, threshold: 0.7).map { passed[$0].regressed(by: passed[$0].reg).squared() }
        }
        guard !boxes.isEmpty else { return [] }

        // MARK: Stage 3: ONet on 48×48 crops, landmarks
        let (kept, input) = crops(image, boxes, size: 48)
        guard !kept.isEmpty else { return [] }
        let out = onet.detect(input)
        guard let marks = out.landmarks else { return [] }
        let (reg, prob) = (out.boxRegression, out.probabilities)
        var finals: [Candidate] = []
        var points: [[FacePoint]] = []
        for (k, box) in kept.enumerated() where prob.data[2 * k + 1] > t[2] {
            let scored = Candidate(x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: prob.data[2 * k + 1])
            // Landmarks are placed in the box before its regression, with facenet's +1/−1 pixel convention.
            let bw = scored.x2 - scored.x1 + 1, bh = scored.y2 - scored.y1 + 1
            points.append((0..<5).map { j in
                FacePoint(x: bw * marks.data[10 * k + j] + scored.x1 - 1, y: bh * marks.data[10 * k + 5 + j] + scored.y1 - 1)
            })
            finals.append(scored.regressed(by: (reg.data[4 * k], reg.data[4 * k + 1], reg.data[4 * k + 2], reg.data[4 * k + 3])))
        }
        let picks = nmsMin(finals, threshold: 0.7)
        let faces = picks.map { i in
            Face(box: FaceBox(x1: finals[i].x1, y1: finals[i].y1, x2: finals[i].x2, y2: finals[i].y2),
                 probability: finals[i].score, landmarks: points[i])
        }
        // MTCNN.detect with select_largest: np.argsort(area)[::-1], i.e. ties end up in reverse pick order.
        let ascending = faces.indices.sorted { (faces[$0].box.width * faces[$0].box.height, $0)
            < (faces[$1].box.width * faces[$1].box.height, $1) }
        return ascending.reversed().map { faces[$0] }
    }

    /// The pixel regions of `boxes` (facenet's `pad`), each resampled to `size`², batched; boxes with no pixel
    /// inside the image are dropped.
    private func crops(_ image: RGBImage, _ boxes: [Candidate], size: Int) -> ([Candidate], Tensor) {
        let regions = boxes.map { $0.pixelRegion(width: image.width, height: image.height) }
        let kept = zip(boxes, regions).compactMap { $1 == nil ? nil : $0 }
        let valid = regions.compactMap { $0 }
        let plane = 3 * size * size
        let input = Tensor(shape: [valid.count, 3, size, size]) { buf in
            for (k, region) in valid.enumerated() {
                resampleArea(image, rows: region.rows, cols: region.cols, outHeight: size, outWidth: size,
                             into: buf.baseAddress! + k * plane)
            }
        }
        return (kept, input)
    }
}
