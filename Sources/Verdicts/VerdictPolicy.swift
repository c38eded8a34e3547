public import Foundation
public import HuntCore
import Yams

/// What a finding is, as far as the verdict policy cares: which detector made it, from which
/// rule set, and what the rule says of itself.
public struct PolicySubject: Sendable {
    public typealias Detector = FindingOrigin.Detector

    public var detector: Detector
    /// From this exhunt's own `Rules/`, not from `--rules`, `--yara` or `--iocs`.
    public var builtin: Bool
    public var id: String
    public var tags: [String]
    public var level: Severity?
    /// The rule's own `exhunt.verdict`.
    public var declared: VerdictRole?
    /// For indicator findings: the indicator's kind (`sha256`, `ip`, …).
    public var indicator: String?
    /// For findings about a file of a web folder: which kind of folder.
    public var place: WebPlace?
    /// The file is one of Exchange's own in its own folder: by name while files are read
    /// (Rules/known-good), by its hash in a baseline of an installed build at the second look.
    public var knownGood: Bool
    /// For findings about a file: its extension, lowercase, without the dot.
    public var fileExtension: String?

    public init(detector: Detector, builtin: Bool, id: String, tags: [String] = [], level: Severity? = nil,
                declared: VerdictRole? = nil, indicator: String? = nil, place: WebPlace? = nil, knownGood: Bool = false,
                fileExtension: String? = nil) {
        self.fileExtension = fileExtension
        self.place = place
        self.knownGood = knownGood
        self.detector = detector
        self.builtin = builtin
        self.id = id
        self.tags = tags
        self.level = level
        self.declared = declared
        self.indicator = indicator
    }
}

/// How findings weigh in the verdict (`Rules/verdict-policy.yml`): an ordered list of entries,
/// the first that matches a finding gives its weight; how YARA severities follow from scores; and
/// how long each log source is normally quiet, for coverage gaps.
public struct VerdictPolicy: Sendable {
    public enum Weight: Sendable, Hashable, CustomStringConvertible {
        case role(VerdictRole)
        /// The rule's own `exhunt.verdict`; the entry matches only rules that declare one.
        case declared
        /// The `levels` table.
        case byLevel

        public var description: String {
            switch self {
            case .role(let r): r.rawValue
            case .declared: "declared"
            case .byLevel: "by-level"
            }
        }
    }

    public struct Entry: Sendable {
        public var detector: PolicySubject.Detector?
        /// nil: any; true: builtin only; false: external only.
        public var builtin: Bool?
        public var declared: Bool?
        public var ids: Set<String>
        public var tags: Set<String>
        public var levels: Set<Severity>
        public var indicators: Set<String>
        public var places: Set<WebPlace>
        public var knownGood: Bool?
        public var extensions: Set<String>
        public var weight: Weight

        func matches(_ s: PolicySubject) -> Bool {
            if let detector, detector != s.detector { return false }
            if let builtin, builtin != s.builtin { return false }
            if let declared, declared != (s.declared != nil) { return false }
            if !ids.isEmpty, !ids.contains(s.id.lowercased()) { return false }
            if !tags.isEmpty, !s.tags.contains(where: { tags.contains($0.lowercased()) }) { return false }
            if !levels.isEmpty, !(s.level.map(levels.contains) ?? false) { return false }
            if !indicators.isEmpty, !(s.indicator.map { indicators.contains($0.lowercased()) } ?? false) { return false }
            if !places.isEmpty, !(s.place.map(places.contains) ?? false) { return false }
            if let knownGood, knownGood != s.knownGood { return false }
            if !extensions.isEmpty, !(s.fileExtension.map(extensions.contains) ?? false) { return false }
            if weight == .declared, s.declared == nil { return false }
            return true
        }

        /// The entry's conditions, for people (`exhunt rules policy`).
        public var conditions: String {
            var parts: [String] = []
            if let detector { parts.append(detector.rawValue) }
            if let builtin { parts.append(builtin ? "builtin" : "external") }
            if let declared { parts.append(declared ? "declares exhunt.verdict" : "declares nothing") }
            if !ids.isEmpty { parts.append("id in [\(ids.sorted().joined(separator: ", "))]") }
            if !tags.isEmpty { parts.append("tag in [\(tags.sorted().joined(separator: ", "))]") }
            if !levels.isEmpty { parts.append("level in [\(levels.sorted().map(\.rawValue).joined(separator: ", "))]") }
            if !indicators.isEmpty { parts.append("indicator in [\(indicators.sorted().joined(separator: ", "))]") }
            if !places.isEmpty { parts.append("in \(places.map(\.rawValue).sorted().joined(separator: " or "))") }
            if let knownGood { parts.append(knownGood ? "Exchange's own file" : "not Exchange's own file") }
            if !extensions.isEmpty { parts.append("extension in [\(extensions.sorted().joined(separator: ", "))]") }
            return parts.isEmpty ? "any" : parts.joined(separator: ", ")
        }
    }

