import CaseStore
import Foundation
import HuntCore

// The case store at fleet scale: ingest HOSTS generated host reports of FINDINGS aggregated
// findings and CLIENTS distinct client addresses each, then time the fleet summary, the
// shared-address query and a pivot. Usage: exhunt-bench-case DB [HOSTS FINDINGS CLIENTS]
// (DB an SQLite path or a postgres:// URL). Benchmarks/bench-case.sh runs it on both engines
// beside the peer figure (the same rows through the engine's own bulk path).

let args = CommandLine.arguments
guard args.count >= 2 else { print("usage: exhunt-bench-case DB [HOSTS FINDINGS CLIENTS]"); exit(2) }
let hosts = args.count > 2 ? Int(args[2]) ?? 1000 : 1000
let perHost = args.count > 3 ? Int(args[3]) ?? 1000 : 1000
let clientsPerHost = args.count > 4 ? Int(args[4]) ?? 5000 : 5000
let location = CaseLocation(args[1])
let context = RunContext(analyst: "bench", options: args)
let t0 = Date(timeIntervalSince1970: 1_614_470_400)

/// One host's report: attackers drawn from a pool shared across the fleet (so hosts share some),
/// clients from the host's own range.
func makeReport(_ h: Int) -> HostReport {
    var rng = SplitMix(seed: UInt64(h) &* 0x9E37_79B9)
    var findings: [Finding] = []
    findings.reserveCapacity(perHost)
    for i in 0..<perHost {
        let attacker = "198.18.\(Int(rng.next() % 200)).\(Int(rng.next() % 250))"
        let role: VerdictRole = i % 50 == 0 ? .compromised : .attempted
        var f = Finding(rule: .init(id: "rule-\(i % 40)", title: "Rule \(i % 40)", source: "builtin:bench.yml"), cves: ["CVE-2021-26855"],
                        attack: ["T1190"], severity: role == .compromised ? .critical : .medium, role: role,
                        timestamp: t0.addingTimeInterval(Double(h * 37 + i) * 60), source: .httpProxy,
                        evidence: .init(location: EvidenceLocation(path: "Logging/HttpProxy/Ecp/HttpProxy_2021030101-\(i % 24).LOG", line: i + 1),
                                        excerpt: "2021-03-01T01:02:03.000Z,\(UUID().uuidString),15,1,2176,2,,Ecp,mail.example.org,/ecp/y.js,,,false,,,ServerInfo~a]@ex:444/autodiscover/autodiscover.xml?#,ExchangeServicesClient/0.0.0.0,\(attacker)"))
        f.group = ["ClientIpAddress": attacker, "UrlStem": "/ecp/y\(i % 7).js"]
        f.fields = ["UserAgent": "ExchangeServicesClient/0.0.\(i % 5).0"]
        f.family = "proxylogon"
        f.count = 1 + Int(rng.next() % 20)
        f.samples = [f.evidence.path].map { EvidenceLocation(path: $0, line: i + 1) }
        findings.append(f)
    }
    let name = String(format: "exch%04d", h)
    var r = HostReport(version: "bench", host: name, hostSource: "--host", evidenceRoot: "/evidence/\(name)", generatedAt: Date(),
                       windowStart: t0, verdict: .compromised, verdictReasons: ["bench"],
                       families: [FamilyVerdict(family: "proxylogon", title: "ProxyLogon", verdict: .compromised, reasons: ["bench"], windowStart: t0,
                                                coveredBy: ["HttpProxy"], compromised: perHost / 50, attempted: perHost, firstExploitation: findings.first?.timestamp)],
                       coverage: [], findings: findings, problems: [],
                       manifest: (0..<20).map { ManifestEntry(path: "Logging/HttpProxy/Ecp/f\($0).LOG", size: 1 << 20, sha256: String(format: "%064x", h * 100 + $0), bytesRead: 1 << 20, modified: t0) },
                       stats: .init(files: 20, bytes: 20 << 20, logLines: 1_000_000, rulesLoaded: 100, seconds: 10))
    r.stats.rulesDigest = "bench"
    r.clientAddresses = (0..<clientsPerHost).map { SeenAddress(address: "10.\(h % 250).\($0 / 250).\($0 % 250)", first: t0, last: t0, lines: 3) }
    return r
}

func median(_ f: () async throws -> Void) async throws -> Double {
    var times: [Double] = []
    for _ in 0..<5 {
        let s = Date()
        try await f()
        times.append(Date().timeIntervalSince(s) * 1000)
    }
    return times.sorted()[2]
}

// A fresh case per run, or the one named by EXHUNT_BENCH_CASE_NAME (bench-serve.sh serves it).
let caseName = ProcessInfo.processInfo.environment["EXHUNT_BENCH_CASE_NAME"] ?? "bench-\(UUID().uuidString.prefix(8))"
let store = try await CaseStore.open(location, caseName: caseName, analyst: "bench")
let start = Date()
var rows = 0
for h in 0..<hosts {
    let r = makeReport(h)
    _ = try await store.ingest(r, context: context)
    rows += r.findings.count + r.clientAddresses.count
    if h % 100 == 99 { FileHandle.standardError.write(Data("\(h + 1) hosts, \(Int(Double(rows) / Date().timeIntervalSince(start))) rows/s\n".utf8)) }
}
let seconds = Date().timeIntervalSince(start)
print(String(format: "ingest: %d hosts, %d findings, %d client addresses in %.1f s: %.0f rows/s (findings + addresses), %.1f hosts/s",
             hosts, hosts * perHost, hosts * clientsPerHost, seconds, Double(rows) / seconds, Double(hosts) / seconds))
let summary = try await median { _ = try await store.summary() }
let sharedAddresses = try await median { _ = try await store.shared(.address) }
let sharedPage = try await median { _ = try await store.shared(.address, limit: 100) }
let pivot = try await median { _ = try await store.pivot(.address, "198.18.7.7") }
let shared = try await store.shared(.address)
print(String(format: "fleet summary: %.1f ms; shared attacker addresses (%d values on 2+ hosts, with their hosts): %.1f ms, the first 100: %.1f ms; pivot on one address: %.1f ms (median of 5)",
             summary, shared.count, sharedAddresses, sharedPage, pivot))
try await store.close()
