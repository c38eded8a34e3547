import BuiltinRules
import ExchangeBuilds
import Foundation
import Testing

let knowledge = try! BuildKnowledge.load(directory: (try BuiltinRules.directory()).appendingPathComponent("exchange"))

@Suite(.timeLimit(.minutes(20))) struct BuildKnowledgeTests {
    /// Expected statuses from the build table in ../shared/research/microsoft-tooling.md section 4,
    /// written out by hand: P patched, V vulnerable, U uncertain, ? unknown. Order: ProxyLogon, ProxyShell, ProxyNotShell.
    static let cases: [(String, String)] = [
        ("15.0.1497.2", "VVV"), ("15.0.1497.10", "VVV"), ("15.0.1497.12", "PVV"), ("15.0.1497.15", "PVV"),
        ("15.0.1497.18", "PPV"), ("15.0.1497.42", "PPV"), ("15.0.1497.44", "PPP"), ("15.0.1497.48", "PPP"),
        ("15.0.847.32", "VVV"), ("15.0.847.64", "PVV"), ("15.0.1395.12", "PVV"), ("15.0.1367.3", "VVV"),
        ("15.1.1415.2", "VVV"), ("15.1.1415.8", "UVV"), ("15.1.1415.9", "UVV"), ("15.1.1415.10", "PVV"),
        ("15.1.1466.13", "UVV"), ("15.1.1466.16", "PVV"), ("15.1.2044.13", "PVV"), ("15.1.2106.8", "VVV"),
        ("15.1.2106.13", "PVV"), ("15.1.2176.2", "VVV"), ("15.1.2176.4", "VVV"), ("15.1.2176.9", "PVV"),
        ("15.1.2176.12", "PVV"), ("15.1.2176.14", "PPV"), ("15.1.2242.4", "PVV"), ("15.1.2242.8", "PVV"),
        ("15.1.2242.10", "PPV"), ("15.1.2308.27", "PPV"), ("15.1.2375.32", "PPV"), ("15.1.2375.37", "PPP"),
        ("15.1.2507.13", "PPV"), ("15.1.2507.16", "PPP"), ("15.1.2507.66", "PPP"),
        ("15.2.221.12", "VVV"), ("15.2.221.18", "PVV"), ("15.2.721.8", "VVV"), ("15.2.721.13", "PVV"),
        ("15.2.792.3", "VVV"), ("15.2.792.10", "PVV"), ("15.2.792.15", "PPV"), ("15.2.858.5", "PVV"),
        ("15.2.858.12", "PPV"), ("15.2.986.30", "PPV"), ("15.2.986.36", "PPP"), ("15.2.1118.15", "PPV"),
        ("15.2.1118.20", "PPP"), ("15.2.1258.12", "PPP"), ("15.2.1748.10", "PPP"), ("15.2.2562.17", "PPP"),
        ("14.3.513.0", "???"),
    ]

    static func letter(_ s: PatchStatus) -> Character {
        switch s { case .patched: "P"; case .vulnerable: "V"; case .uncertain: "U"; case .unknown: "?" }
    }

    @Test(arguments: cases) func exactBuild(_ build: String, _ expected: String) throws {
        let b = try #require(ExchangeBuild(build))
        let a = knowledge.assess(b)
        #expect(String(["proxylogon", "proxyshell", "proxynotshell"].map { Self.letter(a.status($0)) }) == expected, "\(build)")
        #expect(a.precision == .exact)
    }

    @Test func zeroPaddedFormsParseToTheSameBuild() {
        #expect(ExchangeBuild("15.01.2176.002") == ExchangeBuild("15.1.2176.2"))
        #expect(ExchangeBuild("15.1.2176") == nil)
        #expect(ExchangeBuild("15.1.2176.2.1") == nil)
        #expect(ExchangeBuild("15.1.-1.2") == nil)
        #expect(ExchangeBuild("15.1.9999999999.2") == nil)
    }

    @Test func cuLevelIsCertainOnlyWhenEveryUpdateOfTheCUAgrees() throws {
        let cu19 = knowledge.assess(try #require(CULevel("15.1.2176")))
        #expect(cu19.precision == .cu)
        #expect(cu19.status("proxylogon") == .uncertain)
        #expect(cu19.status("proxyshell") == .uncertain)
        #expect(cu19.status("proxynotshell") == .vulnerable)
        let cu21 = knowledge.assess(try #require(CULevel("15.1.2308")))
        #expect(cu21.status("proxylogon") == .patched)
        #expect(cu21.status("proxyshell") == .patched)
        #expect(cu21.status("proxynotshell") == .vulnerable)
        let cu17 = knowledge.assess(try #require(CULevel("15.1.2044")))
        #expect(cu17.status("proxylogon") == .uncertain)
        #expect(cu17.status("proxyshell") == .vulnerable)
    }

    @Test func namesProductCUAndUpdate() throws {
        let a = knowledge.assess(try #require(ExchangeBuild("15.1.2176.12")))
        #expect(a.product == "Exchange 2016")
        #expect(a.release == "CU19")
        #expect(a.known?.update == "Apr21SU")
        #expect(a.known?.kb == "KB5001779")
        #expect(knowledge.assess(try #require(ExchangeBuild("15.2.2562.17"))).product == "Exchange SE")
        // The April SU fixed only part of ProxyShell: the note says so.
        #expect(a.statuses.first { $0.family == "proxyshell" }?.note.contains("CVE-2021-31207") == true)
    }

    @Test func tableIsWellFormed() {
        let builds = knowledge.releases.filter { !$0.disputed }.map(\.build)
        #expect(Set(builds).count == builds.count, "a build is listed twice")
        #expect(knowledge.releases.count > 200)
        // Every CU of 2016 from CU8 to CU17 got a special March 2021 SU.
        for cu in 8...17 {
            #expect(knowledge.releases.contains { $0.product == "Exchange 2016" && $0.release == "CU\(cu)" && $0.update == "Mar21SU" && !$0.disputed })
        }
    }
}
