public import Foundation
public import HuntCore
import Yams

/// Which fields make two hits of one rule one finding, per log source (`Rules/grouping.yml`),
/// unless the rule says (`exhunt.group_by`).
public struct Grouping: Sendable {
    struct Entry: Sendable {
        var logsource: LogSource
        var fields: [String]
    }

    var entries: [Entry] = []

    /// How hits of a probe-class rule are grouped instead (`aggregate` in Rules/grouping.yml):
    /// by `fields` alone, the distinct values of `counted` counted in the finding.
    public struct Aggregate: Sendable {
        public var fields: [String]
        public var counted: String
        var logsource: LogSource
        var weights: Set<VerdictRole>
    }

    var aggregates: [Aggregate] = []

    public init() {}

    public static func load(_ url: URL) throws -> Grouping {
        let text = try String(contentsOf: url, encoding: .utf8)
        guard YAMLNesting.depth(text) <= YAMLNesting.limit else {
            throw SigmaError(file: url.path, reason: .invalid("YAML nested more than \(YAMLNesting.limit) levels deep"))
        }
        var g = Grouping()
        guard let root = try Yams.compose(yaml: text)?.mapping else { return g }
        for item in root["defaults"]?.sequence ?? [] {
            guard let fields = item["group_by"]?.sequence?.compactMap(\.string), !fields.isEmpty else {
                throw SigmaError(file: url.path, reason: .invalid("each default needs group_by: a list of field names"))
            }
            g.entries.append(Entry(logsource: RuleLoader.logsource(item["logsource"]), fields: fields))
        }
        for item in root["aggregate"]?.sequence ?? [] {
            guard let fields = item["group_by"]?.sequence?.compactMap(\.string),
                  let counted = item["count"]?.string, !counted.isEmpty else {
                throw SigmaError(file: url.path, reason: .invalid("each aggregate needs group_by: a list of field names, and count: a field name"))
            }
            var weights = Set<VerdictRole>()
            for w in item["weight"]?.sequence ?? [] {
                guard let name = w.string, let role = VerdictRole(name: name) else {
                    throw SigmaError(file: url.path, reason: .invalid("aggregate weight \(w.string ?? "?") is not a weight"))
                }
                weights.insert(role)
            }
            guard !weights.isEmpty else {
                throw SigmaError(file: url.path, reason: .invalid("each aggregate needs weight: the weights whose findings it groups"))
            }
            g.aggregates.append(Aggregate(fields: fields, counted: counted, logsource: RuleLoader.logsource(item["logsource"]), weights: weights))
        }
        return g
    }

    /// Every field an aggregate entry for `source` reads (its group-by fields and the counted
    /// one), so readers that decode only the fields someone reads decode these too.
    public func aggregateFields(source: LogSource) -> Set<String> {
        var out = Set<String>()
        for a in aggregates where a.logsource.admits(source) {
            out.formUnion(a.fields)
            out.insert(a.counted)
        }
        return out
    }

    /// How a hit of `rule`, weighing `weight`, on an event of `source` is aggregated; nil when it is
    /// grouped as usual (a rule's own `exhunt.group_by` always wins).
    public func aggregate(for rule: SigmaRule, source: LogSource, weight: VerdictRole) -> Aggregate? {
        guard rule.groupBy == nil else { return nil }
        return aggregates.first { $0.weights.contains(weight) && $0.logsource.admits(source) }
    }

    /// The group-by fields for a hit of `rule` (nil for detectors other than Sigma rules) on an
    /// event of `source`. Empty when nothing applies: all of the rule's hits are one finding.
    public func fields(for rule: SigmaRule?, source: LogSource) -> [String] {
        if let own = rule?.groupBy { return own }
        return entries.first { $0.logsource.admits(source) }?.fields ?? []
    }
}
