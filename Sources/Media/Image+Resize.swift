import Foundation

// OpenCV's cv::resize for 8-bit images, re-derived from its definitions so that crops fed to detectors match
// the Python pipelines the detectors were trained with (cv2.resize with INTER_LINEAR or INTER_AREA).

// MARK: - Crop

extension RGBImage {
    /// The part of the image inside the rectangle, clamped to the image (empty when they do not overlap).
    public func crop(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        let x0 = min(max(x, 0), self.width), y0 = min(max(y, 0), self.height)
        let x1 = min(max(x + max(width, 0), x0), self.width), y1 = min(max(y + max(height, 0), y0), self.height)
        let w = x1 - x0, h = y1 - y0
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for row in 0..<h {
            let src = ((y0 + row) * self.width + x0) * 3
            out.replaceSubrange(row * w * 3 ..< (row + 1) * w * 3, with: pixels[src ..< src + w * 3])
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}

// MARK: - Bilinear (INTER_LINEAR)

/// One output coordinate's sources, already clamped to the image, and fixed-point weights (sum 2048).
private struct LinearTap {
    var first: Int
    var second: Int
    var weights: (Int32, Int32)
}

/// OpenCV's fixed-point scale for interpolation coefficients (INTER_RESIZE_COEF_BITS = 11).
private let coefficientScale: Float = 2048

extension RGBImage {
    /// Bilinear resize with OpenCV INTER_LINEAR semantics: pixel centres at +0.5, edge pixels replicated,
    /// 11-bit fixed-point weights. Equal to cv2.resize on x86 in the tested cases.
    public func resizedBilinear(width: Int, height: Int) -> RGBImage {
        guard width > 0, height > 0, self.width > 0, self.height > 0 else { return RGBImage(width: max(width, 0), height: max(height, 0)) }
        if width == self.width && height == self.height { return self }
        return resizedLinear(width: width, height: height,
                             xTaps: Self.linearTaps(source: self.width, destination: width, areaStyle: false, clampWeights: true),
                             yTaps: Self.linearTaps(source: self.height, destination: height, areaStyle: false, clampWeights: false))
    }

    /// Coefficients per destination coordinate; `areaStyle` is OpenCV's INTER_AREA rule for enlarging.
    /// OpenCV zeroes the weight past an edge only horizontally; vertically it keeps the weight and repeats the
    /// edge row, which rounds differently in its fixed-point pass (`clampWeights` false).
    fileprivate static func linearTaps(source: Int, destination: Int, areaStyle: Bool, clampWeights: Bool = true) -> [LinearTap] {
        let inverseScale = Double(destination) / Double(source)
        let scale = 1 / inverseScale
        return (0..<destination).map { d in
            var s: Int
            var f: Float
            if areaStyle {
                s = Int((Double(d) * scale).rounded(.down))
                f = Float(Double(d + 1) - Double(s + 1) * inverseScale)
                f = f <= 0 ? 0 : f - f.rounded(.down)
            } else {
                let exact = Float((Double(d) + 0.5) * scale - 0.5)
                s = Int(exact.rounded(.down))
                f = exact - Float(s)
            }
            if clampWeights {
                if s < 0 { s = 0; f = 0 }
                if s >= source - 1 { s = source - 1; f = 0 }
            }
            let w1 = Int32((f * coefficientScale).rounded())
            let w0 = Int32(((1 - f) * coefficientScale).rounded())
            return LinearTap(first: min(max(s, 0), source - 1), second: min(max(s + 1, 0), source - 1), weights: (w0, w1))
        }
    }

    /// Separable two-tap interpolation: a horizontal pass into 2048-scaled integers, then OpenCV's vectorised
    /// vertical pass (each product shifted by 4 + 16 bits, then rounded by 2 bits), which is what cv2 runs on x86.
    fileprivate func resizedLinear(width: Int, height: Int, xTaps: [LinearTap], yTaps: [LinearTap]) -> RGBImage {
        let sw = self.width
        var rows = [[Int32]](repeating: [], count: self.height)
        func horizontal(_ sy: Int) -> [Int32] {
            if !rows[sy].isEmpty { return rows[sy] }
            var row = [Int32](repeating: 0, count: width * 3)
            pixels.withUnsafeBufferPointer { p in
                let base = sy * sw * 3
                for (dx, tap) in xTaps.enumerated() {
                    let a = base + tap.first * 3
                    let b = base + tap.second * 3
                    for c in 0..<3 {
                        row[dx * 3 + c] = Int32(p[a + c]) * tap.weights.0 + Int32(p[b + c]) * tap.weights.1
                    }
                }
            }
            rows[sy] = row
            return row
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for (dy, tap) in yTaps.enumerated() {
            let r0 = horizontal(tap.first)
            let r1 = horizontal(tap.second)
            let (b0, b1) = (Int64(tap.weights.0), Int64(tap.weights.1))
            let base = dy * width * 3
            for i in 0..<(width * 3) {
                let v = (((Int64(r0[i] >> 4) * b0) >> 16) + ((Int64(r1[i] >> 4) * b1) >> 16) + 2) >> 2
                out[base + i] = UInt8(clamping: v)
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

// MARK: - Area (INTER_AREA)

/// One source pixel's share of a destination pixel.
private struct AreaWeight {
    var destination: Int
    var source: Int
    var weight: Float
}

extension RGBImage {
    /// Area-average resize with OpenCV INTER_AREA semantics: each output pixel is the mean of the source area it
    /// covers (exact box means for integer factors). Enlarging falls back to OpenCV's INTER_AREA rule for
    /// upscaling, a bilinear variant.
    public func resizedArea(width: Int, height: Int) -> RGBImage {
        guard width > 0, height > 0, self.width > 0, self.height > 0 else { return RGBImage(width: max(width, 0), height: max(height, 0)) }
        if width == self.width && height == self.height { return self }
        let scaleX = Double(self.width) / Double(width), scaleY = Double(self.height) / Double(height)
        if scaleX < 1 || scaleY < 1 {
            return resizedLinear(width: width, height: height,
                                 xTaps: Self.linearTaps(source: self.width, destination: width, areaStyle: true),
                                 yTaps: Self.linearTaps(source: self.height, destination: height, areaStyle: true))
        }
        let intX = scaleX.rounded(), intY = scaleY.rounded()
        if abs(scaleX - intX) < Double.ulpOfOne && abs(scaleY - intY) < Double.ulpOfOne {
            return boxMean(width: width, height: height, factorX: Int(intX), factorY: Int(intY))
        }
        return areaWeighted(width: width, height: height, scaleX: scaleX, scaleY: scaleY)
    }

    /// Integer factors: the mean of each block, rounded half up as OpenCV's vectorised path does.
    private func boxMean(width: Int, height: Int, factorX: Int, factorY: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let area = factorX * factorY
        pixels.withUnsafeBufferPointer { p in
            for dy in 0..<height {
                for dx in 0..<width {
                    for c in 0..<3 {
                        var sum = 0
                        for sy in dy * factorY ..< (dy + 1) * factorY {
                            let row = sy * self.width
                            for sx in dx * factorX ..< (dx + 1) * factorX { sum += Int(p[(row + sx) * 3 + c]) }
                        }
                        out[(dy * width + dx) * 3 + c] = UInt8((sum + area / 2) / area)
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// OpenCV's area table for one axis: whole pixels inside a destination cell weigh 1/cell, partial ones by
    /// their covered fraction.
    private static func areaTable(source: Int, destination: Int, scale: Double) -> [AreaWeight] {
        var table: [AreaWeight] = []
        for d in 0..<destination {
            let f1 = Double(d) * scale, f2 = f1 + scale
            let cell = min(scale, Double(source) - f1)
            var s1 = Int(f1.rounded(.up)), s2 = Int(f2.rounded(.down))
            s2 = min(s2, source - 1)
            s1 = min(s1, s2)
            if Double(s1) - f1 > 1e-3 { table.append(AreaWeight(destination: d, source: s1 - 1, weight: Float((Double(s1) - f1) / cell))) }
            for s in s1..<s2 { table.append(AreaWeight(destination: d, source: s, weight: Float(1 / cell))) }
            if f2 - Double(s2) > 1e-3 {
                table.append(AreaWeight(destination: d, source: s2, weight: Float(min(min(f2 - Double(s2), 1), cell) / cell)))
            }
        }
        return table
    }

    private func areaWeighted(width: Int, height: Int, scaleX: Double, scaleY: Double) -> RGBImage {
        let xTable = Self.areaTable(source: self.width, destination: width, scale: scaleX)
        let yTable = Self.areaTable(source: self.height, destination: height, scale: scaleY)
        var accumulated = [Float](repeating: 0, count: width * height * 3)
        var row = [Float](repeating: 0, count: width * 3)
        var rowOf = -1
        pixels.withUnsafeBufferPointer { p in
            for entry in yTable {
                if rowOf != entry.source {
                    rowOf = entry.source
                    for i in row.indices { row[i] = 0 }
                    let base = entry.source * self.width * 3
                    for x in xTable {
                        for c in 0..<3 { row[x.destination * 3 + c] += Float(p[base + x.source * 3 + c]) * x.weight }
                    }
                }
                let base = entry.destination * width * 3
                for i in 0..<(width * 3) { accumulated[base + i] += row[i] * entry.weight }
            }
        }
        let out = accumulated.map { UInt8(clamping: Int($0.rounded(.toNearestOrEven))) }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
