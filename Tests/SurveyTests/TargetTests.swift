import Foundation
import Survey
import Testing

func expand(_ lines: [String], ports: [PortSpec] = [PortSpec(port: 80, tls: false)], exclude: [String] = [], shard: Shard? = nil) throws -> TargetExpansion {
    var it = lines.makeIterator()
    return TargetExpansion(lines: AnyIterator { it.next() }, ports: ports, exclusions: try ExclusionList(exclude), shard: shard)
}

@Suite(.timeLimit(.minutes(20))) struct TargetTests {
    @Test func cidrRangesStreamWithoutExpanding() throws {
        // A /8 is sixteen million hosts: taking the first few must be instant and small.
        var e = try expand(["10.0.0.0/8"])
        #expect(e.next()?.host == "10.0.0.0")
        #expect(e.next()?.host == "10.0.0.1")
        let all = Array(try expand(["192.0.2.4/30"])).map(\.host)
        #expect(all == ["192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7"])
        #expect(Array(try expand(["0.0.0.0/0"]).prefix(1)).first?.host == "0.0.0.0")
    }

    @Test func ipv6RangesAndLiterals() throws {
        let all = Array(try expand(["2001:db8::/126", "[::1]", "fe80::1:2"])).map(\.host)
        #expect(all == ["2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3", "::1", "fe80::1:2"])
        var top = try expand(["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"])
        #expect(top.next()?.host == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")
        #expect(top.next()?.host == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        #expect(top.next() == nil)
    }

    @Test func urlsNamesAndPorts() throws {
        let t = Array(try expand(["https://Mail.Example.org:8443/owa/", "http://192.0.2.1", "mail.example.net"],
                                 ports: PortSpec.defaults))
        #expect(t.count == 4)
        #expect(t[0].host == "Mail.Example.org" && t[0].serverName == "mail.example.org" && t[0].port == 8443 && t[0].tls)
        #expect(t[1].host == "192.0.2.1" && t[1].serverName == nil && t[1].port == 80 && !t[1].tls)
        #expect(t[2].port == 443 && t[2].tls && t[3].port == 80 && !t[3].tls)
        #expect(PortSpec("http:8443")?.tls == false)
        #expect(PortSpec("8443")?.tls == true)
        #expect(PortSpec("70000") == nil)
    }

    @Test func badLinesAreReportedAndTheRestGoesOn() throws {
        var e = try expand(["192.0.2.1", "not a host!", "10.0.0.0/33", "ftp://x", "# comment", "", "192.0.2.2"])
        let hosts = Array(AnySequence { AnyIterator { e.next() } }).map(\.host)
        #expect(hosts == ["192.0.2.1", "192.0.2.2"])
        #expect(e.rejected.count == 3)
    }

    @Test func exclusionsWin() throws {
        var e = try expand(["192.0.2.0/29", "mail.example.org"], exclude: ["192.0.2.2", "192.0.2.4/31", "MAIL.example.org"])
        let hosts = Array(AnySequence { AnyIterator { e.next() } }).map(\.host)
        #expect(hosts == ["192.0.2.0", "192.0.2.1", "192.0.2.3", "192.0.2.6", "192.0.2.7"])
        #expect(e.excluded == 4)
    }

    @Test func shardsPartitionARangeExactly() throws {
        let ports = PortSpec.defaults
        let whole = Array(try expand(["198.51.100.0/22", "2001:db8::/120"], ports: ports)).map(\.key)
        var union: [String] = []
        for i in 1...3 {
            let part = Array(try expand(["198.51.100.0/22", "2001:db8::/120"], ports: ports, shard: Shard("\(i)/3"))).map(\.key)
            #expect(part.count > whole.count / 4, "shard \(i) is badly unbalanced")
            union += part
        }
        #expect(union.count == whole.count)
        #expect(Set(union) == Set(whole))
        // Both ports of a host go to the same shard.
        let one = Array(try expand(["198.51.100.0/22"], ports: ports, shard: Shard("2/3")))
        #expect(Set(one.map(\.host)).count * 2 == one.count)
        #expect(Shard("0/3") == nil && Shard("4/3") == nil && Shard("x") == nil)
    }
}
