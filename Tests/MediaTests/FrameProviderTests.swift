import Foundation
@testable import Media
import TestSupport
import Testing

// MARK: - Test sources

/// Frames whose first pixel encodes their index, decoded slowly and optionally failing at one index.
final class SlowSource: FrameSource, @unchecked Sendable {
    let metadata: VideoMetadata
    let delay: TimeInterval
    let failing: Int?
    private let lock = NSLock()
    private var decoded: [Int] = []

    init(count: Int, delay: TimeInterval, failing: Int? = nil) {
        self.delay = delay
        self.failing = failing
        metadata = InMemoryFrameSource(frames: [RGBImage(width: 2, height: 1)]).metadata
            .with { $0.frameCount = count; $0.path = "slow" }
    }

    static func image(_ index: Int) -> RGBImage {
        RGBImage(width: 2, height: 1, pixels: [UInt8(index & 0xFF), UInt8(index >> 8), 0, 1, 2, 3])
    }

    func frame(at index: Int) throws -> RGBImage {
        Thread.sleep(forTimeInterval: delay)
        lock.withLock { decoded.append(index) }
        if index == failing { throw MediaError.frameNotFound(path: "slow", index: index) }
        return Self.image(index)
    }

    func timestamp(ofFrame index: Int) -> Double { Double(index) / 25 }
    var decodedIndices: [Int] { lock.withLock { decoded } }
}

extension VideoMetadata {
    func with(_ change: (inout VideoMetadata) -> Void) -> VideoMetadata {
        var copy = self
        change(&copy)
        return copy
    }
}

/// Collects onReady calls and lets a test wait for one.
final class ReadyLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var seen: [Int] = []

    func record(_ index: Int) {
        condition.lock()
        seen.append(index)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits up to `timeout` seconds for `index` to be reported.
    func wait(for index: Int, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !seen.contains(index) {
            if !condition.wait(until: deadline) { return seen.contains(index) }
        }
        return true
    }

    var indices: [Int] { condition.lock(); defer { condition.unlock() }; return seen }
}

func waitUntil(_ timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        Thread.sleep(forTimeInterval: 0.002)
    }
    return true
}

// MARK: - Cache

@Suite struct FrameCacheTests {
    @Test func evictsLeastRecentlyUsedByCount() {
        let cache = FrameCache(maxFrames: 3)
        for i in 0..<3 { cache.insert(SlowSource.image(i), at: i) }
        #expect(cache.frame(0) != nil)          // 0 is now the most recent
        cache.insert(SlowSource.image(3), at: 3)
        #expect(Set(cache.indices) == [0, 2, 3])
        #expect(cache.frame(1) == nil)
    }

    @Test func evictsByBytes() {
        let cache = FrameCache(maxFrames: 100, maxBytes: 3 * 6)
        for i in 0..<5 { cache.insert(SlowSource.image(i), at: i) }
        #expect(Set(cache.indices) == [2, 3, 4])
        #expect(cache.byteCount == 18)
        // A frame larger than the budget is still kept on its own.
        cache.insert(RGBImage(width: 10, height: 10), at: 9)
        #expect(cache.indices == [9])
    }
}

// MARK: - Provider

@Suite struct FrameProviderTests {
    @Test func requestReturnsAtOnceAndTheFrameArrivesLater() {
        let source = SlowSource(count: 100, delay: 0.05)
        let provider = FrameProvider(source: source)
        let log = ReadyLog()
        provider.onReady = { log.record($0) }
        let start = Date()
        provider.request(10)
        #expect(Date().timeIntervalSince(start) < 0.03, "request blocked on decoding")
        #expect(provider.cachedFrame(10) == nil)
        #expect(log.wait(for: 10))
        #expect(provider.cachedFrame(10) == SlowSource.image(10))
        #expect(provider.lastError == nil)
    }

    @Test func prefetchesInTheSteppingDirection() {
        let source = SlowSource(count: 100, delay: 0.001)
        let provider = FrameProvider(source: source, prefetch: 3)
        provider.request(50)
        #expect(waitUntil { provider.isIdle && provider.cachedFrame(53) != nil })
        #expect(source.decodedIndices == [50, 51, 52, 53])
        provider.request(49)   // stepping back: prefetch goes backwards
        #expect(waitUntil { provider.isIdle && provider.cachedFrame(46) != nil })
        #expect(Array(source.decodedIndices.suffix(4)) == [49, 48, 47, 46])
        // At the start of the video the prefetch stops at frame 0.
        provider.request(1)
        #expect(waitUntil { provider.isIdle && provider.cachedFrame(0) != nil })
        #expect(Array(source.decodedIndices.suffix(2)) == [1, 0])
    }

    @Test func theLatestRequestWins() {
        let source = SlowSource(count: 1000, delay: 0.02)
        let provider = FrameProvider(source: source, prefetch: 2)
        let log = ReadyLog()
        provider.onReady = { log.record($0) }
        for i in 0..<40 { provider.request(i * 20) }
        #expect(log.wait(for: 780))
        #expect(provider.cachedFrame(780) == SlowSource.image(780))
        // Superseded requests were skipped, not decoded one after another.
        #expect(source.decodedIndices.count < 15, "decoded \(source.decodedIndices)")
    }

    @Test func errorsAreReportedAndClearedByTheNextFrame() {
        let source = SlowSource(count: 10, delay: 0, failing: 3)
        let provider = FrameProvider(source: source, prefetch: 0)
        provider.request(3)
        #expect(waitUntil { provider.lastError != nil })
        #expect(provider.lastError as? MediaError == .frameNotFound(path: "slow", index: 3))
        #expect(provider.cachedFrame(3) == nil)
        provider.request(4)
        #expect(waitUntil { provider.cachedFrame(4) != nil && provider.lastError == nil })
    }

    @Test func decodesARealVideoOffTheCallersThread() throws {
        let url = assetURL("carphone_pristine.mp4")
        let reference = try FFmpegVideo(contentsOf: url)
        let provider = FrameProvider(source: try FFmpegVideo(contentsOf: url), prefetch: 2)
        #expect(provider.metadata.frameCount == 120)
        #expect(abs(provider.timestamp(ofFrame: 30) - 30 * 1001 / 30000) < 1e-9)
        let log = ReadyLog()
        provider.onReady = { log.record($0) }
        for k in [100, 3, 119, 60, 59] {
            provider.request(k)
            #expect(log.wait(for: k))
            let same = try provider.cachedFrame(k) == reference.frame(at: k)
            #expect(same, "frame \(k)")
        }
    }
}
