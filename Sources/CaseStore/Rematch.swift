public import Foundation
public import HuntCore
public import Indicators
import SQLKit

extension CaseStore {
    public struct RematchResult: Sendable, Codable {
        /// Hosts with at least one new match, and how many findings were recorded for them.
        public var hosts: [String: Int] = [:]
        public var findings: Int { hosts.values.reduce(0, +) }
        /// Indicator kinds the store cannot match without the evidence (MD5 and SHA-1 of files,
        /// domains), with how many were given.
        public var notMatchable: [String: Int] = [:]
    }

    /// Matches indicators learned after the hunts against every host's stored client addresses,
    /// file paths and SHA-256 values, and records what matches as findings of one rematch run per
    /// host (the same indicator list again is the same runs, rewritten). `weigh` gives a match
    /// its weight as the verdict policy says for indicators of that kind.
    public func rematch(_ set: IndicatorSet, label: String, weigh: @Sendable (Indicator.Kind) -> VerdictRole,
                        context: RunContext) async throws -> RematchResult {
        var result = RematchResult()
        // The same list again is the same rematch runs: they are keyed by the list's content.
        let digest = Self.runID(set.all.map { "\($0.kind.rawValue):\($0.value)" }.sorted().joined(separator: "\n"))
        for kind in [Indicator.Kind.md5, .sha1, .domain] where set.count(kind) > 0 { result.notMatchable[kind.rawValue] = set.count(kind) }
        var perHost: [String: [Finding]] = [:]
        try await exclusive {
            // Addresses and hashes: an indexed lookup per batch of the list's values.
            for (kind, stored) in [(Indicator.Kind.ip, StoredValue.Kind.address), (.sha256, .sha256)] {
                let values = set.all.filter { $0.kind == kind }.map { kind == .ip ? (Address.normalised($0.value) ?? $0.value) : $0.value }
                for start in stride(from: 0, to: values.count, by: Self.batchRows) {
                    let chunk = Array(Set(values[start..<min(values.count, start + Self.batchRows)]))
                    let rows = try await db.select().columns("host", "value", "first_ms", "last_ms", "hits").from("seen")
                        .where("case_name", .equal, caseName).where("kind", .equal, stored.rawValue).where("value", .in, chunk).all()
                    for r in rows {
                        let value = try r.decode(column: "value", as: String.self)
                        guard let hit = set.lookup(kind, value).first else { continue }
                        let seen = StoredValue(kind: stored, value: value, first: Millis.date(try r.decode(column: "first_ms", as: Int64?.self)),
                                               last: Millis.date(try r.decode(column: "last_ms", as: Int64?.self)),
                                               hits: Int(try r.decode(column: "hits", as: Int64.self)))
                        perHost[try r.decode(column: "host", as: String.self), default: []].append(Self.finding(hit, seen, role: weigh(kind)))
                    }
                }
            }
            // Names and paths match by suffix below the install root: each stored path is asked.
            if set.count(.fileName) + set.count(.filePath) > 0 {
                let rows = try await db.select().columns("host", "value", "first_ms").from("seen")
                    .where("case_name", .equal, caseName).where("kind", .equal, StoredValue.Kind.path.rawValue).all()
                for r in rows {
                    let value = try r.decode(column: "value", as: String.self)
                    for hit in set.matchFile(windowsPath: value) {
                        let seen = StoredValue(kind: .path, value: value, first: Millis.date(try r.decode(column: "first_ms", as: Int64?.self)))
                        perHost[try r.decode(column: "host", as: String.self), default: []].append(Self.finding(hit, seen, role: weigh(hit.kind)))
                    }
                }
            }
        }
        for (host, findings) in perHost.sorted(by: { $0.key < $1.key }) {
            let run = Self.runID(caseName, host, "rematch", digest)
            try await transaction {
                try await deleteRun(run)
                let first = findings.compactMap(\.timestamp).min()
                let worst: Verdict = findings.contains { $0.role == .compromised } ? .compromised
                    : findings.contains { $0.role == .attempted } ? .attempted : .inconclusive
                try await db.insert(into: "runs")
                    .columns("run_id", "case_name", "host", "kind", "status", "evidence_root", "evidence_digest", "tool", "version",
                             "options", "analyst", "started_ms", "finished_ms", "verdict")
                    .values([run, caseName, host, "rematch", "complete", Text.column(label), digest, "exhunt", "",
                             Self.jsonArray(context.options), Text.column(context.analyst), Millis.from(context.startedAt) ?? 0, Millis.now,
                             worst.rawValue] as [any Encodable & Sendable]).run()
                let other = FamilyVerdict(family: "other", title: "Indicators matched later (\(label))", verdict: worst,
                                          reasons: ["\(findings.count) stored value(s) match indicators of \(label)"], windowStart: nil, coveredBy: [],
                                          compromised: findings.filter { $0.role == .compromised }.count,
                                          attempted: findings.filter { $0.role == .attempted }.count, firstExploitation: first)
                try await insertRows("families", ["run_id", "family", "title", "verdict", "judged", "first_ms", "compromised", "attempted", "body"],
                                     [[run, "other", Text.column(other.title), worst.rawValue, Int64(worst == .inconclusive ? 0 : 1), Millis.from(first),
                                       Int64(other.compromised), Int64(other.attempted), try Self.json(other)]])
                try await insertFindings(findings, run: run, host: host)
                try await insertValues("indicators", LearnedIndicators.from(findings), run: run, host: host)
                try await audit(context.analyst, "rematch", subject: host, detail: "\(findings.count) finding(s) from \(label)")
            }
            result.hosts[host] = findings.count
        }
        try await exclusive {
            try await audit(context.analyst, "rematch", subject: label,
                            detail: "\(set.all.count) indicators against the case: \(result.findings) finding(s) on \(result.hosts.count) host(s)")
        }
        return result
    }

    /// A finding for a stored value an indicator names, as the hunt would have made it.
    static func finding(_ hit: Indicator, _ seen: StoredValue, role: VerdictRole) -> Finding {
        let isAddress = seen.kind == .address
        let title = isAddress ? "Requests from a published attacker address (matched later)"
            : "File matches a published indicator (\(hit.kind.rawValue), matched later)"
        var f = Finding(rule: .init(id: isAddress ? "exhunt-ioc-ip" : "exhunt-ioc-\(hit.kind.rawValue)", title: title,
                                    source: hit.source, references: [hit.source]),
                        cves: [], attack: [isAddress ? "T1190" : "T1505.003"], severity: role == .compromised ? .high : .medium, role: role,
                        timestamp: seen.first, source: isAddress ? .httpProxy : .evidenceFile,
                        evidence: .init(location: EvidenceLocation(path: isAddress ? "case store: client addresses" : seen.value, line: nil),
                                        excerpt: "\(seen.value) listed by \(hit.source)"),
                        fields: isAddress ? ["ClientIpAddress": seen.value] : ["Path": seen.value],
                        extracted: ["summary": "\(seen.value) matches \(hit.value) from \(hit.source)\(hit.note.isEmpty ? "" : " (\(hit.note))")"],
                        stage: isAddress ? "probe" : "persistence")
        f.count = max(1, seen.hits)
        f.lastSeen = seen.last ?? seen.first
        f.group = isAddress ? ["ClientIpAddress": seen.value] : ["Path": seen.value]
        return f
    }
}
