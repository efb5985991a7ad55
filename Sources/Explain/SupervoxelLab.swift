// Supervoxel preprocessing: a clip as a CIELAB volume, smoothed, the way scikit-image's `slic` prepares it.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Media

/// A T×H×W volume of C-channel doubles, channel last (scikit-image's `(z, y, x, c)` layout).
struct Volume {
    var depth: Int
    var height: Int
    var width: Int
    var channels: Int
    var values: [Double]

    var voxels: Int { depth * height * width }
}

// MARK: - Colour

extension Volume {
    /// The clip as scikit-image's `slic` sees it before clustering: bytes to [0, 1], then stretched so the
    /// clip's darkest channel value is 0 and its brightest 1 (slic rescales by the min and max over all
    /// channels), then `rgb2lab` with the D65 / 2° white point.
    init(labFrom crops: [RGBImage]) {
        precondition(!crops.isEmpty, "Volume: no crops")
        let width = crops[0].width, height = crops[0].height
        precondition(crops.allSatisfy { $0.width == width && $0.height == height }, "Volume: crops differ in size")
        var low: UInt8 = 255, high: UInt8 = 0
        for crop in crops {
            for p in crop.pixels { low = min(low, p); high = max(high, p) }
        }
        let lo = Double(low) / 255, span = Double(high) / 255 - lo
        // Lookup table: there are only 256 byte values, and pow/cbrt per voxel dominate otherwise.
        let linear: [Double] = (0..<256).map { byte in
            var v = Double(byte) / 255 - lo
            if span != 0 { v /= span }
            return v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92
        }
        var values = [Double](repeating: 0, count: crops.count * width * height * 3)
        var o = 0
        for crop in crops {
            let px = crop.pixels
            for i in stride(from: 0, to: px.count, by: 3) {
                let lab = Volume.lab(r: linear[Int(px[i])], g: linear[Int(px[i + 1])], b: linear[Int(px[i + 2])])
                values[o] = lab.0; values[o + 1] = lab.1; values[o + 2] = lab.2
                o += 3
            }
        }
        self.init(depth: crops.count, height: height, width: width, channels: 3, values: values)
    }

    /// Linear RGB to CIELAB with scikit-image's matrix, white point and 0.008856 / 7.787 knee.
    static func lab(r: Double, g: Double, b: Double) -> (Double, Double, Double) {
        let x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.95047
        let y = 0.212671 * r + 0.715160 * g + 0.072169 * b
        let z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883
        func f(_ t: Double) -> Double { t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0 }
        let fx = f(x), fy = f(y), fz = f(z)
        return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }
}

// MARK: - Smoothing

extension Volume {
    /// Gaussian smoothing along z, y and x (never across channels), as `scipy.ndimage.gaussian_filter` with
    /// `truncate = 4` and mode `reflect` does it: one separable pass per axis, in axis order.
    mutating func smooth(sigma: (Double, Double, Double)) {
        let strides = [height * width * channels, width * channels, channels]
        let lengths = [depth, height, width]
        for (axis, s) in [sigma.0, sigma.1, sigma.2].enumerated() where s > 1e-15 {
            let kernel = Volume.gaussianKernel(sigma: s)
            smoothAxis(length: lengths[axis], stride: strides[axis], kernel: kernel)
        }
    }

    /// The normalised 1-D Gaussian of scipy: radius ⌊4σ + ½⌋.
    static func gaussianKernel(sigma: Double) -> [Double] {
        let radius = Int(4 * sigma + 0.5)
        var k = (-radius...radius).map { x in exp(-0.5 * Double(x * x) / (sigma * sigma)) }
        let sum = k.reduce(0, +)
        for i in k.indices { k[i] /= sum }
        return k
    }

    /// scipy's `reflect` boundary (d c b a | a b c d | d c b a), valid for kernels longer than the axis too.
    static func reflect(_ i: Int, _ n: Int) -> Int {
        let period = 2 * n
        var j = i % period
        if j < 0 { j += period }
        return j < n ? j : period - 1 - j
    }

    private mutating func smoothAxis(length: Int, stride: Int, kernel: [Double]) {
        let radius = kernel.count / 2
        let taps: [[Int]] = (0..<length).map { i in (-radius...radius).map { Volume.reflect(i + $0, length) } }
        let total = values.count
        let blockSize = length * stride
        var line = [Double](repeating: 0, count: length)
        values.withUnsafeMutableBufferPointer { v in
            // Every (outer block, inner offset) pair is one line along the axis.
            for block in Swift.stride(from: 0, to: total, by: blockSize) {
                for inner in 0..<stride {
                    let base = block + inner
                    for i in 0..<length { line[i] = v[base + i * stride] }
                    for i in 0..<length {
                        var acc = 0.0
                        let t = taps[i]
                        for k in 0..<kernel.count { acc += kernel[k] * line[t[k]] }
                        v[base + i * stride] = acc
                    }
                }
            }
        }
    }
}
