public import Foundation
public import HuntCore
import Yams

/// Gives Windows events their Sigma logsource (service from the channel, category from the
/// event) and the field names SigmaHQ rules use. Loaded from `mappings/windows-events.yml`.
public struct WindowsEventMapping: Sendable {
    struct EventRule: Sendable {
        var when: [String: String]
        var category: String?
        var aliases: [String: String]
        var neverCarries: [String] = []
        var onlyCarriedFields = false
    }

    /// What a mapped source's events can show rules, where the mapping says (Security 4688 as
    /// process_creation): fields its events never carry, and whether a rule is applied only to
    /// events that carry every field it tests.
    public struct SourceLimits: Sendable {
        /// Lowercased.
        public var neverCarries: Set<String>
        public var onlyCarriedFields: Bool
        /// The events the limits are for, for people: `Security 4688`.
        public var events: String

        /// The filter fields (`SigmaRule.negatedFieldNames`) that this source's events never
        /// carry: empty when the rule applies to the source.
        public func missing(in filterFields: Set<String>) -> [String] {
            filterFields.intersection(neverCarries).sorted()
        }
    }

    public private(set) var limits: [LogSource: SourceLimits] = [:]

    var services: [String: String] = [:]
    var events: [EventRule] = []
    /// Also expose `Source Name` as `SourceName`.
    public var stripSpacesFromFieldNames = false

    public init() {}

    public static func load(_ url: URL) throws -> WindowsEventMapping {
        var m = WindowsEventMapping()
        guard let root = try Yams.compose(yaml: String(contentsOf: url, encoding: .utf8))?.mapping else { return m }
        for (k, v) in root["services"]?.mapping ?? [:] {
            if let k = k.string, let v = v.string { m.services[k.lowercased()] = v }
        }
        m.stripSpacesFromFieldNames = root["strip_spaces_from_field_names"]?.bool ?? false
        for item in root["events"]?.sequence ?? [] {
            var when: [String: String] = [:]
            for (k, v) in item["when"]?.mapping ?? [:] { if let k = k.string, let v = v.string { when[k] = v } }
            var aliases: [String: String] = [:]
            for (k, v) in item["aliases"]?.mapping ?? [:] { if let k = k.string, let v = v.string { aliases[k] = v } }
            let never = (item["never_carries"]?.sequence ?? []).compactMap(\.string)
            let rule = EventRule(when: when, category: item["category"]?.string, aliases: aliases,
                                 neverCarries: never, onlyCarriedFields: item["only_carried_fields"]?.bool ?? false)
            m.events.append(rule)
            if !never.isEmpty || rule.onlyCarriedFields, let channel = when["Channel"] {
                let source = LogSource(product: "windows", category: rule.category, service: m.services[channel.lowercased()] ?? channel)
                let events = ([channel] + when.filter { $0.key != "Channel" }.sorted { $0.key < $1.key }.map(\.value)).joined(separator: " ")
                m.limits[source] = SourceLimits(neverCarries: Set(never.map { $0.lowercased() }),
                                                onlyCarriedFields: rule.onlyCarriedFields, events: events)
            }
        }
        m.keyFields = Array(Set(m.events.flatMap { $0.when.keys } + ["Channel"])).sorted()
        return m
    }

    /// The logsources of an event with these fields (one per category it belongs to), and the
    /// alias fields to add.
    public func classify(_ value: (String) -> String?) -> (sources: [LogSource], aliases: [(String, String)]) {
        let c = classification(value)
        return (c.sources, c.aliases.compactMap { alias, from in value(from).map { (alias, $0) } })
    }

    /// The part of `classify` that depends only on the fields rules' `when` clauses test, so a
    /// caller can cache it by those fields' values (`keyFields`).
    public func classification(_ value: (String) -> String?) -> (sources: [LogSource], aliases: [(alias: String, from: String)]) {
        let channel = value("Channel") ?? ""
        let service = services[channel.lowercased()] ?? channel.lowercased()
        var sources: [LogSource] = []
        var aliases: [(alias: String, from: String)] = []
        for rule in events where rule.when.allSatisfy({ value($0.key)?.lowercased() == $0.value.lowercased() }) {
            aliases += rule.aliases.map { ($0.key, $0.value) }
            let source = LogSource(product: "windows", category: rule.category, service: service)
            if !sources.contains(source) { sources.append(source) }
        }
        if sources.isEmpty { sources = [LogSource(product: "windows", service: service)] }
        return (sources, aliases)
    }

    /// The fields `classification` depends on (computed once, at load).
    public private(set) var keyFields: [String] = ["Channel"]
}
