public import Foundation
import EVTX
import HuntCore
import Sigma
public import WindowsEvents

/// Runs SigmaHQ's regression data: for each rule with an EVTX sample (`regression_data/**/info.yml`),
/// loads the unmodified rule from the corpus, matches it against the sample's events and compares
/// the count with the expected `match_count` (at least one match when none is given).
public enum SigmaRegression {
    public struct Result: Sendable {
        public var rule: String
        public var matches: Int
        public var expected: Int?
        public var error: String?
        public var passed: Bool { error == nil && (expected.map { matches == $0 } ?? (matches > 0)) }
    }

    public static let corpusFolders = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"]

    /// `sigmaRoot` is a checkout of the SigmaHQ repository (with `regression_data/` and `rules*/`).
    public static func run(sigmaRoot: URL, mapping: WindowsEventMapping) throws -> [Result] {
        var index: [String: URL] = [:]
        for dir in corpusFolders {
            let e = FileManager.default.enumerator(at: sigmaRoot.appendingPathComponent(dir), includingPropertiesForKeys: nil)
            while let url = e?.nextObject() as? URL {
                guard url.pathExtension == "yml", let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
                for line in text.split(separator: "\n").prefix(8) where line.hasPrefix("id: ") {
                    index[line.dropFirst(4).trimmingCharacters(in: .whitespaces)] = url
                }
            }
        }
        let loader = RuleLoader()
        let infos = (FileManager.default.enumerator(at: sigmaRoot.appendingPathComponent("regression_data"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL } ?? []).filter { $0.lastPathComponent == "info.yml" }.sorted { $0.path < $1.path }
        var results: [Result] = []
        for info in infos {
            let lines = try String(contentsOf: info, encoding: .utf8).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let metaAt = lines.firstIndex(of: "rule_metadata:"),
                  let idLine = lines[(metaAt + 1)...].first(where: { $0.hasPrefix("- id: ") }),
                  let evtxPath = lines.first(where: { $0.hasPrefix("path: ") && $0.hasSuffix(".evtx") })?.dropFirst(6) else { continue }
            let id = String(idLine.dropFirst(6))
            let expected = lines.first { $0.hasPrefix("match_count: ") }.flatMap { Int($0.dropFirst(13)) }
            guard let ruleURL = index[id] else {
                results.append(Result(rule: id, matches: 0, expected: expected, error: "rule file not found"))
                continue
            }
            let rule: SigmaRule
            do { rule = try loader.load(yaml: String(contentsOf: ruleURL, encoding: .utf8), file: ruleURL.lastPathComponent) } catch {
                results.append(Result(rule: ruleURL.lastPathComponent, matches: 0, expected: expected, error: "\(error)"))
                continue
            }
            let bytes = try Data(contentsOf: sigmaRoot.appendingPathComponent(String(evtxPath)))
            var matches = 0
            bytes.withUnsafeBytes { raw in
                for (chunk, range) in EVTXFile.chunkRanges(fileSize: raw.count).enumerated() {
                    for r in EVTXFile.fields(UnsafeRawBufferPointer(rebasing: raw[range]), index: chunk, fileOffset: range.lowerBound).records {
                        var (event, sources) = mapping.event(r.fields, id: r.id, offset: r.offset, path: String(evtxPath))
                        guard let source = sources.first(where: rule.logsource.admits) else { continue }
                        event.source = source
                        if rule.matches(event) { matches += 1 }
                    }
                }
            }
            results.append(Result(rule: ruleURL.lastPathComponent, matches: matches, expected: expected, error: nil))
        }
        return results
    }
}