    /// A log source's normal silence: a longer stretch without lines is a gap.
    public struct SourceQuiet: Sendable {
        public var name: String
        public var logsource: LogSource
        public var quietHours: Int
    }

    public var entries: [Entry]
    public var levels: [Severity: VerdictRole]
    public var yaraDefaultSeverity: Severity
    /// Descending `at_least` thresholds.
    public var yaraScores: [(atLeast: Int, severity: Severity)]
    public var sources: [SourceQuiet]
    /// Where the policy was read from.
    public var file: String
    /// Once every file is read: weights a file finding takes given what else is known of the file.
    public var secondLook: [SecondLook] = []
    /// What counts as a second, independent signal about the same file.
    public var corroboratedBy: [Entry] = []

    /// A second look at findings about files: the first entry whose `finding` matches and whose
    /// condition holds gives the finding its `weight` (and `why`, in words, to the report).
    public struct SecondLook: Sendable {
        public enum Condition: String, Sendable, CaseIterable {
            /// The file's hash is in a baseline of an installed build: Exchange's own file, as shipped.
            case knownGood = "known-good"
            /// Another finding about the same file matches `corroborated_by`.
            case corroborated
        }
        public var finding: Entry
        public var when: Condition
        public var weight: VerdictRole
        public var why: String
    }

    /// The weight of a finding, and the index of the entry that gave it (nil: no entry matched,
    /// so the finding is informational).
    public func weigh(_ s: PolicySubject) -> (role: VerdictRole, entry: Int?) {
        for (i, e) in entries.enumerated() where e.matches(s) {
            switch e.weight {
            case .role(let r): return (r, i)
            case .declared: if let d = s.declared { return (d, i) }
            case .byLevel: return (s.level.flatMap { levels[$0] } ?? .informational, i)
            }
        }
        return (.informational, nil)
    }

    /// A YARA match's severity from its meta: `severity`, else `score`, else the default.
    public func yaraSeverity(meta: [String: String]) -> Severity {
        if let s = meta["severity"].flatMap({ Severity(rawValue: $0.lowercased()) }) { return s }
        guard let score = meta["score"].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else { return yaraDefaultSeverity }
        return yaraScores.first { score >= $0.atLeast }?.severity ?? yaraDefaultSeverity
    }

    /// The quiet time of a log source (the longest of the entries that admit it; 24 h if none).
    public func quietHours(_ source: LogSource) -> Int {
        sources.filter { $0.logsource.admits(source) }.map(\.quietHours).max() ?? 24
    }

    /// The short name of a log source for sentences (`HttpProxy`, `IIS`), else its logsource name.
    public func name(of source: LogSource) -> String {
        sources.first { $0.logsource.admits(source) }?.name ?? source.name
    }

