import ArgumentParser
import CaseStore
import Foundation
import Hunt
import HuntCore
import Indicators
import Reports
import Survey
import Timeline

/// Where the case is and who is working on it: shared by `hunt`, `survey` and `case`.
struct CaseOptions: ParsableArguments {
    @Option(name: .customLong("case"), help: ArgumentHelp("The case store: an SQLite file (made by the commands that add to it) or postgres://USER@HOST/DB (default: $EXHUNT_CASE).",
                                                          valueName: "DB"))
    var given: String?

    /// `--case`, else `$EXHUNT_CASE`: fleet workers hand the store to exhunt through the
    /// environment, so a PostgreSQL password never shows in a process list.
    var location: String? {
        if let given, !given.isEmpty { return given }
        return ProcessInfo.processInfo.environment["EXHUNT_CASE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The store as messages show it: without its password.
    var shown: String { location.map { CaseLocation($0).description } ?? "" }

    @Option(name: .customLong("case-name"), help: "The case inside the store (several can share one PostgreSQL database).")
    var caseName = "default"

    @Option(help: "Who is working (recorded with each run and in the audit log; default: the login name).")
    var analyst: String?

    var who: String {
        if let analyst, !analyst.isEmpty { return analyst }
        let env = ProcessInfo.processInfo.environment
        return env["EXHUNT_ANALYST"] ?? env["USER"] ?? env["USERNAME"] ?? "unknown"
    }

    var context: RunContext { RunContext(analyst: who, options: CommandLine.arguments) }

    /// Opens the store, or nil when no `--case` was given. Only commands that add evidence or
    /// work (`create`) make a missing store; the others exit 2 naming it.
    func open(create: Bool = true) async throws -> CaseStore? {
        guard let location else { return nil }
        do {
            return try await CaseStore.open(CaseLocation(location), caseName: caseName, analyst: who, create: create)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
    }

    /// Runs `body` with the store open, and closes it however `body` ends. The store must exist
    /// unless `create`.
    func with<T>(create: Bool = false, _ body: (CaseStore) async throws -> T) async throws -> T {
        guard location != nil else { throw ValidationError("give --case DB") }
        guard let store = try await open(create: create) else { throw ExitCode(2) }
        do {
            let value = try await body(store)
            try await store.close()
            return value
        } catch {
            try? await store.close()
            throw error
        }
    }
}

/// Output of the `case` answers: JSON (`--json`) or text for a terminal, every value from
/// evidence made inert.
struct AnswerOptions: ParsableArguments {
    @Flag(help: "Answer as JSON on standard output.")
    var json = false

    func emit<T: Encodable>(_ value: T, text: () -> String) throws {
        if json {
            try Terminal.write(try JSONCoding.encoder(pretty: true).encode(value) + Data("\n".utf8))
        } else {
            try Terminal.write(Data((text() + "\n").utf8))
        }
    }
}

/// Text from evidence or the store, made inert for a terminal line.
func safe(_ s: String) -> String { TerminalText.sanitize(s, limit: 300) }
private func day(_ d: Date?) -> String { d.map { ISOTime.string($0, milliseconds: false) } ?? "-" }

struct CaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "The fleet's case store: every host's hunts, survey records and analysts' notes in one SQLite file or PostgreSQL database.",
        discussion: "Fill it with `exhunt hunt PATH --case DB`, `exhunt survey ... --case DB` or `exhunt case import`; ask it with the subcommands below.",
        subcommands: [Import.self, Summary.self, Hosts.self, Host.self, Shared.self, Pivot.self, FleetTimelineCommand.self, Indicators.self,
                      Rematch.self, Note.self, Tag.self, Override.self, Remediated.self, Audit.self])

    // MARK: Import

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import existing results: `exhunt hunt --json` reports, survey JSON Lines, and folders (Test-ProxyLogon output, collections) hunted as they come.")

        @OptionGroup var store: CaseOptions
        @Argument(help: "Report files (.json), survey records (.jsonl) or folders.")
        var paths: [String]

        func run() async throws {
            let failed = try await store.with(create: true) { store in
                var failed = false
                for path in paths {
                    var isDir: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                        Terminal.error("\(path): no such file or folder"); failed = true; continue
                    }
                    do {
                        if isDir.boolValue {
                            let report = try await Self.hunt(path)
                            print(Self.describe(try await store.ingest(report, context: self.store.context), path))
                        } else if path.lowercased().hasSuffix(".jsonl") {
                            guard let handle = FileHandle(forReadingAtPath: path) else { throw CaseStoreError("cannot read \(path)") }
                            defer { try? handle.close() }
                            let r = try await store.ingestSurvey(lines: IteratorSequence(TargetLines(handle)), context: self.store.context, origin: path)
                            print("\(safe(path)): \(r.added) survey record(s) added, \(r.unchanged) already held"
                                  + (r.rejected.isEmpty ? "" : ", \(r.rejected.count) line(s) not survey records (first: line \(r.rejected[0]))"))
                        } else {
                            let report = try JSONReport.decode(try Data(contentsOf: URL(fileURLWithPath: path)))
                            print(Self.describe(try await store.ingest(report, context: self.store.context), path))
                        }
                    } catch {
                        Terminal.error("\(path): \(error)")
                        failed = true
                    }
                }
                return failed
            }
            if failed { throw ExitCode(2) }
        }

