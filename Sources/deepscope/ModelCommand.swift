import ArgumentParser

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Inspect and run detector models.",
                                                    subcommands: [ModelRunCommand.self])
}
