/// How serious a finding is, in Sigma's `level` vocabulary.
public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case informational, low, medium, high, critical

    private var rank: Int {
        switch self {
        case .informational: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        case .critical: 4
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// How a finding weighs in the verdict. Decided by the verdict policy (`Rules/verdict-policy.yml`),
/// which a rule's own `exhunt.verdict` can inform.
public enum VerdictRole: String, Codable, Sendable, CaseIterable {
    /// Proof that an attack succeeded (exploitation, web shell written or used).
    case compromised
    /// Probes, scans and failed attempts.
    case attempted
    /// Suspicious on its own but common on clean servers (LSASS dumps, archives, third-party
    /// rules): it raises an `attempted` family to `compromised` only at `high` severity or above,
    /// and never makes a verdict alone.
    case supporting
    /// Shown in the timeline, never changes the verdict.
    case informational
    /// A defence found in place (EOMT's URL Rewrite rule): shown as "mitigated from" beside its
    /// family, never changes the verdict.
    case mitigation

    /// `context` was the name of `informational` in earlier reports and rules.
    public init?(name: String) {
        if name == "context" { self = .informational; return }
        self.init(rawValue: name)
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let role = VerdictRole(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown verdict role \(name)"))
        }
        self = role
    }
}

/// One verdict per host.
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case clean, attempted, compromised, inconclusive

    /// For "the worst of": compromised, attempted, inconclusive, clean.
    public var rank: Int {
        switch self {
        case .clean: 0
        case .inconclusive: 1
        case .attempted: 2
        case .compromised: 3
        }
    }
}
