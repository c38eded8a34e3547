import Crypto
import Foundation
import HuntCore
import Reports
import Testing
import TestSupport
import Verdicts

/// Web shells wherever they are: exhunt's families against the corpus and its benign twins, the
/// policy that weighs a match by where the page lies and what else is known of it, IIS's requests
/// joined with the page they used, and the post-exploitation rules with their twins.
@Suite(.timeLimit(.minutes(20))) struct WebShellPolicyTests {
    static let corpus = repoRoot.appendingPathComponent("Tests/Corpus/webshells")
    static let site = "C/inetpub/wwwroot/intranet"
    static let v15 = "C/Program Files/Microsoft/Exchange Server/V15"

    /// A rule set of the test's own, loaded with `--yara` as third-party rules are: it matches a
    /// marker that ordinary pages could well hold.
    static func externalRules(_ dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("third-party/generic.yar")
        try put(dir, "third-party/generic.yar", """
            rule THIRD_PARTY_Generic_Obfuscation { meta: score = 70 strings: $a = "ObfuscatedMarker" condition: $a }
            """)
        return url
    }

    static func report(_ args: [String], in dir: URL) throws -> (HostReport, String) {
        let json = dir.appendingPathComponent("r-\(UUID().uuidString).json")
        let r = try runCLI(["hunt"] + args + ["-o", json.path, "--quiet", "--no-progress", "--host", "EXCH01"])
        return (try JSONReport.decode(try Data(contentsOf: json)), r.stderr)
    }

    static func w3c(_ lines: [String]) -> String {
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-03 00:00:00\n"
            + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"
            + lines.joined(separator: "\n") + "\n"
    }

    static func setWritten(_ root: URL, _ rel: String, _ iso: String) throws {
        let date = try #require(ISO8601DateFormatter().date(from: iso))
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: root.appendingPathComponent(rel).path)
    }

    @Test("The benign corpus in an ordinary site's folder: no finding at medium or above")
    func benignPagesAreSilent() throws {
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent("benign").path) {
            try put(root, "\(Self.site)/\(name)", try Data(contentsOf: Self.corpus.appendingPathComponent("benign/\(name)")))
        }
        let (report, stderr) = try Self.report([root.path], in: dir)
        #expect(report.stats.files >= 18, "\(stderr)")
        let loud = report.findings.filter { $0.severity >= .medium }
        #expect(loud.isEmpty, "\(loud.map { "\($0.rule.id) \($0.evidence.path)" })")
        #expect(report.verdict != .compromised)
    }

    @Test("Every shell of the corpus is found in an ordinary site's folder and decides")
    func shellsDecideAnywhere() throws {
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        var expected: [String: String] = [:]
        let shells = Self.corpus.appendingPathComponent("shells")
        for family in try FileManager.default.contentsOfDirectory(atPath: shells.path) {
            for name in try FileManager.default.contentsOfDirectory(atPath: shells.appendingPathComponent(family).path) {
                try put(root, "\(Self.site)/\(family)/\(name)", try Data(contentsOf: shells.appendingPathComponent("\(family)/\(name)")))
                expected[name] = family
            }
        }
        let (report, _) = try Self.report([root.path], in: dir)
        for (name, family) in expected {
            let mine = report.findings.filter { $0.evidence.path.hasSuffix("/" + name) }
            #expect(mine.contains { $0.rule.id == family && $0.role == .compromised }, "\(name): \(mine.map(\.rule.id))")
        }
        #expect(report.verdict == .compromised)
    }

    @Test("A third-party match decides in Exchange's folders, supports in another site's, and decides there with the page's use")
    func thirdPartyMatchesByPlace() throws {
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        let rules = try Self.externalRules(dir)
        let page = "<%@ Page Language=\"C#\" %>\n<% /* ObfuscatedMarker */ Response.Write(DateTime.Now); %>\n"
        // The same page three times: in aspnet_client, in a site used only by GETs, and in a site
        // whose page was posted to an hour after it was written.
        try put(root, "C/inetpub/wwwroot/aspnet_client/system_web/status.aspx", page)
        try put(root, "D/sites/shop/report.aspx", page)
        try put(root, "D/sites/blog/upload/stats.aspx", page)
        try put(root, "C/Windows/System32/inetsrv/config/applicationHost.config", """
            <configuration><system.applicationHost><sites>
            <site name="Shop" id="2"><application path="/"><virtualDirectory path="/" physicalPath="D:\\sites\\shop" /></application></site>
            <site name="Blog" id="3"><application path="/"><virtualDirectory path="/" physicalPath="D:\\sites\\blog" />
            <virtualDirectory path="/files" physicalPath="E:\\data\\blogfiles" /></application></site>
            </sites></system.applicationHost></configuration>
            """)
        // A page served through a virtual directory mapped elsewhere, beside a page of the same
        // name in another site: only IIS's configuration tells which one /files/run.aspx is.
        try put(root, "E/data/blogfiles/run.aspx", "<%@ Page Language=\"C#\" %>\n<% Response.Write(1); %>\n")
        try put(root, "D/sites/shop/run.aspx", "<%@ Page Language=\"C#\" %>\n<% Response.Write(2); %>\n")
        try Self.setWritten(root, "D/sites/blog/upload/stats.aspx", "2021-03-03T01:00:00Z")
        try Self.setWritten(root, "D/sites/shop/report.aspx", "2021-03-01T01:00:00Z")
        try Self.setWritten(root, "C/inetpub/wwwroot/aspnet_client/system_web/status.aspx", "2021-03-01T01:00:00Z")
        try put(root, "C/inetpub/logs/LogFiles/W3SVC3/u_ex210303.log", Self.w3c([
            "2021-03-03 02:00:00 10.0.0.5 POST /upload/stats.aspx - 443 - 203.0.113.9 Mozilla/5.0 - 200 0 0 31",
            "2021-03-03 02:05:00 10.0.0.5 POST /upload/stats.aspx - 443 - 203.0.113.9 Mozilla/5.0 - 200 0 0 28",
            "2021-03-03 03:00:00 10.0.0.5 POST /upload/stats.aspx - 443 - 198.51.100.7 Mozilla/5.0 - 200 0 0 25",
            "2021-03-03 05:00:00 10.0.0.5 GET /files/run.aspx cmd=whoami 443 - 198.51.100.7 Mozilla/5.0 - 200 0 0 25",
            "2021-03-03 06:00:00 10.0.0.5 POST /gone/absent.aspx - 443 - 198.51.100.7 Mozilla/5.0 - 200 0 0 25",
        ]))
        try put(root, "C/inetpub/logs/LogFiles/W3SVC2/u_ex210303.log", Self.w3c([
            "2021-03-03 04:00:00 10.0.0.5 GET /report.aspx - 443 - 192.0.2.1 Mozilla/5.0 - 200 0 0 12",
        ]))
        let (report, stderr) = try Self.report([root.path, "--yara", rules.path], in: dir)
        func third(_ suffix: String) -> Finding? {
            report.findings.first { $0.rule.id == "THIRD_PARTY_Generic_Obfuscation" && $0.evidence.path.hasSuffix(suffix) }
        }
        let exchange = try #require(third("status.aspx"), "\(stderr)")
        #expect(exchange.role == .compromised, "aspnet_client holds only Exchange's files")
        #expect(exchange.origin?.place == .exchangeWeb)
        let quiet = try #require(third("report.aspx"))
        #expect(quiet.role == .supporting, "a GET to an ordinary site's page is no second signal")
        #expect(quiet.origin?.place == .otherSite)
        #expect(quiet.reweighed == nil)
        let used = try #require(third("stats.aspx"))
        // Written an hour before its first POST: the page's use is the second signal.
        let use = try #require(report.findings.first { $0.rule.title == "Page used as a web shell" })
        #expect(use.evidence.path.hasSuffix("upload/stats.aspx"))
        #expect(use.fields["RequestsAnswered"] == "3")
        #expect(use.fields["Clients"] == "198.51.100.7, 203.0.113.9" || use.fields["Clients"] == "203.0.113.9, 198.51.100.7")
        #expect(use.extracted["summary"]?.contains("written 2021-03-03T01:00:00.000Z") == true, "\(use.extracted) \(use.fields)")
        #expect(use.extracted["summary"]?.contains("from 2021-03-03T02:00:00.000Z to 2021-03-03T03:00:00.000Z") == true, "\(use.extracted)")
        #expect(used.role == .compromised)
        #expect(used.reweighed?.contains("61e51361-af2d-4b95-94f7-d57c9905ac07") == true, "\(used.reweighed ?? "nil")")
        let run = try #require(report.findings.first { $0.rule.title == "Page used as a web shell" && $0.fields["RequestUrl"] == "/files/run.aspx" })
        #expect(run.evidence.path.hasSuffix("E/data/blogfiles/run.aspx"), "\(run.evidence.path)")
        #expect(report.findings.contains { $0.rule.title == "Request to a server-side page carrying a command" })
        #expect(use.extracted["summary"]?.contains("joined with the page by IIS's configuration") == true, "\(use.extracted)")
        // A page that answered POSTs but is not in the evidence is named, not passed over.
        #expect(report.problems.contains { $0.code == "page-not-joined" && $0.message.contains("/gone/absent.aspx") }, "\(report.problems)")
        // The page of the site used by GETs only makes no page-use finding.
        #expect(!report.findings.contains { $0.rule.title == "Page used as a web shell" && $0.evidence.path.hasSuffix("report.aspx") })
    }

    @Test("A third-party match on a file the baselines call Exchange's own weighs nothing",
          .enabled(if: hasSharedData, "needs ../shared's baselines"))
    func thirdPartyMatchOnKnownGoodFile() throws {
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        let rules = try Self.externalRules(dir)
        let page = "<%@ Page Language=\"C#\" %>\n<% /* ObfuscatedMarker */ %>\n"
        try put(root, "\(Self.v15)/FrontEnd/HttpProxy/owa/auth/custom.aspx", page)
        try put(root, "\(Self.v15)/FrontEnd/HttpProxy/owa/auth/15.1.2176.2/readme.txt", "themes\n")
        let baselines = dir.appendingPathComponent("baselines")
        let sha = SHA256.hash(data: Data(page.utf8)).map { String(format: "%02X", $0) }.joined()
        try put(baselines, "ours.csv", "\(sha),15.1.2176.2,\\FrontEnd\\HttpProxy\\owa\\auth\\custom.aspx\n")
        let (report, stderr) = try Self.report([root.path, "--yara", rules.path, "--baselines", baselines.path], in: dir)
        let f = try #require(report.findings.first { $0.rule.id == "THIRD_PARTY_Generic_Obfuscation" }, "\(stderr)")
        #expect(f.role == .informational)
        #expect(f.reweighed?.contains("15.1.2176.2") == true)
        #expect(report.verdict != .compromised)
    }

    /// Sysmon events as the evtx crate exports them (`evtx_dump -o jsonl`), one per line.
    static func sysmon(_ record: Int, _ id: Int, _ data: [String: String]) throws -> String {
        let event: [String: Any] = [
            "event_record_id": record, "timestamp": "2021-03-04T10:00:\(String(format: "%02d", record % 60)).000000Z UTC",
            "data": ["Event": [
                "System": ["Provider": ["#attributes": ["Name": "Microsoft-Windows-Sysmon"]], "EventID": id, "EventRecordID": record,
                           "TimeCreated": ["#attributes": ["SystemTime": "2021-03-04T10:00:\(String(format: "%02d", record % 60)).000000Z"]],
                           "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "EXCH01.corp.local"],
                "EventData": data]]]
        return String(decoding: try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("Post-exploitation from the web worker: each rule finds its event, and each benign twin is silent")
    func postExploitationRulesAndTwins() throws {
        let w3wp = #"c:\windows\system32\inetsrv\w3wp.exe"#
        let chopperCmd = #"cmd /c "cd /d "c:\windows\system32\inetsrv\"&net user support Passw0rd! /add&echo [S]&cd&echo [E]""#
        let cases: [(record: Int, id: Int, data: [String: String], rule: String?)] = [
            (1, 11, ["Image": w3wp, "TargetFilename": #"C:\ProgramData\x\update.exe"#], "944004b9-d529-48c7-b140-467222c3cb20"),
            (2, 11, ["Image": w3wp, "TargetFilename": #"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files\owa\1\App_Web_x.dll"#], nil),
            (3, 1, ["ParentImage": w3wp, "Image": #"C:\ProgramData\x\update.exe"#, "CommandLine": "update.exe -s"], "1feb9383-2674-4b6c-8c98-0ac43bdfe35b"),
            (4, 1, ["ParentImage": w3wp, "Image": #"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe"#, "CommandLine": "csc.exe /noconfig @x.cmdline"], nil),
            (5, 1, ["ParentImage": #"C:\Windows\System32\cmd.exe"#, "ParentCommandLine": chopperCmd, "Image": #"C:\Windows\System32\net.exe"#,
                    "CommandLine": "net  user support Passw0rd! /add"], "09065cd8-5743-4706-9bab-7466aee54ddf"),
            (6, 1, ["ParentImage": #"C:\Windows\System32\cmd.exe"#, "ParentCommandLine": #""C:\Windows\system32\cmd.exe" "#, "Image": #"C:\Windows\System32\net.exe"#,
                    "CommandLine": "net  user helpdesk2 Welcome1 /add"], nil),
            (7, 11, ["Image": #"C:\Program Files\7-Zip\7z.exe"#, "TargetFilename": #"C:\inetpub\wwwroot\aspnet_client\mail.7z"#], "2b38d538-dbec-42f3-bdc1-95514ec0fe00"),
            (8, 11, ["Image": #"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"#, "TargetFilename": #"C:\inetpub\logs\LogFiles\W3SVC1\old.zip"#], nil),
            (9, 1, ["ParentImage": w3wp, "Image": #"C:\Windows\System32\rundll32.exe"#,
                    "CommandLine": #"rundll32.exe C:\Windows\System32\comsvcs.dll MiniDump 624 C:\ProgramData\l.dmp full"#], "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2633"),
            (10, 1, ["ParentImage": #"C:\Windows\explorer.exe"#, "Image": #"C:\Windows\System32\rundll32.exe"#,
                     "CommandLine": #"rundll32.exe C:\Windows\System32\shell32.dll,Control_RunDLL"#], nil),
        ]
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        try put(root, "exports/sysmon.jsonl", try cases.map { try Self.sysmon($0.record, $0.id, $0.data) }.joined(separator: "\n") + "\n")
        let hits = dir.appendingPathComponent("hits.jsonl")
        let (_, stderr) = try Self.report([root.path, "--hits", hits.path], in: dir)
        // Every single hit: the rule and the event's record number.
        var byRecord: [String: Set<String>] = [:]
        for line in try String(contentsOf: hits, encoding: .utf8).split(separator: "\n") {
            guard let d = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let rule = (d["rule"] as? [String: Any])?["id"] as? String,
                  let record = (d["fields"] as? [String: Any])?["EventRecordID"] as? String ?? ((d["evidence"] as? [String: Any])?["record"]).map({ "\($0)" })
            else { continue }
            byRecord[record, default: []].insert(rule)
        }
        let ours: Set<String> = Set(cases.compactMap(\.rule))
        for c in cases {
            let fired = (byRecord[String(c.record)] ?? []).intersection(ours)
            if let rule = c.rule {
                #expect(fired.contains(rule), "record \(c.record): \(fired) \(stderr)")
            } else {
                #expect(fired.isEmpty, "benign twin \(c.record) matched \(fired)")
            }
        }
    }

    @Test("A second look that asks what the finding cannot tell is refused when the policy loads")
    func secondLookKeysAreChecked() throws {
        let dir = try tempDir()
        try put(dir, "p.yml", """
            weights:
              - {detector: yara, weight: supporting}
            second_look:
              - finding: {detector: yara, tags: [x]}
                when: corroborated
                weight: compromised
            """)
        #expect(throws: (any Error).self) { try VerdictPolicy.load(dir.appendingPathComponent("p.yml")) }
        try put(dir, "q.yml", """
            weights:
              - {detector: yara, place: somewhere, weight: supporting}
            """)
        #expect(throws: (any Error).self) { try VerdictPolicy.load(dir.appendingPathComponent("q.yml")) }
    }
}
