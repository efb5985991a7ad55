import CFFmpeg
import Foundation

/// A video file decoded with FFmpeg, with an exact frame count and frame-accurate random access.
///
/// At open the video stream is demuxed once without decoding to index every frame's timestamp; `frame(at:)` then
/// decodes on from the current position or seeks to the right keyframe and decodes forward to the exact frame.
/// Frame k is the k-th frame that `ffmpeg -i FILE -fps_mode passthrough` decodes, as stored (see
/// `metadata.rotation`). Not thread-safe: use one instance from one thread (`FrameProvider` does).
///
///     let video = try FFmpegVideo(contentsOf: URL(fileURLWithPath: "clip.mp4"))
///     let image = try video.frame(at: video.metadata.frameCount - 1)
public final class FFmpegVideo: FrameSource {
    public internal(set) var metadata: VideoMetadata
    let format: FormatHandle
    let codec: CodecHandle
    let streamIndex: Int32
    let timeBase: AVRational
    var index: FrameIndex
    /// The frame the decoder will output next, when known.
    var nextFrame: Int?
    private var draining = false
    private let packet = PacketHandle()
    private let decoded = FrameHandle()
    var decodedFrame: UnsafeMutablePointer<AVFrame> { decoded.frame }
    private let converter = RGBConverter()
    /// Earliest timestamp seen in the stream, where a rewind seeks to.
    var firstTimestamp: Int64 = 0
    var path: String { metadata.path }
    /// How often random access fell back to decoding from the start; tests check seeking avoids it.
    private(set) var slowPathCount = 0

    /// Opens and indexes a video.
    /// - Parameters:
    ///   - url: the file.
    ///   - threads: decoder threads; 0 lets libavcodec choose.
    public init(contentsOf url: URL, threads: Int = 0) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw MediaError.fileNotFound(path: path)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if size == 0 { throw MediaError.emptyFile(path: path) }

        av_log_set_level(AV_LOG_QUIET)
        format = try FormatHandle(path: path)
        let fmt = format.context
        // Headers give the size before any frame buffer exists: refuse absurd sizes now.
        try Self.checkDeclaredSizes(fmt, path: path)
        try Self.findStreamInfo(fmt, path: path)
        try Self.checkDeclaredSizes(fmt, path: path)

        let chosen = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard chosen >= 0, let stream = fmt.pointee.streams[Int(chosen)] else {
            throw MediaError.noVideoStream(path: path)
        }
        streamIndex = chosen
        timeBase = stream.pointee.time_base
        let parameters = stream.pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
        guard parameters.pointee.codec_id != AV_CODEC_ID_NONE, let decoder = avcodec_find_decoder(parameters.pointee.codec_id) else {
            let tag = Self.fourCC(parameters.pointee.codec_tag)
            throw MediaError.unsupportedCodec(path: path, codec: parameters.pointee.codec_id == AV_CODEC_ID_NONE ? tag : codecName)
        }
        codec = try CodecHandle(codec: decoder, path: path)
        let ctx = codec.context
        try ffCheck(avcodec_parameters_to_context(ctx, parameters), "avcodec_parameters_to_context", path: path)
        ctx.pointee.pkt_timebase = timeBase
        ctx.pointee.thread_count = Int32(threads)
        av_opt_set_int(UnsafeMutableRawPointer(ctx), "max_pixels", Int64(VideoLimits.maxPixels), 0)
        try ffCheck(avcodec_open2(ctx, decoder, nil), "avcodec_open2 (\(codecName))", path: path)
        for i in 0..<Int(fmt.pointee.nb_streams) where Int32(i) != chosen {
            fmt.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }

