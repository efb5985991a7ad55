import Foundation

// Box arithmetic of facenet-pytorch's detect_face.py, step for step in Float32 (its tensors' dtype): a box's
// pixel position is decided by `floor`/`trunc` of these values, so the order of operations is kept too.

// MARK: - Candidate

/// A box under consideration: corners, score and the regression offsets that go with it.
struct Candidate {
    var x1: Float, y1: Float, x2: Float, y2: Float
    var score: Float
    var reg: (Float, Float, Float, Float) = (0, 0, 0, 0)
}

// MARK: - Stage 1 proposals

/// facenet's `generateBoundingBox` for one image: every PNet cell with p ≥ `threshold`, in row-major order,
/// mapped back to image coordinates (stride 2, cell 12) at pyramid `scale`.
/// - Parameters: regression [4, h, w], probability: the face channel [h, w], both flattened.
func proposals(regression: UnsafeBufferPointer<Float>, faceProbability: UnsafeBufferPointer<Float>,
               height h: Int, width w: Int, scale: Double, threshold: Float) -> [Candidate] {
    let s = Float(scale)
    var out: [Candidate] = []
    let plane = h * w
    for y in 0..<h {
        for x in 0..<w {
            let i = y * w + x
            let p = faceProbability[i]
            guard p >= threshold else { continue }
            let bx = Float(x), by = Float(y)
            out.append(Candidate(
                x1: ((2 * bx + 1) / s).rounded(.down), y1: ((2 * by + 1) / s).rounded(.down),
                x2: ((2 * bx + 12) / s).rounded(.down), y2: ((2 * by + 12) / s).rounded(.down),
                score: p,
                reg: (regression[i], regression[plane + i], regression[2 * plane + i], regression[3 * plane + i])))
        }
    }
    return out
}

// MARK: - Non-maximum suppression

/// torchvision's `nms`: highest score first, IoU on continuous corners (no +1), suppress IoU > `threshold`.
/// Returns kept indices in descending score order.
func nmsUnion(_ boxes: [Candidate], threshold: Double) -> [Int] {
    // torchvision sorts with a stable descending sort, so equal scores keep their input order.
    let order = boxes.indices.sorted { boxes[$0].score != boxes[$1].score ? boxes[$0].score > boxes[$1].score : $0 < $1 }
    let areas = boxes.map { ($0.x2 - $0.x1) * ($0.y2 - $0.y1) }
    var suppressed = [Bool](repeating: false, count: boxes.count)
    var keep: [Int] = []
    for (rank, i) in order.enumerated() where !suppressed[i] {
        keep.append(i)
        let a = boxes[i]
        for j in order[(rank + 1)...] where !suppressed[j] {
            let b = boxes[j]
            let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1))
            let h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
            let inter = w * h
            let iou = inter / (areas[i] + areas[j] - inter)
            // C++ compares the float IoU with the double threshold.
            if Double(iou) > threshold { suppressed[j] = true }
        }
    }
    return keep
}

/// facenet's `nms_numpy` in "Min" mode (the last stage): areas with +1, overlap = inter / min(area), keep
/// boxes whose overlap ≤ `threshold` (compared in Float32 as NumPy does). Returns picks, best first.
func nmsMin(_ boxes: [Candidate], threshold: Float) -> [Int] {
    let area = boxes.map { ($0.x2 - $0.x1 + 1) * ($0.y2 - $0.y1 + 1) }
    // np.argsort ascending, then pick from the end: the best score first.
    var remaining = boxes.indices.sorted { boxes[$0].score < boxes[$1].score }
    var pick: [Int] = []
    while let i = remaining.last {
        pick.append(i)
        let a = boxes[i]
        remaining = remaining.dropLast().filter { j in
            let b = boxes[j]
            let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1) + 1)
            let h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1) + 1)
            let overlap = (w * h) / min(area[i], area[j])
            return overlap <= threshold
        }
    }
    return pick
}

// MARK: - Box refinement

extension Candidate {
    /// Stage 1's regression: offsets scaled by the width/height without +1.
    func regressedStage1() -> Candidate {
        let w = x2 - x1, h = y2 - y1
        return Candidate(x1: x1 + reg.0 * w, y1: y1 + reg.1 * h, x2: x2 + reg.2 * w, y2: y2 + reg.3 * h, score: score)
    }

    /// facenet's `bbreg`: offsets scaled by the width/height with +1.
    func regressed(by r: (Float, Float, Float, Float)) -> Candidate {
        let w = x2 - x1 + 1, h = y2 - y1 + 1
        return Candidate(x1: x1 + r.0 * w, y1: y1 + r.1 * h, x2: x2 + r.2 * w, y2: y2 + r.3 * h, score: score)
    }

    /// facenet's `rerec`: the square of side max(w, h) with the same centre.
    func squared() -> Candidate {
        let h = y2 - y1, w = x2 - x1
        let l = max(w, h)
        let nx1 = x1 + w * 0.5 - l * 0.5
        let ny1 = y1 + h * 0.5 - l * 0.5
        return Candidate(x1: nx1, y1: ny1, x2: nx1 + l, y2: ny1 + l, score: score, reg: reg)
    }

    /// facenet's `pad`: the pixel region the next network sees, as half-open ranges inside the image, or nil
    /// when nothing of the box lies inside (facenet itself would fail on such a box).
    func pixelRegion(width: Int, height: Int) -> (rows: Range<Int>, cols: Range<Int>)? {
        // trunc toward zero then int32, as `boxes.trunc().int()`; non-finite or absurd values have no region.
        func truncated(_ v: Float) -> Int? { v.isFinite ? Int(max(-1e9, min(1e9, v)).rounded(.towardZero)) : nil }
        guard let bx = truncated(x1), let by = truncated(y1), let bex = truncated(x2), let bey = truncated(y2)
        else { return nil }
        let x = max(bx, 1), y = max(by, 1), ex = min(bex, width), ey = min(bey, height)
        guard ey > y - 1, ex > x - 1 else { return nil }
        return ((y - 1)..<ey, (x - 1)..<ex)
    }
}
