import Crypto
import Foundation
import Testing
import ZIPFoundation
import ExchangeLogs
import Hunt
import HuntCore
import Reports
import Timeline
import TestSupport

@Suite(.serialized, .timeLimit(.minutes(20))) struct SampleEvidenceTests {
    @Test func compromisedSampleTellsTheWholeStory() async throws {
        let r = try await hunt(samples.appendingPathComponent("compromised-server"))
        #expect(r.verdict == .compromised)
        let ids = r.ids()
        for id in [RuleID.backend, RuleID.reset, RuleID.ecpMarkup, RuleID.oab, RuleID.chopper, RuleID.oabDump,
                   RuleID.iisShell, RuleID.probe, RuleID.lsass, RuleID.iisEntry, RuleID.iisShellProbe] {
            #expect(ids.contains(id), "missing \(id)")
        }
        // The autodiscover-only and localhost requests are probes, not exploitation.
        #expect(r.hits(RuleID.probe) == 3)
        #expect(r.findings(RuleID.probe).allSatisfy { $0.severity == .low && $0.role == .attempted })
        #expect(r.hits(RuleID.backend) == 5) // emsmdb, proxyLogon.ecp, GetObject, SetObject, Reset
        // 26858 reports where the shell went.
        #expect(r.findings(RuleID.oab).first?.extracted["path"] == "\\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\supp0rt.aspx")
        // Findings are in time order and carry located evidence.
        let times = r.findings.compactMap(\.timestamp)
        #expect(times == times.sorted())
        let first = try #require(r.findings(RuleID.backend).first)
        #expect(first.evidence.path == "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021022808-1.LOG")
        #expect(first.evidence.line == 14)
        #expect(first.cves == ["CVE-2021-26855"])
        #expect(first.fields["ClientIpAddress"] == "165.232.154.116")
        #expect(r.verdictReasons.contains { $0.contains("2021-02-28T01:02:12") })
        // File findings carry the server's file times from KAPE's copy log, not the checkout's.
        let shell = try #require(r.findings(RuleID.chopper).first { $0.evidence.path.hasSuffix("supp0rt.aspx") })
        #expect(shell.timestamp == Timestamp.parse("2021-02-28T01:05:03Z"))
        #expect(shell.evidence.modified == Timestamp.parse("2021-02-28T01:05:03Z"))
        #expect(shell.evidence.size == 116)
        #expect(shell.evidence.matches?.first?.identifier == "$eval")
        // Coverage reaches back before the window.
        let owa = try #require(r.coverage.first { $0.source == "HttpProxy/Owa" })
        #expect(owa.window == "full")
        #expect(owa.files == 72)
        // The manifest holds every file read, with its real SHA-256.
        let entry = try #require(r.manifest.first { $0.path == first.evidence.path })
        let data = try Data(contentsOf: samples.appendingPathComponent("compromised-server").appendingPathComponent(entry.path))
        #expect(entry.sha256 == SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())
        #expect(entry.size == UInt64(data.count))
    }

    @Test func sampleTimelineTellsWhatHappenedInOrder() async throws {
        let r = try await hunt(samples.appendingPathComponent("compromised-server"))
        let story = FleetTimeline([r]).stories[0]
        let expected: [(String, String)] = [
            ("First seen (probes and attempts)", "2021-02-26T22:14:09Z"), ("Exploitation", "2021-02-28T01:02:12Z"),
            ("Persistence (web shell written)", "2021-02-28T01:02:19Z"), ("Web shell used", "2021-02-28T01:09:40Z"),
            ("After the break-in", "2021-03-01T04:30:12Z"),
            // The VMware Tools archive in ProgramData: listed for review, not told as the intruder's.
            ("For review (does not decide the verdict)", "2021-03-08T03:00:00Z"),
        ]
        #expect(story.stages.map(\.name) == expected.map(\.0))
        #expect(story.stages.map { $0.first.map { ISOTime.string($0, milliseconds: false) } ?? "" } == expected.map(\.1))
        #expect(story.attackerAddresses.contains("165.232.154.116"))
        #expect(story.webShells.contains("C:\\inetpub\\wwwroot\\aspnet_client\\supp0rt.aspx"))
    }

    @Test func cleanSampleIsCleanWithNothingAboveLow() async throws {
        let r = try await hunt(samples.appendingPathComponent("clean-server"))
        #expect(r.verdict == .clean)
        #expect(r.ids(atLeast: .medium).isEmpty, "\(r.findings.map(\.rule.title))")
        // Vendor archives are listed for review, at low severity, and do not decide the verdict.
        #expect(r.findings(RuleID.archive).count == 2)
        #expect(r.problems.filter { $0.level == .error }.isEmpty)
    }

    @Test func velociraptorLayoutAndZipGiveTheSameFindings() async throws {
        let src = samples.appendingPathComponent("compromised-server")
        let base = try await hunt(src)
        // Velociraptor: uploads/auto/C%3A/...
        let velo = try tempDir()
        let files = FileManager.default.enumerator(atPath: src.path)!.compactMap { $0 as? String }
        for rel in files where !rel.hasSuffix("/") {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: src.appendingPathComponent(rel).path, isDirectory: &isDir)
            if isDir.boolValue { continue }
            let target = "EXCH01/uploads/auto/C%3A/" + rel.dropFirst(2)
            try put(velo, target, try Data(contentsOf: src.appendingPathComponent(rel)))
        }
        let v = try await hunt(velo)
        #expect(v.verdict == .compromised)
        #expect(v.ids() == base.ids())
        #expect(v.findings.count == base.findings.count)
        // A .zip of the collection, read in place.
        let zip = try tempDir().appendingPathComponent("exch01.zip")
        try FileManager.default.zipItem(at: src, to: zip, shouldKeepParent: false)
        let z = try await hunt(zip)
        #expect(z.verdict == .compromised)
        #expect(z.ids() == base.ids())
        #expect(z.findings.count == base.findings.count)
        #expect(z.host == "EXCH01", "named from the logs, not from the zip")
        #expect(z.hostSource.contains("ServerHostName"))
    }
}

