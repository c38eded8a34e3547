import CaseStore
import Foundation
import Hunt
import HuntCore
import Indicators
import Testing
import TestSupport

/// The engines every case-store test runs on: an SQLite file always, PostgreSQL when a server
/// answers (CI starts one; `Scripts/postgres.sh` does locally).
enum Engine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }

    static var available: [Engine] { hasPostgres ? [.sqlite, .postgres] : [.sqlite] }

    /// A new store: a new file for SQLite; a new case (its own name) in the shared test database
    /// for PostgreSQL, so tests running at once never see each other's rows.
    func location(_ dir: URL) -> CaseLocation {
        switch self {
        case .sqlite: .sqlite(path: dir.appendingPathComponent("case.db").path)
        case .postgres: .postgres(url: testPostgresURL)
        }
    }

    func open(_ dir: URL, caseName: String = "t-" + UUID().uuidString) async throws -> CaseStore {
        try await CaseStore.open(location(dir), caseName: caseName, analyst: "tester")
    }
}

let context = RunContext(analyst: "tester", options: ["exhunt", "test"])

/// A host's report as a hunt would write it, with findings that name attackers.
func report(host: String, verdict: Verdict = .compromised, attackers: [String] = [], shells: [(path: String, sha: String)] = [],
            firstHit: Date? = nil, clients: [String] = [], hostAddress: String? = nil, evidence: String? = nil) -> HostReport {
    var findings: [Finding] = []
    for (i, a) in attackers.enumerated() {
        var f = Finding(rule: .init(id: "rule-ssrf", title: "SSRF", source: "builtin:x.yml"), cves: ["CVE-2021-26855"], attack: [],
                        severity: .critical, role: .compromised, timestamp: firstHit.map { $0.addingTimeInterval(Double(i) * 60) },
                        source: .httpProxy, evidence: .init(location: EvidenceLocation(path: "Logging/HttpProxy/Ecp/a.LOG", line: 10 + i),
                                                             excerpt: "line from \(a)"))
        f.group = ["ClientIpAddress": a, "UrlStem": "/ecp/y.js"]
        f.fields = ["UserAgent": "ExchangeServicesClient/0.0.0.0"]
        f.family = "proxylogon"
        f.count = 3
        findings.append(f)
    }
    for s in shells {
        var f = Finding(rule: .init(id: "web-shell", title: "Web shell", source: "builtin:y.yml"), cves: [], attack: [],
                        severity: .critical, role: .compromised, timestamp: firstHit, source: .evidenceFile,
                        evidence: .init(location: EvidenceLocation(path: s.path), excerpt: "<%@ Page %>", sha256: s.sha))
        f.group = ["Path": s.path]
        findings.append(f)
    }
    var families: [FamilyVerdict] = []
    if verdict == .compromised {
        families.append(FamilyVerdict(family: "proxylogon", title: "ProxyLogon", verdict: .compromised, reasons: ["found"],
                                      windowStart: nil, coveredBy: ["HttpProxy"], compromised: findings.count, firstExploitation: firstHit))
    } else {
        families.append(FamilyVerdict(family: "proxylogon", title: "ProxyLogon", verdict: verdict, reasons: ["looked"], windowStart: nil, coveredBy: []))
    }
    let manifest = [ManifestEntry(path: "Logging/HttpProxy/Ecp/a.LOG", size: 100, sha256: String(repeating: "a", count: 64), bytesRead: 100,
                                  modified: nil)]
        + shells.map { ManifestEntry(path: $0.path, size: 10, sha256: $0.sha, bytesRead: 10, modified: firstHit) }
    var r = HostReport(version: "test", host: host, hostSource: "--host", evidenceRoot: evidence ?? "/evidence/\(host)", generatedAt: Date(),
                       windowStart: Date(timeIntervalSince1970: 1_609_632_000), verdict: verdict, verdictReasons: ["because"],
                       families: families,
                       coverage: [Coverage(source: "HttpProxy/Ecp", logsource: .httpProxy, files: 1, lines: 10, bytes: 100,
                                           earliest: Date(timeIntervalSince1970: 1_609_632_000), latest: Date(timeIntervalSince1970: 1_615_000_000))],
                       findings: findings, problems: [Problem(.warning, code: "test", message: "a problem", path: "x", line: 1)],
                       manifest: manifest, stats: .init(files: manifest.count, bytes: 110, logLines: 10, rulesLoaded: 1, seconds: 0.5, hits: 3))
    r.stats.rulesDigest = "digest-1"
    r.clientAddresses = clients.map { SeenAddress(address: $0, first: firstHit, last: firstHit, lines: 2) }
    if let hostAddress { r.hostAddresses = [HostName(name: hostAddress, source: "IIS s-ip")] }
    return r
}

