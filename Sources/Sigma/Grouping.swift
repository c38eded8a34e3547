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
        return g
    }

    /// The group-by fields for a hit of `rule` (nil for detectors other than Sigma rules) on an
    /// event of `source`. Empty when nothing applies: all of the rule's hits are one finding.
    public func fields(for rule: SigmaRule?, source: LogSource) -> [String] {
        if let own = rule?.groupBy { return own }
        return entries.first { $0.logsource.admits(source) }?.fields ?? []
    }
}
