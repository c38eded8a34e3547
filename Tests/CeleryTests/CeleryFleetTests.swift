import CaseStore
import Foundation
import HuntCore
import Testing
import TestSupport
import ZIPFoundation

/// The Celery integration for real: Debian's redis-server on a loopback port of the test's own,
/// two `python3 -m exhunt_celery worker` processes (celery and redis from PyPI), the exhunt
/// binary, and the PostgreSQL case store. Each test uses its own broker and case name.
let redisServer = installed(["/usr/bin/redis-server", "/usr/local/bin/redis-server"])
let hasCelery: Bool = (try? run("/usr/bin/env", ["python3", "-c", "import celery, redis"]).status) == 0
/// CI sets `EXHUNT_REQUIRE_FLEET=1`: there, a missing Redis, Celery or PostgreSQL fails instead of skipping.
let fleetRequired = ProcessInfo.processInfo.environment["EXHUNT_REQUIRE_FLEET"] == "1"
let fleetPeers = redisServer != nil && hasCelery && hasPostgres
let integration = repoRoot.appendingPathComponent("Integrations/celery")

/// Ports of this process's own: below the ephemeral range, apart from the other suites' (20,000–32,000).
func fleetPort(_ offset: Int) -> Int { 14_000 + Int(getpid() % 500) * 10 + offset }

/// A broker and workers for one test.
final class CeleryFleet {
    let dir: URL
    let broker: String
    let caseName = "fleet-" + UUID().uuidString.prefix(8).lowercased()
    let queue: String
    private let redis: Child
    private(set) var workers: [Child] = []

