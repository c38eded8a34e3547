import Foundation
import HuntCore
import Sigma
import YARA
import Verdicts

/// The verdict policy applied to the loaded content, once: each Sigma rule's weight and family,
/// and how YARA matches and indicator hits weigh. Findings take their weight from here as they
/// are made, so every report, stream and store sees the same weight.
struct FindingWeights: Sendable {
    let policy: VerdictPolicy
    let judge: HostVerdict
    private let sigma: [String: (role: VerdictRole, family: String?, entry: Int?, builtin: Bool)]
    /// YARA file labels of this exhunt's own rules.
    private let builtinYara: Set<String>

    init(policy: VerdictPolicy, judge: HostVerdict, rules: [SigmaRule], builtinRules: Set<String>, builtinYara: Set<String>) {
        self.policy = policy
        self.judge = judge
        self.builtinYara = builtinYara
        var sigma: [String: (role: VerdictRole, family: String?, entry: Int?, builtin: Bool)] = [:]
        for r in rules {
            let builtin = builtinRules.contains(r.identity)
            let subject = PolicySubject(detector: .sigma, builtin: builtin, id: r.id, tags: r.tags,
                                        level: r.level, declared: r.declaredRole)
            let w = policy.weigh(subject)
            sigma[r.identity] = (w.role, judge.family(declared: r.family, cves: r.cves), w.entry, builtin)
        }
        self.sigma = sigma
    }

    /// The rule's weight, family, and the policy entry that decided the weight.
    func sigma(_ rule: SigmaRule) -> (role: VerdictRole, family: String?, entry: Int?, builtin: Bool) {
        sigma[rule.identity] ?? (.informational, nil, nil, false)
    }

    /// - Parameters: place: the kind of web folder the file lies in; knownGood: one of Exchange's
    ///   own pages by name (Rules/known-good).
    func yara(_ m: YaraMatch, place: WebPlace?, knownGood: Bool, fileExtension: String?)
        -> (role: VerdictRole, severity: Severity, family: String?, origin: FindingOrigin) {
        let severity = policy.yaraSeverity(meta: m.meta)
        let declared = m.meta["exhunt_verdict"].flatMap { VerdictRole(name: $0) }
        let builtin = builtinYara.contains(m.source)
        let subject = PolicySubject(detector: .yara, builtin: builtin, id: m.rule, tags: m.tags,
                                    level: severity, declared: declared, place: place, knownGood: knownGood,
                                    fileExtension: fileExtension)
        let cves = m.tags.filter { $0.uppercased().hasPrefix("CVE") }.map { $0.replacingOccurrences(of: "_", with: "-") }
        return (policy.weigh(subject).role, severity, judge.family(declared: m.meta["exhunt_family"], cves: cves),
                FindingOrigin(detector: .yara, builtin: builtin, place: place))
    }

    func indicator(_ kind: String) -> VerdictRole {
        policy.weigh(PolicySubject(detector: .indicator, builtin: false, id: "exhunt-ioc-\(kind)", indicator: kind)).role
    }
}
