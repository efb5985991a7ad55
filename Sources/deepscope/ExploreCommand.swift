import ArgumentParser
import Explorer
import Foundation

/// What plain `deepscope` opens: the one place to switch the bundled sample and detector.
enum DefaultSession {
    /// Preferred first: the manipulated sample with the demo AutoAtt detector, once the assets carry them.
    static let preferred = (video: "samples/carphone_manipulated.mp4", detector: "demo-autoatt")
    /// The fallback: the pristine sample, faces only.
    static let fallbackVideo = "carphone_pristine.mp4"

    /// The video and detector to open when the command line names none.
    static func resolve(assets: URL?) -> (video: String?, detector: String?) {
        guard let assets else { return (nil, nil) }
        let fm = FileManager.default
        let video = assets.appendingPathComponent(preferred.video).path
        let detector = assets.appendingPathComponent("detectors").appendingPathComponent(preferred.detector).path
        if fm.fileExists(atPath: video), fm.fileExists(atPath: detector) { return (video, preferred.detector) }
        return (assets.appendingPathComponent(fallbackVideo).path, nil)
    }
}

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Step through a video in the terminal (the default command; no video opens the bundled sample).")

    @Argument(help: "The video file (default: the bundled sample).") var video: String?
    @Option(help: "A manifest path, a bundled detector name, or a preset family:model (see `deepscope detectors`).")
    var detector: String?
    @Option(help: "The weights file (overrides the manifest's; required for presets).") var weights: String?
    @Option(help: "How to draw images: auto, ascii, blocks or sixel.") var render: String = "auto"
    @Option(help: "Where x and X write PNG and CSV exports (default: the current folder).") var exportDir: String = "."

    func run() throws {
        let mode: RenderMode?
        if render == "auto" {
            mode = nil
        } else if let m = RenderMode(rawValue: render) {
            mode = m
        } else {
            throw CLIError("--render: '\(render)' is not one of auto, ascii, blocks, sixel")
        }
        let assets = assetsDirectory()
        var path = video
        var spec = detector
        if path == nil {
            let defaults = DefaultSession.resolve(assets: assets)
            guard let v = defaults.video else { _ = try bundledSampleVideo(); return }
            path = v
            if spec == nil { spec = defaults.detector }
        }
        guard let path else { return }
        do {
            try runExplorer(ExplorerOptions(videoPath: path, renderMode: mode, detectorSpec: spec, weights: weights,
                                            assets: assets, exportDirectory: exportDir))
        } catch {
            throw CLIError("\(error)")
        }
    }
}
