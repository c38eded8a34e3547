import Foundation
import Testing
import TestSupport

/// pySigma's SQLite backend with its Windows and Sysmon pipelines (PyPI), as Scripts/setup.sh
/// --tests installs it, and the Rust evtx crate that feeds it.
let hasPySigma: Bool = {
    (try? run("/usr/bin/env", ["python3", "-c",
                               "import evtx, sigma.backends.sqlite, sigma.pipelines.windows, sigma.pipelines.sysmon"]).status) == 0
}()

@Suite(.timeLimit(.minutes(20))) struct SigmaConformanceTests {
    /// SigmaHQ's Windows rules, run by `exhunt hunt` and by pySigma's SQLite backend (the engine
    /// Zircolite runs, Tests/Conformance/pysigma_matches.py) over the Rust evtx crate's records of
    /// every event log in ../shared, compared rule by rule and event by event. The one difference
    /// allowed is exhunt's documented mapping: Security 4688 is process_creation too
    /// (Rules/mappings/windows-events.yml), which pySigma's pipelines do not do. Any other
    /// difference fails, named.
    @Test(.enabled(if: hasSharedData, "needs ../shared"), .enabled(if: hasPySigma, "needs pySigma (Scripts/setup.sh --tests)"))
    func sigmaHQWindowsRulesMatchTheEventsPySigmaMatches() throws {
        let logs = try tempDir()
        let e = FileManager.default.enumerator(at: sharedData, includingPropertiesForKeys: nil)
        var copied = 0
        while let url = e?.nextObject() as? URL {
            guard url.pathExtension.lowercased() == "evtx" else { continue }
            // One flat folder; the few names that repeat get their folder's name in front.
            var name = url.lastPathComponent
            if FileManager.default.fileExists(atPath: logs.appendingPathComponent(name).path) {
                name = url.deletingLastPathComponent().lastPathComponent + "-" + name
            }
            try FileManager.default.copyItem(at: url, to: logs.appendingPathComponent(name))
            copied += 1
        }
        #expect(copied > 200)
        let rules = sharedData.appendingPathComponent("SigmaHQ__sigma/rules/windows")
        // Every single hit (the report aggregates them into findings).
        let hits = try tempDir().appendingPathComponent("hits.jsonl")
        let hunt = try runCLI(["hunt", logs.path, "--rules", rules.path, "--no-builtin-rules", "--no-hash",
                               "--hits", hits.path, "--quiet", "--no-progress"])
        #expect([0, 1, 3].contains(hunt.status), "\(hunt.stderr)")
        let peerOut = try tempDir().appendingPathComponent("pysigma.jsonl")
        let peer = try run("/usr/bin/env", ["python3", repoRoot.appendingPathComponent("Tests/Conformance/pysigma_matches.py").path,
                                            rules.path, logs.path, peerOut.path])
        #expect(peer.status == 0, "\(String(decoding: peer.stderr, as: UTF8.self).suffix(2000))")

        struct Hit: Hashable, Comparable {
            var rule: String, file: String, record: Int
            static func < (a: Hit, b: Hit) -> Bool { (a.rule, a.file, a.record) < (b.rule, b.file, b.record) }
        }
        var ours = Set<Hit>()
        var explained = Set<Hit>()
        for line in try String(contentsOf: hits, encoding: .utf8).split(separator: "\n") {
            guard let f = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let rule = f["rule"] as? [String: Any], let id = rule["id"] as? String,
                  let evidence = f["evidence"] as? [String: Any], let path = evidence["path"] as? String,
                  let record = (evidence["record"] as? NSNumber)?.intValue else { continue }
            let hit = Hit(rule: id, file: path, record: record)
            ours.insert(hit)
            // The documented mapping: a process_creation rule on a Security 4688 event.
            if f["source"] as? String == "windows/security", (rule["source"] as? String)?.contains("/process_creation/") == true {
                explained.insert(hit)
            }
        }
        var theirs = Set<Hit>()
        var summary: [String: Any] = [:]
        for line in try String(contentsOf: peerOut, encoding: .utf8).split(separator: "\n") {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let s = o["summary"] as? [String: Any] { summary = s; continue }
            if let r = o["rule"] as? String, let f = o["file"] as? String, let n = (o["record"] as? NSNumber)?.intValue {
                theirs.insert(Hit(rule: r, file: f, record: n))
            }
        }
        print("Sigma conformance: \(summary); exhunt \(ours.count) matches, pySigma \(theirs.count), both \(ours.intersection(theirs).count), "
              + "exhunt only through the 4688 mapping \(ours.subtracting(theirs).intersection(explained).count)")
        #expect((summary["converted"] as? Int ?? 0) > 2000)
        #expect(!theirs.isEmpty)
        let onlyOurs = ours.subtracting(theirs).subtracting(explained).sorted()
        let onlyTheirs = theirs.subtracting(ours).sorted()
        #expect(onlyOurs.isEmpty, "exhunt only: \(onlyOurs.prefix(20))")
        #expect(onlyTheirs.isEmpty, "pySigma only: \(onlyTheirs.prefix(20))")
    }
}
