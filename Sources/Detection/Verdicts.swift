import Faces
import Foundation

// MARK: - Per-frame results

/// One scored face of one frame.
public struct ScoredFace: Sendable, Equatable {
    /// The face's track id (FaceTracker's, counting from 0).
    public var track: Int
    public var face: Face
    public var output: DetectorOutput
    public init(track: Int, face: Face, output: DetectorOutput) { self.track = track; self.face = face; self.output = output }
}

/// Every face of one frame with the detector's output; `skipped` says why a detected face was not scored.
public struct FrameResult: Sendable, Equatable {
    public var frame: Int
    /// Presentation time in seconds.
    public var time: Double
    public var faces: [ScoredFace]
    /// Faces found but not scored (e.g. a box outside the frame), with the reason.
    public var skipped: [String]
    public init(frame: Int, time: Double, faces: [ScoredFace], skipped: [String] = []) {
        self.frame = frame; self.time = time; self.faces = faces; self.skipped = skipped
    }

    /// The most fake face of the frame (what MF votes with).
    public var mostFake: ScoredFace? { faces.max { $0.output.probability < $1.output.probability } }
}

// MARK: - Video verdicts

/// The video-level scores of DESIGN.md; nil where no face was scored.
public struct VideoVerdicts: Sendable, Equatable {
    /// Mean of every scored face's logit (icpr2020dfdc's video score).
    public var meanLogit: Double?
    /// σ(mean logit).
    public var meanProbability: Double?
    /// MF: each frame with faces votes fake when its most fake face has p ≥ threshold; the share of fake votes.
    public var mf: Double?
    /// MT: the highest of the tracks' mean probabilities.
    public var mt: Double?
    /// AT: the mean of the tracks' mean probabilities.
    public var at: Double?
    public var threshold: Double
    public var frames: Int
    public var framesWithFaces: Int
    public var faces: Int
    public var tracks: Int
    /// Mean probability per track id, in id order.
    public var trackMeans: [(track: Int, probability: Double, faces: Int)]

    public static func == (a: VideoVerdicts, b: VideoVerdicts) -> Bool {
        a.meanLogit == b.meanLogit && a.mf == b.mf && a.mt == b.mt && a.at == b.at && a.frames == b.frames
            && a.faces == b.faces && a.tracks == b.tracks && a.threshold == b.threshold
    }

    /// Verdicts over `frames` (frames without faces count towards `frames` only).
    public init(_ frames: [FrameResult], threshold: Double = 0.5) {
        self.threshold = threshold
        self.frames = frames.count
        let all = frames.flatMap(\.faces)
        faces = all.count
        let withFaces = frames.filter { !$0.faces.isEmpty }
        framesWithFaces = withFaces.count
        if !all.isEmpty {
            let m = all.reduce(0.0) { $0 + Double($1.output.logit) } / Double(all.count)
            meanLogit = m
            meanProbability = sigmoid(m)
        }
        if !withFaces.isEmpty {
            let votes = withFaces.filter { Double($0.mostFake!.output.probability) >= threshold }.count
            mf = Double(votes) / Double(withFaces.count)
        }
        var sums: [Int: (Double, Int)] = [:]
        for f in all { let s = sums[f.track] ?? (0, 0); sums[f.track] = (s.0 + Double(f.output.probability), s.1 + 1) }
        trackMeans = sums.keys.sorted().map { (track: $0, probability: sums[$0]!.0 / Double(sums[$0]!.1), faces: sums[$0]!.1) }
        tracks = trackMeans.count
        if !trackMeans.isEmpty {
            mt = trackMeans.map(\.probability).max()
            at = trackMeans.map(\.probability).reduce(0, +) / Double(trackMeans.count)
        }
    }

    /// The verdict an aggregation names: `mean` (σ of the mean logit), `mf`, `mt`, `at`.
    public func score(_ aggregation: Aggregation) -> Double? {
        switch aggregation {
        case .mean: return meanProbability
        case .mf: return mf
        case .mt: return mt
        case .at: return at
        }
    }
}

/// The video-level aggregations, as `evaluate` reports them.
public enum Aggregation: String, Sendable, CaseIterable {
    case mean, mf, mt, at
}
