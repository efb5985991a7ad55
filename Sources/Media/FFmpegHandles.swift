import CFFmpeg
import Foundation

// MARK: - Return-code checking

/// The one place libav* return codes become errors: negative codes throw with av_strerror's text.
@discardableResult
func ffCheck(_ code: Int32, _ operation: String, path: String) throws -> Int32 {
    guard code < 0 else { return code }
    throw MediaError.ffmpeg(path: path, operation: operation, message: ffErrorText(code))
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
        let code = avformat_open_input(&pointer, path, nil, nil)
        if code < 0 {
            throw MediaError.cannotOpen(path: path, reason: ffErrorText(code))
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

/// A libswscale context converting decoded frames to packed RGB24 at the same size, plus its aligned output buffer.
final class RGBConverter {
    private var context: OpaquePointer?
    private var key: (Int32, Int32, Int32, Int32, Int32) = (0, 0, -1, -1, -1)
    private var buffer: UnsafeMutablePointer<UInt8>?
    private var lineSize = 0

    /// Converts `frame` to RGB, matching the ffmpeg CLI's auto-inserted scale filter (bicubic flags, colour
    /// matrix and range taken from the frame) so pixels equal `ffmpeg -pix_fmt rgb24` output.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, path: String) throws -> RGBImage {
        let f = frame.pointee
        let width = Int(f.width), height = Int(f.height)
        guard VideoLimits.accepts(width: width, height: height) else {
            throw MediaError.resolutionTooLarge(path: path, width: width, height: height)
        }
        let wanted = (f.width, f.height, f.format, Int32(bitPattern: f.colorspace.rawValue), Int32(bitPattern: f.color_range.rawValue))
        if context == nil || wanted != key {
            try configure(frame, path: path)
            key = wanted
        }
        let rowBytes = width * 3
        // Rows of a multiple of 16 pixels keep swscale's 16-byte stride alignment, so it can convert straight into
        // the image's storage; 64 bytes of spare capacity absorb any vector store past the last pixel. Other
        // widths go through the padded buffer.
        if width % 16 == 0 {
            let pixels = try [UInt8](unsafeUninitializedCapacity: rowBytes * height + 64) { out, count in
                try scale(frame, into: out.baseAddress!, stride: rowBytes, path: path)
                count = rowBytes * height
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        }
        try scale(frame, into: buffer!, stride: lineSize, path: path)
        let source = buffer!
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { out, count in
            for y in 0..<height {
                (out.baseAddress! + y * rowBytes).update(from: source + y * lineSize, count: rowBytes)
            }
            count = rowBytes * height
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private func scale(_ frame: UnsafeMutablePointer<AVFrame>, into destination: UnsafeMutablePointer<UInt8>,
                       stride: Int, path: String) throws {
        var dst: [UnsafeMutablePointer<UInt8>?] = [destination, nil, nil, nil]
        var dstStride: [Int32] = [Int32(stride), 0, 0, 0]
        let height = frame.pointee.height
        let rows = withUnsafePointer(to: frame.pointee.data) { dataTuple in
            dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                withUnsafePointer(to: frame.pointee.linesize) { strideTuple in
                    strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                        sws_scale(context, src, srcStride, 0, height, &dst, &dstStride)
                    }
                }
            }
        }
        try ffCheck(rows, "sws_scale", path: path)
    }

    private func configure(_ frame: UnsafeMutablePointer<AVFrame>, path: String) throws {
        let f = frame.pointee
        sws_freeContext(context)
        context = sws_getContext(f.width, f.height, AVPixelFormat(rawValue: f.format), f.width, f.height,
                                 AV_PIX_FMT_RGB24, SWS_BICUBIC, nil, nil, nil)
        guard let context else {
            let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: f.format)).map { String(cString: $0) } ?? "\(f.format)"
            throw MediaError.ffmpeg(path: path, operation: "sws_getContext", message: "cannot convert \(name) to rgb24")
        }
        // The CLI's scale filter re-sets the colour details from the frame ("auto" matrix, frame range); doing the
        // same keeps our pixels identical to its output, including for BT.709-tagged and full-range streams.
        var invTable: UnsafeMutablePointer<Int32>?, table: UnsafeMutablePointer<Int32>?
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        if sws_getColorspaceDetails(context, &invTable, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) >= 0 {
            let coefficients = sws_getCoefficients(Int32(bitPattern: f.colorspace.rawValue))
            if f.color_range != AVCOL_RANGE_UNSPECIFIED { srcRange = f.color_range == AVCOL_RANGE_JPEG ? 1 : 0 }
            _ = sws_setColorspaceDetails(context, coefficients, srcRange, coefficients, dstRange, brightness, contrast, saturation)
        }
        av_free(buffer)
        lineSize = (Int(f.width) * 3 + 63) & ~63
        // Extra rows of slack: some SIMD paths write a little past the last pixel of a row.
        buffer = av_malloc(lineSize * (Int(f.height) + 1) + 64)?.assumingMemoryBound(to: UInt8.self)
        if buffer == nil { throw MediaError.ffmpeg(path: path, operation: "av_malloc", message: "out of memory") }
    }

    deinit {
        sws_freeContext(context)
        av_free(buffer)
    }
}