@Suite(.timeLimit(.minutes(20))) struct VariantEvidenceTests {
    /// An Exchange 2013 server, plain-copy layout, LF logs, different attacker details.
    @Test func exchange2013LayoutWithOtherAttackDetails() async throws {
        let root = try tempDir()
        var rows = (0..<300).map { Exchange2013.ordinary(String(format: "2020-12-%02dT10:00:00.000Z", 1 + $0 % 28), $0) }
        var attack = Exchange2013.ordinary("2021-03-03T07:41:02.555Z", 999)
        attack["AnchorMailbox"] = "serverinfo~b]@MAIL2.contoso.com:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary=x#"
        attack["UrlStem"] = "/ecp/target.js"
        attack["AuthenticatedUser"] = ""
        attack["ClientIPAddress"] = "203.0.113.77"
        attack["BackendCookie"] = "Server~MAIL2.contoso.com/ecp/DDI/DDIService.svc~1942062522"
        rows.append(attack)
        try put(root, "ExchangeServer/Logging/HttpProxy/Ecp/HttpProxy_2021030307-1.LOG", Exchange2013.log(rows))
        let r = try await hunt(root)
        #expect(r.verdict == .compromised)
        let backend = try #require(r.findings(RuleID.backend).first)
        #expect(backend.fields["ClientIpAddress"] == "203.0.113.77", "ClientIPAddress is found whatever its case")
        #expect(r.findings(RuleID.reset).isEmpty, "HttpStatus must be 200 and the anchor must end with #")
        #expect(r.findings(RuleID.cookie).count == 1)
        #expect(r.coverage.first?.window == "full")
    }

    @Test func busyLegitimateServerStaysQuiet() async throws {
        let root = try tempDir()
        var rows: [[String: String]] = []
        for (i, steady) in Exchange2013.steady(from: "2021-01-01", days: 750, every: 6).enumerated() {
            var row = steady
            if i % 7 == 0 { row["UrlStem"] = "/autodiscover/autodiscover.xml"; row["AnchorMailbox"] = "SMTP:user\(i)@contoso.com" }
            if i % 11 == 0 { row["UrlStem"] = "/ecp/15.0.847/scripts/common.js" }
            rows.append(row)
        }
        try put(root, "V15/Logging/HttpProxy/Owa/HttpProxy_2021010100-1.LOG", Exchange2013.log(rows))
        try put(root, "V15/Logging/ECP/Server/ECPServer20210120-1.LOG",
                "#Software: Microsoft Exchange Server\r\n#Log-type: ECP Server Log\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"
                + "2021-01-20T10:00:00.000Z,EX1,ECP.Request,\"S:TIME=10;'S:CMD=Set-EcpVirtualDirectory.InternalUrl=''https://ex1.contoso.com/ecp''.ExternalUrl=''https://mail.contoso.com/ecp''';S:RS=0\"\r\n")
        try put(root, "V15/Logging/OABGeneratorLog/OABGen20210120.LOG",
                "2021-01-20T02:00:00.000Z,OABGenerator,Download failed and temporary file 'D:\\Exchange\\V15\\ClientAccess\\OAB\\Temp\\x\\oab.lzx' needs to be removed.\r\n")
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex210120.log",
                "#Software: Microsoft Internet Information Services 8.5\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n"
                + "2021-01-20 10:00:00 10.0.0.1 GET /owa/auth/logon.aspx url=%2fowa%2f&reason=0 443 - 10.0.0.9 Mozilla/5.0 200 0 0 15\r\n"
                + "2021-01-20 10:00:01 10.0.0.1 GET /ecp/15.0.847/scripts/common.js - 443 CONTOSO\\admin 10.0.0.9 Mozilla/5.0 200 0 0 15\r\n"
                + "2021-01-20 10:00:02 10.0.0.1 GET /owa/auth/RedirSuiteServiceProxy.aspx - 443 - 10.0.0.9 Mozilla/5.0 200 0 0 15\r\n")
        try put(root, "ProgramData/Veeam/Backup/logs.zip", Data([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)))
        try put(root, "inetpub/wwwroot/aspnet_client/system_web/4_0_30319/readme.txt", "placeholder")
        let r = try await hunt(root, windowStart: "2021-01-03")
        #expect(r.verdict == .clean, "\(r.verdictReasons)")
        #expect(r.ids(atLeast: .medium).isEmpty, "\(r.findings.map { ($0.rule.title, $0.evidence.excerpt) })")
    }

    @Test func probesOnlyGiveAttempted() async throws {
        let root = try tempDir()
        var rows = (0..<20).map { Exchange2013.ordinary("2020-12-20T10:00:00.000Z", $0) }
        var probe = Exchange2013.ordinary("2021-03-05T01:00:00.000Z", 50)
        probe["AnchorMailbox"] = "ServerInfo~localhost/ecp/default.flt?"
        probe["UrlStem"] = "/owa/auth/x.js"
        rows.append(probe)
        try put(root, "Logging/HttpProxy/Owa/a.log", Exchange2013.log(rows))
        let r = try await hunt(root)
        #expect(r.verdict == .attempted)
        // An LSASS dump next to attempts makes it compromised; an archive does not.
        try put(root, "C/ProgramData/x/backup.7z", "7z")
        #expect(try await hunt(root).verdict == .attempted)
        try put(root, "C/Windows/Temp/lsass.DMP", "MDMP")
        let withDump = try await hunt(root)
        #expect(withDump.verdict == .compromised)
        #expect(withDump.findings(RuleID.lsass).first?.evidence.sha256 != nil)
    }

    @Test func lsassDumpAloneDoesNotDecide() async throws {
        let root = try tempDir()
        try put(root, "Logging/HttpProxy/Owa/a.log", Exchange2013.log(Exchange2013.steady(from: "2020-12-20", days: 80)))
        try put(root, "C/root/lsass.dmp", "MDMP")
        let r = try await hunt(root)
        #expect(r.verdict == .clean)
        #expect(r.findings(RuleID.lsass).count == 1)
    }

    @Test func logsThatStartLateAreInconclusive() async throws {
        let root = try tempDir()
        try put(root, "Logging/HttpProxy/Owa/a.log", Exchange2013.log([Exchange2013.ordinary("2021-06-01T10:00:00.000Z", 1)]))
        let r = try await hunt(root)
        #expect(r.verdict == .inconclusive)
        #expect(r.verdictReasons.first?.contains("2021-06-01") == true)
        let none = try await hunt(try tempDir())
        #expect(none.verdict == .inconclusive)
    }

    @Test func hostileFilesAreProblemsAndTheHuntGoesOn() async throws {
        let root = try tempDir()
        var garbage = Data(count: 300_000)
        for i in 0..<garbage.count { garbage[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_garbage.LOG", garbage)
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_empty.LOG", Data())
        // Header, then NULs and a torn line: a file copied while Exchange was writing it.
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_torn.LOG",
                Data(Exchange2013.log([Exchange2013.ordinary("2020-12-01T00:00:00.000Z", 1)]).utf8) + Data(count: 5000) + Data("2021-03-0".utf8))
        var attack = Exchange2013.ordinary("2021-03-03T07:41:02.555Z", 9)
        attack["AnchorMailbox"] = "ServerInfo~a]@ex:444/ecp/proxyLogon.ecp?#"
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_good.LOG", Exchange2013.log([attack]))
        try put(root, "inetpub/wwwroot/aspnet_client/\u{1B}[31mred.aspx", "<script runat=server>eval(Request[\"x\"],\"unsafe\")</script>")
        let r = try await hunt(root)
        #expect(r.verdict == .compromised)
        #expect(r.findings(RuleID.backend).count == 1)
        #expect(r.findings(RuleID.chopper).count == 1)
        #expect(r.problems.contains { $0.path == "Logging/HttpProxy/Ecp/HttpProxy_garbage.LOG" })
        #expect(r.problems.contains { $0.path == "Logging/HttpProxy/Ecp/HttpProxy_torn.LOG" })
        // Control characters from evidence never reach the terminal raw.
        let text = ConsoleReport(colors: false).render(r)
        #expect(!text.contains("\u{1B}[31m"))
        #expect(text.contains("\\u{1b}[31m"))
    }
}

