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
    private let sigma: [String: (role: VerdictRole, family: String?, entry: Int?)]
    /// YARA file labels of this exhunt's own rules.
    private let builtinYara: Set<String>

    init(policy: VerdictPolicy, judge: HostVerdict, rules: [SigmaRule], builtinRules: Set<String>, builtinYara: Set<String>) {
        self.policy = policy
        self.judge = judge
        self.builtinYara = builtinYara
        var sigma: [String: (role: VerdictRole, family: String?, entry: Int?)] = [:]
        for r in rules {
            let subject = PolicySubject(detector: .sigma, builtin: builtinRules.contains(r.identity), id: r.id, tags: r.tags,
                                        level: r.level, declared: r.declaredRole)
            let w = policy.weigh(subject)
            sigma[r.identity] = (w.role, judge.family(declared: r.family, cves: r.cves), w.entry)
        }
        self.sigma = sigma
    }

    /// The rule's weight, family, and the policy entry that decided the weight.
    func sigma(_ rule: SigmaRule) -> (role: VerdictRole, family: String?, entry: Int?) {
        sigma[rule.identity] ?? (.informational, nil, nil)
    }

    func yara(_ m: YaraMatch) -> (role: VerdictRole, severity: Severity, family: String?) {
        let severity = policy.yaraSeverity(meta: m.meta)
        let declared = m.meta["exhunt_verdict"].flatMap { VerdictRole(name: $0) }
        let subject = PolicySubject(detector: .yara, builtin: builtinYara.contains(m.source), id: m.rule, tags: m.tags,
                                    level: severity, declared: declared)
        let cves = m.tags.filter { $0.uppercased().hasPrefix("CVE") }.map { $0.replacingOccurrences(of: "_", with: "-") }
        return (policy.weigh(subject).role, severity, judge.family(declared: m.meta["exhunt_family"], cves: cves))
    }

    func indicator(_ kind: String) -> VerdictRole {
        policy.weigh(PolicySubject(detector: .indicator, builtin: false, id: "exhunt-ioc-\(kind)", indicator: kind)).role
    }
}
