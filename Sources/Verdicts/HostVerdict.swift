public import Foundation
public import HuntCore
public import ExchangeBuilds

/// Turns a host's findings, coverage and problems into one verdict per vulnerability family and
/// the host's verdict, the worst of them. The families, their windows and the sources that cover
/// them are data (`Rules/exchange/families.yaml`), as are the weights and quiet times
/// (`Rules/verdict-policy.yml`).
///
/// For each family, on the findings that belong to it (`Finding.family`):
/// - `compromised`: a finding weighing `compromised`, or attempts together with a `supporting`
///   finding of `high` severity or above;
/// - `attempted`: attempts only;
/// - `inconclusive`: nothing found, but the covering logs are missing, start after the window,
///   leave a gap inside it, or files could not be read;
/// - `clean`: nothing found and the covering logs reach from the window's start to the end of the
///   evidence without a gap.
/// Findings of no family (web shells, dumps) make a row of their own when they weigh. A family
/// whose window begins after the evidence ends is shown but does not decide the host's verdict.
public struct HostVerdict: Sendable {
    public let policy: VerdictPolicy
    public let knowledge: BuildKnowledge

    public init(policy: VerdictPolicy, knowledge: BuildKnowledge) {
        self.policy = policy
        self.knowledge = knowledge
    }

    public struct Evidence: Sendable {
        public var findings: [Finding]
        public var coverage: [Coverage]
        /// Per log source, the hours with lines, ascending.
        public var activity: [LogSource: [Int32]]
        public var builds: [BuildSpan]
        public var problems: [Problem]
        /// Files of evidence places that could not be read: a family they would cover is not clean.
        public var unread: [UnreadFile]

        public init(findings: [Finding], coverage: [Coverage], activity: [LogSource: [Int32]], builds: [BuildSpan], problems: [Problem],
                    unread: [UnreadFile] = []) {
            self.unread = unread
            self.findings = findings
            self.coverage = coverage
            self.activity = activity
            self.builds = builds
            self.problems = problems
        }
    }

    public struct Decision: Sendable {
        public var verdict: Verdict
        public var reasons: [String]
        public var families: [FamilyVerdict]
        /// Per source, the gaps inside the earliest window.
        public var gaps: [CoverageGap]
    }

    /// The family a finding belongs to: the one its rule names, else the one sharing most of its CVEs.
    public func family(declared: String?, cves: [String]) -> String? {
        if let declared, knowledge.families.contains(where: { $0.name == declared }) { return declared }
        let wanted = Set(cves.map { $0.uppercased() })
        guard !wanted.isEmpty else { return nil }
        var best: (name: String, n: Int)?
        for f in knowledge.families {
            let n = f.cves.filter { wanted.contains($0.uppercased()) }.count
            if n > 0, n > (best?.n ?? 0) { best = (f.name, n) }
        }
        return best?.name
    }

    /// - Parameter windowStart: when given (`--window-start`), every family's window starts there.
    public func decide(_ e: Evidence, windowStart: Date? = nil) -> Decision {
        let end = e.coverage.compactMap(\.latest).max()
        let caveats = Self.caveats(e.problems)
        var rows: [FamilyVerdict] = []
        for family in knowledge.families {
            guard let start = windowStart ?? family.windowStart else { continue }
            rows.append(judge(family, start: start, end: end, e, caveats: caveats))
        }
        if let other = judgeUnattributed(e.findings) { rows.append(other) }

        let deciding = rows.filter(\.judged)
        let worst = deciding.map(\.verdict).max { $0.rank < $1.rank } ?? .inconclusive
        var reasons = hostReasons(worst, deciding, e.findings, caveats: caveats)
        let later = rows.filter { !$0.judged }.map(\.title)
        if !later.isEmpty, let end {
            reasons.append("note: the evidence ends \(ISOTime.day(end)), before the windows of \(later.joined(separator: ", ")) began; they are shown but not judged")
        }
        if deciding.isEmpty { reasons.append(end == nil ? "no log lines with timestamps were found" : "the evidence ends before every family's window") }
        return Decision(verdict: worst, reasons: reasons, families: rows, gaps: sourceGaps(e, end: end, from: rows.compactMap(\.windowStart).min()))
    }

