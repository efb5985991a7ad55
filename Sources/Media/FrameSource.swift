import Foundation

// MARK: - Metadata

/// What `deepscope info` reports about a video: container, codec, geometry, timing and the exact frame count.
///
/// `rotation` is the clockwise turn (0, 90, 180 or 270 degrees) that shows stored frames upright, read from
/// the display matrix; frames themselves are returned as stored. `frameCount` is the number of frames that
/// `ffmpeg -fps_mode passthrough` decodes.
public struct VideoMetadata: Sendable, Codable, Equatable {
    public var path: String
    /// The demuxer's name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    public var container: String
    /// The codec's short name, e.g. `h264`.
    public var codec: String
    public var width: Int
    public var height: Int
    /// The average frame rate as a fraction (0/1 when the container gives none and it cannot be derived).
    public var frameRateNumerator: Int
    public var frameRateDenominator: Int
    /// `frameRateNumerator / frameRateDenominator`.
    public var frameRate: Double
    /// Seconds.
    public var duration: Double
    public var frameCount: Int
    public var rotation: Int
    /// Presentation time of frame 0 in seconds on the container's clock.
    public var startTime: Double
    /// The decoder's pixel format, e.g. `yuv420p`.
    public var pixelFormat: String
    /// Whether frame durations differ (beyond container timestamp rounding).
    public var isVariableFrameRate: Bool

    public init(path: String, container: String, codec: String, width: Int, height: Int,
                frameRateNumerator: Int, frameRateDenominator: Int, duration: Double, frameCount: Int,
                rotation: Int, startTime: Double, pixelFormat: String, isVariableFrameRate: Bool) {
        self.path = path
        self.container = container
        self.codec = codec
        self.width = width
        self.height = height
        self.frameRateNumerator = frameRateNumerator
        self.frameRateDenominator = frameRateDenominator
        self.frameRate = frameRateDenominator == 0 ? 0 : Double(frameRateNumerator) / Double(frameRateDenominator)
        self.duration = duration
        self.frameCount = frameCount
        self.rotation = rotation
        self.startTime = startTime
        self.pixelFormat = pixelFormat
        self.isVariableFrameRate = isVariableFrameRate
    }
}

// MARK: - FrameSource

/// Random access to the decoded frames of one video, by index in presentation order.
///
/// Implementations are not thread-safe; `FrameProvider` owns one on a background thread.
public protocol FrameSource: AnyObject {
    var metadata: VideoMetadata { get }
    /// Frame `index` (0 ..< `metadata.frameCount`), as stored (not rotated).
    func frame(at index: Int) throws -> RGBImage
    /// Seconds from frame 0 to frame `index`, from the frame's own timestamp.
    func timestamp(ofFrame index: Int) -> Double
}

// MARK: - In memory

/// A frame source over images already in memory, for tests and generated content.
public final class InMemoryFrameSource: FrameSource {
    public let metadata: VideoMetadata
    private let frames: [RGBImage]
    private let times: [Double]
    /// Frames served so far, in order of request: lets tests see what a consumer asked for.
    public private(set) var servedIndices: [Int] = []

    /// - Parameters:
    ///   - frames: the frames, all of one size.
    ///   - times: seconds of each frame; default `index / frameRate`.
    public init(frames: [RGBImage], frameRate: Double = 25, times: [Double]? = nil, path: String = "<memory>") {
        precondition(!frames.isEmpty, "InMemoryFrameSource: no frames")
        self.frames = frames
        self.times = times ?? frames.indices.map { Double($0) / frameRate }
        let rate = Int((frameRate * 1000).rounded())
        self.metadata = VideoMetadata(
            path: path, container: "memory", codec: "rawvideo", width: frames[0].width, height: frames[0].height,
            frameRateNumerator: rate, frameRateDenominator: 1000, duration: Double(frames.count) / frameRate,
            frameCount: frames.count, rotation: 0, startTime: 0, pixelFormat: "rgb24", isVariableFrameRate: times != nil)
    }

    public func frame(at index: Int) throws -> RGBImage {
        guard frames.indices.contains(index) else {
            throw MediaError.frameOutOfRange(path: metadata.path, index: index, count: frames.count)
        }
        servedIndices.append(index)
        return frames[index]
    }

    public func timestamp(ofFrame index: Int) -> Double { times[min(max(index, 0), times.count - 1)] }
}