func json<T: Encodable>(_ v: T) throws -> String {
    String(decoding: try JSONCoding.encoder(pretty: false).encode(v), as: UTF8.self)
}

@Suite("Case store", .timeLimit(.minutes(20)))
struct CaseStoreTests {
    @Test("CI has its PostgreSQL server", .enabled(if: postgresRequired))
    func postgresThere() {
        #expect(hasPostgres, "EXHUNT_REQUIRE_POSTGRES is set but \(testPostgresURL) does not answer")
    }

    @Test("A PostgreSQL server is there, or the skipped tests are named", .enabled(if: !hasPostgres && !postgresRequired))
    func postgresMissingLocally() {
        // Visible in the test output: the case-store tests ran on SQLite only.
        print("note: no PostgreSQL at \(testPostgresURL) (run Scripts/postgres.sh as root); case-store tests ran on SQLite only")
    }

    @Test("The sample servers, hunted for real, land as hosts with their verdicts; the same evidence again is one run", arguments: Engine.available)
    func samples(engine: Engine) async throws {
        let dir = try tempDir()
        let store = try await engine.open(dir)
        let detectors = try await Detectors.load(Detectors.Sources())
        var hunted: [HostReport] = []
        for (sample, name) in [("compromised-server", "bad"), ("clean-server", "good")] {
            var config = HuntConfiguration(evidence: repoRoot.appendingPathComponent("Samples/\(sample)"))
            config.host = name
            let r = try await Hunter(configuration: config, detectors: detectors).run()
            hunted.append(r)
            let outcome = try await store.ingest(r, context: context)
            #expect(outcome == .added(run: outcome.run, host: name))
        }
        // Hunted again: the same evidence with the same rules is the same run, unchanged.
        let again = try await store.ingest(hunted[0], context: context)
        #expect(again == .unchanged(run: again.run, host: "bad"))
        let hosts = try await store.hosts()
        #expect(hosts.map(\.host) == ["bad", "good"])
        #expect(hosts.map(\.verdict) == [.compromised, hunted[1].verdict])
        #expect(hosts[0].runs == 1)
        #expect(hosts[0].compromisedAt != nil)
        // What comes back is what went in, finding for finding.
        guard let run = hosts[0].latestRun, let back = try await store.report(run: run) else {
            Issue.record("no run"); return
        }
        #expect(try json(back.findings) == json(hunted[0].findings))
        #expect(try json(back.manifest) == json(hunted[0].manifest))
        #expect(try json(back.problems) == json(hunted[0].problems))
        #expect(back.families.count == hunted[0].families.count)
        // The attacker's addresses of the sample are learned, and its client addresses kept.
        let learned = try await store.shared(.address, minHosts: 1)
        #expect(learned.contains { $0.value == "165.232.154.116" && $0.hosts == ["bad"] })
        #expect(!hunted[0].clientAddresses.isEmpty)
        let seen = try await store.pivot(.address, hunted[0].clientAddresses[0].address)
        #expect(seen.contains { $0.host == "bad" && !$0.learned })
        try await store.close()
    }

