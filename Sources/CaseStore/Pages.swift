public import Foundation
public import HuntCore
import SQLKit
public import Timeline

/// One page of a longer list, with how many there are in all.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
    public var offset: Int
    public var limit: Int

    public init(items: [Item], total: Int, offset: Int, limit: Int) {
        self.items = items
        self.total = total
        self.offset = offset
        self.limit = limit
    }

    public var hasNext: Bool { offset + items.count < total }
    public var hasPrevious: Bool { offset > 0 }
}

extension Page: Codable where Item: Codable {}

/// A run as a host's history lists it.
public struct RunListing: Sendable, Codable {
    public var run: String
    public var kind: String
    public var status: String
    public var verdict: Verdict?
    public var evidenceRoot: String
    public var analyst: String
    public var started: Date?
    public var finished: Date?
    public var evidenceStart: Date?
    public var evidenceEnd: Date?
    public var hits: Int
    public var version: String
}

/// A survey record as the survey page lists it.
public struct SurveyListing: Sendable, Codable {
    public var target: String
    public var ip: String?
    public var port: Int
    public var exchange: Bool
    public var build: String?
    public var vulnerable: [String]
    public var backdoored: Bool
    public var error: String?
    public var time: Date?
}

/// The survey's answer in the terms the public surveys of March 2021 used.
public struct SurveyCounts: Sendable, Codable {
    /// Records of servers that answered as Exchange.
    public var exposed: Int
    /// Records calling the server vulnerable to at least one family.
    public var unpatched: Int
    /// Records where a known web shell answered.
    public var backdoored: Int
    public var records: Int
}

/// A finding placed in time across the fleet (the timeline's rows), without its body.
public struct TimedFinding: Sendable, Codable {
    public var host: String
    public var run: String
    public var time: Date?
    public var last: Date?
    public var ruleID: String
    public var title: String
    public var role: String
    public var severity: String
    public var family: String?
    public var path: String
    public var hits: Int
}

/// Which findings a timeline shows: of these weights (all when empty), of one host, of one family.
public struct TimelineFilter: Sendable, Hashable {
    public var roles: Set<VerdictRole>
    public var host: String?
    public var family: String?

    public init(roles: Set<VerdictRole> = [], host: String? = nil, family: String? = nil) {
        self.roles = roles
        self.host = host
        self.family = family
    }

    /// Whether it keeps fewer hosts or families than the case has (the hourly counts are the whole case's).
    var narrows: Bool { host != nil || family != nil }
}

/// A finding with the host and run it belongs to (a pivot's rows).
public struct HostFinding: Sendable, Codable {
    public var host: String
    public var run: String
    public var finding: Finding
}

/// How many findings of each weight began in one stretch of the timeline.
public struct TimelineBucket: Sendable, Codable {
    public var index: Int
    public var role: String
    public var count: Int
}

extension CaseStore {
    /// The largest page any list returns, whatever is asked.
    public static let maxPage = 500

    private func bounded(_ offset: Int, _ limit: Int) -> (Int, Int) {
        (max(0, min(offset, 1_000_000_000)), max(1, min(limit, Self.maxPage)))
    }

    /// How many rows of `table` pass `filter`, and one page of them in `order`. Static and
    /// nonisolated: the query builders never leave the task that runs them.
    static func page(_ db: any SQLDatabase, _ table: String, columns: [String], filter: @Sendable (SQLSelectBuilder) -> SQLSelectBuilder,
                     order: @Sendable (SQLSelectBuilder) -> SQLSelectBuilder, offset: Int, limit: Int) async throws -> (total: Int, rows: [any SQLRow]) {
        let total = try await count(db, table, filter)
        let rows = try await order(filter(db.select().columns(columns).from(table))).offset(offset).limit(limit).all()
        return (total, rows)
    }

    static func count(_ db: any SQLDatabase, _ table: String, _ filter: @Sendable (SQLSelectBuilder) -> SQLSelectBuilder) async throws -> Int {
        let q = filter(db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(table))
        return Int(try await q.first(decodingColumn: "n", as: Int64.self) ?? 0)
    }

    /// A run's report as ingested, without its findings, manifest and problems (pages of those
    /// come from `findings(run:…)`, `manifest(run:…)` and `problems(run:…)`).
    public func reportHead(run: String) async throws -> HostReport? {
        try await exclusive {
            guard let body = try await db.select().column("report").from("runs").where("run_id", .equal, run).where("case_name", .equal, caseName)
                .first(decodingColumn: "report", as: String?.self) ?? nil else { return nil }
            return try JSONCoding.decoder().decode(HostReport.self, from: Data(body.utf8))
        }
    }

