import ArgumentParser
import Detection
import Faces
import Foundation
import Media
import Neural

/// `deepscope evaluate LIST.csv --detector SPEC --out DIR`: the papers' metrics over a labelled list of videos.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a detector on a labelled list of videos: AUC, EER, HTER, accuracy, log loss, P/R/F1.",
        discussion: """
        LIST is CSV with lines `path,label` (label 0/real or 1/fake; a header line is allowed; relative paths are \
        relative to the list). Metrics are computed at video level for each aggregation (mean = σ(mean logit), MF, \
        MT, AT) and at frame level (each frame's most fake face). Writes metrics.json, metrics.csv, scores.csv and \
        roc.png to DIR. Missing or unreadable videos, and videos without faces, are skipped and reported.
        """)

    @Argument(help: "CSV of path,label lines.") var list: String
    @Option(help: "A manifest path, a bundled detector name, or a preset family:model.") var detector: String
    @Option(help: "The weights file (overrides the manifest's; required for presets).") var weights: String?
    @Option(help: "The output folder.") var out: String
    @Option(help: "Frames A:B[:STEP] of each video; default all.") var frames: String?
    @Option(help: "Folder with MTCNN pnet/rnet/onet weights; default assets/mtcnn.") var mtcnn: String?
    @Option(help: "The MF voting threshold.") var threshold: Double = 0.5
    @Option(help: "Frames whose faces the detector scores as one batch (more memory).") var batch = 1

    struct Item { var path: String; var label: Int }
    struct Scored { var item: Item; var verdicts: VideoVerdicts; var frameScores: [Double] }

    func run() throws {
        guard batch >= 1, batch <= 256 else { throw CLIError("--batch must be in 1…256, got \(batch)") }
        let items = try Self.readList(list)
        let spec = try DetectorSpec(detector, weights: weights)
        let model = try spec.makeDetector()
        let faces = try AnalyzeCommand.loadMTCNN(mtcnn)
        var scored: [Scored] = [], skipped: [(String, String)] = []
        let progress = ProgressBar(label: "evaluate", total: items.count)
        for item in items {
            defer { progress.advance() }
            guard FileManager.default.fileExists(atPath: item.path) else { skipped.append((item.path, "file not found")); continue }
            do {
                let source = try FFmpegVideo(path: item.path)
                let range = try FacesCommand.frameRange(frames, frameCount: source.metadata.frameCount)
                let snapshot = try VideoAnalysis(source: source, frames: Array(range), detector: model, faces: faces,
                                             framesPerBatch: batch).run()
                let v = VideoVerdicts(snapshot.results, threshold: threshold)
                guard v.faces > 0 else { skipped.append((item.path, "no face found in \(v.frames) frames")); continue }
                let frameScores = snapshot.results.compactMap { $0.mostFake.map { Double($0.output.probability) } }
                scored.append(Scored(item: item, verdicts: v, frameScores: frameScores))
            } catch {
                skipped.append((item.path, "\(error)"))
            }
        }
        progress.finish()
        for (path, why) in skipped { FileHandle.standardError.write(Data("evaluate: skipped \(path): \(why)\n".utf8)) }
        guard !scored.isEmpty else { throw CLIError("evaluate: no video of \(list) could be scored (\(skipped.count) skipped)") }

        var levels: [(String, BinaryMetrics)] = []
        for a in Aggregation.allCases {
            let pairs = scored.compactMap { s in s.verdicts.score(a).map { (s.item.label, $0) } }
            do { levels.append(("video-\(a.rawValue)", try BinaryMetrics(labels: pairs.map(\.0), scores: pairs.map(\.1)))) }
            catch let e as DetectionError { throw CLIError(e.description) }
        }
        let frameLabels = scored.flatMap { s in s.frameScores.map { _ in s.item.label } }
        do { levels.append(("frame", try BinaryMetrics(labels: frameLabels, scores: scored.flatMap(\.frameScores)))) }
        catch let e as DetectionError { throw CLIError(e.description) }

        let dir = URL(fileURLWithPath: out)
        try AnalyzeCommand.makeFolder(dir)
        print(Self.table(levels))
        for (_, m) in levels { if let note = m.note { print("note: \(note)"); break } }
        if !skipped.isEmpty { print("skipped \(skipped.count) of \(items.count) videos (listed in metrics.json)") }
        try writeOutputs(levels, scored, skipped, model, to: dir)
    }

    // MARK: - List

    static func readList(_ path: String) throws -> [Item] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the list \(path)") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        var items: [Item] = []
        for (n, raw) in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let comma = line.lastIndex(of: ",") else { throw CLIError("\(path) line \(n + 1): expected path,label") }
            let file = line[..<comma].trimmingCharacters(in: .whitespaces)
            let labelText = line[line.index(after: comma)...].trimmingCharacters(in: .whitespaces).lowercased()
            let label: Int
            switch labelText {
            case "0", "real": label = 0
            case "1", "fake": label = 1
            default:
                if n == 0 { continue }  // a header line
                throw CLIError("\(path) line \(n + 1): label '\(labelText)' must be 0, 1, real or fake")
            }
            items.append(Item(path: file.hasPrefix("/") ? file : base.appendingPathComponent(file).path, label: label))
        }
        guard !items.isEmpty else { throw CLIError("\(path): no path,label lines") }
        return items
    }

    // MARK: - Output

    static func fmt(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }

    static func table(_ levels: [(String, BinaryMetrics)]) -> String {
        let head = ["level", "n", "AUC", "EER", "HTER@.5", "HTER@EER", "ACC", "LogLoss", "P", "R", "F1", "FPR", "FNR"]
        var rows = [head]
        for (name, m) in levels {
            let h = m.atHalf
            rows.append([name, "\(m.count)", fmt(m.auc), fmt(m.eer), fmt(h.hter), fmt(m.atEER?.hter), fmt(h.accuracy),
                         fmt(m.logLoss), fmt(h.precision), fmt(h.recall), fmt(h.f1), fmt(h.fpr), fmt(h.fnr)])
        }
        let widths = head.indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { r in r.indices.map { r[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n")
    }

    static func thresholdObject(_ t: ThresholdMetrics) -> [String: Any] {
        ["threshold": AnalyzeCommand.number(t.threshold), "accuracy": t.accuracy, "precision": t.precision,
         "recall": t.recall, "f1": t.f1, "fpr": AnalyzeCommand.number(t.fpr), "fnr": AnalyzeCommand.number(t.fnr),
         "hter": AnalyzeCommand.number(t.hter), "tp": t.truePositives, "fp": t.falsePositives, "tn": t.trueNegatives,
         "fn": t.falseNegatives]
    }

    func writeOutputs(_ levels: [(String, BinaryMetrics)], _ scored: [Scored], _ skipped: [(String, String)],
                      _ model: Detector, to dir: URL) throws {
        let n: (Double?) -> Any = AnalyzeCommand.number
        var object: [String: Any] = ["detector": AnalyzeCommand.detectorInfo(model), "list": list,
                                     "videos": scored.count, "skipped": skipped.map { ["path": $0.0, "reason": $0.1] }]
        var perLevel: [String: Any] = [:]
        for (name, m) in levels {
            perLevel[name] = ["count": m.count, "positives": m.positives, "negatives": m.negatives, "auc": n(m.auc),
                              "eer": n(m.eer), "eerThreshold": n(m.eerThreshold), "logLoss": m.logLoss,
                              "atHalf": Self.thresholdObject(m.atHalf),
                              "atEER": m.atEER.map { Self.thresholdObject($0) as Any } ?? NSNull(),
                              "note": m.note.map { $0 as Any } ?? NSNull()]
        }
        object["levels"] = perLevel
        try AnalyzeCommand.writeJSON(object, to: dir.appendingPathComponent("metrics.json"))

        var csv = "level,count,auc,eer,eer_threshold,hter_0.5,hter_eer,accuracy,log_loss,precision,recall,f1,fpr,fnr\n"
        for (name, m) in levels {
            let h = m.atHalf
            csv += [name, "\(m.count)", Self.fmt(m.auc), Self.fmt(m.eer), Self.fmt(m.eerThreshold.flatMap { $0.isFinite ? $0 : nil }),
                    Self.fmt(h.hter), Self.fmt(m.atEER?.hter), Self.fmt(h.accuracy), Self.fmt(m.logLoss), Self.fmt(h.precision),
                    Self.fmt(h.recall), Self.fmt(h.f1), Self.fmt(h.fpr), Self.fmt(h.fnr)].joined(separator: ",") + "\n"
        }
        try AnalyzeCommand.write(Data(csv.utf8), to: dir.appendingPathComponent("metrics.csv"))

        var scores = "path,label,mean,mf,mt,at,frames,faces,tracks\n"
        for s in scored {
            let v = s.verdicts
            scores += "\(csvField(s.item.path)),\(s.item.label),\(Self.fmt(v.meanProbability)),\(Self.fmt(v.mf)),"
                + "\(Self.fmt(v.mt)),\(Self.fmt(v.at)),\(v.frames),\(v.faces),\(v.tracks)\n"
        }
        try AnalyzeCommand.write(Data(scores.utf8), to: dir.appendingPathComponent("scores.csv"))

        let curves = levels.filter { !$0.1.roc.isEmpty }.map { (name: $0.0, points: $0.1.roc) }
        let png = try PNG.encoded(rocImage(curves))
        try AnalyzeCommand.write(Data(png), to: dir.appendingPathComponent("roc.png"))
        if !curves.isEmpty {
            let legend = zip(curves, rocCurveColours).map { "\($1) = \($0.name)" }.joined(separator: ", ")
            print("roc.png: \(legend)")
        }
    }

    private func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