    // MARK: - One family

    /// A family whose window begins after the evidence ends, with nothing found, is not judged.
    private func judge(_ family: VulnerabilityFamily, start: Date, end: Date?, _ e: Evidence, caveats: [String]) -> FamilyVerdict {
        let mine = e.findings.filter { $0.family == family.name }
        let compromised = mine.filter { $0.role == .compromised }
        let attempted = mine.filter { $0.role == .attempted }
        let supporting = mine.filter { $0.role == .supporting && $0.severity >= .high }
        let covering = e.activity.filter { source, _ in family.coveredBy.contains { $0.admits(source) } }
        let names = coveringNames(family)
        var row = FamilyVerdict(family: family.name, title: family.title, verdict: .inconclusive, reasons: [], windowStart: start,
                                coveredBy: names, compromised: compromised.reduce(0) { $0 + $1.count },
                                attempted: attempted.reduce(0) { $0 + $1.count })
        row.firstExploitation = compromised.compactMap(\.timestamp).min() ?? attempted.compactMap(\.timestamp).min()
        let quiet = covering.keys.map(policy.quietHours).max() ?? family.coveredBy.map(policy.quietHours).max() ?? 24
        let sourceText = names.joined(separator: " or ")

        var missing: [String] = []
        if let end, end > start {
            let result = CoverageGaps.find(hours: CoverageGaps.union(Array(covering.values)), from: start, to: end, quiet: quiet)
            row.coverageStart = result.first
            row.gaps = result.gaps.map { CoverageGap(source: names.joined(separator: "+"), start: $0.start, end: $0.end) }
            if let first = result.first {
                if !result.reachesStart {
                    missing.append("\(sourceText) logs start \(ISOTime.day(first)), after the window began \(ISOTime.day(start))")
                }
            } else {
                missing.append("no \(sourceText) logs were found, so \(family.title) exploitation cannot be ruled out")
            }
            for g in row.gaps {
                missing.append(g.end.map { "\(sourceText) logs have no lines from \(ISOTime.string(g.start, milliseconds: false)) to \(ISOTime.string($0, milliseconds: false))" }
                               ?? "\(sourceText) logs stop at \(ISOTime.string(g.start, milliseconds: false)), before the end of the evidence")
            }
        } else if end == nil {
            missing.append("no \(sourceText) logs were found, so \(family.title) exploitation cannot be ruled out")
        }
        let inWindow = end.map { $0 > start } ?? true
        // Files of a covering source that were there but could not be read: what they hold is unknown.
        let unread = e.unread.filter { u in u.place?.logsource.map { ls in family.coveredBy.contains { $0.admits(ls) } } ?? false }
        if !unread.isEmpty {
            let shown = unread.prefix(3).map(\.path).joined(separator: ", ") + (unread.count > 3 ? ", …" : "")
            missing.append("\(unread.count) \(sourceText) file(s) could not be read (\(shown)), so what they hold is unknown")
        }

        let found = Self.weigh(&row, compromised: compromised, backedAttempts: attempted, supporting: supporting, attempted: attempted,
                               proof: "show exploitation", attempts: ("attempts", "attempt(s)"))
        if found {
            row.reasons += missing.map { "note: " + $0 }
        } else if !inWindow, let end {
            row.reasons.append("the evidence ends \(ISOTime.day(end)), before the window began \(ISOTime.day(start))")
        } else if !missing.isEmpty || !caveats.isEmpty {
            row.reasons += missing + caveats
        } else {
            row.verdict = .clean
            row.reasons.append("nothing found; covered by \(names.joined(separator: " and ")) from \(ISOTime.day(start)) without a gap longer than \(quiet) h")
        }
        patchTimeline(family, &row, e.builds)
        let mitigations = mine.filter { $0.role == .mitigation }
        if let first = mitigations.min(by: { ($0.timestamp ?? .distantFuture) < ($1.timestamp ?? .distantFuture) }) {
            row.mitigatedFrom = first.timestamp
            row.mitigation = first.rule.title
            row.reasons.append("mitigated" + (first.timestamp.map { " from \(ISOTime.day($0)) (the time of \(first.evidence.path))" } ?? "")
                               + ": \(first.rule.title)")
        }
        row.judged = inWindow || found
        return row
    }

