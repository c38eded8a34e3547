import Foundation
import Testing
import TestSupport

/// `exhunt hunt --case`, `case import` and the `case` answers, as a responder runs them.
@Suite("Case store command line", .timeLimit(.minutes(20)))
struct CaseCLITests {
    let exhunt = productBinary("exhunt")

    func answer(_ args: [String]) throws -> Any {
        let r = try run(exhunt, args + ["--json"])
        #expect(r.status == 0, "\(args): \(String(decoding: r.stderr, as: UTF8.self))")
        return try JSONSerialization.jsonObject(with: r.stdout)
    }

    @Test("Hunts into the store, imports a JSON report, answers, overrides with an audit record, exports without formulas")
    func workflow() throws {
        let dir = try tempDir()
        let db = dir.appendingPathComponent("fleet.db").path
        let bad = try run(exhunt, ["hunt", repoRoot.appendingPathComponent("Samples/compromised-server").path, "--host", "=cmd|' /C calc'!A0", "--case", db,
                                   "--quiet", "--analyst", "alice"])
        #expect(bad.status == 1)
        let report = dir.appendingPathComponent("clean.json").path
        let clean = try run(exhunt, ["hunt", repoRoot.appendingPathComponent("Samples/clean-server").path, "--host", "exch02",
                                     "-o", report, "--quiet"])
        #expect(clean.status != 2)
        let imported = try run(exhunt, ["case", "import", report, "--case", db])
        #expect(imported.status == 0)
        #expect(imported.text.contains("added"))
        // The same report again is the same run.
        #expect(try run(exhunt, ["case", "import", report, "--case", db]).text.contains("already held"))

        let summary = try #require(try answer(["case", "summary", "--case", db]) as? [String: Any])
        #expect(summary["hosts"] as? Int == 2)
        let fallen = (summary["fallen"] as? [[String: Any]] ?? []).compactMap { $0["host"] as? String }
        #expect(fallen == ["=cmd|' /c calc'!a0"])
        let hosts = try #require(try answer(["case", "hosts", "--case", db]) as? [[String: Any]])
        #expect(Set(hosts.compactMap { $0["host"] as? String }) == ["exch02", "=cmd|' /c calc'!a0"])
        #expect(hosts.contains { $0["display"] as? String == "=cmd|' /C calc'!A0" })

        let refused = try run(exhunt, ["case", "override", "=CMD|' /C CALC'!A0", "clean", "--reason", "", "--case", db])
        #expect(refused.status == 2)
        #expect(try run(exhunt, ["case", "override", "=cmd|' /c calc'!a0", "clean", "--reason", "lab replay", "--case", db, "--analyst", "bob"]).status == 0)
        let audit = try #require(try answer(["case", "audit", "--case", db]) as? [[String: Any]])
        #expect(audit.first?["action"] as? String == "override" && audit.first?["who"] as? String == "bob")
        #expect(audit.contains { $0["action"] as? String == "ingest" && $0["who"] as? String == "alice" })

        // CSV: the hostile host name cannot run as a formula in a spreadsheet.
        let csv = try run(exhunt, ["case", "indicators", "--case", db, "--format", "csv"])
        #expect(csv.status == 0)
        #expect(csv.text.hasPrefix("kind,value,hosts"))
        #expect(csv.text.contains("165.232.154.116"))
        #expect(csv.text.contains("\"'=cmd|' /c calc'!a0\""))
        for line in csv.text.split(separator: "\r\n") {
            for cell in line.split(separator: ",") { #expect(!cell.hasPrefix("=") && !cell.hasPrefix("+") && !cell.hasPrefix("@")) }
        }
        let stix = try #require(try JSONSerialization.jsonObject(with: try run(exhunt, ["case", "indicators", "--case", db]).stdout) as? [String: Any])
        #expect(stix["type"] as? String == "bundle")
        let patterns = (stix["objects"] as? [[String: Any]] ?? []).compactMap { $0["pattern"] as? String }
        #expect(patterns.contains("[ipv4-addr:value = '165.232.154.116']"))
        let html = dir.appendingPathComponent("fleet.html").path
        #expect(try run(exhunt, ["case", "timeline", "--case", db, "--html", html]).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        // The host is on the page, its quotes escaped.
        #expect(page.contains("calc") && !page.contains("' /C calc'"))
    }
}