    /// The incident story told from all of a hunt's findings when it was ingested; nil for runs
    /// stored before stories were kept, and for rematches.
    public func story(run: String) async throws -> IncidentStory? {
        try await exclusive {
            guard let body = try await db.select().column("story").from("runs").where("run_id", .equal, run)
                .first(decodingColumn: "story", as: String?.self) ?? nil else { return nil }
            return try? JSONCoding.decoder().decode(IncidentStory.self, from: Data(body.utf8))
        }
    }

    /// One page of a run's aggregated findings, as ingested; `roles` keeps those of these weights.
    public func findings(run: String, roles: Set<VerdictRole> = [], offset: Int, limit: Int) async throws -> Page<Finding> {
        let (offset, limit) = bounded(offset, limit)
        let roleNames = roles.map(\.rawValue).sorted()
        return try await exclusive {
            let (total, rows) = try await Self.page(db, "findings", columns: ["body"], filter: { q in
                // By run alone: run ids are this case's (made from its name), and a `case_name` term
                // here lets SQLite pick the (case_name, first_ms) index over the run's own rows.
                let q = q.where("run_id", .equal, run)
                return roleNames.isEmpty ? q : q.where("role", .in, roleNames)
            }, order: { $0.orderBy("ord") }, offset: offset, limit: limit)
            let decoder = JSONCoding.decoder()
            return Page(items: try rows.map { try decoder.decode(Finding.self, from: Data(try $0.decode(column: "body", as: String.self).utf8)) },
                        total: total, offset: offset, limit: limit)
        }
    }

    /// One page of a run's manifest: what was read, its size and SHA-256.
    public func manifest(run: String, offset: Int, limit: Int) async throws -> Page<ManifestEntry> {
        let (offset, limit) = bounded(offset, limit)
        return try await exclusive {
            let (total, rows) = try await Self.page(db, "manifest", columns: ["path", "size", "sha256", "bytes_read", "modified_ms", "time_source"],
                                                    filter: { $0.where("run_id", .equal, run) }, order: { $0.orderBy("ord") }, offset: offset, limit: limit)
            let items = try rows.map { r in
                ManifestEntry(path: try r.decode(column: "path", as: String.self), size: UInt64(clamping: try r.decode(column: "size", as: Int64.self)),
                              sha256: try r.decode(column: "sha256", as: String?.self),
                              bytesRead: UInt64(clamping: try r.decode(column: "bytes_read", as: Int64.self)),
                              modified: Millis.date(try r.decode(column: "modified_ms", as: Int64?.self)),
                              timeSource: try r.decode(column: "time_source", as: String?.self))
            }
            return Page(items: items, total: total, offset: offset, limit: limit)
        }
    }

    /// One page of a run's problems, in the order the hunt met them.
    public func problems(run: String, offset: Int, limit: Int) async throws -> Page<Problem> {
        let (offset, limit) = bounded(offset, limit)
        return try await exclusive {
            let (total, rows) = try await Self.page(db, "problems", columns: ["body"], filter: { $0.where("run_id", .equal, run) },
                                                    order: { $0.orderBy("ord") }, offset: offset, limit: limit)
            let decoder = JSONCoding.decoder()
            return Page(items: try rows.map { try decoder.decode(Problem.self, from: Data(try $0.decode(column: "body", as: String.self).utf8)) },
                        total: total, offset: offset, limit: limit)
        }
    }

    /// Every run of a host (hunts, rematches, interrupted attempts), newest first.
    public func runs(host: String) async throws -> [RunListing] {
        try await exclusive {
            let key = try await hostKey(host)
            return try await db.select()
                .columns("run_id", "kind", "status", "verdict", "evidence_root", "analyst", "started_ms", "finished_ms",
                         "evidence_start_ms", "evidence_end_ms", "hits", "version")
                .from("runs").where("case_name", .equal, caseName).where("host", .equal, key)
                .orderBy("started_ms", .descending).limit(1_000).all().map { r in
                    RunListing(run: try r.decode(column: "run_id", as: String.self), kind: try r.decode(column: "kind", as: String.self),
                               status: try r.decode(column: "status", as: String.self),
                               verdict: (try r.decode(column: "verdict", as: String?.self)).flatMap(Verdict.init(rawValue:)),
                               evidenceRoot: try r.decode(column: "evidence_root", as: String.self),
                               analyst: try r.decode(column: "analyst", as: String.self),
                               started: Millis.date(try r.decode(column: "started_ms", as: Int64?.self)),
                               finished: Millis.date(try r.decode(column: "finished_ms", as: Int64?.self)),
                               evidenceStart: Millis.date(try r.decode(column: "evidence_start_ms", as: Int64?.self)),
                               evidenceEnd: Millis.date(try r.decode(column: "evidence_end_ms", as: Int64?.self)),
                               hits: Int(try r.decode(column: "hits", as: Int64?.self) ?? 0),
                               version: try r.decode(column: "version", as: String.self))
                }
        }
    }

