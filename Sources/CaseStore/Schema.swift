import Foundation
import HuntCore
import SQLKit

/// The case store's schema, one migration per version, written with SQLKit's builders so each
/// engine gets its own dialect (types, identity columns) from the same definition.
///
/// Tables hang off `runs`: everything a hunt found is keyed by its run, so replacing a run
/// (the same evidence hunted again) deletes and rewrites its rows in one transaction.
/// Times are `*_ms` (milliseconds since 1970, UTC); bodies are exhunt's JSON (`JSONCoding`).
enum Schema {
    /// Raise with each migration; a store newer than this binary is refused, not guessed at.
    static let version = 4

    static func migrate(_ db: any SQLDatabase, engine: CaseStore.Engine) async throws {
        // Two workers opening a new store at once: the first creates, the second waits and finds it made.
        try await db.raw(engine == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN").run()
        do {
            if engine == .postgres { try await db.raw("SELECT pg_advisory_xact_lock(20210302)").run() }
            try await db.create(table: "meta").ifNotExists()
                .column("key", type: .text, .primaryKey(autoIncrement: false))
                .column("value", type: .text, .notNull)
                .run()
            let current = try await db.select().column("value").from("meta").where("key", .equal, "schema")
                .first(decodingColumn: "value", as: String.self).flatMap { Int($0) } ?? 0
            if current > version {
                throw CaseStoreError("this case store has schema \(current); this exhunt knows \(version) and older: use a newer exhunt")
            }
            if current < 1 { try await v1(db) }
            if current < 2 { try await v2(db) }
            if current < 3 { try await v3(db) }
            if current < 4 { try await v4(db) }
            try await db.insert(into: "meta").columns("key", "value").values(SQLBind("schema"), SQLBind(String(version)))
                .onConflict(with: ["key"]) { $0.set(excludedValueOf: "value") }.run()
            try await db.raw("COMMIT").run()
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    private static func v1(_ db: any SQLDatabase) async throws {
        try await db.create(table: "cases").ifNotExists()
            .column("name", type: .text, .primaryKey(autoIncrement: false))
            .column("created_ms", type: .bigint, .notNull)
            .column("created_by", type: .text, .notNull)
            .run()
        // A host: its key (lowercased name) and the names and addresses the evidence and the
        // survey give it.
        try await db.create(table: "hosts").ifNotExists()
            .column("case_name", type: .text, .notNull)
            .column("host", type: .text, .notNull)
            .column("display", type: .text, .notNull)
            .column("source", type: .text, .notNull)
            .column("created_ms", type: .bigint, .notNull)
            .primaryKey("case_name", "host")
            .run()
        try await db.create(table: "host_names").ifNotExists()
            .column("case_name", type: .text, .notNull)
            .column("host", type: .text, .notNull)
            .column("kind", type: .text, .notNull)          // name | address
            .column("value", type: .text, .notNull)         // lowercased
            .column("source", type: .text, .notNull)
            .primaryKey("case_name", "kind", "value", "host")
            .run()
        // A hunt run (or a rematch): what was hunted, with what, by whom, and how it ended.
        try await db.create(table: "runs").ifNotExists()
            .column("run_id", type: .text, .primaryKey(autoIncrement: false))
            .column("case_name", type: .text, .notNull)
            .column("host", type: .text, .notNull)
            .column("kind", type: .text, .notNull)          // hunt | rematch
            .column("status", type: .text, .notNull)        // running | complete | incomplete
            .column("evidence_root", type: .text, .notNull)
            .column("evidence_digest", type: .text, .notNull)
            .column("tool", type: .text, .notNull)
            .column("version", type: .text, .notNull)
            .column("rules_digest", type: .text)
            .column("rules_loaded", type: .bigint)
            .column("options", type: .text, .notNull)        // JSON array of the command line
            .column("analyst", type: .text, .notNull)
            .column("started_ms", type: .bigint, .notNull)
            .column("finished_ms", type: .bigint)
            .column("duration_ms", type: .bigint)
            .column("verdict", type: .text)
            .column("evidence_start_ms", type: .bigint)
            .column("evidence_end_ms", type: .bigint)
            .column("files", type: .bigint)
            .column("bytes", type: .bigint)
            .column("log_lines", type: .bigint)
            .column("hits", type: .bigint)
            .column("report", type: .text)                   // the report without findings, manifest, problems
            .run()
        try await index(db, "runs", ["case_name", "host"])
        try await index(db, "runs", ["case_name", "evidence_root"])
        try await db.create(table: "families").ifNotExists()
            .column("run_id", type: .text, .notNull)
            .column("family", type: .text, .notNull)
            .column("title", type: .text, .notNull)
            .column("verdict", type: .text, .notNull)
            .column("judged", type: .bigint, .notNull)
            .column("first_ms", type: .bigint)
            .column("compromised", type: .bigint, .notNull)
            .column("attempted", type: .bigint, .notNull)
            .column("body", type: .text, .notNull)
            .primaryKey("run_id", "family")
            .run()
        try await db.create(table: "findings").ifNotExists()
            .column("run_id", type: .text, .notNull)
            .column("ord", type: .bigint, .notNull)
            .column("case_name", type: .text, .notNull)
            .column("host", type: .text, .notNull)
            .column("rule_id", type: .text, .notNull)
            .column("title", type: .text, .notNull)
            .column("role", type: .text, .notNull)
            .column("family", type: .text)
            .column("severity", type: .text, .notNull)
            .column("source", type: .text, .notNull)
            .column("first_ms", type: .bigint)
            .column("last_ms", type: .bigint)
            .column("hits", type: .bigint, .notNull)
            .column("path", type: .text, .notNull)
            .column("body", type: .text, .notNull)
            .primaryKey("run_id", "ord")
            .run()
        try await index(db, "findings", ["case_name", "first_ms"])
        try await db.create(table: "manifest").ifNotExists()
            .column("run_id", type: .text, .notNull)
            .column("ord", type: .bigint, .notNull)
            .column("path", type: .text, .notNull)
            .column("size", type: .bigint, .notNull)
            .column("sha256", type: .text)
            .column("bytes_read", type: .bigint, .notNull)
            .column("modified_ms", type: .bigint)
            .column("time_source", type: .text)
            .primaryKey("run_id", "ord")
            .run()
        try await db.create(table: "problems").ifNotExists()
            .column("run_id", type: .text, .notNull)
            .column("ord", type: .bigint, .notNull)
            .column("level", type: .text, .notNull)
            .column("code", type: .text, .notNull)
            .column("path", type: .text)
            .column("line", type: .bigint)
            .column("body", type: .text, .notNull)
            .primaryKey("run_id", "ord")
            .run()
        // What the findings teach about the attacker (addresses, user agents, web-shell paths and
        // hashes), and every client address, file hash and path the evidence shows (for rematch).
        for table in ["indicators", "seen"] {
            try await db.create(table: table).ifNotExists()
                .column("run_id", type: .text, .notNull)
                .column("case_name", type: .text, .notNull)
                .column("host", type: .text, .notNull)
                .column("kind", type: .text, .notNull)
                .column("value", type: .text, .notNull)
                .column("first_ms", type: .bigint)
                .column("last_ms", type: .bigint)
                .column("hits", type: .bigint, .notNull)
                .column("role", type: .text)
                .primaryKey("run_id", "kind", "value")
                .run()
            // Covers the fleet's "which hosts share this value" without reading the table.
            try await index(db, table, ["case_name", "kind", "value", "host"])
        }
        // Which hosts have each learned indicator, and how many: kept as runs are ingested, so
        // "which attacker addresses are on several hosts" reads a few rows at any fleet size.
        // A host's values are the union of its runs'.
        try await db.create(table: "indicator_hosts").ifNotExists()
            .column("case_name", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            .column("value", type: .text, .notNull)
            .column("host", type: .text, .notNull)
            .primaryKey("case_name", "kind", "value", "host")
            .run()
        try await db.create(table: "indicator_counts").ifNotExists()
            .column("case_name", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            .column("value", type: .text, .notNull)
            .column("hosts", type: .bigint, .notNull)
            .primaryKey("case_name", "kind", "value")
            .run()
        try await index(db, "indicator_counts", ["case_name", "kind", "hosts"])
        try await db.create(table: "survey").ifNotExists()
            .column("record_id", type: .text, .primaryKey(autoIncrement: false))
            .column("case_name", type: .text, .notNull)
            .column("target", type: .text, .notNull)
            .column("ip", type: .text)
            .column("port", type: .bigint, .notNull)
            .column("exchange", type: .bigint, .notNull)
            .column("build", type: .text)
            .column("vulnerable", type: .text)               // families the survey calls vulnerable, comma-separated
            .column("backdoored", type: .bigint, .notNull)
            .column("error", type: .text)
            .column("time_ms", type: .bigint, .notNull)
            .column("body", type: .text, .notNull)
            .run()
        try await index(db, "survey", ["case_name", "target"])
        try await index(db, "survey", ["case_name", "ip"])
        try await db.create(table: "notes").ifNotExists()
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("case_name", type: .text, .notNull)
            .column("host", type: .text, .notNull)
            .column("kind", type: .text, .notNull)           // note | tag | untag | override | remediated
            .column("family", type: .text)
            .column("value", type: .text, .notNull)
            .column("reason", type: .text, .notNull)
            .column("at_ms", type: .bigint, .notNull)
            .column("who", type: .text, .notNull)
            .run()
        try await index(db, "notes", ["case_name", "host"])
        try await db.create(table: "audit").ifNotExists()
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("case_name", type: .text, .notNull)
            .column("at_ms", type: .bigint, .notNull)
            .column("who", type: .text, .notNull)
            .column("action", type: .text, .notNull)
            .column("subject", type: .text, .notNull)
            .column("detail", type: .text, .notNull)
            .run()
    }

    /// Version 2: fleet work (`exhunt fleet`): one row per queued hunt or survey shard, written by
    /// the submitter and by the workers, so status needs no broker and the dashboard reads the same.
    private static func v2(_ db: any SQLDatabase) async throws {
        try await db.create(table: "work").ifNotExists()
            .column("work_id", type: .text, .primaryKey(autoIncrement: false))
            .column("case_name", type: .text, .notNull)
            .column("batch", type: .text, .notNull)
            .column("kind", type: .text, .notNull)             // hunt | survey
            .column("subject", type: .text, .notNull)          // the bundle's path, or the shard ("2/4")
            .column("state", type: .text, .notNull)            // queued | running | retrying | done | failed
            .column("attempts", type: .bigint, .notNull)
            .column("max_attempts", type: .bigint, .notNull)
            .column("worker", type: .text)
            .column("exit_status", type: .bigint)
            .column("outcome", type: .text)
            .column("error", type: .text)
            .column("submitted_ms", type: .bigint, .notNull)
            .column("submitted_by", type: .text, .notNull)
            .column("started_ms", type: .bigint)
            .column("finished_ms", type: .bigint)
            .run()
        try await index(db, "work", ["case_name", "state"])
        try await index(db, "work", ["case_name", "batch"])
    }

    /// Version 3: findings counted per run, hour and weight as they are stored, so the fleet
    /// timeline draws a million findings from a few thousand rows (filled from the findings
    /// already there when an older store is opened); each hunt's story kept with its run.
    private static func v3(_ db: any SQLDatabase) async throws {
        try await db.create(table: "timeline_hours").ifNotExists()
            .column("run_id", type: .text, .notNull)
            .column("case_name", type: .text, .notNull)
            .column("hour_ms", type: .bigint, .notNull)
            .column("role", type: .text, .notNull)
            .column("findings", type: .bigint, .notNull)
            .primaryKey("run_id", "hour_ms", "role")
            .run()
        // Covering, in GROUP BY order: the timeline's counts are read from the index alone.
        try await index(db, "timeline_hours", ["case_name", "hour_ms", "role", "findings"])
        // Each hunt's incident story, told from all its findings at ingest (the host page shows it).
        try await db.alter(table: "runs").column("story", type: .text).run()
        try await db.raw("""
            INSERT INTO timeline_hours (run_id, case_name, hour_ms, role, findings)
            SELECT run_id, case_name, (first_ms / 3600000) * 3600000, role, COUNT(*) FROM findings WHERE first_ms IS NOT NULL
            GROUP BY 1, 2, 3, 4
            """).run()
    }

    /// Version 4: which findings name which values (addresses, user agents, paths, hashes), so a
    /// pivot lists the findings and their log lines across the fleet, not only counts. Filled from
    /// the findings already there when an older store is opened.
    private static func v4(_ db: any SQLDatabase) async throws {
        try await db.create(table: "finding_values").ifNotExists()
            .column("run_id", type: .text, .notNull)
            .column("ord", type: .bigint, .notNull)
            .column("case_name", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            .column("value", type: .text, .notNull)
            .primaryKey("run_id", "ord", "kind", "value")
            .run()
        try await index(db, "finding_values", ["case_name", "kind", "value", "run_id", "ord"])
        try await index(db, "findings", ["case_name", "host", "first_ms"])
        // Existing findings, a page at a time in key order (memory bounded whatever the store holds).
        let decoder = JSONCoding.decoder()
        var after: (run: String, ord: Int64)?
        while true {
            var q = db.select().columns("run_id", "ord", "case_name", "body").from("findings")
            if let after {
                q = q.where(SQLBinaryExpression(SQLGroupExpression([SQLColumn("run_id"), SQLColumn("ord")] as [any SQLExpression]), .greaterThan,
                                                SQLGroupExpression([SQLBind(after.run), SQLBind(after.ord)] as [any SQLExpression])))
            }
            let rows = try await q.orderBy("run_id").orderBy("ord").limit(1_000).all()
            guard let last = rows.last else { break }
            var values: [[any Encodable & Sendable]] = []
            for r in rows {
                let run = try r.decode(column: "run_id", as: String.self), ord = try r.decode(column: "ord", as: Int64.self)
                let caseName = try r.decode(column: "case_name", as: String.self)
                guard let f = try? decoder.decode(Finding.self, from: Data(try r.decode(column: "body", as: String.self).utf8)) else { continue }
                for v in FindingValues.of(f) { values.append([run, ord, caseName, v.kind.rawValue, Text.column(v.value)]) }
            }
            var start = 0
            while start < values.count {
                let insert = db.insert(into: "finding_values").columns("run_id", "ord", "case_name", "kind", "value")
                for row in values[start..<min(values.count, start + 500)] { _ = insert.values(row) }
                try await insert.ignoringConflicts().run()
                start += 500
            }
            after = (try last.decode(column: "run_id", as: String.self), try last.decode(column: "ord", as: Int64.self))
        }
    }

    /// `IF NOT EXISTS` (both engines have it; SQLKit's builder does not): a migration run again over
    /// tables an earlier version already indexed goes on.
    private static func index(_ db: any SQLDatabase, _ table: String, _ columns: [String]) async throws {
        try await db.raw("CREATE INDEX IF NOT EXISTS \(ident: "\(table)_" + columns.joined(separator: "_")) ON \(ident: table) (\(idents: columns, joinedBy: ", "))").run()
    }
}
