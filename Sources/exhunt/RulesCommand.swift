import ArgumentParser
import Foundation
import Hunt
import WindowsEvents
import Reports
import Sigma
import HuntCore
import Indicators
import YARA

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List or check detection rules.",
        subcommands: [List.self, Check.self, Test.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List loaded rules: id, level, logsource, title, file.")
        @Option(name: .long, help: "Extra Sigma rule folder or file (repeatable).")
        var rules: [String] = []
        @Option(name: .long, help: "YAML map of values for Sigma '|expand' placeholders.")
        var placeholders: String?

        func run() async throws {
            let d = try await Detectors.load(builtin: true, extra: rules.map { URL(fileURLWithPath: $0) },
                                             placeholders: placeholders.map { URL(fileURLWithPath: $0) })
            for r in d.rules {
                print([r.id, r.level.rawValue, r.logsource.description, TerminalText.sanitize(r.title), r.file].joined(separator: "\t"))
            }
            print("\(d.rules.count) Sigma rules, \(d.yara?.ruleCount ?? 0) YARA rules, \(d.indicators.all.count) indicators")
            let leftOut = d.leftOut
            if !leftOut.isEmpty {
                print("Left out for mapped sources (the rule filters on a field those events never carry):")
                for l in leftOut {
                    print(["  " + l.rule.id, l.source.description, l.limits.events, TerminalText.sanitize(l.rule.title),
                           "filters on " + l.fields.joined(separator: ", ")].joined(separator: "\t"))
                }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run SigmaHQ's regression data: every rule with an EVTX sample must match its expected count.",
            discussion: "SIGMA is a checkout of the SigmaHQ repository (regression_data/ and rules*/). Exit 1 if any rule fails.")
        @Argument(help: "SigmaHQ repository folder.")
        var sigma: String

        func run() async throws {
            let d = try await Detectors.load(builtin: true, extra: [])
            let results = try SigmaRegression.run(sigmaRoot: URL(fileURLWithPath: sigma), mapping: d.windowsEvents)
            for r in results where !r.passed {
                print(TerminalText.sanitize("FAIL \(r.rule): \(r.error ?? "\(r.matches) match(es), expected \(r.expected.map(String.init) ?? "at least 1")")", limit: 400))
            }
            let passed = results.filter(\.passed).count
            print("\(passed) of \(results.count) rules match their regression data")
            if passed != results.count { throw ExitCode(1) }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a rule folder and report every problem; exit 1 if any rule is unsupported or invalid.")
        @Argument(help: "Folder or file of Sigma rules.")
        var path: String
        @Option(name: .long, help: "YAML map of values for Sigma '|expand' placeholders.")
        var placeholders: String?

        func run() async throws {
            let d = try await Detectors.load(builtin: false, extra: [URL(fileURLWithPath: path)],
                                             placeholders: placeholders.map { URL(fileURLWithPath: $0) })
            for e in d.ruleErrors { print(TerminalText.sanitize(e.description, limit: 1000)) }
            let waiting = d.ruleErrors.filter(\.needsValues).count
            let unsupported = d.ruleErrors.filter(\.isUnsupported).count
            let invalid = d.ruleErrors.count - waiting - unsupported
            print("\(d.rules.count) rule(s) loaded, \(waiting) waiting for placeholder values, \(unsupported) unsupported, \(invalid) invalid")
            // A rule waiting for a site's values is not broken.
            if unsupported + invalid > 0 { throw ExitCode(1) }
        }
    }
}
