import ArgumentParser
import BuiltinRules
import ExchangeBuilds
import Foundation
import Reports
import Survey
import CaseStore

struct SurveyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "survey",
        abstract: "Find exposed, unpatched and backdoored Exchange servers: fingerprint each server's build and decide its patch status.",
        discussion: """
            Sends only harmless GETs, and only to the targets given: /owa/auth/logon.aspx (X-OWA-Version header and \
            /owa/auth/<version>/ paths) and, on Exchange without an exact build from that header, the ECP export tool \
            manifest (full build). --check-ssrf adds \
            the single CVE-2021-26855 request of Microsoft's retired nmap script; --probe-shells GETs known web-shell \
            paths (never POST, never parameters).

            Targets: host names, IPv4/IPv6 addresses, CIDR ranges (streamed, never expanded in memory), http(s):// URLs, \
            or a file of them (--input, - for standard input). TLS certificates are not verified unless --verify-tls: \
            surveyed servers are rarely configured with valid certificates, and the survey measures builds, not identity. \
            SNI and Host carry the host name when the target is a name.

            One JSON Lines record per host and port (-o FILE, or --json for standard output), written as each host finishes. \
            The README documents the record.
            """)

    @Argument(help: "Targets: hosts, addresses, CIDR ranges, URLs.")
    var targets: [String] = []

    @Option(name: [.short, .customLong("input")], help: "File of targets, one per line (- for standard input).")
    var input: String?

    @Option(help: "Comma-separated ports: 443, 80, https:8443, http:8080 (443, 8443 and 9443 are TLS unless prefixed).")
    var ports = "443,80"

    @Option(help: "Exclude these addresses, ranges or names (repeatable).")
    var exclude: [String] = []

    @Option(help: "File of addresses, ranges or names to exclude.")
    var excludeFile: String?

    @Option(help: "Take only shard I of N (I/N, 1-based): hosts split by a stable hash, so N machines share a range exactly.")
    var shard: String?

    @Flag(help: "Print the records as JSON Lines on standard output (the summary goes to standard error).")
    var json = false

    @Option(name: [.short, .long], help: ArgumentHelp("Write the records as JSON Lines to this file.", valueName: "FILE.jsonl"))
    var output: String?

    /// Where the records go: a file, standard output (`-`) or nowhere.
    private var records: String? { output ?? (json ? "-" : nil) }

    @Flag(help: "Skip hosts already in the -o file (records without an error) and append to it.")
    var resume = false

    @Option(help: "Hosts in flight at once.")
    var concurrency = 256

    @Option(help: "Requests per second across all hosts (0: no limit).")
    var rate = 0.0

    @Option(help: "Minimum milliseconds between two requests to the same host and port.")
    var hostInterval = 0

    @Option(help: "Connect timeout, milliseconds.")
    var connectTimeout = 5_000

    @Option(help: "Timeout for one response, milliseconds.")
    var readTimeout = 10_000

    @Option(help: "Total time allowed per host and port, milliseconds.")
    var hostTimeout = 30_000

    @Option(help: "Extra attempts after a connect failure or timeout (exponential backoff from --retry-backoff).")
    var retries = 1

    @Option(help: "First retry pause, milliseconds.")
    var retryBackoff = 500

    @Flag(help: "Send the CVE-2021-26855 request of Microsoft's nmap script: vulnerable, not-vulnerable, or mitigated (EOMT aborts).")
    var checkSSRF = false

    @Flag(help: "GET known web-shell paths (Rules/exchange/webshell-paths.yaml) on hosts that look like Exchange.")
    var probeShells = false

    @Flag(help: "Also fetch the export-tool manifest when X-OWA-Version already gave the exact build (cross-check; one more request per host).")
    var allSources = false

    @Flag(help: "Verify TLS certificates.")
    var verifyTLS = false

    @Flag(help: "No progress line on standard error.")
    var noProgress = false

    @Option(help: "Event loop threads (default: number of cores).")
    var threads = 0

    @OptionGroup(title: "Case store") var store: CaseOptions

    func validate() throws {
        if targets.isEmpty && input == nil { throw ValidationError("give targets or --input FILE") }
        if json && output != nil { throw ValidationError("--json prints the records on standard output and -o FILE writes them to a file: give one") }
        if resume && (output == nil || output == "-") { throw ValidationError("--resume needs -o FILE") }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard wants I/N with 1 <= I <= N") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let portSpecs = try ports.split(separator: ",").map { p -> PortSpec in
            guard let spec = PortSpec(String(p.trimmingCharacters(in: .whitespaces))) else { throw ValidationError("bad port \(p)") }
            return spec
        }
        var excludeLines = exclude
        if let excludeFile { excludeLines += try String(contentsOfFile: excludeFile, encoding: .utf8).split(separator: "\n").map(String.init) }
        let exclusions: ExclusionList
        do { exclusions = try ExclusionList(excludeLines) } catch { throw ValidationError("exclusion list: \(error)") }

        let rules = (try BuiltinRules.directory()).appendingPathComponent("exchange")
        let knowledge = try BuildKnowledge.load(directory: rules)
        let shellPaths = try ShellPaths.load(rules.appendingPathComponent("webshell-paths.yaml"))

        var config = SurveyConfiguration()
        config.concurrency = concurrency
        config.rate = rate
        config.hostIntervalMS = hostInterval
        config.connectTimeoutMS = connectTimeout
        config.readTimeoutMS = readTimeout
        config.hostTimeoutMS = hostTimeout
        config.retries = retries
        config.retryBackoffMS = retryBackoff
        config.checkSSRF = checkSSRF
        config.probeShells = probeShells
        config.verifyTLS = verifyTLS
        config.allSources = allSources
        config.threads = threads

        // Lines come lazily from the arguments, then the file.
        var argLines = targets.makeIterator()
        var fileLines: TargetLines? = input.map { path in
            path == "-" ? TargetLines(.standardInput) : (FileHandle(forReadingAtPath: path).map(TargetLines.init) ?? TargetLines(FileHandle.nullDevice))
        }
        if let input, input != "-", !FileManager.default.isReadableFile(atPath: input) {
            throw ValidationError("cannot read \(input)")
        }
        let lines = AnyIterator<String> { argLines.next() ?? fileLines?.next() }
        var expansion = TargetExpansion(lines: lines, ports: portSpecs, exclusions: exclusions, shard: shard.flatMap(Shard.init))

        let done = resume ? ResumeState.completed(in: records ?? "-") : []
        let output = try SurveyOutput(path: records, append: resume)
        // With --case, the records go into the store when the survey ends: from -o FILE, or
        // from a scratch file beside (records are not held in memory).
        let caseStore = try await store.open()
        let recordFile: String? = caseStore == nil ? nil : (records.flatMap { $0 == "-" ? nil : $0 }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("exhunt-survey-\(UUID().uuidString).jsonl").path)
        let caseOutput = try recordFile.flatMap { $0 == records ? nil : try SurveyOutput(path: $0, append: false) }
        defer { if let recordFile, recordFile != records { try? FileManager.default.removeItem(atPath: recordFile) } }
        let summaryToStderr = records == "-"
        let progress = !noProgress && Terminal.isTerminal(.standardError)

        let surveyor = try Surveyor(config: config, knowledge: knowledge, shellPaths: shellPaths)
        var summary = SurveySummary()
        var skipped = 0
        let started = ContinuousClock.now
        var lastProgress = started
        let todo = AnySequence { AnyIterator<SurveyTarget> {
            while let t = expansion.next() {
                if done.contains(t.key) { skipped += 1; continue }
                return t
            }
            return nil
        } }
        try await surveyor.run(todo) { record in
            summary.add(record)
            try output.write(record)
            try caseOutput?.write(record)
            if progress, ContinuousClock.now - lastProgress > .milliseconds(500) {
                lastProgress = .now
                let secs = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
                Terminal.status(String(format: "\r%d scanned, %d Exchange, %d vulnerable to ProxyLogon, %.0f/s",
                                       summary.scanned, summary.exchange,
                                       summary.byStatus["proxylogon"]?[.vulnerable] ?? 0,
                                       Double(summary.scanned) / max(secs, 0.001)))
            }
        }
        try output.flush()
        try caseOutput?.flush()
        await surveyor.shutdown()
        if let caseStore, let recordFile, let handle = FileHandle(forReadingAtPath: recordFile) {
            defer { try? handle.close() }
            let r = try await caseStore.ingestSurvey(lines: IteratorSequence(TargetLines(handle)), context: store.context,
                                                     origin: shard.map { "survey shard \($0)" } ?? "survey")
            try? await caseStore.close()
            Terminal.status("case \(store.shown): \(r.added) survey record(s) added, \(r.unchanged) already held\n")
        }
        if progress { Terminal.clearProgress() }
        for e in expansion.rejected { Terminal.error("target skipped: \(TerminalText.sanitize(e.description))") }
        let seconds = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        var text = summary.render(families: knowledge.families.map(\.name), seconds: seconds)
        if skipped > 0 { text += "\nResumed: \(skipped) host:port already in \(records ?? "-") skipped" }
        if expansion.excluded > 0 { text += "\nExcluded: \(expansion.excluded) host(s)" }
        if summaryToStderr { Terminal.status(text + "\n") } else { try Terminal.write(Data((text + "\n").utf8)) }
    }
}

