// VideoWriter: encodes RGB frames to an MP4 file with libavcodec (H.264 when the build has libx264, else MPEG-4
// part 2), converting RGB to YUV 4:2:0 with libswscale; written to a temporary file and renamed when finished.
import CFFmpeg
import Foundation

/// An MP4 encoder for RGB frames of one size.
///
/// ```swift
/// let writer = try VideoWriter(url: out, width: 320, height: 240, frameRate: 25)
/// for image in frames { try writer.append(image) }
/// try writer.finish()
/// ```
/// Odd sizes are padded to even ones (4:2:0 needs even sides) by repeating the last column or row. Until
/// `finish()` the output lives in a hidden temporary file beside `url`; a writer dropped unfinished removes it.
public final class VideoWriter {
    /// The encoder in use: `libx264` or `mpeg4`.
    public let codecName: String
    /// The encoded size (the frame size rounded up to even).
    public let width: Int, height: Int
    public let url: URL

    private let frameWidth: Int, frameHeight: Int
    private let temporary: URL
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: CodecHandle
    private var stream: UnsafeMutablePointer<AVStream>
    private let frame = FrameHandle()
    private let packet = PacketHandle()
    private var scaler: OpaquePointer?
    private var nextPTS: Int64 = 0
    private var finished = false

    /// Opens the output.
    /// - Parameters:
    ///   - url: the `.mp4` to write.
    ///   - width, height: the size of every appended frame.
    ///   - frameRate: frames per second.
    ///   - quality: 0 (smallest) … 1 (best); H.264 CRF 35 … 12, MPEG-4 quantiser 20 … 2.
    /// - Throws: `MediaError` naming the file and the failing libav* call.
    public init(url: URL, width: Int, height: Int, frameRate: Int, quality: Double = 0.75) throws {
        guard VideoLimits.accepts(width: width, height: height), frameRate > 0 else {
            throw MediaError.ffmpeg(path: url.path, operation: "VideoWriter", message: "invalid size \(width)×\(height) or frame rate \(frameRate)")
        }
        self.url = url
        frameWidth = width; frameHeight = height
        self.width = (width + 1) & ~1; self.height = (height + 1) & ~1
        temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let path = url.path

        try ffCheck(avformat_alloc_output_context2(&format, nil, "mp4", temporary.path), "avformat_alloc_output_context2", path: path)
        guard let encoder = avcodec_find_encoder_by_name("libx264") ?? avcodec_find_encoder(AV_CODEC_ID_MPEG4) else {
            avformat_free_context(format)
            throw MediaError.ffmpeg(path: path, operation: "avcodec_find_encoder", message: "no H.264 or MPEG-4 encoder in this FFmpeg")
        }
        codecName = String(cString: encoder.pointee.name)
        codec = try CodecHandle(codec: encoder, path: path)
        guard let s = avformat_new_stream(format, nil) else {
            avformat_free_context(format)
            throw MediaError.ffmpeg(path: path, operation: "avformat_new_stream", message: "out of memory")
        }
        stream = s

        let c = codec.context
        c.pointee.width = Int32(self.width)
        c.pointee.height = Int32(self.height)
        c.pointee.time_base = AVRational(num: 1, den: Int32(frameRate))
        c.pointee.framerate = AVRational(num: Int32(frameRate), den: 1)
        c.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        c.pointee.gop_size = 2 * Int32(frameRate)
        // No B-frames: decode order is presentation order and timestamps start at 0, so the file needs no
        // composition offsets and every reader counts frames alike.
        c.pointee.max_b_frames = 0
        let q = min(max(quality, 0), 1)
        var options: OpaquePointer? = nil
        if codecName == "libx264" {
            av_dict_set(&options, "crf", String(Int((35 - 23 * q).rounded())), 0)
            av_dict_set(&options, "preset", "medium", 0)
        } else {
            // A fixed quantiser (qscale) keeps the quality independent of the frame size, as -q:v does.
            c.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
            c.pointee.global_quality = Int32(FF_QP2LAMBDA) * Int32((20 - 18 * q).rounded())
        }
        if (format!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            c.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        let opened = avcodec_open2(c, encoder, &options)
        av_dict_free(&options)
        do {
            try ffCheck(opened, "avcodec_open2", path: path)
            try ffCheck(avcodec_parameters_from_context(stream.pointee.codecpar, c), "avcodec_parameters_from_context", path: path)
            stream.pointee.time_base = c.pointee.time_base
            // Stated so readers need not estimate the rate from the timestamps (which counts one frame short).
            stream.pointee.avg_frame_rate = c.pointee.framerate
            try ffCheck(avio_open(&format!.pointee.pb, temporary.path, AVIO_FLAG_WRITE), "avio_open", path: path)
            // Without an edit list: the one libavformat wrote ended before the last frame, which readers (ffprobe,
            // FFmpegVideo) then flagged as discarded and dropped.
            var muxerOptions: OpaquePointer? = nil
            av_dict_set(&muxerOptions, "use_editlist", "0", 0)
            let header = avformat_write_header(format, &muxerOptions)
            av_dict_free(&muxerOptions)
            try ffCheck(header, "avformat_write_header", path: path)

            let f = frame.frame
            f.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            f.pointee.width = Int32(self.width)
            f.pointee.height = Int32(self.height)
            try ffCheck(av_frame_get_buffer(f, 0), "av_frame_get_buffer", path: path)
            scaler = sws_getContext(Int32(self.width), Int32(self.height), AV_PIX_FMT_RGB24, Int32(self.width), Int32(self.height),
                                    AV_PIX_FMT_YUV420P, ds_sws_accurate(), nil, nil, nil)
            if scaler == nil { throw MediaError.ffmpeg(path: path, operation: "sws_getContext", message: "cannot convert rgb24 to yuv420p") }
        } catch {
            close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    // MARK: - Frames

    /// Encodes one frame; every frame must have the size given at `init`.
    public func append(_ image: RGBImage) throws {
        precondition(!finished, "VideoWriter.append after finish")
        guard image.width == frameWidth && image.height == frameHeight else {
            throw MediaError.ffmpeg(path: url.path, operation: "VideoWriter.append",
                                    message: "frame is \(image.width)×\(image.height), the video \(frameWidth)×\(frameHeight)")
        }
        let rgb = padded(image)
        let f = frame.frame
        // The encoder may still hold the previous frame's buffer.
        try ffCheck(av_frame_make_writable(f), "av_frame_make_writable", path: url.path)
        let rows = rgb.pixels.withUnsafeBufferPointer { src -> Int32 in
            var srcPlanes: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(3 * width), 0, 0, 0]
            return withUnsafeMutablePointer(to: &f.pointee.data) { dataTuple in
                dataTuple.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                    withUnsafePointer(to: &f.pointee.linesize) { strideTuple in
                        strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                            sws_scale(scaler, &srcPlanes, &srcStride, 0, Int32(height), dst, dstStride)
                        }
                    }
                }
            }
        }
        try ffCheck(rows, "sws_scale", path: url.path)
        f.pointee.pts = nextPTS
        nextPTS += 1
        try ffCheck(avcodec_send_frame(codec.context, f), "avcodec_send_frame", path: url.path)
        try drain()
    }