    /// The builds that wrote the logs over time, against this family's fix.
    private func patchTimeline(_ family: VulnerabilityFamily, _ row: inout FamilyVerdict, _ builds: [BuildSpan]) {
        let spans = builds.compactMap { b in ExchangeBuild(b.build).map { (span: b, status: knowledge.status(of: $0, in: family).status) } }
        guard let firstSpan = spans.first else { return }
        // Whatever the verdict, a server still on a vulnerable build must be told so.
        if let last = spans.last {
            row.lastBuild = last.span.build
            if last.status == .vulnerable { row.install = family.kb.isEmpty ? family.fixedBy : "\(family.fixedBy) (\(family.kb))" }
        }
        if firstSpan.status == .patched {
            row.patchedBeforeLogs = true
            row.patchedFrom = firstSpan.span.first
            row.patchedBuild = firstSpan.span.build
        } else if let fix = spans.first(where: { $0.status == .patched }) {
            row.patchedFrom = fix.span.first
            row.patchedBuild = fix.span.build
        }
        if let t = row.firstExploitation, let at = spans.last(where: { ($0.span.first ?? .distantFuture) <= t }) ?? spans.first {
            row.buildAtExploitation = at.span.build
            row.statusAtExploitation = at.status.rawValue
        }
        var sentence = ""
        if let t = row.firstExploitation, let b = row.buildAtExploitation, let s = row.statusAtExploitation {
            sentence = "first hit \(ISOTime.day(t)) while on \(b), \(s); "
        }
        if let b = row.patchedBuild {
            sentence += row.patchedBeforeLogs
                ? "on a patched build (\(b)) from the first log on"
                : "on a patched build (\(b)) from \(row.patchedFrom.map(ISOTime.day) ?? "?")"
        } else {
            sentence += "no log was written by a build patched for it (builds seen: \(spans.map(\.span.build).joined(separator: ", ")))"
        }
        row.reasons.append("patch timeline: " + sentence)
    }

    // MARK: - Findings of no family

    private func judgeUnattributed(_ findings: [Finding]) -> FamilyVerdict? {
        let other = findings.filter { $0.family == nil }
        let compromised = other.filter { $0.role == .compromised }
        let supporting = other.filter { $0.role == .supporting && $0.severity >= .high }
        let attemptsAnywhere = findings.filter { $0.role == .attempted }
        let attempted = other.filter { $0.role == .attempted }
        var row = FamilyVerdict(family: "other", title: "Other signs of intrusion", verdict: .clean, reasons: [], windowStart: nil,
                                coveredBy: [], compromised: compromised.reduce(0) { $0 + $1.count },
                                attempted: attempted.reduce(0) { $0 + $1.count })
        row.firstExploitation = compromised.compactMap(\.timestamp).min()
        // A dump or archive of no family backs attempts of any family.
        guard Self.weigh(&row, compromised: compromised, backedAttempts: attemptsAnywhere, supporting: supporting, attempted: attempted,
                         proof: "show a backdoor or an intruder's work",
                         attempts: ("exploitation attempts", "probe(s) or attempt(s)")) else { return nil }
        return row
    }

    /// The verdict a row's findings give it, with the reason: proof; attempts together with a
    /// high supporting finding; attempts alone. False when they give none (coverage decides).
    private static func weigh(_ row: inout FamilyVerdict, compromised: [Finding], backedAttempts: [Finding], supporting: [Finding],
                              attempted: [Finding], proof: String, attempts: (together: String, alone: String)) -> Bool {
        if !compromised.isEmpty {
            row.verdict = .compromised
            row.reasons.append("\(row.compromised) hit(s) \(proof): \(titles(compromised))")
        } else if !backedAttempts.isEmpty && !supporting.isEmpty {
            row.verdict = .compromised
            row.reasons.append("\(attempts.together) (\(titles(backedAttempts))) together with \(titles(supporting))")
        } else if !attempted.isEmpty {
            row.verdict = .attempted
            row.reasons.append("\(row.attempted) \(attempts.alone) without evidence of success: \(titles(attempted))")
        } else {
            return false
        }
        return true
    }