        metadata = VideoMetadata(path: path, container: "", codec: codecName, width: 0, height: 0,
                                 frameRateNumerator: 0, frameRateDenominator: 1, duration: 0, frameCount: 0,
                                 rotation: 0, startTime: 0, pixelFormat: "", isVariableFrameRate: false)
        index = FrameIndex(decodedTimestamps: [], isKey: [])
        try buildIndex(codecName: codecName)
        metadata = makeMetadata(stream: stream, codecName: codecName)
    }

    /// Opens and indexes a video at a path.
    public convenience init(path: String, threads: Int = 0) throws {
        try self.init(contentsOf: URL(fileURLWithPath: path), threads: threads)
    }

    // MARK: - FrameSource

    public func frame(at index: Int) throws -> RGBImage {
        guard index >= 0 && index < self.index.count else {
            throw MediaError.frameOutOfRange(path: path, index: index, count: self.index.count)
        }
        try moveDecoder(to: index)
        return try converter.convert(decoded.frame, path: path)
    }

    public func timestamp(ofFrame index: Int) -> Double {
        guard self.index.count > 0 else { return 0 }
        let k = min(max(index, 0), self.index.count - 1)
        guard self.index.timestampsAreUnique else {
            return metadata.frameRate > 0 ? Double(k) / metadata.frameRate : 0
        }
        return Double(self.index.pts[k] - self.index.pts[0]) * av_q2d(timeBase)
    }

    /// Decodes every frame in order and returns how many there were; for benchmarks (`convert` adds RGB conversion).
    public func decodeAll(convert: Bool) throws -> Int {
        try rewind()
        var count = 0
        while try decodeNext() {
            if convert { _ = try converter.convert(decoded.frame, path: path) }
            count += 1
        }
        nextFrame = nil
        return count
    }

    // MARK: - Positioning

    private func moveDecoder(to k: Int) throws {
        if nextFrame == k {
            if try decodeNext(), !index.timestampsAreUnique || currentTimestamp == index.pts[k] {
                nextFrame = k + 1
                return
            }
            if index.builtFromPackets { try distrustPackets(reaching: k) }
        }
        if index.timestampsAreUnique {
            if try seekAndFind(k) { return }
            if index.builtFromPackets {
                try distrustPackets(reaching: k)
                if index.timestampsAreUnique, try seekAndFind(k) { return }
            }
        }
        try decodeFromStart(to: k)
    }

    /// Decoding disagreed with the packet index (damaged data the decoder drops): count by decoding from now on.
    /// The frame count can shrink, so `k` is checked again.
    private func distrustPackets(reaching k: Int) throws {
        try rebuildIndexByDecoding()
        guard k < index.count else { throw MediaError.frameOutOfRange(path: path, index: k, count: index.count) }
    }

    /// Seeks to the keyframe indexed for frame k and decodes forward until its timestamp; backs off to earlier
    /// keyframes when a demuxer lands after the target.
    private func seekAndFind(_ k: Int) throws -> Bool {
        let target = index.pts[k]
        var slot = index.keyframeOfFrame[k]
        for attempt in 0..<4 {
            guard (try? seek(to: index.keyframeSeekTimestamps[slot])) != nil else { return false }
            nextFrame = nil
            while try decodeNext() {
                let t = currentTimestamp
                if t == target { nextFrame = k + 1; return true }
                if t > target { break }
            }
            if slot == 0 { break }
            slot = max(0, slot - (1 << attempt))
        }
        return false
    }

    /// The slow exact path: rewind and count decoded frames.
    private func decodeFromStart(to k: Int) throws {
        slowPathCount += 1
        try rewind()
        for _ in 0...k {
            guard try decodeNext() else { throw MediaError.frameNotFound(path: path, index: k) }
        }
        nextFrame = k + 1
    }

    func rewind() throws {
        try seek(to: firstTimestamp)
        nextFrame = 0
    }

    private func seek(to timestamp: Int64) throws {
        let fmt = format.context
        var code = av_seek_frame(fmt, streamIndex, timestamp, AVSEEK_FLAG_BACKWARD)
        if code < 0 { code = avformat_seek_file(fmt, streamIndex, Int64.min, timestamp, timestamp, 0) }
        if code < 0 { code = av_seek_frame(fmt, streamIndex, 0, AVSEEK_FLAG_BYTE) }
        try ffCheck(code, "av_seek_frame", path: path)
        avcodec_flush_buffers(codec.context)
        draining = false
    }

    // MARK: - Decoding

    /// The timestamp identifying the frame in `decoded`.
    var currentTimestamp: Int64 {
        let f = decoded.frame.pointee
        return f.pts != ffNoPTS ? f.pts : f.best_effort_timestamp
    }

    /// Decodes the next frame into `decoded`; false at the end of the stream. Undecodable packets are skipped,
    /// as the ffmpeg CLI skips them.
    func decodeNext() throws -> Bool {
        let ctx = codec.context, fmt = format.context
        while true {
            let received = avcodec_receive_frame(ctx, decoded.frame)
            if received == 0 {
                let f = decoded.frame.pointee
                guard VideoLimits.accepts(width: Int(f.width), height: Int(f.height)) else {
                    throw MediaError.resolutionTooLarge(path: path, width: Int(f.width), height: Int(f.height))
                }
                return true
            }
            if received == ffEOF { return false }
            if received != ffEAGAIN { continue }
            if draining { return false }
            let read = av_read_frame(fmt, packet.packet)
            if read < 0 {
                // End of file or a read error (truncated file): drain what the decoder holds.
                draining = true
                _ = avcodec_send_packet(ctx, nil)
                continue
            }
            defer { av_packet_unref(packet.packet) }
            guard packet.packet.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(ctx, packet.packet)
            // Invalid data is skipped like the CLI does; running out of memory is not something to skip past.
            if sent == ds_averror(ENOMEM) { try ffCheck(sent, "avcodec_send_packet", path: path) }
        }
    }

    // MARK: - Opening helpers

    private static func checkDeclaredSizes(_ fmt: UnsafeMutablePointer<AVFormatContext>, path: String) throws {
        for i in 0..<Int(fmt.pointee.nb_streams) {
            guard let par = fmt.pointee.streams[i]?.pointee.codecpar, par.pointee.codec_type == AVMEDIA_TYPE_VIDEO else { continue }
            let w = Int(par.pointee.width), h = Int(par.pointee.height)
            if (w != 0 || h != 0) && !VideoLimits.accepts(width: max(w, 1), height: max(h, 1)) {
                throw MediaError.resolutionTooLarge(path: path, width: w, height: h)
            }
        }
    }

    /// avformat_find_stream_info decodes a few frames itself, so its decoders get the same pixel limit.
    private static func findStreamInfo(_ fmt: UnsafeMutablePointer<AVFormatContext>, path: String) throws {
        let n = Int(fmt.pointee.nb_streams)
        var options = [OpaquePointer?](repeating: nil, count: max(n, 1))
        for i in 0..<n { av_dict_set(&options[i], "max_pixels", "\(VideoLimits.maxPixels)", 0) }
        let code = options.withUnsafeMutableBufferPointer { avformat_find_stream_info(fmt, $0.baseAddress) }
        for i in 0..<n { av_dict_free(&options[i]) }
        if code < 0 { throw MediaError.cannotOpen(path: path, reason: ffErrorText(code)) }
    }

    private static func fourCC(_ tag: UInt32) -> String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: tag >> (8 * UInt32($0))) }
        return bytes.allSatisfy({ $0 >= 32 && $0 < 127 }) ? String(decoding: bytes, as: UTF8.self) : "unknown"
    }
}