    /// Flushes the encoder, writes the trailer and renames the file into place.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        do {
            try ffCheck(avcodec_send_frame(codec.context, nil), "avcodec_send_frame", path: url.path)
            try drain()
            try ffCheck(av_write_trailer(format), "av_write_trailer", path: url.path)
            close()
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Writes every packet the encoder has ready.
    private func drain() throws {
        while true {
            let code = avcodec_receive_packet(codec.context, packet.packet)
            if code == ffEAGAIN || code == ffEOF { return }
            try ffCheck(code, "avcodec_receive_packet", path: url.path)
            av_packet_rescale_ts(packet.packet, codec.context.pointee.time_base, stream.pointee.time_base)
            packet.packet.pointee.stream_index = stream.pointee.index
            // av_interleaved_write_frame takes the packet's reference and leaves it blank.
            try ffCheck(av_interleaved_write_frame(format, packet.packet), "av_interleaved_write_frame", path: url.path)
        }
    }

    /// The image grown to the even encoded size by repeating its last column and row.
    private func padded(_ image: RGBImage) -> RGBImage {
        guard width != image.width || height != image.height else { return image }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sy = min(y, image.height - 1)
            for x in 0..<width {
                let sx = min(x, image.width - 1)
                for c in 0..<3 { out[3 * (y * width + x) + c] = image.pixels[3 * (sy * image.width + sx) + c] }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    private func close() {
        if let format, format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
        avformat_free_context(format)
        format = nil
        sws_freeContext(scaler)
        scaler = nil
    }

    deinit {
        if !finished {
            close()
            try? FileManager.default.removeItem(at: temporary)
        }
    }
}