    // MARK: - The host

    private func hostReasons(_ verdict: Verdict, _ rows: [FamilyVerdict], _ findings: [Finding], caveats: [String]) -> [String] {
        var reasons: [String] = []
        switch verdict {
        case .compromised:
            let proof = findings.filter { $0.role == .compromised }
            if !proof.isEmpty {
                reasons.append("\(proof.count) finding(s) show successful exploitation or a backdoor: \(Self.titles(proof))")
                if let first = proof.compactMap(\.timestamp).min() {
                    reasons.append("earliest sign of compromise: \(ISOTime.string(first, milliseconds: false))")
                }
            }
            for r in rows where r.verdict == .compromised && r.compromised == 0 { reasons += r.reasons.prefix(1).map { "\(r.title): \($0)" } }
        case .attempted:
            let attempts = findings.filter { $0.role == .attempted }
            reasons.append("\(attempts.count) probe(s) or attempt(s) without evidence of success: \(Self.titles(attempts))")
        case .inconclusive:
            for r in rows where r.verdict == .inconclusive { reasons += r.reasons.filter { !$0.hasPrefix("patch timeline") }.map { "\(r.title): \($0)" } }
            return reasons
        case .clean:
            let covered = rows.filter { $0.verdict == .clean }.map { "\($0.title) by \($0.coveredBy.joined(separator: " and "))" }
            reasons.append("no findings above supporting; the logs cover every family's window: \(covered.joined(separator: "; "))")
            return reasons + caveats
        }
        for r in rows {
            switch r.verdict {
            case .inconclusive: reasons += r.reasons.filter { !$0.hasPrefix("patch timeline") }.map { "note: \(r.title): \($0)" }
            case .compromised, .attempted: reasons += r.reasons.filter { $0.hasPrefix("note: ") }.map { "note: \(r.title): \($0.dropFirst(6))" }
            case .clean: break
            }
        }
        return reasons + caveats.filter { c in !reasons.contains { $0.hasSuffix(c) } }.map { "note: " + $0 }
    }

    /// What makes every family's `clean` doubtful: an interrupted hunt, unreadable files, damage.
    static func caveats(_ problems: [Problem]) -> [String] {
        var out: [String] = []
        if let stop = problems.first(where: { $0.code == "incomplete" }) { out.append(stop.message) }
        let unreadable = problems.filter { $0.level == .error && $0.code == "unreadable" }
        if !unreadable.isEmpty { out.append("\(unreadable.count) evidence file(s) could not be read") }
        let damaged = Set(problems.filter { $0.code == "evtx" }.compactMap(\.path))
        if !damaged.isEmpty {
            out.append("the evidence is damaged: \(damaged.count) event log(s) with bad checksums or records that were skipped (see problems)")
        }
        return out
    }

    /// Per covering source, its own gaps inside the earliest window.
    private func sourceGaps(_ e: Evidence, end: Date?, from start: Date?) -> [CoverageGap] {
        guard let end, let start, end > start else { return [] }
        var out: [CoverageGap] = []
        for s in policy.sources {
            let hours = CoverageGaps.union(e.activity.filter { s.logsource.admits($0.key) }.map(\.value))
            guard !hours.isEmpty else { continue }
            let r = CoverageGaps.find(hours: hours, from: max(start, CoverageGaps.date(Int64(hours[0]))), to: end, quiet: s.quietHours)
            out += r.gaps.map { CoverageGap(source: s.name, start: $0.start, end: $0.end) }
        }
        return out
    }

    private func coveringNames(_ family: VulnerabilityFamily) -> [String] {
        var names: [String] = []
        for s in family.coveredBy {
            let n = policy.sources.first { $0.logsource.admits(s) || s.admits($0.logsource) }?.name ?? s.name
            if !names.contains(n) { names.append(n) }
        }
        return names
    }

    static func titles(_ list: [Finding]) -> String {
        var seen: [String] = []
        for f in list where !seen.contains(f.rule.title) { seen.append(f.rule.title) }
        return seen.prefix(3).joined(separator: "; ") + (seen.count > 3 ? "; …" : "")
    }
}
