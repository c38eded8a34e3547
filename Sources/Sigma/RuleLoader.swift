public import Foundation
public import HuntCore
import Yams

/// Renames Sigma field names to the names a log source writes, for rules whose logsource
/// overlaps the mapping's. Loaded from `mappings/*.yml` (see Rules/README.md).
public struct FieldMapping: Sendable {
    public var logsource: LogSource
    public var fields: [String: String]
    /// Fields computed on events from other fields, `{Field}` placeholders: how a reader's columns
    /// become the field a Sigma rule expects (IIS `cs-uri-query` as the full URI).
    public var derived: [(name: String, template: String)] = []

    /// Sets the derived fields on an event of a source this mapping covers.
    public func derive(_ event: inout Event) {
        for (name, template) in derived {
            var out = ""
            var rest = template[...]
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                out += rest[..<open]
                out += event.value(String(rest[rest.index(after: open)..<close])) ?? ""
                rest = rest[rest.index(after: close)...]
            }
            out += rest
            // "stem?" with an empty query reads better, and matches better, as "stem".
            if out.hasSuffix("?") { out.removeLast() }
            event.set(name, out)
        }
    }

    public func covers(_ source: LogSource) -> Bool { logsource.admits(source) }

    /// Lowercased names of the fields the derived fields are made from.
    public var sourceFields: Set<String> {
        var out = Set<String>()
        for (_, template) in derived {
            var rest = template[...]
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                out.insert(rest[rest.index(after: open)..<close].lowercased())
                rest = rest[rest.index(after: close)...]
            }
        }
        return out
    }

    /// Whether this mapping renames the fields of a rule with this logsource: every part the
    /// mapping names must be the rule's too. A rule that does not say its category is not a proxy
    /// rule, so a Windows rule naming `c-ip` keeps its field.
    func applies(to rule: LogSource) -> Bool {
        func agree(_ mapping: String?, _ rule: String?) -> Bool { mapping == nil || mapping == rule }
        return agree(logsource.product, rule.product) && agree(logsource.category, rule.category)
            && agree(logsource.service, rule.service)
    }
}

/// Loads Sigma YAML into compiled rules. Every file either becomes a rule or an error naming the
/// file and the construct; nothing is silently skipped.
public struct RuleLoader: Sendable {
    public var mappings: [FieldMapping]
    /// Values for `|expand` placeholders (`%name%`), by lowercased name: a site's own lists
    /// (its domain controllers, admin workstations...), which no rule set can ship.
    public var placeholders: [String: [String]]

    public init(mappings: [FieldMapping] = [], placeholders: [String: [String]] = [:]) {
        self.mappings = mappings
        self.placeholders = Dictionary(placeholders.map { ($0.key.lowercased(), $0.value) }) { a, b in a + b }
    }

    /// Reads a placeholder file: a YAML map from name (with or without the `%`s) to a value or a
    /// list of values.
    public static func loadPlaceholders(_ url: URL) throws -> [String: [String]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        guard YAMLNesting.depth(text) <= YAMLNesting.limit else {
            throw SigmaError(file: url.path, reason: .invalid("YAML nested more than \(YAMLNesting.limit) levels deep"))
        }
        guard let root = try Yams.compose(yaml: text), let map = root.mapping else {
            throw SigmaError(file: url.path, reason: .invalid("placeholder file is not a YAML map of name: [values]"))
        }
        var out: [String: [String]] = [:]
        for (k, v) in map {
            guard let name = k.string?.trimmingCharacters(in: CharacterSet(charactersIn: "%")), !name.isEmpty,
                  let values = v.sequence.map({ $0.compactMap(\.string) }) ?? v.string.map({ [$0] }) else {
                throw SigmaError(file: url.path, reason: .invalid("placeholder '\(k.string ?? "?")' needs a value or a list of values"))
            }
            out[name.lowercased(), default: []] += values
        }
        return out
    }

    /// Modifiers this engine implements. Anything else rejects the rule.
    static let supportedModifiers: Set<String> = ["contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cased",
                                                   "exists", "windash", "cidr", "base64", "base64offset", "wide", "utf16le",
                                                   "utf16be", "utf16", "fieldref", "neq", "lt", "lte", "gt", "gte", "expand"]

