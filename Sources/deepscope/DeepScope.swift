// deepscope: the command-line executable; each subcommand lives in its own file and calls into the modules.
import ArgumentParser
import Foundation

@main
struct DeepScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deepscope",
        abstract: "Explore deepfake detectors and their explanations on video, in the terminal.",
        version: "0.1.0",
        subcommands: [ExploreCommand.self, InfoCommand.self, FrameCommand.self, FacesCommand.self, ModelCommand.self,
                      BenchCommand.self, ExportVideoCommand.self, AnalyzeCommand.self, EvaluateCommand.self,
                      DetectorsCommand.self, ForgeCommand.self, TrainCommand.self],
        defaultSubcommand: ExploreCommand.self)
}

/// A user-facing failure: printed as one line on stderr, exit code 1, no stack trace.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
