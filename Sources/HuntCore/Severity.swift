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

/// How a rule's findings weigh in the host verdict. Declared by each rule (`exhunt.verdict`).
public enum VerdictRole: String, Codable, Sendable {
    /// Proof that an attack succeeded (exploitation, web shell written or used).
    case compromised
    /// Probes, scans and failed attempts.
    case attempted
    /// Suspicious on its own but common on clean servers (LSASS dumps, archives): it raises an
    /// `attempted` host to `compromised` only at `high` severity or above, and never makes a verdict alone.
    case supporting
    /// Shown in the timeline, never changes the verdict.
    case context
}

/// One verdict per host.
public enum Verdict: String, Codable, Sendable {
    case clean, attempted, compromised, inconclusive
}
