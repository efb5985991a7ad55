// SampleForge: turns a real video into training data and a manipulated sample — faces found once per frame,
// known frame ranges forged by known methods, and every crop passed through the same encoder as the sample.
import Foundation
import Faces
import Media

/// One manipulated frame range of the sample (inclusive ends), as the truth file lists it.
public struct TruthSegment: Sendable, Equatable, Codable {
    public var start: Int, end: Int, method: String
}

/// The face detected in each frame of a video (the largest one), and the frames themselves.
public struct FacedVideo: Sendable {
    public var frames: [RGBImage]
    public var faces: [Face?]
    public var frameRate: Int

    /// Decodes every frame of `url` and runs MTCNN on each.
    public static func load(_ url: URL, detector: MTCNN) throws -> FacedVideo {
        let video = try FFmpegVideo(contentsOf: url)
        var frames: [RGBImage] = [], faces: [Face?] = []
        for i in 0..<video.metadata.frameCount {
            let f = try video.frame(at: i)
            frames.append(f)
            faces.append(detector.detect(f).filter { $0.landmarks.count == 5 }.max { $0.box.area < $1.box.area })
        }
        return FacedVideo(frames: frames, faces: faces, frameRate: max(1, Int(video.metadata.frameRate.rounded())))
    }
}

// MARK: - The manipulated sample

/// The bundled sample's plan: 8-frame segments cycling through the methods, pristine in between, so both the
/// early (training) and the late (held-out) part of the video hold real and forged frames.
public func samplePlan(frameCount: Int) -> [TruthSegment] {
    let order: [ForgeryMethod] = [.pristine, .selfBlend, .lowRes, .colourMismatch, .pristine, .partialSwap, .compression,
                                  .pristine, .selfBlend, .pristine, .lowRes, .colourMismatch, .pristine, .partialSwap,
                                  .compression]
    var out: [TruthSegment] = []
    for (k, m) in order.enumerated() where m != .pristine {
        let start = k * 8
        guard start < frameCount else { break }
        out.append(TruthSegment(start: start, end: min(start + 7, frameCount - 1), method: m.rawValue))
    }
    return out
}

/// The method `plan` puts on frame `i`.
public func method(at i: Int, in plan: [TruthSegment]) -> ForgeryMethod {
    plan.first { $0.start <= i && i <= $0.end }.flatMap { ForgeryMethod(rawValue: $0.method) } ?? .pristine
}

/// The donor a partial swap of frame `i` takes its region from: the face 12–20 frames away (wrapping), aligned by landmarks when forged.
func donor(for i: Int, in video: FacedVideo) -> (RGBImage, Face)? {
    let n = video.frames.count
    for k in [12, -12, 20, -20, 6] {
        let j = ((i + k) % n + n) % n
        if let f = video.faces[j] { return (video.frames[j], f) }
    }
    return nil
}

/// Writes the manipulated video and returns the segments it forged (frames without a face stay pristine).
public func writeManipulated(_ video: FacedVideo, plan: [TruthSegment], seed: UInt64, to url: URL,
                             quality: Double = 0.75) throws {
    guard let first = video.frames.first else { throw TrainingError.dataset(path: url.path, reason: "no frames") }
    let writer = try VideoWriter(url: url, width: first.width, height: first.height, frameRate: video.frameRate, quality: quality)
    for (i, frame) in video.frames.enumerated() {
        let m = method(at: i, in: plan)
        guard let face = video.faces[i], m != .pristine else { try writer.append(frame); continue }
        try writer.append(forge(m, frame: frame, face: face, frameIndex: i, seed: seed, donor: donor(for: i, in: video)).image)
    }
    try writer.finish()
}

/// The truth file's JSON.
public func truthJSON(_ plan: [TruthSegment]) throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    struct Truth: Codable { var segments: [TruthSegment] }
    return try enc.encode(Truth(segments: plan))
}

// MARK: - Training crops

/// Face crops of every method forged on `frames`, each frame forged, encoded and decoded as the sample is
/// (so training sees the sample's compression), cut with `policy` at `size`.
/// - Returns: crops labelled by `ForgeryMethod.label`, with their frame numbers.
public func forgedCrops(_ video: FacedVideo, frames: Range<Int>, methods: [ForgeryMethod] = ForgeryMethod.allCases,
                        seed: UInt64, policy: CropPolicy, size: Int, scratch: URL, quality: Double = 0.75)
    throws -> (crops: LabelledCrops, frames: [Int]) {
    var crops = LabelledCrops(), numbers: [Int] = []
    let used = frames.filter { video.faces[$0] != nil }
    guard let first = video.frames.first, !used.isEmpty else { return (crops, numbers) }
    for m in methods {
        let url = scratch.appendingPathComponent("forge-\(m.rawValue)-\(frames.lowerBound).mp4")
        let writer = try VideoWriter(url: url, width: first.width, height: first.height, frameRate: video.frameRate, quality: quality)
        for i in used {
            let f = forge(m, frame: video.frames[i], face: video.faces[i]!, frameIndex: i, seed: seed, donor: donor(for: i, in: video))
            try writer.append(f.image)
        }
        try writer.finish()
        let decoded = try FFmpegVideo(contentsOf: url)
        for (k, i) in used.enumerated() {
            let frame = try decoded.frame(at: k)
            crops.images.append(try cropFace(frame, video.faces[i]!, policy: policy, size: size))
            crops.labels.append(m.label)
            numbers.append(i)
        }
        try? FileManager.default.removeItem(at: url)
    }
    return (crops, numbers)
}
