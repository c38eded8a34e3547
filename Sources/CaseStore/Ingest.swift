import Crypto
public import Foundation
public import HuntCore
import SQLKit
import Timeline

/// Who ingests, with what command line: recorded with each run and in the audit log.
public struct RunContext: Sendable {
    public var analyst: String
    /// The command line as given (an argument array, recorded as JSON).
    public var options: [String]
    public var startedAt: Date

    public init(analyst: String, options: [String], startedAt: Date = Date()) {
        self.analyst = analyst
        self.options = options
        self.startedAt = startedAt
    }
}

/// What an ingest did with a run.
public enum IngestOutcome: Sendable, Equatable {
    /// A run the store did not hold.
    case added(run: String, host: String)
    /// The same evidence, hunted again with other rules or after an interrupted run: one run, rewritten.
    case replaced(run: String, host: String)
    /// The same evidence with the same rules, already complete: nothing written.
    case unchanged(run: String, host: String)

    public var run: String {
        switch self { case .added(let r, _), .replaced(let r, _), .unchanged(let r, _): r }
    }
    public var host: String {
        switch self { case .added(_, let h), .replaced(_, let h), .unchanged(_, let h): h }
    }
}

extension CaseStore {
    /// Rows per INSERT: under both engines' bind limits (SQLite 32,766, PostgreSQL 65,535) at 15 columns.
    static let batchRows = 400

    /// Records that a hunt has started, before anything is known of the host: a run marked
    /// `running` that stays (shown as interrupted) if the hunt never finishes, and is removed
    /// when the finished report is ingested. Returns its id for `ingest(_:context:provisional:)`.
    public func beginRun(evidenceRoot: String, label: String, context: RunContext) async throws -> String {
        let id = "running-" + UUID().uuidString.lowercased()
        try await exclusive {
            try await db.insert(into: "runs")
                .columns("run_id", "case_name", "host", "kind", "status", "evidence_root", "evidence_digest", "tool", "version",
                         "options", "analyst", "started_ms")
                .values([id, caseName, Text.column(label.lowercased()), "hunt", "running", Text.column(evidenceRoot), "",
                         "exhunt", "", Self.jsonArray(context.options), Text.column(context.analyst), Millis.from(context.startedAt) ?? 0] as [any Encodable & Sendable])
                .run()
        }
        return id
    }

    /// Stores one host's report as one run, in one transaction. The same evidence (the same
    /// manifest: paths, sizes and hashes) of the same host is one run however often it comes:
    /// unchanged when complete and judged with the same rules, else rewritten whole.
    @discardableResult
    public func ingest(_ report: HostReport, context: RunContext, provisional: String? = nil) async throws -> IngestOutcome {
        let digest = Self.evidenceDigest(report.manifest)
        return try await transaction {
            let host = try await resolveHost(report)
            let run = Self.runID(caseName, host, "hunt", digest)
            let existing = try await db.select().columns("status", "rules_digest").from("runs").where("run_id", .equal, run)
                .first()
            // Interrupted attempts at this evidence are superseded by a finished one.
            var stale = try await db.select().column("run_id").from("runs")
                .where("case_name", .equal, caseName).where("evidence_root", .equal, Text.column(report.evidenceRoot))
                .where("status", .notEqual, "complete").where("run_id", .notEqual, run)
                .all(decodingColumn: "run_id", as: String.self)
            if let provisional { stale.append(provisional) }
            for id in Set(stale) { try await deleteRun(id) }
            if let existing, report.complete,
               try existing.decode(column: "status", as: String.self) == "complete",
               try existing.decodeNil(column: "rules_digest") == false,
               try existing.decode(column: "rules_digest", as: String.self) == report.stats.rulesDigest {
                try await audit(context.analyst, "ingest", subject: host, detail: "run \(run) unchanged: the same evidence with the same rules")
                return .unchanged(run: run, host: host)
            }
            if existing != nil { try await deleteRun(run) }
            try await insertRun(report, id: run, host: host, digest: digest, context: context)
            try await audit(context.analyst, "ingest", subject: host,
                            detail: "run \(run) \(existing == nil ? "added" : "replaced"): \(report.verdict.rawValue), \(report.findings.count) findings, evidence \(report.evidenceRoot)")
            return existing == nil ? .added(run: run, host: host) : .replaced(run: run, host: host)
        }
    }

