public import Foundation
import HuntCore
public import Sigma
import BuiltinRules

/// The loaded detection content: Sigma rules for logs and files, and indicator lists.
public struct Detectors: Sendable {
    public var rules: [SigmaRule]
    public var ruleErrors: [SigmaError]
    public var hashes: HashIndicators

    /// Loads the built-in content (unless disabled) and the user's rule folders.
    public static func load(builtin: Bool, extra: [URL]) throws -> Detectors {
        var rules: [SigmaRule] = []
        var errors: [SigmaError] = []
        var mappings: [FieldMapping] = []
        let builtinDir = BuiltinRules.directory
        mappings += try RuleLoader.loadMappings(in: builtinDir.appendingPathComponent("mappings"))
        let loader = RuleLoader(mappings: mappings)
        if builtin {
            let r = loader.loadRules(in: builtinDir.appendingPathComponent("sigma"), label: "builtin:")
            rules += r.rules
            errors += r.errors
        }
        for dir in extra {
            guard FileManager.default.fileExists(atPath: dir.path) else {
                throw SigmaError(file: dir.path, reason: .invalid("no such rule file or folder"))
            }
            let r = loader.loadRules(in: dir, label: dir.path + "/")
            rules += r.rules
            errors += r.errors
        }
        let hashes = try HashIndicators.load(builtinDir.appendingPathComponent("iocs/sha256.csv"), label: "builtin:iocs/sha256.csv")
        return Detectors(rules: rules, ruleErrors: errors, hashes: hashes)
    }

    func rules(for source: LogSource) -> [SigmaRule] { rules.filter { $0.logsource.admits(source) } }
}

/// Known-bad file hashes with their published source. The data lives in `Rules/iocs/`.
public struct HashIndicators: Sendable {
    public struct Indicator: Sendable {
        public var sha256: String
        public var name: String
        public var source: String
    }

    public var bySHA256: [String: Indicator]
    public var file: String

    /// Reads `sha256,name,source` CSV (header line, `#` comments allowed).
    static func load(_ url: URL, label: String) throws -> HashIndicators {
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [String: Indicator] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") || line.lowercased().hasPrefix("sha256,") { continue }
            let parts = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, parts[0].count == 64 else { continue }
            out[parts[0].lowercased()] = Indicator(sha256: parts[0].lowercased(), name: parts[1], source: parts[2])
        }
        return HashIndicators(bySHA256: out, file: label)
    }

    func finding(for sha256: String, event: Event) -> Finding? {
        guard let hit = bySHA256[sha256] else { return nil }
        return Finding(
            rule: .init(id: "exhunt-ioc-sha256", title: "File hash matches a known web shell (\(hit.name))", source: file,
                        references: [hit.source]),
            cves: [], attack: ["T1505.003"], severity: .critical, role: .compromised,
            timestamp: event.timestamp, source: event.source.description,
            evidence: .init(location: event.location, excerpt: "SHA-256 \(sha256) listed by \(hit.source)", sha256: sha256),
            fields: ["Path": event.value("Path") ?? ""])
    }
}
