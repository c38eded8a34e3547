public import Foundation
public import HuntCore
import SQLKit

/// One host as the fleet sees it: the verdict of its latest complete hunt, raised by rematches,
/// and the analyst's override over both.
public struct FleetHost: Sendable, Codable {
    public var host: String
    public var display: String
    public var verdict: Verdict
    /// The verdict the evidence gives, before any override.
    public var huntedVerdict: Verdict?
    public var override: VerdictOverride?
    /// Per family: its verdict (after rematches and family overrides).
    public var families: [String: Verdict]
    /// The first sign of compromise (the earliest exploitation of a family judged compromised).
    public var compromisedAt: Date?
    public var runs: Int
    /// The newest complete hunt (by its evidence's end, then by ingest).
    public var latestRun: String?
    /// The complete hunt with the worst verdict (the newest of those): the one the fleet timeline shows.
    public var decidingRun: String?
    public var evidenceEnd: Date?
    public var rulesDigest: String?
    public var tags: [String]
    public var remediated: Bool
    public var names: [String]
    public var addresses: [String]
}

public struct VerdictOverride: Sendable, Codable, Equatable {
    public var family: String?
    public var verdict: Verdict
    public var reason: String
    public var who: String
    public var at: Date
}

/// A survey record of a server the survey calls vulnerable or backdoored.
public struct ExposedServer: Sendable, Codable {
    public var target: String
    public var ip: String?
    public var port: Int
    public var build: String?
    public var vulnerable: [String]
    public var backdoored: Bool
    public var time: Date
    /// The host it is, when a hunted host carries its name or address.
    public var host: String?
}

public struct FleetSummary: Sendable, Codable {
    public var hosts: Int
    public var byVerdict: [String: Int]
    /// Per family, hosts per verdict (families not judged for a host are left out of its counts).
    public var byFamily: [String: [String: Int]]
    /// Compromised hosts in the order they fell.
    public var fallen: [Fallen]
    public var exposedNotHunted: [ExposedServer]
    /// Hosts whose latest hunted evidence ends before the survey last saw them exposed: the hunt
    /// cannot speak for the time since.
    public var staleHunts: [Stale]
    /// Hosts last hunted with other rules than the newest run in the case.
    public var olderRules: [String]
    public var surveyRecords: Int
    public var incompleteRuns: Int

    public struct Fallen: Sendable, Codable { public var host: String; public var at: Date }
    public struct Stale: Sendable, Codable { public var host: String; public var evidenceEnd: Date?; public var surveyedAt: Date }

    public var earliestCompromise: Fallen? { fallen.first }
}

/// A value (attacker address, user agent, web-shell path or hash) and the hosts that have it.
public struct SharedValue: Sendable, Codable {
    public var kind: StoredValue.Kind
    public var value: String
    public var hosts: [String]
    public var hits: Int
    public var first: Date?
    public var last: Date?
}

extension CaseStore {
    // MARK: - Hosts

    public func hosts() async throws -> [FleetHost] {
        try await exclusive { try await fleetHosts() }
    }

    /// One host by a name, address or key as typed (case ignored), as `hosts()` shows it; nil
    /// when the case has no such host.
    public func host(_ name: String) async throws -> FleetHost? {
        try await exclusive {
            guard let key = try? await hostKey(name) else { return nil }
            return try await fleetHosts(only: key).first
        }
    }