@Suite(.timeLimit(.minutes(20))) struct ReportTests {
    @Test func jsonReportHasTheDocumentedShapeAndRoundTrips() async throws {
        let r = try await hunt(samples.appendingPathComponent("compromised-server"))
        let data = try JSONReport.encode(r)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["verdict", "coverage", "findings", "problems", "manifest", "host", "verdictReasons"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let finding = try #require((object["findings"] as? [[String: Any]])?.first)
        let rule = try #require(finding["rule"] as? [String: Any])
        #expect(rule["id"] is String && rule["title"] is String)
        #expect(finding["cves"] is [String] && finding["severity"] is String)
        #expect((finding["timestamp"] as? String)?.hasSuffix("Z") == true)
        let evidence = try #require(finding["evidence"] as? [String: Any])
        #expect(evidence["path"] is String && evidence["excerpt"] is String && evidence["line"] is Int)
        let back = try JSONReport.decode(data)
        #expect(back.findings.count == r.findings.count)
        #expect(back.verdict == r.verdict)
    }

    @Test func testProxyLogonCSVFilesHaveItsNamesAndColumns() async throws {
        let r = try await hunt(samples.appendingPathComponent("compromised-server"))
        let out = try tempDir()
        let files = try TestProxyLogonCSV.write(r, to: out)
        #expect(Set(files) == Set(["LogAgeDays.csv", "Cve-2021-26855.csv", "Cve-2021-27065-ResetVDir.csv", "Cve-2021-26858.log",
                                   "Cve-2021-26858-DownloadPaths.log", "Cve-2021-27065.log", "other.csv"].map { "EXCH01-" + $0 }))
        let csv = try String(contentsOf: out.appendingPathComponent("EXCH01-Cve-2021-26855.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\r\n")
        #expect(lines[0] == "\"DateTime\",\"RequestId\",\"ClientIPAddress\",\"UrlHost\",\"UrlStem\",\"RoutingHint\",\"UserAgent\",\"AnchorMailbox\",\"HttpStatus\"")
        #expect(lines.count == 1 + r.findings.filter { $0.tpl == "Cve-2021-26855" }.count)
        #expect(lines[1].contains("\"165.232.154.116\""))
        let paths = try String(contentsOf: out.appendingPathComponent("EXCH01-Cve-2021-26858-DownloadPaths.log"), encoding: .utf8)
        #expect(paths.contains("supp0rt.aspx"))
    }

    @Test func csvFieldsCannotRunAsFormulas() {
        #expect(CSVField.escape("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSVField.escape("+1") == "\"'+1\"")
        #expect(CSVField.escape("-2") == "\"'-2\"")
        #expect(CSVField.escape("@SUM(A1)") == "\"'@SUM(A1)\"")
        #expect(CSVField.escape("plain") == "plain")
        #expect(CSVField.escape("a,b") == "\"a,b\"")
    }
}

@Suite(.timeLimit(.minutes(20))) struct YaraAndIndicatorHuntTests {
    @Test(.enabled(if: hasSharedData, "needs ../shared")) func thirdPartyYaraMatchesKeepTheirAuthorAndOffsets() async throws {
        let sig = sharedData.appendingPathComponent("Neo23x0__signature-base/yara/apt_hafnium.yar")
        let config = HuntConfiguration(evidence: samples.appendingPathComponent("compromised-server"))
        var sources = Detectors.Sources()
        sources.yara = [sig]
        let r = try await Hunter(configuration: config, detectors: try await Detectors.load(sources)).run()
        let third = r.findings.filter { $0.rule.source.hasSuffix("apt_hafnium.yar") }
        #expect(!third.isEmpty)
        #expect(third.allSatisfy { $0.rule.author?.isEmpty == false })
        #expect(third.allSatisfy { ($0.evidence.matches ?? []).isEmpty == false && $0.evidence.sha256 != nil })
    }

    @Test func publishedAddressesAndNamesMatchButExchangePagesDoNot() async throws {
        let root = try tempDir()
        var attack = Exchange2013.ordinary("2021-03-03T07:41:02.555Z", 9)
        attack["ClientIPAddress"] = "167.99.168.251"   // CISA AA21-062A / Volexity
        try put(root, "Logging/HttpProxy/Owa/a.log", Exchange2013.log([Exchange2013.ordinary("2020-12-01T00:00:00.000Z", 1), attack]))
        // MSTIC lists ecp\auth\TimeoutLogout.aspx: Exchange's own page must not become a finding.
        try put(root, "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogout.aspx",
                "<%@ Page Language=\"C#\" Inherits=\"Microsoft.Exchange.HttpProxy.TimeoutLogout\" %>")
        // A published shell name, installed under another root.
        try put(root, "E/Exchange/FrontEnd/HttpProxy/owa/auth/OutlookZH.aspx", "<html></html>")
        let r = try await hunt(root)
        #expect(r.findings(RuleID.probe).isEmpty)
        let ip = try #require(r.findings("exhunt-ioc-ip").first)
        #expect(ip.fields["ClientIpAddress"] == "167.99.168.251")
        #expect(r.findings("exhunt-ioc-filepath").count == 1)
        #expect(r.findings("exhunt-ioc-filepath").first?.evidence.path.hasSuffix("OutlookZH.aspx") == true)
        #expect(r.verdict == .compromised)
    }

    @Test func pageHiddenUnderALogNameIsScanned() async throws {
        let root = try tempDir()
        try put(root, "V15/Logging/HttpProxy/Owa/HttpProxy_2021030100-1.LOG",
                "<%@ Page Language=\"Jscript\"%><script runat=\"server\">eval(Request.Item[\"z\"],\"unsafe\");</script>")
        let r = try await hunt(root)
        #expect(r.findings(RuleID.chopper).count == 1)
        #expect(r.problems.contains { $0.code == "disguised-file" })
    }
}

