import Foundation
import HuntCore
import Findings
import Sigma
import YARA
import Indicators
import ExchangeLogs

/// Makes findings from what the matchers matched, and records them in the sink under their group
/// key. The sink builds a hit's finding only when it needs it (`FindingsSink.record`).
struct FindingFactory: Sendable {
    let sink: FindingsSink
    let grouping: Grouping
    let weights: FindingWeights
    /// Which downloaded set each rule file came from.
    let provenance: [String: (set: String, licence: String)]

    /// One hit of a Sigma rule on an event.
    func record(_ rule: SigmaRule, _ event: Event) {
        record(rule.identity, rule, event) { finding(rule, event) }
    }

    /// One hit of a detector that is not a Sigma rule (YARA, indicators), grouped by the event's
    /// log source default.
    func record(detector key: String, _ event: Event, _ make: () -> Finding) {
        record(key, nil, event, make)
    }

    /// One hit known by `key`, grouped by `rule`'s fields or the event's log source default.
    func record(_ key: String, _ rule: SigmaRule?, _ event: Event, _ make: () -> Finding) {
        // A probe sent from many addresses: one finding per target, the addresses counted in it.
        if let rule, let a = grouping.aggregate(for: rule, source: event.source, weight: weights.sigma(rule).role) {
            sink.record(rule: key, groupBy: a.fields, values: a.fields.map { event.value($0) ?? "" },
                        counting: (a.counted, event.value(a.counted) ?? ""), time: event.timestamp, at: event.location, make: make)
            return
        }
        let fields = grouping.fields(for: rule, source: event.source)
        sink.record(rule: key, groupBy: fields, values: fields.map { event.value($0) ?? "" }, time: event.timestamp,
                    at: event.location, make: make)
    }

    func finding(_ rule: SigmaRule, _ event: Event) -> Finding {
        let extracted = rule.extract(event)
        var fields: [String: String] = [:]
        for f in rule.fields { if let v = event.value(f), !v.isEmpty { fields[f] = v } }
        var excerpt = event.value("Content") != nil ? event.value("Path") ?? event.raw : event.raw
        if excerpt.count > 600 { excerpt = String(excerpt.prefix(600)) + "…" }
        let (role, family, _, builtin) = weights.sigma(rule)
        var f = Finding(
            rule: .init(id: rule.id, title: rule.title, source: rule.file, author: rule.author, references: rule.references,
                        ruleSet: provenance[rule.file]?.set, licence: provenance[rule.file]?.licence),
            cves: rule.cves, attack: rule.attack, severity: rule.level, role: role,
            timestamp: event.timestamp, source: event.source,
            evidence: .init(location: event.location, excerpt: excerpt, sha256: event.value("SHA256")),
            fields: fields, extracted: extracted.merging(["summary": rule.sentence(for: event, extracted: extracted)]) { a, _ in a },
            tpl: rule.tpl, stage: rule.stage)
        f.family = family
        f.origin = FindingOrigin(detector: .sigma, builtin: builtin, place: event.value("WebPlace").flatMap(WebPlace.init(rawValue:)))
        return f
    }

    func yaraFinding(_ m: YaraMatch, _ event: Event) -> Finding {
        // Third-party sets (DRL 1.1) ask that the author and reference travel with every match.
        let (role, severity, family, origin) = weights.yara(m, place: event.value("WebPlace").flatMap(WebPlace.init(rawValue:)),
                                                            knownGood: event.value("KnownGood") == "true",
                                                            fileExtension: event.value("Extension")?.lowercased())
        let references = ["reference", "references", "url"].compactMap { m.meta[$0] }
        let strings = m.strings.prefix(20).map { Finding.StringMatch(identifier: $0.identifier, offset: $0.offset, text: Self.printable($0.data)) }
        let path = event.value("Path") ?? event.location.path
        var f = Finding(
            rule: .init(id: m.rule, title: m.meta["description"].map { "\(m.rule): \($0)" } ?? m.rule, source: m.source,
                        author: m.meta["author"], references: references,
                        ruleSet: provenance[m.source]?.set, licence: provenance[m.source]?.licence),
            cves: m.tags.filter { $0.uppercased().hasPrefix("CVE") }, attack: ["T1505.003"],
            severity: severity, role: role, timestamp: event.timestamp, source: event.source,
            evidence: .init(location: event.location, excerpt: strings.first.map { "\($0.identifier) at \($0.offset): \($0.text)" } ?? path),
            fields: ["Path": path],
            extracted: ["summary": "YARA rule \(m.rule)\(m.meta["author"].map { " by \($0)" } ?? "") matched \(path)"],
            stage: "persistence")
        f.evidence.matches = Array(strings)
        f.family = family
        f.origin = origin
        return f
    }