    /// The host a report belongs to: the first host that already carries one of its names
    /// (case ignored), else a new one keyed by its lowercased name. A name given with `--host`
    /// decides alone: the names in the evidence (a cloned server's, a sample's) do not merge it
    /// with another host.
    private func resolveHost(_ report: HostReport) async throws -> String {
        let given = report.hostSource == "--host"
        var names = [report.host] + (given ? [] : report.hostNames.map(\.name))
        names = names.map { Text.column($0.lowercased()) }.filter { !$0.isEmpty }
        if names.isEmpty { names = ["unknown"] }
        let known: String?
        if given {
            known = nil
        } else {
            known = try await db.select().column("host").from("host_names")
                .where("case_name", .equal, caseName).where("kind", .equal, "name").where("value", .in, names)
                .orderBy("host").first(decodingColumn: "host", as: String.self)
        }
        let host = known ?? names[0]
        try await db.insert(into: "hosts").columns("case_name", "host", "display", "source", "created_ms")
            .values([caseName, host, Text.column(report.host.isEmpty ? host : report.host), Text.column(report.hostSource), Millis.now] as [any Encodable & Sendable])
            .ignoringConflicts().run()
        var rows: [[any Encodable & Sendable]] = [[caseName, host, "name", names[0], Text.column(report.hostSource)]]
        if !given { for n in report.hostNames { rows.append([caseName, host, "name", Text.column(n.name.lowercased()), Text.column(n.source)]) } }
        for a in report.hostAddresses { rows.append([caseName, host, "address", Text.column(a.name.lowercased()), Text.column(a.source)]) }
        try await insertRows("host_names", ["case_name", "host", "kind", "value", "source"], rows, ignoringConflicts: true)
        return host
    }

    private func insertRun(_ report: HostReport, id: String, host: String, digest: String, context: RunContext) async throws {
        var summary = report
        summary.findings = []
        summary.manifest = []
        summary.problems = []
        summary.clientAddresses = []
        let covered = report.coverage.filter { $0.logsource != nil }
        let started = Millis.from(context.startedAt) ?? Millis.now
        let values: [any Encodable & Sendable] = [
            id, caseName, host, "hunt", report.complete ? "complete" : "incomplete", Text.column(report.evidenceRoot), digest,
            Text.column(report.tool), Text.column(report.version), report.stats.rulesDigest, Int64(report.stats.rulesLoaded),
            Self.jsonArray(context.options), Text.column(context.analyst), started, Millis.now,
            Millis.from(Date(timeIntervalSince1970: report.stats.seconds)) ?? 0,
            report.verdict.rawValue,
            Millis.from(covered.compactMap(\.earliest).min()), Millis.from(covered.compactMap(\.latest).max()),
            Int64(report.stats.files), Int64(clamping: report.stats.bytes), Int64(report.stats.logLines), Int64(report.stats.hits),
            try Self.json(summary),
            try Self.json(IncidentStory(host: report.host, verdict: report.verdict,
                                        entries: report.findings.map { TimelineEntry($0, host: report.host) })),
        ]
        try await db.insert(into: "runs")
            .columns("run_id", "case_name", "host", "kind", "status", "evidence_root", "evidence_digest", "tool", "version",
                     "rules_digest", "rules_loaded", "options", "analyst", "started_ms", "finished_ms", "duration_ms", "verdict",
                     "evidence_start_ms", "evidence_end_ms", "files", "bytes", "log_lines", "hits", "report", "story")
            .values(values).run()
        var families: [[any Encodable & Sendable]] = []
        for f in report.families {
            families.append([id, Text.column(f.family), Text.column(f.title), f.verdict.rawValue, Int64(f.judged ? 1 : 0),
                             Millis.from(f.firstExploitation), Int64(f.compromised), Int64(f.attempted), try Self.json(f)])
        }
        try await insertRows("families", ["run_id", "family", "title", "verdict", "judged", "first_ms", "compromised", "attempted", "body"], families)
        try await insertFindings(report.findings, run: id, host: host)
        var manifest: [[any Encodable & Sendable]] = []
        for (i, m) in report.manifest.enumerated() {
            manifest.append([id, Int64(i), Text.column(m.path), Int64(clamping: m.size), m.sha256, Int64(clamping: m.bytesRead),
                             Millis.from(m.modified), m.timeSource])
        }
        try await insertRows("manifest", ["run_id", "ord", "path", "size", "sha256", "bytes_read", "modified_ms", "time_source"], manifest)
        var problems: [[any Encodable & Sendable]] = []
        for (i, p) in report.problems.enumerated() {
            problems.append([id, Int64(i), p.level.rawValue, Text.column(p.code), p.path.map(Text.column), p.line.map { Int64($0) }, try Self.json(p)])
        }
        try await insertRows("problems", ["run_id", "ord", "level", "code", "path", "line", "body"], problems)
        try await insertValues("indicators", LearnedIndicators.from(report.findings), run: id, host: host)
        try await insertValues("seen", SeenValues.from(report), run: id, host: host)
    }