    @Test("A fleet with known shared attackers: order of fall, shared addresses and shells, summary", arguments: Engine.available)
    func fleet(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let t0 = Date(timeIntervalSince1970: 1_614_470_400) // 2021-02-28
        let shared = "203.0.113.66"
        let shell = (path: "C/inetpub/wwwroot/aspnet_client/help.aspx", sha: String(repeating: "b", count: 64))
        for i in 0..<12 {
            let name = String(format: "exch%02d", i)
            let sharing = [3, 7, 9].contains(i)
            let compromised = sharing || i == 1
            let r = report(host: name, verdict: compromised ? .compromised : .clean,
                           attackers: compromised ? (sharing ? [shared, "198.18.0.\(i)"] : ["198.18.0.\(i)"]) : [],
                           shells: i == 7 || i == 9 ? [shell] : [],
                           firstHit: t0.addingTimeInterval(Double(12 - i) * 3600), clients: ["10.0.0.\(i)", "192.0.2.1"])
            _ = try await store.ingest(r, context: context)
        }
        let s = try await store.summary()
        #expect(s.hosts == 12)
        #expect(s.byVerdict["compromised"] == 4)
        #expect(s.byVerdict["clean"] == 8)
        #expect(s.byFamily["proxylogon"]?["compromised"] == 4)
        // Later hosts were hit earlier: 9, 7, 3, 1.
        #expect(s.fallen.map(\.host) == ["exch09", "exch07", "exch03", "exch01"])
        #expect(s.earliestCompromise?.host == "exch09")
        let addresses = try await store.shared(.address)
        #expect(addresses.map(\.value) == [shared])
        #expect(addresses.first?.hosts == ["exch03", "exch07", "exch09"])
        let hashes = try await store.shared(.sha256)
        #expect(hashes.map(\.hosts) == [["exch07", "exch09"]])
        // Every host's logs show 192.0.2.1, a client, not an attacker: shared among what was seen only.
        #expect(try await store.shared(.address, minHosts: 12, learned: false).map(\.value) == ["192.0.2.1"])
        #expect(try await store.shared(.address, minHosts: 12, learned: true).isEmpty)
        try await store.close()
    }

    @Test("Rematch finds a planted address and a planted file hash without the evidence; the same list again is the same runs",
          arguments: Engine.available)
    func rematch(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let t0 = Date(timeIntervalSince1970: 1_614_470_400)
        for i in 0..<6 {
            let r = report(host: "h\(i)", verdict: .clean, shells: i == 2 ? [(path: "C/inetpub/wwwroot/aspnet_client/x.aspx", sha: String(repeating: "c", count: 64))] : [],
                           firstHit: t0, clients: i == 4 ? ["198.51.100.23", "10.1.1.1"] : ["10.1.1.\(i)"])
            _ = try await store.ingest(r, context: context)
        }
        var set = IndicatorSet()
        set.add(Indicator(kind: .ip, value: "198.51.100.23", source: "cert-feed"))
        set.add(Indicator(kind: .sha256, value: String(repeating: "C", count: 64), source: "cert-feed"))
        set.add(Indicator(kind: .md5, value: String(repeating: "d", count: 32), source: "cert-feed"))
        set.add(Indicator(kind: .ip, value: "192.0.2.200", source: "cert-feed"))
        let weigh: @Sendable (Indicator.Kind) -> VerdictRole = { $0 == .ip ? .attempted : .compromised }
        let result = try await store.rematch(set, label: "cert-feed", weigh: weigh, context: context)
        #expect(result.hosts == ["h4": 1, "h2": 1])
        #expect(result.notMatchable == ["md5": 1])
        let again = try await store.rematch(set, label: "cert-feed", weigh: weigh, context: context)
        #expect(again.hosts == result.hosts)
        let hosts = try await store.hosts()
        #expect(hosts.first { $0.host == "h4" }?.verdict == .attempted)
        #expect(hosts.first { $0.host == "h2" }?.verdict == .compromised)
        #expect(hosts.first { $0.host == "h0" }?.verdict == .clean)
        let reports = try await store.reports()
        #expect(reports.first { $0.host == "h4" }?.findings.filter { $0.rule.id == "exhunt-ioc-ip" }.count == 1)
        try await store.close()
    }

