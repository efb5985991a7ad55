// Supervoxels against scikit-image's slic on a face clip of the bundled sample.
import Foundation
import Testing
import Media
import Weights
@testable import Explain
import TestSupport

/// The committed clip (Tests/Fixtures/shap/clip.npy, 4×48×48×3 bytes) as RGB crops.
func fixtureClip() throws -> [RGBImage] {
    let t = try NumpyFile.read(contentsOf: fixtureURL("shap/clip.npy"))
    let (frames, h, w) = (t.shape[0], t.shape[1], t.shape[2])
    return (0..<frames).map { f in
        RGBImage(width: w, height: h, pixels: t.data[(f * h * w * 3)..<((f + 1) * h * w * 3)].map { UInt8($0) })
    }
}

/// Hubert and Arabie's adjusted Rand index of two labellings of the same items.
func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double {
    precondition(a.count == b.count)
    var table: [[Int]: Int] = [:], rows: [Int: Int] = [:], cols: [Int: Int] = [:]
    for (x, y) in zip(a, b) {
        table[[x, y], default: 0] += 1
        rows[x, default: 0] += 1
        cols[y, default: 0] += 1
    }
    func pairs(_ n: Int) -> Double { Double(n) * Double(n - 1) / 2 }
    let index = table.values.map(pairs).reduce(0, +)
    let sumRows = rows.values.map(pairs).reduce(0, +), sumCols = cols.values.map(pairs).reduce(0, +)
    let expected = sumRows * sumCols / pairs(a.count)
    let maximum = (sumRows + sumCols) / 2
    return maximum == expected ? 1 : (index - expected) / (maximum - expected)
}

struct SLICCase: Decodable {
    var name: String
    var segments: Int
    var compactness: Double
    var sigma: Double
    var spacing: [Double]
    var count: Int
    var labels: [Int]
}

@Suite(.timeLimit(.minutes(1)))
struct SupervoxelTests {
    @Test func agreesWithScikitImage() throws {
        struct Doc: Decodable { var cases: [SLICCase] }
        let doc = try JSONDecoder().decode(Doc.self, from: Data(contentsOf: fixtureURL("shap/slic.json")))
        let clip = try fixtureClip()
        #expect(doc.cases.count == 3)
        for c in doc.cases {
            let options = SLICOptions(segments: c.segments, compactness: c.compactness, sigma: c.sigma,
                                      spacing: (c.spacing[0], c.spacing[1], c.spacing[2]))
            let s = Supervoxels(slic: clip, options: options)
            #expect(s.labels.count == c.labels.count)
            let ari = adjustedRandIndex(s.labels.map(Int.init), c.labels)
            print("SLIC \(c.name): ARI \(ari), \(s.count) segments (skimage \(c.count))")
            #expect(ari >= 0.9, "\(c.name): adjusted Rand index \(ari)")
            #expect(abs(s.count - c.count) <= max(2, c.count / 10), "\(c.name): \(s.count) vs \(c.count) segments")
        }
    }

    @Test func randIndexSeesDisagreement() {
        #expect(adjustedRandIndex([0, 0, 1, 1], [5, 5, 7, 7]) == 1)
        #expect(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]) < 0)
    }

    @Test func regularGridMatchesScikitImageExamples() {
        let a = RegularGrid(shape: [20, 40], points: 8)
        #expect(a.starts == [5, 5] && a.steps == [10, 10])
        let b = RegularGrid(shape: [20, 40], points: 32)
        #expect(b.starts == [2, 2] && b.steps == [5, 5])
        let c = RegularGrid(shape: [3, 20, 40], points: 8)
        #expect(c.starts == [1, 5, 5] && c.steps == [3, 10, 10])
    }

    @Test func labelsAreContiguousAndBordersSeparateThem() throws {
        let clip = try fixtureClip()
        let s = Supervoxels(slic: clip, options: SLICOptions(segments: 20))
        #expect(Set(s.labels) == Set((0..<s.count).map(Int32.init)))
        let border = s.borders(frame: 0)
        let frame = Array(s.frame(0))
        for y in 0..<(s.height - 1) {
            for x in 0..<(s.width - 1) where !border[y * s.width + x] {
                #expect(frame[y * s.width + x] == frame[y * s.width + x + 1])
                #expect(frame[y * s.width + x] == frame[(y + 1) * s.width + x])
            }
        }
        #expect(border.contains(true))
    }

    @Test func labConversionMatchesKnownColours() {
        let white = Volume.lab(r: 1, g: 1, b: 1)
        #expect(abs(white.0 - 100) < 1e-3 && abs(white.1) < 1e-2 && abs(white.2) < 1e-2)
        // sRGB red (linear 1, 0, 0) in CIELAB D65: L 53.24, a 80.09, b 67.20.
        let red = Volume.lab(r: 1, g: 0, b: 0)
        #expect(abs(red.0 - 53.24) < 0.01 && abs(red.1 - 80.09) < 0.02 && abs(red.2 - 67.20) < 0.02)
    }

    @Test func gaussianReflectsLikeScipy() {
        #expect((0..<7).map { Volume.reflect($0 - 3, 3) } == [2, 1, 0, 0, 1, 2, 2])
        #expect(Volume.reflect(7, 3) == 1)
        let k = Volume.gaussianKernel(sigma: 1)
        #expect(k.count == 9 && abs(k.reduce(0, +) - 1) < 1e-12 && k[4] > k[3])
    }
}
