import Foundation
import Testing
import HuntCore
import Reports
import TestSupport

/// Runs the built `exhunt` binary, as a user would.
func runCLI(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let r = try run(productBinary("exhunt"), args)
    return (r.status, r.text, String(decoding: r.stderr, as: UTF8.self))
}

@Suite struct CLITests {
    @Test func huntOnSamplesWritesJSONAndExitStatus() throws {
        let dir = try tempDir()
        let json = dir.appendingPathComponent("r.json").path
        let bad = try runCLI(["hunt", samples.appendingPathComponent("compromised-server").path, "--json", json, "--no-color"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("COMPROMISED"))
        let report = try JSONReport.decode(try Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(report.verdict == .compromised)
        #expect(!report.manifest.isEmpty)
        let good = try runCLI(["hunt", samples.appendingPathComponent("clean-server").path, "--quiet"])
        #expect(good.status == 0)
        #expect(good.stdout == "clean clean-server\n")
        let usage = try runCLI(["hunt", "/no/such/evidence"])
        #expect(usage.status == 2)
        let badRules = try runCLI(["hunt", samples.path, "--rules", "/no/such/rules"])
        #expect(badRules.status == 2)
        #expect(badRules.stderr.contains("no such rule or indicator file or folder"))
    }

    @Test func fleetTimelineMergesReportsAndWritesExports() throws {
        let dir = try tempDir()
        let a = dir.appendingPathComponent("a.json").path, b = dir.appendingPathComponent("b.json").path
        _ = try runCLI(["hunt", samples.appendingPathComponent("compromised-server").path, "--json", a, "--quiet"])
        _ = try runCLI(["hunt", samples.appendingPathComponent("clean-server").path, "--json", b, "--quiet"])
        let html = dir.appendingPathComponent("fleet.html").path, ts = dir.appendingPathComponent("fleet.csv").path
        let r = try runCLI(["timeline", a, b, "--html", html, "--timeline", ts, "--no-color"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("Earliest compromise across the fleet: 2021-02-28T01:02:12Z on compromised-server"))
        #expect(r.stdout.contains("clean-server"))
        #expect(FileManager.default.fileExists(atPath: html))
        let csv = try String(contentsOf: URL(fileURLWithPath: ts), encoding: .utf8)
        #expect(csv.hasPrefix("message,datetime,timestamp,timestamp_desc,host"))
        let bad = try runCLI(["timeline", a, "--timeline", dir.appendingPathComponent("x.txt").path])
        #expect(bad.status == 2)
    }

    @Test func rulesCheckReportsBrokenRuleFiles() throws {
        let dir = try tempDir()
        try put(dir, "ok.yml", "title: ok\nlogsource:\n  category: webserver\ndetection:\n  a:\n    cs-uri-stem: /x\n  condition: a\n")
        try put(dir, "bad.yml", "title: bad\nlogsource:\n  category: webserver\ndetection:\n  a:\n    cs-uri-stem|nosuchmodifier: /x\n  condition: a\n")
        let r = try runCLI(["rules", "check", dir.path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("bad.yml"))
        #expect(r.stdout.contains("nosuchmodifier"))
        #expect(r.stdout.contains("1 rule(s) loaded"))
    }
}
