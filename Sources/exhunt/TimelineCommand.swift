import ArgumentParser
import Foundation
import HuntCore
import Reports
import Timeline

struct TimelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Merge the JSON reports of several hosts into one fleet timeline.",
        discussion: "Prints a per-host verdict table and the earliest compromise across the fleet; --timeline, --ecs and --html write the merged exports.")

    @Argument(help: "Reports written by `exhunt hunt --json`.")
    var reports: [String]

    @OptionGroup var exports: ExportOptions

    @Flag(name: .customLong("no-color"), help: "No colours, even on a terminal.")
    var noColor = false

    func run() async throws {
        guard !reports.isEmpty else { throw ValidationError("give at least one report") }
        try OutputCheck.require(exports.outputs)
        var loaded: [HostReport] = []
        for path in reports {
            do {
                loaded.append(try JSONReport.decode(try Data(contentsOf: URL(fileURLWithPath: path))))
            } catch {
                Terminal.error("\(path): not an exhunt JSON report: \(error)")
                throw ExitCode(2)
            }
        }
        let fleet = FleetTimeline(loaded)
        try exports.write(fleet)
        print(ConsoleReport(colors: !noColor && Terminal.isTerminal(.standardOutput)).renderFleet(fleet))
        if loaded.contains(where: { $0.verdict == .compromised || $0.verdict == .attempted }) { throw ExitCode(1) }
        if loaded.contains(where: { $0.verdict == .inconclusive }) { throw ExitCode(3) }
    }
}
