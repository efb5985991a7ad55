import Detection
import Explain
import Faces
import Dispatch
import Foundation
import Media

// MARK: - Crops

/// The detector-sized face crops the analysis produced, by frame and track: what explainers run on, so the
/// explain worker never decodes or crops again. Read and written from several threads.
final class CropStore: @unchecked Sendable {
    private let lock = NSLock()
    private var crops: [Int: [Int: RGBImage]] = [:]

    func put(_ crop: RGBImage, frame: Int, track: Int) { lock.withLock { crops[frame, default: [:]][track] = crop } }
    func crop(frame: Int, track: Int) -> RGBImage? { lock.withLock { crops[frame]?[track] } }
    /// The frames holding a crop of `track`, increasing.
    func frames(of track: Int) -> [Int] {
        lock.withLock { crops.compactMap { $0.value[track] != nil ? $0.key : nil }.sorted() }
    }
    var tracks: [Int] { lock.withLock { Set(crops.values.flatMap(\.keys)).sorted() } }
}

// MARK: - Analysis worker

/// Scans the whole video in the background: MTCNN faces and IoU tracks, and with a detector its scores
/// (Detection's `VideoAnalysis`), keeping every crop for the explainers. The UI loop drains its output as actions.
final class AnalysisWorker: @unchecked Sendable {
    let crops = CropStore()
    private let videoPath: String
    private let frameCount: Int
    private let detectorSpec: String?
    private let weights: String?
    private let assets: URL?
    private let lock = NSLock()
    private var newFaces: [Int: [FaceMark]] = [:]
    private var status: AnalysisStatus
    private var verdicts: VideoVerdicts?
    private var changed = false
    private var ready: Action?
    private var loadedDetector: Detector?
    private var cancelled = false
    private var analysis: VideoAnalysis?
    private let done = DispatchSemaphore(value: 0)

    init(videoPath: String, frameCount: Int, detectorSpec: String?, weights: String?, assets: URL?) {
        self.videoPath = videoPath
        self.frameCount = frameCount
        self.detectorSpec = detectorSpec
        self.weights = weights
        self.assets = assets
        status = AnalysisStatus(total: frameCount)
    }

    /// The detector once loaded (nil before, and for a faces-only session).
    var detector: Detector? { lock.withLock { loadedDetector } }

