import Foundation
import Testing
@testable import Hunt
import EVTX
import HuntCore
import Sigma

/// SigmaHQ's own regression data: each rule with an EVTX sample and the number of events it must
/// match. The rule files are used unmodified, read from ../shared.
@Suite struct SigmaRegressionTests {
    static let sigmaRoot = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data/SigmaHQ__sigma")

    /// Rule id -> rule file, from the `id:` line of every rule in the corpus.
    static func ruleIndex() -> [String: URL] {
        var index: [String: URL] = [:]
        for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"] {
            let e = FileManager.default.enumerator(at: sigmaRoot.appendingPathComponent(dir), includingPropertiesForKeys: nil)
            while let url = e?.nextObject() as? URL {
                guard url.pathExtension == "yml", let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
                for line in text.split(separator: "\n").prefix(8) where line.hasPrefix("id: ") {
                    index[String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces)] = url
                }
            }
        }
        return index
    }

    @Test func sigmaHQRegressionDataMatchesTheExpectedCounts() throws {
        let data = Self.sigmaRoot.appendingPathComponent("regression_data")
        guard FileManager.default.fileExists(atPath: data.path) else { print("skipped: ../shared is absent"); return }
        let index = Self.ruleIndex()
        let mapping = try WindowsEventMapping.load(repoRoot.appendingPathComponent("Rules/mappings/windows-events.yml"))
        let loader = RuleLoader()
        var total = 0, passed = 0
        var failures: [String] = []
        let infos = (FileManager.default.enumerator(at: data, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { $0.lastPathComponent == "info.yml" }.sorted { $0.path < $1.path }
        for info in infos {
            let text = try String(contentsOf: info, encoding: .utf8)
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let metaAt = lines.firstIndex(of: "rule_metadata:"),
                  let idLine = lines[(metaAt + 1)...].first(where: { $0.hasPrefix("- id: ") }) else { continue }
            let id = String(idLine.dropFirst(6))
            let evtxPaths = lines.filter { $0.hasPrefix("path: ") && $0.hasSuffix(".evtx") }.map { String($0.dropFirst(6)) }
            guard let evtxPath = evtxPaths.first else { continue }
            let expected = lines.first { $0.hasPrefix("match_count: ") }.flatMap { Int($0.dropFirst(13)) }
            total += 1
            guard let ruleURL = index[id] else { failures.append("\(id): rule file not found"); continue }
            let rule: SigmaRule
            do { rule = try loader.load(yaml: String(contentsOf: ruleURL, encoding: .utf8), file: ruleURL.lastPathComponent) } catch {
                failures.append("\(ruleURL.lastPathComponent): \(error)")
                continue
            }
            let bytes = try Data(contentsOf: Self.sigmaRoot.appendingPathComponent(evtxPath))
            var matches = 0
            bytes.withUnsafeBytes { raw in
                var offset = 4096
                var chunk = 0
                while offset + 512 <= raw.count {
                    let end = min(raw.count, offset + 65536)
                    for r in EVTXFile.fields(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), index: chunk, fileOffset: offset).records {
                        var (event, sources) = FileProcessor.windowsEvent(r.fields, id: r.id, offset: r.offset, path: evtxPath, mapping: mapping)
                        if let source = sources.first(where: rule.logsource.admits) {
                            event.source = source
                            if rule.matches(event) { matches += 1 }
                        }
                    }
                    offset += 65536
                    chunk += 1
                }
            }
            let ok = expected.map { matches == $0 } ?? (matches > 0)
            if ok {
                passed += 1
            } else {
                failures.append("\(ruleURL.lastPathComponent): \(matches) match(es), expected \(expected.map(String.init) ?? "at least 1")")
            }
        }
        print("Sigma regression: \(passed)/\(total) SigmaHQ rules match their regression data")
        for f in failures.prefix(40) { print("  \(f)") }
        #expect(total >= 200)
        // Guard against regressions: the count reached when this test was written.
        #expect(passed >= Self.baseline, "\(failures.prefix(10))")
    }

    /// 198 of 202: the other four are rules whose regression file has more events that the rule
    /// text matches than SigmaHQ's expected count says (every extra event was checked by hand: for
    /// example both AutoShareServer and AutoShareWks set to 0 match the administrative-share rule).
    static let baseline = 198

    /// The whole corpus loads, or each rule that does not says why.
    @Test func sigmaHQCorpusLoadSummary() throws {
        guard FileManager.default.fileExists(atPath: Self.sigmaRoot.path) else { print("skipped: ../shared is absent"); return }
        var loaded = 0
        var reasons: [String: Int] = [:]
        for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"] {
            let r = RuleLoader().loadRules(in: Self.sigmaRoot.appendingPathComponent(dir), label: dir + "/")
            loaded += r.rules.count
            for e in r.errors {
                var reason = e.description.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
                // Group by the construct: keep the quoted modifier name, drop the field it sat on.
                if let r = reason.range(of: "' on ") { reason = String(reason[..<r.lowerBound]) + "'" }
                reasons[reason, default: 0] += 1
            }
        }
        let rejected = reasons.values.reduce(0, +)
        print("SigmaHQ corpus: \(loaded) rules loaded, \(rejected) rejected")
        for (reason, n) in reasons.sorted(by: { $0.value > $1.value }) { print("  \(n)  \(reason)") }
        #expect(loaded > 3000)
    }
}
