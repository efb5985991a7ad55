import Detection
import Explain
import Faces
import Media

/// How frame and heatmap images are drawn in the terminal.
public enum RenderMode: String, CaseIterable, Sendable {
    case ascii, blocks, sixel

    /// The next mode in the `m` cycle, skipping sixel when the terminal cannot show it.
    func next(sixelAvailable: Bool) -> RenderMode {
        let order: [RenderMode] = sixelAvailable ? [.blocks, .sixel, .ascii] : [.blocks, .ascii]
        let i = order.firstIndex(of: self) ?? 0
        return order[(i + 1) % order.count]
    }
}

/// Everything the explorer shows, as plain data: `apply` changes it, `render` reads it.
public struct ExplorerState: Sendable {
    public var videoName: String
    public var metadata: VideoMetadata
    public var detectorName: String
    /// The frame the user asked for (the cursor).
    public var currentFrame: Int = 0
    /// The frame whose pixels are on screen (lags `currentFrame` while decoding).
    public var shownFrame: Int?
    public var playing = false
    public var renderMode: RenderMode = .blocks
    public var sixelAvailable = false
    public var showHelp = false
    /// The go-to-frame prompt's text while it is open.
    public var prompt: String?
    /// A one-line message in the status area (errors, export paths); cleared by the next key.
    public var message: String?
    public var messageIsError = false
    /// Presentation time of every frame relative to the first (from the frame source's index); empty if unknown.
    public var frameTimes: [Double] = []
    public var detection = DetectionState()

    public init(videoName: String, metadata: VideoMetadata, detectorName: String = "no detector") {
        self.videoName = videoName
        self.metadata = metadata
        self.detectorName = detectorName
    }

    public var frameCount: Int { metadata.frameCount }
    var lastFrame: Int { max(0, metadata.frameCount - 1) }

    /// Frames per second used for ±1 s jumps and playback when timestamps are not at hand.
    var nominalRate: Double { metadata.frameRate > 0 ? metadata.frameRate : 25 }

    mutating func seek(to frame: Int) { currentFrame = min(max(0, frame), lastFrame) }

    /// The faces of the current frame, in track order.
    var currentFaces: [FaceMark] { (detection.faces[currentFrame] ?? []).sorted { $0.track < $1.track } }

    /// The face the panes show: the selected track when it is on this frame, else the frame's first face.
    var selectedFace: FaceMark? {
        let faces = currentFaces
        return faces.first { $0.track == detection.selectedTrack } ?? faces.first
    }

    /// The fake probability the timeline draws for a frame: the selected track's, else the most fake face's.
    func curveValue(frame: Int) -> Float? {
        guard let faces = detection.faces[frame] else { return nil }
        let scored = faces.compactMap { f in f.output.map { (f.track, $0.probability) } }
        if let track = detection.selectedTrack, let own = scored.first(where: { $0.0 == track }) { return own.1 }
        return scored.map(\.1).max()
    }
}

// MARK: - Faces, scores and explanations

/// One face on one frame, as the explorer shows it.
public struct FaceMark: Sendable, Equatable {
    public var track: Int
    public var box: FaceBox
    /// Where the detector's crop lies in the frame (the full-frame overlay is pasted there).
    public var cropBox: FaceBox
    /// The detector's scores; nil when no detector is loaded.
    public var output: DetectorOutput?

    public init(track: Int, box: FaceBox, cropBox: FaceBox? = nil, output: DetectorOutput? = nil) {
        self.track = track
        self.box = box
        self.cropBox = cropBox ?? box
        self.output = output
    }
}

/// How far the background face scan or detector analysis has got.
public struct AnalysisStatus: Sendable, Equatable {
    public var completed = 0
    public var total = 0
    public var finished = false
    /// Why it stopped (bad manifest, missing weights, decode failure), as one line.
    public var error: String?
    public init(completed: Int = 0, total: Int = 0, finished: Bool = false, error: String? = nil) {
        self.completed = completed; self.total = total; self.finished = finished; self.error = error
    }
}

/// A heatmap's identity: the cache key of the explain worker.
public struct MapKey: Hashable, Sendable {
    public var frame: Int
    public var track: Int
    public var explainer: String
    public init(frame: Int, track: Int, explainer: String) { self.frame = frame; self.track = track; self.explainer = explainer }
}

/// Where a heatmap stands.
public enum MapStatus: Sendable, Equatable {
    case pending(progress: Double)
    case ready
    case failed(String)
}

/// Consistency metrics of one explainer over the maps of one track computed so far.
public struct TrackMetrics: Sendable, Equatable {
    public var metrics: ConsistencyMetrics
    public var frames: Int
    public init(metrics: ConsistencyMetrics, frames: Int) { self.metrics = metrics; self.frames = frames }
}

/// The explorer's view of detection and explanation: filled by actions from the background workers.
public struct DetectionState: Sendable, Equatable {
    /// Faces per frame, for frames scanned so far.
    public var faces: [Int: [FaceMark]] = [:]
    public var status = AnalysisStatus()
    public var verdicts: VideoVerdicts?
    /// Class names of the detector's head (empty without a detector).
    public var classes: [String] = []
    public var threshold = 0.5
    /// The face the user follows with Tab; nil follows the first face of each frame.
    public var selectedTrack: Int?
    /// Explainers the detector supports, in the `e` cycle order.
    public var explainers: [String] = []
    public var explainerIndex = 0
    public var overlayOnFrame = false
    public var compareOpen = false
    public var showBorders = false
    public var maps: [MapKey: MapStatus] = [:]
    /// explainer → track → metrics.
    public var metrics: [String: [Int: TrackMetrics]] = [:]
    public init() {}

    public var hasDetector: Bool { !classes.isEmpty }
    public var explainer: String? { explainers.indices.contains(explainerIndex) ? explainers[explainerIndex] : nil }
}
