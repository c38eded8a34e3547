import Foundation
import Testing
import Hunt
import HuntCore
import Reports
import TestSupport

/// Verdicts per vulnerability family, on real-format evidence written here: policy weights,
/// windows and covering sources, gaps, the patch timeline from log headers, mitigations.
@Suite(.timeLimit(.minutes(20))) struct VerdictTests {
    /// IIS W3C lines with the default field set, one per `every` hours from `start` for `days` days.
    static func iisSteady(from start: String, days: Int, every hours: Int = 6, extra: [String] = []) -> String {
        let t0 = ISO8601DateFormatter().date(from: start + "T00:00:00Z")!
        var out = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
            + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"
        var lines: [(Date, String)] = (0..<(days * 24 / hours)).map { i in
            let t = t0.addingTimeInterval(Double(i * hours) * 3600)
            return (t, "GET /owa/service.svc action=GetFolder 443 CONTOSO\\user\(i % 7) 192.0.2.\(i % 200) Mozilla/5.0 - 200 0 0 12")
        }
        for e in extra {
            let parts = e.split(separator: " ", maxSplits: 2).map(String.init)
            lines.append((ISO8601DateFormatter().date(from: parts[0] + "T" + parts[1] + "Z")!, String(e.dropFirst(20))))
        }
        for (t, rest) in lines.sorted(by: { $0.0 < $1.0 }) {
            let stamp = ISO8601DateFormatter().string(from: t).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
            out += "\(stamp) 10.0.0.5 \(rest)\r\n"
        }
        return out
    }

    func family(_ r: HostReport, _ name: String) throws -> FamilyVerdict {
        try #require(r.families.first { $0.family == name }, "\(r.families.map(\.family))")
    }

    @Test func logsFrom2023AreCleanForProxyNotShellAndInconclusiveForProxyLogon() async throws {
        let root = try tempDir()
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex220701.log", Self.iisSteady(from: "2022-07-01", days: 365))
        try put(root, "Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2023050100-1.LOG",
                Exchange2013.log(Exchange2013.steady(from: "2023-05-01", days: 60)))
        let r = try await hunt(root)
        let logon = try family(r, "proxylogon")
        #expect(logon.verdict == .inconclusive)
        #expect(logon.reasons.contains { $0.contains("HttpProxy logs start 2023-05-01") }, "\(logon.reasons)")
        let notShell = try family(r, "proxynotshell")
        #expect(notShell.verdict == .clean, "\(notShell.reasons)")
        #expect(notShell.coveredBy == ["HttpProxy", "IIS"])
        #expect(try family(r, "owassrf").verdict == .clean)
        // IIS starts 2022-07-01, after ProxyShell's window began.
        #expect(try family(r, "proxyshell").verdict == .inconclusive)
        #expect(r.verdict == .inconclusive)
    }

    @Test func deletedDaysInsideTheWindowAreAGapThatIsNamed() async throws {
        let root = try tempDir()
        let rows = Exchange2013.steady(from: "2020-12-20", days: 100).filter { row in
            let t = row["DateTime"] ?? ""
            return !(t >= "2021-02-10" && t < "2021-02-12")
        }
        try put(root, "Logging/HttpProxy/Owa/HttpProxy_2020122000-1.LOG", Exchange2013.log(rows))
        let r = try await hunt(root)
        let logon = try family(r, "proxylogon")
        #expect(logon.verdict == .inconclusive)
        let gap = try #require(logon.gaps.first)
        #expect(logon.gaps.count == 1)
        #expect(ISOTime.day(gap.start) == "2021-02-09" || ISOTime.day(gap.start) == "2021-02-10")
        #expect(gap.end.map(ISOTime.day) == "2021-02-12")
        #expect(r.gaps.contains { $0.source == "HttpProxy" && $0.start == gap.start })
        #expect(r.verdictReasons.contains { $0.contains("no lines from 2021-02-") }, "\(r.verdictReasons)")
        // The same logs without the hole are clean.
        let whole = try tempDir()
        try put(whole, "Logging/HttpProxy/Owa/HttpProxy_2020122000-1.LOG", Exchange2013.log(Exchange2013.steady(from: "2020-12-20", days: 100)))
        let w = try await hunt(whole)
        #expect(try family(w, "proxylogon").verdict == .clean)
        #expect(w.verdict == .clean, "\(w.verdictReasons)")
    }

    @Test func aScannedOnlyServerIsAttempted() async throws {
        let root = try tempDir()
        // Mass scanners: the ProxyShell path confusion refused (a patched server answers 400 or
        // 401), the ProxyNotShell pattern without a user, the ProxyLogon probe of /owa/auth/x.js.
        let scans = [
            "2022-09-30 03:00:00 POST /autodiscover/autodiscover.json @evil.corp/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBB&Email=autodiscover/autodiscover.json%3F@evil.corp 443 - 198.51.100.7 python-requests/2.28 - 401 0 0 5",
            "2022-10-01 04:00:00 GET /autodiscover/autodiscover.json @zdi/Powershell&Email=autodiscover/autodiscover.json%3F@zdi 443 - 198.51.100.8 Mozilla/5.0 - 400 0 0 5",
        ]
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex201220.log", Self.iisSteady(from: "2020-12-20", days: 760, extra: scans))
        var probe = Exchange2013.ordinary("2021-03-05T01:00:00.000Z", 99_999)
        probe["AnchorMailbox"] = "ServerInfo~localhost/ecp/default.flt?"
        probe["UrlStem"] = "/owa/auth/x.js"
        let rows = Exchange2013.merged(Exchange2013.steady(from: "2020-12-20", days: 760), [probe])
        try put(root, "Logging/HttpProxy/Owa/HttpProxy_2020122000-1.LOG", Exchange2013.log(rows))
        let r = try await hunt(root)
        #expect(r.verdict == .attempted, "\(r.verdictReasons)")
        #expect(try family(r, "proxyshell").verdict == .attempted)
        #expect(try family(r, "proxyshell").attempted == 2, "both requests fit the ProxyShell confusion")
        #expect(try family(r, "proxylogon").verdict == .attempted)
        #expect(try family(r, "owassrf").verdict == .clean)
        #expect(r.findings.allSatisfy { $0.role != .compromised })
    }

    @Test func exploitationIsWeighedByItsOutcome() async throws {
        let root = try tempDir()
        let hits = [
            // ProxyShell answered 200: the back end took it.
            "2021-08-13 03:00:00 POST /autodiscover/autodiscover.json @evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp 443 - 198.51.100.7 python-requests/2.26 - 200 0 0 5",
            // ProxyNotShell with a mailbox account, answered 200; and the same pattern without one.
            "2022-09-20 03:00:00 POST /autodiscover/autodiscover.json a@b.c/powershell/?Email=a@b.c 443 CONTOSO\\victim 198.51.100.9 Mozilla/5.0 - 200 0 0 5",
            "2022-09-21 03:00:00 POST /autodiscover/autodiscover.json a@b.c/powershell/?Email=a@b.c 443 - 198.51.100.10 Mozilla/5.0 - 200 0 0 5",
        ]
        try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex210701.log", Self.iisSteady(from: "2021-07-01", days: 500, extra: hits))
        let r = try await hunt(root)
        let shell = try family(r, "proxyshell")
        #expect(shell.verdict == .compromised, "\(shell.reasons)")
        let notShell = try family(r, "proxynotshell")
        #expect(notShell.verdict == .compromised)
        #expect(notShell.compromised == 1)
        #expect(notShell.attempted == 1, "the unauthenticated request is an attempt")
        #expect(r.verdict == .compromised)
    }

    @Test func httpProxyLogsAreWeighedByOutcomeToo() async throws {
        let root = try tempDir()
        func request(_ t: String, _ stem: String, _ query: String, user: String, status: String, _ i: Int) -> [String: String] {
            var r = Exchange2013.ordinary(t, i)
            r["UrlStem"] = stem
            r["UrlQuery"] = query
            r["AuthenticatedUser"] = user
            r["HttpStatus"] = status
            r["Protocol"] = "Autodiscover"
            return r
        }
        let rows = Exchange2013.merged(Exchange2013.steady(from: "2021-07-01", days: 700), [
            request("2021-08-13T03:00:00.000Z", "/autodiscover/autodiscover.json", "?@evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp",
                    user: "", status: "200", 900_001),
            request("2022-12-01T03:00:00.000Z", "/owa/mastermailbox%40outlook.com/powershell", "", user: "CONTOSO\\victim", status: "200", 900_002),
            request("2022-12-02T03:00:00.000Z", "/owa/mastermailbox%40outlook.com/powershell", "", user: "", status: "401", 900_003),
        ])
        try put(root, "Logging/HttpProxy/Autodiscover/HttpProxy_2021070100-1.LOG", Exchange2013.log(rows))
        let r = try await hunt(root)
        #expect(try family(r, "proxyshell").verdict == .compromised)
        let owassrf = try family(r, "owassrf")
        #expect(owassrf.verdict == .compromised)
        #expect(owassrf.compromised == 1 && owassrf.attempted == 1, "\(owassrf.reasons)")
        #expect(try family(r, "proxynotshell").verdict == .clean, "an OWA path is OWASSRF's, not ProxyNotShell's")
    }

    @Test func reportsFromBeforeTheFamiliesStillDecode() async throws {
        let r = try await hunt(samples.appendingPathComponent("compromised-server"))
        var object = try #require(try JSONSerialization.jsonObject(with: try JSONReport.encode(r)) as? [String: Any])
        for key in ["families", "gaps", "builds", "hostSource", "hostNames"] { object[key] = nil }
        let old = try JSONReport.decode(try JSONSerialization.data(withJSONObject: object))
        #expect(old.families.isEmpty && old.builds.isEmpty && old.hostSource == "folder name")
        #expect(old.findings.count == r.findings.count)
    }

    @Test func twoBuildsGiveThePatchTimeline() async throws {
        let root = try tempDir()
        let before = Exchange2013.merged(Exchange2013.steady(from: "2020-12-20", days: 74),
                                         [Exchange2013.ssrf("2021-02-28T01:02:12.000Z", 77_777)])
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_2020122000-1.LOG", Exchange2013.log(before, version: "15.01.2176.002"))
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_2021030400-1.LOG",
                Exchange2013.log(Exchange2013.steady(from: "2021-03-04", days: 30), version: "15.01.2176.009"))
        let r = try await hunt(root)
        #expect(r.builds.map(\.build) == ["15.1.2176.2", "15.1.2176.9"])
        let logon = try family(r, "proxylogon")
        #expect(logon.verdict == .compromised)
        #expect(logon.buildAtExploitation == "15.1.2176.2")
        #expect(logon.statusAtExploitation == "vulnerable")
        #expect(logon.patchedBuild == "15.1.2176.9")
        #expect(logon.patchedFrom.map(ISOTime.day) == "2021-03-04")
        #expect(!logon.patchedBeforeLogs)
        #expect(logon.reasons.contains { $0.contains("while on 15.1.2176.2, vulnerable") && $0.contains("from 2021-03-04") }, "\(logon.reasons)")
    }

    @Test func aCollectedWebConfigWithTheRewriteRuleIsMitigated() async throws {
        let root = try tempDir()
        let config = """
            <?xml version="1.0" encoding="UTF-8"?>
            <configuration>
              <system.webServer>
                <rewrite>
                  <rules>
                    <rule name="X-AnonResource-Backend Abort - inbound">
                      <match url=".*" />
                      <conditions><add input="{HTTP_COOKIE}" pattern="(.*)X-AnonResource-Backend(.*)" /></conditions>
                      <action type="AbortRequest" />
                    </rule>
                    <rule name="X-BEResource Abort - inbound" stopProcessing="true">
                      <match url=".*" />
                      <conditions><add input="{HTTP_COOKIE}" pattern="(.*)X-BEResource=(.+)/(.+)~(.+)" /></conditions>
                      <action type="AbortRequest" />
                    </rule>
                  </rules>
                </rewrite>
              </system.webServer>
            </configuration>
            """
        try put(root, "C/inetpub/wwwroot/web.config", config)
        let written = ISO8601DateFormatter().date(from: "2021-03-16T09:30:00Z")!
        try FileManager.default.setAttributes([.modificationDate: written],
                                              ofItemAtPath: root.appendingPathComponent("C/inetpub/wwwroot/web.config").path)
        try put(root, "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2020122000-1.LOG",
                Exchange2013.log(Exchange2013.steady(from: "2020-12-20", days: 100)))
        let r = try await hunt(root)
        let logon = try family(r, "proxylogon")
        #expect(logon.mitigatedFrom == written)
        #expect(logon.reasons.contains { $0.hasPrefix("mitigated from 2021-03-16") }, "\(logon.reasons)")
        #expect(logon.verdict == .clean, "a mitigation is shown, it does not change the verdict")
        #expect(try family(r, "proxynotshell").mitigatedFrom == nil)
    }

    @Test(.enabled(if: hasSharedData, "needs ../shared (SigmaHQ, signature-base, event logs)"))
    func aBusyCleanServerWithThirdPartyRulesStaysClean() async throws {
        let root = try tempDir()
        try FileManager.default.copyItem(at: samples.appendingPathComponent("clean-server"), to: root.appendingPathComponent("server"))
        let server = root.appendingPathComponent("server")
        try put(server, "Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2020122000-1.LOG",
                Exchange2013.log(Exchange2013.steady(from: "2020-12-20", days: 760)))
        try put(server, "inetpub/logs/LogFiles/W3SVC1/u_ex201220.log", Self.iisSteady(from: "2020-12-20", days: 760))
        let logs = server.appendingPathComponent("Windows/System32/winevt/Logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        for name in ["security.evtx", "MSExchange_Management_wec.evtx", "Security_short_selected.evtx", "new-user-security.evtx"] {
            try FileManager.default.copyItem(at: sharedData.appendingPathComponent("omerbenamram__evtx/samples/\(name)"),
                                             to: logs.appendingPathComponent(name))
        }
        var sources = Detectors.Sources()
        sources.sigma = [sharedData.appendingPathComponent("SigmaHQ__sigma/rules")]
        sources.yara = [sharedData.appendingPathComponent("Neo23x0__signature-base/yara")]
        var config = HuntConfiguration(evidence: server)
        config.jobs = 2
        let r = try await Hunter(configuration: config, detectors: try await Detectors.load(sources)).run()
        let third = r.findings.filter { !$0.rule.source.hasPrefix("builtin:") }
        print("third-party findings: \(third.count), by weight: \(Dictionary(grouping: third, by: \.role).mapValues(\.count))")
        #expect(!third.isEmpty, "SigmaHQ's rules fire on these event logs")
        #expect(third.allSatisfy { $0.role == .supporting || $0.role == .informational })
        #expect(r.findings.allSatisfy { $0.role != .compromised && $0.role != .attempted }, "\(r.findings.filter { $0.role == .compromised || $0.role == .attempted }.map(\.rule.title))")
        #expect(r.verdict == .clean, "\(r.verdictReasons)")
    }
}
