public import Foundation
public import HuntCore
public import Sigma
public import YARA
public import Indicators
public import WindowsEvents
public import Verdicts
public import EventExports
import ExchangeBuilds
import BuiltinRules
import Crypto
import Evidence
public import Baselines

/// The loaded detection content: Sigma rules for logs and files, YARA rules for file content,
/// and indicator lists (hashes, names and paths, addresses).
public struct Detectors: Sendable {
    public var rules: [SigmaRule]
    public var ruleErrors: [SigmaError]
    public var yara: YaraRules?
    public var yaraErrors: [YaraCompileError]
    public var indicators: IndicatorSet
    public var indicatorWarnings: [String]
    /// Field mappings, for the fields they derive on events.
    public var mappings: [FieldMapping]
    /// Sigma logsource and field names for Windows events.
    public var windowsEvents: WindowsEventMapping
    /// The shapes of exported Windows events (`Rules/mappings/event-exports.yml`).
    public var exportShapes = ExportShapes()
    /// Which fields make hits one finding, per log source (`Rules/grouping.yml`).
    public var grouping: Grouping
    /// Path keys of Exchange's own pages (`Rules/known-good/`), never reported by name or path alone.
    public var knownGood: Set<String>
    /// Microsoft's per-build baselines of Exchange's web folders (`--baselines`), when given.
    public var baselines: ExchangeBaselines?
    /// How findings weigh (`Rules/verdict-policy.yml`), applied to the loaded rules.
    let weights: FindingWeights
    /// Per-family verdicts from findings and coverage.
    public var judge: HostVerdict { weights.judge }
    public var policy: VerdictPolicy { weights.policy }
    private let indexes = IndexCache()
    /// SHA-256 over what decides findings and their weight (each Sigma rule's identity, title,
    /// level and weight, the YARA sources, the indicators, the policy and grouping files): two
    /// hunts with the same digest judged with the same content (`stats.rulesDigest`).
    public private(set) var digest = ""

    /// Rule indexes by log source. Sources of Windows events are only known as events are read.
    private final class IndexCache: @unchecked Sendable {
        private let lock = NSLock()
        private var built: [LogSource: RuleIndex] = [:]

        func get(_ source: LogSource, _ make: () -> RuleIndex) -> RuleIndex {
            lock.lock()
            defer { lock.unlock() }
            if let hit = built[source] { return hit }
            let index = make()
            built[source] = index
            return index
        }
    }

    /// A downloaded third-party rule set (`exhunt rules update`), loaded beside `--rules` and
    /// `--yara`; its findings name the set and carry its licence.
    public struct RuleSet: Sendable {
        public struct Part: Sendable {
            public var url: URL
            /// How its files are named in findings: `sigma@8eaafff1f284:rules/`.
            public var label: String
            public init(url: URL, label: String) { self.url = url; self.label = label }
        }
        public var name: String
        public var licence: String
        public var sigma: [Part]
        public var yara: [Part]
        /// Folders or files of Microsoft's per-build baselines, loaded as `--baselines` are.
        public var baselines: [Part]
        public init(name: String, licence: String, sigma: [Part], yara: [Part], baselines: [Part] = []) {
            self.name = name
            self.licence = licence
            self.sigma = sigma
            self.yara = yara
            self.baselines = baselines
        }
    }

    /// Which set a rule file (its label) came from, for the findings of its rules.
    let provenance: [String: (set: String, licence: String)]

    public struct Sources: Sendable {
        public var builtin = true
        public var ruleSets: [RuleSet] = []
        public var sigma: [URL] = []
        public var yara: [URL] = []
        public var indicators: [URL] = []
        /// A YAML map of `|expand` placeholder values (see Rules/README.md).
        public var placeholders: URL?
        /// Folders (or files) of Microsoft's per-build baselines (`baseline_15.1.2176.2.csv`).
        public var baselines: [URL] = []
        public init() {}
    }

    /// Loads the built-in content (unless disabled) and the user's folders. A missing user folder
    /// is a configuration error; a broken rule inside one is reported and skipped.
    public static func load(_ sources: Sources) async throws -> Detectors {
        let builtinDir = try BuiltinRules.directory()
        for url in sources.sigma + sources.yara + sources.indicators + [sources.placeholders].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: url.path) {
            throw SigmaError(file: url.path, reason: .invalid("no such rule or indicator file or folder"))
        }
        // The three kinds of content load side by side: start-up time counts on small evidence.
        let mappings = try Self.mappings(builtinDir)
        async let sigma = loadSigma(sources, builtinDir, mappings)
        async let iocs = loadIndicators(sources, builtinDir)
        let (rules, errors, builtinRules, sigmaProvenance) = try await sigma
        let (indicators, warnings) = try await iocs

