import CFFmpeg
import Foundation

// MARK: - Return-code checking

/// The one place libav* return codes become errors: negative codes throw with av_strerror's text, as
/// `MediaError.ffmpeg` unless `error` words it for the user (e.g. "cannot open as a video").
@discardableResult
func ffCheck(_ code: Int32, _ operation: String, path: String,
             as error: ((String) -> MediaError)? = nil) throws -> Int32 {
    guard code < 0 else { return code }
    let text = ffErrorText(code)
    throw error?(text) ?? MediaError.ffmpeg(path: path, operation: operation, message: text)
}

func ffErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    return buffer.withUnsafeMutableBufferPointer { b in
        String(cString: ds_err2str(code, b.baseAddress, b.count))
    }
}

let ffNoPTS: Int64 = ds_nopts_value()
let ffEOF: Int32 = ds_averror_eof()
let ffEAGAIN: Int32 = ds_averror_eagain()

// MARK: - Owned handles

/// An open demuxer; closes the input on deinit.
final class FormatHandle {
    var pointer: UnsafeMutablePointer<AVFormatContext>?

    init(path: String) throws {
        try ffCheck(avformat_open_input(&pointer, path, nil, nil), "avformat_open_input", path: path) {
            .cannotOpen(path: path, reason: $0)
        }
    }

    var context: UnsafeMutablePointer<AVFormatContext> { pointer! }

    deinit { avformat_close_input(&pointer) }
}

/// A decoder context; freed on deinit.
final class CodecHandle {
    var pointer: UnsafeMutablePointer<AVCodecContext>?

    init(codec: UnsafePointer<AVCodec>, path: String) throws {
        pointer = avcodec_alloc_context3(codec)
        if pointer == nil { throw MediaError.ffmpeg(path: path, operation: "avcodec_alloc_context3", message: "out of memory") }
    }

    var context: UnsafeMutablePointer<AVCodecContext> { pointer! }

    deinit { avcodec_free_context(&pointer) }
}

/// A reusable AVFrame; freed on deinit.
final class FrameHandle {
    var pointer: UnsafeMutablePointer<AVFrame>?
    init() { pointer = av_frame_alloc() }
    var frame: UnsafeMutablePointer<AVFrame> { pointer! }
    deinit { av_frame_free(&pointer) }
}

/// A reusable AVPacket; freed on deinit.
final class PacketHandle {
    var pointer: UnsafeMutablePointer<AVPacket>?
    init() { pointer = av_packet_alloc() }
    var packet: UnsafeMutablePointer<AVPacket> { pointer! }
    deinit { av_packet_free(&pointer) }
}
