import ArgumentParser

@main
struct Exhunt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exhunt",
        abstract: "Hunt Exchange evidence for ProxyLogon-family compromise.",
        discussion: """
        Exit status of `hunt`: 0 clean, 1 attempted or compromised, 2 usage or configuration error,
        3 inconclusive (nothing found, but the evidence cannot show a clean server).
        """,
        subcommands: [HuntCommand.self, TimelineCommand.self, RulesCommand.self])
}
