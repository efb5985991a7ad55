// `deepscope export-video`: one face track's heatmap overlays for every chosen explainer side by side, as an MP4
// an analyst can send to others.
import ArgumentParser
import Explain
import Faces
import Foundation
import Media
import Models
import Neural

struct ExportVideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-video",
        abstract: "Write an MP4 of one face track with every explainer's overlay side by side.",
        discussion: """
        Faces are found with MTCNN and tracked by IoU; the chosen track (default: the longest) is cropped and \
        preprocessed as the detector manifest says (input mean/std/scale/order, crop policy), explained, and each \
        frame of the track becomes one video frame: the explainers' overlays in a row, labelled, over a colour bar \
        (JET, 0 at the left, 1 at the right). H.264 (libx264) when FFmpeg has it, else MPEG-4 part 2.
        """)

    @Argument(help: "The video file.") var video: String
    @Option(help: "A detector manifest (detector.json) or ARCH[:VARIANT[:PADDING]].") var detector: String
    @Option(help: "The weights file (overrides the manifest's).") var weights: String?
    @Option(help: "Comma-separated explainers: gradcam, gradcampp, layercam, attention, ltpa (= ltpa1,ltpa2,ltpa3).")
    var explain = "gradcam"
    @Option(help: "The face track to export (default: the one seen in most frames).") var track: Int?
    @Option(help: "Frames A:B (B excluded) with an optional :STEP; default all.") var frames: String?
    @Option(name: .customLong("gradcam-layer"), help: "The layer the CAM methods explain.") var gradcamLayer: String?
    @Option(name: .customLong("class"), help: "The class CAMs explain (default: predicted; 0 = real on single-logit models).")
    var targetClass: Int?
    @Option(help: "Panel side in pixels (default: the detector's input size).") var panel: Int?
    @Option(help: "Frames per second of the output (default: the video's, divided by the frame step).") var fps: Int?
    @Option(help: "Folder with MTCNN weights; default assets/mtcnn.") var mtcnn: String?
    @Option(help: "The output .mp4.") var out: String

    func run() throws {
        let spec = try DetectorSpec(detector, weights: weights)
        let preprocessing = try Preprocessing(manifest: detector)
        let network = try spec.makeNetwork()
        let names = explain.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let runner: ExplainRunner
        do {
            runner = try ExplainRunner(network: network, names: names, camLayer: spec.layer(for: network, override: gradcamLayer),
                                       target: camTarget(targetClass))
        } catch { throw CLIError("--explain \(explain): \(error)") }
        guard !runner.explainers.isEmpty else { throw CLIError("--explain: name at least one explainer") }

        let source: FFmpegVideo
        do { source = try FFmpegVideo(path: video) } catch { throw CLIError("\(error)") }
        let range = try FacesCommand.frameRange(frames, frameCount: source.metadata.frameCount)
        let clip = try faceClip(source, range: range, size: spec.inputSize, preprocessing: preprocessing)

        let results: [TrackExplanation]
        do { results = try runner.run([clip], cancellation: Cancellation()) } catch { throw CLIError("\(error)") }
        let side = panel ?? spec.inputSize
        guard side > 0 && side <= 2048 else { throw CLIError("--panel \(side): expected 1…2048 pixels") }
        let chosen = Array(range), step = chosen.count > 1 ? chosen[1] - chosen[0] : 1
        let rate = fps ?? max(1, Int((source.metadata.frameRate / Double(step)).rounded()))
        guard rate > 0 && rate <= 240 else { throw CLIError("--fps \(rate): expected 1…240") }

        var writer: VideoWriter?
        for k in clip.frames.indices {
            let crop = side == clip.crops[k].width ? clip.crops[k] : clip.crops[k].resizedBilinear(width: side, height: side)
            let grid = ExplainExport.compareGrid(results.map { (name: $0.explainer, map: $0.maps[k]) }, crop: crop)
            do {
                if writer == nil {
                    writer = try VideoWriter(url: URL(fileURLWithPath: out), width: grid.width, height: grid.height, frameRate: rate)
                }
                try writer!.append(grid)
            } catch { throw CLIError("\(error)") }
        }
        do { try writer?.finish() } catch { throw CLIError("\(error)") }
        FileHandle.standardError.write(Data(("export-video: \(out): track \(clip.track), \(clip.frames.count) frames "
            + "(\(clip.frames.first!)–\(clip.frames.last!)), \(results.map(\.explainer).joined(separator: ", ")), "
            + "\(writer?.codecName ?? "?") at \(rate) fps\n").utf8))
    }

    /// Detects and tracks faces over `range`, picks the track, and crops and preprocesses its faces.
    private func faceClip(_ source: FFmpegVideo, range: StrideTo<Int>, size: Int, preprocessing: Preprocessing) throws -> FaceClip {
        let folder: URL
        if let mtcnn { folder = URL(fileURLWithPath: mtcnn) } else {
            guard let assets = assetsDirectory() else {
                throw CLIError("cannot find deepscope's assets folder for the MTCNN weights (pass --mtcnn DIR)")
            }
            folder = assets.appendingPathComponent("mtcnn")
        }
        let faces: MTCNN
        do { faces = try MTCNN(weightsDirectory: folder) } catch { throw CLIError("\(error)") }
        var tracker = FaceTracker()
        var seen: [Int: [(frame: Int, face: Face)]] = [:]
        var images: [Int: RGBImage] = [:]
        for k in range {
            let image: RGBImage
            do { image = try source.frame(at: k) } catch { throw CLIError("frame \(k) of \(video): \(error)") }
            let found = faces.detect(image)
            for (face, id) in zip(found, tracker.update(frame: k, faces: found)) {
                seen[id, default: []].append((k, face))
                images[k] = image
            }
        }
        guard !seen.isEmpty else { throw CLIError("\(video): no face found in the chosen frames") }
        let id = track ?? seen.max { a, b in a.value.count < b.value.count || (a.value.count == b.value.count && a.key > b.key) }!.key
        guard let members = seen[id] else {
            throw CLIError("--track \(id): no such track; tracks: " + seen.keys.sorted().map(String.init).joined(separator: ", "))
        }
        var crops: [RGBImage] = [], data: [Float] = []
        for m in members {
            let crop: RGBImage
            do { crop = try cropFace(images[m.frame]!, m.face, policy: preprocessing.crop, size: size) } catch {
                throw CLIError("frame \(m.frame): \(error)")
            }
            crops.append(crop)
            data += preprocessing.tensor(crop)
        }
        return FaceClip(input: Tensor(shape: [crops.count, 3, size, size], data: data), crops: crops,
                        frames: members.map(\.frame), track: id)
    }
}

