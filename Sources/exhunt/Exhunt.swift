import ArgumentParser
import BuiltinRules
import CaseStore
import Foundation

@main
struct Exhunt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exhunt",
        abstract: "Hunt Exchange evidence for ProxyLogon-family compromise, and survey networks for exposed, unpatched and backdoored Exchange servers.",
        discussion: "Exit status of `hunt` and `timeline`: 0 clean, 1 attempted or compromised, 2 usage or configuration error, "
            + "3 inconclusive (nothing found, but the evidence cannot show a clean server).",
        subcommands: [HuntCommand.self, TimelineCommand.self, EVTXCommand.self, RulesCommand.self, SurveyCommand.self, CaseCommand.self, FleetCommand.self, ServeCommand.self, BuildCommand.self])

    /// Runs the command, mapping usage errors to exit status 2 as documented (ArgumentParser's
    /// own default is 64).
    static func main() async {
        Terminal.ignoreBrokenPipes()
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
                Terminal.status(fullMessage(for: error) + "\n")
                Foundation.exit(2)
            }
            // Output that cannot be written, rules that cannot be found and a case store that refuses are configuration
            // errors (exit 2, as documented), said in one line.
            if error is OutputError || error is BuiltinRules.Missing || error is CaseStoreError {
                Terminal.error("\(error)")
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