/// Where records go: a JSON Lines file (flushed per record), standard output, or a human line per Exchange host.
final class SurveyOutput {
    private let handle: FileHandle?
    private let human: Bool
    /// Records waiting for one write: at most 64 KiB or a quarter of a second old, so a file being
    /// followed (or resumed after a crash) lags the survey by no more than that.
    private var pending = Data()
    private var lastFlush = ContinuousClock.now

    init(path: String?, append: Bool) throws {
        var startsMidLine = false
        switch path {
        case nil:
            handle = nil
            human = true
        case "-":
            handle = .standardOutput
            human = false
        case let p?:
            // Open in place, never create-and-rename: the path may be a device (/dev/null) or a pipe.
            if !FileManager.default.fileExists(atPath: p) {
                guard FileManager.default.createFile(atPath: p, contents: nil) else { throw ValidationError("cannot create \(p)") }
            }
            guard let h = FileHandle(forWritingAtPath: p) else { throw ValidationError("cannot write \(p)") }
            if append {
                // A survey killed mid-write leaves half a line: the next record starts on its own line.
                if try h.seekToEnd() > 0, let r = FileHandle(forReadingAtPath: p) {
                    defer { try? r.close() }
                    if let end = try? r.seekToEnd(), end > 0, (try? r.seek(toOffset: end - 1)) != nil,
                       let last = try? r.read(upToCount: 1), last != Data("\n".utf8) {
                        startsMidLine = true
                    }
                }
            } else {
                try? h.truncate(atOffset: 0)
            }
            handle = h
            human = false
        }
        if startsMidLine { pending.append(contentsOf: "\n".utf8) }
    }

    func write(_ r: SurveyRecord) throws {
        if handle != nil {
            pending.append(contentsOf: (r.json() + "\n").utf8)
            if pending.count >= 64 * 1024 || ContinuousClock.now - lastFlush > .milliseconds(250) { try flush() }
        } else if human && r.exchange {
            let status = r.status.map { "\($0.family)=\($0.status.rawValue)" }.joined(separator: " ")
            var line = "\(r.target):\(r.port)  \(r.build ?? r.cuLevel.map { "\($0).x" } ?? "build?")  \(r.product ?? "") \(r.cu ?? "")  \(status)"
            if let s = r.ssrf { line += "  ssrf=\(s)" }
            if !r.webshells.isEmpty { line += "  SHELLS: " + r.webshells.joined(separator: " ") }
            try Terminal.write(Data((TerminalText.sanitize(line, limit: 2000) + "\n").utf8))
        }
    }

    /// A closed pipe or a full disk ends the survey with a message (exit 2), not a trap.
    func flush() throws(OutputError) {
        if let handle, !pending.isEmpty {
            do { try handle.write(contentsOf: pending) } catch { throw OutputError(underlying: "\(error)") }
        }
        pending.removeAll(keepingCapacity: true)
        lastFlush = .now
    }
}