    /// One page of survey records, newest first; `exposedOnly` keeps those calling the server
    /// vulnerable or backdoored.
    public func surveyRecords(exposedOnly: Bool = false, offset: Int, limit: Int) async throws -> Page<SurveyListing> {
        let (offset, limit) = bounded(offset, limit)
        let caseName = caseName
        return try await exclusive {
            let (total, rows) = try await Self.page(db, "survey", columns: ["target", "ip", "port", "exchange", "build", "vulnerable", "backdoored", "error", "time_ms"],
                                                    filter: { q in
                let q = q.where("case_name", .equal, caseName)
                return exposedOnly ? q.where { $0.where("vulnerable", .isNot, SQLLiteral.null).orWhere("backdoored", .equal, Int64(1)) } : q
            }, order: { $0.orderBy("time_ms", .descending).orderBy("target") }, offset: offset, limit: limit)
            let items = try rows.map { r in
                SurveyListing(target: try r.decode(column: "target", as: String.self), ip: try r.decode(column: "ip", as: String?.self),
                              port: Int(try r.decode(column: "port", as: Int64.self)), exchange: try r.decode(column: "exchange", as: Int64.self) == 1,
                              build: try r.decode(column: "build", as: String?.self),
                              vulnerable: (try r.decode(column: "vulnerable", as: String?.self) ?? "").split(separator: ",").map(String.init),
                              backdoored: try r.decode(column: "backdoored", as: Int64.self) == 1,
                              error: try r.decode(column: "error", as: String?.self), time: Millis.date(try r.decode(column: "time_ms", as: Int64.self)))
            }
            return Page(items: items, total: total, offset: offset, limit: limit)
        }
    }

    /// The survey's records counted as the public surveys counted servers.
    public func surveyCounts() async throws -> SurveyCounts {
        let caseName = caseName
        return try await exclusive {
            let all = try await Self.count(db, "survey") { $0.where("case_name", .equal, caseName) }
            let exchange = try await Self.count(db, "survey") { $0.where("case_name", .equal, caseName).where("exchange", .equal, Int64(1)) }
            let unpatched = try await Self.count(db, "survey") { $0.where("case_name", .equal, caseName).where("vulnerable", .isNot, SQLLiteral.null) }
            let backdoored = try await Self.count(db, "survey") { $0.where("case_name", .equal, caseName).where("backdoored", .equal, Int64(1)) }
            return SurveyCounts(exposed: exchange, unpatched: unpatched, backdoored: backdoored, records: all)
        }
    }

    /// When the case's (or one host's) timed findings begin and end (two indexed lookups, not a scan).
    public func timelineSpan(host: String? = nil) async throws -> (first: Date, last: Date)? {
        try await exclusive {
            func edge(_ f: String) async throws -> Date? {
                var q = db.select().column(SQLFunction(f, args: SQLIdentifier("first_ms")), as: "m")
                    .from("findings").where("case_name", .equal, caseName).where("first_ms", .isNot, SQLLiteral.null)
                if let host { q = q.where("host", .equal, host) }
                return Millis.date(try await q.first(decodingColumn: "m", as: Int64?.self) ?? nil)
            }
            guard let lo = try await edge("MIN"), let hi = try await edge("MAX") else { return nil }
            return (lo, hi)
        }
    }