    @Test("Hostile strings from evidence come back byte for byte", arguments: Engine.available)
    func hostile(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let nasty = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'; DROP TABLE runs; -- \u{202E}evil\u{0}nul ☃ \\ \"q\""
        var r = report(host: "nasty'host\"<b>", attackers: ["203.0.113.9"], firstHit: Date(timeIntervalSince1970: 1_614_470_400))
        r.findings[0].fields["UserAgent"] = nasty
        r.findings[0].evidence.excerpt = nasty
        r.findings[0].extracted["summary"] = nasty
        r.verdictReasons = [nasty]
        _ = try await store.ingest(r, context: context)
        let back = try await store.reports()
        #expect(back.count == 1)
        #expect(back.first?.host == r.host)
        #expect(try json(back.first?.findings ?? []) == json(r.findings))
        #expect(back.first?.verdictReasons == [nasty])
        // The user agent is a learned indicator (U+0000 is kept as U+FFFD in indexed columns, on both engines).
        let agents = try await store.shared(.userAgent, minHosts: 1)
        #expect(agents.map(\.value).contains(nasty.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")))
        let pivot = try await store.pivot(.userAgent, nasty)
        #expect(pivot.count == 1)
        try await store.close()
    }

    @Test("A file is found by its name alone, any case; LIKE's wildcards in the name are only characters", arguments: Engine.available)
    func pathsByName(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let sha = String(repeating: "c", count: 64)
        _ = try await store.ingest(report(host: "exch01", shells: [("C/inetpub/wwwroot/aspnet_client/help.aspx", sha),
                                                                   ("C/inetpub/wwwroot/aspnet_client/a_b%.aspx", sha)]), context: context)
        let help = try await store.paths(named: "HELP.aspx")
        #expect(help.count == 1 && help.allSatisfy { $0.hasSuffix("help.aspx") }, "\(help)")
        #expect(try await store.paths(named: "a_b%.aspx").count == 1)
        #expect(try await store.paths(named: "%.aspx").isEmpty)
        #expect(try await store.paths(named: "_elp.aspx").isEmpty)
        #expect(try await store.paths(named: "elp.aspx").isEmpty, "a name, not a suffix of one")
        try await store.close()
    }

    @Test("A pivot lists the findings that name its value across hosts, oldest first, by weight when asked", arguments: Engine.available)
    func findingsNamingAValue(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let t0 = Date(timeIntervalSince1970: 1_614_470_400)
        let sha = String(repeating: "d", count: 64)
        _ = try await store.ingest(report(host: "exch-a", attackers: ["203.0.113.7", "198.51.100.3"], firstHit: t0.addingTimeInterval(600)), context: context)
        _ = try await store.ingest(report(host: "exch-b", attackers: ["::ffff:203.0.113.7"], shells: [("C/inetpub/wwwroot/aspnet_client/s.aspx", sha)],
                                          firstHit: t0), context: context)
        let page = try await store.findings(naming: .address, "203.0.113.7", offset: 0, limit: 10)
        #expect(page.total == 2)
        #expect(page.items.map(\.host) == ["exch-b", "exch-a"], "oldest first")
        #expect(page.items.last?.finding.evidence.excerpt == "line from 203.0.113.7")
        #expect(try await store.findings(naming: .address, "203.0.113.7:443", offset: 0, limit: 10).total == 2, "the same client, written with a port")
        #expect(try await store.findings(naming: .address, "203.0.113.7", offset: 1, limit: 1).items.map(\.host) == ["exch-a"])
        #expect(try await store.findings(naming: .userAgent, "ExchangeServicesClient/0.0.0.0", offset: 0, limit: 10).total == 3)
        #expect(try await store.findings(naming: .sha256, sha.uppercased(), offset: 0, limit: 10).items.map(\.host) == ["exch-b"])
        #expect(try await store.findings(naming: .path, "C:\\inetpub\\wwwroot\\aspnet_client\\S.ASPX", offset: 0, limit: 10).total == 1)
        #expect(try await store.findings(naming: .address, "203.0.113.7", roles: [.attempted], offset: 0, limit: 10).total == 0)
        #expect(try await store.findings(naming: .address, "203.0.113.7", roles: [.compromised, .attempted], offset: 0, limit: 10).total == 2)
        #expect(try await store.findings(naming: .address, "not an address", offset: 0, limit: 10).total == 0)
        // The same evidence hunted again replaces its findings' values, never doubles them.
        _ = try await store.ingest(report(host: "exch-b", attackers: ["203.0.113.7"], shells: [("C/inetpub/wwwroot/aspnet_client/s.aspx", sha)],
                                          firstHit: t0), context: context)
        #expect(try await store.findings(naming: .address, "203.0.113.7", offset: 0, limit: 10).total == 2)
        try await store.close()
    }

