import ArgumentParser
import Foundation
import Hunt
import HuntCore
import Reports
import Indicators
import Timeline
import Evidence
import CaseStore

struct HuntCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hunt",
        abstract: "Examine a server's collected evidence and give a verdict.",
        discussion: "PATH is a folder (plain copy of the Exchange and IIS folders, a KAPE or a Velociraptor collection), "
            + "a .zip of one, or a disk image (raw or split raw, E01, VMDK, VHD, VHDX; MBR or GPT; NTFS), read in place; a folder holding several servers' collections side by side (folders "
            + "or .zip files) is hunted as one host each. Evidence is only read, never written. Verdicts: clean, attempted "
            + "(probes or failed attempts only), compromised, inconclusive (for example logs that do not reach back "
            + "to the exploitation window). Exit status: 0 clean, 1 attempted or compromised, 2 usage or "
            + "configuration error, 3 inconclusive.")

    @Argument(help: "Evidence folder, .zip collection or disk image.")
    var path: String

    @Flag(help: "Print the full report as JSON on standard output instead of the console summary.")
    var json = false

    @Option(name: [.short, .long], help: ArgumentHelp("Write the full report as JSON to this file (rewritten as the hunt goes).",
                                                      valueName: "FILE.json"))
    var output: String?

    /// Where the JSON report goes: a file, standard output (`-`) or nowhere.
    private var reportTarget: String? { output ?? (json ? "-" : nil) }

    @Option(name: .customLong("tpl-csv"), help: "Write Test-ProxyLogon.ps1's output files into this folder (one row per hit, streamed).")
    var tplCSV: String?

    @Option(name: .long, help: ArgumentHelp("Write every single hit, one JSON object per line, to this file as it is found.",
                                            discussion: "The report aggregates hits into findings (one per rule and group key); this file keeps each.",
                                            valueName: "FILE.jsonl"))
    var hits: String?

    @Option(name: .long, help: "Extra Sigma rule folder or file (repeatable).")
    var rules: [String] = []

    @Option(name: .long, help: "YAML map of values for Sigma '|expand' placeholders, e.g. Workstations: [ws1, ws2].")
    var placeholders: String?

    @Option(name: .long, help: "Extra YARA rule file or folder (repeatable), e.g. signature-base's yara/.")
    var yara: [String] = []

    @Option(name: .long, help: "Indicator file or folder (repeatable): CSV, hash lists, STIX 2.1 JSON, CHIRP YAML.")
    var iocs: [String] = []

    @Option(name: .long, help: ArgumentHelp("Folder of Microsoft's per-build baselines of Exchange's files (repeatable): each file of Exchange's web folders is then known-good, modified or unknown.",
                                            valueName: "dir"))
    var baselines: [String] = []

    @Flag(name: .customLong("no-builtin-rules"), help: "Use only the rules and indicators given on the command line (neither the built-in nor the downloaded ones).")
    var noBuiltinRules = false

    @Flag(name: .customLong("no-downloaded-rules"), help: "Leave out the rule sets `exhunt rules update` installed.")
    var noDownloadedRules = false

    @Flag(name: .customLong("scan-all"), help: "Content-check and YARA-scan every file, not only web folders, C:\\root, Windows\\Temp and ProgramData.")
    var scanAll = false

    @Option(name: .customLong("max-file-size"), help: "Files larger than this many MiB are not content-checked or YARA-scanned (default 16).")
    var maxFileSize: UInt64 = 16

    @Option(name: .long, help: "Host name for the report (default: the name the evidence gives the server, else the folder's name). Also keeps a folder of several collections one host.")
    var host: String?

    @Option(name: .customLong("window-start"), help: "Start of the exploitation window, YYYY-MM-DD (default 2021-01-03).")
    var windowStart: String?

    @Option(name: .shortAndLong, help: "Parallel workers (default: number of cores).")
    var jobs: Int?

    @Flag(name: .customLong("no-hash"),
          help: "Skip SHA-256 of log files (fast triage). The manifest then lists paths and sizes only; hunt again without it for a defensible report.")
    var noHash = false

    @Flag(name: .customLong("hash-image"),
          help: "For a disk image: SHA-256 of its segment files too, in the report (reads the whole image once more).")
    var hashImage = false

    @Flag(name: .customLong("verify-image"),
          help: "For an E01: the MD5 of its media read now, against the one the imager recorded (reads the whole image once more).")
    var verifyImage = false

    @Flag(name: .customLong("no-ip-iocs"),
          help: "Do not look for indicator IP addresses in HttpProxy and IIS logs (they cost a check at every dot of every line).")
    var noIPIOCs = false

    @OptionGroup var exports: ExportOptions

    @OptionGroup(title: "Case store") var store: CaseOptions

    @Flag(name: .long, help: "Print only the verdict line.")
    var quiet = false

    @Flag(name: .customLong("no-color"), help: "No colours, even on a terminal.")
    var noColor = false

    @Flag(name: .customLong("no-progress"), help: "No progress bar on standard error.")
    var noProgress = false

    func run() async throws {
        if json && output != nil { throw ValidationError("--json prints the report on standard output and -o FILE writes it to a file: give one") }
        try OutputCheck.require([("-o", output, .file), ("--hits", hits, .file), ("--tpl-csv", tplCSV, .folder)] + exports.outputs)
        var config = HuntConfiguration(evidence: URL(fileURLWithPath: path))
        config.ruleDirectories = rules.map { URL(fileURLWithPath: $0) }
        config.builtinRules = !noBuiltinRules
        config.host = host
        config.hashFiles = !noHash
        config.hashImage = hashImage
        config.verifyImage = verifyImage
        config.scanAll = scanAll
        config.matchAddresses = !noIPIOCs
        config.contentLimit = maxFileSize << 20
        if let jobs { guard jobs > 0 else { throw ValidationError("--jobs must be at least 1") }; config.jobs = jobs }
        if let windowStart {
            guard let d = Self.parseDay(windowStart) else { throw ValidationError("--window-start wants YYYY-MM-DD") }
            config.windowOverride = d
        }
        let stderrIsTerminal = Terminal.isTerminal(.standardError)
        if !noProgress && stderrIsTerminal && !quiet {
            config.progress = { p in Terminal.progress(p) }
        }
        let detectors: Detectors
        do {
            var sources = Detectors.Sources()
            sources.builtin = config.builtinRules
            if config.builtinRules && !noDownloadedRules { sources.ruleSets = try DownloadedRules.ruleSets() }
            sources.sigma = config.ruleDirectories
            sources.yara = yara.map { URL(fileURLWithPath: $0) }
            sources.indicators = iocs.map { URL(fileURLWithPath: $0) }
            sources.placeholders = placeholders.map { URL(fileURLWithPath: $0) }
            sources.baselines = baselines.map { URL(fileURLWithPath: $0) }
            detectors = try await Detectors.load(sources)
        } catch {
            Terminal.error("cannot load rules: \(error)")
            throw ExitCode(2)
        }
        if detectors.rules.isEmpty && detectors.yara == nil && detectors.indicators.isEmpty {
            Terminal.error("no usable rules loaded")
            throw ExitCode(2)
        }
        // Several servers' collections side by side: one host each.
        let root = URL(fileURLWithPath: path)
        var parts = host == nil ? EvidenceTree.hostCollections(in: root) : []
        if parts.isEmpty { parts = [root] }
        let several = parts.count > 1
        var reports: [HostReport] = []
        var outputFailures: [String] = []
        // The case store is opened before the hunt: a store that cannot be reached fails now, not after hours.
        let caseStore = try await store.open()
        // Seen client addresses are kept for the store and for a report imported into one later.
        config.keepClientAddresses = reportTarget != nil || caseStore != nil
        let interrupts = Interrupts(stopping: config.cancellation)
        for part in parts {
            if config.cancellation.isCancelled { break }
            var c = config
            c.evidence = part
            let label = part.deletingPathExtension().lastPathComponent
            let context = store.context
            let provisional = try await caseStore?.beginRun(evidenceRoot: part.path, label: host ?? label, context: context)
            let (report, failures) = try await huntOne(c, detectors: detectors, label: label, suffix: several ? label : nil)
            reports.append(report)
            outputFailures += failures
            if let caseStore {
                do {
                    let outcome = try await caseStore.ingest(report, context: context, provisional: provisional)
                    if reportTarget != "-" && !quiet { Terminal.status("case \(store.shown): \(CaseCommand.Import.describe(outcome, part.lastPathComponent))\n") }
                } catch {
                    outputFailures.append("case store: \(error)")
                }
            }
        }
        try? await caseStore?.close()
        interrupts.cancel()
        if config.progress != nil { Terminal.clearProgress() }
        try exports.write(FleetTimeline(reports))
        if reportTarget != "-" {
            let colors = !noColor && Terminal.isTerminal(.standardOutput) && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            for report in reports {
                if quiet {
                    try Terminal.write(Data("\(report.verdict.rawValue) \(TerminalText.sanitize(report.host))\n".utf8))
                } else {
                    try Terminal.write(Data((ConsoleReport(colors: colors).render(report) + "\n").utf8))
                }
            }
        }
        if !outputFailures.isEmpty {
            for f in outputFailures { Terminal.error("cannot write the output: \(f)") }
            throw ExitCode(2)
        }
        if reports.contains(where: { !$0.complete }) || reports.count < parts.count { throw ExitCode(130) }
        // Nothing of Exchange, IIS or Windows in it: not a quiet "inconclusive".
        let empty = reports.filter { !$0.hasEvidence }
        if !empty.isEmpty {
            for r in empty {
                // Why, when the listing said (an image that could not be opened, a zip whose directory is damaged).
                let why = r.problems.first { $0.code == "listing" }.map { ": \(TerminalText.sanitize($0.message))" } ?? ""
                Terminal.error("no Exchange, IIS or Windows evidence found in \(TerminalText.sanitize(r.evidenceRoot))\(why)")
            }
            throw ExitCode(2)
        }
        let verdicts = Set(reports.map(\.verdict))
        if verdicts.contains(.compromised) || verdicts.contains(.attempted) { throw ExitCode(1) }
        if verdicts.contains(.inconclusive) { throw ExitCode(3) }
    }

    /// One host's hunt and its per-host outputs (`-o`/`--json`, `--hits`, `--tpl-csv`). With several
    /// hosts, `suffix` goes into the file names (`report.json` becomes `report-EXCH01.json`).
    private func huntOne(_ base: HuntConfiguration, detectors: Detectors, label: String, suffix: String?) async throws
        -> (HostReport, [String]) {
        var config = base
        var streams: [any HitStream] = []
        do {
            if let hits { streams.append(try HitsFile(URL(fileURLWithPath: Self.path(hits, suffix)))) }
            if let tplCSV { streams.append(try TestProxyLogonCSV(directory: URL(fileURLWithPath: tplCSV))) }
        } catch {
            Terminal.error("cannot write the output: \(error)")
            throw ExitCode(2)
        }
        config.streams = streams
        let jsonPath = reportTarget.map { $0 == "-" ? $0 : Self.path($0, suffix) }
        if let jsonPath, jsonPath != "-" {
            // The report so far, rewritten as the hunt goes: an interrupted or killed hunt leaves
            // a report marked incomplete, not nothing.
            let url = URL(fileURLWithPath: jsonPath)
            config.checkpoint = { partial in try? JSONReport.write(partial, to: url) }
        }
        let report: HostReport
        do {
            report = try await Hunter(configuration: config, detectors: detectors).run()
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
        var outputFailures: [String] = []
        for s in streams {
            do { try s.finish(report) } catch { outputFailures.append("\(error)") }
        }
        if let jsonPath {
            if jsonPath == "-" {
                try JSONReport.stream(report) { try Terminal.write($0) }
                try Terminal.write(Data("\n".utf8))
            }
            else { try JSONReport.write(report, to: URL(fileURLWithPath: jsonPath)) }
        }
        outputFailures += report.problems.filter { $0.code == "output" }.map(\.message)
        return (report, outputFailures)
    }

    /// `dir/report.json` with `EXCH01` is `dir/report-EXCH01.json`; the label keeps only
    /// characters safe in a file name.
    static func path(_ path: String, _ suffix: String?) -> String {
        guard let suffix else { return path }
        let safe = String(suffix.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().path
        return ext.isEmpty ? "\(stem)-\(safe)" : "\(stem)-\(safe).\(ext)"
    }

    static func parseDay(_ s: String) -> Date? {
        s.count == 10 ? Timestamp.parse(s + "T00:00:00Z") : nil
    }
}
