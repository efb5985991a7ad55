// The video coalition game of 3-D Kernel SHAP: a coalition of supervoxels keeps their pixels, the rest of
// the clip is replaced, and the value is the detector's explained score averaged over the clip's frames.
import Media
import Models
import Neural

/// How hidden supervoxels are filled.
public enum SHAPMask: String, Sendable, CaseIterable {
    /// A Gaussian-blurred copy of the clip (each frame blurred in space): removes detail, keeps the layout.
    case blur
    /// Each supervoxel's own mean colour (LIME's convention): removes texture and motion inside it.
    case mean
}

/// Turns RGB crops into the detector's input tensor (N×3×H×W): the detector's own resize and normalisation.
public typealias SHAPPreprocess = @Sendable ([RGBImage]) throws -> Tensor

// MARK: - The game

/// One clip's game: which pixels each player owns, what replaces them, and the network that scores a coalition.
struct SHAPVideoGame {
    let crops: [RGBImage]
    let segments: Supervoxels
    let background: [RGBImage]
    let network: Network
    let target: ExplainTarget
    let preprocess: SHAPPreprocess
    /// Images per forward pass; a batch holds whole coalitions (all T frames of each).
    let batchImages: Int

    init(crops: [RGBImage], segments: Supervoxels, mask: SHAPMask, blurSigma: Double, network: Network,
         target: ExplainTarget, preprocess: @escaping SHAPPreprocess, batchImages: Int) {
        self.crops = crops
        self.segments = segments
        switch mask {
        case .blur: background = crops.map { SHAPVideoGame.blurred($0, sigma: blurSigma) }
        case .mean: background = SHAPVideoGame.segmentMeans(crops, segments)
        }
        self.network = network
        self.target = target
        self.preprocess = preprocess
        self.batchImages = batchImages
    }

    /// The values of `masks`, evaluating each distinct coalition once, in batches; `done` is called after each
    /// batch with the number of coalitions finished so far.
    func values(of masks: [[Bool]], cancellation: Cancellation, done: (Int) -> Void) throws -> [Double] {
        var index: [MaskKey: Int] = [:]
        var distinct: [[Bool]] = []
        let slots = masks.map { mask -> Int in
            let key = MaskKey(mask)
            if let i = index[key] { return i }
            index[key] = distinct.count
            distinct.append(mask)
            return distinct.count - 1
        }
        let frames = crops.count
        let perBatch = max(1, batchImages / frames)
        var results = [Double](repeating: 0, count: distinct.count)
        var start = 0
        while start < distinct.count {
            if cancellation.isCancelled { throw ExplainError.cancelled }
            let end = min(start + perBatch, distinct.count)
            var images: [RGBImage] = []
            images.reserveCapacity((end - start) * frames)
            for c in start..<end { images += masked(distinct[c]) }
            let input = try preprocess(images)
            precondition(input.rank == 4 && input.shape[0] == images.count,
                         "SHAP: preprocess gave \(input.shape) for \(images.count) images")
            let g = Graph(recording: false)
            let scores = target.score(g.constant(forwardImagewise(network, input)), g).tensor.data
            precondition(scores.count == images.count, "SHAP: target gave \(scores.count) scores for \(images.count) images")
            for c in start..<end {
                var sum = 0.0
                for t in 0..<frames { sum += Double(scores[(c - start) * frames + t]) }
                results[c] = sum / Double(frames)
            }
            start = end
            done(start)
        }
        return slots.map { results[$0] }
    }

    /// The clip with the supervoxels outside `mask` replaced by the background.
    func masked(_ mask: [Bool]) -> [RGBImage] {
        let area = segments.height * segments.width
        return (0..<crops.count).map { t in
            var out = background[t].pixels
            let labels = segments.labels
            crops[t].pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<area where mask[Int(labels[t * area + i])] {
                        dst[3 * i] = src[3 * i]; dst[3 * i + 1] = src[3 * i + 1]; dst[3 * i + 2] = src[3 * i + 2]
                    }
                }
            }
            return RGBImage(width: crops[t].width, height: crops[t].height, pixels: out)
        }
    }

    // MARK: Backgrounds

    static func blurred(_ image: RGBImage, sigma: Double) -> RGBImage {
        guard sigma > 0 else { return image }
        var v = Volume(depth: 1, height: image.height, width: image.width, channels: 3,
                       values: image.pixels.map(Double.init))
        v.smooth(sigma: (0, sigma, sigma))
        return RGBImage(width: image.width, height: image.height,
                        pixels: v.values.map { UInt8(max(0, min(255, $0.rounded()))) })
    }

    static func segmentMeans(_ crops: [RGBImage], _ segments: Supervoxels) -> [RGBImage] {
        var sums = [Double](repeating: 0, count: segments.count * 3)
        var counts = [Int](repeating: 0, count: segments.count)
        let area = segments.height * segments.width
        for (t, crop) in crops.enumerated() {
            for i in 0..<area {
                let s = Int(segments.labels[t * area + i])
                counts[s] += 1
                for c in 0..<3 { sums[3 * s + c] += Double(crop.pixels[3 * i + c]) }
            }
        }
        return crops.indices.map { t in
            var px = [UInt8](repeating: 0, count: area * 3)
            for i in 0..<area {
                let s = Int(segments.labels[t * area + i])
                for c in 0..<3 { px[3 * i + c] = UInt8((sums[3 * s + c] / Double(counts[s])).rounded()) }
            }
            return RGBImage(width: segments.width, height: segments.height, pixels: px)
        }
    }
}

// MARK: - Preprocessing

extension SHAPExplainer {
    /// The common detector preprocessing: bytes / `scale`, minus `mean`, over `std`, per RGB channel, as N×3×H×W
    /// (crops must already be at the detector's input size).
    public static func normalize(_ crops: [RGBImage], scale: Float = 255, mean: [Float] = [0, 0, 0],
                                 std: [Float] = [1, 1, 1]) -> Tensor {
        guard let first = crops.first else { return Tensor(shape: [0, 3, 0, 0]) }
        let (h, w) = (first.height, first.width)
        precondition(crops.allSatisfy { $0.width == w && $0.height == h }, "SHAPExplainer.normalize: crops differ in size")
        let area = h * w
        return Tensor(shape: [crops.count, 3, h, w]) { out in
            for (n, crop) in crops.enumerated() {
                for c in 0..<3 {
                    let a = 1 / (scale * std[c]), b = -mean[c] / std[c]
                    let base = (n * 3 + c) * area
                    for i in 0..<area { out[base + i] = Float(crop.pixels[3 * i + c]) * a + b }
                }
            }
        }
    }
}
