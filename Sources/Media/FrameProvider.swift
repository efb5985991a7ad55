import Foundation

/// Frames of one video decoded on a background thread, so stepping through a video never blocks the UI.
///
/// `request(_:)` names the frame wanted now (the latest request wins); the provider decodes it, then prefetches a
/// few frames ahead in the direction the user is stepping. The UI polls `cachedFrame(_:)` or reacts to
/// `onReady`, which is called on the background thread.
///
///     let provider = FrameProvider(source: try FFmpegVideo(contentsOf: url))
///     provider.onReady = { index in wakeUI(index) }
///     provider.request(42)
///     if let image = provider.cachedFrame(42) { draw(image) }
public final class FrameProvider: @unchecked Sendable {
    /// The source's metadata, captured at creation.
    public let metadata: VideoMetadata
    private let worker: Worker
    private let times: [Double]

    /// - Parameters:
    ///   - source: the frames; from now on used only on the provider's thread.
    ///   - cache: where decoded frames are kept.
    ///   - prefetch: frames decoded ahead of the latest request.
    public init(source: any FrameSource, cache: FrameCache = FrameCache(), prefetch: Int = 4) {
        metadata = source.metadata
        times = (0..<source.metadata.frameCount).map { source.timestamp(ofFrame: $0) }
        worker = Worker(source: source, cache: cache, prefetch: max(prefetch, 0), count: source.metadata.frameCount)
        let worker = self.worker
        let thread = Thread { worker.run() }
        thread.name = "deepscope.frames"
        thread.start()
    }

    deinit { worker.stop() }

    /// Asks for a frame; returns at once. Out-of-range indices are ignored.
    public func request(_ index: Int) { worker.request(index) }

    /// The frame if it has been decoded and is still cached; never blocks on decoding.
    public func cachedFrame(_ index: Int) -> RGBImage? { worker.cache.frame(index) }

    /// Called on the background thread each time a frame lands in the cache.
    public var onReady: (@Sendable (Int) -> Void)? {
        get { worker.withLock { worker.onReady } }
        set { worker.withLock { worker.onReady = newValue } }
    }

    /// The error of the latest failed request, cleared by the next frame that decodes.
    public var lastError: (any Error)? { worker.withLock { worker.lastError } }

    /// Seconds from frame 0, from the frames' own timestamps.
    public func timestamp(ofFrame index: Int) -> Double {
        times.isEmpty ? 0 : times[min(max(index, 0), times.count - 1)]
    }

    /// Whether the background thread has nothing left to do (for tests and progress displays).
    public var isIdle: Bool { worker.withLock { worker.isIdle } }
}

// MARK: - Background worker

/// The state shared between the caller and the decoding thread; `source` is touched only by that thread.
private final class Worker: @unchecked Sendable {
    let cache: FrameCache
    private let source: any FrameSource
    private let prefetch: Int
    private let count: Int
    private let condition = NSCondition()
    private var target: Int?
    private var queue: [Int] = []
    private var previous: Int?
    private var stopped = false
    private var busy = false
    var onReady: (@Sendable (Int) -> Void)?
    var lastError: (any Error)?

    init(source: any FrameSource, cache: FrameCache, prefetch: Int, count: Int) {
        self.source = source
        self.cache = cache
        self.prefetch = prefetch
        self.count = count
    }

    func withLock<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    var isIdle: Bool { target == nil && queue.isEmpty && !busy }

    func request(_ index: Int) {
        guard index >= 0 && index < count else { return }
        condition.lock()
        let step = index < (previous ?? index) ? -1 : 1
        previous = index
        target = index
        // A new request replaces any prefetching still queued for an older one.
        queue = (0..<prefetch).map { index + step * ($0 + 1) }.filter { $0 >= 0 && $0 < count }
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    func run() {
        while true {
            condition.lock()
            while !stopped && target == nil && queue.isEmpty { condition.wait() }
            if stopped { condition.unlock(); return }
            let isTarget = target != nil
            let index = target ?? queue.removeFirst()
            target = nil
            busy = true
            condition.unlock()

            var delivered = false
            var failure: (any Error)?
            if cache.contains(index) {
                delivered = isTarget
            } else {
                do {
                    cache.insert(try source.frame(at: index), at: index)
                    delivered = true
                } catch {
                    failure = error
                }
            }

            condition.lock()
            busy = false
            if let failure, isTarget { lastError = failure }
            if delivered && failure == nil && isTarget { lastError = nil }
            let callback = onReady
            condition.unlock()
            if delivered { callback?(index) }
        }
    }
}
