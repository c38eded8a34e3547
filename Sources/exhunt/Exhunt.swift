import ArgumentParser
import BuiltinRules
import CaseStore
import Foundation
import Hunt

@main
struct Exhunt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exhunt",
        abstract: "Hunt Exchange evidence for ProxyLogon-family compromise, and survey networks for exposed, unpatched and backdoored Exchange servers.",
        discussion: "Exit status of `hunt` and `timeline`: 0 clean, 1 attempted or compromised, 2 usage or configuration error, "
            + "3 inconclusive (nothing found, but the evidence cannot show a clean server).",
        version: Hunter.version,
        subcommands: [HuntCommand.self, TimelineCommand.self, EVTXCommand.self, RulesCommand.self, SurveyCommand.self, CaseCommand.self, FleetCommand.self, ServeCommand.self, BuildCommand.self])

    /// Runs the command, mapping usage errors to exit status 2 as documented (ArgumentParser's
    /// own default is 64).
    static func main() async {
        Terminal.ignoreBrokenPipes()
        // The command that ran, so that a usage error its run() throws shows that command's usage
        // (`exhunt case import …`), not the root's.
        var ran: (any ParsableCommand.Type)?
        do {
            let (arguments, rewritten) = LegacySpelling.rewrite(Array(CommandLine.arguments.dropFirst()))
            var command: any ParsableCommand
            var legacy = rewritten
            do {
                command = try parseAsRoot(arguments)
            } catch {
                guard let retry = LegacySpelling.valueAsFile(arguments), let parsed = try? parseAsRoot(retry) else { throw error }
                (command, legacy) = (parsed, true)
            }
            if legacy { Terminal.status(LegacySpelling.note) }
            ran = type(of: command)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Terminal.status(usageError(error, in: ran) + "\n")
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

    /// A usage error with the usage of the command it concerns: ArgumentParser names the command
    /// for errors of parsing, and the root for a `ValidationError` thrown from `run()`.
    static func usageError(_ error: any Error, in command: (any ParsableCommand.Type)?) -> String {
        guard let command, ObjectIdentifier(command) != ObjectIdentifier(Exhunt.self), let path = commandPath(to: command) else { return fullMessage(for: error) }
        let name = path.joined(separator: " ")
        return "Error: \(message(for: error))\nUsage: \(usageString(for: command))\n  See '\(name) --help' for more information."
    }

    /// The names from `exhunt` down to `target` (`["exhunt", "case", "import"]`).
    static func commandPath(to target: any ParsableCommand.Type, from node: any ParsableCommand.Type = Exhunt.self) -> [String]? {
        if ObjectIdentifier(node) == ObjectIdentifier(target) { return [node._commandName] }
        for sub in node.configuration.subcommands {
            if let rest = commandPath(to: target, from: sub) { return [node._commandName] + rest }
        }
        return nil
    }
}