@Suite(.timeLimit(.minutes(20))) struct DamagedEvidenceTests {
    /// A folder of damaged and hostile files: truncated, bit-flipped, zero-filled event logs, one
    /// whose fields claim impossible sizes, one whose template fans out without end, a log line of
    /// 17 MiB. The hunt finishes with a report: the intact evidence still convicts, every damaged
    /// file is a located problem, and the verdict says the evidence was damaged.
    @Test func damagedAndHostileFilesEndInAReport() async throws {
        let root = try tempDir()
        let logs = "C/Windows/System32/winevt/Logs/"
        let t = Timestamp.parse("2021-03-03T05:00:00Z") ?? Date()
        var app = EVTXBuilder()
        for i in 0..<40 {
            app.add(EVTXBuilder.event(provider: "MSExchange Unified Messaging", eventID: 100, level: 2, channel: "Application",
                                      computer: "EXCH01", time: "2021-03-03T05:00:00.000000Z",
                                      data: [(nil, "UM worker \(i): System.InvalidCastException: Unable to cast object")]),
                    id: UInt64(i + 1), time: t)
        }
        let good = app.build(firstID: 1)
        try put(root, logs + "Application.evtx", good)
        var flipped = good
        for i in stride(from: 4096 + 700, to: 4096 + 9000, by: 613) { flipped[i] ^= 0x5A }
        try put(root, logs + "Flipped.evtx", flipped)
        try put(root, logs + "Truncated.evtx", good.prefix(4096 + 3000))
        var zeroed = good
        zeroed.replaceSubrange((4096 + 512)..<(4096 + 6000), with: Data(count: 6000 - 512))
        try put(root, logs + "Zeroed.evtx", zeroed)
        var oversized = good
        // The first record's size, and a value descriptor count further on: 0xFFFFFFFF each.
        oversized.replaceSubrange((4096 + 512 + 4)..<(4096 + 512 + 8), with: [0xFF, 0xFF, 0xFF, 0xFF])
        try put(root, logs + "Oversized.evtx", oversized)
        var fan = EVTXBuilder()
        fan.addFanOut(uses: 64, depth: 8, id: 1, time: t)
        try put(root, logs + "FanOut.evtx", fan.build(firstID: 1))
        let long = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time c-ip cs-uri-stem sc-status\n"
            + "2021-03-03 05:00:00 203.0.113.7 /" + String(repeating: "A", count: 17 << 20) + " 200\n"
            + "2021-03-03 05:00:01 203.0.113.7 /aspnet_client/x.aspx 200\n"
        try put(root, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", long)

        let r = try await hunt(root)
        #expect(r.verdict == .compromised)
        #expect(r.findings.contains { $0.evidence.path == logs + "Application.evtx" && $0.cves.contains("CVE-2021-26857") })
        for name in ["Flipped", "Truncated", "Zeroed", "Oversized", "FanOut"] {
            let located = r.problems.filter { $0.path == logs + name + ".evtx" }
            #expect(!located.isEmpty, "\(name): no problem")
            #expect(located.allSatisfy { $0.offset != nil }, "\(name): a problem without an offset")
        }
        #expect(r.problems.contains { $0.path == logs + "FanOut.evtx" && $0.message.contains("expands to more than") })
        #expect(r.problems.contains { $0.path == "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log" })
        #expect(r.verdictReasons.contains { $0.contains("the evidence is damaged") })
        #expect(r.manifest.count == 7)
    }
}

@Suite(.timeLimit(.minutes(20))) struct EventLogSourceTests {
    /// Sysmon 13 is both registry_event and registry_set: a rule with no category (`service:
    /// sysmon`) covers both, and fires once per event, not once per source.
    @Test func aRuleCoveringSeveralSourcesOfAnEventFiresOnce() async throws {
        let root = try tempDir()
        var sysmon = EVTXBuilder()
        sysmon.add(EVTXBuilder.event(provider: "Microsoft-Windows-Sysmon", eventID: 13, level: 4,
                                     channel: "Microsoft-Windows-Sysmon/Operational", computer: "EXCH01",
                                     time: "2021-03-03T05:00:00.000000Z",
                                     data: [("EventType", "SetValue"), ("TargetObject", #"HKLM\SOFTWARE\exhunt-test\Run"#),
                                            ("Details", "cmd.exe")]),
                   id: 1, time: Timestamp.parse("2021-03-03T05:00:00Z") ?? Date())
        try put(root, "evidence/C/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx", sysmon.build(firstID: 1))
        try put(root, "rules/sysmon-any.yml", """
            title: any Sysmon event under the test key
            id: 0b7e4c59-0000-4000-8000-000000000013
            logsource:
              product: windows
              service: sysmon
            detection:
              sel:
                TargetObject|contains: '\\exhunt-test\\'
              condition: sel
            level: medium
            """)
        var config = HuntConfiguration(evidence: root.appendingPathComponent("evidence"))
        config.jobs = 2
        let detectors = try await Detectors.load(builtin: true, extra: [root.appendingPathComponent("rules")])
        let r = try await Hunter(configuration: config, detectors: detectors).run()
        #expect(r.findings("0b7e4c59-0000-4000-8000-000000000013").count == 1)
    }
}

extension EventLogSourceTests {
    /// Security 4688 is mapped to process_creation but is not Sysmon 1: a rule that filters on a
    /// field 4688 never carries (ParentCommandLine) is left out for it, and one that filters on a
    /// field only newer Windows writes (ParentProcessName, as ParentImage) is applied only to
    /// events that have it. Sysmon 1 events get both rules as they are.
    @Test func mappedSourcesOnlyGetRulesWhoseFiltersTheyCarry() async throws {
        let root = try tempDir()
        let t = Timestamp.parse("2021-03-03T05:00:00Z") ?? Date()
        func proc(_ id: Int, parent: String?) -> EVTXBuilder.Element {
            var data: [(String?, String)] = [("SubjectUserName", "EXCH01$"), ("NewProcessName", #"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"#),
                                             ("CommandLine", "powershell -enc AAAA")]
            if let parent { data.append(("ParentProcessName", parent)) }
            return EVTXBuilder.event(provider: "Microsoft-Windows-Security-Auditing", eventID: 4688, level: 0, channel: "Security",
                                     computer: "EXCH01", time: "2021-03-03T05:0\(id):00.000000Z", data: data)
        }
        var sec = EVTXBuilder()
        sec.add(proc(1, parent: nil), id: 1, time: t)                                     // Server 2012 R2: no parent
        sec.add(proc(2, parent: #"C:\Windows\explorer.exe"#), id: 2, time: t)               // filtered out
        sec.add(proc(3, parent: #"C:\Windows\System32\inetsrv\w3wp.exe"#), id: 3, time: t) // fires
        try put(root, "evidence/C/Windows/System32/winevt/Logs/Security.evtx", sec.build(firstID: 1))
        for (id, field, value) in [("0b7e4c59-0000-4000-8000-000000004688", "ParentImage|endswith", #"\explorer.exe"#),
                                   ("0b7e4c59-0000-4000-8000-000000004689", "ParentCommandLine|contains", "explorer")] {
            try put(root, "rules/\(id).yml", """
                title: PowerShell not started by the filtered parent (\(field))
                id: \(id)
                logsource:
                  product: windows
                  category: process_creation
                detection:
                  sel:
                    Image|endswith: '\\powershell.exe'
                  filter:
                    \(field): '\(value)'
                  condition: sel and not filter
                level: medium
                """)
        }
        var config = HuntConfiguration(evidence: root.appendingPathComponent("evidence"))
        config.jobs = 2
        let detectors = try await Detectors.load(builtin: true, extra: [root.appendingPathComponent("rules")])
        #expect(detectors.leftOut.map(\.rule.id) == ["0b7e4c59-0000-4000-8000-000000004689"])
        #expect(detectors.leftOut.first?.fields == ["parentcommandline"])
        let r = try await Hunter(configuration: config, detectors: detectors).run()
        #expect(r.findings("0b7e4c59-0000-4000-8000-000000004688").map(\.evidence.offset).count == 1)
        #expect(r.findings("0b7e4c59-0000-4000-8000-000000004688").first?.timestamp == Timestamp.parse("2021-03-03T05:03:00Z"))
        #expect(r.findings("0b7e4c59-0000-4000-8000-000000004689").isEmpty)
    }
}

@Suite(.timeLimit(.minutes(20))) struct HeaderlessLogTests {
    /// A W3C log with no `#Fields` line, as a red-team simulator writes into W3SVC2 and as logs are
    /// left when concatenated or exported: read with IIS's default field set, with a located
    /// warning, so its ProxyShell request is found.
    @Test func w3cLogWithoutItsHeaderIsReadWithTheDefaultFields() async throws {
        let root = try tempDir()
        let lines = [
            "2021-08-10 01:59:58 10.0.0.5 GET /owa/auth/logon.aspx replaceCurrent=1 443 - 198.51.100.20 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15",
            "2021-08-10 02:00:00 10.0.0.5 POST /autodiscover/autodiscover.json @a.a/powershell/?&Email=autodiscover/autodiscover.json%3F@a.a&X-Rps-CAT=VgEAVAdX 443 - 203.0.113.7 python-requests/2.25.1 - 200 0 0 812",
        ]
        try put(root, "C/inetpub/logs/LogFiles/W3SVC2/u_ex210810.log", lines.joined(separator: "\r\n") + "\r\n")
        let r = try await hunt(root)
        let shell = r.findings.filter { $0.cves.contains("CVE-2021-34473") }
        #expect(shell.count == 1)
        #expect(shell.first?.evidence.line == 2)
        #expect(shell.first?.timestamp == Timestamp.parse("2021-08-10T02:00:00Z"))
        let warning = r.problems.first { $0.code == "assumed-fields" }
        #expect(warning?.path == "C/inetpub/logs/LogFiles/W3SVC2/u_ex210810.log")
        #expect(warning?.line == 1)
        #expect(warning?.message.contains("cs(Referer)") == true)
        #expect(r.coverage.contains { $0.source.hasPrefix("IIS/") && $0.lines == 2 })
    }

    /// An HttpProxy log without its header lines (concatenated or cut): read with the Exchange
    /// 2016/2019 schema when its rows have as many columns, with a located warning.
    @Test func httpProxyLogWithoutItsHeaderIsReadWithItsSchema() async throws {
        let root = try tempDir()
        let schema = try #require(LogFormat.defaultExchangeLayouts.first { $0.logType == "HttpProxy Logs" }).fields
        func row(_ values: [String: String]) -> String {
            schema.map { name in
                let v = values[name] ?? ""
                return v.contains(",") ? "\"\(v)\"" : v
            }.joined(separator: ",")
        }
        let text = [
            row(["DateTime": "2021-03-03T04:15:10.100Z", "Protocol": "Ecp", "UrlStem": "/ecp/", "AnchorMailbox": "", "ClientIpAddress": "10.0.0.9", "HttpStatus": "200"]),
            row(["DateTime": "2021-03-03T04:15:12.345Z", "Protocol": "Ecp", "UrlStem": "/ecp/y.js", "ClientIpAddress": "203.0.113.7",
                 "AnchorMailbox": "ServerInfo~a]@EXCH01.contoso.local:444/ecp/proxyLogon.ecp?#", "HttpStatus": "241"]),
        ].joined(separator: "\r\n") + "\r\n"
        try put(root, "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030304-1.LOG", text)
        let r = try await hunt(root)
        #expect(r.findings.contains { $0.cves.contains("CVE-2021-26855") && $0.role == .compromised && $0.evidence.line == 2 })
        #expect(r.problems.contains { $0.code == "assumed-fields" && $0.line == 1 && $0.message.contains("HttpProxy") })
        #expect(r.coverage.contains { $0.source == "HttpProxy/Ecp" && $0.earliest == Timestamp.parse("2021-03-03T04:15:10.100Z") })
    }
}

@Suite(.timeLimit(.minutes(20))) struct ExportedEvidenceTests {
    /// Test-ProxyLogon's own output, the form in which CERTs shared victims' rows in March 2021:
    /// PowerShell Export-Csv (`#TYPE`, a quoted header), HttpProxy columns. Read as an HttpProxy
    /// extract wherever it lies: its CVE-2021-26855 rows are found, and it covers no log span
    /// (the verdict does not take it for HttpProxy logs reaching back to the window).
    @Test func testProxyLogonOutputIsReadAsAnHttpProxyExtract() async throws {
        let root = try tempDir()
        let csv = [
            "#TYPE Selected.System.Management.Automation.PSCustomObject",
            #""DateTime","RequestId","ClientIpAddress","UrlHost","UrlStem","RoutingHint","UserAgent","AnchorMailbox","HttpStatus""#,
            #""2021-03-03T04:15:12.345Z","5b0f1c1e-2f55-4d3a-9c55-1d3f6e8a0b11","203.0.113.7","mail.contoso.com","/ecp/y.js","X-BEResource-Cookie","ExchangeServicesClient/0.0.0.0","ServerInfo~a]@EXCH01.contoso.local:444/ecp/proxyLogon.ecp?#","241""#,
            #""2021-03-03T04:15:40.002Z","9a1e5b70-1c6e-4f2a-8d6b-77f0c2e9d4a2","203.0.113.7","mail.contoso.com","/ecp/y.js","X-BEResource-Cookie","ExchangeServicesClient/0.0.0.0","ServerInfo~a]@EXCH01.contoso.local:444/ecp/DDI/DDIService.svc/SetObject?#","200""#,
        ].joined(separator: "\r\n") + "\r\n"
        try put(root, "shared-by-cert/EXCH01-Cve-2021-26855.csv", Data([0xEF, 0xBB, 0xBF]) + Data(csv.utf8))
        let r = try await hunt(root)
        let rows = r.findings.filter { $0.cves.contains("CVE-2021-26855") && $0.role == .compromised }
        #expect(rows.reduce(0) { $0 + $1.count } >= 2)
        #expect(rows.contains { $0.timestamp == Timestamp.parse("2021-03-03T04:15:12.345Z") })
        #expect(rows.allSatisfy { $0.evidence.path == "shared-by-cert/EXCH01-Cve-2021-26855.csv" })
        #expect(r.coverage.map(\.source) == ["Extract/EXCH01-Cve-2021-26855.csv"])
        #expect(r.verdict == .compromised)
        #expect(r.verdictReasons.contains { $0.contains("no HttpProxy logs were found") })
    }
}

/// gzip-compressed bytes, from the system's gzip (as administrators compress old logs).
func gzip(_ data: Data) throws -> Data {
    let dir = try tempDir()
    let file = dir.appendingPathComponent("x")
    try data.write(to: file)
    return try run("/bin/gzip", ["-c", "-9", file.path]).stdout
}

@Suite(.timeLimit(.minutes(20))) struct CompressedLogTests {
    /// An IIS log compressed in place (`u_ex….log.gz`) is read without being extracted: its
    /// web-shell request is found, the manifest hashes the stored bytes; a truncated one still
    /// gives the lines before the cut, with a warning; a bomb stops with an error.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/gzip"), "needs gzip"))
    func gzipLogsAreReadInPlace() async throws {
        let root = try tempDir()
        var lines = ["#Software: Microsoft Internet Information Services 10.0",
                     "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"]
        for i in 0..<3000 {
            lines.append("2021-03-03 0\(i / 1000):00:\(String(format: "%02d", i % 60)) 10.0.0.5 GET /owa/auth/logon.aspx - 443 - 198.51.100.\(i % 200) Mozilla/5.0 - 200 0 0 15")
        }
        lines.append("2021-03-03 05:00:00 10.0.0.5 POST /aspnet_client/system_web/supp0rt.aspx - 443 - 203.0.113.7 Mozilla/5.0 - 200 0 0 31")
        let log = Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
        let packed = try gzip(log)
        #expect(packed.count < log.count / 5)
        try put(root, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log.gz", packed)
        // Cut in the middle: the lines before the cut are read.
        try put(root, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210302.log.gz", packed.prefix(packed.count / 2))
        // A bomb: 200 MiB of one repeated byte inflates far past 1,000 times its size.
        let bomb = try gzip(Data(repeating: 0x41, count: 200 << 20))
        try put(root, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log.gz", bomb)
        let r = try await hunt(root)
        #expect(r.findings.contains { $0.evidence.path.hasSuffix("u_ex210303.log.gz") && $0.rule.id == RuleID.iisShell })
        let manifest = try #require(r.manifest.first { $0.path.hasSuffix("u_ex210303.log.gz") })
        #expect(manifest.sha256 == SHA256.hash(data: packed).map { String(format: "%02x", $0) }.joined())
        #expect(r.problems.contains { $0.code == "truncated-gzip" && $0.path?.hasSuffix("u_ex210302.log.gz") == true })
        #expect(r.coverage.contains { $0.source.hasPrefix("IIS/") && $0.lines > 3000 })
        #expect(r.problems.contains { $0.path?.hasSuffix("u_ex210301.log.gz") == true && $0.message.contains("inflates past") })
    }
}

extension CompressedLogTests {
    /// Logs an administrator zipped in place (`W3SVC1\\u_ex2103.zip`, an HttpProxy folder's
    /// `2021-03.zip` holding a `.gz` too) are read inside the zip: their findings and manifest
    /// rows name the file inside the zip, and they count in coverage. A zip inside a zip
    /// collection is hashed, not opened, and the report says so.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/gzip"), "needs gzip"))
    func zippedLogsInsideACollectionAreReadInPlace() async throws {
        let root = try tempDir()
        let iis = ["#Software: Microsoft Internet Information Services 10.0",
                   "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
                   "2021-03-03 04:00:00 10.0.0.5 GET /owa/auth/logon.aspx - 443 - 198.51.100.1 Mozilla/5.0 - 200 0 0 15",
                   "2021-03-03 05:00:00 10.0.0.5 POST /aspnet_client/system_web/supp0rt.aspx - 443 - 203.0.113.7 Mozilla/5.0 - 200 0 0 31"]
            .joined(separator: "\r\n") + "\r\n"
        let proxy = Data(Exchange2013.log(Exchange2013.merged(Exchange2013.steady(from: "2021-02-20", days: 12),
                                                              [Exchange2013.ssrf("2021-03-02T23:10:00.000Z", 900)])).utf8)
        func zip(_ files: [(String, Data)], _ url: URL) throws {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let archive = try Archive(url: url, accessMode: .create)
            for (path, data) in files {
                try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
        }
        let logs = "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp"
        try zip([("u_ex210303.log", Data(iis.utf8))], root.appendingPathComponent("C/inetpub/logs/LogFiles/W3SVC1/u_ex2103.zip"))
        try zip([("HttpProxy_2021022000-1.LOG", proxy), ("HttpProxy_2021030300-1.LOG.gz", try gzip(proxy))],
                root.appendingPathComponent(logs + "/2021-03.zip"))
        let r = try await hunt(root)
        let shell = try #require(r.findings.first { $0.rule.id == RuleID.iisShell })
        #expect(shell.evidence.path == "C/inetpub/logs/LogFiles/W3SVC1/u_ex2103.zip/u_ex210303.log")
        // The same request in both files: one finding of two hits, at the first file read.
        let ssrf = try #require(r.findings.first { $0.cves.contains("CVE-2021-26855") })
        #expect(ssrf.count == 2, "\(r.findings.map { ($0.rule.title, $0.count, $0.evidence.path) })")
        #expect(ssrf.evidence.path.hasPrefix(logs + "/2021-03.zip/HttpProxy_2021"))
        let inner = try #require(r.manifest.first { $0.path == logs + "/2021-03.zip/HttpProxy_2021022000-1.LOG" })
        #expect(inner.sha256 == SHA256.hash(data: proxy).map { String(format: "%02x", $0) }.joined())
        #expect(r.manifest.contains { $0.path == logs + "/2021-03.zip" && $0.sha256 != nil })
        #expect(r.coverage.contains { $0.source.hasPrefix("HttpProxy") && $0.lines >= 48 })
        #expect(!r.problems.contains { $0.code == "not-a-log" })
        #expect(r.verdict == .compromised)

        // The same folder zipped whole: its inner zips are listed, hashed and named as not opened.
        let collection = try tempDir().appendingPathComponent("collection.zip")
        try zip([("C/inetpub/logs/LogFiles/W3SVC1/u_ex2103.zip", try Data(contentsOf: root.appendingPathComponent("C/inetpub/logs/LogFiles/W3SVC1/u_ex2103.zip")))],
                collection)
        let z = try await hunt(collection)
        #expect(z.problems.contains { $0.message.contains("1 zip file(s) inside it were not opened") })
        #expect(z.manifest.contains { $0.path.hasSuffix("u_ex2103.zip") && $0.sha256 != nil })
    }
}

@Suite(.timeLimit(.minutes(20))) struct EventLogHuntTests {
    /// Event logs written byte for byte in the EVTX format, hunted by the Windows rules.
    @Test func exchangeEventLogsAreHuntedByTheirRules() async throws {
        let root = try tempDir()
        let t = Timestamp.parse("2021-03-03T05:00:00Z")!
        var app = EVTXBuilder()
        app.add(EVTXBuilder.event(provider: "MSExchange Unified Messaging", eventID: 100, level: 2, channel: "Application",
                                  computer: "EXCH01", time: "2021-03-03T05:00:00.000000Z",
                                  data: [(nil, "An unhandled exception occurred in a UM worker process: System.InvalidCastException: Unable to cast object of type 'System.Collections.Hashtable'")]),
                id: 1, time: t)
        app.add(EVTXBuilder.event(provider: "MSExchange Unified Messaging", eventID: 100, level: 2, channel: "Application",
                                  computer: "EXCH01", time: "2021-03-03T05:01:00.000000Z",
                                  data: [(nil, "System.TimeoutException: the call did not complete")]), id: 2, time: t)
        try put(root, "C/Windows/System32/winevt/Logs/Application.evtx", app.build(firstID: 1))
        var mgmt = EVTXBuilder()
        let shell = "http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"p\"],\"unsafe\");}</script>"
        mgmt.add(EVTXBuilder.event(provider: "MSExchange CmdletLogs", eventID: 1, level: 4, channel: "MSExchange Management", computer: "EXCH01",
                                   time: "2021-03-03T05:02:00.000000Z",
                                   data: [(nil, "Set-OabVirtualDirectory"), (nil, "-ExternalUrl \"\(shell)\" -Identity \"OAB (Default Web Site)\"")]), id: 10, time: t)
        mgmt.add(EVTXBuilder.event(provider: "MSExchange CmdletLogs", eventID: 1, level: 4, channel: "MSExchange Management", computer: "EXCH01",
                                   time: "2021-03-03T05:03:00.000000Z",
                                   data: [(nil, "Set-OwaVirtualDirectory"), (nil, "-ExternalUrl \"https://mail.contoso.com/owa\" -Identity \"owa (Default Web Site)\"")]), id: 11, time: t)
        mgmt.add(EVTXBuilder.event(provider: "MSExchange CmdletLogs", eventID: 1, level: 4, channel: "MSExchange Management", computer: "EXCH01",
                                   time: "2021-08-10T02:00:00.000000Z",
                                   data: [(nil, "New-MailboxExportRequest"), (nil, "-Mailbox \"admin\" -FilePath \"\\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx\"")]), id: 12, time: t)
        try put(root, "C/Windows/System32/winevt/Logs/MSExchange Management.evtx", mgmt.build(firstID: 10))
        var sec = EVTXBuilder()
        sec.add(EVTXBuilder.event(provider: "Microsoft-Windows-Security-Auditing", eventID: 4688, level: 0, channel: "Security", computer: "EXCH01",
                                  time: "2021-03-03T05:10:00.000000Z",
                                  data: [("SubjectUserName", "EXCH01$"), ("NewProcessName", "C:\\Windows\\System32\\cmd.exe"),
                                         ("CommandLine", "cmd /c whoami"), ("ParentProcessName", "c:\\windows\\system32\\inetsrv\\w3wp.exe")]),
                id: 100, time: t)
        try put(root, "C/Windows/System32/winevt/Logs/Security.evtx", sec.build(firstID: 100))

        let r = try await hunt(root)
        let um = r.findings.filter { $0.cves.contains("CVE-2021-26857") }
        #expect(um.count == 1, "only the InvalidCastException error")
        #expect(um.first?.timestamp == Timestamp.parse("2021-03-03T05:00:00Z"))
        #expect(um.first?.tpl == "Cve-2021-26857")
        #expect(r.findings.filter { $0.rule.id == "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2634" }.count == 1, "markup URL only, not the admin change")
        #expect(r.findings.filter { $0.rule.id == "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2635" }.count == 1)
        let shellSpawn = try #require(r.findings.first { $0.rule.id == "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2632" })
        #expect(shellSpawn.fields["Image"] == "C:\\Windows\\System32\\cmd.exe", "Security 4688 fields mapped to process_creation names")
        let coverage = try #require(r.coverage.first { $0.source == "EventLog/Application" })
        #expect(coverage.lines == 2)
        #expect(coverage.earliest == Timestamp.parse("2021-03-03T05:00:00Z"))
        #expect(r.verdict == .compromised)
        // The same bytes are valid for the Rust evtx crate, when it is installed.
        let n = try run("/usr/bin/env", ["python3", "-c", "import sys\ntry:\n from evtx import PyEvtxParser\nexcept ImportError:\n print(-1); sys.exit()\nprint(len(list(PyEvtxParser(sys.argv[1]).records_json())))",
                       root.appendingPathComponent("C/Windows/System32/winevt/Logs/MSExchange Management.evtx").path])
            .text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(n == "3" || n == "-1", "the evtx crate read \(n) records")
    }
}

@Suite(.timeLimit(.minutes(20))) struct ExchangeFamilyPackTests {
    static func iis(_ lines: [String]) -> String {
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
            + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"
            + lines.map { $0 + "\r\n" }.joined()
    }

    /// ProxyShell, ProxyNotShell, OWASSRF and ProxyToken on IIS lines written from the public
    /// write-ups, next to busy legitimate traffic that must stay silent.
    @Test func packsFireOnTheirAttacksAndNotOnOrdinaryTraffic() async throws {
        let q = "&CorrelationID=<empty>;&cafeReqId=3f6c1d2e-9b8a-4c7d-8e6f-5a4b3c2d1e0f;"
        let attacks = [
            "2022-10-01 01:00:00 10.0.0.10 POST /autodiscover/autodiscover.json @evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp\(q) 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 12",
            "2022-10-01 01:00:05 10.0.0.10 POST /autodiscover/autodiscover.json @evil.corp/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@evil.corp\(q) 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 30",
            "2022-10-02 02:00:00 10.0.0.10 POST /autodiscover/autodiscover.json @evil.com/owa/&Email=autodiscover/autodiscover.json%3f@evil.com&Protocol=XYZ&FooProtocol=Powershell\(q) 443 CONTOSO\\bob 198.51.100.7 python-requests/2.28.1 - 200 0 0 40",
            "2022-12-20 03:00:00 10.0.0.10 POST /owa/mastermail@contoso.com/powershell clientId=AFD4F4C5A6B7C8D9\(q) 443 CONTOSO\\bob 198.51.100.7 python-requests/2.28.1 - 200 0 0 40",
            "2021-08-10 04:00:00 10.0.0.10 POST /ecp/alice@contoso.com/RulesEditor/InboxRules.svc/NewObject \(q) 443 - 192.0.2.77 python-requests/2.25.1 - 500 0 0 9",
        ]
        let ordinary = [
            "2022-10-02 02:01:00 10.0.0.10 GET /autodiscover/autodiscover.json/v1.0/alice@contoso.com Protocol=AutodiscoverV1&RedirectCount=1\(q) 443 alice@contoso.com 10.0.0.5 Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.15601) - 200 0 0 15",
            "2022-10-02 02:01:01 10.0.0.10 POST /powershell clientApplication=ActiveMonitor;PSVersion=5.1.17763.1\(q) 80 CONTOSO\\HealthMailbox1 ::1 Microsoft+WinRM+Client - 200 0 0 120",
            "2022-10-02 02:01:02 10.0.0.10 POST /owa/service.svc action=GetItem&app=Mail\(q) 443 CONTOSO\\alice 10.0.0.5 Mozilla/5.0 - 200 0 0 31",
            "2022-10-02 02:01:03 10.0.0.10 POST /ecp/RulesEditor/InboxRules.svc/NewObject msExchEcpCanary=abc\(q) 443 CONTOSO\\alice 10.0.0.5 Mozilla/5.0 - 200 0 0 44",
            "2022-10-02 02:01:04 10.0.0.10 GET /owa/auth/logon.aspx url=%2fowa%2f\(q) 443 - 10.0.0.6 Mozilla/5.0 - 200 0 0 3",
        ]
        let root = try tempDir()
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex221002.log", Self.iis(ordinary + attacks + ordinary))
        let r = try await hunt(root)
        func hits(_ cve: String) -> Int { r.findings.filter { $0.cves.contains(cve) }.reduce(0) { $0 + $1.count } }
        #expect(hits("CVE-2021-34473") == 2, "ProxyShell: nspi and X-Rps-CAT")
        #expect(hits("CVE-2022-41040") == 1, "ProxyNotShell")
        #expect(hits("CVE-2022-41080") == 1, "OWASSRF")
        #expect(hits("CVE-2021-33766") == 1, "ProxyToken")
        let flagged = Set(r.findings.flatMap(\.samples).compactMap(\.line))
        let ordinaryLines = Set((4..<9).map { $0 } + (14..<19).map { $0 })
        #expect(flagged.isDisjoint(with: ordinaryLines), "ordinary traffic flagged: \(flagged.intersection(ordinaryLines))")
        let stories = FleetTimeline([r]).stories[0]
        #expect(stories.cves.contains("CVE-2022-41082"))
    }
}
