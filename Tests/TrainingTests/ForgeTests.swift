// The forger on a synthetic frame: seeded, confined to its mask, distinct per method; the sample plan.
import Faces
import Foundation
import Media
import TestSupport
import Testing
@testable import Training

@Suite(.timeLimit(.minutes(1)))
struct ForgeTests {
    /// A textured 96×80 frame and a face whose landmarks sit where a frontal face's would.
    static let frame: RGBImage = {
        var px = [UInt8](repeating: 0, count: 96 * 80 * 3)
        for y in 0..<80 { for x in 0..<96 { for c in 0..<3 { px[(y * 96 + x) * 3 + c] = UInt8((x * 7 + y * 5 + c * 40 + (x * y) % 23) % 256) } } }
        return RGBImage(width: 96, height: 80, pixels: px)
    }()
    static let face = Face(box: FaceBox(x1: 28, y1: 16, x2: 68, y2: 66), probability: 0.99,
                           landmarks: [FacePoint(x: 40, y: 34), FacePoint(x: 56, y: 34), FacePoint(x: 48, y: 44),
                                       FacePoint(x: 41, y: 54), FacePoint(x: 55, y: 54)])

    @Test(arguments: ForgeryMethod.allCases)
    func forgeryIsSeededAndStaysInsideItsMask(method: ForgeryMethod) {
        let a = forge(method, frame: Self.frame, face: Self.face, frameIndex: 3, seed: 11)
        let b = forge(method, frame: Self.frame, face: Self.face, frameIndex: 3, seed: 11)
        #expect(a.image == b.image)
        #expect(a.mask == b.mask)
        #expect(a.mask.values.allSatisfy { $0 >= 0 && $0 <= 1 })
        var changedOutside = 0, changedInside = 0
        for i in 0..<(96 * 80) {
            let changed = (0..<3).contains { a.image.pixels[i * 3 + $0] != Self.frame.pixels[i * 3 + $0] }
            if changed { if a.mask.values[i] == 0 { changedOutside += 1 } else { changedInside += 1 } }
        }
        #expect(changedOutside == 0)
        if method == .pristine {
            #expect(a.image == Self.frame && a.mask.mass == 0)
        } else {
            #expect(changedInside > 20, "\(method) changed \(changedInside) pixels")
            // The mask covers the face (for a partial swap: an eye or the mouth corner), not the frame corner.
            let probe = method == .partialSwap ? [34 * 96 + 40, 54 * 96 + 41] : [44 * 96 + 48]
            #expect(probe.contains { a.mask.values[$0] > 0.5 } && a.mask.values[0] == 0)
        }
    }

    @Test func differentSeedsDiffer() {
        let a = forge(.selfBlend, frame: Self.frame, face: Self.face, frameIndex: 3, seed: 11)
        let b = forge(.selfBlend, frame: Self.frame, face: Self.face, frameIndex: 3, seed: 12)
        #expect(a.image != b.image)
    }

    @Test func partialSwapMaskIsSmallerThanFaceMask() {
        let face = blendMask(for: Self.face, width: 96, height: 80, region: .face)
        let eyes = blendMask(for: Self.face, width: 96, height: 80, region: .eyes)
        #expect(eyes.mass > 0 && eyes.mass < face.mass / 2)
    }

    @Test func samplePlanCoversBothHalvesWithEveryMethod() {
        let plan = samplePlan(frameCount: 120)
        let late = Set(plan.filter { $0.start >= 72 }.map(\.method)), early = Set(plan.filter { $0.end < 72 }.map(\.method))
        let fakes = Set(ForgeryMethod.allCases.dropFirst().map(\.rawValue))
        #expect(early == fakes)
        #expect(late.count >= 3)
        #expect(method(at: 0, in: plan) == .pristine && method(at: 8, in: plan) == .selfBlend)
        #expect(zip(plan, plan.dropFirst()).allSatisfy { $0.end < $1.start })
        let json = String(decoding: try! truthJSON(plan), as: UTF8.self)
        #expect(json.contains("\"segments\"") && json.contains("\"start\" : 8"))
    }

    @Test func cropFolderRoundTripsAndSplitsByTime() throws {
        let dir = try makeTemporaryDirectory("crops")
        let data = toyCrops(count: 6, size: 16)
        try CropFolder(crops: data, frames: [0, 1, 2, 3, 4, 5]).write(to: dir)
        let back = try CropFolder.read(dir)
        #expect(back.crops.images == data.images && back.crops.labels == data.labels)
        let (train, validation) = back.split(at: 4)
        #expect(train.count == 4 && validation.count == 2)
    }
}
