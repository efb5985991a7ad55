// MARK: - Tracks

/// One face of one frame, as a track holds it.
public struct TrackedFace: Sendable, Equatable, Codable {
    public var frame: Int
    public var face: Face
    public init(frame: Int, face: Face) { self.frame = frame; self.face = face }
}

/// A face followed through frames: a stable id and its observations in frame order.
public struct Track: Sendable, Equatable, Codable {
    public var id: Int
    public var faces: [TrackedFace]
    public var lastFrame: Int { faces.last?.frame ?? -1 }
    public var lastBox: FaceBox? { faces.last?.face.box }
}

/// Association knobs.
public struct TrackerOptions: Sendable, Equatable {
    /// A face joins a track when the IoU of its box with the track's last box is at least this.
    public var iouThreshold: Float = 0.3
    /// A track stays open across up to this many frames without its face, then closes for good.
    public var maxGap: Int = 5
    public init(iouThreshold: Float = 0.3, maxGap: Int = 5) {
        self.iouThreshold = iouThreshold
        self.maxGap = maxGap
    }
}

// MARK: - Tracker

/// Greedy IoU tracking: each frame's faces are matched to open tracks best IoU first; unmatched faces start
/// new tracks with ids counting up from 0.
///
/// ```swift
/// var tracker = FaceTracker()
/// let ids = tracker.update(frame: k, faces: mtcnn.detect(image))   // ids[i] is faces[i]'s track
/// ```
public struct FaceTracker: Sendable {
    public let options: TrackerOptions
    /// Every track so far, in id order (closed ones included).
    public private(set) var tracks: [Track] = []

    public init(options: TrackerOptions = TrackerOptions()) { self.options = options }

    /// Tracks still able to take a face at `frame`.
    func isOpen(_ track: Track, at frame: Int) -> Bool {
        frame > track.lastFrame && frame - track.lastFrame - 1 <= options.maxGap
    }

    /// Adds the faces of `frame` (frames must come in increasing order) and returns each face's track id.
    public mutating func update(frame: Int, faces: [Face]) -> [Int] {
        var pairs: [(iou: Float, track: Int, face: Int)] = []
        for (t, track) in tracks.enumerated() where isOpen(track, at: frame) {
            guard let last = track.lastBox else { continue }
            for (f, face) in faces.enumerated() {
                let iou = last.iou(face.box)
                if iou >= options.iouThreshold { pairs.append((iou, t, f)) }
            }
        }
        // Best overlap first; ties go to the older track and the earlier face so results never depend on hashing.
        pairs.sort { ($0.iou, -$0.track, -$0.face) > ($1.iou, -$1.track, -$1.face) }
        var assigned = [Int?](repeating: nil, count: faces.count)
        var taken = Set<Int>()
        for pair in pairs where assigned[pair.face] == nil && !taken.contains(pair.track) {
            assigned[pair.face] = pair.track
            taken.insert(pair.track)
        }
        for (f, face) in faces.enumerated() {
            if let t = assigned[f] {
                tracks[t].faces.append(TrackedFace(frame: frame, face: face))
            } else {
                assigned[f] = tracks.count
                tracks.append(Track(id: tracks.count, faces: [TrackedFace(frame: frame, face: face)]))
            }
        }
        return assigned.map { $0! }
    }

    /// Tracks of a whole sequence of per-frame detections.
    public static func tracks(of detections: [(frame: Int, faces: [Face])],
                              options: TrackerOptions = TrackerOptions()) -> [Track] {
        var tracker = FaceTracker(options: options)
        for d in detections { _ = tracker.update(frame: d.frame, faces: d.faces) }
        return tracker.tracks
    }
}
