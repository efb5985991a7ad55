import ArgumentParser

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explore", abstract: "Open the explorer.")
    @Argument(help: "The video file (default: the bundled sample).") var video: String?
    func run() throws { throw CLIError("explore: not built yet") }
}