    @Test("A host is one host whatever the case of its name (one tile, one row)", arguments: Engine.available)
    func hostNamesIgnoreCase(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        _ = try await store.ingest(report(host: "EXCH01", attackers: ["203.0.113.7"], firstHit: Date(timeIntervalSince1970: 1_614_470_400), evidence: "/e/one"), context: context)
        _ = try await store.ingest(report(host: "exch01", verdict: .clean, evidence: "/e/two"), context: context)
        _ = try await store.ingest(report(host: "Exch01", verdict: .clean, evidence: "/e/three"), context: context)
        let hosts = try await store.hosts()
        #expect(hosts.count == 1, "\(hosts.map(\.host))")
        #expect(try await store.host("eXcH01")?.verdict == .compromised)
        try await store.close()
    }

    @Test("A store of schema 3 learns which findings name which values when this exhunt opens it",
          .enabled(if: pythonCommand != nil, "needs python3 (edits the SQLite file as an older exhunt left it)"))
    func schema3Backfill() async throws {
        let dir = try tempDir()
        let store = try await Engine.sqlite.open(dir, caseName: "old")
        _ = try await store.ingest(report(host: "exch-a", attackers: ["203.0.113.7"], firstHit: Date(timeIntervalSince1970: 1_614_470_400)), context: context)
        try await store.close()
        let path = dir.appendingPathComponent("case.db").path
        _ = try run(try #require(pythonCommand), ["-c", """
            import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DROP TABLE finding_values")
            c.execute("UPDATE meta SET value='3' WHERE key='schema'"); c.commit()
            """, path])
        let reopened = try await Engine.sqlite.open(dir, caseName: "old")
        let page = try await reopened.findings(naming: .address, "203.0.113.7", offset: 0, limit: 10)
        #expect(page.total == 1 && page.items.first?.host == "exch-a")
        try await reopened.close()
    }

    @Test("Two writers at once, each with its own connection: every host once", arguments: Engine.available)
    func concurrentWriters(engine: Engine) async throws {
        let dir = try tempDir()
        let name = "t-" + UUID().uuidString
        let a = try await engine.open(dir, caseName: name)
        let b = try await engine.open(dir, caseName: name)
        let same = report(host: "both", attackers: ["203.0.113.1"], firstHit: Date(timeIntervalSince1970: 1_614_470_400))
        async let one: Void = {
            for i in 0..<8 { _ = try await a.ingest(report(host: "a\(i)", attackers: ["198.18.1.\(i)"]), context: context) }
            _ = try await a.ingest(same, context: context)
        }()
        async let two: Void = {
            for i in 0..<8 { _ = try await b.ingest(report(host: "b\(i)", attackers: ["198.18.2.\(i)"]), context: context) }
            _ = try await b.ingest(same, context: context)
        }()
        _ = try await (one, two)
        let hosts = try await a.hosts()
        #expect(hosts.count == 17)
        #expect(hosts.first { $0.host == "both" }?.runs == 1)
        try await a.close()
        try await b.close()
    }

    @Test("Survey records: idempotent, linked to hunted hosts by address, the unhunted exposed listed", arguments: Engine.available)
    func survey(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        _ = try await store.ingest(report(host: "mail1", verdict: .clean, hostAddress: "192.0.2.10"), context: context)
        let lines = [
            #"{"target":"192.0.2.10","ip":"192.0.2.10","port":443,"exchange":true,"build":"15.1.2176.2","status":{"proxylogon":"vulnerable","proxyshell":"vulnerable"},"webshells":[],"error":null,"time":"2021-03-09T10:00:00Z"}"#,
            #"{"target":"192.0.2.11","ip":"192.0.2.11","port":443,"exchange":true,"build":"15.1.2176.2","status":{"proxylogon":"vulnerable"},"webshells":["/aspnet_client/x.aspx"],"error":null,"time":"2021-03-09T10:00:01Z"}"#,
            #"{"target":"192.0.2.12","ip":"192.0.2.12","port":443,"exchange":true,"build":"15.1.2242.4","status":{"proxylogon":"patched"},"webshells":[],"error":null,"time":"2021-03-09T10:00:02Z"}"#,
            "not json",
        ]
        let first = try await store.ingestSurvey(lines: lines, context: context, origin: "test")
        #expect(first.added == 3)
        #expect(first.rejected == [4])
        let second = try await store.ingestSurvey(lines: lines, context: context, origin: "test")
        #expect(second.added == 0 && second.unchanged == 3)
        let s = try await store.summary()
        #expect(s.surveyRecords == 3)
        #expect(s.exposedNotHunted.map(\.target) == ["192.0.2.11"])
        #expect(s.exposedNotHunted.first?.backdoored == true)
        // mail1's logs end 2021-03-06; the survey saw it exposed on 2021-03-09.
        #expect(s.staleHunts.map(\.host) == ["mail1"])
        try await store.close()
    }

    @Test("An interrupted hunt shows as incomplete until its report lands; analyst actions are audited", arguments: Engine.available)
    func interruptedAndAudit(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let provisional = try await store.beginRun(evidenceRoot: "/evidence/x", label: "x", context: context)
        #expect(try await store.summary().incompleteRuns == 1)
        _ = try await store.ingest(report(host: "x", attackers: ["203.0.113.5"], evidence: "/evidence/x"), context: context, provisional: provisional)
        #expect(try await store.summary().incompleteRuns == 0)
        try await store.record(.override, host: "X", value: "clean", reason: "the hits are our own pentest", who: "alice")
        try await store.record(.tag, host: "x", value: "dmz", who: "bob")
        try await store.record(.note, host: "x", value: "<b>rebuilt</b>", who: "bob")
        await #expect(throws: CaseStoreError.self) { try await store.record(.override, host: "x", value: "clean", reason: " ", who: "eve") }
        await #expect(throws: CaseStoreError.self) { try await store.record(.note, host: "nobody", value: "n", who: "eve") }
        let h = try await store.hosts().first
        #expect(h?.verdict == .clean)
        #expect(h?.huntedVerdict == .compromised)
        #expect(h?.override?.who == "alice")
        #expect(h?.tags == ["dmz"])
        let audit = try await store.auditLog()
        #expect(audit.first?.action == "note" && audit.first?.who == "bob")
        #expect(audit.contains { $0.action == "override" && $0.who == "alice" && $0.detail.contains("pentest") })
        #expect(audit.contains { $0.action == "ingest" })
        #expect(try await store.auditLog(since: Date().addingTimeInterval(3600)).isEmpty)
        #expect(try await store.auditLog(since: Date().addingTimeInterval(-3600)).count == audit.count)
        try await store.close()
    }

    @Test("A store made by a newer exhunt is refused, not guessed at")
    func newerSchema() async throws {
        let dir = try tempDir()
        let store = try await Engine.sqlite.open(dir)
        try await store.close()
        let sqlite = try #require(installed(["/usr/bin/sqlite3"]) ?? Optional("/usr/bin/python3"))
        let path = dir.appendingPathComponent("case.db").path
        if sqlite.hasSuffix("sqlite3") {
            _ = try run(sqlite, [path, "UPDATE meta SET value = '99' WHERE key = 'schema'"])
        } else {
            _ = try run(sqlite, ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE meta SET value='99' WHERE key='schema'\"); c.commit()", path])
        }
        await #expect(throws: CaseStoreError.self) { _ = try await Engine.sqlite.open(dir) }
    }
    @Test("Fleet work rows: claimed per delivery, retried while attempts remain, failed past them, never run once finished", arguments: Engine.available)
    func workRows(engine: Engine) async throws {
        let store = try await engine.open(try tempDir())
        let items = try await store.enqueueWork([(.hunt, "/shared/a.zip"), (.hunt, "/shared/b"), (.survey, "1/2")], batch: "b1",
                                                maxAttempts: 2, who: "alice")
        #expect(items.map(\.state) == [.queued, .queued, .queued])
        #expect(try await store.activeWorkSubjects(kind: .hunt) == ["/shared/a.zip", "/shared/b"])
        let a = items[0].id, b = items[1].id, shard = items[2].id

        // a: fails once (exhunt exit 2), then succeeds on its second attempt.
        let first = try await store.claimWork(a, worker: "w1:10")
        #expect(first.run && first.attempt == 1 && first.maxAttempts == 2 && first.state == .running)
        #expect(try await store.finishWork(a, succeeded: false, exitStatus: 2, outcome: nil, error: "exhunt: no rules\n", worker: "w1:10") == .retrying)
        #expect(try await store.claimWork(a, worker: "w2:11").attempt == 2)
        #expect(try await store.finishWork(a, succeeded: true, exitStatus: 1, outcome: "compromised exch01", error: nil, worker: "w2:11") == .done)
        // A late duplicate delivery of finished work is not run, and cannot undo it.
        let late = try await store.claimWork(a, worker: "w3:12")
        #expect(!late.run && late.state == .done)
        #expect(try await store.finishWork(a, succeeded: false, exitStatus: -9, outcome: nil, error: "lost", worker: "w3:12") == .done)

        // b: its workers are lost twice (claimed, never finished); the third delivery fails it.
        _ = try await store.claimWork(b, worker: "w1:20")
        _ = try await store.claimWork(b, worker: "w2:21")
        let third = try await store.claimWork(b, worker: "w3:22")
        #expect(!third.run && third.state == .failed)
        #expect(third.reason?.contains("was lost before it finished") == true)

        // The shard: a time limit is not worth another attempt.
        _ = try await store.claimWork(shard, worker: "w1:30")
        #expect(try await store.finishWork(shard, succeeded: false, retry: false, exitStatus: 130, outcome: nil,
                                           error: "stopped: the time limit of 60 s was reached", worker: "w1:30") == .failed)

        let counts = try await store.workCounts(batch: "b1")
        #expect(counts == [.done: 1, .failed: 2])
        let rows = try await store.work(batch: "b1", states: [.failed])
        #expect(Set(rows.map(\.subject)) == ["/shared/b", "1/2"])
        #expect(rows.first { $0.subject == "1/2" }?.error?.contains("time limit") == true)
        let done = try await store.work(states: [.done])
        #expect(done.first?.outcome == "compromised exch01" && done.first?.attempts == 2 && done.first?.finished != nil)
        #expect(try await store.activeWorkSubjects(kind: .hunt).isEmpty)
        // Every end is in the audit log, with the submission.
        let audit = try await store.auditLog()
        #expect(audit.filter { $0.action == "fleet-failed" }.count == 2)
        #expect(audit.contains { $0.action == "fleet-done" && $0.subject == "/shared/a.zip" })
        #expect(audit.contains { $0.action == "fleet-submit" && $0.who == "alice" })
        await #expect(throws: CaseStoreError.self) { try await store.claimWork("no-such-work", worker: "w") }
        try await store.close()
    }
}

/// A probe aggregated over its senders (issue 33) still names them to the store: the top senders
/// are values of the finding, so a scanner's address is learned and pivots to the probe.
@Suite(.timeLimit(.minutes(20))) struct AggregatedFindingValuesTests {
    @Test func topSendersAreValuesOfTheFinding() {
        var f = Finding(rule: .init(id: "probe", title: "SSRF probe", source: "builtin:p.yml"), cves: [], attack: [],
                        severity: .medium, role: .attempted, timestamp: nil, source: .iis,
                        evidence: .init(location: EvidenceLocation(path: "u_ex210303.log", line: 1), excerpt: "GET /owa/auth/x.js"))
        f.group = ["cs-uri-stem": "/owa/auth/x.js"]
        f.fields = ["c-ip": "198.51.100.1"]
        f.spread = Finding.Spread(field: "c-ip", distinct: 3, estimated: false,
                                  top: [.init(value: "198.51.100.2", hits: 9), .init(value: "198.51.100.1", hits: 4), .init(value: "not an address", hits: 1)],
                                  exact: true)
        let addresses = FindingValues.of(f).filter { $0.kind == .address }.map(\.value)
        #expect(Set(addresses) == ["198.51.100.1", "198.51.100.2"])
    }
}
