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
    /// Frames whose faces go through the detector as one batch.
    public let framesPerBatch: Int
    private let lock = NSLock()
    private var state: Snapshot
    private var cancelRequested = false
    private let done = DispatchSemaphore(value: 0)
    private var thread: Thread?

    /// - Parameters:
    ///   - frames: frame indices to analyse, increasing (a stride such as `A:B:STEP` flattened).
    ///   - framesPerBatch: frames whose faces are scored as one batch: faster, at the cost of memory and of
    ///     results arriving in bursts (the explorer keeps 1 to see each frame at once).
    ///   - hook: called after each frame is scored, with crops and the detector's input (where explainers plug in);
    ///     an error it throws stops the analysis and becomes `snapshot.error`.
    public init(source: FrameSource, frames: [Int], detector: Detector, faces: MTCNN,
                tracker: TrackerOptions = TrackerOptions(), framesPerBatch: Int = 1,
                hook: ((FrameContext) throws -> Void)? = nil) {
        self.source = source
        self.framesPerBatch = max(1, framesPerBatch)
        self.frames = frames
        self.detector = detector
        self.mtcnn = faces
        self.trackerOptions = tracker
        self.hook = hook
        state = Snapshot(total: frames.count)
    }

    /// A copy of the state, safe from any thread.
    public var snapshot: Snapshot { lock.withLock { state } }

    /// The results published from position `start` on (for a poller that keeps what it has already seen).
    public func results(from start: Int) -> [FrameResult] {
        lock.withLock { start < state.results.count ? Array(state.results[max(0, start)...]) : [] }
    }

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
        var index = 0
        while index < frames.count {
            if lock.withLock({ cancelRequested }) {
                lock.withLock { state.cancelled = true }
                break
            }
            let chunk = frames[index..<min(index + framesPerBatch, frames.count)]
            index += chunk.count
            var current = chunk.first!
            do {
                var pending: [PendingFrame] = []
                for k in chunk {
                    current = k
                    pending.append(try prepare(frame: k, tracker: &tracker, times: &times))
                }
                current = chunk.first!
                let scored = try score(pending, times: &times)
                for (frame, (result, input)) in zip(pending, scored) {
                    current = frame.index
                    if let hook {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        try hook(FrameContext(frame: frame.index, image: frame.image, result: result, crops: frame.crops, input: input))
                        times.hook += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                    }
                    try each?(result)
                    lock.withLock {
                        state.results.append(result)
                        state.completed += 1
                        state.times = times
                    }
                }
            } catch {
                lock.withLock { state.error = "frame \(current): \(error)"; state.times = times }
                throw error
            }
        }
    }

    /// A decoded frame with its tracked faces cropped, waiting for the detector.
    private struct PendingFrame {
        var index: Int
        var time: Double
        var image: RGBImage
        var faces: [(track: Int, face: Face)] = []
        var crops: [RGBImage] = []
        var skipped: [String] = []
    }

    private func prepare(frame k: Int, tracker: inout FaceTracker, times: inout StageTimes) throws -> PendingFrame {
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) / 1e9
        }
        var frame = PendingFrame(index: k, time: source.timestamp(ofFrame: k), image: try source.frame(at: k))
        times.decode += lap()
        let found = mtcnn.detect(frame.image)
        let ids = tracker.update(frame: k, faces: found)
        times.faces += lap()
        for (face, id) in zip(found, ids) {
            do {
                frame.crops.append(try detector.crop(frame.image, face))
                frame.faces.append((id, face))
            } catch {
                frame.skipped.append("track \(id): \(error)")
            }
        }
        times.detector += lap()
        return frame
    }

    /// Scores the faces of several frames as one batch; returns each frame's result and its rows of the input
    /// tensor.
    private func score(_ pending: [PendingFrame], times: inout StageTimes) throws -> [(FrameResult, Tensor)] {
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { times.detector += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
        let crops = pending.flatMap(\.crops)
        let input = crops.isEmpty ? Tensor(shape: [0]) : detector.preprocess(crops)
        let outputs = crops.isEmpty ? [] : try detector.score(input)
        let per = crops.isEmpty ? 0 : input.count / crops.count
        var row = 0
        return pending.map { frame in
            let n = frame.crops.count
            let scored = zip(frame.faces, outputs[row..<(row + n)]).map { ScoredFace(track: $0.track, face: $0.face, output: $1) }
            let rows = n == 0 ? Tensor(shape: [0])
                : Tensor(shape: [n] + input.shape.dropFirst(), data: Array(input.data[(row * per)..<((row + n) * per)]))
            row += n
            return (FrameResult(frame: frame.index, time: frame.time, faces: scored, skipped: frame.skipped), rows)
        }
    }
}
