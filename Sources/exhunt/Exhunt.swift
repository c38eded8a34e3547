import ArgumentParser
import Foundation

@main
struct Exhunt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exhunt",
        abstract: "Hunt Exchange evidence for ProxyLogon-family compromise, and survey networks for exposed, unpatched and backdoored Exchange servers.",
        discussion: "Exit status of `hunt` and `timeline`: 0 clean, 1 attempted or compromised, 2 usage or configuration error, "
            + "3 inconclusive (nothing found, but the evidence cannot show a clean server).",
        subcommands: [HuntCommand.self, TimelineCommand.self, EVTXCommand.self, RulesCommand.self, SurveyCommand.self, BuildCommand.self])

    /// Runs the command, mapping usage errors to exit status 2 as documented (ArgumentParser's
    /// own default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
