import Foundation
import Faces
import Media
import TestSupport

// MARK: - Weights and frames the tests share

/// The project's MTCNN weights (facenet-pytorch's, converted to safetensors by scripts/convert_mtcnn_weights.py).
func mtcnnWeightsDirectory() -> URL { assetURL("mtcnn") }

/// One detector for the whole test run (loading is cheap, but there is no reason to repeat it).
let sharedMTCNN: MTCNN? = try? MTCNN(weightsDirectory: mtcnnWeightsDirectory())

/// All frames of the bundled sample, decoded once.
let sampleFrames: [RGBImage] = {
    guard let video = try? FFmpegVideo(contentsOf: assetURL("carphone_pristine.mp4")) else { return [] }
    return (0..<video.metadata.frameCount).compactMap { try? video.frame(at: $0) }
}()

// MARK: - Golden file

struct GoldenFace: Decodable {
    var box: [Float]
    var prob: Float
    var landmarks: [[Float]]
}

struct GoldenCase: Decodable {
    var name: String
    var source: String
    var frame: Int
    var transform: String?
    var faces: [GoldenFace]
}

struct GoldenFile: Decodable {
    var cases: [GoldenCase]
}

func loadGolden() throws -> GoldenFile {
    try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: fixtureURL("faces/mtcnn_golden.json")))
}

// MARK: - Derived frames (the integer rules of make_faces.py)

/// Nearest-neighbour resampling with source index ⌊i·n/m⌋, as the fixture script builds its big frame.
func nearestResized(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    var out = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        let sy = y * image.height / height
        for x in 0..<width {
            let sx = x * image.width / width
            let s = (sy * image.width + sx) * 3, d = (y * width + x) * 3
            out[d] = image.pixels[s]; out[d + 1] = image.pixels[s + 1]; out[d + 2] = image.pixels[s + 2]
        }
    }
    return RGBImage(width: width, height: height, pixels: out)
}

func flippedHorizontally(_ image: RGBImage) -> RGBImage {
    var out = image.pixels
    for y in 0..<image.height {
        for x in 0..<image.width {
            let s = (y * image.width + image.width - 1 - x) * 3, d = (y * image.width + x) * 3
            out[d] = image.pixels[s]; out[d + 1] = image.pixels[s + 1]; out[d + 2] = image.pixels[s + 2]
        }
    }
    return RGBImage(width: image.width, height: image.height, pixels: out)
}

func cropped(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
    var out: [UInt8] = []
    out.reserveCapacity(width * height * 3)
    for row in y..<(y + height) {
        let start = (row * image.width + x) * 3
        out += image.pixels[start..<(start + width * 3)]
    }
    return RGBImage(width: width, height: height, pixels: out)
}

/// The image a golden case was computed on.
func image(for golden: GoldenCase) -> RGBImage? {
    guard golden.frame < sampleFrames.count else { return nil }
    let frame = sampleFrames[golden.frame]
    switch golden.transform {
    case nil: return frame
    case "repeat2": return nearestResized(frame, width: frame.width * 2, height: frame.height * 2)
    case "flip": return flippedHorizontally(frame)
    case "nearest1920x1080": return nearestResized(frame, width: 1920, height: 1080)
    case "crop0,0,64,64": return cropped(frame, x: 0, y: 0, width: 64, height: 64)
    case "black": return RGBImage(width: frame.width, height: frame.height)
    default: return nil
    }
}
