import ArgumentParser
import Foundation
import Hunt
import WindowsEvents
import Reports
import Sigma
import HuntCore
import Indicators
import YARA
import Verdicts
import ExchangeBuilds

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List, check or update detection rules.",
        subcommands: [List.self, Check.self, Test.self, Policy.self, Update.self, Installed.self])

    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the verdict policy in force: how findings weigh, the families' windows and coverage.",
            discussion: """
                The policy is Rules/verdict-policy.yml (weights, severities, quiet times) and Rules/exchange/families.yaml \
                (windows and covering sources). A finding takes the weight of the first entry it matches. With --rules, \
                each entry also shows how many of the loaded Sigma rules it decides.
                """)
        @Option(name: .long, help: "Extra Sigma rule folder or file (repeatable).")
        var rules: [String] = []

        func run() async throws {
            let d = try await Detectors.load(builtin: true, extra: rules.map { URL(fileURLWithPath: $0) })
            let policy = d.policy
            var decided = [Int: Int]()
            for r in d.rules {
                if let i = d.weight(of: r).entry { decided[i, default: 0] += 1 }
            }
            print("Weights (\(policy.file); the first entry that matches decides):")
            for (i, e) in policy.entries.enumerated() {
                let n = decided[i].map { "  (\($0) Sigma rule(s))" } ?? ""
                print("  \(i + 1).\t\(e.weight)\t\(e.conditions)\(n)")
            }
            if !policy.secondLook.isEmpty {
                print("Second look, once every file is read (the first entry that matches and holds decides):")
                for (i, l) in policy.secondLook.enumerated() {
                    print("  \(i + 1).\t\(l.weight.rawValue)\t\(l.finding.conditions), when \(l.when.rawValue): \(l.why)")
                }
                print("  corroborated by: " + policy.corroboratedBy.map(\.conditions).joined(separator: "; "))
            }
            print("By level: " + Severity.allCases.reversed().map { "\($0.rawValue) \(policy.levels[$0]?.rawValue ?? "informational")" }
                .joined(separator: ", "))
            print("YARA severity: the rule's severity meta, else score " + policy.yaraScores.map { ">= \($0.atLeast) \($0.severity.rawValue)" }
                .joined(separator: ", ") + ", else \(policy.yaraDefaultSeverity.rawValue)")
            print("Quiet times (a longer silence inside a window is a gap): "
                  + policy.sources.map { "\($0.name) \($0.quietHours) h" }.joined(separator: ", "))
            print("Families (the host's verdict is the worst of them):")
            for f in d.judge.knowledge.families {
                let covered = f.coveredBy.map(policy.name(of:)).joined(separator: " or ")
                print("  \(f.name)\t\(f.title)\twindow from \(f.windowStart.map(ISOTime.day) ?? "-")\tcovered by \(covered.isEmpty ? "-" : covered)"
                      + "\tfixed by \(f.fixedBy) (\(f.kb))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List loaded rules: id, level, weight, family, logsource, title, file.")
        @Option(name: .long, help: "Extra Sigma rule folder or file (repeatable).")
        var rules: [String] = []
        @Option(name: .long, help: "YAML map of values for Sigma '|expand' placeholders.")
        var placeholders: String?

        @Flag(name: .customLong("no-downloaded-rules"), help: "Leave out the rule sets `exhunt rules update` installed.")
        var noDownloadedRules = false

        func run() async throws {
            var sources = Detectors.Sources()
            sources.sigma = rules.map { URL(fileURLWithPath: $0) }
            sources.placeholders = placeholders.map { URL(fileURLWithPath: $0) }
            if !noDownloadedRules { sources.ruleSets = try DownloadedRules.ruleSets() }
            let d = try await Detectors.load(sources)
            for r in d.rules {
                let w = d.weight(of: r)
                print([r.id, r.level.rawValue, w.role.rawValue, w.family ?? "-", r.logsource.description, TerminalText.sanitize(r.title), r.file]
                    .joined(separator: "\t"))
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
