import Foundation

/// Finds deepscope's `assets/` folder: $DEEPSCOPE_ASSETS, else beside or above the executable (the build folder
/// sits inside the repository), else the current directory.
func assetsDirectory() -> URL? {
    let fm = FileManager.default
    if let env = ProcessInfo.processInfo.environment["DEEPSCOPE_ASSETS"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<6 {
        let candidate = dir.appendingPathComponent("assets")
        if fm.fileExists(atPath: candidate.appendingPathComponent("carphone_pristine.mp4").path) { return candidate }
        dir.deleteLastPathComponent()
    }
    let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("assets")
    return fm.fileExists(atPath: cwd.path) ? cwd : nil
}

/// The bundled sample video.
func bundledSampleVideo() throws -> String {
    guard let dir = assetsDirectory() else {
        throw CLIError("cannot find deepscope's assets folder (set DEEPSCOPE_ASSETS, or pass a video file)")
    }
    return dir.appendingPathComponent("carphone_pristine.mp4").path
}
