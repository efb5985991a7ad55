// Times one frame through each terminal render mode (compute + encode), for `deepscope bench render`.
import Media

/// A micro benchmark of the render modes on one image, as the explorer would draw it.
public enum RenderBenchmark {
    /// Milliseconds per frame (median of `repetitions`) for each mode, compute and encode together:
    /// `ascii` and `blocks` (24-bit) and `blocks-256` at the largest aspect-keeping grid within `columns × rows`,
    /// and `sixel` at the largest size within `sixelWidth × sixelHeight` pixels (heights in whole bands),
    /// scaling included.
    ///
    /// ```swift
    /// let ms = RenderBenchmark.run(image: frame, columns: 200, rows: 60)   // ["ascii": 0.9, "sixel": 40.2, …]
    /// ```
    public static func run(image: RGBImage, columns: Int, rows: Int, sixelWidth: Int = 1000, sixelHeight: Int = 720,
                           repetitions: Int = 7) -> [String: Double] {
        let fit = fitCells(imageWidth: image.width, imageHeight: image.height, columns: columns, rows: rows)
        let direct = TerminalCapabilities(colorDepth: .direct), palette = TerminalCapabilities(colorDepth: .palette256)
        let modes: [(String, () -> Int)] = [
            ("ascii", { ANSIEncoder.encode(CellGrid.ascii(image, columns: fit.columns, rows: fit.rows),
                                           capabilities: direct).utf8.count }),
            ("blocks", { ANSIEncoder.encode(CellGrid.blocks(image, columns: fit.columns, rows: fit.rows),
                                            capabilities: direct).utf8.count }),
            ("blocks-256", { ANSIEncoder.encode(CellGrid.blocks(image, columns: fit.columns, rows: fit.rows),
                                                capabilities: palette).utf8.count }),
            ("sixel", { SixelEncoder.encode(scaleToFit(image, maxWidth: sixelWidth, maxHeight: sixelHeight,
                                                       heightMultipleOf: 6)).utf8.count }),
        ]
        var result: [String: Double] = [:]
        let clock = ContinuousClock()
        for (name, body) in modes {
            var times: [Double] = []
            var bytes = 0
            for _ in 0..<max(1, repetitions) {
                let elapsed = clock.measure { bytes &+= body() }
                times.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15)
            }
            // Using the byte count keeps the optimiser from discarding the work.
            precondition(bytes > 0)
            result[name] = times.sorted()[times.count / 2]
        }
        return result
    }
}
