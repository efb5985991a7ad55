import ArgumentParser
import Foundation
import Media

/// `deepscope info VIDEO [--json]`: what a video holds, with its exact frame count.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a video file: container, codec, size, frame rate, duration, exact frame count, rotation.")

    @Argument(help: "The video file.") var video: String
    @Flag(help: "Print JSON (keys as in VideoMetadata, sorted).") var json = false

    func run() throws {
        let metadata: VideoMetadata
        do {
            metadata = try FFmpegVideo(path: video).metadata
        } catch let error as MediaError {
            throw CLIError(error.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(metadata), as: UTF8.self))
        } else {
            print(Self.table(metadata))
        }
    }

    static func table(_ m: VideoMetadata) -> String {
        let rows: [(String, String)] = [
            ("file", m.path),
            ("container", m.container),
            ("codec", "\(m.codec) (\(m.pixelFormat))"),
            ("size", "\(m.width)×\(m.height)"),
            ("frame rate", String(format: "%.3f fps (%d/%d)%@", m.frameRate, m.frameRateNumerator,
                                  m.frameRateDenominator, m.isVariableFrameRate ? ", variable" : "")),
            ("duration", String(format: "%.3f s", m.duration)),
            ("frames", "\(m.frameCount)"),
            ("rotation", m.rotation == 0 ? "none" : "\(m.rotation)° clockwise to display upright"),
            ("start time", String(format: "%.3f s", m.startTime)),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
    }
}
