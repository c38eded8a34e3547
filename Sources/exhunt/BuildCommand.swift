import ArgumentParser
import BuiltinRules
import ExchangeBuilds
import Foundation

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Say what is known about an Exchange build: product, CU, update, and patch status per vulnerability family.",
        discussion: """
            Give a four-part build (15.1.2176.2, also zero-padded 15.01.2176.002) for an exact answer, or three parts \
            (15.1.2176, what OWA resource paths show) for the CU level, where a family is `uncertain` when the CU's \
            updates disagree. The table is Rules/exchange/builds.csv; the rule is in Rules/exchange/families.yaml.
            """)

    @Argument(help: "Builds to look up.")
    var builds: [String]

    @Flag(help: "JSON output.")
    var json = false

    func run() throws {
        let knowledge = try BuildKnowledge.load(directory: (try BuiltinRules.directory()).appendingPathComponent("exchange"))
        var out: [String] = []
        for text in builds {
            let a: BuildAssessment
            if let b = ExchangeBuild(text) { a = knowledge.assess(b) }
            else if let l = CULevel(text) { a = knowledge.assess(l) }
            else { throw ValidationError("\(text): not a build number (three or four dot-separated numbers)") }
            out.append(json ? Self.json(a) : Self.text(a, knowledge: knowledge))
        }
        print(out.joined(separator: json ? "\n" : "\n\n"))
    }

    static func text(_ a: BuildAssessment, knowledge: BuildKnowledge) -> String {
        var lines = ["\(a.observed) (\(a.precision == .exact ? "exact build" : "CU level"))"]
        lines.append("  product:  \(a.product ?? "not an Exchange 2010-SE build in the table")")
        if let r = a.release { lines.append("  release:  \(r)") }
        if let k = a.known {
            lines.append("  update:   \(k.update.isEmpty ? "(the CU itself)" : k.update)")
            lines.append("  released: \(k.date)\(k.kb.isEmpty ? "" : "  \(k.kb)")")
        }
        for s in a.statuses {
            let title = knowledge.families.first { $0.name == s.family }?.title ?? s.family
            lines.append("  \(s.family.padding(toLength: 14, withPad: " ", startingAt: 0)) \(s.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(s.note)  [\(title)]")
        }
        for n in a.notes { lines.append("  note: \(n)") }
        return lines.joined(separator: "\n")
    }

    static func json(_ a: BuildAssessment) -> String {
        var m: [String: Any] = ["build": a.observed, "precision": a.precision.rawValue,
                                "product": a.product as Any, "cu": a.release as Any,
                                "status": Dictionary(uniqueKeysWithValues: a.statuses.map { ($0.family, $0.status.rawValue) }),
                                "status_notes": Dictionary(uniqueKeysWithValues: a.statuses.map { ($0.family, $0.note) }),
                                "notes": a.notes]
        if let k = a.known { m["update"] = k.update; m["date"] = k.date; m["kb"] = k.kb }
        let data = (try? JSONSerialization.data(withJSONObject: m.mapValues { $0 is Optional<String> ? ($0 as? String ?? NSNull() as Any) : $0 }, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