    func insertFindings(_ findings: [Finding], run: String, host: String, from start: Int = 0) async throws {
        var rows: [[any Encodable & Sendable]] = []
        rows.reserveCapacity(min(findings.count, Self.batchRows))
        let encoder = JSONCoding.encoder(pretty: false)
        let columns = ["run_id", "ord", "case_name", "host", "rule_id", "title", "role", "family", "severity", "source",
                       "first_ms", "last_ms", "hits", "path", "body"]
        var hours: [TimelineHour: Int64] = [:]
        var named: [[any Encodable & Sendable]] = []
        for (i, f) in findings.enumerated() {
            for v in FindingValues.of(f) { named.append([run, Int64(start + i), caseName, v.kind.rawValue, Text.column(v.value)]) }
            if let t = Millis.from(f.timestamp) { hours[TimelineHour(hour: t / Self.hourMs * Self.hourMs, role: f.role.rawValue), default: 0] += 1 }
            rows.append([run, Int64(start + i), caseName, host, Text.column(f.rule.id), Text.column(f.rule.title), f.role.rawValue,
                         f.family.map(Text.column), f.severity.rawValue, Text.column(f.source), Millis.from(f.timestamp),
                         Millis.from(f.lastSeen ?? f.timestamp), Int64(f.count), Text.column(f.evidence.path),
                         String(decoding: try encoder.encode(f), as: UTF8.self)])
            if rows.count == Self.batchRows {
                try await insertRows("findings", columns, rows)
                rows.removeAll(keepingCapacity: true)
            }
            if named.count >= Self.batchRows {
                try await insertRows("finding_values", Self.findingValueColumns, named, ignoringConflicts: true)
                named.removeAll(keepingCapacity: true)
            }
        }
        try await insertRows("findings", columns, rows)
        try await insertRows("finding_values", Self.findingValueColumns, named, ignoringConflicts: true)
        // The timeline's counts, added to what earlier calls for the run stored.
        let hourRows: [[any Encodable & Sendable]] = hours.sorted { ($0.key.hour, $0.key.role) < ($1.key.hour, $1.key.role) }
            .map { [run, caseName, $0.key.hour, $0.key.role, $0.value] }
        var next = 0
        while next < hourRows.count {
            let end = min(hourRows.count, next + Self.batchRows)
            let insert = db.insert(into: "timeline_hours").columns("run_id", "case_name", "hour_ms", "role", "findings")
            for row in hourRows[next..<end] { _ = insert.values(row) }
            try await insert.onConflict(with: ["run_id", "hour_ms", "role"]) {
                $0.set("findings", to: SQLBinaryExpression(SQLColumn("findings", table: "timeline_hours"), .add, SQLExcludedColumn("findings")))
            }.run()
            next = end
        }
    }

