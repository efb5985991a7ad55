import ArgumentParser
import Faces
import Foundation
import Media
import Neural

/// `deepscope faces VIDEO [--frames A:B[:STEP]] --json`: MTCNN faces with track ids, one line per frame.
struct FacesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces",
        abstract: "Detect faces (MTCNN, as facenet-pytorch) and track them by IoU; one line per frame.")

    @Argument(help: "The video file.") var video: String
    @Option(help: "Frames A:B (B excluded) with an optional :STEP; default all.") var frames: String?
    @Flag(help: "Print one JSON object per frame: frame, time, faces[{track, box, prob, landmarks}].") var json = false
    @Option(help: "Folder with MTCNN pnet/rnet/onet weights (.safetensors or facenet-pytorch .pt); default assets/mtcnn.")
    var mtcnn: String?
    @Option(help: "IoU a face needs with a track's last box to continue it.") var iou: Float = 0.3
    @Option(help: "Frames a track may miss before it closes.") var maxGap: Int = 5
    // Benchmark hooks for scripts/bench_faces.sh, kept out of the help.
    @Flag(help: .hidden) var bench = false
    @Option(help: .hidden) var threads = 0
    @Option(help: .hidden) var rounds = 3

    func run() throws {
        let source: FFmpegVideo
        do { source = try FFmpegVideo(path: video) } catch { throw CLIError("\(error)") }
        let range = try Self.frameRange(frames, frameCount: source.metadata.frameCount)
        guard iou > 0, iou <= 1 else { throw CLIError("--iou must be in (0, 1], got \(iou)") }
        guard maxGap >= 0 else { throw CLIError("--max-gap must be ≥ 0, got \(maxGap)") }
        let detector: MTCNN
        do { detector = try MTCNN(weightsDirectory: try weightsFolder()) } catch let error as FacesError {
            throw CLIError(error.description)
        }
        if threads > 0 { Engine.threads = threads }
        if bench { return try runBenchmark(source, range, detector) }
        var tracker = FaceTracker(options: TrackerOptions(iouThreshold: iou, maxGap: maxGap))
        for k in range {
            let image: RGBImage
            do { image = try source.frame(at: k) } catch { throw CLIError("frame \(k) of \(video): \(error)") }
            let faces = detector.detect(image)
            let ids = tracker.update(frame: k, faces: faces)
            let time = source.timestamp(ofFrame: k)
            print(json ? Self.jsonLine(frame: k, time: time, faces: faces, tracks: ids)
                       : Self.textLine(frame: k, time: time, faces: faces, tracks: ids))
        }
    }

    /// Decodes the frames first, then times `detect` alone over them; prints the best round's mean per frame.
    private func runBenchmark(_ source: FFmpegVideo, _ range: StrideTo<Int>, _ detector: MTCNN) throws {
        let images = try range.map { try source.frame(at: $0) }
        guard let first = images.first else { return }
        _ = detector.detect(first)
        var best = Double.infinity, faces = 0
        for _ in 0..<max(1, rounds) {
            let start = DispatchTime.now().uptimeNanoseconds
            faces = images.reduce(0) { $0 + detector.detect($1).count }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(images.count))
        }
        print(String(format: "{\"frames\":%d,\"threads\":%d,\"faces\":%d,\"ms_per_frame\":%.3f}",
                     images.count, Engine.threads, faces, best))
    }

    private func weightsFolder() throws -> URL {
        if let mtcnn { return URL(fileURLWithPath: mtcnn) }
        guard let assets = assetsDirectory() else {
            throw CLIError("cannot find deepscope's assets folder for the MTCNN weights (pass --mtcnn DIR)")
        }
        return assets.appendingPathComponent("mtcnn")
    }

    // MARK: - Arguments

    /// Parses `A:B` or `A:B:STEP` (either end may be empty) against a video of `frameCount` frames.
    static func frameRange(_ text: String?, frameCount: Int) throws -> StrideTo<Int> {
        guard let text else { return stride(from: 0, to: frameCount, by: 1) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ s: String, _ fallback: Int, _ name: String) throws -> Int {
            if s.isEmpty { return fallback }
            guard let v = Int(s) else { throw CLIError("--frames \(text): \(name) '\(s)' is not a whole number") }
            return v
        }
        guard (2...3).contains(parts.count) else { throw CLIError("--frames \(text): expected A:B or A:B:STEP") }
        let start = try number(parts[0], 0, "start"), end = try number(parts[1], frameCount, "end")
        let step = parts.count == 3 ? try number(parts[2], 1, "step") : 1
        guard step >= 1 else { throw CLIError("--frames \(text): step must be ≥ 1") }
        guard start >= 0, start < end else { throw CLIError("--frames \(text): need 0 ≤ A < B") }
        guard start < frameCount else {
            throw CLIError("--frames \(text): the video has \(frameCount) frames (0–\(frameCount - 1))")
        }
        return stride(from: start, to: min(end, frameCount), by: step)
    }

    // MARK: - Output

    /// Keys in a fixed order (frame, time, faces; track, box, prob, landmarks) so lines diff cleanly.
    static func jsonLine(frame: Int, time: Double, faces: [Face], tracks: [Int]) -> String {
        func num(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }
        let items = zip(faces, tracks).map { face, track in
            let b = face.box
            let marks = face.landmarks.map { "[\(num($0.x)),\(num($0.y))]" }.joined(separator: ",")
            return "{\"track\":\(track),\"box\":[\(num(b.x1)),\(num(b.y1)),\(num(b.x2)),\(num(b.y2))],"
                + "\"prob\":\(num(face.probability)),\"landmarks\":[\(marks)]}"
        }
        let t = time.isFinite ? String(format: "%.6f", time) : "null"
        return "{\"frame\":\(frame),\"time\":\(t),\"faces\":[\(items.joined(separator: ","))]}"
    }

    static func textLine(frame: Int, time: Double, faces: [Face], tracks: [Int]) -> String {
        let items = zip(faces, tracks).map { face, track in
            String(format: "#%d (%.1f, %.1f)–(%.1f, %.1f) p=%.4f", track, face.box.x1, face.box.y1,
                   face.box.x2, face.box.y2, face.probability)
        }
        return String(format: "frame %d  %.3f s  ", frame, time) + (items.isEmpty ? "no face" : items.joined(separator: "  "))
    }
}
