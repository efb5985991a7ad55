import Foundation
@testable import Media
import TestSupport
import Testing

/// Seeded byte mutations of valid files: opening and decoding must end in frames or a MediaError, never a crash
/// or a hang, and the frame count must stay consistent with what decodes.
@Suite struct FuzzTests {
    /// Overwrites, truncates or duplicates a few byte runs, deterministically from `seed`.
    static func mutate(_ bytes: [UInt8], seed: UInt64) -> [UInt8] {
        var generator = SplitMix(seed: seed)
        var out = bytes
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            let at = Int(generator.next() % UInt64(out.count))
            switch generator.next() % 4 {
            case 0: // scribble a run
                for i in at..<min(at + 1 + Int(generator.next() % 16), out.count) { out[i] = UInt8(truncatingIfNeeded: generator.next()) }
            case 1: // flip one bit
                out[at] ^= UInt8(1 << (generator.next() % 8))
            case 2: // cut the tail
                out.removeSubrange(max(at, 8)...)
            default: // write an extreme 32-bit value (sizes, counts, offsets)
                let value: UInt32 = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF][Int(generator.next() % 4)]
                for i in 0..<4 where at + i < out.count { out[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
            }
            if out.count < 16 { break }
        }
        return out
    }

    @Test(arguments: ["bframes.mp4", "vp9.webm", "stream.ts", "mpeg4.avi"])
    func mutatedVideosFailCleanly(_ name: String) throws {
        let original = try [UInt8](Data(contentsOf: try GeneratedVideo(rawValue: name)!.url))
        let folder = try GeneratedVideos.shared.scratch()
        var opened = 0
        for seed in 0..<60 as Range<UInt64> {
            let url = folder.appendingPathComponent("\(seed)-\(name)")
            try Data(Self.mutate(original, seed: seed &+ 1000)).write(to: url)
            do {
                let video = try FFmpegVideo(contentsOf: url)
                opened += 1
                var k = 0
                while k < video.metadata.frameCount {
                    _ = try video.frame(at: k)
                    k += 1
                }
                // Random access on the (possibly recounted) video stays within range and answers.
                let n = video.metadata.frameCount
                for j in [n - 1, 0, n / 2] where j >= 0 { _ = try video.frame(at: j) }
            } catch let error as MediaError {
                #expect(!error.description.contains("\n"))
            }
        }
        // Most single mutations leave a decodable file: the loop really exercised decoding.
        #expect(opened > 0)
    }

    @Test func mutatedPNGsFailCleanly() throws {
        let folder = try GeneratedVideos.shared.scratch()
        let good = folder.appendingPathComponent("good.png")
        try PNG.write(ImageTests.labelled(width: 33, height: 21), to: good)
        let original = try [UInt8](Data(contentsOf: good))
        var read = 0
        for seed in 0..<200 as Range<UInt64> {
            let url = folder.appendingPathComponent("m\(seed).png")
            try Data(Self.mutate(original, seed: seed)).write(to: url)
            do {
                let image = try PNG.read(contentsOf: url)
                #expect(image.pixels.count == image.width * image.height * 3)
                read += 1
            } catch let error as MediaError {
                #expect(!error.description.contains("\n"))
            }
        }
        #expect(read < 200)
    }
}
