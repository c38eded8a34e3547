public import HuntCore
public import Timeline
import Foundation
import Rainbow

/// The terminal summary: verdict first, in words a stressed administrator understands, then
/// coverage warnings, then findings in time order. Every evidence string is sanitized.
public struct ConsoleReport {
    public var colors: Bool
    public var maxFindings: Int

    public init(colors: Bool, maxFindings: Int = 50) {
        self.colors = colors
        self.maxFindings = maxFindings
    }

    public func render(_ r: HostReport) -> String {
        var out: [String] = []
        let headline: String
        switch r.verdict {
        case .compromised: headline = c("COMPROMISED") { $0.red.bold } + " - this server shows signs of successful exploitation or a backdoor."
        case .attempted: headline = c("ATTEMPTED") { $0.yellow.bold } + " - this server was probed or attacked; no sign that it succeeded."
        case .inconclusive: headline = c("INCONCLUSIVE") { $0.magenta.bold } + " - nothing found, but the evidence cannot show the server is clean."
        case .clean: headline = c("CLEAN") { $0.green.bold } + " - no signs of exploitation in the evidence examined, for every family it can judge."
        }
        out.append("exhunt \(r.version)  host \(TerminalText.sanitize(r.host))")
        if let image = r.image {
            let volumes = image.volumes.map { "\($0.name): (\($0.fileSystem))" }.joined(separator: ", ")
            out.append("Disk image: \(image.format), \(image.size) bytes in \(image.segments.count) file(s); volumes \(TerminalText.sanitize(volumes))")
            if let md5 = image.recordedMD5 {
                let check = image.verified.map { $0 ? ", verified" : ", DOES NOT MATCH the media (\(image.computedMD5 ?? "?"))" } ?? ""
                out.append("  recorded MD5 \(TerminalText.sanitize(md5))\(check)")
            }
            for n in image.notRead ?? [] { out.append("  not read: " + TerminalText.sanitize(n, limit: 200)) }
        }
        out.append("")
        out.append("Verdict: " + headline)
        if !r.complete { out.append(c("  The hunt did not finish: this report holds only what was found before it stopped.") { $0.red.bold }) }
        for reason in r.verdictReasons { out.append("  - " + TerminalText.sanitize(reason)) }
        if let unpatched = r.unpatched { out.append("  " + c("! " + TerminalText.sanitize(unpatched)) { $0.yellow.bold }) }
        out.append("")
        if !r.families.isEmpty {
            out.append(c("Per vulnerability family:") { $0.bold })
            let width = max(28, r.families.map(\.title.count).max() ?? 0)
            for f in r.families {
                var word: String
                switch f.verdict {
                case .compromised: word = c("compromised ") { $0.red.bold }
                case .attempted: word = c("attempted   ") { $0.yellow }
                case .inconclusive: word = c("inconclusive") { $0.magenta }
                case .clean: word = c("clean       ") { $0.green }
                }
                if !f.judged { word = "not judged  " }
                let (facts, patch) = (f.reasons.filter { !$0.hasPrefix("patch timeline") }, f.reasons.first { $0.hasPrefix("patch timeline") })
                out.append("  \(TerminalText.sanitize(f.title).padding(toLength: width, withPad: " ", startingAt: 0)) \(word)  "
                           + TerminalText.sanitize(facts.first ?? "", limit: 240))
                for more in facts.dropFirst().prefix(4) { out.append("  " + String(repeating: " ", count: width + 15) + TerminalText.sanitize(more, limit: 240)) }
                if let patch, f.judged { out.append("  " + String(repeating: " ", count: width + 15) + TerminalText.sanitize(patch, limit: 240)) }
            }
            out.append("")
        }
        let story = IncidentStory(host: r.host, verdict: r.verdict, entries: r.findings.map { TimelineEntry($0, host: r.host) })
        if !story.stages.isEmpty {
            out.append(c("What happened:") { $0.bold })
            for line in story.sentences { out.append("  " + TerminalText.sanitize(line, limit: 300)) }
            // Times the story leaves out, and why: the story is only as good as its clock.
            for p in r.problems where p.code == "copy-times" || p.code == "iis-time-offset" {
                out.append("  " + c("Note:") { $0.yellow } + " " + TerminalText.sanitize(p.message, limit: 400))
            }
            out.append("")
        }
        out.append(c("Log coverage (exploitation window from \(Self.day(r.windowStart))):") { $0.bold })
        if r.coverage.isEmpty { out.append("  no logs found") }
        let labelWidth = max(24, r.coverage.map { $0.source.count }.max() ?? 0)
        for cov in r.coverage {
            let span = "\(cov.earliest.map(Self.day) ?? "?") .. \(cov.latest.map(Self.day) ?? "?")"
            var window = cov.window
            switch cov.window {
            case "full": window = c(window) { $0.green }
            case "partial": window = c(window) { $0.yellow }
            default: window = c(window) { $0.red }
            }
            out.append("  \(TerminalText.sanitize(cov.source).padding(toLength: labelWidth, withPad: " ", startingAt: 0)) \(span)  \(cov.files) file(s), \(cov.lines) line(s)  window: \(window)")
        }
        if !r.places.isEmpty {
            out.append("  evidence read: " + r.places.map { p in
                p.notRead > 0 ? "\(p.place.rawValue) \(p.read) read, " + c("\(p.notRead) not read") { $0.yellow } : "\(p.place.rawValue) \(p.read) read"
            }.joined(separator: "; "))
            let unread = r.problems.filter { $0.code == "not-read" }
            for p in unread.prefix(10) { out.append("    not read: " + TerminalText.sanitize("\(p.path ?? "") - \(p.message)", limit: 300)) }
            if unread.count > 10 { out.append("    … \(unread.count - 10) more not read, in the JSON report") }
        }
        // Logs deleted on the server (from an image, or a collection's $MFT or change journal):
        // the reason for a gap above, where there is one.
        let deleted = r.problems.filter { $0.code == "deleted-log" }
        for p in deleted.prefix(10) {
            out.append("  " + c("deleted on the server:") { $0.yellow } + " " + TerminalText.sanitize("\(p.path ?? "") - \(p.message)", limit: 300))
        }
        if deleted.count > 10 { out.append("    … \(deleted.count - 10) more deleted logs, in the JSON report") }
        let shown = r.findings.filter { $0.severity >= .low }
        out.append("")
        let hits = r.findings.reduce(0) { $0 + $1.count }
        out.append(c("Findings: \(r.findings.count)") { $0.bold } + (hits > r.findings.count ? " (\(hits) hits; one finding per rule and group)" : "")
                   + (r.findings.isEmpty ? "" : " (in time order)"))
        for f in shown.prefix(maxFindings) {
            let sev = paint(f.severity)
            let when = f.timestamp.map(Self.iso) ?? "time unknown       "
            let cves = f.cves.isEmpty ? "" : " [" + f.cves.joined(separator: ", ") + "]"
            out.append("  \(when)  \(sev)  \(TerminalText.sanitize(f.rule.title))\(cves)")
            if f.count > 1 {
                out.append("      " + c("\(f.count) hits\(f.lastSeen.map { ", last \(Self.iso($0))" } ?? "")") { $0.bold })
            }
            if let spread = f.spread, spread.distinct > 1 { out.append("      " + TerminalText.sanitize(spread.sentence(), limit: 300)) }
            if let summary = f.extracted["summary"] { out.append("      " + TerminalText.sanitize(summary, limit: 300)) }
            // The policy's second look changed its weight: say why, since the rule alone would weigh otherwise.
            if let why = f.reweighed { out.append("      " + c(TerminalText.sanitize("weighs \(f.role.rawValue): \(why)", limit: 300)) { $0.dim }) }
            // A downloaded set's licence (DRL 1.1) asks that the author travel with each match.
            if let set = f.rule.ruleSet {
                let by = f.rule.author.map { " by \($0)" } ?? ""
                out.append("      " + c(TerminalText.sanitize("rule from \(set)\(by); \(f.rule.licence ?? "licence unknown")", limit: 300)) { $0.dim })
            }
            let loc = f.evidence.path + (f.evidence.line.map { ":\($0)" } ?? "")
            out.append("      at " + c(TerminalText.sanitize(loc, limit: 300)) { $0.dim })
        }
        if shown.count > maxFindings { out.append("  … \(shown.count - maxFindings) more in the JSON report") }
        let errors = r.problems.filter { $0.level == .error }.count
        let warnings = r.problems.count - errors
        if !r.problems.isEmpty {
            out.append("")
            out.append(c("Problems: \(errors) error(s), \(warnings) warning(s)") { $0.bold })
            for p in r.problems.prefix(10) {
                let loc = (p.path ?? "") + (p.line.map { ":\($0)" } ?? "")
                out.append("  \(p.level == .error ? c("error") { $0.red } : c("warning") { $0.yellow }) \(p.code) \(TerminalText.sanitize(loc, limit: 200)): \(TerminalText.sanitize(p.message, limit: 300))")
            }
            if r.problems.count > 10 { out.append("  … \(r.problems.count - 10) more in the JSON report") }
        }
        out.append("")
        out.append(String(format: "%d files, %.1f MB, %d log lines, %d rules, %.2f s", r.stats.files,
                          Double(r.stats.bytes) / 1e6, r.stats.logLines, r.stats.rulesLoaded, r.stats.seconds))
        return out.joined(separator: "\n")
    }