    public struct LoadError: Error, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "\(file): \(reason)" }
    }

    public static func load(_ url: URL) throws(LoadError) -> VerdictPolicy {
        let file = url.lastPathComponent
        func fail(_ reason: String) -> LoadError { LoadError(file: file, reason: reason) }
        let root: [String: Any]
        do {
            guard let r = try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any] else {
                throw fail("expected a map with `weights`")
            }
            root = r
        } catch let e as LoadError { throw e } catch { throw fail("\(error)") }

        func strings(_ v: Any?) -> [String] {
            if let s = v as? String { return [s] }
            return (v as? [Any] ?? []).compactMap { $0 as? String }
        }
        /// An entry's conditions (`at` names it in errors).
        func matcher(_ m: [String: Any], weight: Weight, at: String) throws(LoadError) -> Entry {
            var detector: PolicySubject.Detector?
            if let d = m["detector"] as? String {
                guard let parsed = PolicySubject.Detector(rawValue: d) else { throw fail("\(at): unknown detector '\(d)'") }
                detector = parsed
            }
            var builtin: Bool?
            if let r = m["ruleset"] as? String {
                guard r == "builtin" || r == "external" else { throw fail("\(at): ruleset is builtin or external") }
                builtin = r == "builtin"
            }
            var levels: Set<Severity> = []
            for l in strings(m["level"]) {
                guard let s = Severity(rawValue: l.lowercased()) else { throw fail("\(at): unknown level '\(l)'") }
                levels.insert(s)
            }
            var places: Set<WebPlace> = []
            for p in strings(m["place"]) {
                guard let w = WebPlace(rawValue: p) else {
                    throw fail("\(at): unknown place '\(p)' (\(WebPlace.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                places.insert(w)
            }
            return Entry(detector: detector, builtin: builtin, declared: m["declared"] as? Bool,
                         ids: Set(strings(m["id"]).map { $0.lowercased() }), tags: Set(strings(m["tags"]).map { $0.lowercased() }),
                         levels: levels, indicators: Set(strings(m["indicator"]).map { $0.lowercased() }), places: places,
                         knownGood: m["known_good"] as? Bool,
                         extensions: Set(strings(m["extension"]).map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) }),
                         weight: weight)
        }
        var entries: [Entry] = []
        for (i, any) in (root["weights"] as? [Any] ?? []).enumerated() {
            guard let m = any as? [String: Any], let w = m["weight"] as? String else { throw fail("weights[\(i)] needs `weight`") }
            let weight: Weight
            switch w {
            case "declared": weight = .declared
            case "by-level": weight = .byLevel
            default:
                guard let r = VerdictRole(name: w) else { throw fail("weights[\(i)]: unknown weight '\(w)'") }
                weight = .role(r)
            }
            entries.append(try matcher(m, weight: weight, at: "weights[\(i)]"))
        }
        guard !entries.isEmpty else { throw fail("no `weights` entries") }

        // The second look: what a finding about a file can see of the file once every file is read.
        var secondLook: [SecondLook] = []
        let lookKeys: Set<String> = ["detector", "ruleset", "place", "id", "level", "extension"]
        for (i, any) in (root["second_look"] as? [Any] ?? []).enumerated() {
            let at = "second_look[\(i)]"
            guard let m = any as? [String: Any], let f = m["finding"] as? [String: Any],
                  let w = (m["weight"] as? String).flatMap(VerdictRole.init(name:)),
                  let when = (m["when"] as? String).flatMap(SecondLook.Condition.init(rawValue:)) else {
                throw fail("\(at) needs `finding`, `when` (\(SecondLook.Condition.allCases.map(\.rawValue).joined(separator: " or "))) and a `weight`")
            }
            if let extra = f.keys.first(where: { !lookKeys.contains($0) }) {
                throw fail("\(at): a second look matches a finding on \(lookKeys.sorted().joined(separator: ", ")) only, not '\(extra)'")
            }
            secondLook.append(SecondLook(finding: try matcher(f, weight: .role(w), at: at), when: when, weight: w,
                                         why: m["why"] as? String ?? when.rawValue))
        }
        var signals: [Entry] = []
        for (i, any) in (root["corroborated_by"] as? [Any] ?? []).enumerated() {
            guard let m = any as? [String: Any] else { throw fail("corroborated_by[\(i)] must be a map of conditions") }
            if let extra = m.keys.first(where: { !lookKeys.contains($0) }) {
                throw fail("corroborated_by[\(i)]: a signal matches a finding on \(lookKeys.sorted().joined(separator: ", ")) only, not '\(extra)'")
            }
            signals.append(try matcher(m, weight: .byLevel, at: "corroborated_by[\(i)]"))
        }

        var levels: [Severity: VerdictRole] = [:]
        for (k, v) in root["levels"] as? [String: Any] ?? [:] {
            guard let s = Severity(rawValue: k), let name = v as? String, let r = VerdictRole(name: name) else {
                throw fail("levels: '\(k)' must map a Sigma level to a weight")
            }
            levels[s] = r
        }
        let yara = root["yara_severity"] as? [String: Any] ?? [:]
        let yaraDefault = (yara["default"] as? String).flatMap { Severity(rawValue: $0) } ?? .high
        var scores: [(atLeast: Int, severity: Severity)] = []
        for row in yara["score"] as? [Any] ?? [] {
            guard let m = row as? [String: Any], let n = m["at_least"] as? Int,
                  let s = (m["severity"] as? String).flatMap({ Severity(rawValue: $0) }) else {
                throw fail("yara_severity.score rows need at_least and severity")
            }
            scores.append((n, s))
        }
        var sources: [SourceQuiet] = []
        for row in root["sources"] as? [Any] ?? [] {
            guard let m = row as? [String: Any], let name = m["name"] as? String, let ls = m["logsource"] as? [String: Any],
                  let quiet = m["quiet_hours"] as? Int, quiet > 0 else {
                throw fail("sources rows need name, logsource and a positive quiet_hours")
            }
            sources.append(SourceQuiet(name: name, logsource: LogSource(product: ls["product"] as? String, category: ls["category"] as? String,
                                                                          service: ls["service"] as? String), quietHours: quiet))
        }
        return VerdictPolicy(entries: entries, levels: levels, yaraDefaultSeverity: yaraDefault,
                             yaraScores: scores.sorted { $0.atLeast > $1.atLeast }, sources: sources, file: file,
                             secondLook: secondLook, corroboratedBy: signals)
    }
}