        var yaraFiles: [(url: URL, label: String)] = []
        if sources.builtin { yaraFiles += files(in: builtinDir.appendingPathComponent("yara"), label: "builtin:yara") }
        let builtinYara = Set(yaraFiles.map(\.label))
        for url in sources.yara { yaraFiles += files(in: url, label: url.path) }
        var provenance = sigmaProvenance
        for set in sources.ruleSets {
            for part in set.yara {
                let found = files(in: part.url, label: part.label)
                yaraFiles += found
                for f in found { provenance[f.label] = (set.name, set.licence) }
            }
        }
        var texts: [(label: String, text: String)] = []
        var yaraErrors: [YaraCompileError] = []
        for f in yaraFiles {
            if let data = try? Data(contentsOf: f.url) { texts.append((f.label, String(decoding: data, as: UTF8.self))) }
            else { yaraErrors.append(YaraCompileError(file: f.label, line: 0, message: "cannot read file", isWarning: false)) }
        }
        texts += indicators.yaraRules
        let compiled = texts.isEmpty ? (rules: nil, errors: []) : YaraRules.compile(texts: texts)

        let knownGoodFile = builtinDir.appendingPathComponent("known-good/exchange-web-files.csv")
        let knownGood = Set((try String(contentsOf: knownGoodFile, encoding: .utf8)).split(whereSeparator: \.isNewline)
            .map(String.init).filter { !$0.hasPrefix("#") && $0 != "path" }.map { "\\" + $0.lowercased() })
        let windowsEvents = try WindowsEventMapping.load(builtinDir.appendingPathComponent("mappings/windows-events.yml"))
        let grouping = try Grouping.load(builtinDir.appendingPathComponent("grouping.yml"))
        let policy = try VerdictPolicy.load(builtinDir.appendingPathComponent("verdict-policy.yml"))
        let knowledge = try BuildKnowledge.load(directory: builtinDir.appendingPathComponent("exchange"))
        let weights = FindingWeights(policy: policy, judge: HostVerdict(policy: policy, knowledge: knowledge), rules: rules,
                                     builtinRules: builtinRules, builtinYara: builtinYara)
        var d = Detectors(rules: rules, ruleErrors: errors, yara: compiled.rules, yaraErrors: yaraErrors + compiled.errors,
                          indicators: indicators, indicatorWarnings: warnings, mappings: mappings,
                          windowsEvents: windowsEvents, grouping: grouping, knownGood: knownGood, weights: weights,
                          provenance: provenance)
        d.exportShapes = try ExportShapes.load(builtinDir.appendingPathComponent("mappings/event-exports.yml"))
        // Baselines given by hand, and those a downloaded set holds.
        let baselineURLs = sources.baselines + sources.ruleSets.flatMap { $0.baselines.map(\.url) }
        if !baselineURLs.isEmpty {
            var all = ExchangeBaselines()
            for url in baselineURLs {
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw SigmaError(file: url.path, reason: .invalid("no such baseline file or folder"))
                }
                let one = try ExchangeBaselines(loading: url)
                all.merge(one)
            }
            d.baselines = all
        }
        var h = SHA256()
        for line in rules.map({ r in "sigma \(r.identity)|\(r.title)|\(r.level)|\(weights.sigma(r).role.rawValue)" }).sorted() { h.update(data: Data((line + "\n").utf8)) }
        for t in texts.sorted(by: { $0.label < $1.label }) { h.update(data: Data("yara \(t.label)\n\(t.text)\n".utf8)) }
        for line in indicators.all.map({ "ioc \($0.kind.rawValue):\($0.value)" }).sorted() { h.update(data: Data((line + "\n").utf8)) }
        // The baselines decide findings too: which builds were loaded, and how many files each lists.
        if let b = d.baselines { h.update(data: Data("baselines \(b.fingerprint)\n".utf8)) }
        for file in ["verdict-policy.yml", "grouping.yml", "mappings/windows-events.yml", "mappings/event-exports.yml"] {
            h.update(data: (try? Data(contentsOf: builtinDir.appendingPathComponent(file))) ?? Data())
        }
        d.digest = Hex.encode(h.finalize())
        return d
    }

    /// The weight the policy gives a match of an indicator of this kind (`ip`, `sha256`, …).
    public func weight(ofIndicator kind: String) -> VerdictRole { weights.indicator(kind) }

    /// The rules, the load errors, and the identities of the rules shipped in `Rules/`.
    private static func loadSigma(_ sources: Sources, _ builtinDir: URL, _ mappings: [FieldMapping]) async throws
        -> ([SigmaRule], [SigmaError], Set<String>, [String: (set: String, licence: String)]) {
        let loader = RuleLoader(mappings: mappings, placeholders: try sources.placeholders.map(RuleLoader.loadPlaceholders) ?? [:])
        var rules: [SigmaRule] = []
        var errors: [SigmaError] = []
        var builtin = Set<String>()
        if sources.builtin {
            let r = loader.loadRules(in: builtinDir.appendingPathComponent("sigma"), label: "builtin:")
            rules += r.rules
            errors += r.errors
            builtin = Set(r.rules.map(\.identity))
        }
        for dir in sources.sigma {
            let r = loader.loadRules(in: dir, label: dir.path + "/")
            rules += r.rules
            errors += r.errors
        }
        var provenance: [String: (set: String, licence: String)] = [:]
        for set in sources.ruleSets {
            for part in set.sigma {
                let r = loader.loadRules(in: part.url, label: part.label)
                rules += r.rules
                errors += r.errors
                for rule in r.rules { provenance[rule.file] = (set.name, set.licence) }
            }
        }
        return (rules, errors, builtin, provenance)
    }

    /// The weight the policy gives a Sigma rule's findings, their family, and the policy entry
    /// (index into `policy.entries`) that decided it.
    public func weight(of rule: SigmaRule) -> (role: VerdictRole, family: String?, entry: Int?) {
        let w = weights.sigma(rule)
        return (w.role, w.family, w.entry)
    }

    private static func loadIndicators(_ sources: Sources, _ builtinDir: URL) async throws -> (IndicatorSet, [String]) {
        var indicators = IndicatorSet()
        var warnings: [String] = []
        let dirs = (sources.builtin ? [(builtinDir.appendingPathComponent("iocs"), "builtin:iocs")] : [])
            + sources.indicators.map { ($0, $0.path) }
        for (url, label) in dirs {
            let r = try IndicatorLoader.load(url, label: label)
            indicators.merge(r.set)
            warnings += r.warnings
        }
        return (indicators, warnings)
    }

    /// Compatibility entry for callers that only add Sigma folders.
    public static func load(builtin: Bool, extra: [URL], placeholders: URL? = nil) async throws -> Detectors {
        var s = Sources()
        s.builtin = builtin
        s.sigma = extra
        s.placeholders = placeholders
        return try await load(s)
    }

    static func files(in url: URL, label: String) -> [(url: URL, label: String)] {
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        guard isDir.boolValue else { return [(url, label)] }
        let base = url.standardizedFileURL.path
        return (FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { ["yar", "yara"].contains($0.pathExtension.lowercased()) }
            .sorted { $0.path < $1.path }
            .map { u in (u, label + "/" + u.standardizedFileURL.path.dropFirst(base.count + 1)) }
    }

    /// The rules that apply to events of `source`: those whose logsource admits it, less those
    /// whose filters test a field the source's events never carry (`leftOut`).
    func rules(for source: LogSource) -> [SigmaRule] {
        let limits = windowsEvents.limits[source]
        return rules.filter { r in
            r.logsource.admits(source) && (limits.map { $0.missing(in: r.negatedFieldNames).isEmpty } ?? true)
        }
    }

    /// Rules left out for a mapped source, with the filter fields its events never carry.
    public var leftOut: [(rule: SigmaRule, source: LogSource, limits: WindowsEventMapping.SourceLimits, fields: [String])] {
        windowsEvents.limits.sorted { $0.key.description < $1.key.description }.flatMap { source, limits in
            rules.compactMap { r in
                guard r.logsource.admits(source) else { return nil }
                let fields = limits.missing(in: r.negatedFieldNames)
                return fields.isEmpty ? nil : (r, source, limits, fields)
            }
        }
    }

    /// The rules of `source`, indexed; built once per source and shared by every file and thread.
    func index(for source: LogSource) -> RuleIndex {
        indexes.get(source) { RuleIndex(rules(for: source)) }
    }

    static func mappings(_ builtinDir: URL) throws -> [FieldMapping] {
        try RuleLoader.loadMappings(in: builtinDir.appendingPathComponent("mappings"))
    }

    /// The mappings whose derived fields apply to events of `source`.
    func derivations(for source: LogSource) -> [FieldMapping] { mappings.filter { !$0.derived.isEmpty && $0.covers(source) } }

    /// Whether `windowsPath` is one of Exchange's own pages in its own folder.
    func isKnownGood(_ windowsPath: String) -> Bool {
        let p = windowsPath.lowercased()
        return knownGood.contains { p.hasSuffix($0) }
    }
}
