import Foundation
import EVTX
import Testing
import HuntCore
import Reports
import TestSupport

/// Runs the built `exhunt` binary, as a user would.
func runCLI(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let r = try run(productBinary("exhunt"), args)
    return (r.status, r.text, String(decoding: r.stderr, as: UTF8.self))
}

@Suite(.timeLimit(.minutes(20))) struct CLITests {
    @Test func huntOnSamplesWritesJSONAndExitStatus() throws {
        let dir = try tempDir()
        let json = dir.appendingPathComponent("r.json").path
        let bad = try runCLI(["hunt", samples.appendingPathComponent("compromised-server").path, "-o", json, "--no-color"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("COMPROMISED"))
        let report = try JSONReport.decode(try Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(report.verdict == .compromised)
        #expect(!report.manifest.isEmpty)
        let good = try runCLI(["hunt", samples.appendingPathComponent("clean-server").path, "--quiet"])
        #expect(good.status == 0)
        // The host is named from its logs (HttpProxy's ServerHostName), not from the folder.
        #expect(good.stdout == "clean EXCH01\n")
        let usage = try runCLI(["hunt", "/no/such/evidence"])
        #expect(usage.status == 2)
        let badRules = try runCLI(["hunt", samples.path, "--rules", "/no/such/rules"])
        #expect(badRules.status == 2)
        #expect(badRules.stderr.contains("no such rule or indicator file or folder"))
    }

    @Test func fleetTimelineMergesReportsAndWritesExports() throws {
        let dir = try tempDir()
        let a = dir.appendingPathComponent("a.json").path, b = dir.appendingPathComponent("b.json").path
        // Both samples' logs name their server EXCH01: --host tells them apart.
        _ = try runCLI(["hunt", samples.appendingPathComponent("compromised-server").path, "-o", a, "--quiet", "--host", "compromised-server"])
        _ = try runCLI(["hunt", samples.appendingPathComponent("clean-server").path, "-o", b, "--quiet", "--host", "clean-server"])
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

    /// `evtx dump` with workers taking chunks as they free up prints what one worker prints, in
    /// file order, and every record the library parses; a damaged log's problems are located.
    @Test(.enabled(if: hasSharedData, "needs ../shared"))
    func evtxDumpInParallelPrintsTheFileInOrder() throws {
        let samples = sharedData.appendingPathComponent("omerbenamram__evtx/samples")
        for name in ["security.evtx", "sample_with_a_bad_chunk_magic.evtx"] {
            let file = samples.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            let one = try runCLI(["evtx", "dump", "-j", "1", file.path])
            let three = try runCLI(["evtx", "dump", "-j", "3", file.path])
            #expect(one.stdout == three.stdout, "\(name)")
            #expect(one.stderr == three.stderr, "\(name)")
            let ids = one.stdout.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event_record_id"] as? Int
            }
            let parsed = EVTXFile.parse(try Data(contentsOf: file)).records.map { Int($0.recordID) }
            #expect(ids == parsed, "\(name)")
            #expect(ids.count > 100)
        }
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

    /// Output that cannot be written is a message and exit status 2, never a trap: a reader that
    /// goes away (SIGPIPE) and a full disk (/dev/full).
    @Test func outputThatCannotBeWrittenExitsWithAMessage() throws {
        let evidence = samples.appendingPathComponent("compromised-server").path
        let shell = "\(productBinary("exhunt").path) hunt '\(evidence)' --json --no-progress | head -c 10 > /dev/null; echo \"${PIPESTATUS[0]}\""
        let piped = try run("/bin/bash", ["-c", shell])
        #expect(piped.text == "2\n", "exit status through a closed pipe: \(piped.text)")
        #expect(String(decoding: piped.stderr, as: UTF8.self).contains("cannot write the output"))
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let full = try run("/bin/bash", ["-c", "\(productBinary("exhunt").path) hunt '\(evidence)' --quiet > /dev/full"])
        #expect(full.status == 2)
        #expect(String(decoding: full.stderr, as: UTF8.self).contains("cannot write the output"))
    }

    /// A binary whose rules cannot be found says so (exit 2) instead of trapping in Bundle.module.
    @Test func missingBuiltinRulesAreAConfigurationError() throws {
        let r = try run("/usr/bin/env", ["EXHUNT_RULES=/no/such/rules", productBinary("exhunt").path, "hunt", samples.path, "--quiet"])
        #expect(r.status == 2)
        #expect(String(decoding: r.stderr, as: UTF8.self).contains("the built-in rules were not found"))
        let build = try run("/usr/bin/env", ["EXHUNT_RULES=/no/such/rules", productBinary("exhunt").path, "build", "15.1.2176.2"])
        #expect(build.status == 2)
    }
}
