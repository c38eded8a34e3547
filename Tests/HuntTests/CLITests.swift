import Foundation
import Testing
import HuntCore
import Reports

/// Runs the built `exhunt` binary, as a user would.
func runCLI(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let products = Bundle.main.bundleURL.deletingLastPathComponent()
    var binary = products.appendingPathComponent("exhunt")
    if !FileManager.default.fileExists(atPath: binary.path) {
        binary = repoRoot.appendingPathComponent(".build/debug/exhunt")
    }
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
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

    @Test func rulesCheckReportsBrokenRuleFiles() throws {
        let dir = try tempDir()
        try put(dir, "ok.yml", "title: ok\nlogsource:\n  category: webserver\ndetection:\n  a:\n    cs-uri-stem: /x\n  condition: a\n")
        try put(dir, "bad.yml", "title: bad\nlogsource:\n  category: webserver\ndetection:\n  a:\n    cs-uri-stem|base64offset: /x\n  condition: a\n")
        let r = try runCLI(["rules", "check", dir.path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("bad.yml"))
        #expect(r.stdout.contains("base64offset"))
        #expect(r.stdout.contains("1 rule(s) loaded"))
    }
}
