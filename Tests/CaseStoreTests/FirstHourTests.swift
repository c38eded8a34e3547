import CaseStore
import Foundation
import HuntCore
import Testing
import TestSupport

/// The first hour's errors, run through the real binary: a mistake is exit 2 with one line that
/// names what to fix, said before any work begins, and leaves nothing behind.
@Suite("First hour: exit codes and errors", .timeLimit(.minutes(20)))
struct FirstHourTests {
    let exhunt = productBinary("exhunt")
    var sample: String { repoRoot.appendingPathComponent("Samples/compromised-server").path }

    @Test("An output that cannot be written stops the hunt before it starts, naming the option, path and reason")
    func unwritableOutputs() throws {
        let dir = try tempDir()
        try put(dir, "a-file", "x")
        let missing = dir.appendingPathComponent("no/such/folder/report.json").path
        let r = try run(exhunt, ["hunt", sample, "-o", missing, "--html", dir.path,
                                 "--tpl-csv", dir.appendingPathComponent("a-file/tpl").path, "--no-progress"])
        #expect(r.status == 2)
        let err = String(decoding: r.stderr, as: UTF8.self)
        #expect(err.contains("cannot write -o \(missing): the folder \(dir.path)/no/such/folder does not exist"), "\(err)")
        #expect(err.contains("cannot write --html \(dir.path): it is a folder"), "\(err)")
        #expect(err.contains("cannot write --tpl-csv") && err.contains("a-file is a file, not a folder"), "\(err)")
        #expect(!err.contains("NSCocoaErrorDomain"))
        // Said before hunting: no verdict was printed.
        #expect(!r.text.contains("Verdict"))
        // A folder output is made with its missing parents.
        let ok = try run(exhunt, ["hunt", sample, "--tpl-csv", dir.appendingPathComponent("new/tpl").path, "--quiet"])
        #expect(ok.status == 1)
    }

    @Test("--json prints JSON on standard output on every command; -o FILE writes it; the old --json FILE still works with a note")
    func jsonConvention() throws {
        let dir = try tempDir()
        let clean = repoRoot.appendingPathComponent("Samples/clean-server").path
        // The switch: the report on standard output, nothing else there.
        let printed = try run(exhunt, ["hunt", clean, "--json", "--no-progress"])
        #expect(printed.status == 0)
        let object = try JSONSerialization.jsonObject(with: printed.stdout) as? [String: Any]
        #expect(object?["verdict"] as? String == "clean")
        #expect(!String(decoding: printed.stderr, as: UTF8.self).contains("note:"))
        // -o FILE and --output FILE.
        for flag in ["-o", "--output"] {
            let file = dir.appendingPathComponent("r\(flag).json").path
            let r = try run(exhunt, ["hunt", clean, flag, file, "--quiet"])
            #expect(r.status == 0 && FileManager.default.fileExists(atPath: file), "\(flag)")
            #expect(r.text.hasPrefix("clean "), "\(flag)")
        }
        // Standard output gets the same report as a file, its client addresses streamed.
        let fromStdout = try JSONCoding.decoder().decode(HostReport.self, from: printed.stdout)
        let fromFile = try JSONCoding.decoder().decode(HostReport.self, from: Data(contentsOf: dir.appendingPathComponent("r-o.json")))
        #expect(!fromStdout.clientAddresses.isEmpty && fromStdout.clientAddresses == fromFile.clientAddresses)
        // The old spelling, by extension, with =, with '-', and by position (a name without extension).
        let old = dir.appendingPathComponent("old.json").path
        let oldNoExt = dir.appendingPathComponent("old-report").path
        for (args, file) in [(["hunt", clean, "--json", old, "--quiet"], old),
                             (["hunt", "--json=\(old)", clean, "--quiet"], old),
                             (["hunt", "--json", oldNoExt, clean, "--quiet"], oldNoExt)] {
            try? FileManager.default.removeItem(atPath: file)
            let r = try run(exhunt, args)
            #expect(r.status == 0, "\(args)")
            #expect(FileManager.default.fileExists(atPath: file), "\(args)")
            #expect(String(decoding: r.stderr, as: UTF8.self).contains("`--json FILE` is now `-o FILE`"), "\(args)")
        }
        let dash = try run(exhunt, ["hunt", clean, "--json", "-", "--no-progress"])
        #expect((try JSONSerialization.jsonObject(with: dash.stdout) as? [String: Any])?["verdict"] as? String == "clean")
        // Both at once is a usage error naming the command.
        let both = try run(exhunt, ["hunt", clean, "--json", "-o", old])
        #expect(both.status == 2)
        #expect(String(decoding: both.stderr, as: UTF8.self).contains("give one"))
        // The answers of other commands follow the same switch.
        let build = try run(exhunt, ["build", "15.1.2176.9", "--json"])
        #expect(build.status == 0)
        #expect((try? JSONSerialization.jsonObject(with: build.stdout)) != nil)
        // survey: -o FILE, and --resume refuses standard output.
        let resume = try run(exhunt, ["survey", "127.0.0.1", "--json", "--resume"])
        #expect(resume.status == 2)
        #expect(String(decoding: resume.stderr, as: UTF8.self).contains("--resume needs -o FILE"))
    }

