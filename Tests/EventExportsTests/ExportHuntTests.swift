import Foundation
import Testing
import HuntCore
import TestSupport

/// Runs the built `exhunt` binary, as a user would.
func exhunt(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let r = try run(productBinary("exhunt"), args)
    return (r.status, r.text, String(decoding: r.stderr, as: UTF8.self))
}

/// A `--json` report's fields that these tests read.
struct ReportView: Decodable {
    struct Problem: Decodable { var code: String; var message: String; var path: String?; var line: Int? }
    struct Family: Decodable { var family: String; var verdict: String; var reasons: [String] }
    var verdict: String
    var problems: [Problem]
    var places: [PlaceCount]
    var families: [Family]

    static func read(_ path: String) throws -> ReportView {
        try JSONDecoder().decode(ReportView.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// (rule id, record) of every hit in a `--hits` file.
func hitKeys(_ path: String) throws -> Set<String> {
    var out: Set<String> = []
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
        guard let d = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let rule = (d["rule"] as? [String: Any])?["id"] as? String,
              let evidence = d["evidence"] as? [String: Any] else { continue }
        let fields = d["fields"] as? [String: Any]
        let record = (fields?["EventRecordID"] as? String) ?? "\(evidence["record"] ?? "?")"
        out.insert("\(rule) \(record)")
    }
    return out
}

@Suite(.timeLimit(.minutes(20))) struct ExportHuntTests {
    /// SigmaHQ's Windows rules find the same events, rule by rule and record by record, in the
    /// evtx crate's JSON of two logs as in the logs themselves.
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func sigmaFindsTheSameEventsInAnExportAsInItsLog() throws {
        let dir = try tempDir()
        let native = dir.appendingPathComponent("native"), exported = dir.appendingPathComponent("exported")
        for name in ["security.evtx", "sysmon.evtx"] {
            try put(native, name, try Data(contentsOf: sharedData.appendingPathComponent("omerbenamram__evtx/samples/\(name)")))
            try put(exported, "\(name).jsonl", try Data(contentsOf: sharedData.appendingPathComponent("generated/evtx_crate_json/\(name).jsonl")))
        }
        let rules = sharedData.appendingPathComponent("SigmaHQ__sigma/rules/windows").path
        var keys: [Set<String>] = []
        for (i, d) in [native, exported].enumerated() {
            let hits = dir.appendingPathComponent("hits\(i).jsonl").path
            let r = try exhunt(["hunt", d.path, "--rules", rules, "--hits", hits, "--quiet", "--no-progress", "--host", "h"])
            #expect(r.status == 1 || r.status == 3 || r.status == 0, "\(r.stderr)")
            keys.append(try hitKeys(hits))
        }
        #expect(keys[0].count > 10, "the logs give SigmaHQ hits to compare")
        #expect(keys[0] == keys[1], "only in the logs: \(keys[0].subtracting(keys[1]).sorted().prefix(5)); only in the export: \(keys[1].subtracting(keys[0]).sorted().prefix(5))")
    }

    /// Every file of an evidence place is read or listed with why; a family whose covering files
    /// could not be read is inconclusive and names them.
    @Test func everyFileOfAnEvidencePlaceIsReadOrListed() throws {
        let dir = try tempDir()
        let logs = "C/Program Files/Microsoft/Exchange Server/V15/Logging"
        try put(dir, "\(logs)/HttpProxy/Ecp/HttpProxy_2021030301-1.LOG", """
        #Software: Microsoft Exchange Server
        #Version: 15.01.2176.002
        #Log-type: HttpProxy Logs
        #Fields: DateTime,RequestId,UrlStem,ClientIpAddress,ServerHostName,AnchorMailbox,HttpStatus
        2021-01-02T00:00:00.000Z,1,/ecp/default.aspx,10.0.0.1,EXCH01,,200
        2021-03-09T00:00:00.000Z,2,/ecp/default.aspx,10.0.0.1,EXCH01,,200

        """)
        try put(dir, "\(logs)/HttpProxy/Ecp/HttpProxy_2021030302-1.LOG", Data([0x00, 0x01, 0x02, 0xFF] + Array(repeating: UInt8(0x9C), count: 5000)))
        try put(dir, "\(logs)/HttpProxy/Owa/settings.json", "{\"theme\": \"dark\", \"refresh\": 30}\n")
        // An event log cut to its header, and a file that is no event log, in winevt\Logs.
        var header = Array("ElfFile\0".utf8) + Array(repeating: UInt8(0), count: 4088)
        header[0] = 0x45
        try put(dir, "C/Windows/System32/winevt/Logs/Security.evtx", Data(header))
        try put(dir, "C/Windows/System32/winevt/Logs/notes.dat", Data(Array(repeating: UInt8(7), count: 100)))
        // An export whose records are all broken.
        try put(dir, "C/Windows/System32/winevt/Logs/export.jsonl", "{\"EventID\": 4688, \"Channel\": \"Security\", \"Hostname\": \n")
        let json = dir.appendingPathComponent("r.json").path
        let r = try exhunt(["hunt", dir.path, "-o", json, "--no-progress", "--no-color"])
        #expect(r.status == 3, "inconclusive: \(r.stderr)")
        let report = try ReportView.read(json)
        let unread = report.problems.filter { $0.code == "not-read" }
        let paths = Set(unread.compactMap(\.path).map { URL(fileURLWithPath: $0).lastPathComponent })
        #expect(paths == ["HttpProxy_2021030302-1.LOG", "settings.json", "Security.evtx", "notes.dat", "export.jsonl"], "\(paths)")
        #expect(unread.first { $0.path?.hasSuffix("Security.evtx") == true }?.message.contains("cut to its header") == true)
        #expect(unread.first { $0.path?.hasSuffix("settings.json") == true }?.message.contains("no Windows events") == true)
        let places = Dictionary(uniqueKeysWithValues: report.places.map { ($0.place, $0) })
        #expect(places[.httpProxy]?.read == 1 && places[.httpProxy]?.notRead == 2)
        #expect(places[.winevt]?.read == 0 && places[.winevt]?.notRead == 3)
        let proxyLogon = try #require(report.families.first { $0.family == "proxylogon" })
        #expect(proxyLogon.verdict == "inconclusive")
        #expect(proxyLogon.reasons.contains { $0.contains("could not be read") && $0.contains("HttpProxy_2021030302-1.LOG") })
        #expect(r.stdout.contains("HttpProxy 1 read, 2 not read"))
        #expect(problemsHaveLines(report, "export.jsonl"))
    }

    func problemsHaveLines(_ report: ReportView, _ file: String) -> Bool {
        report.problems.contains { $0.code == "export" && $0.path?.hasSuffix(file) == true && $0.line == 1 }
    }

    /// A file of event XML that is mostly damaged stops being read after 10,000 damaged events
    /// (Foundation's XMLParser keeps memory for each), and says so.
    @Test func damagedEventXMLIsAbandonedAfterALimit() throws {
        let dir = try tempDir()
        let good = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><EventID>4624</EventID>"
            + "<Channel>Security</Channel></System></Event>\n"
        let text = "<Events>\n" + good + String(repeating: "<Event><x></Event>\n", count: 10_500) + good + "</Events>\n"
        try put(dir, "export/security.xml", text)
        let json = dir.appendingPathComponent("r.json").path
        _ = try exhunt(["hunt", dir.path, "-o", json, "--no-progress"])
        let report = try ReportView.read(json)
        let abandoned = try #require(report.problems.first { $0.code == "export-abandoned" })
        #expect(abandoned.message.contains("events were not well-formed XML: the rest of the file is not read"))
        #expect(abandoned.path?.hasSuffix("security.xml") == true)
    }

    /// Foundation's XMLParser keeps memory for every error it reports, and parses in recovery
    /// mode: a 60 KB event with thousands of errors kept ~700 KB, so 600 of them kept 400 MB. A
    /// document stops after a few errors. Measured as the hunt's peak memory (its own process,
    /// so tests running beside it do not count).
    @Test(.enabled(if: pythonCommand != nil, "needs python3 (measures the child's peak memory)"))
    func manyXMLErrorsInEventsKeepNoMemory() throws {
        let dir = try tempDir()
        var event = "<Event><System><EventID>4624</EventID></System><EventData>"
        for _ in 0..<2000 { event += "<Data Name=\"a\" b c>x & y</Data>" }
        event += "</EventData></Event>\n"
        try put(dir, "export/damaged.xml", "<Events>\n" + String(repeating: event, count: 600) + "</Events>\n")
        let measure = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            + "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let r = try run(try #require(pythonCommand), ["-c", measure, productBinary("exhunt").path, "hunt", dir.path, "--no-progress", "-j", "2"])
        let peakKiB = try #require(Int(r.text.trimmingCharacters(in: .whitespacesAndNewlines)), "\(r.text)")
        #expect(peakKiB < 200 * 1024, "peak \(peakKiB / 1024) MiB")
    }

    /// A path with no Exchange, IIS or Windows evidence is an error, not a quiet inconclusive.
    @Test func noEvidenceIsAnError() throws {
        let empty = try tempDir()
        let r = try exhunt(["hunt", empty.path, "--no-progress"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("no Exchange, IIS or Windows evidence found in"))
        let other = try tempDir("other")
        try put(other, "docs/readme.txt", "minutes of the meeting\n")
        try put(other, "photos/cat.json", "[1, 2, 3]\n")
        #expect(try exhunt(["hunt", other.path, "--no-progress"]).status == 2)
    }

    /// The folder decides a headerless log's schema before its column count: an OABGenerator log
    /// of four columns stays an OABGenerator log (and its CVE-2021-26858 line a finding).
    /// A Windows Firewall log is not read as IIS lines; W3C fields without times say so.
    @Test func logsAreReadAsTheirFolderSays() throws {
        let dir = try tempDir()
        let logs = "C/Program Files/Microsoft/Exchange Server/V15/Logging"
        try put(dir, "\(logs)/OABGeneratorLog/OABGenerator20210303-1.LOG",
                "2021-03-03T04:15:12.000Z,Thread 12,Warning,Download failed and temporary file '\\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx' needs to be removed.\n")
        try put(dir, "C/Windows/System32/LogFiles/Firewall/pfirewall.log", """
        #Version: 1.5
        #Software: Microsoft Windows Firewall
        #Time Format: Local
        #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path
        2021-03-03 04:15:12 ALLOW TCP 10.0.0.9 10.0.0.1 50000 443 0 - 0 0 0 - - - RECEIVE

        """)
        try put(dir, "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", """
        #Software: Microsoft Internet Information Services 10.0
        #Fields: s-ip cs-method cs-uri-stem sc-status
        10.0.0.1 POST /aspnet_client/x.aspx 200

        """)
        // Also the formats IIS wrote before W3C: native (local time, said) and NCSA.
        try put(dir, "C/inetpub/logs/LogFiles/W3SVC2/in210303.log",
                "203.0.113.7, -, 3/3/21, 5:15:12, W3SVC2, EXCH01, 10.0.0.1, 31, 412, 1337, 200, 0, POST, /owa/auth/shell.aspx, -,\r\n")
        try put(dir, "C/inetpub/logs/LogFiles/W3SVC3/nc210303.log",
                "203.0.113.8 - - [03/Mar/2021:06:15:12 +0000] \"POST /aspnet_client/system_web/y.aspx HTTP/1.1\" 200 1337\n")
        let json = dir.appendingPathComponent("r.json").path
        _ = try exhunt(["hunt", dir.path, "-o", json, "--no-progress"])
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.contains { ($0["cves"] as? [String])?.contains("CVE-2021-26858") == true })
        let coverage = (object["coverage"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String }
        #expect(coverage.contains("OABGeneratorLog"))
        #expect(!coverage.contains { $0.hasPrefix("ECP") })
        #expect(!coverage.contains("IIS/(elsewhere)"), "the firewall log is not web requests: \(coverage)")
        let report = try ReportView.read(json)
        #expect(report.problems.contains { $0.code == "no-times" && $0.path?.hasSuffix("u_ex210303.log") == true })
        let stems = findings.map { "\($0["evidence"] ?? "") \($0["fields"] ?? "")" }
        #expect(stems.contains { $0.contains("203.0.113.7") && $0.contains("/owa/auth/shell.aspx") }, "\(stems)")
        #expect(stems.contains { $0.contains("203.0.113.8") && $0.contains("/aspnet_client/system_web/y.aspx") }, "\(stems)")
        #expect(coverage.contains("IIS/W3SVC2") && coverage.contains("IIS/W3SVC3"), "\(coverage)")
        #expect(report.problems.contains { $0.code == "local-time" && $0.path?.hasSuffix("in210303.log") == true })
        // Seen and set aside, and said so, though it lies in no evidence place.
        #expect(report.problems.contains {
            $0.code == "not-read" && $0.path?.hasSuffix("pfirewall.log") == true && $0.message.contains("Windows Firewall")
        })
    }
}
