import Foundation
import Testing
@testable import Findings
import HuntCore

/// A probe from many addresses becomes one finding per target that counts them (issue 33's
/// distributed scan); findings recorded without counting stay one per group.
@Suite(.timeLimit(.minutes(20))) struct SpreadTests {
    static func probe(_ address: String, at second: Int) -> Finding {
        var f = Finding(rule: .init(id: "probe", title: "SSRF probe", source: "builtin:probe.yml"), cves: [], attack: [],
                        severity: .medium, role: .attempted, timestamp: Date(timeIntervalSince1970: Double(second)),
                        source: .httpProxy, evidence: .init(location: EvidenceLocation(path: "HttpProxy_1.LOG", line: second), excerpt: "ServerInfo~localhost"))
        f.fields = ["ClientIpAddress": address]
        return f
    }

    static func record(_ sink: FindingsSink, _ address: String, _ n: Int, counted: Bool) {
        sink.record(rule: "probe", groupBy: counted ? ["UrlStem"] : ["ClientIpAddress", "UrlStem"],
                    values: counted ? ["/owa/auth/x.js"] : [address, "/owa/auth/x.js"],
                    counting: counted ? ("ClientIpAddress", address) : nil,
                    time: Date(timeIntervalSince1970: Double(n)), at: EvidenceLocation(path: "HttpProxy_1.LOG", line: n)) { probe(address, at: n) }
    }

    @Test func fewAddressesAreCountedExactlyWithTheirHits() {
        let sink = FindingsSink()
        var n = 0
        for (address, hits) in [("198.18.0.1", 5), ("198.18.0.2", 3), ("198.18.0.3", 1)] {
            for _ in 0..<hits { n += 1; Self.record(sink, address, n, counted: true) }
        }
        let findings = sink.snapshot().findings
        #expect(findings.count == 1)
        let f = findings[0]
        #expect(f.count == 9 && f.group == ["UrlStem": "/owa/auth/x.js"])
        #expect(f.spread == Finding.Spread(field: "ClientIpAddress", distinct: 3, estimated: false,
                                           top: [.init(value: "198.18.0.1", hits: 5), .init(value: "198.18.0.2", hits: 3),
                                                 .init(value: "198.18.0.3", hits: 1)], exact: true))
        #expect(f.spread?.sentence() == "from 3 distinct ClientIpAddress values; most hits: 198.18.0.1 (5), 198.18.0.2 (3), 198.18.0.3 (1)")
    }

    /// 400,000 one-shot addresses, 2,000 scanners probing throughout and one that starts only
    /// after the botnet's wave: an estimate within 3% that says it is one, and the late scanner
    /// and the steady ones named with lower bounds of their hits.
    @Test func aBotnetIsEstimatedAndItsScannersStillNamed() {
        var counter = SpreadCounter(field: "ClientIpAddress")
        for i in 0..<400_000 {
            counter.add("100.\(64 + (i >> 16) & 63).\((i >> 8) & 255).\(i & 255)")
            if i % 2 == 0 { counter.add("198.18.\((i / 2 % 2_000) / 250).\((i / 2 % 2_000) % 250 + 1)") }
        }
        for _ in 0..<5_000 { counter.add("203.0.113.66") }
        let s = counter.spread()
        #expect(s.estimated && !s.exact)
        #expect(abs(Double(s.distinct) - 402_001) / 402_001 < 0.03, "estimate \(s.distinct)")
        #expect(s.top.first?.value == "203.0.113.66" && (s.top.first?.hits ?? 0) > 4_000, "\(s.top)")
        #expect(s.top.count == 10 && s.top.dropFirst().allSatisfy { $0.value.hasPrefix("198.18.") && $0.hits > 1 && $0.hits <= 100 }, "\(s.top)")
        #expect(s.sentence().hasPrefix("from about ") && s.sentence().contains("(estimated)") && s.sentence().hasSuffix("(at least)"))
    }

    /// Just past the exact range the estimate is still close (linear counting), and never below
    /// the values counted one by one.
    @Test func estimatesAcrossTheRangeStayClose() {
        for n in [4_097, 10_000, 50_000, 1_000_000] {
            var counter = SpreadCounter(field: "c-ip")
            for i in 0..<n { counter.add("10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)") }
            let s = counter.spread()
            #expect(s.distinct >= SpreadCounter.exactLimit)
            #expect(abs(Double(s.distinct) - Double(n)) / Double(n) < 0.03, "\(n): estimate \(s.distinct)")
        }
    }

    /// Without counting, every address keeps its own finding (compromise stays per attacker).
    @Test func uncountedHitsStayPerGroup() {
        let sink = FindingsSink()
        for i in 0..<50 { Self.record(sink, "203.0.113.\(i % 5)", i, counted: false) }
        let findings = sink.snapshot().findings
        #expect(findings.count == 5 && findings.allSatisfy { $0.spread == nil && $0.count == 10 })
    }

    /// Hits recorded from several threads at once are all counted.
    @Test func concurrentHitsAreAllCounted() async {
        let sink = FindingsSink()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask { for i in 0..<2_000 { Self.record(sink, "198.18.\(t).\(i % 200)", i, counted: true) } }
            }
        }
        let f = sink.snapshot().findings
        #expect(f.count == 1 && f.first?.count == 8_000 && f.first?.spread?.distinct == 800)
        #expect(f.first?.spread?.top.first?.hits == 10)
    }
}
