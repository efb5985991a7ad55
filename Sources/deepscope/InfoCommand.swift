import ArgumentParser

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe a video file.")
    @Argument(help: "The video file.") var video: String
    @Flag(help: "Print JSON.") var json = false
    func run() throws { throw CLIError("info: not built yet") }
}