    public static func loadMappings(in directory: URL) throws -> [FieldMapping] {
        try yamlFiles(in: directory).compactMap { url in
            let text = try String(contentsOf: url, encoding: .utf8)
            guard let root = try Yams.compose(yaml: text), let map = root.mapping else {
                throw SigmaError(file: url.path, reason: .invalid("mapping file is not a YAML map"))
            }
            // Other kinds of mapping (windows-events) have their own loaders.
            if let kind = map["kind"]?.string, kind != "fields" { return nil }
            var fields: [String: String] = [:]
            for (k, v) in map["fields"]?.mapping ?? [:] {
                if let k = k.string, let v = v.string { fields[k.lowercased()] = v }
            }
            var derived: [(name: String, template: String)] = []
            for (k, v) in map["derived"]?.mapping ?? [:] {
                if let k = k.string, let v = v.string { derived.append((k, v)) }
            }
            return FieldMapping(logsource: logsource(map["logsource"]), fields: fields, derived: derived)
        }
    }

    /// Every `.yml`/`.yaml` file below `directory`, in a stable order.
    public static func yamlFiles(in directory: URL) throws -> [URL] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) else {
            throw SigmaError(file: directory.path, reason: .invalid("no such file or folder"))
        }
        if !isDir.boolValue { return [directory] }
        let e = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        var out: [URL] = []
        while let url = e?.nextObject() as? URL {
            let ext = url.pathExtension.lowercased()
            if ext == "yml" || ext == "yaml" { out.append(url) }
        }
        return out.sorted { $0.path < $1.path }
    }

    /// Loads every rule under `directory`; `label` prefixes the file names in reports.
    public func loadRules(in directory: URL, label: String) -> (rules: [SigmaRule], errors: [SigmaError]) {
        var rules: [SigmaRule] = []
        var errors: [SigmaError] = []
        let files: [URL]
        do { files = try Self.yamlFiles(in: directory) } catch let e as SigmaError {
            return ([], [e])
        } catch {
            return ([], [SigmaError(file: directory.path, reason: .invalid("\(error)"))])
        }
        let basePath = directory.standardizedFileURL.path
        for url in files {
            var rel = url.standardizedFileURL.path
            if rel.hasPrefix(basePath + "/") { rel = String(rel.dropFirst(basePath.count + 1)) }
            let name = label.isEmpty ? rel : "\(label)\(rel)"
            do {
                let text = try String(contentsOf: url, encoding: .utf8)
                rules.append(try load(yaml: text, file: name))
            } catch let e as SigmaError {
                errors.append(e)
            } catch {
                errors.append(SigmaError(file: name, reason: .invalid("\(error)")))
            }
        }
        return (rules, errors)
    }

    /// Compiles one rule from its YAML text.
    public func load(yaml: String, file: String) throws(SigmaError) -> SigmaRule {
        do {
            return try compile(yaml: yaml, file: file)
        } catch let reason {
            throw SigmaError(file: file, reason: reason)
        }
    }

    private func compile(yaml: String, file: String) throws(SigmaError.Reason) -> SigmaRule {
        let documents: [Node]
        guard YAMLNesting.depth(yaml) <= YAMLNesting.limit else {
            throw .invalid("YAML nested more than \(YAMLNesting.limit) levels deep")
        }
        // Document by document: `compose_all` stops silently at a document that does not parse.
        do {
            let parser = try Yams.Parser(yaml: yaml)
            var all: [Node] = []
            while let d = try parser.nextRoot() { all.append(d) }
            documents = all
        } catch {
            throw .invalid("YAML: \(error)")
        }
        guard documents.count == 1 else {
            throw .unsupported("\(documents.count) YAML documents in one file (rule collections)")
        }
        guard let root = documents[0].mapping else { throw .invalid("top level is not a map") }
        guard let title = root["title"]?.string else { throw .invalid("missing title") }
        if root["correlation"] != nil { throw .unsupported("correlation rule") }
        guard let detection = root["detection"]?.mapping else { throw .invalid("missing detection") }
        let source = Self.logsource(root["logsource"])
        let mapping = mappings.filter { $0.applies(to: source) }.reduce(into: [String: String]()) { acc, m in
            acc.merge(m.fields) { a, _ in a }
        }
        func mapped(_ field: String) -> String { mapping[field.lowercased()] ?? field }

        var selections: [String: Selection] = [:]
        var order: [String] = []
        var conditionTexts: [String] = []
        for (k, v) in detection {
            guard let key = k.string else { throw .invalid("non-string key in detection") }
            switch key {
            case "condition":
                if let s = v.string { conditionTexts = [s] }
                else if let seq = v.sequence { conditionTexts = seq.compactMap(\.string) }
                else { throw .invalid("condition is neither a string nor a list") }
            case "timeframe":
                throw .unsupported("timeframe (correlation)")
            default:
                selections[key] = try Self.selection(v, name: key, mapped: mapped, placeholders: placeholders)
                order.append(key)
            }
        }
        guard !conditionTexts.isEmpty else { throw .invalid("missing detection.condition") }
        var conditions: [Condition] = []
        for text in conditionTexts {
            var parser = try ConditionParser(text, selections: order)
            conditions.append(try parser.parse())
        }

        let ext = root["exhunt"]?.mapping
        let levelText = root["level"]?.string?.lowercased() ?? "medium"
        guard let level = Severity(rawValue: levelText) else { throw .invalid("unknown level '\(levelText)'") }
        var role: VerdictRole?
        if let r = ext?["verdict"]?.string {
            guard let parsed = VerdictRole(name: r) else { throw .invalid("unknown exhunt.verdict '\(r)'") }
            role = parsed
        }
        var extracts: [SigmaRule.Extract] = []
        for item in ext?["extract"]?.sequence ?? [] {
            guard let name = item["name"]?.string, let re = item["re"]?.string else {
                throw .invalid("exhunt.extract items need name and re")
            }
            do {
                extracts.append(.init(name: name, field: item["field"]?.string.map(mapped), regex: try RegexBox(re, options: [])))
            } catch { throw .invalid("exhunt.extract '\(name)': bad regex: \(error)") }
        }
        return SigmaRule(
            id: root["id"]?.string ?? file,
            title: title,
            description: root["description"]?.string,
            author: root["author"]?.string,
            references: root["references"]?.sequence?.compactMap(\.string) ?? [],
            tags: root["tags"]?.sequence?.compactMap(\.string) ?? [],
            level: level,
            logsource: source,
            fields: (root["fields"]?.sequence?.compactMap(\.string) ?? []).map(mapped),
            file: file,
            declaredRole: role,
            family: ext?["family"]?.string?.lowercased(),
            tpl: ext?["tpl"]?.string,
            summary: ext?["summary"]?.string,
            stage: ext?["stage"]?.string ?? SigmaRule.stage(fromTags: root["tags"]?.sequence?.compactMap(\.string) ?? []),
            groupBy: try ext?["group_by"].map { node throws(SigmaError.Reason) in
                guard let list = node.sequence?.compactMap(\.string), !list.isEmpty else {
                    throw .invalid("exhunt.group_by wants a list of field names")
                }
                return list.map(mapped)
            },
            selections: selections,
            selectionList: order.compactMap { selections[$0] },
            condition: (conditions.count == 1 ? conditions[0] : .or(conditions)).resolved(order),
            extracts: extracts)
    }

    static func logsource(_ node: Node?) -> LogSource {
        LogSource(product: node?["product"]?.string, category: node?["category"]?.string, service: node?["service"]?.string)
    }

    private static func selection(_ node: Node, name: String, mapped: (String) -> String, placeholders: [String: [String]]) throws(SigmaError.Reason) -> Selection {
        switch node {
        case .mapping(let map):
            var tests: [FieldTest] = []
            for (k, v) in map {
                guard let key = k.string else { throw .invalid("non-string field name in '\(name)'") }
                tests.append(try fieldTest(key, v, mapped: mapped, placeholders: placeholders))
            }
            return .fields(tests)
        case .sequence(let seq):
            if seq.allSatisfy({ $0.mapping != nil }) {
                return .anyOf(try seq.map { (n: Node) throws(SigmaError.Reason) -> Selection in
                    try selection(n, name: name, mapped: mapped, placeholders: placeholders)
                })
            }
            guard seq.allSatisfy({ $0.scalar != nil }) else { throw .invalid("'\(name)' mixes maps and values") }
            return .keywords(try seq.map { (n: Node) throws(SigmaError.Reason) -> Pattern in
                try pattern(n, modifiers: ["contains"], placeholders: placeholders)
            }, all: false)
        case .scalar:
            return .keywords([try pattern(node, modifiers: ["contains"], placeholders: placeholders)], all: false)
        }
    }

    private static func fieldTest(_ key: String, _ value: Node, mapped: (String) -> String, placeholders: [String: [String]]) throws(SigmaError.Reason) -> FieldTest {
        let parts = key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        let fieldName = parts[0]
        let modifiers = Array(parts.dropFirst()).map { $0.lowercased() }
        if let bad = modifiers.first(where: { !supportedModifiers.contains($0) }) {
            throw .unsupported("modifier '\(bad)' on '\(key)'")
        }
        // A keyword map (`'|all': [...]`) has no field: it searches the whole event, as keywords do.
        let field: String? = fieldName.isEmpty ? nil : mapped(fieldName)
        var effective = modifiers
        if field == nil, !modifiers.contains(where: { ["contains", "startswith", "endswith", "re"].contains($0) }) {
            effective.append("contains")
        }
        let values: [Node] = value.sequence.map(Array.init) ?? [value]
        if values.isEmpty { throw .invalid("'\(key)' has an empty value list") }
        var patterns = try values.map { (n: Node) throws(SigmaError.Reason) -> Pattern in try pattern(n, modifiers: effective, placeholders: placeholders) }
        let requireAll = modifiers.contains("all")
        // Several plain `contains` values: one pass over the value instead of one per value.
        if !requireAll, patterns.count > 3 {
            let globs = patterns.compactMap { p -> Glob? in if case .glob(let g) = p { return g } else { return nil } }
            if globs.count == patterns.count, let m = MultiLiteral(globs) { patterns = [.containsAny(m)] }
        }
        return FieldTest(field: field, patterns: patterns, requireAll: requireAll)
    }

    /// The dashes Windows command lines accept for a switch (the specification's list).
    static let dashes: [Character] = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"]
    /// `|windash` gives more spellings than this (five per switch) only for values no rule writes.
    static let maxWindashVariants = 5 * 5 * 5 * 5 * 5

    /// Every spelling of `value` with each switch character (one of the five that starts a word:
    /// after the start, a space or other non-word character, and before a word character) written
    /// as any of the five, each switch independently: `-s -i` also gives `/s -i` and `-s /i`
    /// (the specification's "all possible permutations"). Dashes inside words (`Get-Process`)
    /// stay as they are, as pySigma leaves them.
    static func windash(_ value: String) throws(SigmaError.Reason) -> [String] {
        let chars = Array(value)
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        let switches = chars.indices.filter { i in
            dashes.contains(chars[i]) && (i == 0 || !isWord(chars[i - 1]))
                && i + 1 < chars.count && isWord(chars[i + 1])
        }
        var count = 1
        for _ in switches {
            count *= dashes.count
            guard count <= maxWindashVariants else {
                throw .unsupported("windash on a value with \(switches.count) switches (\(value.prefix(60)))")
            }
        }
        var out: [String] = []
        out.reserveCapacity(count)
        for n in 0..<count {
            var c = chars
            var k = n
            for i in switches {
                c[i] = dashes[k % dashes.count]
                k /= dashes.count
            }
            out.append(String(c))
        }
        return out
    }

    private static func pattern(_ node: Node, modifiers: [String], placeholders: [String: [String]]) throws(SigmaError.Reason) -> Pattern {
        guard case .scalar(let scalar) = node else { throw .invalid("nested list or map where a value was expected") }
        if modifiers.contains("exists") {
            guard let b = node.bool else { throw .invalid("exists needs true or false") }
            return .exists(b)
        }
        if node.null != nil && scalar.style == .plain { return .null }
        let text = scalar.string
        if modifiers.contains("re") {
            var options: NSRegularExpression.Options = []
            if modifiers.contains("i") { options.insert(.caseInsensitive) }
            if modifiers.contains("m") { options.insert(.anchorsMatchLines) }
            if modifiers.contains("s") { options.insert(.dotMatchesLineSeparators) }
            do { return .regex(try RegexBox(text, options: options)) } catch {
                throw .invalid("bad regular expression '\(text)'")
            }
        }
        let cased = modifiers.contains("cased")
        let contains = modifiers.contains("contains")
        if modifiers.contains("fieldref") {
            return .fieldRef(text, contains: contains, startsWith: modifiers.contains("startswith"),
                             endsWith: modifiers.contains("endswith"), cased: cased)
        }
        if modifiers.contains("cidr") {
            guard let net = CIDR(text) else { throw .invalid("bad network '\(text)' for cidr") }
            return .cidr(net)
        }
        for (name, op) in [("lt", Pattern.NumericOp.lt), ("lte", .lte), ("gt", .gt), ("gte", .gte)] where modifiers.contains(name) {
            guard let bound = Double(text) else { throw .invalid("\(name) needs a number, not '\(text)'") }
            return .numeric(op, bound)
        }
        // Value transformations, each possibly giving several spellings.
        var variants = modifiers.contains("expand") ? try expand(text, placeholders) : [text]
        if modifiers.contains("windash") {
            var spelled: [String] = []
            for v in variants { spelled += try Self.windash(v) }
            variants = spelled
            variants = Array(NSOrderedSet(array: variants)) as? [String] ?? variants
        }
        let encoding: ((String) -> [UInt8])? = modifiers.contains("wide") || modifiers.contains("utf16le")
            ? { Array($0.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) }
            : modifiers.contains("utf16be") ? { Array($0.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }) }
            : modifiers.contains("utf16") ? { [0xFF, 0xFE] + Array($0.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) }
            : nil
        if modifiers.contains("base64") {
            variants = variants.map { Data(encoding?($0) ?? Array($0.utf8)).base64EncodedString() }
        } else if modifiers.contains("base64offset") {
            variants = variants.flatMap { v in Self.base64Offsets(encoding?(v) ?? Array(v.utf8)) }
        }
        // Encoded text is case-sensitive by nature.
        let isEncoded = modifiers.contains("base64") || modifiers.contains("base64offset")
        let globs = variants.map { v in
            Pattern.glob(Glob(sigma: isEncoded ? Self.escapeWildcards(v) : v, cased: cased || isEncoded,
                              wrapStart: contains || modifiers.contains("endswith"),
                              wrapEnd: contains || modifiers.contains("startswith")))
        }
        let pattern = globs.count == 1 ? globs[0] : .any(globs)
        return modifiers.contains("neq") ? .not(pattern) : pattern
    }

    /// Every spelling of `text` with each `%name%` replaced by each of its values.
    static func expand(_ text: String, _ placeholders: [String: [String]]) throws(SigmaError.Reason) -> [String] {
        var out = [""]
        var missing: [String] = []
        var rest = text[...]
        while let open = rest.firstIndex(of: "%"), let close = rest[rest.index(after: open)...].firstIndex(of: "%") {
            let name = String(rest[rest.index(after: open)..<close])
            let prefix = rest[..<open]
            if let values = placeholders[name.lowercased()], !values.isEmpty {
                out = out.flatMap { head in values.map { head + prefix + $0 } }
            } else {
                missing.append("%\(name)%")
            }
            rest = rest[rest.index(after: close)...]
        }
        if !missing.isEmpty { throw .needsValues(missing) }
        return out.map { $0 + rest }
    }

    /// The three base64 spellings of `bytes` at every alignment, with the edge characters that
    /// depend on neighbouring bytes cut off (as Sigma's `base64offset` defines).
    static func base64Offsets(_ bytes: [UInt8]) -> [String] {
        (0..<3).map { i in
            let encoded = Array(Data([UInt8](repeating: 0, count: i) + bytes).base64EncodedString().utf8)
            let start = [0, 2, 3][i]
            let end = encoded.count - [0, 3, 2][(bytes.count + i) % 3]
            return start < end ? String(decoding: encoded[start..<end], as: UTF8.self) : ""
        }.filter { !$0.isEmpty }
    }

    static func escapeWildcards(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "*", with: "\\*").replacingOccurrences(of: "?", with: "\\?")
    }
}
