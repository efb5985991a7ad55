import Foundation

/// Where each frame of a video stream lies: presentation timestamps in presentation order, and for each frame the
/// timestamp to seek to so that decoding forward reaches it.
///
/// Built from packets alone when the packets can be trusted to map one-to-one onto decoded frames (fast: no
/// decoding); otherwise from a full decode, which is exact by definition.
struct FrameIndex {
    /// Presentation timestamp of frame k, stream time base, strictly increasing when `timestampsAreUnique`.
    var pts: [Int64]
    /// For frame k, the position in `keyframeSeekTimestamps` of the keyframe decoding should start from.
    var keyframeOfFrame: [Int]
    /// Timestamps to pass to av_seek_frame (backward) for each usable keyframe, in decode order.
    var keyframeSeekTimestamps: [Int64]
    /// Whether frames can be told apart by timestamp after a seek; if not, random access rewinds to the start.
    var timestampsAreUnique: Bool
    /// How the index was made, for diagnostics and tests.
    var builtFromPackets: Bool

    var count: Int { pts.count }

    // MARK: - From packets

    /// One demuxed packet of the video stream, in decode order.
    struct Packet {
        var pts: Int64
        var dts: Int64
        var isKey: Bool
    }

    /// Why a packet list cannot stand in for decoded frames, or nil when it can.
    static func distrust(_ packets: [Packet], sawCorrupt: Bool, codecName: String) -> String? {
        if sawCorrupt { return "a corrupt or truncated packet" }
        guard let first = packets.first else { return "no packets" }
        // H.264 and HEVC decoders hold back frames before the first keyframe, so packets would overcount.
        if !first.isKey { return "the stream does not start on a keyframe" }
        if packets.contains(where: { $0.pts == ffNoPTS }) { return "packets without presentation timestamps" }
        // VP8 alt-ref frames can be stored as invisible packets that decode to nothing.
        if codecName == "vp8" { return "VP8 may store invisible frames" }
        var seen = Set<Int64>()
        for p in packets where !seen.insert(p.pts).inserted { return "duplicate presentation timestamps" }
        return nil
    }

    /// The index of a trusted packet list.
    init(packets: [Packet]) {
        let order = packets.indices.sorted { packets[$0].pts < packets[$1].pts }
        var keyPositions: [Int] = []          // packet positions of keyframes, decode order
        var keyframeSlot = [Int](repeating: -1, count: packets.count)
        for (i, p) in packets.enumerated() where p.isKey {
            keyframeSlot[i] = keyPositions.count
            keyPositions.append(i)
        }
        // Frame k decodes from the last keyframe at or before its packet in decode order whose own pts is not
        // later than k's: an open-GOP leading picture needs the keyframe before the one it follows.
        var lastKeyBefore = [Int](repeating: 0, count: packets.count)
        var current = 0
        for i in packets.indices {
            if keyframeSlot[i] >= 0 { current = keyframeSlot[i] }
            lastKeyBefore[i] = current
        }
        pts = order.map { packets[$0].pts }
        keyframeOfFrame = order.map { i in
            var slot = lastKeyBefore[i]
            while slot > 0 && packets[keyPositions[slot]].pts > packets[i].pts { slot -= 1 }
            return slot
        }
        keyframeSeekTimestamps = keyPositions.map { i in
            let p = packets[i]
            // Demuxers index by dts (mov) or pts (matroska); the smaller never lands after the keyframe.
            return p.dts == ffNoPTS ? p.pts : min(p.pts, p.dts)
        }
        timestampsAreUnique = true
        builtFromPackets = true
    }

    // MARK: - From decoding

    /// The index of frames as decoded: `timestamps` and `isKey` per output frame, in output order.
    init(decodedTimestamps timestamps: [Int64], isKey: [Bool]) {
        pts = timestamps
        var unique = !timestamps.contains(ffNoPTS)
        if unique {
            for i in timestamps.indices.dropFirst() where timestamps[i] <= timestamps[i - 1] { unique = false; break }
        }
        timestampsAreUnique = unique
        var seeks: [Int64] = []
        var owner: [Int] = []
        for i in timestamps.indices {
            if unique && isKey[i] || seeks.isEmpty { seeks.append(timestamps[i]) }
            owner.append(seeks.count - 1)
        }
        keyframeSeekTimestamps = seeks
        keyframeOfFrame = owner
        builtFromPackets = false
    }
}