    /// Findings that began in `[from, to)`, counted per weight in `buckets` equal stretches: what
    /// the timeline draws. When a stretch is an hour or longer the counts come from the hourly
    /// counts kept at ingest (a finding is counted in the stretch its hour begins in), else from
    /// the findings themselves through the `(case_name, first_ms)` index; so are the counts of one
    /// host or family (`filter`).
    public func timelineBuckets(from: Date, to: Date, buckets: Int, filter: TimelineFilter = TimelineFilter()) async throws -> [TimelineBucket] {
        guard let lo = Millis.from(from), let hi = Millis.from(to), hi > lo else { return [] }
        let n = Int64(max(1, min(buckets, 1_000)))
        // Ceiling division, so the last bucket ends at `to` or later and never makes an extra one.
        let width = max(1, (hi - lo + n - 1) / n)
        return try await exclusive {
            if width >= Self.hourMs, !filter.narrows {
                let rows = try await db.raw("""
                    SELECT hour_ms, role, CAST(SUM(findings) AS BIGINT) AS n FROM timeline_hours
                    WHERE case_name = \(bind: caseName) AND hour_ms > \(bind: lo - Self.hourMs) AND hour_ms < \(bind: hi)
                    GROUP BY hour_ms, role
                    """).all()
                var counts: [TimelineBucketKey: Int] = [:]
                for r in rows {
                    let hour = try r.decode(column: "hour_ms", as: Int64.self)
                    let index = Int(max(0, min(n - 1, (hour - lo) / width)))
                    counts[TimelineBucketKey(index: index, role: try r.decode(column: "role", as: String.self)), default: 0]
                        += Int(try r.decode(column: "n", as: Int64.self))
                }
                return counts.map { TimelineBucket(index: $0.key.index, role: $0.key.role, count: $0.value) }.sorted { ($0.index, $0.role) < ($1.index, $1.role) }
            }
            let rows = try await db.raw("""
                SELECT (first_ms - \(bind: lo)) / \(bind: width) AS b, role, COUNT(*) AS n FROM findings
                WHERE case_name = \(bind: caseName) AND first_ms >= \(bind: lo) AND first_ms < \(bind: hi)
                \(filter.host.map { "AND host = \(bind: $0)" } ?? "" as SQLQueryString) \(filter.family.map { "AND family = \(bind: $0)" } ?? "" as SQLQueryString)
                GROUP BY 1, 2
                """).all()
            return try rows.map { r in
                TimelineBucket(index: Int(try r.decode(column: "b", as: Int64.self)), role: try r.decode(column: "role", as: String.self),
                               count: Int(try r.decode(column: "n", as: Int64.self)))
            }
        }
    }

    private struct TimelineBucketKey: Hashable {
        var index: Int
        var role: String
    }

    /// One page of the findings that began in `[from, to)`, oldest first, across every host (or
    /// those `filter` keeps).
    public func timelineFindings(from: Date, to: Date, filter: TimelineFilter = TimelineFilter(), offset: Int, limit: Int) async throws -> Page<TimedFinding> {
        let (offset, limit) = bounded(offset, limit)
        let lo = Millis.from(from) ?? Int64.min
        let hi = Millis.from(to) ?? Int64.max
        let caseName = caseName
        let roleNames = filter.roles.map(\.rawValue).sorted()
        @Sendable func within(_ a: Int64, _ b: Int64) -> @Sendable (SQLSelectBuilder) -> SQLSelectBuilder {
            { q in
                var q = q.where("case_name", .equal, caseName).where("first_ms", .greaterThanOrEqual, a).where("first_ms", .lessThan, b)
                if let host = filter.host { q = q.where("host", .equal, host) }
                if let family = filter.family { q = q.where("family", .equal, family) }
                return roleNames.isEmpty ? q : q.where("role", .in, roleNames)
            }
        }
        return try await exclusive {
            let rows = try await within(lo, hi)(db.select()
                .columns("host", "run_id", "first_ms", "last_ms", "rule_id", "title", "role", "severity", "family", "path", "hits").from("findings"))
                .orderBy("first_ms").orderBy("host").offset(offset).limit(limit).all()
            // How many in all: the whole hours inside the range from the hourly counts, the part
            // hours at its ends from the findings (exact, without counting a million rows).
            let firstHour = lo >= 0 ? (lo + Self.hourMs - 1) / Self.hourMs * Self.hourMs : lo
            let lastHour = hi >= 0 ? hi / Self.hourMs * Self.hourMs : hi
            var total: Int
            if lo >= 0, firstHour < lastHour, !filter.narrows {
                // PostgreSQL's SUM of bigints is numeric: cast back, so both engines answer an integer.
                let hours = db.select().column(SQLQueryString("CAST(SUM(findings) AS BIGINT)"), as: "n").from("timeline_hours")
                    .where("case_name", .equal, caseName).where("hour_ms", .greaterThanOrEqual, firstHour).where("hour_ms", .lessThan, lastHour)
                let inside = try await (roleNames.isEmpty ? hours : hours.where("role", .in, roleNames)).first(decodingColumn: "n", as: Int64?.self) ?? nil
                total = Int(inside ?? 0)
                total += try await Self.count(db, "findings", within(lo, firstHour))
                total += try await Self.count(db, "findings", within(lastHour, hi))
            } else {
                total = try await Self.count(db, "findings", within(lo, hi))
            }
            let items = try rows.map { r in
                TimedFinding(host: try r.decode(column: "host", as: String.self), run: try r.decode(column: "run_id", as: String.self),
                             time: Millis.date(try r.decode(column: "first_ms", as: Int64?.self)),
                             last: Millis.date(try r.decode(column: "last_ms", as: Int64?.self)),
                             ruleID: try r.decode(column: "rule_id", as: String.self), title: try r.decode(column: "title", as: String.self),
                             role: try r.decode(column: "role", as: String.self), severity: try r.decode(column: "severity", as: String.self),
                             family: try r.decode(column: "family", as: String?.self), path: try r.decode(column: "path", as: String.self),
                             hits: Int(try r.decode(column: "hits", as: Int64.self)))
            }
            return Page(items: items, total: total, offset: offset, limit: limit)
        }
    }

