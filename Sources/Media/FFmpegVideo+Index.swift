import CFFmpeg
import Foundation

// MARK: - Frame index and metadata

extension FFmpegVideo {
    /// Demuxes the whole video stream without decoding; falls back to a full decode when packets cannot be
    /// trusted to be frames (see `FrameIndex.distrust`).
    func buildIndex(codecName: String) throws {
        let fmt = format.context
        let packet = PacketHandle()
        var packets: [FrameIndex.Packet] = []
        var sawCorrupt = false
        var first = Int64.max
        while true {
            let read = av_read_frame(fmt, packet.packet)
            if read == ffEOF { break }
            if read < 0 { sawCorrupt = true; break }
            let p = packet.packet.pointee
            defer { av_packet_unref(packet.packet) }
            guard p.stream_index == streamIndex else { continue }
            for t in [p.pts, p.dts] where t != ffNoPTS { first = min(first, t) }
            // The mov demuxer flags samples before an edit list's start; the decoder drops their frames.
            if p.flags & AV_PKT_FLAG_DISCARD != 0 { continue }
            if p.flags & AV_PKT_FLAG_CORRUPT != 0 { sawCorrupt = true }
            packets.append(.init(pts: p.pts, dts: p.dts, isKey: p.flags & AV_PKT_FLAG_KEY != 0))
        }
        firstTimestamp = first == Int64.max ? 0 : first
        if packets.isEmpty { throw MediaError.noFrames(path: path) }
        if FrameIndex.distrust(packets, sawCorrupt: sawCorrupt, codecName: codecName) == nil {
            index = FrameIndex(packets: packets)
            nextFrame = nil
        } else {
            try rebuildIndexByDecoding()
        }
        if index.count == 0 { throw MediaError.noFrames(path: path) }
    }

    /// Decodes the whole stream once and indexes the frames as they come out.
    func rebuildIndexByDecoding() throws {
        try rewind()
        var timestamps: [Int64] = []
        var keys: [Bool] = []
        while try decodeNext() {
            timestamps.append(currentTimestamp)
            let f = decodedFrame.pointee
            keys.append(f.key_frame != 0 || f.pict_type == AV_PICTURE_TYPE_I)
        }
        nextFrame = nil
        index = FrameIndex(decodedTimestamps: timestamps, isKey: keys)
        metadata.frameCount = index.count
    }

    func makeMetadata(stream: UnsafeMutablePointer<AVStream>, codecName: String) -> VideoMetadata {
        let fmt = format.context
        let par = stream.pointee.codecpar.pointee
        let tb = av_q2d(timeBase)
        var rate = stream.pointee.avg_frame_rate
        if rate.num <= 0 || rate.den <= 0 { rate = stream.pointee.r_frame_rate }

        // The span of the frames' own timestamps plus one typical frame duration: independent of container quirks
        // such as Matroska counting a start offset into its duration.
        var duration = 0.0
        if index.timestampsAreUnique, index.count > 1 {
            let deltas = zip(index.pts.dropFirst(), index.pts).map { $0 - $1 }.sorted()
            duration = Double(index.pts[index.count - 1] - index.pts[0] + deltas[deltas.count / 2]) * tb
        } else if fmt.pointee.duration != ffNoPTS && fmt.pointee.duration > 0 {
            duration = Double(fmt.pointee.duration) / Double(AV_TIME_BASE)
        } else if stream.pointee.duration != ffNoPTS && stream.pointee.duration > 0 {
            duration = Double(stream.pointee.duration) * tb
        }
        if rate.num <= 0 || rate.den <= 0 {
            rate = duration > 0 ? av_d2q(Double(index.count) / duration, 1_000_000) : AVRational(num: 0, den: 1)
        }

        var start = 0.0
        if index.timestampsAreUnique, let first = index.pts.first {
            start = Double(first) * tb
        } else if stream.pointee.start_time != ffNoPTS {
            start = Double(stream.pointee.start_time) * tb
        }

        let pixelFormat = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) } ?? "unknown"
        return VideoMetadata(
            path: path, container: String(cString: fmt.pointee.iformat.pointee.name), codec: codecName,
            width: Int(par.width), height: Int(par.height),
            frameRateNumerator: Int(rate.num), frameRateDenominator: Int(rate.den), duration: duration,
            frameCount: index.count, rotation: Self.rotation(of: stream), startTime: start, pixelFormat: pixelFormat,
            isVariableFrameRate: Self.isVariable(index))
    }

    /// The clockwise turn that shows frames upright, as the ffmpeg CLI's autorotate computes it.
    static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nil) else { return 0 }
        let matrix = UnsafeRawPointer(data).assumingMemoryBound(to: Int32.self)
        let counterclockwise = av_display_rotation_get(matrix)
        guard counterclockwise.isFinite else { return 0 }
        let quarter = Int((-counterclockwise / 90).rounded())
        return ((quarter % 4) + 4) % 4 * 90
    }

    /// Frame durations that differ by more than timestamp rounding (a tick, or 1 %) mean variable frame rate.
    static func isVariable(_ index: FrameIndex) -> Bool {
        guard index.timestampsAreUnique, index.count > 2 else { return false }
        let deltas = zip(index.pts.dropFirst(), index.pts).map { $0 - $1 }.sorted()
        let median = deltas[deltas.count / 2]
        let tolerance = max(1, median / 100)
        return deltas.first! < median - tolerance || deltas.last! > median + tolerance
    }
}