    /// Every host, or only the one keyed `only`: each query is then narrowed to it.
    func fleetHosts(only: String? = nil) async throws -> [FleetHost] {
        let narrowed = { @Sendable (q: SQLSelectBuilder) -> SQLSelectBuilder in only.map { q.where("host", .equal, $0) } ?? q }
        let hostRows = try await narrowed(db.select().columns("host", "display").from("hosts").where("case_name", .equal, caseName))
            .orderBy("host").all()
        var hosts: [String: FleetHost] = [:]
        for r in hostRows {
            let h = try r.decode(column: "host", as: String.self)
            hosts[h] = FleetHost(host: h, display: try r.decode(column: "display", as: String.self), verdict: .inconclusive,
                                 huntedVerdict: nil, override: nil, families: [:], compromisedAt: nil, runs: 0, latestRun: nil, decidingRun: nil,
                                 evidenceEnd: nil, rulesDigest: nil, tags: [], remediated: false, names: [], addresses: [])
        }
        // Latest complete hunt per host: the newest evidence, then the newest ingest.
        let runs = try await narrowed(db.select().columns("run_id", "host", "kind", "status", "verdict", "evidence_end_ms", "rules_digest")
            .from("runs").where("case_name", .equal, caseName))
            .orderBy("host").orderBy("evidence_end_ms", .descending).orderBy("finished_ms", .descending).all()
        // Every complete run counts: a compromise found in one collection of a host is not undone
        // by a later, clean one (an analyst says so with an override or marks it remediated).
        var judged: [String: String] = [:]
        for r in runs {
            let h = try r.decode(column: "host", as: String.self)
            guard var fh = hosts[h] else { continue }
            let id = try r.decode(column: "run_id", as: String.self)
            let kind = try r.decode(column: "kind", as: String.self)
            let status = try r.decode(column: "status", as: String.self)
            guard status == "complete" else { if kind == "hunt" { fh.runs += 1; hosts[h] = fh }; continue }
            judged[id] = h
            if kind == "hunt" {
                fh.runs += 1
                let v = try r.decodeNil(column: "verdict") ? nil : Verdict(rawValue: try r.decode(column: "verdict", as: String.self))
                if let v, (fh.huntedVerdict?.rank ?? -1) < v.rank { fh.huntedVerdict = v; fh.decidingRun = id }
                if fh.latestRun == nil {
                    fh.latestRun = id
                    fh.evidenceEnd = Millis.date(try r.decode(column: "evidence_end_ms", as: Int64?.self))
                    fh.rulesDigest = try r.decode(column: "rules_digest", as: String?.self)
                }
            }
            hosts[h] = fh
        }
        let familyRuns = Array(judged.keys)
        for chunk in stride(from: 0, to: familyRuns.count, by: Self.batchRows).map({ Array(familyRuns[$0..<min(familyRuns.count, $0 + Self.batchRows)]) }) {
            let rows = try await db.select().columns("run_id", "family", "verdict", "judged", "first_ms").from("families")
                .where("run_id", .in, chunk).all()
            for r in rows {
                guard let h = judged[try r.decode(column: "run_id", as: String.self)], var fh = hosts[h],
                      try r.decode(column: "judged", as: Int64.self) == 1,
                      let v = Verdict(rawValue: try r.decode(column: "verdict", as: String.self)) else { continue }
                let family = try r.decode(column: "family", as: String.self)
                if let old = fh.families[family], old.rank >= v.rank {} else { fh.families[family] = v }
                if v == .compromised, let t = Millis.date(try r.decode(column: "first_ms", as: Int64?.self)),
                   fh.compromisedAt.map({ t < $0 }) ?? true {
                    fh.compromisedAt = t
                }
                hosts[h] = fh
            }
        }
        // Names, addresses, tags, overrides.
        for r in try await narrowed(db.select().columns("host", "kind", "value").from("host_names").where("case_name", .equal, caseName)).all() {
            let h = try r.decode(column: "host", as: String.self)
            let v = try r.decode(column: "value", as: String.self)
            if try r.decode(column: "kind", as: String.self) == "name" { hosts[h]?.names.append(v) } else { hosts[h]?.addresses.append(v) }
        }
        for r in try await narrowed(db.select().columns("host", "kind", "family", "value", "reason", "at_ms", "who").from("notes")
            .where("case_name", .equal, caseName).where("kind", .in, ["tag", "untag", "override", "remediated"])).orderBy("id").all() {
            let h = try r.decode(column: "host", as: String.self)
            guard var fh = hosts[h] else { continue }
            let value = try r.decode(column: "value", as: String.self)
            switch try r.decode(column: "kind", as: String.self) {
            case "tag": if !fh.tags.contains(value) { fh.tags.append(value) }
            case "untag": fh.tags.removeAll { $0 == value }
            case "remediated": fh.remediated = value == "yes"
            default:
                let family = try r.decodeNil(column: "family") ? nil : try r.decode(column: "family", as: String.self)
                if let v = Verdict(rawValue: value) {
                    let o = VerdictOverride(family: family, verdict: v, reason: try r.decode(column: "reason", as: String.self),
                                            who: try r.decode(column: "who", as: String.self),
                                            at: Millis.date(try r.decode(column: "at_ms", as: Int64.self)) ?? Date(timeIntervalSince1970: 0))
                    if let family { fh.families[family] = v } else { fh.override = o }
                }
            }
            hosts[h] = fh
        }
        for (h, var fh) in hosts {
            let fromFamilies = fh.families.values.max(by: { $0.rank < $1.rank })
            let evidence = [fh.huntedVerdict, fromFamilies].compactMap { $0 }.max(by: { $0.rank < $1.rank })
            fh.verdict = fh.override?.verdict ?? evidence ?? .inconclusive
            hosts[h] = fh
        }
        return hosts.values.sorted { $0.host < $1.host }
    }