        static func describe(_ outcome: IngestOutcome, _ path: String) -> String {
            switch outcome {
            case .added(let run, let host): return "\(safe(path)): host \(safe(host)), run \(run) added"
            case .replaced(let run, let host): return "\(safe(path)): host \(safe(host)), run \(run) replaced (the same evidence, hunted again)"
            case .unchanged(let run, let host): return "\(safe(path)): host \(safe(host)), run \(run) already held"
            }
        }

        /// A folder is hunted with the built-in rules, as `exhunt hunt FOLDER` would.
        static func hunt(_ path: String) async throws -> HostReport {
            let detectors = try await Detectors.load(Detectors.Sources())
            return try await Hunter(configuration: HuntConfiguration(evidence: URL(fileURLWithPath: path)), detectors: detectors).run()
        }
    }

    // MARK: Answers

    struct Summary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hosts by verdict per family, the order hosts fell in, exposed servers nobody hunted, stale hunts.")
        @OptionGroup var store: CaseOptions
        @OptionGroup var output: AnswerOptions

        func run() async throws {
            let s = try await store.with { try await $0.summary() }
            try output.emit(s) {
                var lines = ["Hosts: \(s.hosts)  " + Verdict.allCases.map { "\($0.rawValue) \(s.byVerdict[$0.rawValue] ?? 0)" }.joined(separator: ", ")]
                for (family, counts) in s.byFamily.sorted(by: { $0.key < $1.key }) {
                    lines.append("  \(safe(family)): " + Verdict.allCases.compactMap { v in counts[v.rawValue].map { "\(v.rawValue) \($0)" } }.joined(separator: ", "))
                }
                if let first = s.earliestCompromise { lines.append("Earliest compromise: \(safe(first.host)) at \(day(first.at))") }
                if !s.fallen.isEmpty {
                    lines.append("Order of compromise:")
                    for (i, f) in s.fallen.enumerated() { lines.append("  \(i + 1). \(day(f.at))  \(safe(f.host))") }
                }
                if !s.exposedNotHunted.isEmpty {
                    lines.append("Exposed in the survey, not hunted (\(s.exposedNotHunted.count)):")
                    for e in s.exposedNotHunted.prefix(50) {
                        let what = (e.vulnerable.isEmpty ? [] : ["vulnerable: " + e.vulnerable.joined(separator: ",")]) + (e.backdoored ? ["web shell answering"] : [])
                        lines.append("  \(safe(e.target)):\(e.port)  \(safe(e.build ?? "build?"))  \(what.joined(separator: "; "))  (\(day(e.time)))")
                    }
                }
                for st in s.staleHunts {
                    lines.append("Stale hunt: \(safe(st.host)): evidence ends \(day(st.evidenceEnd)), survey saw it exposed \(day(st.surveyedAt))")
                }
                if !s.olderRules.isEmpty { lines.append("Hunted with older rules than the newest run: " + s.olderRules.map(safe).joined(separator: ", ")) }
                if s.incompleteRuns > 0 { lines.append("Incomplete or interrupted runs: \(s.incompleteRuns)") }
                lines.append("Survey records: \(s.surveyRecords)")
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Hosts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every host with its verdict, per-family verdicts, tags and override.")
        @OptionGroup var store: CaseOptions
        @OptionGroup var output: AnswerOptions

        func run() async throws {
            let hosts = try await store.with { try await $0.hosts() }
            try output.emit(hosts) {
                hosts.map { h in
                    var line = "\(h.verdict.rawValue.uppercased().padding(toLength: 13, withPad: " ", startingAt: 0)) \(safe(h.display))"
                    let fams = h.families.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" }
                    if !fams.isEmpty { line += "  " + safe(fams.joined(separator: " ")) }
                    if let at = h.compromisedAt { line += "  since \(day(at))" }
                    if let o = h.override { line += "  [override by \(safe(o.who)): \(safe(o.reason))]" }
                    if !h.tags.isEmpty { line += "  #" + h.tags.map(safe).joined(separator: " #") }
                    if h.remediated { line += "  (remediated)" }
                    return line
                }.joined(separator: "\n")
            }
        }
    }

    struct Host: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One host: its latest report as the console shows it, and its notes and history.")
        @OptionGroup var store: CaseOptions
        @Argument(help: "Host name or address.") var host: String
        @OptionGroup var output: AnswerOptions

        func run() async throws {
            let (h, report, entries) = try await store.with { store in
                let hosts = try await store.hosts()
                let entries = try await store.history(host: host)
                guard let key = entries.first?.host ?? hosts.first(where: { $0.host == host.lowercased() || $0.names.contains(host.lowercased()) || $0.addresses.contains(host.lowercased()) })?.host,
                      let h = hosts.first(where: { $0.host == key }) else {
                    throw CaseStoreError("no host \(host) in the case")
                }
                var report: HostReport?
                if let run = h.latestRun { report = try await store.report(run: run) }
                return (h, report, entries)
            }
            struct Answer: Encodable { var host: FleetHost; var report: HostReport?; var history: [AnalystEntry] }
            try output.emit(Answer(host: h, report: report, history: entries)) {
                var text = report.map { ConsoleReport(colors: false).render($0) } ?? "No complete hunt of \(safe(h.display))."
                if let o = h.override { text += "\nVerdict overridden to \(o.verdict.rawValue) by \(safe(o.who)) at \(day(o.at)): \(safe(o.reason))" }
                for e in entries { text += "\n\(day(e.at)) \(safe(e.who)) \(e.kind.rawValue)\(e.family.map { " " + safe($0) } ?? ""): \(safe(e.value))\(e.reason.isEmpty ? "" : " (\(safe(e.reason)))")" }
                return text
            }
        }
    }

    struct Shared: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attacker addresses, user agents, web-shell paths or hashes that appear on several hosts.")
        @OptionGroup var store: CaseOptions
        @Option(help: "address, user-agent, path or sha256 (default: all).") var by: String?
        @Option(help: "At least this many hosts.") var minHosts = 2
        @Flag(help: "Every value the evidence shows (client addresses, file paths and hashes), not only the attacker's.") var seen = false
        @OptionGroup var output: AnswerOptions

        func run() async throws {
            let kinds: [StoredValue.Kind]
            if let by {
                guard let k = StoredValue.Kind(rawValue: by) else { throw ValidationError("--by wants address, user-agent, path or sha256") }
                kinds = [k]
            } else { kinds = StoredValue.Kind.allCases }
            let all = try await store.with { store in
                var all: [SharedValue] = []
                for k in kinds { all += try await store.shared(k, minHosts: minHosts, learned: !seen) }
                return all
            }
            try output.emit(all) {
                all.isEmpty ? "No value on \(minHosts) or more hosts."
                    : all.map { "\($0.kind.rawValue) \(safe($0.value))  on \($0.hosts.count) hosts: \($0.hosts.map(safe).joined(separator: ", "))  \(day($0.first)) .. \(day($0.last))" }
                        .joined(separator: "\n")
            }
        }
    }

    struct Pivot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every host that has this address, user agent, path or hash.")
        @OptionGroup var store: CaseOptions
        @Argument(help: "address, user-agent, path or sha256.") var kind: String
        @Argument(help: "The value.") var value: String
        @OptionGroup var output: AnswerOptions

        func run() async throws {
            guard let k = StoredValue.Kind(rawValue: kind) else { throw ValidationError("kind is address, user-agent, path or sha256") }
            let hits = try await store.with { try await $0.pivot(k, value) }
            struct Row: Encodable { var host: String; var learned: Bool; var value: StoredValue }
            try output.emit(hits.map { Row(host: $0.host, learned: $0.learned, value: $0.value) }) {
                hits.isEmpty ? "No host has it." : hits.map {
                    "\(safe($0.host))  \($0.learned ? "attacker indicator (\($0.value.role?.rawValue ?? "-"))" : "seen in the evidence")  \($0.value.hits) hit(s)  \(day($0.value.first)) .. \(day($0.value.last))"
                }.joined(separator: "\n")
            }
        }
    }

    struct FleetTimelineCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "timeline",
            abstract: "The fleet timeline from the store: per-host verdicts and the earliest compromise; --timeline, --ecs and --html write the exports.")
        @OptionGroup var store: CaseOptions
        @OptionGroup var exports: ExportOptions

        func run() async throws {
            let reports = try await store.with { store in
                let reports = try await store.reports()
                try await store.audited("export", subject: "timeline", detail: [exports.timeline, exports.ecs, exports.html].compactMap { $0 }.joined(separator: " "),
                                        who: self.store.who)
                return reports
            }
            let fleet = FleetTimeline(reports)
            try exports.write(fleet)
            print(ConsoleReport(colors: false).renderFleet(fleet))
        }
    }

    struct Indicators: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The fleet's attacker indicators (addresses, user agents, web-shell paths and hashes) as STIX 2.1 or CSV, to share with a CERT.")
        @OptionGroup var store: CaseOptions
        @Option(help: "stix or csv.") var format = "stix"
        @Option(name: .shortAndLong, help: "Write to this file (default: standard output).") var output: String?

        func run() async throws {
            guard ["stix", "csv"].contains(format) else { throw ValidationError("--format is stix or csv") }
            let (values, caseName) = try await store.with { store in
                let values = try await store.indicators()
                try await store.audited("export", subject: "indicators", detail: "\(values.count) indicators as \(format) to \(output ?? "standard output")",
                                        who: self.store.who)
                return (values, await store.caseName)
            }
            let data = format == "csv" ? IndicatorExport.csv(values) : try IndicatorExport.stix(values, caseName: caseName)
            if let output { try data.write(to: URL(fileURLWithPath: output)) } else { try Terminal.write(data) }
        }
    }

    struct Rematch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Match new indicators against every host's stored client addresses, file paths and hashes, without reading the evidence again.")
        @OptionGroup var store: CaseOptions
        @Option(help: "Indicator file or folder (repeatable): CSV, hash lists, STIX 2.1 JSON, CHIRP YAML.") var iocs: [String]
        @OptionGroup var output: AnswerOptions

        func run() async throws {
            guard !iocs.isEmpty else { throw ValidationError("give --iocs FILE") }
            var set = IndicatorSet()
            for path in iocs {
                do {
                    let (s, warnings) = try IndicatorLoader.load(URL(fileURLWithPath: path))
                    for w in warnings { Terminal.error("\(path): \(w)") }
                    set.merge(s)
                } catch {
                    Terminal.error("cannot load indicators: \(error)"); throw ExitCode(2)
                }
            }
            var sources = Detectors.Sources()
            sources.builtin = true
            // Matches weigh as the verdict policy weighs indicator hits in a hunt.
            let detectors = try await Detectors.load(sources)
            let result = try await store.with {
                try await $0.rematch(set, label: iocs.joined(separator: " "),
                                     weigh: { kind in detectors.weight(ofIndicator: kind.rawValue) }, context: self.store.context)
            }
            try output.emit(result) {
                var lines = result.hosts.isEmpty ? ["No stored value matches."]
                    : result.hosts.sorted { $0.key < $1.key }.map { "\(safe($0.key)): \($0.value) finding(s)" }
                for (k, n) in result.notMatchable.sorted(by: { $0.key < $1.key }) {
                    lines.append("\(n) \(k) indicator(s) not matched: the store keeps SHA-256 of files and client addresses; hunt the evidence again for these")
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    // MARK: Analyst actions

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a note to a host.")
        @OptionGroup var store: CaseOptions
        @Argument var host: String
        @Argument var text: String
        func run() async throws {
            try await store.with { try await $0.record(.note, host: host, value: text, who: self.store.who) }
        }
    }

    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tag a host (or remove a tag with --remove).")
        @OptionGroup var store: CaseOptions
        @Argument var host: String
        @Argument var tag: String
        @Flag var remove = false
        func run() async throws {
            try await store.with { try await $0.record(remove ? .untag : .tag, host: host, value: tag, who: self.store.who) }
        }
    }

    struct Override: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Override a host's verdict (or one family's with --family), with a reason the audit log keeps.")
        @OptionGroup var store: CaseOptions
        @Argument var host: String
        @Argument(help: "clean, attempted, compromised or inconclusive.") var verdict: String
        @Option(help: "Why (required).") var reason: String
        @Option(help: "Only this family (proxylogon, proxyshell, …).") var family: String?
        func run() async throws {
            // A refusal (no reason, no such host) is a CaseStoreError: exit 2, with its message.
            try await store.with { try await $0.record(.override, host: host, value: verdict, reason: reason, family: family, who: self.store.who) }
        }
    }

    struct Remediated: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a host as remediated (or not, with --undo).")
        @OptionGroup var store: CaseOptions
        @Argument var host: String
        @Option(help: "What was done.") var reason = ""
        @Flag var undo = false
        func run() async throws {
            try await store.with { try await $0.record(.remediated, host: host, value: undo ? "no" : "yes", reason: reason, who: self.store.who) }
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who did what when: ingests, overrides, notes, exports (what changed since a time).")
        @OptionGroup var store: CaseOptions
        @Option(help: "Newest entries first, at most this many.") var limit = 100
        @Option(help: "Only entries from this time on: YYYY-MM-DD or an ISO 8601 time (UTC unless it says otherwise), e.g. yesterday's date.")
        var since: String?
        @OptionGroup var output: AnswerOptions
        func run() async throws {
            var from: Date?
            if let since {
                guard let d = since.count == 10 ? Timestamp.parse(since + "T00:00:00Z") : Timestamp.parse(since) else {
                    throw ValidationError("--since wants YYYY-MM-DD or an ISO 8601 time")
                }
                from = d
            }
            let entries = try await store.with { try await $0.auditLog(since: from, limit: limit) }
            try output.emit(entries) {
                entries.map { "\(day($0.at))  \(safe($0.who))  \($0.action)  \(safe($0.subject))  \(safe($0.detail))" }.joined(separator: "\n")
            }
        }
    }
}