// MARK: - Preprocessing

/// The manifest's `input` and `crop` blocks (ImageNet normalisation and the `scale` crop when absent).
///
/// The Detection module owns manifests; this reads only what export-video needs until it offers a preprocessor.
struct Preprocessing {
    var mean: [Float] = [0.485, 0.456, 0.406]
    var std: [Float] = [0.229, 0.224, 0.225]
    var scale: Float = 255
    var bgr = false
    var crop = CropPolicy.scale(margin: 0)

    init(manifest spec: String) throws {
        guard spec.hasSuffix(".json"), let data = FileManager.default.contents(atPath: spec) else { return }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CLIError("detector manifest \(spec): not a JSON object")
        }
        if let input = root["input"] as? [String: Any] {
            if let m = input["mean"] as? [Double] {
                guard m.count == 3 else { throw CLIError("detector manifest \(spec): input.mean needs 3 values") }
                mean = m.map(Float.init)
            }
            if let s = input["std"] as? [Double] {
                guard s.count == 3, s.allSatisfy({ $0 > 0 }) else { throw CLIError("detector manifest \(spec): input.std needs 3 positive values") }
                std = s.map(Float.init)
            }
            if let s = input["scale"] as? Double { scale = Float(s) }
            if let order = input["order"] as? String { bgr = order.uppercased() == "BGR" }
        }
        if let c = root["crop"] as? [String: Any], let policy = c["policy"] as? String {
            let margin = c["margin"] as? Double ?? 0
            switch policy {
            case "scale": crop = .scale(margin: margin)
            case "margin": crop = .margin(factor: c["factor"] as? Double ?? 1.3)
            case "align5": crop = .align5
            default: throw CLIError("detector manifest \(spec): crop.policy '\(policy)'; known: scale, margin, align5")
            }
        }
    }

    /// The crop as 3×H×W floats: (pixel / 255 · scale − mean) / std per channel, in the manifest's channel order.
    func tensor(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            let source = bgr ? 2 - c : c
            for p in 0..<plane {
                out[c * plane + p] = (Float(image.pixels[3 * p + source]) / 255 * scale - mean[c]) / std[c]
            }
        }
        return out
    }
}