    func indicatorFinding(_ hit: Indicator, matched: String, severity: Severity, _ event: Event) -> Finding {
        let path = event.value("Path") ?? event.location.path
        var f = Finding(
            rule: .init(id: "exhunt-ioc-\(hit.kind.rawValue)", title: "File matches a published indicator (\(hit.kind.rawValue))",
                        source: hit.source, references: [hit.source]),
            cves: [], attack: ["T1505.003"], severity: severity, role: weights.indicator(hit.kind.rawValue),
            timestamp: event.timestamp, source: event.source,
            evidence: .init(location: event.location, excerpt: "\(matched) listed by \(hit.source)"),
            fields: ["Path": path],
            extracted: ["summary": "\(path) matches \(matched) from \(hit.source)\(hit.note.isEmpty ? "" : " (\(hit.note))")"],
            stage: "persistence")
        f.origin = FindingOrigin(detector: .indicator, builtin: hit.source.hasPrefix("builtin:"), place: event.value("WebPlace").flatMap(WebPlace.init(rawValue:)))
        return f
    }

    func ipFinding(_ hit: Indicator, address: String, event: Event) -> Finding {
        var excerpt = event.raw
        if excerpt.count > 600 { excerpt = String(excerpt.prefix(600)) + "…" }
        let url = event.value("UrlStem") ?? event.value("cs-uri-stem") ?? "?"
        return Finding(
            rule: .init(id: "exhunt-ioc-ip", title: "Request from a published attacker address", source: hit.source, references: [hit.source]),
            cves: [], attack: ["T1190"], severity: .medium, role: weights.indicator(hit.kind.rawValue),
            timestamp: event.timestamp, source: event.source,
            evidence: .init(location: event.location, excerpt: excerpt),
            fields: ["ClientIpAddress": address, "Url": url],
            extracted: ["summary": "\(address) (listed by \(hit.source)) requested \(url)"],
            stage: "probe")
    }

    /// Matched bytes as text: printable ASCII as is, anything else as `\xNN`.
    static func printable(_ bytes: [UInt8]) -> String {
        bytes.map { (0x20...0x7E).contains($0) && $0 != 0x5C ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
    }

    /// The `filetype` external THOR-style rules read: a coarse type from the first bytes.
    static func fileType(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0x4D, 0x5A]) { return "EXE" }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "ZIP" }
        if bytes.starts(with: [0x4D, 0x44, 0x4D, 0x50]) { return "MDMP" }
        return looksLikeWebPage(Array(bytes.prefix(4096))) ? "ASPX" : ""
    }

    /// ASP.NET markup in the first 4 KiB: a page, whatever its name.
    static func looksLikeWebPage(_ head: [UInt8]) -> Bool {
        head.prefix(4096).withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return false }
            func has(_ finder: LiteralFinder) -> Bool {
                var found = false
                finder.forEachMatch(in: base, count: p.count) { _ in found = true; return p.count }
                return found
            }
            return has(pageDirective) || (has(scriptTag) && has(runat))
        }
    }

    private static let pageDirective = LiteralFinder("<%@")
    private static let scriptTag = LiteralFinder("<script")
    private static let runat = LiteralFinder("runat")

}
