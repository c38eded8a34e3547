public import HuntCore
import Foundation

extension VerdictPolicy {
    /// The policy's second look (`second_look` in Rules/verdict-policy.yml), once every file is
    /// read: a finding about a file of a web folder takes another weight when the file as a whole
    /// says more than the match did. A third-party rule that matches one of Exchange's files as
    /// shipped is wrong about it; a third-party match on another site's page decides only when a
    /// second, independent signal names the same page.
    ///
    /// - Parameter knownGood: evidence paths of files whose hash is in a baseline of an installed
    ///   build, with the builds in words.
    /// A pure function of the findings: the same findings give the same weights, whichever order.
    public func secondLook(_ findings: [Finding], knownGood: [String: String]) -> [Finding] {
        guard !secondLook.isEmpty else { return findings }
        var signals: [String: Set<String>] = [:]
        if !corroboratedBy.isEmpty {
            for f in findings {
                guard let s = Self.subject(f, knownGood: knownGood), let file = Self.file(f),
                      corroboratedBy.contains(where: { $0.matches(s) }) else { continue }
                signals[file, default: []].insert(f.rule.id)
            }
        }
        return findings.map { f in
            guard let s = Self.subject(f, knownGood: knownGood), let file = Self.file(f) else { return f }
            for look in secondLook where look.finding.matches(s) {
                let reason: String
                switch look.when {
                case .knownGood:
                    guard let builds = knownGood[file] else { continue }
                    reason = "\(look.why) (\(builds))"
                case .corroborated:
                    let others = (signals[file] ?? []).subtracting([f.rule.id]).sorted()
                    guard !others.isEmpty else { continue }
                    reason = "\(look.why): \(others.prefix(5).joined(separator: ", "))"
                }
                var g = f
                if g.role != look.weight {
                    g.role = look.weight
                    g.reweighed = reason
                }
                return g
            }
            return f
        }
    }

    /// The file a finding is about: a page its requests name (`PagePath`), else the file it matched.
    static func file(_ f: Finding) -> String? {
        f.fields["PagePath"] ?? (f.origin?.place != nil ? f.evidence.path : nil)
    }

    static func subject(_ f: Finding, knownGood: [String: String]) -> PolicySubject? {
        guard let o = f.origin else { return nil }
        let path = file(f)
        let name = path.map { $0.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? $0 }
        let ext = name.flatMap { n in n.lastIndex(of: ".").map { n[n.index(after: $0)...].lowercased() } }
        return PolicySubject(detector: o.detector, builtin: o.builtin, id: f.rule.id, level: f.severity, place: o.place,
                             knownGood: path.map { knownGood[$0] != nil } ?? false, fileExtension: ext)
    }
}
