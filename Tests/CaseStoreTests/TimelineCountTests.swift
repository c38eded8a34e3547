import CaseStore
import Foundation
import HuntCore
import Testing
import TestSupport

/// The fleet timeline counts from hourly counts kept at ingest; they must agree with the
/// findings counted one by one, whatever the range, and an older store must get them when opened.
@Suite("Case store timeline counts", .timeLimit(.minutes(20)))
struct TimelineCountTests {
    static let t0 = Date(timeIntervalSince1970: 1_614_470_400)  // 2021-02-28T00:00:00Z

    /// Three hosts whose findings fall a minute apart over several hours, starting at odd minutes.
    static func reports() -> [HostReport] {
        (0..<3).map { h in
            report(host: "tl-\(h)", attackers: (0..<(150 + 40 * h)).map { "203.0.113.\($0 % 250)" },
                   firstHit: t0.addingTimeInterval(Double(h) * 5_000 + 17 * 60))
        }
    }

    static func brute(_ reports: [HostReport], _ from: Date, _ to: Date, role: VerdictRole? = nil) -> Int {
        reports.flatMap(\.findings).filter { f in
            guard let t = f.timestamp else { return false }
            return t >= from && t < to && (role == nil || f.role == role)
        }.count
    }

    static let ranges: [(Date, Date)] = [
        (t0, t0.addingTimeInterval(86_400)),                                        // hour-aligned, everything
        (t0.addingTimeInterval(30 * 60), t0.addingTimeInterval(3 * 3_600 + 10 * 60)),  // part hours at both ends
        (t0.addingTimeInterval(50 * 60), t0.addingTimeInterval(55 * 60)),              // inside one hour
        (t0.addingTimeInterval(-86_400), t0.addingTimeInterval(10 * 86_400)),          // wider than the case
    ]

    func check(_ store: CaseStore, _ reports: [HostReport]) async throws {
        for (from, to) in Self.ranges {
            let page = try await store.timelineFindings(from: from, to: to, offset: 0, limit: 5)
            #expect(page.total == Self.brute(reports, from, to), "\(from) – \(to)")
            let compromised = try await store.timelineFindings(from: from, to: to, filter: TimelineFilter(roles: [.compromised]), offset: 0, limit: 5)
            #expect(compromised.total == Self.brute(reports, from, to, role: .compromised))
            #expect(page.items.map(\.time) == page.items.map(\.time).sorted { ($0 ?? .distantPast) < ($1 ?? .distantPast) })
        }
        // Hour-aligned and long enough for hourly counts: the chart's bars hold every finding.
        let buckets = try await store.timelineBuckets(from: Self.t0, to: Self.t0.addingTimeInterval(3 * 86_400), buckets: 60)
        #expect(buckets.map(\.count).reduce(0, +) == Self.brute(reports, Self.t0, Self.t0.addingTimeInterval(3 * 86_400)))
        // Short ranges are counted from the findings themselves, bucket by bucket.
        let short = try await store.timelineBuckets(from: Self.t0.addingTimeInterval(30 * 60), to: Self.t0.addingTimeInterval(90 * 60), buckets: 60)
        #expect(short.map(\.count).reduce(0, +) == Self.brute(reports, Self.t0.addingTimeInterval(30 * 60), Self.t0.addingTimeInterval(90 * 60)))
        let span = try #require(try await store.timelineSpan())
        #expect(span.first == reports.flatMap(\.findings).compactMap(\.timestamp).min())
        // One host (its rows, its bars, its span) and one family, over ranges long and short.
        let one = reports[2]
        for (from, to) in Self.ranges {
            let filter = TimelineFilter(host: one.host)
            #expect(try await store.timelineFindings(from: from, to: to, filter: filter, offset: 0, limit: 5).total == Self.brute([one], from, to))
            let bars = try await store.timelineBuckets(from: from, to: to, buckets: 60, filter: filter)
            #expect(bars.map(\.count).reduce(0, +) == Self.brute([one], from, to), "\(from) – \(to)")
            #expect(try await store.timelineFindings(from: from, to: to, filter: TimelineFilter(family: "proxyshell"), offset: 0, limit: 5).total == 0)
            #expect(try await store.timelineFindings(from: from, to: to, filter: TimelineFilter(family: "proxylogon"), offset: 0, limit: 5).total
                    == Self.brute(reports, from, to))
        }
        #expect(try await store.timelineSpan(host: one.host)?.first == one.findings.compactMap(\.timestamp).min())
        #expect(try await store.timelineSpan(host: "nobody") == nil)
    }

    @Test("Counts from hourly counts equal the findings counted one by one; a re-ingested run is counted once", arguments: Engine.available)
    func countsAgree(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let reports = Self.reports()
        for r in reports { _ = try await store.ingest(r, context: context) }
        try await check(store, reports)
        // The same evidence with other rules replaces its run: its hours are not counted twice.
        var again = reports[1]
        again.stats.rulesDigest = "digest-2"
        _ = try await store.ingest(again, context: context)
        try await check(store, reports)
        try await store.close()
    }

    @Test("A store written before the hourly counts gets them when opened",
          .enabled(if: pythonCommand != nil, "needs python3 (rewinds the store to schema 2 with its sqlite3)"))
    func migration() async throws {
        let dir = try tempDir()
        let store = try await Engine.sqlite.open(dir, caseName: "old")
        let reports = Self.reports()
        for r in reports { _ = try await store.ingest(r, context: context) }
        try await store.close()
        // What schema 2 held: no hourly counts, no stories.
        let path = dir.appendingPathComponent("case.db").path
        let rewind = try run(URL(fileURLWithPath: try #require(pythonCommand)), ["-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            c.execute("DROP TABLE timeline_hours"); c.execute("ALTER TABLE runs DROP COLUMN story")
            c.execute("UPDATE meta SET value = '2' WHERE key = 'schema'"); c.commit()
            """, path])
        #expect(rewind.status == 0, "\(String(decoding: rewind.stderr, as: UTF8.self))")
        let reopened = try await Engine.sqlite.open(dir, caseName: "old")
        try await check(reopened, reports)
        let hosts = try await reopened.hosts()
        let run = try #require(hosts.first?.latestRun)
        #expect(try await reopened.story(run: run) == nil, "runs stored before stories have none")
        try await reopened.close()
    }
}
