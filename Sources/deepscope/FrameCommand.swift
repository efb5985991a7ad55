import ArgumentParser
import Foundation
import Graphics
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
    @Option(help: "Terminal columns to fill with --render (default: the terminal's width, else 80).") var columns: Int?
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
        }
        do {
            let source = try FFmpegVideo(path: video, threads: threads)
            var image = try source.frame(at: index)
            if upright { image = image.rotated(byDegrees: source.metadata.rotation) }
            if let out { try PNG.write(image, to: URL(fileURLWithPath: out)) }
            if let render { FileHandle.standardOutput.write(Data(draw(image, mode: render).utf8)) }
        } catch let error as MediaError {
            throw CLIError(error.description)
        }
    }

    /// The frame as text for the terminal: cells fitted to the width (half blocks are two pixels tall), or a sixel
    /// image at the width in pixels that the columns cover with the terminal's cell size.
    private func draw(_ image: RGBImage, mode: String) -> String {
        let environment = ProcessInfo.processInfo.environment
        let width = columns ?? terminalColumns() ?? Int(environment["COLUMNS"] ?? "") ?? 80
        // Colour depth from NO_COLOR, COLORTERM and TERM; sixel is drawn when asked for, without a DA1 query.
        let caps = TerminalCapabilities.detect(environment: environment, terminfoColors: nil, da1: nil)
        switch mode {
        case "sixel":
            let scaled = scaleToFit(image, maxWidth: width * caps.cellWidth, maxHeight: 100_000, heightMultipleOf: 6)
            return SixelEncoder.encode(scaled) + "\n"
        case "blocks":
            let fit = fitCells(imageWidth: image.width, imageHeight: image.height, columns: width, rows: 100_000)
            return ANSIEncoder.encode(CellGrid.blocks(image, columns: fit.columns, rows: fit.rows), capabilities: caps)
        default:
            let fit = fitCells(imageWidth: image.width, imageHeight: image.height, columns: width, rows: 100_000)
            return ANSIEncoder.encode(CellGrid.ascii(image, columns: fit.columns, rows: fit.rows), capabilities: caps)
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

/// The width of the terminal on standard output, when it is one.
private func terminalColumns() -> Int? {
    var size = winsize()
    guard isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}
