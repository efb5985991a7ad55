import Foundation

/// Decoded frames by index, least recently used evicted first, bounded by a frame count and a byte budget.
///
/// Thread-safe: the provider's background thread fills it while the UI thread reads it.
public final class FrameCache: @unchecked Sendable {
    private struct Entry {
        var image: RGBImage
        var lastUse: UInt64
    }

    /// The most frames kept.
    public let maxFrames: Int
    /// The most pixel bytes kept (at least one frame is always kept).
    public let maxBytes: Int
    private let lock = NSLock()
    private var entries: [Int: Entry] = [:]
    private var clock: UInt64 = 0
    private var bytes = 0

    /// - Parameters:
    ///   - maxFrames: frames kept at most.
    ///   - maxBytes: pixel bytes kept at most (default 512 MiB: about 80 frames of 1080p).
    public init(maxFrames: Int = 64, maxBytes: Int = 512 << 20) {
        self.maxFrames = max(maxFrames, 1)
        self.maxBytes = maxBytes
    }

    /// The frame, marking it recently used; nil when not cached.
    public func frame(_ index: Int) -> RGBImage? {
        lock.lock()
        defer { lock.unlock() }
        guard var entry = entries[index] else { return nil }
        clock += 1
        entry.lastUse = clock
        entries[index] = entry
        return entry.image
    }

    /// Whether a frame is cached, without touching its recency.
    public func contains(_ index: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return entries[index] != nil
    }

    /// Stores a frame, evicting the least recently used ones beyond the bounds.
    public func insert(_ image: RGBImage, at index: Int) {
        lock.lock()
        defer { lock.unlock() }
        clock += 1
        if let old = entries.updateValue(Entry(image: image, lastUse: clock), forKey: index) {
            bytes -= old.image.pixels.count
        }
        bytes += image.pixels.count
        while entries.count > 1 && (entries.count > maxFrames || bytes > maxBytes) {
            // A linear scan: caches hold tens of frames, and eviction is rare next to decoding.
            guard let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
            bytes -= oldest.value.image.pixels.count
            entries.removeValue(forKey: oldest.key)
        }
    }

    /// The cached indices, in no particular order.
    public var indices: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return Array(entries.keys)
    }

    /// Pixel bytes held.
    public var byteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return bytes
    }

    public func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        entries.removeAll()
        bytes = 0
    }
}
