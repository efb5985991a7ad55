import Dispatch
import Faces
import Foundation
import Media
import Neural

// MARK: - Hook

/// Everything `analyze` knows about one frame once its faces are scored: what explainers need.
public struct FrameContext: @unchecked Sendable {
    public let frame: Int
    public let image: RGBImage
    public let result: FrameResult
    /// The detector-sized crops, one per scored face (same order as `result.faces`).
    public let crops: [RGBImage]
    /// The preprocessed N×3×S×S input the detector ran on (row i is `crops[i]`); empty when no face was scored.
    public let input: Tensor
}

/// Seconds spent in each stage of the pipeline.
public struct StageTimes: Sendable, Equatable {
    public var decode = 0.0, faces = 0.0, detector = 0.0, hook = 0.0
    public var total: Double { decode + faces + detector + hook }
    public init() {}
}

// MARK: - Analysis

/// Scores every face of a range of frames (decode → MTCNN → IoU tracks → crop → detector), on the caller's
/// thread (`run`) or its own (`start`), publishing each frame's result as it arrives.
///
/// The analysis owns `source` while it runs: nothing else may read frames from it. The explorer polls
/// `snapshot` from its UI thread:
/// ```swift
/// let analysis = VideoAnalysis(source: video, frames: Array(0..<video.metadata.frameCount), detector: d, faces: mtcnn)
/// analysis.start()
/// let s = analysis.snapshot          // s.results, s.completed / s.total, s.finished, s.error
/// analysis.cancel()
/// ```
public final class VideoAnalysis: @unchecked Sendable {
    /// A consistent copy of the analysis state.
    public struct Snapshot: Sendable {
        /// Results so far, in frame order.
        public var results: [FrameResult] = []
        public var completed = 0
        public var total: Int
        public var finished = false
        public var cancelled = false
        /// Why the analysis stopped early (a decode failure), as one line.
        public var error: String?
        public var times = StageTimes()
        /// Verdicts over the results so far.
        public var verdicts: VideoVerdicts { VideoVerdicts(results) }
        public var fraction: Double { total == 0 ? 1 : Double(completed) / Double(total) }
    }

    public let frames: [Int]
    public let detector: Detector
    private let source: FrameSource
    private let mtcnn: MTCNN
    private let trackerOptions: TrackerOptions
    private let hook: ((FrameContext) throws -> Void)?
    private let lock = NSLock()
    private var state: Snapshot
    private var cancelRequested = false
    private let done = DispatchSemaphore(value: 0)
    private var thread: Thread?

    /// - Parameters:
    ///   - frames: frame indices to analyse, increasing (a stride such as `A:B:STEP` flattened).
    ///   - hook: called after each frame is scored, with crops and the detector's input (where explainers plug in);
    ///     an error it throws stops the analysis and becomes `snapshot.error`.
    public init(source: FrameSource, frames: [Int], detector: Detector, faces: MTCNN,
                tracker: TrackerOptions = TrackerOptions(), hook: ((FrameContext) throws -> Void)? = nil) {
        self.source = source
        self.frames = frames
        self.detector = detector
        self.mtcnn = faces
        self.trackerOptions = tracker
        self.hook = hook
        state = Snapshot(total: frames.count)
    }

    /// A copy of the state, safe from any thread.
    public var snapshot: Snapshot { lock.withLock { state } }

    /// Asks the analysis to stop after the frame in progress.
    public func cancel() { lock.withLock { cancelRequested = true } }

    /// Runs the analysis on a thread of its own; returns at once.
    public func start() {
        let t = Thread { [self] in
            _ = try? run()
        }
        t.stackSize = 16 << 20
        lock.withLock { thread = t }
        t.start()
    }

    /// Blocks until a `start`ed analysis has finished (or been cancelled).
    public func wait() {
        done.wait()
        done.signal()
    }

    /// Runs the analysis on the calling thread, calling `each` with every frame's result as it is published.
    ///
    /// - Throws: the first decode or hook failure (also recorded in `snapshot.error`); cancellation is not an error.
    @discardableResult
    public func run(each: ((FrameResult) throws -> Void)? = nil) throws -> Snapshot {
        do { try loop(each) } catch {
            finish()
            throw error
        }
        finish()
        return snapshot
    }

    private func finish() {
        lock.withLock { state.finished = true }
        done.signal()
    }

    private func loop(_ each: ((FrameResult) throws -> Void)?) throws {
        var tracker = FaceTracker(options: trackerOptions)
        var times = StageTimes()
        for k in frames {
            if lock.withLock({ cancelRequested }) {
                lock.withLock { state.cancelled = true }
                break
            }
            do {
                let result = try analyse(frame: k, tracker: &tracker, times: &times)
                try each?(result)
                lock.withLock {
                    state.results.append(result)
                    state.completed += 1
                    state.times = times
                }
            } catch {
                lock.withLock { state.error = "frame \(k): \(error)"; state.times = times }
                throw error
            }
        }
    }

    private func analyse(frame k: Int, tracker: inout FaceTracker, times: inout StageTimes) throws -> FrameResult {
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) / 1e9
        }
        let image = try source.frame(at: k)
        let time = source.timestamp(ofFrame: k)
        times.decode += lap()
        let found = mtcnn.detect(image)
        let ids = tracker.update(frame: k, faces: found)
        times.faces += lap()
        var crops: [RGBImage] = [], kept: [(Int, Face)] = [], skipped: [String] = []
        for (face, id) in zip(found, ids) {
            do {
                crops.append(try detector.crop(image, face))
                kept.append((id, face))
            } catch {
                skipped.append("track \(id): \(error)")
            }
        }
        var input = Tensor(shape: [0])
        var scored: [ScoredFace] = []
        if !crops.isEmpty {
            input = detector.preprocess(crops)
            let outputs = try detector.score(input)
            scored = zip(kept, outputs).map { ScoredFace(track: $0.0, face: $0.1, output: $1) }
        }
        times.detector += lap()
        let result = FrameResult(frame: k, time: time, faces: scored, skipped: skipped)
        if let hook {
            try hook(FrameContext(frame: k, image: image, result: result, crops: crops, input: input))
            times.hook += lap()
        }
        return result
    }
}