    func start() {
        let thread = Thread { [self] in
            work()
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Stops after the frame in progress.
    func cancel() {
        let running = lock.withLock { cancelled = true; return analysis }
        running?.cancel()
    }

    /// Cancels and waits up to `timeout` seconds for the thread to leave: quitting while MTCNN or the detector
    /// runs would tear OpenBLAS down under a running thread at exit (a crash).
    func stop(timeout: Double) {
        cancel()
        _ = done.wait(timeout: .now() + timeout)
        done.signal()
    }

    /// What happened since the last call, as actions for the reducer.
    func drain() -> [Action] {
        lock.withLock {
            var actions: [Action] = []
            if let ready { actions.append(ready); self.ready = nil }
            if changed {
                actions.append(.analysisUpdate(faces: newFaces, status: status, verdicts: verdicts))
                newFaces = [:]
                changed = false
            }
            return actions
        }
    }

    // MARK: - Work

    private func work() {
        guard let assets else { return fail("faces: cannot find deepscope's assets folder (MTCNN weights)") }
        let mtcnn: MTCNN
        do { mtcnn = try MTCNN(weightsDirectory: assets.appendingPathComponent("mtcnn")) } catch {
            return fail("faces: \(error)")
        }
        let source: FFmpegVideo
        do { source = try FFmpegVideo(contentsOf: URL(fileURLWithPath: videoPath)) } catch { return fail("\(error)") }
        var detector: Detector?
        if let detectorSpec {
            do {
                let d = try Detector.load(spec: detectorSpec, weights: weights, assets: assets)
                detector = d
                lock.withLock {
                    loadedDetector = d
                    ready = .detectorReady(name: d.manifest.name, classes: d.manifest.output.classes,
                                           explainers: Self.explainerNames(for: d))
                }
            } catch {
                // A bad detector leaves the faces: the analyst still sees boxes, and the reason in the status bar.
                lock.withLock { ready = .detectorReady(name: "no detector (failed to load)", classes: [], explainers: []) }
                publish(error: "detector: \(error)")
            }
        }
        if let detector { score(source, detector: detector, faces: mtcnn) } else { scan(source, faces: mtcnn) }
    }

    private func score(_ source: FFmpegVideo, detector: Detector, faces mtcnn: MTCNN) {
        let crops = self.crops
        let analysis = VideoAnalysis(source: source, frames: Array(0..<frameCount), detector: detector, faces: mtcnn) { context in
            for (face, crop) in zip(context.result.faces, context.crops) { crops.put(crop, frame: context.frame, track: face.track) }
        }
        let stop = lock.withLock { self.analysis = analysis; return cancelled }
        if stop { return }
        var results: [FrameResult] = []
        let size = detector.manifest.input.size
        do {
            try analysis.run { result in
                results.append(result)
                let marks = result.faces.map { f in
                    FaceMark(track: f.track, box: f.face.box,
                             cropBox: Self.cropBox(f.face.box, crop: detector.manifest.crop, source.metadata, size: size),
                             output: f.output)
                }
                // Verdicts over all results so far: recomputed about 50 times over the video, not every frame.
                let every = max(1, self.frameCount / 50)
                let verdicts = results.count % every == 0 || results.count == self.frameCount ? VideoVerdicts(results) : nil
                self.publish(frame: result.frame, marks: marks, verdicts: verdicts)
            }
            lock.withLock { status.finished = true; verdicts = VideoVerdicts(results); changed = true }
        } catch {
            publish(error: "analysis stopped at \(analysis.snapshot.error ?? "\(error)")", finished: true)
        }
    }

    private func scan(_ source: FFmpegVideo, faces mtcnn: MTCNN) {
        var tracker = FaceTracker()
        for k in 0..<frameCount {
            if lock.withLock({ cancelled }) { return }
            do {
                let image = try source.frame(at: k)
                let found = mtcnn.detect(image)
                let ids = tracker.update(frame: k, faces: found)
                publish(frame: k, marks: zip(found, ids).map { FaceMark(track: $1, box: $0.box) }, verdicts: nil)
            } catch {
                return publish(error: "faces stopped at frame \(k): \(error)", finished: true)
            }
        }
        lock.withLock { status.finished = true; changed = true }
    }

    private func publish(frame: Int, marks: [FaceMark], verdicts: VideoVerdicts?) {
        lock.withLock {
            newFaces[frame] = marks
            status.completed += 1
            if let verdicts { self.verdicts = verdicts }
            changed = true
        }
    }

    private func publish(error: String, finished: Bool = false) {
        lock.withLock {
            status.error = error
            if finished { status.finished = true }
            changed = true
        }
    }

    private func fail(_ message: String) { publish(error: message, finished: true) }

    // MARK: - Detector facts

    /// The explainers a detector supports, in the `e` order: the CAM family when a layer is known, the
    /// Bonettini attention of AutoAtt models, the three LTPA levels, and SHAP (model-agnostic) last.
    static func explainerNames(for detector: Detector) -> [String] {
        var names: [String] = []
        if detector.manifest.gradcamLayer != nil || ExplainRunner.defaultCAMLayer(of: detector.network) != nil {
            names += ["gradcam", "gradcampp", "layercam"]
        }
        if detector.manifest.architecture == "efficientnet-autoatt" || detector.manifest.attentionLayer != nil {
            names.append("attention")
        }
        if detector.manifest.architecture == "efficientnet-ltpa" { names += ["ltpa1", "ltpa2", "ltpa3"] }
        return names + ["shap"]
    }

    /// The crop's rectangle in the frame for the detector's crop policy (the face box when it is not a rectangle).
    static func cropBox(_ box: FaceBox, crop: DetectorCrop, _ metadata: VideoMetadata, size: Int) -> FaceBox {
        guard case .face(let policy) = crop,
              let r = policy.rectangle(for: box, frameWidth: metadata.width, frameHeight: metadata.height, size: size)
        else { return box }
        return FaceBox(x1: Float(r.x), y1: Float(r.y), x2: Float(r.x + r.width), y2: Float(r.y + r.height))
    }
}
