public import Foundation
public import HuntCore

/// What happened to one host, told in stages: first seen, exploitation, persistence (a web shell
/// written), use (the shell requested), post-exploitation; with the attacker addresses, user
/// agents and web shells seen.
public struct IncidentStory: Codable, Sendable {
    public struct Stage: Codable, Sendable {
        public var name: String
        public var first: Date?
        public var last: Date?
        public var count: Int
        /// The first entry's sentence.
        public var example: String
    }

    public var host: String
    public var verdict: Verdict
    public var stages: [Stage]
    public var firstSeen: Date?
    public var lastActivity: Date?
    /// Earliest finding that weighs as compromised.
    public var firstCompromise: Date?
    public var attackerAddresses: [String]
    public var userAgents: [String]
    public var webShells: [String]
    public var cves: [String]

    /// `review`: findings a rule lists for a person to look at (an archive in ProgramData), which
    /// never decide a verdict and tell no story of an intrusion.
    static let order = ["probe", "exploitation", "persistence", "use", "post-exploitation", "review"]
    static let titles = ["probe": "First seen (probes and attempts)", "exploitation": "Exploitation",
                         "persistence": "Persistence (web shell written)", "use": "Web shell used",
                         "post-exploitation": "After the break-in", "review": "For review (does not decide the verdict)"]

    /// A stage's title for a host of this verdict: only a compromised host had a break-in.
    static func title(_ stage: String, verdict: Verdict) -> String {
        if stage == "post-exploitation", verdict != .compromised { return "Signs of an intruder's later steps (not proof of a break-in)" }
        return titles[stage] ?? stage
    }

    public init(host: String, verdict: Verdict, entries: [TimelineEntry]) {
        self.host = host
        self.verdict = verdict
        let relevant = entries.filter { $0.role != .informational && $0.role != .mitigation && $0.severity >= .low }
            .sorted { ($0.timestamp ?? .distantFuture) < ($1.timestamp ?? .distantFuture) }
        stages = Self.order.compactMap { name in
            let list = relevant.filter { $0.stage == name }
            guard !list.isEmpty else { return nil }
            let times = list.compactMap(\.timestamp) + list.compactMap(\.lastSeen)
            let first = list.min { ($0.timestamp ?? .distantFuture) < ($1.timestamp ?? .distantFuture) }
            return Stage(name: Self.title(name, verdict: verdict), first: times.min(), last: times.max(), count: list.reduce(0) { $0 + $1.count },
                         example: first?.message ?? "")
        }
        let times = relevant.compactMap(\.timestamp) + relevant.compactMap(\.lastSeen)
        firstSeen = times.min()
        lastActivity = times.max()
        firstCompromise = relevant.filter { $0.role == .compromised }.compactMap(\.timestamp).min()
        func unique(_ values: [String?]) -> [String] {
            var seen = Set<String>()
            return values.compactMap { $0 }.filter { !$0.isEmpty && seen.insert($0).inserted }
        }
        let hostile = relevant.filter { $0.role == .compromised || $0.role == .attempted }
        attackerAddresses = unique(hostile.map(\.clientAddress))
        userAgents = unique(hostile.map(\.userAgent))
        webShells = unique(relevant.filter { $0.stage == "persistence" && $0.logsource == .evidenceFile }.map(\.url)
                           + relevant.filter { $0.stage == "use" }.map(\.url))
        cves = unique(relevant.flatMap(\.cves)).sorted()
    }

    /// A few plain sentences for a terminal or a manager.
    public var sentences: [String] {
        var out: [String] = []
        for s in stages {
            let when = s.first.map { ISOTime.string($0, milliseconds: false) } ?? "time unknown"
            out.append("\(s.name): \(when)\(s.count > 1 ? " (\(s.count) entries)" : "") - \(s.example)")
        }
        if !attackerAddresses.isEmpty {
            out.append("Attacker addresses: " + attackerAddresses.prefix(8).joined(separator: ", ")
                       + (attackerAddresses.count > 8 ? ", …" : ""))
        }
        if !webShells.isEmpty {
            out.append("Web shells: " + webShells.prefix(6).joined(separator: ", ") + (webShells.count > 6 ? ", …" : ""))
        }
        return out
    }
}