    @Test("The HTML report counts findings and hits as the console does, per family and in all")
    func htmlCountsMatchTheConsole() throws {
        let dir = try tempDir()
        let html = dir.appendingPathComponent("r.html").path
        let r = try run(exhunt, ["hunt", sample, "--html", html, "--no-progress", "--no-color"])
        #expect(r.status == 1)
        let console = r.text
        // "Findings: 20 (24 hits; …)" and "ProxyLogon (…) compromised   8 hit(s) show exploitation".
        let total = try #require(console.firstMatch(of: /Findings: (\d+) \((\d+) hits/))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("shown of \(total.1); \(total.2) hits)"), "console: \(total.0)")
        let family = try #require(console.firstMatch(of: /ProxyLogon \(HAFNIUM, March 2021\)\s+compromised\s+(\d+) hit\(s\) show exploitation/))
        let row = try #require(page.firstMatch(of: /<td>ProxyLogon \(HAFNIUM, March 2021\)<\/td>.*?<\/tr>/))
        let cells = row.0.matches(of: /<td>(\d+)<\/td>/).map { String($0.1) }
        #expect(cells.first == String(family.1), "\(row.0)")
    }

    @Test("Commands that only read a case store never create one, and refuse files that are not stores")
    func readOnlyCaseCommands() throws {
        let dir = try tempDir()
        let typo = dir.appendingPathComponent("typo.db").path
        for args in [["case", "summary"], ["case", "hosts"], ["case", "audit"], ["case", "note", "EXCH01", "x"]] {
            let r = try run(exhunt, args + ["--case", typo])
            #expect(r.status == 2, "\(args)")
            #expect(String(decoding: r.stderr, as: UTF8.self).contains("no case store at \(typo)"), "\(args)")
            #expect(!FileManager.default.fileExists(atPath: typo), "\(args) created the store")
        }
        try put(dir, "notes.txt", "not a database\n")
        let text = try run(exhunt, ["case", "summary", "--case", dir.appendingPathComponent("notes.txt").path])
        #expect(text.status == 2)
        #expect(String(decoding: text.stderr, as: UTF8.self).contains("is not an exhunt case store (not an SQLite database)"))
        // Another program's SQLite database: refused, and not given exhunt's tables.
        let foreign = dir.appendingPathComponent("other.sqlite")
        let made = try run("/usr/bin/python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()", foreign.path])
        try #require(made.status == 0)
        let before = try Data(contentsOf: foreign)
        let other = try run(exhunt, ["case", "hosts", "--case", foreign.path])
        #expect(other.status == 2)
        #expect(String(decoding: other.stderr, as: UTF8.self).contains("is not an exhunt case store (it has no cases table)"))
        #expect(try Data(contentsOf: foreign) == before)
        // A store that exists answers; a case it does not hold is named with the ones it has.
        let db = dir.appendingPathComponent("case.db").path
        #expect(try run(exhunt, ["hunt", sample, "--case", db, "--quiet"]).status == 1)
        #expect(try run(exhunt, ["case", "summary", "--case", db]).status == 0)
        let wrongCase = try run(exhunt, ["case", "summary", "--case", db, "--case-name", "other"])
        #expect(wrongCase.status == 2)
        #expect(String(decoding: wrongCase.stderr, as: UTF8.self).contains("no case \"other\" in \(db) (its cases: default)"))
    }

    @Test("--version, and a usage error shows the usage of the command that failed")
    func versionAndUsage() throws {
        let v = try run(exhunt, ["--version"])
        #expect(v.status == 0)
        #expect(v.text.range(of: #"^\d+\.\d+\.\d+\s*$"#, options: .regularExpression) != nil, "\(v.text)")
        let imported = try run(exhunt, ["case", "import", sample])
        #expect(imported.status == 2)
        let usage = String(decoding: imported.stderr, as: UTF8.self)
        #expect(usage.contains("Usage: exhunt case import"), "\(usage)")
        #expect(usage.contains("See 'exhunt case import --help'"))
        let day = try run(exhunt, ["hunt", sample, "--window-start", "March"])
        #expect(day.status == 2)
        #expect(String(decoding: day.stderr, as: UTF8.self).contains("Usage: exhunt hunt"))
    }

    @Test("serve on a port in use: exit 2 with the port, the address and what to do")
    func servePortInUse() throws {
        let dir = try tempDir()
        let db = dir.appendingPathComponent("case.db").path
        let first = try Child([exhunt.path, "serve", "--case", db, "--port", "0"], environment: [:], log: dir.appendingPathComponent("first.log"))
        try first.waitFor("listening on ", seconds: 60)
        let line = first.output.split(separator: "\n").first { $0.contains("listening on ") } ?? ""
        let port = try #require(line.split(separator: " ").first { $0.hasPrefix("http") }.flatMap { $0.split(separator: ":").last }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")) })
        let second = try run(exhunt, ["serve", "--case", db, "--port", port])
        #expect(second.status == 2)
        #expect(String(decoding: second.stderr, as: UTF8.self).contains("port \(port) on 127.0.0.1 is in use; choose another with --port"),
                "\(String(decoding: second.stderr, as: UTF8.self))")
        first.killGroup()
    }

    @Test("A PostgreSQL location is shown without its password, and the mask is not percent-encoded")
    func passwordNeverShown() {
        let shown = CaseLocation("postgres://exhunt:s3cr%40t@db.example:5432/cases").description
        #expect(shown == "postgres://exhunt:***@db.example:5432/cases")
        #expect(CaseLocation("postgresql://exhunt@db/cases").description == "postgresql://exhunt@db/cases")
    }

    @Test("A clean host still on a vulnerable build says so in the console, JSON, HTML and dashboard; its story tells no break-in")
    func cleanButUnpatched() async throws {
        let dir = try tempDir()
        let json = dir.appendingPathComponent("r.json").path, html = dir.appendingPathComponent("r.html").path
        let db = dir.appendingPathComponent("case.db").path
        let tpl = dir.appendingPathComponent("tpl")
        let r = try run(exhunt, ["hunt", repoRoot.appendingPathComponent("Samples/clean-server").path, "-o", json, "--html", html,
                                 "--case", db, "--tpl-csv", tpl.path, "--no-progress", "--no-color"])
        #expect(r.status == 0)
        let said = "still unpatched for ProxyLogon, ProxyShell, ProxyToken, ProxyNotShell, OWASSRF: its logs end on build 15.1.2176.2; install Nov22SU (KB5019758)"
        #expect(r.text.contains(said), "\(r.text)")
        #expect(!r.text.lowercased().contains("break-in"))
        #expect(r.text.contains("For review (does not decide the verdict)") && r.text.contains("agent_backup.zip"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect((object["unpatched"] as? String)?.hasPrefix(said) == true)
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains(said))
        // Test-ProxyLogon's files carry the host the evidence names, and no copy time as LastWrite.
        let other = try String(contentsOf: tpl.appendingPathComponent("EXCH01-other.csv"), encoding: .utf8)
        #expect(other.contains("\"EXCH01\",\"SuspiciousArchive\""), "\(other)")
        #expect(other.split(separator: "\r\n").dropFirst().allSatisfy { $0.hasSuffix(",\"\"") }, "\(other)")
        let server = try DashboardTests.Server(dir, ["--case", db])
        let page = try await DashboardTests.send(server.url + "/host?h=EXCH01")
        #expect(page.status == 200)
        #expect(page.body.contains(said), "\(page.body.prefix(3000))")
        // The server's own address (IIS s-ip) is shown, and is not a pivot to client hits.
        #expect(page.body.contains(">10.20.0.10</span>"))
        #expect(!page.body.contains("value=10.20.0.10"))
        withExtendedLifetime(server) {}
    }

    @Test("A folder of web pages copied today, without logs, never says the server fell today")
    func copyTimesWithoutLogs() throws {
        let dir = try tempDir()
        try put(dir, "EXCH09/inetpub/wwwroot/aspnet_client/supp0rt.aspx", #"<%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>"#)
        let db = dir.appendingPathComponent("case.db").path
        let r = try run(exhunt, ["hunt", dir.appendingPathComponent("EXCH09").path, "--case", db, "--no-progress", "--no-color"])
        #expect(r.status == 1)
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        #expect(r.text.contains("Persistence (web shell written): time unknown"), "\(r.text)")
        #expect(r.text.contains("cannot be told from the copy's: no log line to compare them with"))
        #expect(!r.text.contains("earliest sign of compromise: \(today)"))
        let summary = try run(exhunt, ["case", "summary", "--case", db])
        #expect(summary.status == 0)
        #expect(!summary.text.contains(today), "\(summary.text)")
    }
}
