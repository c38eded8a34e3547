import Foundation
import HuntCore

/// Turns findings, coverage and problems into one verdict with its reasons.
///
/// - `compromised`: any finding whose rule weighs as `compromised`; or attempts together with a
///   `supporting` finding of high severity (an LSASS dump on a server that was probed).
/// - `attempted`: probes or failed attempts only.
/// - `inconclusive`: nothing found, but the evidence cannot show a clean server: no HttpProxy
///   logs, HttpProxy logs that start after the window, or files that could not be read.
/// - `clean`: nothing found and the HttpProxy logs cover the window.
enum Verdicts {
    static func decide(findings: [Finding], coverage: [Coverage], problems: [Problem], windowStart: Date) -> (Verdict, [String]) {
        func count(_ role: VerdictRole, atLeast: Severity = .informational) -> [Finding] {
            findings.filter { $0.role == role && $0.severity >= atLeast }
        }
        let compromised = count(.compromised)
        let attempted = count(.attempted)
        let supporting = count(.supporting, atLeast: .high)
        var reasons: [String] = []
        let proxy = coverage.filter { $0.logsource == .httpProxy }
        let earliest = proxy.compactMap(\.earliest).min()
        var gaps: [String] = []
        if proxy.isEmpty {
            gaps.append("no HttpProxy logs were found, so CVE-2021-26855 exploitation cannot be ruled out")
        } else if let earliest, earliest > windowStart {
            gaps.append("HttpProxy logs start \(ISOTime.day(earliest)), after the exploitation window began \(ISOTime.day(windowStart))")
        } else if earliest == nil {
            gaps.append("HttpProxy logs hold no readable timestamps")
        }
        if let stop = problems.first(where: { $0.code == "incomplete" }) { gaps.append(stop.message) }
        let unreadable = problems.filter { $0.level == .error && $0.code == "unreadable" }
        if !unreadable.isEmpty { gaps.append("\(unreadable.count) evidence file(s) could not be read") }
        // Damage that was read past: the verdict stands on what could be read, and says so.
        let damagedLogs = Set(problems.filter { $0.code == "evtx" }.compactMap(\.path))
        let damage = damagedLogs.isEmpty ? nil
            : "the evidence is damaged: \(damagedLogs.count) event log(s) with bad checksums or records that were skipped (see problems)"
        let caveats = gaps + [damage].compactMap { $0 }
        let notes = caveats.map { "note: " + $0 }

        func rules(_ list: [Finding]) -> String {
            var seen: [String] = []
            for f in list where !seen.contains(f.rule.title) { seen.append(f.rule.title) }
            return seen.prefix(3).joined(separator: "; ") + (seen.count > 3 ? "; …" : "")
        }
        if !compromised.isEmpty {
            reasons.append("\(compromised.count) finding(s) show successful exploitation or a backdoor: \(rules(compromised))")
            if let first = compromised.compactMap(\.timestamp).min() {
                reasons.append("earliest sign of compromise: \(ISOTime.string(first, milliseconds: false))")
            }
            return (.compromised, reasons + notes)
        }
        if !attempted.isEmpty && !supporting.isEmpty {
            reasons.append("exploitation attempts (\(rules(attempted))) together with \(rules(supporting))")
            return (.compromised, reasons + notes)
        }
        if !attempted.isEmpty {
            reasons.append("\(attempted.count) probe(s) or attempt(s) without evidence of success: \(rules(attempted))")
            return (.attempted, reasons + notes)
        }
        if !gaps.isEmpty { return (.inconclusive, caveats) }
        return (.clean, ["no findings; HttpProxy logs cover the exploitation window from \(ISOTime.day(windowStart))"]
            + [damage].compactMap { $0 })
    }
}
