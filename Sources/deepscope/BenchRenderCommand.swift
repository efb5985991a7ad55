// `deepscope bench render`: milliseconds per frame for each terminal render mode, compute and encode together.
import ArgumentParser
import Foundation
import Graphics
import Media

struct BenchRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Time drawing one video frame in each terminal render mode.")

    @Argument(help: "The video (default: the bundled sample).") var video: String?
    @Option(help: "The frame to draw.") var index = 0
    @Option(help: "Cell grid for ascii and blocks.") var columns = 200
    @Option(help: "Cell grid rows for ascii and blocks.") var rows = 60
    @Option(help: "Largest sixel image, in pixels.") var sixelWidth = 1000
    @Option(help: "Largest sixel image height, in pixels.") var sixelHeight = 720
    @Option(help: "Repetitions (the median is printed).") var repetitions = 7

    func run() throws {
        let path = try video ?? bundledSampleVideo()
        let image: RGBImage
        do { image = try FFmpegVideo(path: path).frame(at: index) } catch let error as MediaError {
            throw CLIError(error.description)
        }
        let ms = RenderBenchmark.run(image: image, columns: columns, rows: rows, sixelWidth: sixelWidth,
                                     sixelHeight: sixelHeight, repetitions: repetitions)
        let fields = ms.keys.sorted().map { String(format: "\"%@_ms\":%.3f", $0, ms[$0]!) }
        print("{\"frame\":\"\(image.width)x\(image.height)\",\"columns\":\(columns),\"rows\":\(rows),"
              + fields.joined(separator: ",") + "}")
    }
}