    /// A value that changes whenever something a page shows may have changed: a run ingested or
    /// ended, an analyst's entry, survey records, fleet work claimed or finished. Pages poll it.
    public func changeMark() async throws -> String {
        try await exclusive {
            var parts: [String] = []
            for (table, column) in [("audit", "id"), ("runs", "finished_ms"), ("runs", "started_ms"), ("work", "finished_ms"), ("work", "started_ms")] {
                let v = try await db.select().column(SQLFunction("MAX", args: SQLIdentifier(column)), as: "m").from(table)
                    .where("case_name", .equal, caseName).first(decodingColumn: "m", as: Int64?.self) ?? nil
                parts.append(v.map(String.init) ?? "-")
            }
            let caseName = caseName
            parts.append(String(try await Self.count(db, "runs") { $0.where("case_name", .equal, caseName) }))
            parts.append(String(try await Self.count(db, "survey") { $0.where("case_name", .equal, caseName) }))
            return parts.joined(separator: ".")
        }
    }

    /// One page of the findings that name a value (an address in their fields, a path or hash of
    /// their file), across every host, oldest first: what a pivot lists beside its counts.
    public func findings(naming kind: StoredValue.Kind, _ value: String, roles: Set<VerdictRole> = [], offset: Int, limit: Int) async throws -> Page<HostFinding> {
        let (offset, limit) = bounded(offset, limit)
        guard let needle = kind.stored(value).map(Text.column) else { return Page(items: [], total: 0, offset: offset, limit: limit) }
        let roleNames: [any Encodable & Sendable] = roles.map(\.rawValue).sorted()
        return try await exclusive {
            let roleTerm: SQLQueryString = roleNames.isEmpty ? "" : "AND f.role IN (\(binds: roleNames))"
            let total = try await db.raw("""
                SELECT COUNT(*) AS n FROM finding_values v JOIN findings f ON f.run_id = v.run_id AND f.ord = v.ord
                WHERE v.case_name = \(bind: caseName) AND v.kind = \(bind: kind.rawValue) AND v.value = \(bind: needle) \(roleTerm)
                """).first(decodingColumn: "n", as: Int64.self) ?? 0
            let rows = try await db.raw("""
                SELECT f.host, f.run_id, f.body FROM finding_values v JOIN findings f ON f.run_id = v.run_id AND f.ord = v.ord
                WHERE v.case_name = \(bind: caseName) AND v.kind = \(bind: kind.rawValue) AND v.value = \(bind: needle) \(roleTerm)
                ORDER BY f.first_ms, f.host, f.run_id, f.ord LIMIT \(bind: Int64(limit)) OFFSET \(bind: Int64(offset))
                """).all()
            let decoder = JSONCoding.decoder()
            let items = try rows.map { r in
                HostFinding(host: try r.decode(column: "host", as: String.self), run: try r.decode(column: "run_id", as: String.self),
                            finding: try decoder.decode(Finding.self, from: Data(try r.decode(column: "body", as: String.self).utf8)))
            }
            return Page(items: items, total: Int(total), offset: offset, limit: limit)
        }
    }
}
