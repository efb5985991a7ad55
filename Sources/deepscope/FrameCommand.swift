import ArgumentParser

struct FrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frame", abstract: "Extract one exact frame.")
    @Argument(help: "The video file.") var video: String
    func run() throws { throw CLIError("frame: not built yet") }
}
