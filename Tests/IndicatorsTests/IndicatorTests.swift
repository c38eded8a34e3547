import Foundation
import Testing
@testable import Indicators
import HuntCore
import TestSupport


func sharedFile(_ path: String) -> URL { sharedData.appendingPathComponent(path) }

func temp(_ name: String, _ text: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ioc-\(UUID().uuidString)-\(name)")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

@Suite(.timeLimit(.minutes(20))) struct IndicatorTests {
    /// Regression: `Int(p)!` after `Character.isNumber`, which is true for digits that are not
    /// ASCII (`²`, Arabic-Indic digits): a feed value trapped.
    @Test func ipv4WithNonASCIIDigitsIsNotAnAddress() {
        #expect(IndicatorSet.isIPv4("203.0.113.7"))
        #expect(!IndicatorSet.isIPv4("1.2.3.²"))
        #expect(!IndicatorSet.isIPv4("1.2.3.\u{0663}"))
        #expect(!IndicatorSet.isIPv4("1.2.3.256"))
        let (set, _) = IndicatorLoader.csv("type,value,source\nip,1.2.3.²,feed\nip,203.0.113.7,feed\n", "feed.csv")
        #expect(set.lookup(.ip, "203.0.113.7").count == 1)
    }

    /// Regression (found by Scripts/fuzz.sh, the reproducer kept as it was: its first byte picked
    /// the CHIRP reader): YAML of 2,685 nested `{` overflowed the stack inside Yams. Nesting is
    /// now bounded before Yams sees the text, for indicator files and Sigma rules alike; real
    /// files pass.
    @Test func deeplyNestedYAMLIsRefusedNotACrash() throws {
        let bytes = try Data(contentsOf: repoRoot.appendingPathComponent("Tests/Reproducers/iocs/chirp-yaml-nesting-overflows-the-stack.bin"))
        let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
        #expect(YAMLNesting.depth(text) > YAMLNesting.limit)
        #expect(throws: IndicatorLoader.LoadError.self) { try IndicatorLoader.chirp(text, "feed.yaml") }
        let deepList = String(repeating: "- ", count: 5000) + "x\n"
        #expect(throws: IndicatorLoader.LoadError.self) { try IndicatorLoader.chirp(deepList, "feed.yaml") }
        #expect(YAMLNesting.depth("name: a\nioc_type: network\nindicator:\n  ips: |\n    203.0.113.7\n") < 8)
        #expect(YAMLNesting.depth("a: '[[[[['\nb: \"{{{{\" # [[[[\n") == 0)
    }

    /// One file that is not what its name says (a `.json` that is not STIX) is a warning; the
    /// folder's other indicator files still load.
    @Test func aForeignFileInAnIndicatorFolderIsAWarning() throws {
        let dir = try tempDir()
        try put(dir, "a-list.csv", "type,value,source\nsha256,893cd3583b49cb706b3e55ecb2ed0757b977a21f5c72e041392d1256f31166e2,x\n")
        try put(dir, "b-notes.json", "[1, 2, 3]")
        try put(dir, "c-broken.yaml", "ioc_type: [unclosed\n")
        let (set, warnings) = try IndicatorLoader.load(dir)
        #expect(set.count(.sha256) == 1)
        #expect(warnings.contains { $0.contains("b-notes.json") && $0.contains("skipped") })
        #expect(warnings.contains { $0.contains("c-broken.yaml") && $0.contains("skipped") }, "\(warnings)")
    }

    @Test(.enabled(if: hasSharedData, "needs ../shared")) func msticCSVLoadsHashesPathsAndDomains() throws {
        let url = sharedFile("Azure__Azure-Sentinel/Sample Data/Feeds/MSTICIoCs-ExchangeServerVulnerabilitiesDisclosedMarch2021.csv")
        let (set, warnings) = try IndicatorLoader.load(url)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(set.count(.sha256) == 45)
        #expect(set.count(.domain) == 3)
        #expect(set.count(.filePath) > 80)  // 104 rows with duplicates and case variants
        // Paths match whatever the install root and case.
        #expect(!set.matchFile(windowsPath: "E:\\Exchange2016\\FrontEnd\\HttpProxy\\owa\\auth\\8Lw7tAhF9i1pJnRo.aspx").isEmpty)
        #expect(!set.matchFile(windowsPath: "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\OWA\\AUTH\\Current\\ONE1.aspx").isEmpty)
        #expect(set.matchFile(windowsPath: "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx").isEmpty)
        #expect(!set.lookup(.sha256, "511DF0E2DF9BFA5521B588CC4BB5F8C5A321801B803394EBC493DB1EF3C78FA1").isEmpty)
    }

    @Test(.enabled(if: hasSharedData, "needs ../shared")) func volexityCSVAndChirpYAML() throws {
        let vol = sharedFile("volexity__threat-intel/2021/2021-03-02 - Operation Exchange Marauder/indicators/indicators.csv")
        let chirp = sharedFile("cisagov__CHIRP/indicators/AA21-062A/AA21062A.yaml")
        let v = try IndicatorLoader.load(vol).set
        #expect(v.count(.ip) == 13)
        #expect(v.lookup(.ip, "103.77.192.219").first?.note.contains("exploit") == true)
        let (c, warnings) = try IndicatorLoader.load(chirp)
        #expect(c.count(.ip) == 15)
        #expect(c.yaraRules.count == 8)
        #expect(warnings.contains { $0.contains("events") })
    }

    @Test(.enabled(if: hasSharedData, "needs ../shared")) func eSETPlainHashLists() throws {
        let md5 = sharedFile("eset__malware-ioc/exchange_exploitation/samples.md5")
        let sha1 = sharedFile("eset__malware-ioc/exchange_exploitation/samples.sha1")
        #expect(try IndicatorLoader.load(md5).set.count(.md5) == 23)
        #expect(try IndicatorLoader.load(sha1).set.count(.sha1) == 23)
    }

    @Test func stixBundle() throws {
        let bundle = """
        {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
          {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "created": "2021-03-04T00:00:00Z", "modified": "2021-03-04T00:00:00Z",
           "name": "China Chopper web shell", "pattern_type": "stix", "valid_from": "2021-03-04T00:00:00Z",
           "pattern": "[file:hashes.'SHA-256' = 'b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0'] OR [file:name = 'supp0rt.aspx']"},
          {"type": "indicator", "spec_version": "2.1", "id": "indicator--2", "created": "2021-03-04T00:00:00Z", "modified": "2021-03-04T00:00:00Z",
           "pattern_type": "stix", "valid_from": "2021-03-04T00:00:00Z", "pattern": "[ipv4-addr:value = '165.232.154.116']"},
          {"type": "indicator", "spec_version": "2.1", "id": "indicator--3", "created": "2021-03-04T00:00:00Z", "modified": "2021-03-04T00:00:00Z",
           "pattern_type": "sigma", "valid_from": "2021-03-04T00:00:00Z", "pattern": "title: x"},
          {"type": "malware", "spec_version": "2.1", "id": "malware--1", "name": "China Chopper", "is_family": true}
        ]}
        """
        let (set, warnings) = try IndicatorLoader.load(try temp("bundle.json", bundle))
        #expect(set.count(.sha256) == 1)
        #expect(set.count(.fileName) == 1)
        #expect(set.count(.ip) == 1)
        #expect(!set.matchFile(windowsPath: "D:\\inetpub\\wwwroot\\aspnet_client\\SUPP0RT.aspx").isEmpty)
        #expect(set.lookup(.sha256, "b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0").first?.note == "China Chopper web shell")
        #expect(warnings.contains { $0.contains("sigma") })
    }

    @Test func exhuntCSVAndUntypedValues() throws {
        let csv = "# comment\ntype,value,source\nsha256,B75F163CA9B9240BF4B37AD92BC7556B40A17E27C2B8ED5C8991385FE07D17D0,test feed\nip,5.2.69[.]14,test feed\nfilepath,C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx,test feed\n"
        let (set, _) = try IndicatorLoader.load(try temp("x.csv", csv))
        #expect(set.lookup(.ip, "5.2.69.14").count == 1, "defanged addresses are refanged")
        #expect(!set.matchFile(windowsPath: "inetpub\\wwwroot\\aspnet_client\\Discover.aspx").isEmpty)
        let (plain, warnings) = try IndicatorLoader.load(try temp("list.txt", "1.2.3.4\nnot an indicator at all\n811157f9c7003ba8d17b45eb3cf09bef2cecd2701cedb675274949296a6a183d;HAFNIUM shell\n"))
        #expect(plain.count(.ip) == 1)
        #expect(plain.count(.sha256) == 1)
        #expect(warnings.count == 1)
        #expect(throws: IndicatorLoader.LoadError.self) { try IndicatorLoader.load(try temp("bad.json", "[1,2")) }
    }

    @Test func builtinListLoadsWithSources() throws {
        let (set, warnings) = try IndicatorLoader.load(repoRoot.appendingPathComponent("Rules/iocs"), label: "builtin")
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(set.count(.sha256) >= 45)
        #expect(set.count(.ip) == 15)
        #expect(set.all.allSatisfy { !$0.source.isEmpty })
    }
}
