public import HuntCore

/// A loaded, compiled Sigma rule. Immutable and `Sendable`: one instance serves every thread,
/// and matching thousands of rules per line copies no rule (a class, not a struct of strings).
public final class SigmaRule: Sendable {
    public let id: String
    public let title: String
    public let description: String?
    public let author: String?
    public let references: [String]
    public let tags: [String]
    public let level: Severity
    public let logsource: LogSource
    /// Fields the rule wants shown with a finding (Sigma `fields:`), after field mapping.
    public let fields: [String]
    /// Where the rule came from, for the report (`builtin:sigma/exchange/x.yml` or a user path).
    public let file: String
    /// exhunt extension `exhunt.verdict`: how the rule's author says its findings weigh. The verdict
    /// policy (`Rules/verdict-policy.yml`) decides what is made of it.
    public let declaredRole: VerdictRole?
    /// exhunt extension `exhunt.family`: the vulnerability family its findings show.
    public let family: String?
    /// exhunt extension `exhunt.tpl`: which Test-ProxyLogon output file the finding belongs to.
    public let tpl: String?
    /// exhunt extension `exhunt.summary`: one sentence for people, with `{field}` placeholders.
    public let summary: String?
    /// exhunt extension `exhunt.stage`, else derived from the ATT&CK tactic tags.
    public let stage: String?
    /// exhunt extension `exhunt.group_by`: the fields whose values make two hits one finding
    /// (nil: the log source's default, `Rules/grouping.yml`). Field names as mapped.
    public let groupBy: [String]?
    /// The rule's file and id: one rule, whatever other rule sets call theirs.
    public let identity: String

    let selections: [String: Selection]
    /// The selections in declaration order, as the resolved condition indexes them.
    let selectionList: [Selection]
    let condition: Condition
    let extracts: [Extract]

    init(id: String, title: String, description: String?, author: String?, references: [String], tags: [String],
         level: Severity, logsource: LogSource, fields: [String], file: String, declaredRole: VerdictRole?, family: String? = nil, tpl: String?,
         summary: String?, stage: String?, groupBy: [String]? = nil, selections: [String: Selection], selectionList: [Selection],
         condition: Condition, extracts: [Extract]) {
        self.id = id
        self.title = title
        self.description = description
        self.author = author
        self.references = references
        self.tags = tags
        self.level = level
        self.logsource = logsource
        self.fields = fields
        self.file = file
        self.declaredRole = declaredRole
        self.family = family
        self.tpl = tpl
        self.summary = summary
        self.stage = stage
        self.groupBy = groupBy
        self.identity = file + "\u{1}" + id
        self.selections = selections
        self.selectionList = selectionList
        self.condition = condition
        self.extracts = extracts
        var negated = Set<String>()
        condition.forEachSelection(negated: false) { i, isNegated in
            if isNegated, i < selectionList.count { negated.formUnion(selectionList[i].fieldNames) }
        }
        negatedFieldNames = negated
    }

    /// How many values this rule's regular expressions gave up on (their step budget ran out):
    /// such a value counts as not matching, and the hunt says so.
    public var regexOverruns: Int {
        (selectionList.flatMap(\.regexes) + extracts.map(\.regex)).reduce(0) { $0 + $1.overruns.value }
    }

    struct Extract: Sendable {
        var name: String
        var field: String?
        var regex: RegexBox
    }

    /// The intrusion stage from ATT&CK tactic tags, when the rule does not name one.
    static func stage(fromTags tags: [String]) -> String? {
        let t = Set(tags.map { $0.lowercased() })
        if t.contains("attack.reconnaissance") { return "probe" }
        if t.contains("attack.initial-access") || t.contains("attack.initial_access") { return "exploitation" }
        if t.contains("attack.persistence") { return "persistence" }
        if !t.filter({ $0.hasPrefix("attack.") && !$0.hasPrefix("attack.t") }).isEmpty { return "post-exploitation" }
        return nil
    }

    /// CVE identifiers from `cve.YYYY-NNNN` tags, in `CVE-YYYY-NNNN` form.
    public var cves: [String] {
        tags.compactMap { t in
            let l = t.lowercased()
            return l.hasPrefix("cve.") ? "CVE-" + t.dropFirst(4).uppercased() : nil
        }
    }

    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags.
    public var attack: [String] {
        tags.compactMap { t in
            let l = t.lowercased()
            guard l.hasPrefix("attack.t"), l.dropFirst(8).first?.isNumber == true else { return nil }
            return String(t.dropFirst(7)).uppercased()
        }
    }

    /// Literals of which every event this rule matches contains at least one (lowercased), or
    /// nil when the rule could match events without any fixed text (negations, regexes).
    public var literals: Set<String>? {
        condition.gate(selectionList, .rawText).map { Set($0.literals.map { String(decoding: $0, as: UTF8.self) }) }
    }

    public func matches(_ event: Event) -> Bool { condition.evaluate(selectionList, event) }

    /// Lowercased names of the fields tested under a `not`: the rule's filters. An event without
    /// such a field can never be excluded by it, so a source whose events cannot carry it would
    /// see every filtered case fire. (A missing field elsewhere only keeps a selection from matching.)
    public let negatedFieldNames: Set<String>

    /// Lowercased names of every field the rule reads or shows, so readers can decode only those.
    public var fieldNames: Set<String> {
        var out = Set(fields.map { $0.lowercased() })
        for s in selections.values { out.formUnion(s.fieldNames) }
        for e in extracts { if let f = e.field { out.insert(f.lowercased()) } }
        return out
    }

    /// Whether the rule reads `field` (case ignored), so readers can skip costly fields no rule wants.
    public func reads(_ field: String) -> Bool {
        let f = field.lowercased()
        return selections.values.contains { $0.fieldNames.contains(f) } || extracts.contains { $0.field?.lowercased() == f }
    }

    /// Values pulled out by `exhunt.extract`, for example the path a web shell was written to.
    public func extract(_ event: Event) -> [String: String] {
        var out: [String: String] = [:]
        for e in extracts {
            let source = e.field.map { event.value($0) ?? "" } ?? event.raw
            if let v = e.regex.capture(source) { out[e.name] = v }
        }
        return out
    }

    /// The rule's one-line description of an event, filling `{Field}` placeholders.
    public func sentence(for event: Event, extracted: [String: String]) -> String {
        guard let template = summary else { return title }
        // One pass over the template: values are inserted, never re-scanned for placeholders.
        var out = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let key = String(rest[rest.index(after: open)..<close])
            out += extracted[key] ?? event.value(key).flatMap { $0.isEmpty ? nil : $0 } ?? "?"
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
