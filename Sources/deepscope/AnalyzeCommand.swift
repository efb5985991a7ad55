import ArgumentParser
import Detection
import Faces
import Foundation
import Media
import Neural

/// `deepscope analyze VIDEO... --detector SPEC --out DIR`: per-frame scores of every face, and the video verdicts.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Score every face of a video with a detector; write frames.jsonl and summary.json.",
        discussion: """
        With one VIDEO the files go straight into DIR; with several, into DIR/<video name>/. --shard I/N keeps the \
        videos whose position in the argument list is I modulo N (I counts from 0), so a corpus can be split across \
        machines by any job runner. The output schema is documented in docs/analyze-output.md.
        """)

    @Argument(help: "The video file(s).") var videos: [String]
    @Option(help: "A manifest path, a bundled detector name, or a preset family:model (see `deepscope detectors`).")
    var detector: String
    @Option(help: "The weights file (overrides the manifest's; required for presets).") var weights: String?
    @Option(help: "Frames A:B (B excluded) with an optional :STEP; default all.") var frames: String?
    @Option(help: "The output folder.") var out: String
    @Option(help: "Analyse only the videos at positions I, I+N, … of the list (I/N, I from 0).") var shard: String?
    @Option(help: "Folder with MTCNN pnet/rnet/onet weights; default assets/mtcnn.") var mtcnn: String?
    @Option(help: "The probability at and above which a face counts as fake (MF votes).") var threshold: Double = 0.5
    @Option(help: "Engine threads (0: the engine's default).") var threads = 0
    @Option(help: "Frames whose faces the detector scores as one batch (more memory).") var batch = 1
    @Flag(help: "Also write each face crop, at the detector's input size, as crops/<frame>_<track>.png.") var crops = false

    func run() throws {
        guard threshold > 0, threshold < 1 else { throw CLIError("--threshold must be in (0, 1), got \(threshold)") }
        guard batch >= 1, batch <= 256 else { throw CLIError("--batch must be in 1…256, got \(batch)") }
        let selected = try Self.shardSelection(videos, shard)
        if threads > 0 { Engine.threads = threads }
        let spec = try DetectorSpec(detector, weights: weights)
        let model = try spec.makeDetector()
        let faces = try Self.loadMTCNN(mtcnn)
        let root = URL(fileURLWithPath: out)
        if selected.isEmpty { FileHandle.standardError.write(Data("analyze: shard \(shard ?? "") holds no video\n".utf8)) }
        for video in selected {
            let dir = videos.count == 1 ? root : root.appendingPathComponent(Self.folderName(for: video, among: videos))
            let summary = try analyse(video, detector: model, faces: faces, into: dir)
            FileHandle.standardError.write(Data("analyze: \(video): \(summary)\n".utf8))
        }
    }

    /// Analyses one video into `dir`; returns a one-line summary.
    func analyse(_ video: String, detector: Detector, faces: MTCNN, into dir: URL) throws -> String {
        let source: FFmpegVideo
        do { source = try FFmpegVideo(path: video) } catch { throw CLIError("\(video): \(error)") }
        let range = try FacesCommand.frameRange(frames, frameCount: source.metadata.frameCount)
        try AnalyzeCommand.makeFolder(dir)
        let framesURL = dir.appendingPathComponent("frames.jsonl")
        let partial = dir.appendingPathComponent(".frames.jsonl.partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: partial.path) else { throw CLIError("cannot write \(partial.path)") }
        defer { try? handle.close() }
        let analysis = VideoAnalysis(source: source, frames: Array(range), detector: detector, faces: faces,
                                     framesPerBatch: batch, hook: try explainHook(detector: detector, into: dir))
        let progress = ProgressBar(label: "analyze", total: analysis.frames.count)
        do {
            try analysis.run { result in
                handle.write(Data((Self.jsonLine(result, classes: detector.manifest.output.classes) + "\n").utf8))
                progress.advance()
            }
        } catch {
            progress.finish()
            throw CLIError("\(video): \(error)")
        }
        progress.finish()
        try handle.close()
        try Self.replace(framesURL, with: partial)
        let snapshot = analysis.snapshot
        let summary = Self.summary(video: video, metadata: source.metadata, detector: detector, snapshot: snapshot,
                                   threshold: threshold)
        try Self.writeJSON(summary, to: dir.appendingPathComponent("summary.json"))
        let v = VideoVerdicts(snapshot.results, threshold: threshold)
        guard let mean = v.meanProbability else { return "no face in \(v.frames) frames (verdicts null); see summary.json" }
        return String(format: "%d frames, %d faces, %d tracks; p_fake mean %.4f, MF %.4f, MT %.4f, AT %.4f",
                      v.frames, v.faces, v.tracks, mean, v.mf ?? .nan, v.mt ?? .nan, v.at ?? .nan)
    }

    /// Where explainers plug in: a per-frame callback that sees each frame's image, crops and the detector's
    /// input tensor (`FrameContext`). Today it writes `--crops`; `--explain` adds maps, overlays and metrics.csv.
    func explainHook(detector: Detector, into dir: URL) throws -> ((FrameContext) throws -> Void)? {
        guard crops else { return nil }
        let folder = dir.appendingPathComponent("crops")
        try AnalyzeCommand.makeFolder(folder)
        return { context in
            for (face, crop) in zip(context.result.faces, context.crops) {
                try PNG.write(crop, to: folder.appendingPathComponent("\(context.frame)_\(face.track).png"))
            }
        }
    }

    // MARK: - Shared helpers (also used by evaluate)

    static func loadMTCNN(_ folder: String?) throws -> MTCNN {
        let url: URL
        if let folder { url = URL(fileURLWithPath: folder) } else {
            guard let assets = assetsDirectory() else {
                throw CLIError("cannot find deepscope's assets folder for the MTCNN weights (pass --mtcnn DIR)")
            }
            url = assets.appendingPathComponent("mtcnn")
        }
        do { return try MTCNN(weightsDirectory: url) } catch let error as FacesError { throw CLIError(error.description) }
    }

    /// Parses `I/N` and keeps items whose position is I modulo N.
    static func shardSelection<T>(_ items: [T], _ shard: String?) throws -> [T] {
        guard let shard else { return items }
        let parts = shard.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
            throw CLIError("--shard \(shard): expected I/N with 0 ≤ I < N")
        }
        return items.enumerated().filter { $0.offset % n == i }.map(\.element)
    }

    /// A folder name for `video` unique among `all` (its file name, with its position when names repeat).
    static func folderName(for video: String, among all: [String]) -> String {
        let name = URL(fileURLWithPath: video).lastPathComponent
        let same = all.filter { URL(fileURLWithPath: $0).lastPathComponent == name }
        guard same.count > 1, let index = all.firstIndex(of: video) else { return name }
        return "\(index)-\(name)"
    }

    static func makeFolder(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIError("--out \(url.path): exists and is not a folder")
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create the folder \(url.path)")
        }
    }

    /// Exports are written to a temporary file and renamed, so a reader never sees half a file.
    static func replace(_ target: URL, with temporary: URL) throws {
        _ = try? FileManager.default.removeItem(at: target)
        do { try FileManager.default.moveItem(at: temporary, to: target) } catch { throw CLIError("cannot write \(target.path): \(error)") }
    }

    static func writeJSON(_ object: Any, to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try write(data + Data("\n".utf8), to: url)
    }

    static func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        do { try data.write(to: temporary) } catch { throw CLIError("cannot write \(url.path): \(error)") }
        try replace(url, with: temporary)
    }

    // MARK: - frames.jsonl

    static func number(_ v: Float) -> String { v.isFinite ? "\(v)" : "null" }
    static func number(_ v: Double?) -> Any { v.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }

    /// One frame as a JSON line, keys in a fixed order so lines diff cleanly.
    static func jsonLine(_ r: FrameResult, classes: [String]) -> String {
        let faces = r.faces.map { f -> String in
            let b = f.face.box, o = f.output
            let marks = f.face.landmarks.map { "[\(number($0.x)),\(number($0.y))]" }.joined(separator: ",")
            let probs = zip(classes, o.classProbabilities).map { "\(quoted($0)):\(number($1))" }.joined(separator: ",")
            return "{\"track\":\(f.track),\"box\":[\(number(b.x1)),\(number(b.y1)),\(number(b.x2)),\(number(b.y2))],"
                + "\"landmarks\":[\(marks)],\"detection\":\(number(f.face.probability)),\"prob\":\(number(o.probability)),"
                + "\"score\":\(number(o.logit)),\"classes\":{\(probs)},\"predicted\":\(quoted(classes[o.predicted]))}"
        }
        let skipped = r.skipped.isEmpty ? "" : ",\"skipped\":[" + r.skipped.map(quoted).joined(separator: ",") + "]"
        let t = r.time.isFinite ? String(format: "%.6f", r.time) : "null"
        return "{\"frame\":\(r.frame),\"time\":\(t),\"faces\":[\(faces.joined(separator: ","))]\(skipped)}"
    }

    static func quoted(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [])) ?? Data("[\"?\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    // MARK: - summary.json

    static func detectorInfo(_ d: Detector) -> [String: Any] {
        let m = d.manifest
        return ["name": m.name, "source": m.source, "architecture": m.architecture, "variant": m.variant ?? NSNull(),
                "weights": m.weights?.path ?? NSNull(), "head": m.output.kind.name, "classes": m.output.classes,
                "inputSize": m.input.size, "crop": m.crop.name]
    }

    static func summary(video: String, metadata: VideoMetadata, detector: Detector, snapshot: VideoAnalysis.Snapshot,
                        threshold: Double) -> [String: Any] {
        let v = VideoVerdicts(snapshot.results, threshold: threshold)
        var notes: [String] = []
        if v.faces == 0 { notes.append("no face was scored in any of the \(v.frames) analysed frames: the verdicts are null") }
        let empty = snapshot.results.filter { $0.faces.isEmpty }.map(\.frame)
        if !empty.isEmpty && v.faces > 0 { notes.append("\(empty.count) of \(v.frames) frames have no scored face") }
        let skipped = snapshot.results.flatMap { r in r.skipped.map { "frame \(r.frame): \($0)" } }
        let tracks = v.trackMeans.map { t -> [String: Any] in
            let frames = snapshot.results.filter { $0.faces.contains { $0.track == t.track } }.map(\.frame)
            return ["track": t.track, "faces": t.faces, "first": frames.first ?? -1, "last": frames.last ?? -1,
                    "prob": number(t.probability)]
        }
        return [
            "video": ["path": video, "frames": metadata.frameCount, "fps": number(metadata.frameRate),
                      "width": metadata.width, "height": metadata.height],
            "detector": detectorInfo(detector),
            "analysed": ["frames": v.frames, "framesWithFaces": v.framesWithFaces, "framesWithoutFaces": empty,
                         "faces": v.faces, "tracks": v.tracks, "skippedFaces": skipped],
            "aggregates": ["threshold": threshold, "meanLogit": number(v.meanLogit), "mean": number(v.meanProbability),
                           "MF": number(v.mf), "MT": number(v.mt), "AT": number(v.at)],
            "tracks": tracks,
            "timing": ["decode": snapshot.times.decode, "faces": snapshot.times.faces, "detector": snapshot.times.detector],
            "metrics": [String: Any](),
            "notes": notes,
        ]
    }
}

// MARK: - Progress

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar {
    let label: String
    let total: Int
    private var done = 0
    private let enabled = isatty(2) == 1

    init(label: String, total: Int) { self.label = label; self.total = total }

    func advance() {
        done += 1
        guard enabled else { return }
        let width = 30, filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) ▕\(bar)▏ \(done)/\(total)".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
