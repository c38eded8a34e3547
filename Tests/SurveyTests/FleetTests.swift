import Foundation
import Testing
import TestSupport

/// The emulator as a child process serving a fleet on loopback addresses; stopped when released.
final class EmulatedFleet {
    let process = Process()
    let httpPort: Int
    let httpsPort: Int

    init(_ servers: [String], httpPort: Int, httpsPort: Int = 0, slowSeconds: Int = 30) throws {
        (self.httpPort, self.httpsPort) = (httpPort, httpsPort)
        let dir = try tempDir("fleet-\(httpPort)")
        let file = dir.appendingPathComponent("fleet.jsonl")
        try (servers.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        process.executableURL = productBinary("exchange-emulator")
        process.arguments = ["--fleet", file.path, "--http-port", "\(httpPort)", "--https-port", "\(httpsPort)",
                             "--slow-seconds", "\(slowSeconds)"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw EmulatorFailed(output: String(decoding: seen, as: UTF8.self)) }
            seen += chunk
        }
    }

    deinit {
        // SIGKILL: whatever signal mask the test runner handed down, the fleet goes away.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    struct EmulatorFailed: Error { var output: String }
}

/// Ports per test so suites running in parallel never meet; below the kernel's ephemeral range
/// (32768+), so no outgoing connection can be holding one.
func testPort(_ offset: Int) -> Int { 20_000 + Int(getpid() % 1_200) * 10 + offset }

func survey(_ args: [String]) throws -> (records: [[String: Any]], summary: String, status: Int32, seconds: Double) {
    let dir = try tempDir("survey-\(UUID().uuidString)")
    let json = dir.appendingPathComponent("out.jsonl").path
    let start = Date()
    let r = try run(productBinary("exhunt"), ["survey", "--no-progress", "-o", json] + args)
    let seconds = Date().timeIntervalSince(start)
    let text = (try? String(contentsOfFile: json, encoding: .utf8)) ?? ""
    let records = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    return (records, r.text + String(decoding: r.stderr, as: UTF8.self), r.status, seconds)
}

func byTarget(_ records: [[String: Any]]) -> [String: [String: Any]] {
    Dictionary(records.map { ($0["target"] as! String, $0) }, uniquingKeysWith: { a, _ in a })
}

@Suite(.serialized, .timeLimit(.minutes(20))) struct FleetTests {
    /// What each emulated server is, and what the survey must say about it. Statuses per the build table.
    static let fleet: [(spec: String, ip: String, build: String?, precision: String?, status: String, ssrf: String?, shells: [String], exchange: Bool)] = [
        (#"{"ip":"127.77.0.1","build":"15.1.2176.2","ssrf":"vulnerable"}"#, "127.77.0.1", "15.1.2176.2", "exact", "VVV", "vulnerable", [], true),
        (#"{"ip":"127.77.0.2","build":"15.2.986.36","ssrf":"patched"}"#, "127.77.0.2", "15.2.986.36", "exact", "PPP", "not-vulnerable", [], true),
        (#"{"ip":"127.77.0.3","build":"15.2.792.3","ssrf":"mitigated","shells":["/aspnet_client/supp0rt.aspx","/owa/auth/errorEE.aspx"],"unknown":"login"}"#,
         "127.77.0.3", "15.2.792.3", "exact", "VVV", "mitigated", ["/aspnet_client/supp0rt.aspx", "/owa/auth/errorEE.aspx"], true),
        (#"{"ip":"127.77.0.4","build":"15.1.2176.9","header":false,"ecp":false,"unknown":"redirect"}"#, "127.77.0.4", nil, "cu", "UUV", "not-vulnerable", [], true),
        (#"{"ip":"127.77.0.5","build":"15.0.1497.12","header":false,"ssrf":"patched","shells":["/aspnet_client/system_web/log.aspx"]}"#,
         "127.77.0.5", "15.0.1497.12", "exact", "PVV", "not-vulnerable", ["/aspnet_client/system_web/log.aspx"], true),
        (#"{"ip":"127.77.0.6","build":"15.1.1415.8","ssrf":"patched","unknown":"login"}"#, "127.77.0.6", "15.1.1415.8", "exact", "UVV", "not-vulnerable", [], true),
        (#"{"ip":"127.77.0.7","behavior":"iis"}"#, "127.77.0.7", nil, nil, "???", nil, [], false),
        (#"{"ip":"127.77.0.8","build":"15.1.2308.8","header":false,"ecp":false,"ssrf":"mitigated"}"#, "127.77.0.8", nil, "cu", "PPV", "mitigated", [], true),
    ]

    static func letters(_ r: [String: Any]) -> String {
        let s = r["status"] as? [String: String] ?? [:]
        return String(["proxylogon", "proxyshell", "proxynotshell"].map { f -> Character in
            switch s[f] { case "patched": "P"; case "vulnerable": "V"; case "uncertain": "U"; default: "?" }
        })
    }

    @Test func mixedFleetIsClassifiedCorrectlyOverHTTPAndHTTPS() throws {
        let http = testPort(0), https = testPort(1)
        let emulator = try EmulatedFleet(Self.fleet.map(\.spec), httpPort: http, httpsPort: https)
        for ports in ["http:\(http)", "https:\(https)"] {
            let out = try survey(["127.77.0.0/29", "127.77.0.8", "--ports", ports, "--check-ssrf", "--probe-shells"])
            #expect(out.status == 0, "\(out.summary)")
            let records = byTarget(out.records)
            #expect(out.records.count == 9, "one record per host: \(out.summary)")
            #expect(records["127.77.0.0"]?["error"] as? String == "connection refused")
            for want in Self.fleet {
                let r = try #require(records[want.ip], "\(want.ip) over \(ports)")
                #expect(r["exchange"] as? Bool == want.exchange, "\(want.ip) \(ports)")
                #expect(r["build"] as? String == want.build, "\(want.ip) \(ports)")
                #expect(r["build_precision"] as? String == want.precision, "\(want.ip) \(ports)")
                #expect(Self.letters(r) == want.status, "\(want.ip) \(ports)")
                if want.exchange { #expect(r["ssrf"] as? String == want.ssrf, "\(want.ip) \(ports)") }
                #expect(Set(r["webshells"] as? [String] ?? []) == Set(want.shells), "\(want.ip) \(ports)")
                #expect(r["ip"] as? String == want.ip)
                #expect(r["error"] is NSNull, "\(want.ip) \(ports): \(r["error"] ?? "")")
            }
            #expect(records["127.77.0.4"]?["cu_level"] as? String == "15.1.2176")
            #expect(records["127.77.0.5"]?["build_evidence"] as? String == "exporttool")
            #expect(records["127.77.0.1"]?["cu"] as? String == "CU19")
            #expect(out.summary.contains("Exchange found: 7"))
            #expect(out.summary.contains("Web shells: 3 URL(s) on 2 host(s)"))
        }
        withExtendedLifetime(emulator) {}
    }

    @Test func resumeSkipsCompletedHosts() throws {
        let http = testPort(2)
        let emulator = try EmulatedFleet(Self.fleet.prefix(4).map(\.spec), httpPort: http)
        let dir = try tempDir("resume")
        let json = dir.appendingPathComponent("out.jsonl").path
        let first = try run(productBinary("exhunt"), ["survey", "--no-progress", "-o", json, "127.77.0.1", "127.77.0.2", "--ports", "http:\(http)"])
        #expect(first.status == 0)
        let second = try run(productBinary("exhunt"), ["survey", "--no-progress", "-o", json, "--resume",
                                                       "127.77.0.1", "127.77.0.2", "127.77.0.3", "127.77.0.4", "--ports", "http:\(http)"])
        #expect(second.text.contains("Resumed: 2 host:port already"), "\(second.text)")
        let lines = try String(contentsOfFile: json, encoding: .utf8).split(separator: "\n")
        let targets = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["target"] as? String }
        #expect(targets.sorted() == ["127.77.0.1", "127.77.0.2", "127.77.0.3", "127.77.0.4"])
        // Written in place: a symlinked output stays a symlink (create-and-rename would replace it,
        // and would replace a device such as /dev/null with a file).
        let real = dir.appendingPathComponent("real.jsonl")
        try "stale line\n".write(to: real, atomically: false, encoding: .utf8)
        let link = dir.appendingPathComponent("link.jsonl")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: real)
        let third = try run(productBinary("exhunt"), ["survey", "--no-progress", "-o", link.path, "127.77.0.1", "--ports", "http:\(http)"])
        #expect(third.status == 0)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) != nil)
        let written = try String(contentsOf: real, encoding: .utf8)
        #expect(!written.contains("stale") && written.contains("127.77.0.1"))
        withExtendedLifetime(emulator) {}
    }

    @Test func surveyRecordsLandInTheCaseStore() throws {
        let http = testPort(7)
        let emulator = try EmulatedFleet(Self.fleet.prefix(4).map(\.spec), httpPort: http)
        let db = try tempDir("survey-case").appendingPathComponent("fleet.db").path
        let targets = ["127.77.0.1", "127.77.0.2", "127.77.0.3", "127.77.0.4"]
        // No --json: the records reach the store through a scratch file.
        let first = try run(productBinary("exhunt"), ["survey", "--no-progress", "--case", db] + targets + ["--ports", "http:\(http)"])
        #expect(first.status == 0, "\(String(decoding: first.stderr, as: UTF8.self))")
        #expect(String(decoding: first.stderr, as: UTF8.self).contains("4 survey record(s) added"))
        let summary = try run(productBinary("exhunt"), ["case", "summary", "--case", db, "--json"])
        let s = try #require(try JSONSerialization.jsonObject(with: summary.stdout) as? [String: Any])
        #expect(s["surveyRecords"] as? Int == 4)
        let exposed = (s["exposedNotHunted"] as? [[String: Any]] ?? []).compactMap { $0["target"] as? String }
        let vulnerable = Self.fleet.prefix(4).filter { $0.status.contains("V") || !$0.shells.isEmpty }.map(\.ip)
        #expect(Set(exposed) == Set(vulnerable), "\(exposed)")
        withExtendedLifetime(emulator) {}
    }

    @Test func namesGoThroughTheResolverAndRateLimitsHold() throws {
        let https = testPort(4)
        let emulator = try EmulatedFleet([#"{"ip":"127.0.0.1","build":"15.2.792.10"}"#], httpPort: 0, httpsPort: https)
        let byName = try survey(["https://localhost:\(https)/owa/"])
        let r = try #require(byName.records.first)
        #expect(r["target"] as? String == "localhost")
        #expect(r["ip"] as? String == "127.0.0.1")
        #expect(r["build"] as? String == "15.2.792.10")
        // 10 requests (one per host; the header gives the build) at 20 per second take at least 0.45 s.
        let limited = try survey(Array(repeating: "https://localhost:\(https)", count: 1) + ["--rate", "20", "--ports", "https:\(https)"]
                                 + (1...9).map { _ in "127.0.0.1" })
        #expect(limited.records.count == 10)
        #expect(limited.seconds >= 0.45, "rate limit not applied: \(limited.seconds) s")
        withExtendedLifetime(emulator) {}
    }

    /// Skipped where the kernel has IPv6 switched off (no ::1 to listen on).
    static var hasIPv6Loopback: Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8) else {
            return !FileManager.default.fileExists(atPath: "/proc/net")
        }
        return table.contains("00000000000000000000000000000001")
    }

    @Test(.enabled(if: hasIPv6Loopback)) func ipv6LoopbackIsSurveyed() throws {
        let http = testPort(5)
        let emulator = try EmulatedFleet([#"{"ip":"::1","build":"15.0.1497.2"}"#], httpPort: http)
        let out = try survey(["::1/128", "--ports", "http:\(http)"])
        let r = try #require(out.records.first)
        #expect(r["target"] as? String == "::1")
        #expect(r["ip"] as? String == "::1")
        #expect(r["build"] as? String == "15.0.1497.2")
        #expect(Self.letters(r) == "VVV")
        withExtendedLifetime(emulator) {}
    }

    /// Every kind of misbehaviour at once: the survey finishes within its time budgets and says what went wrong.
    @Test func hostileServersCannotStallTheSurvey() throws {
        let http = testPort(3)
        let kinds = ["slow", "trickle", "huge", "garbage", "reset", "silent", "close"]
        var specs: [String] = []
        for (i, k) in kinds.enumerated() {
            for j in 0..<4 { specs.append(#"{"ip":"127.78.\#(i).\#(j + 1)","build":"15.1.2176.2","behavior":"\#(k)"}"#) }
        }
        specs.append(#"{"ip":"127.78.9.1","build":"15.1.2176.2","ssrf":"vulnerable"}"#)
        let emulator = try EmulatedFleet(specs, httpPort: http, slowSeconds: 60)
        let out = try survey(["127.78.0.0/20", "--ports", "http:\(http)", "--read-timeout", "1000", "--host-timeout", "4000",
                              "--connect-timeout", "3000", "--retries", "0", "--check-ssrf", "--probe-shells", "--concurrency", "512"])
        #expect(out.status == 0)
        #expect(out.records.count == 4096)
        #expect(out.seconds < 30, "took \(out.seconds) s")
        let r = byTarget(out.records)
        #expect(r["127.78.9.1"]?["build"] as? String == "15.1.2176.2", "a good server among bad ones is still assessed")
        for (i, k) in kinds.enumerated() {
            let rec = try #require(r["127.78.\(i).1"])
            #expect(rec["exchange"] as? Bool == false || rec["error"] is String, "\(k)")
            #expect(rec["build"] is NSNull, "\(k) must not yield a build")
            #expect(rec["ssrf"] is NSNull, "\(k): no SSRF verdict for a server that is not Exchange")
        }
        #expect((r["127.78.0.1"]?["error"] as? String)?.contains("timeout") == true, "slow")
        #expect((r["127.78.3.1"]?["error"] as? String)?.contains("malformed") == true, "garbage")
        #expect((r["127.78.4.1"]?["error"] as? String)?.contains("aborted") == true, "reset")
        // An endless body is cut at the cap (or, on a loaded machine, by the read timeout first).
        let huge = r["127.78.2.1"]
        #expect((huge?["notes"] as? [String])?.first?.contains("longer than") == true
                || (huge?["error"] as? String)?.contains("timeout") == true, "huge: \(huge ?? [:])")
        withExtendedLifetime(emulator) {}
    }
}