    /// The fleet view of `exhunt timeline`: one line per host, the earliest compromise, each story.
    public func renderFleet(_ t: FleetTimeline) -> String {
        var out: [String] = [c("Fleet: \(t.reports.count) host(s), \(t.entries.count) finding(s)") { $0.bold }, ""]
        let width = max(12, t.reports.map { $0.host.count }.max() ?? 12)
        for (r, s) in zip(t.reports, t.stories) {
            let verdict = r.verdict.rawValue.uppercased().padding(toLength: 13, withPad: " ", startingAt: 0)
            let painted: String
            switch r.verdict {
            case .compromised: painted = c(verdict) { $0.red.bold }
            case .attempted: painted = c(verdict) { $0.yellow.bold }
            case .inconclusive: painted = c(verdict) { $0.magenta.bold }
            case .clean: painted = c(verdict) { $0.green.bold }
            }
            let host = TerminalText.sanitize(r.host).padding(toLength: width, withPad: " ", startingAt: 0)
            out.append("  \(host)  \(painted) first compromise \(s.firstCompromise.map(Self.iso) ?? "-")  \(r.findings.count) finding(s)")
        }
        if let e = t.earliestCompromise {
            out.append("")
            out.append("Earliest compromise across the fleet: \(Self.iso(e.time)) on \(TerminalText.sanitize(e.host))")
        }
        for s in t.stories where !s.stages.isEmpty {
            out.append("")
            out.append(c("\(TerminalText.sanitize(s.host)):") { $0.bold })
            for line in s.sentences { out.append("  " + TerminalText.sanitize(line, limit: 300)) }
        }
        return out.joined(separator: "\n")
    }

    /// Applies a Rainbow style only when colours are on (Rainbow's own switch is a global).
    private func c(_ s: String, _ style: (String) -> String) -> String { colors ? style(s) : s }

    private func paint(_ s: Severity) -> String {
        let label = s.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
        switch s {
        case .critical: return c(label) { $0.red.bold }
        case .high: return c(label) { $0.red }
        case .medium: return c(label) { $0.yellow }
        case .low: return c(label) { $0.cyan }
        case .informational: return label
        }
    }

    static func iso(_ d: Date) -> String { ISOTime.string(d, milliseconds: false) }

    static func day(_ d: Date) -> String { ISOTime.day(d) }
}
