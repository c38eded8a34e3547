public import HuntCore

/// A loaded, compiled Sigma rule. Immutable and `Sendable`: one copy serves every thread.
public struct SigmaRule: Sendable {
    public var id: String
    public var title: String
    public var description: String?
    public var author: String?
    public var references: [String]
    public var tags: [String]
    public var level: Severity
    public var logsource: LogSource
    /// Fields the rule wants shown with a finding (Sigma `fields:`), after field mapping.
    public var fields: [String]
    /// Where the rule came from, for the report (`builtin:sigma/exchange/x.yml` or a user path).
    public var file: String
    /// exhunt extension `exhunt.verdict`: how the rule's findings weigh in the host verdict.
    public var role: VerdictRole
    /// exhunt extension `exhunt.tpl`: which Test-ProxyLogon output file the finding belongs to.
    public var tpl: String?
    /// exhunt extension `exhunt.summary`: one sentence for people, with `{field}` placeholders.
    public var summary: String?
    /// exhunt extension `exhunt.stage`, else derived from the ATT&CK tactic tags.
    public var stage: String?

    let selections: [String: Selection]
    let condition: Condition
    let extracts: [Extract]

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
    public var literals: Set<String>? { condition.literals(selections) }

    public func matches(_ event: Event) -> Bool { condition.evaluate(selections, event) }

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
