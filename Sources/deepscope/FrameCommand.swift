import ArgumentParser
import Foundation
import Media

/// `deepscope frame VIDEO --index K --out F.png`: one exact frame, the K-th that ffmpeg decodes.
struct FrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frame",
        abstract: "Extract one exact frame (counted from 0 in presentation order) to PNG or the terminal.")

    @Argument(help: "The video file.") var video: String
    @Option(help: "The frame index, from 0.") var index: Int?
    @Option(help: "The PNG file to write.") var out: String?
    @Option(help: "Draw the frame in the terminal: ascii, blocks or sixel.") var render: String?
    @Flag(help: "Turn the frame upright by the video's rotation metadata.") var upright = false

    // Benchmark hooks for scripts/bench_decode.sh, kept out of the help.
    @Flag(help: .hidden) var bench = false
    @Flag(help: .hidden) var benchNoRgb = false
    @Option(help: .hidden) var threads = 0

    func run() throws {
        if bench { return try runBenchmark() }
        guard let index else { throw CLIError("frame: --index K is required") }
        guard out != nil || render != nil else { throw CLIError("frame: give --out FILE.png or --render MODE") }
        if let render {
            guard ["ascii", "blocks", "sixel"].contains(render) else {
                throw CLIError("--render: unknown mode '\(render)' (ascii, blocks or sixel)")
            }
            throw CLIError("--render: terminal rendering is not available yet; use --out FILE.png")
        }
        do {
            let source = try FFmpegVideo(path: video, threads: threads)
            var image = try source.frame(at: index)
            if upright { image = image.rotated(byDegrees: source.metadata.rotation) }
            if let out { try PNG.write(image, to: URL(fileURLWithPath: out)) }
        } catch let error as MediaError {
            throw CLIError(error.description)
        }
    }

    /// Decodes every frame in order (with RGB conversion unless --bench-no-rgb) and prints the throughput.
    private func runBenchmark() throws {
        do {
            let start = Date()
            let source = try FFmpegVideo(path: video, threads: threads)
            let opened = Date()
            let frames = try source.decodeAll(convert: !benchNoRgb)
            let seconds = Date().timeIntervalSince(opened)
            print(String(format: "frames %d  open+index %.3f s  decode%@ %.3f s  %.1f frames/s", frames,
                         opened.timeIntervalSince(start), benchNoRgb ? "" : "+rgb", seconds, Double(frames) / seconds))
        } catch let error as MediaError {
            throw CLIError(error.description)
        }
    }
}
