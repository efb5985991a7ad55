import Foundation

/// Why a video or image could not be opened, decoded or written. Every case reads as one line naming the file.
public enum MediaError: Error, CustomStringConvertible, Equatable, Sendable {
    case fileNotFound(path: String)
    case emptyFile(path: String)
    case cannotOpen(path: String, reason: String)
    case noVideoStream(path: String)
    case unsupportedCodec(path: String, codec: String)
    case resolutionTooLarge(path: String, width: Int, height: Int)
    case noFrames(path: String)
    case frameOutOfRange(path: String, index: Int, count: Int)
    case frameNotFound(path: String, index: Int)
    /// A libav* call failed; `operation` names the call, `message` is av_strerror's text.
    case ffmpeg(path: String, operation: String, message: String)
    case png(path: String, message: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "\(path): no such file"
        case .emptyFile(let path): "\(path): the file is empty"
        case .cannotOpen(let path, let reason): "\(path): cannot open as a video: \(reason)"
        case .noVideoStream(let path): "\(path): the file has no video stream"
        case .unsupportedCodec(let path, let codec): "\(path): unsupported video codec '\(codec)' (no decoder)"
        case .resolutionTooLarge(let path, let w, let h):
            "\(path): resolution \(w)×\(h) is too large (limit \(VideoLimits.maxSide) px a side, "
                + "\(VideoLimits.maxPixels / 1_000_000) Mpixel)"
        case .noFrames(let path): "\(path): the video stream has no decodable frames"
        case .frameOutOfRange(let path, let index, let count):
            "\(path): frame \(index) is out of range (the video has \(count) frames, 0…\(max(count - 1, 0)))"
        case .frameNotFound(let path, let index): "\(path): frame \(index) could not be decoded"
        case .ffmpeg(let path, let operation, let message): "\(path): \(operation) failed: \(message)"
        case .png(let path, let message): "\(path): PNG: \(message)"
        }
    }
}

/// Size limits checked before any frame buffer is allocated, so a hostile header cannot exhaust memory.
public enum VideoLimits {
    /// The largest width or height accepted.
    public static let maxSide = 16_384
    /// The largest width × height accepted.
    public static let maxPixels = 100_000_000

    static func accepts(width: Int, height: Int) -> Bool {
        width > 0 && height > 0 && width <= maxSide && height <= maxSide && width * height <= maxPixels
    }
}