    init(port: Int, name: String = #function) throws {
        dir = try tempDir(name)
        broker = "redis://127.0.0.1:\(port)/0"
        queue = "exhunt-test-\(caseName)"
        redis = try Child([redisServer ?? "redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                          environment: [:], log: dir.appendingPathComponent("redis.log"))
        try redis.waitFor("Ready to accept connections", seconds: 20)
    }

    /// The environment every worker and submitter shares.
    var environment: [String: String] {
        ["EXHUNT_BROKER": broker, "EXHUNT_QUEUE": queue, "EXHUNT_BINARY": productBinary("exhunt").path, "EXHUNT_CASE": testPostgresURL,
         "PYTHONPATH": integration.path, "EXHUNT_SLOTS": "1", "EXHUNT_JOBS": "1", "EXHUNT_RETRY_DELAY": "1",
         // Short, so a lost worker's task comes back within the test; above the longest attempt here.
         "EXHUNT_VISIBILITY_TIMEOUT": "45", "EXHUNT_TIME_LIMIT": "240"]
    }

    @discardableResult
    func startWorker() throws -> Child {
        let n = workers.count + 1
        let w = try Child(["/usr/bin/env", "python3", "-m", "exhunt_celery", "worker", "--hostname", "w\(n)@\(caseName)"],
                          environment: environment, log: dir.appendingPathComponent("worker-\(n).log"))
        try w.waitFor("ready.", seconds: 60)
        workers.append(w)
        return w
    }

    func exhunt(_ args: [String]) throws -> ProgramOutput {
        try run(productBinary("exhunt"), args, environment: environment)
    }

    func store() async throws -> CaseStore {
        try await CaseStore.open(.postgres(url: testPostgresURL), caseName: caseName, analyst: "test")
    }

    /// Waits until no work is queued, running or retrying.
    func settle(seconds: Double) async throws -> [WorkItem] {
        let end = Date().addingTimeInterval(seconds)
        while true {
            let s = try await store()
            let items = try await s.work()
            try await s.close()
            if !items.isEmpty, items.allSatisfy({ $0.state == .done || $0.state == .failed }) { return items }
            guard Date() < end else {
                throw Stuck(what: "work not finished: \(items.map { "\($0.subject) \($0.state)" })",
                            output: workers.map { String($0.output.suffix(2_000)) }.joined(separator: "\n---\n"))
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// The worker whose pool process runs `subject` now (its work row names host:pid).
    func worker(running subject: String, seconds: Double) async throws -> Child {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let s = try await store()
            let row = try await s.work(states: [.running]).first { $0.subject == subject }
            try await s.close()
            if let pid = row?.worker?.split(separator: ":").last.flatMap({ Int32($0) }),
               let w = workers.first(where: { $0.process.isRunning && processGroup(of: pid) == $0.process.processIdentifier }) {
                return w
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Stuck(what: "\(subject) never ran", output: "")
    }
}

/// Processes whose command line holds `needle` (the exhunt a worker started for one bundle).
func processes(containing needle: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return args.first.map { $0.hasSuffix("/exhunt") } == true && args.contains(needle)
    }
}

@Suite("Fleet on Celery and Redis", .serialized, .enabled(if: fleetPeers || fleetRequired, "needs redis-server, celery and redis from PyPI, and PostgreSQL (Scripts/setup.sh --tests)"), .timeLimit(.minutes(20)))
struct CeleryFleetTests {
    @Test("CI has Redis, Celery and PostgreSQL for the fleet tests", .enabled(if: fleetRequired))
    func peersArePresent() {
        #expect(redisServer != nil)
        #expect(hasCelery)
        #expect(hasPostgres, "\(testPostgresURL) does not answer")
    }

    /// Bundles as responders hand them over: the samples as folders (KAPE's layout, which they
    /// are), as zips, in Velociraptor's layout, under other names; one made large enough to be
    /// killed in the middle of.
    static func bundles(in dir: URL) throws -> (bundles: [(path: String, verdict: String)], large: String) {
        let samples = repoRoot.appendingPathComponent("Samples")
        var out: [(String, String)] = []
        for i in 1...20 {
            let kind = i % 2 == 1 ? "compromised" : "clean"
            let source = samples.appendingPathComponent("\(kind)-server")
            let name = String(format: "exch%02d", i)
            switch i % 5 {
            case 2:
                let to = dir.appendingPathComponent("\(name).zip")
                try FileManager.default.zipItem(at: source, to: to, shouldKeepParent: false)
                out.append((to.path, kind))
            case 3:
                let to = dir.appendingPathComponent("\(name).zip")
                try velociraptorZip(from: source, to: to)
                out.append((to.path, kind))
            default:
                let to = dir.appendingPathComponent(name)
                try FileManager.default.copyItem(at: source, to: to)
                out.append((to.path, kind))
            }
        }
        // The large one (exch01, compromised): a busy IIS log of a month after the intrusion.
        let large = out[0].0
        let log = URL(fileURLWithPath: large).appendingPathComponent("C/inetpub/logs/LogFiles/W3SVC1/u_ex2103.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        try h.write(contentsOf: Data("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-01 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n".utf8))
        var block = ""
        for s in 0..<2_000 {
            block += String(format: "2021-03-01 %02d:%02d:%02d 10.20.0.10 GET /owa/service.svc action=GetItem 443 CORP\\alice 10.20.1.%d Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 %d\n",
                            (s / 3600) % 24, (s / 60) % 60, s % 60, 10 + s % 200, 20 + s % 90)
        }
        let chunk = Data(block.utf8)
        for _ in 0..<(400 * 1024 * 1024 / chunk.count) { try h.write(contentsOf: chunk) }
        try h.close()
        return (out, large)
    }

    /// Velociraptor's collection zip: files under uploads/auto/ with the drive as `C%3A`.
    static func velociraptorZip(from source: URL, to zip: URL) throws {
        let archive = try Archive(url: zip, accessMode: .create)
        // The compromised sample is KAPE's layout (C\...); the clean one is laid out from Exchange's
        // and IIS's folders, which sit under C:\Program Files\Microsoft and C:\ on a server.
        let kapeRoot = source.appendingPathComponent("C")
        let root = FileManager.default.fileExists(atPath: kapeRoot.path) ? kapeRoot : source
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return }
        for case let file as URL in walker where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let rel = String(file.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            let onDisk = rel.hasPrefix("Exchange Server/") ? "Program Files/Microsoft/" + rel : rel
            try archive.addEntry(with: "uploads/auto/C%3A/" + onDisk, fileURL: file, compressionMethod: .deflate)
        }
    }

    @Test("Twenty bundles on two workers end as twenty hosts with their verdicts; a worker killed mid-hunt leaves every host once; a crashing bundle fails with its reason")
    func bundlesBecomeHostsOnceEach() async throws {
        let fleet = try CeleryFleet(port: fleetPort(1))
        let (bundles, large) = try Self.bundles(in: fleet.dir.appendingPathComponent("bundles"))
        try fleet.startWorker()
        try fleet.startWorker()
        let submit = try fleet.exhunt(["fleet", "submit", "--case-name", fleet.caseName, "--host-from-name", "--json"] + bundles.map(\.path))
        #expect(submit.status == 0, "\(String(decoding: submit.stderr, as: UTF8.self))")

        // The worker hunting the large bundle is killed with everything it started, as a machine
        // that dies; a replacement joins, and the broker delivers the hunt again.
        let victim = try await fleet.worker(running: large, seconds: 120)
        try await Task.sleep(for: .seconds(1))
        #expect(processes(containing: large).count == 1, "exhunt hunts the large bundle")
        victim.killGroup()
        #expect(processes(containing: large).isEmpty, "the killed worker's exhunt died with it")
        try fleet.startWorker()

        // A bundle that crashes exhunt: each attempt's exhunt is killed while it hunts, as the
        // kernel's OOM killer kills (SIGKILL; Swift's runtime catches and reports a SIGSEGV sent by
        // another process without dying of it, so that signal cannot stand in for a crash).
        let crashing = fleet.dir.appendingPathComponent("bundles/crashing")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: large), to: crashing)
        let crash = try fleet.exhunt(["fleet", "submit", "--case-name", fleet.caseName, "--host-from-name", "--attempts", "2", crashing.path])
        #expect(crash.status == 0)
        // Each is killed in the middle of its hunt: two seconds in, its run recorded as running.
        var crashed: Set<Int32> = []
        var seen: [Int32: Date] = [:]
        let end = Date().addingTimeInterval(240)
        while crashed.count < 2, Date() < end {
            for pid in processes(containing: crashing.path) where !crashed.contains(pid) {
                let first = seen[pid] ?? Date()
                seen[pid] = first
                if Date().timeIntervalSince(first) > 2 {
                    kill(pid, SIGKILL)
                    crashed.insert(pid)
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(crashed.count == 2)

        let items = try await fleet.settle(seconds: 300)
        let s = try await fleet.store()
        let hosts = try await s.hosts()
        let summary = try await s.summary()
        try await s.close()
        #expect(items.count == 21)
        #expect(items.filter { $0.state == .done }.count == 20, "\(items.filter { $0.state != .done }.map { "\($0.subject): \($0.error ?? "")" })")
        let failed = try #require(items.first { $0.subject == crashing.path })
        #expect(failed.state == .failed && failed.attempts == 2)
        #expect(failed.exitStatus == -Int(SIGKILL))
        #expect(failed.error?.contains("killed by signal 9 (SIGKILL)") == true, "\(failed.error ?? "")")
        let redelivered = try #require(items.first { $0.subject == large })
        #expect(redelivered.attempts == 2 && redelivered.state == .done)

        #expect(hosts.count == 20, "\(hosts.map(\.host))")
        for b in bundles {
            let name = URL(fileURLWithPath: b.path).deletingPathExtension().lastPathComponent
            let host = hosts.first { $0.host == name }
            #expect(host?.verdict.rawValue == b.verdict, "\(name): \(host.map { "\($0.verdict)" } ?? "missing")")
        }
        // Exactly one run per host: the killed attempt's interrupted run was superseded.
        #expect(hosts.allSatisfy { $0.runs == 1 }, "\(hosts.map { "\($0.host) \($0.runs)" })")
        // The crashing bundle's two attempts stay as interrupted runs; the killed one was superseded.
        #expect(summary.incompleteRuns == 2)

        let status = try fleet.exhunt(["fleet", "status", "--case-name", fleet.caseName])
        #expect(status.text.contains("20 done") && status.text.contains("1 failed"), "\(status.text)")
        #expect(status.text.contains("SIGKILL"))
    }

    /// 1,024 emulated servers on 127.80.0.0/22, with a mix of builds, SSRF answers and shells.
    static func servers() -> [String] {
        let builds = ["15.1.2176.2", "15.2.986.36", "15.2.792.3", "15.0.1497.12", "15.1.2308.8", "15.2.1118.7"]
        return (0..<1_024).map { i in
            var spec = #"{"ip":"127.80.\#(i / 256).\#(i % 256)","build":"\#(builds[i % builds.count])","ssrf":"\#(i % 3 == 0 ? "vulnerable" : "patched")""#
            if i % 17 == 0 { spec += #","shells":["/aspnet_client/supp0rt.aspx"]"# }
            return spec + "}"
        }
    }

    @Test("A /22 surveyed in four shards with a worker killed gives the same records as one survey on one machine")
    func shardedSurveyEqualsOneSurvey() async throws {
        let fleet = try CeleryFleet(port: fleetPort(2))
        let port = fleetPort(3)
        let spec = fleet.dir.appendingPathComponent("fleet.jsonl")
        try (Self.servers().joined(separator: "\n") + "\n").write(to: spec, atomically: true, encoding: .utf8)
        let emulator = try Child([productBinary("exchange-emulator").path, "--fleet", spec.path, "--http-port", "\(port)", "--https-port", "0"],
                                 environment: [:], log: fleet.dir.appendingPathComponent("emulator.log"))
        try emulator.waitFor("ready", seconds: 60)
        let options = ["--ports", "http:\(port)", "--check-ssrf", "--probe-shells"]

        let single = fleet.dir.appendingPathComponent("single.jsonl").path
        let one = try fleet.exhunt(["survey", "127.80.0.0/22", "--no-progress", "-o", single] + options)
        #expect(one.status == 0)
        let expected = try Self.records(String(contentsOfFile: single, encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(expected.count == 1_024)

        try fleet.startWorker()
        try fleet.startWorker()
        let records = fleet.dir.appendingPathComponent("records")
        // Fewer hosts at a time than the survey's default: records reach the shard's file one host
        // after another, and a shard is still running when its worker is killed.
        let submit = try fleet.exhunt(["fleet", "survey", "127.80.0.0/22", "--shards", "4", "--records", records.path,
                                       "--case-name", fleet.caseName, "--survey-options"] + options + ["--concurrency", "24"])
        #expect(submit.status == 0, "\(String(decoding: submit.stderr, as: UTF8.self))")
        let victim = try await fleet.worker(running: "1/4", seconds: 60)
        // Killed once the shard has written some of its hosts, well before all of them.
        func written() -> Int {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: records.path))?.filter { $0.hasPrefix("shard-1-of-4") } ?? []
            return files.map { ((try? String(contentsOfFile: records.appendingPathComponent($0).path, encoding: .utf8)) ?? "").split(separator: "\n").count }
                .reduce(0, +)
        }
        let end = Date().addingTimeInterval(60)
        while written() < 20, Date() < end { try await Task.sleep(for: .milliseconds(100)) }
        victim.killGroup()
        let before = written()
        #expect(before >= 20 && before < 200, "the killed shard had written \(before) of its hosts")
        try fleet.startWorker()

        let items = try await fleet.settle(seconds: 240)
        #expect(items.count == 4 && items.allSatisfy { $0.state == .done }, "\(items.map { "\($0.subject) \($0.state) \($0.error ?? "")" })")
        #expect(items.first { $0.subject == "1/4" }?.attempts == 2)

        let s = try await fleet.store()
        let summary = try await s.summary()
        try await s.close()
        #expect(summary.surveyRecords == 1_024, "every host once in the store")
        var lines: [String] = []
        for f in try FileManager.default.contentsOfDirectory(atPath: records.path) {
            lines += try String(contentsOfFile: records.appendingPathComponent(f).path, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let sharded = try Self.records(lines)
        #expect(sharded.count == 1_024)
        #expect(sharded == expected)
        // Nothing left on the broker: every delivery acknowledged.
        let status = try fleet.exhunt(["fleet", "status", "--case-name", fleet.caseName, "--broker", fleet.broker, "--json"])
        let answer = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
        #expect((answer["broker"] as? [String: Any])?["waiting"] as? Int == 0)
        #expect((answer["broker"] as? [String: Any])?["unacknowledged"] as? Int == 0)
        #expect((answer["counts"] as? [String: Int])?["done"] == 4)
        withExtendedLifetime(emulator) {}
    }

    /// What a survey says of each host, without when: target, port, build, statuses, SSRF, shells.
    static func records(_ lines: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in lines {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let t = o["target"] as? String else { continue }
            let keep = o.filter { ["target", "port", "build", "status", "ssrf", "webshells", "exchange", "error"].contains($0.key) }
            out["\(t):\(o["port"] ?? "")"] = String(decoding: try JSONSerialization.data(withJSONObject: keep, options: [.sortedKeys]), as: UTF8.self)
        }
        return out
    }
}