    // MARK: - Summary

    public func summary() async throws -> FleetSummary {
        try await overview().summary
    }

    /// Every host and the fleet's summary from one reading of the hosts (the dashboard's overview).
    public func overview() async throws -> (hosts: [FleetHost], summary: FleetSummary) {
        try await exclusive {
            let hosts = try await fleetHosts()
            var byVerdict: [String: Int] = [:]
            var byFamily: [String: [String: Int]] = [:]
            for h in hosts {
                byVerdict[h.verdict.rawValue, default: 0] += 1
                for (f, v) in h.families { byFamily[f, default: [:]][v.rawValue, default: 0] += 1 }
            }
            let fallen = hosts.filter { $0.verdict == .compromised }.compactMap { h in h.compromisedAt.map { FleetSummary.Fallen(host: h.host, at: $0) } }
                .sorted { ($0.at, $0.host) < ($1.at, $1.host) }
            let exposed = try await exposedServers(hosts)
            var stale: [FleetSummary.Stale] = []
            for e in exposed where e.host != nil {
                guard let h = hosts.first(where: { $0.host == e.host }), h.latestRun != nil else { continue }
                if (h.evidenceEnd ?? .distantPast) < e.time, !stale.contains(where: { $0.host == h.host }) {
                    stale.append(.init(host: h.host, evidenceEnd: h.evidenceEnd, surveyedAt: e.time))
                }
            }
            let newestDigest = try await db.select().column("rules_digest").from("runs").where("case_name", .equal, caseName)
                .where("kind", .equal, "hunt").where("status", .equal, "complete").where("rules_digest", .isNot, SQLLiteral.null)
                .orderBy("finished_ms", .descending).first(decodingColumn: "rules_digest", as: String.self)
            let older = hosts.filter { h in h.latestRun != nil && newestDigest != nil && h.rulesDigest != newestDigest }.map(\.host)
            let records = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("survey")
                .where("case_name", .equal, caseName).first(decodingColumn: "n", as: Int64.self) ?? 0
            let incomplete = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("runs")
                .where("case_name", .equal, caseName).where("status", .notEqual, "complete").first(decodingColumn: "n", as: Int64.self) ?? 0
            return (hosts, FleetSummary(hosts: hosts.count, byVerdict: byVerdict, byFamily: byFamily, fallen: fallen,
                                        exposedNotHunted: exposed.filter { $0.host == nil }, staleHunts: stale, olderRules: older,
                                        surveyRecords: Int(records), incompleteRuns: Int(incomplete)))
        }
    }

    /// The newest record per target and port that calls the server vulnerable or backdoored,
    /// with the host it is when one carries its name or address.
    private func exposedServers(_ hosts: [FleetHost]) async throws -> [ExposedServer] {
        let rows = try await db.select().columns("target", "ip", "port", "build", "vulnerable", "backdoored", "time_ms").from("survey")
            .where("case_name", .equal, caseName)
            .where { $0.where("vulnerable", .isNot, SQLLiteral.null).orWhere("backdoored", .equal, Int64(1)) }
            .orderBy("time_ms", .descending).all()
        var byName: [String: String] = [:]
        for h in hosts { for n in h.names + h.addresses + [h.host] { byName[n] = byName[n] ?? h.host } }
        var seen = Set<String>()
        var out: [ExposedServer] = []
        for r in rows {
            let target = try r.decode(column: "target", as: String.self)
            let port = Int(try r.decode(column: "port", as: Int64.self))
            guard seen.insert("\(target) \(port)").inserted else { continue }
            let ip = try r.decodeNil(column: "ip") ? nil : try r.decode(column: "ip", as: String.self)
            let vulnerable = try r.decodeNil(column: "vulnerable") ? "" : try r.decode(column: "vulnerable", as: String.self)
            let host = byName[target] ?? ip.flatMap { byName[$0] } ?? byName[String(target.split(separator: ".").first ?? "")]
            out.append(ExposedServer(target: target, ip: ip, port: port,
                                     build: try r.decodeNil(column: "build") ? nil : try r.decode(column: "build", as: String.self),
                                     vulnerable: vulnerable.split(separator: ",").map(String.init),
                                     backdoored: try r.decode(column: "backdoored", as: Int64.self) == 1,
                                     time: Millis.date(try r.decode(column: "time_ms", as: Int64.self)) ?? Date(timeIntervalSince1970: 0), host: host))
        }
        return out.sorted { ($0.target, $0.port) < ($1.target, $1.port) }
    }

