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
    }

    var services: [String: String] = [:]
    var events: [EventRule] = []

    public init() {}

    public static func load(_ url: URL) throws -> WindowsEventMapping {
        var m = WindowsEventMapping()
        guard let root = try Yams.compose(yaml: String(contentsOf: url, encoding: .utf8))?.mapping else { return m }
        for (k, v) in root["services"]?.mapping ?? [:] {
            if let k = k.string, let v = v.string { m.services[k.lowercased()] = v }
        }
        for item in root["events"]?.sequence ?? [] {
            var when: [String: String] = [:]
            for (k, v) in item["when"]?.mapping ?? [:] { if let k = k.string, let v = v.string { when[k] = v } }
            var aliases: [String: String] = [:]
            for (k, v) in item["aliases"]?.mapping ?? [:] { if let k = k.string, let v = v.string { aliases[k] = v } }
            m.events.append(EventRule(when: when, category: item["category"]?.string, aliases: aliases))
        }
        return m
    }

    /// The logsource of an event with these fields, and the alias fields to add.
    public func classify(_ value: (String) -> String?) -> (source: LogSource, aliases: [(String, String)]) {
        let channel = value("Channel") ?? ""
        let service = services[channel.lowercased()] ?? channel.lowercased()
        for rule in events where rule.when.allSatisfy({ value($0.key)?.caseInsensitiveCompare($0.value) == .orderedSame }) {
            let aliases = rule.aliases.compactMap { alias, from in value(from).map { (alias, $0) } }
            return (LogSource(product: "windows", category: rule.category, service: service), aliases)
        }
        return (LogSource(product: "windows", service: service), [])
    }
}