    static let hourMs: Int64 = 3_600_000
    static let findingValueColumns = ["run_id", "ord", "case_name", "kind", "value"]

    private struct TimelineHour: Hashable {
        var hour: Int64
        var role: String
    }

    func insertValues(_ table: String, _ values: [StoredValue], run: String, host: String) async throws {
        let rows: [[any Encodable & Sendable]] = values.map {
            [run, caseName, host, $0.kind.rawValue, Text.column($0.value), Millis.from($0.first), Millis.from($0.last), Int64($0.hits), $0.role?.rawValue]
        }
        try await insertRows(table, ["run_id", "case_name", "host", "kind", "value", "first_ms", "last_ms", "hits", "role"], rows,
                             ignoringConflicts: true)
        if table == "indicators" { try await countHosts(values, host: host) }
    }

    /// Adds the host to each value's hosts, counting only pairs not held before.
    private func countHosts(_ values: [StoredValue], host: String) async throws {
        var start = 0
        while start < values.count {
            let chunk = values[start..<min(values.count, start + Self.batchRows)]
            start += chunk.count
            let insert = db.insert(into: "indicator_hosts").columns("case_name", "kind", "value", "host")
            for v in chunk { _ = insert.values([caseName, v.kind.rawValue, Text.column(v.value), host] as [any Encodable & Sendable]) }
            let added = try await insert.ignoringConflicts().returning("kind", "value").all()
            guard !added.isEmpty else { continue }
            let counts = db.insert(into: "indicator_counts").columns("case_name", "kind", "value", "hosts")
            for r in added {
                _ = counts.values([caseName, try r.decode(column: "kind", as: String.self), try r.decode(column: "value", as: String.self), Int64(1)]
                                  as [any Encodable & Sendable])
            }
            try await counts.onConflict(with: ["case_name", "kind", "value"]) {
                $0.set("hosts", to: SQLBinaryExpression(SQLColumn("hosts", table: "indicator_counts"), .add, SQLLiteral.numeric("1")))
            }.run()
        }
    }

    /// Multi-row INSERTs of at most `batchRows` rows, every value bound.
    func insertRows(_ table: String, _ columns: [String], _ rows: [[any Encodable & Sendable]], ignoringConflicts: Bool = false) async throws {
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + Self.batchRows)
            let insert = db.insert(into: table).columns(columns)
            for row in rows[start..<end] { _ = insert.values(row) }
            if ignoringConflicts { _ = insert.ignoringConflicts() }
            try await insert.run()
            start = end
        }
    }

    func deleteRun(_ id: String) async throws {
        for table in ["families", "findings", "finding_values", "timeline_hours", "manifest", "problems", "indicators", "seen", "runs"] {
            try await db.delete(from: table).where("run_id", .equal, id).run()
        }
    }

    // MARK: - Identity

    /// SHA-256 over the manifest's paths, sizes and hashes, in path order: what makes two runs the
    /// same evidence, wherever it was copied to.
    static func evidenceDigest(_ manifest: [ManifestEntry]) -> String {
        var h = SHA256()
        for m in manifest.sorted(by: { $0.path < $1.path }) {
            h.update(data: Data("\(m.path)\u{0}\(m.size)\u{0}\(m.sha256 ?? "")\n".utf8))
        }
        return Hex.encode(h.finalize())
    }

    static func runID(_ parts: String...) -> String {
        String(Hex.encode(SHA256.hash(data: Data(parts.joined(separator: "\u{0}").utf8))).prefix(32))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONCoding.encoder(pretty: false).encode(value), as: UTF8.self)
    }

    static func jsonArray(_ value: [String]) -> String {
        (try? json(value)) ?? "[]"
    }
}
