// CropFolder: the on-disk training set `deepscope forge` writes and `deepscope train` reads — PNG crops plus
// labels.csv (file,label,method,frame), so a run's data can be inspected with any image viewer.
import Foundation
import Media

/// Labelled crops with the source frame of each (the time split needs it).
public struct CropFolder: Sendable {
    public var crops: LabelledCrops
    public var frames: [Int]

    public init(crops: LabelledCrops, frames: [Int]) { self.crops = crops; self.frames = frames }

    /// Writes `<frame>_<method>.png` files and labels.csv into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var csv = "file,label,method,frame\n"
        for i in 0..<crops.count {
            let method = ForgeryMethod.allCases[crops.labels[i]].rawValue
            let name = String(format: "%04d_%@.png", frames[i], method)
            try PNG.write(crops.images[i], to: directory.appendingPathComponent(name))
            csv += "\(name),\(crops.labels[i]),\(method),\(frames[i])\n"
        }
        try csv.write(to: directory.appendingPathComponent("labels.csv"), atomically: true, encoding: .utf8)
    }

    /// Reads a folder written by `write(to:)`.
    public static func read(_ directory: URL) throws -> CropFolder {
        let csvURL = directory.appendingPathComponent("labels.csv")
        guard let text = try? String(contentsOf: csvURL, encoding: .utf8) else {
            throw TrainingError.dataset(path: csvURL.path, reason: "cannot read labels.csv (run deepscope forge --crops DIR first)")
        }
        var out = CropFolder(crops: LabelledCrops(), frames: [])
        for (n, line) in text.split(separator: "\n").dropFirst().enumerated() {
            let f = line.split(separator: ",").map(String.init)
            guard f.count == 4, let label = Int(f[1]), let frame = Int(f[3]), label >= 0, label < ForgeryMethod.allCases.count else {
                throw TrainingError.dataset(path: csvURL.path, reason: "line \(n + 2) is not file,label,method,frame")
            }
            out.crops.images.append(try PNG.read(contentsOf: directory.appendingPathComponent(f[0])))
            out.crops.labels.append(label)
            out.frames.append(frame)
        }
        guard out.crops.count > 0 else { throw TrainingError.dataset(path: csvURL.path, reason: "no crops listed") }
        let side = out.crops.images[0].width
        guard out.crops.images.allSatisfy({ $0.width == side && $0.height == side }) else {
            throw TrainingError.dataset(path: directory.path, reason: "crops differ in size (expected \(side)×\(side))")
        }
        return out
    }

    /// The crops of frames before `frame` (training) and from `frame` on (validation).
    public func split(at frame: Int) -> (train: LabelledCrops, validation: LabelledCrops) {
        var a = LabelledCrops(), b = LabelledCrops()
        for i in 0..<crops.count {
            if frames[i] < frame { a.images.append(crops.images[i]); a.labels.append(crops.labels[i]); a.frames.append(frames[i]) }
            else { b.images.append(crops.images[i]); b.labels.append(crops.labels[i]); b.frames.append(frames[i]) }
        }
        return (a, b)
    }
}
