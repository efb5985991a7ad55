import ArgumentParser
import Faces
import Foundation
import Media
import Training

/// `deepscope forge [VIDEO] --seed S --video-out F.mp4 --truth-out F.json --crops DIR`: synthetic forgeries.
struct ForgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forge",
        abstract: "Synthesise forged faces (self-blend, low-res, colour-mismatch, partial-swap, compression) from a real video.")

    @Argument(help: "The real video; default the bundled carphone_pristine.mp4.") var video: String?
    @Option(help: "Seed of every random draw (same seed, same forgeries).") var seed: UInt64 = 7
    @Option(help: "Write the manipulated video here (known frame ranges per method).") var videoOut: String?
    @Option(help: "Write the truth JSON ({\"segments\":[{start,end,method}]}) here.") var truthOut: String?
    @Option(help: "Write labelled training crops (PNG + labels.csv) of every method on every frame here.") var crops: String?
    @Option(help: "Crop side in pixels (the detector's input size).") var size = 64
    @Option(help: "Crop margin (the manifest's crop.margin, policy scale).") var margin = 0.1
    @Option(help: "Folder with MTCNN weights; default assets/mtcnn.") var mtcnn: String?
    // Hidden: only the mask-mass report (scripts/mask_mass.sh) needs the ground-truth blend masks.
    @Option(help: .hidden) var masksOut: String?

    func run() throws {
        guard size >= 16, size <= 512 else { throw CLIError("--size must be in 16…512, got \(size)") }
        guard videoOut != nil || crops != nil || masksOut != nil else {
            throw CLIError("nothing to do: pass --video-out and/or --crops")
        }
        let path = try video ?? bundledSampleVideo()
        let weights: URL
        if let mtcnn { weights = URL(fileURLWithPath: mtcnn) } else {
            guard let assets = assetsDirectory() else { throw CLIError("cannot find the assets folder for MTCNN (pass --mtcnn DIR)") }
            weights = assets.appendingPathComponent("mtcnn")
        }
        do {
            let detector = try MTCNN(weightsDirectory: weights)
            let faced = try FacedVideo.load(URL(fileURLWithPath: path), detector: detector)
            let missing = faced.faces.filter { $0 == nil }.count
            if missing > 0 { FileHandle.standardError.write(Data("forge: no face in \(missing) frame(s); they stay pristine\n".utf8)) }
            let plan = samplePlan(frameCount: faced.frames.count)
            if let videoOut {
                try writeManipulated(faced, plan: plan, seed: seed, to: URL(fileURLWithPath: videoOut))
                let truth = truthOut.map { URL(fileURLWithPath: $0) }
                    ?? URL(fileURLWithPath: videoOut).deletingPathExtension().appendingPathExtension("truth.json")
                try truthJSON(plan).write(to: truth, options: .atomic)
                print("wrote \(videoOut) and \(truth.path): \(plan.count) forged segments")
            }
            if let masksOut {
                let written = try writeMasks(faced, plan: plan, to: URL(fileURLWithPath: masksOut))
                print("wrote \(written) blend masks to \(masksOut)")
            }
            if let crops {
                let dir = URL(fileURLWithPath: crops)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let made = try forgedCrops(faced, frames: 0..<faced.frames.count, seed: seed, policy: .scale(margin: margin),
                                           size: size, scratch: dir)
                try CropFolder(crops: made.crops, frames: made.frames).write(to: dir)
                print("wrote \(made.crops.count) crops (\(ForgeryMethod.allCases.count) classes) to \(crops)")
            }
        } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
    }

    // MARK: - Ground-truth masks

    /// Writes the blend mask of every forged frame as `<frame>.png` (8-bit grey, 255 = fully forged) in frame
    /// coordinates. Each forgery is recomputed from (seed, frame, method), so the masks are the ones the sample used;
    /// the mask is drawn before the donor is touched, so no donor is needed to reproduce it.
    /// - Returns: how many masks were written.
    func writeMasks(_ faced: FacedVideo, plan: [TruthSegment], to dir: URL) throws -> Int {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var written = 0
        for (i, frame) in faced.frames.enumerated() {
            let m = method(at: i, in: plan)
            guard let face = faced.faces[i], m != .pristine else { continue }
            let mask = forge(m, frame: frame, face: face, frameIndex: i, seed: seed).mask
            let grey = mask.values.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
            try PNG.writeGray(grey, width: mask.width, height: mask.height, to: dir.appendingPathComponent("\(i).png"))
            written += 1
        }
        return written
    }
}
