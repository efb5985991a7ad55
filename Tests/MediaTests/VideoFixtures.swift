import Foundation
import Media
import TestSupport
import Testing

// MARK: - Generated videos

/// Tiny videos made once per test run with the ffmpeg CLI, each exercising one decoding trap.
enum GeneratedVideo: String, CaseIterable, Sendable {
    case bFrames = "bframes.mp4"
    case openGOP = "opengop.mkv"
    case variableRate = "vfr.mp4"
    case startOffset = "start.mkv"
    case transportStream = "stream.ts"
    case mpeg4AVI = "mpeg4.avi"
    case vp9 = "vp9.webm"
    case vp8AltRef = "vp8.webm"
    case mjpeg = "mjpeg.avi"
    case rotated = "rotated.mp4"

    private static let source = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25"]
    private static let x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast"]

    /// ffmpeg arguments after `-y`, without the output name.
    var arguments: [String] {
        switch self {
        case .bFrames: Self.source + ["-frames:v", "40"] + Self.x264 + ["-bf", "3", "-g", "12"]
        case .openGOP: Self.source + ["-frames:v", "45"] + Self.x264 + ["-bf", "3", "-g", "10", "-x264-params", "open-gop=1"]
        case .variableRate:
            // Dropping every third frame while keeping timestamps gives irregular frame durations.
            Self.source + ["-frames:v", "40", "-vf", "select='not(eq(mod(n\\,3)\\,1))'", "-fps_mode", "vfr"]
                + Self.x264 + ["-bf", "2"]
        case .startOffset: Self.source + ["-frames:v", "30"] + Self.x264 + ["-bf", "2", "-output_ts_offset", "3.7"]
        case .transportStream: Self.source + ["-frames:v", "30", "-c:v", "mpeg2video", "-bf", "2"]
        case .mpeg4AVI: Self.source + ["-frames:v", "30", "-c:v", "mpeg4", "-bf", "2", "-g", "8"]
        case .vp9: Self.source + ["-frames:v", "30", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "10"]
        case .vp8AltRef:
            Self.source + ["-frames:v", "30", "-c:v", "libvpx", "-auto-alt-ref", "1", "-lag-in-frames", "10", "-g", "12"]
        case .mjpeg: Self.source + ["-frames:v", "20", "-c:v", "mjpeg"]
        // FFmpeg 5.1 drops a rotate tag when re-encoding, so the tag is added by a stream copy (see `url(for:)`).
        case .rotated: Self.source + ["-frames:v", "20"] + Self.x264
        }
    }

    /// Generated in one shared folder, once per process.
    var url: URL { get throws { try GeneratedVideos.shared.url(for: self) } }
}

/// Makes each generated video on first use; a lock keeps parallel tests from racing on one file.
final class GeneratedVideos: @unchecked Sendable {
    static let shared = GeneratedVideos()
    private let lock = NSLock()
    private var folder: URL?
    private var made: Set<String> = []

    func url(for video: GeneratedVideo) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if folder == nil { folder = try makeTemporaryDirectory("deepscope-media") }
        let url = folder!.appendingPathComponent(video.rawValue)
        if !made.contains(video.rawValue) {
            let result = try runProcess("ffmpeg", ["-v", "error", "-y"] + video.arguments + [url.path])
            guard result.status == 0 else { throw FixtureError("ffmpeg failed making \(video.rawValue): \(result.stderr)") }
            if video == .rotated {
                let tagged = url.deletingLastPathComponent().appendingPathComponent("tagged-" + video.rawValue)
                let copy = try runProcess("ffmpeg", ["-v", "error", "-y", "-i", url.path, "-c", "copy",
                                                     "-metadata:s:v:0", "rotate=90", tagged.path])
                guard copy.status == 0 else { throw FixtureError("ffmpeg failed tagging rotation: \(copy.stderr)") }
                try FileManager.default.removeItem(at: url)
                try FileManager.default.moveItem(at: tagged, to: url)
            }
            made.insert(video.rawValue)
        }
        return url
    }

    /// A scratch folder for files tests write.
    func scratch() throws -> URL { try makeTemporaryDirectory("deepscope-media-scratch") }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

// MARK: - The ffmpeg CLI as reference

/// All frames `ffmpeg -fps_mode passthrough -pix_fmt rgb24 -f rawvideo` decodes, each `width`×`height`.
func referenceFrames(_ url: URL, width: Int, height: Int, autorotate: Bool = false) throws -> [RGBImage] {
    let input = (autorotate ? [] : ["-noautorotate"]) + ["-i", url.path]
    let result = try runProcess("ffmpeg", ["-v", "error", "-nostdin"] + input
        + ["-fps_mode", "passthrough", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"])
    guard result.status == 0 else { throw FixtureError("ffmpeg failed decoding \(url.lastPathComponent): \(result.stderr)") }
    let size = width * height * 3
    let bytes = [UInt8](result.stdout)
    guard size > 0, bytes.count % size == 0 else {
        throw FixtureError("ffmpeg output \(bytes.count) bytes is not a multiple of \(width)×\(height)×3")
    }
    return stride(from: 0, to: bytes.count, by: size).map {
        RGBImage(width: width, height: height, pixels: Array(bytes[$0 ..< $0 + size]))
    }
}

/// The largest per-channel difference between two images of one size (Int.max when sizes differ).
func maxPixelDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
    guard a.width == b.width, a.height == b.height else { return Int.max }
    var worst = 0
    for i in a.pixels.indices { worst = max(worst, abs(Int(a.pixels[i]) - Int(b.pixels[i]))) }
    return worst
}
