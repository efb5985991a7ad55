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
}
