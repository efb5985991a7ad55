import ArgumentParser
import Detection
import Foundation

/// `deepscope detectors`: the bundled detectors and the presets for public releases.
struct DetectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detectors", abstract: "List bundled detectors (assets/detectors) and presets for public checkpoints.")

    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let bundled = assetsDirectory().map(BundledDetector.all(assets:)) ?? []
        if json {
            let b = bundled.map { d -> [String: Any] in
                switch d.manifest {
                case .success(let m): return ["name": d.name, "title": m.name, "architecture": m.architecture, "head": m.output.kind.name]
                case .failure(let e): return ["name": d.name, "error": e.description]
                }
            }
            let p = DetectorPresets.all.map { p -> [String: Any] in
                let m = p.manifest
                return ["name": p.name, "summary": p.summary, "architecture": m.architecture, "inputSize": m.input.size,
                        "head": m.output.kind.name]
            }
            let data = try JSONSerialization.data(withJSONObject: ["bundled": b, "presets": p], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("Bundled detectors (assets/detectors; --detector NAME):")
        if bundled.isEmpty { print("  (none)") }
        for d in bundled {
            switch d.manifest {
            case .success(let m): print("  \(d.name.padding(toLength: 38, withPad: " ", startingAt: 0)) \(m.name)")
            case .failure(let e): print("  \(d.name.padding(toLength: 38, withPad: " ", startingAt: 0)) unusable: \(e)")
            }
        }
        print("\nPresets for public releases (--detector NAME --weights FILE):")
        for p in DetectorPresets.all {
            print("  \(p.name.padding(toLength: 38, withPad: " ", startingAt: 0)) \(p.summary)")
        }
    }
}