    // MARK: - Pivots

    /// Values of a kind that appear on at least `minHosts` hosts: learned attacker indicators
    /// (`learned`), or any value the evidence shows (`seen`).
    public func shared(_ kind: StoredValue.Kind, minHosts: Int = 2, learned: Bool = true, limit: Int = 1000) async throws -> [SharedValue] {
        try await exclusive {
            let table = learned ? "indicators" : "seen"
            // Learned indicators: their host counts are kept (`indicator_counts`), an indexed read.
            // Everything seen: counted here, over every stored value of the kind (slower at fleet size).
            var values: [String] = []
            if learned {
                values = try await db.select().column("value").from("indicator_counts").where("case_name", .equal, caseName)
                    .where("kind", .equal, kind.rawValue).where("hosts", .greaterThanOrEqual, Int64(max(1, minHosts)))
                    .orderBy("hosts", .descending).orderBy("value").limit(max(1, limit)).all(decodingColumn: "value", as: String.self)
            } else {
                values = try await db.select()
                    .column("value")
                    .from(table).where("case_name", .equal, caseName).where("kind", .equal, kind.rawValue)
                    .groupBy("value")
                    .having(SQLFunction("COUNT", args: SQLDistinct(SQLIdentifier("host"))), .greaterThanOrEqual, SQLBind(Int64(max(1, minHosts))))
                    .orderBy(SQLFunction("COUNT", args: SQLDistinct(SQLIdentifier("host"))), SQLDirection.descending).orderBy("value")
                    .limit(max(1, limit)).all(decodingColumn: "value", as: String.self)
            }
            // One read of the values' rows gives their hosts, hits and times.
            var out = values.map { SharedValue(kind: kind, value: $0, hosts: [], hits: 0, first: nil, last: nil) }
            let index = Dictionary(values.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            var hosts = [Set<String>](repeating: [], count: out.count)
            for start in stride(from: 0, to: values.count, by: Self.batchRows) {
                let chunk = Array(values[start..<min(values.count, start + Self.batchRows)])
                let rows = try await db.select().columns("value", "host", "hits", "first_ms", "last_ms").from(table)
                    .where("case_name", .equal, caseName).where("kind", .equal, kind.rawValue).where("value", .in, chunk).all()
                for r in rows {
                    guard let i = index[try r.decode(column: "value", as: String.self)] else { continue }
                    hosts[i].insert(try r.decode(column: "host", as: String.self))
                    out[i].hits += Int(try r.decode(column: "hits", as: Int64.self))
                    if let f = Millis.date(try r.decode(column: "first_ms", as: Int64?.self)), out[i].first.map({ f < $0 }) ?? true { out[i].first = f }
                    if let l = Millis.date(try r.decode(column: "last_ms", as: Int64?.self)), out[i].last.map({ l > $0 }) ?? true { out[i].last = l }
                }
            }
            for i in out.indices { out[i].hosts = hosts[i].sorted() }
            return out
        }
    }

    /// Every host and run that has this value (a pivot from an address, user agent, path or hash).
    public func pivot(_ kind: StoredValue.Kind, _ value: String) async throws -> [(host: String, learned: Bool, value: StoredValue)] {
        try await exclusive {
            var out: [(host: String, learned: Bool, value: StoredValue)] = []
            let needle = kind == .address ? (Address.normalised(value) ?? value) : (kind == .userAgent ? value : value.lowercased())
            for (table, learned) in [("indicators", true), ("seen", false)] {
                let rows = try await db.select().columns("host", "first_ms", "last_ms", "hits", "role").from(table)
                    .where("case_name", .equal, caseName).where("kind", .equal, kind.rawValue).where("value", .equal, Text.column(needle))
                    .orderBy("host").all()
                for r in rows {
                    out.append((try r.decode(column: "host", as: String.self), learned,
                                StoredValue(kind: kind, value: needle, first: Millis.date(try r.decode(column: "first_ms", as: Int64?.self)),
                                            last: Millis.date(try r.decode(column: "last_ms", as: Int64?.self)),
                                            hits: Int(try r.decode(column: "hits", as: Int64.self)),
                                            role: (try r.decode(column: "role", as: String?.self)).flatMap(VerdictRole.init(rawValue:)))))
                }
            }
            return out
        }
    }

    /// The paths (as stored: the server's, lowercased) whose last part is `name` (`supp0rt.aspx`),
    /// at most `limit`: an analyst searches a web shell by its name, not its folder. The name is
    /// bound and its LIKE wildcards escaped.
    public func paths(named name: String, limit: Int = 50) async throws -> [String] {
        let lower = name.lowercased()
        guard !lower.isEmpty, !lower.contains("/"), !lower.contains("\\") else { return [] }
        let escaped = lower.replacingOccurrences(of: "!", with: "!!").replacingOccurrences(of: "%", with: "!%").replacingOccurrences(of: "_", with: "!_")
        return try await exclusive {
            let rows = try await db.raw("""
                SELECT DISTINCT value FROM seen
                WHERE case_name = \(bind: caseName) AND kind = \(bind: StoredValue.Kind.path.rawValue)
                AND (value LIKE \(bind: "%\\" + escaped) ESCAPE '!' OR value LIKE \(bind: "%/" + escaped) ESCAPE '!' OR value = \(bind: lower))
                ORDER BY value LIMIT \(bind: max(1, min(limit, 500)))
                """).all()
            return try rows.map { try $0.decode(column: "value", as: String.self) }
        }
    }

    // MARK: - Reports back

    /// Each host's latest complete hunt as a report (with rematch findings added), for the fleet
    /// timeline and its exports. Findings come back exactly as they were ingested.
    public func reports() async throws -> [HostReport] {
        try await exclusive {
            let hosts = try await fleetHosts()
            var out: [HostReport] = []
            let decoder = JSONCoding.decoder()
            for h in hosts {
                guard let run = h.decidingRun ?? h.latestRun,
                      let body = try await db.select().column("report").from("runs").where("run_id", .equal, run)
                        .first(decodingColumn: "report", as: String?.self) ?? nil else { continue }
                var report = try decoder.decode(HostReport.self, from: Data(body.utf8))
                report.findings = try await findings(runs: [run] + (try await rematchRuns(h.host)))
                report.verdict = h.verdict
                out.append(report)
            }
            return out
        }
    }

    /// One run's report as it was ingested: summary, findings, manifest and problems.
    public func report(run: String) async throws -> HostReport? {
        try await exclusive {
            guard let body = try await db.select().column("report").from("runs").where("run_id", .equal, run).where("case_name", .equal, caseName)
                .first(decodingColumn: "report", as: String?.self) ?? nil else { return nil }
            let decoder = JSONCoding.decoder()
            var report = try decoder.decode(HostReport.self, from: Data(body.utf8))
            report.findings = try await findings(runs: [run])
            report.problems = try await db.select().column("body").from("problems").where("run_id", .equal, run).orderBy("ord")
                .all(decodingColumn: "body", as: String.self).map { try decoder.decode(Problem.self, from: Data($0.utf8)) }
            let manifest = try await db.select().columns("path", "size", "sha256", "bytes_read", "modified_ms", "time_source").from("manifest")
                .where("run_id", .equal, run).orderBy("ord").all()
            report.manifest = try manifest.map { r in
                ManifestEntry(path: try r.decode(column: "path", as: String.self), size: UInt64(clamping: try r.decode(column: "size", as: Int64.self)),
                              sha256: try r.decode(column: "sha256", as: String?.self),
                              bytesRead: UInt64(clamping: try r.decode(column: "bytes_read", as: Int64.self)),
                              modified: Millis.date(try r.decode(column: "modified_ms", as: Int64?.self)),
                              timeSource: try r.decode(column: "time_source", as: String?.self))
            }
            return report
        }
    }

    private func rematchRuns(_ host: String) async throws -> [String] {
        try await db.select().column("run_id").from("runs").where("case_name", .equal, caseName).where("host", .equal, host)
            .where("kind", .equal, "rematch").all(decodingColumn: "run_id", as: String.self)
    }

    private func findings(runs: [String]) async throws -> [Finding] {
        let decoder = JSONCoding.decoder()
        var out: [Finding] = []
        for run in runs {
            let bodies = try await db.select().column("body").from("findings").where("run_id", .equal, run).orderBy("ord")
                .all(decodingColumn: "body", as: String.self)
            for b in bodies { out.append(try decoder.decode(Finding.self, from: Data(b.utf8))) }
        }
        return out
    }

    /// Every learned indicator of the case, one row per kind and value, with its hosts.
    public func indicators() async throws -> [SharedValue] {
        var out: [SharedValue] = []
        for kind in StoredValue.Kind.allCases {
            out += try await shared(kind, minHosts: 1, learned: true, limit: 1_000_000)
        }
        return out
    }
}
