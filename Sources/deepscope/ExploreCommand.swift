import ArgumentParser
import Explorer

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Step through a video in the terminal (the default command; no video opens the bundled sample).")

    @Argument(help: "The video file (default: the bundled sample).") var video: String?
    @Option(help: "How to draw images: auto, ascii, blocks or sixel.") var render: String = "auto"

    func run() throws {
        let mode: RenderMode?
        if render == "auto" {
            mode = nil
        } else if let m = RenderMode(rawValue: render) {
            mode = m
        } else {
            throw CLIError("--render: '\(render)' is not one of auto, ascii, blocks, sixel")
        }
        let path = try video ?? bundledSampleVideo()
        do {
            try runExplorer(ExplorerOptions(videoPath: path, renderMode: mode))
        } catch {
            throw CLIError("\(error)")
        }
    }
}
