public import Foundation

/// What a detector concluded about one event or file.
public struct Finding: Codable, Sendable {
    public struct Rule: Codable, Sendable, Hashable {
        public var id: String
        public var title: String
        /// The rule file, relative to its rule folder (`builtin:` for shipped rules).
        public var source: String
        public var author: String?
        public var references: [String]
        /// For a rule of a downloaded third-party set: the set (`sigma@8eaafff1f284`) and its
        /// licence, which asks that its authorship travel with every match (DRL 1.1).
        public var ruleSet: String?
        public var licence: String?

        public init(id: String, title: String, source: String, author: String? = nil, references: [String] = [],
                    ruleSet: String? = nil, licence: String? = nil) {
            self.id = id
            self.title = title
            self.source = source
            self.author = author
            self.references = references
            self.ruleSet = ruleSet
            self.licence = licence
        }
    }

    public struct Evidence: Codable, Sendable {
        public var path: String
        public var line: Int?
        public var offset: UInt64?
        /// For Windows events: the record's `EventRecordID`.
        public var record: UInt64?
        public var excerpt: String
        public var sha256: String?
        /// For files: size and modification time as found in the collection.
        public var size: UInt64?
        public var modified: Date?
        /// For files: the time the file had in the collection when it is the copy's, not the
        /// server's (the finding then has no `timestamp`).
        public var copyTime: Date?
        /// For YARA findings: the strings that matched, with their offsets in the file.
        public var matches: [StringMatch]?

        public init(location: EvidenceLocation, excerpt: String, sha256: String? = nil) {
            self.path = location.path
            self.line = location.line
            self.offset = location.offset
            self.record = location.record
            self.excerpt = excerpt
            self.sha256 = sha256
        }
    }

    /// A matched string: its identifier, where it is, and the matched bytes as text (non-printable
    /// bytes as `\xNN`).
    public struct StringMatch: Codable, Sendable, Hashable {
        public var identifier: String
        public var offset: Int64
        public var text: String

        public init(identifier: String, offset: Int64, text: String) {
            self.identifier = identifier
            self.offset = offset
            self.text = text
        }
    }

    public var rule: Rule
    public var cves: [String]
    public var attack: [String]
    public var severity: Severity
    public var role: VerdictRole
    /// The vulnerability family the finding shows (`proxylogon`, `proxyshell`, …: its rule's
    /// `exhunt.family`, else its CVEs), nil for signs of any intrusion (web shells, dumps).
    public var family: String?
    public var timestamp: Date?
    /// The log source or file class the finding came from, as a short name (`exchange/httpproxy`,
    /// `iis/webserver`, …) and as the value (`logsource`) code compares.
    public var source: String
    public var logsource: LogSource
    public var evidence: Evidence
    /// Fields the rule asked to show (`fields:` in Sigma), in the rule's order.
    public var fields: [String: String]
    /// Values the rule extracted with `exhunt.extract` (for example the path a web shell was written to).
    public var extracted: [String: String]
    /// Name of the Test-ProxyLogon output this finding belongs to, if any (`exhunt.tpl`).
    public var tpl: String?
    /// Where in an intrusion this finding sits: `probe`, `exploitation`, `persistence`, `use` or
    /// `post-exploitation` (rule's `exhunt.stage`, else from its ATT&CK tactic).
    public var stage: String?
    /// How many hits this finding stands for: hits of one rule with the same `group` values are one
    /// finding (`exhunt.group_by`, or the log source's default in `Rules/grouping.yml`).
    public var count: Int
    /// The group-by field names and the values that make this finding's hits one thing.
    public var group: [String: String]
    /// The last hit's time; `timestamp` is the first's.
    public var lastSeen: Date?
    /// Where the first few hits are (the first is `evidence`'s location).
    public var samples: [EvidenceLocation]
    /// The detector, rule set and web folder behind the finding, for the policy's second look.
    public var origin: FindingOrigin?
    /// Why the policy's second look changed the finding's weight (nil: it did not).
    public var reweighed: String?
    /// For a finding that stands for one probe sent from many addresses (`aggregate` in
    /// `Rules/grouping.yml`): how many distinct values of the counted field its hits had, and
    /// which had the most hits. Nil for findings grouped per attacker.
    public var spread: Spread?

    /// How many distinct values (client addresses) a finding's hits came from.
    public struct Spread: Codable, Sendable, Equatable {
        /// The field counted (`ClientIpAddress`, `c-ip`).
        public var field: String
        /// Distinct values: exact when `estimated` is false, else a HyperLogLog estimate
        /// (about 1% standard error).
        public var distinct: Int
        public var estimated: Bool
        /// The values with the most hits, most first.
        public var top: [Count]
        /// Whether `top`'s hits are exact. False when there were more values than are tracked one
        /// by one (4,096): each `hits` is then a lower bound, and any value that sent more than
        /// one in 4,096 of the hits is sure to be listed if it is among the most.
        public var exact: Bool

        public struct Count: Codable, Sendable, Equatable {
            public var value: String
            public var hits: Int
            public init(value: String, hits: Int) {
                self.value = value
                self.hits = hits
            }
        }

        public init(field: String, distinct: Int, estimated: Bool, top: [Count], exact: Bool) {
            self.field = field
            self.distinct = distinct
            self.estimated = estimated
            self.top = top
            self.exact = exact
        }

        /// "from about 399,120 distinct ClientIpAddress values (estimated); most hits: 198.18.0.1 (12), …"
        /// for reports; `shown` values at most.
        public func sentence(shown: Int = 3) -> String {
            let most = top.prefix(shown).map { "\($0.value) (\($0.hits))" }.joined(separator: ", ")
            return "from \(estimated ? "about " : "")\(Self.grouped(distinct)) distinct \(field) value\(distinct == 1 ? "" : "s")"
                + (estimated ? " (estimated)" : "") + (most.isEmpty || distinct < 2 ? "" : "; most hits: " + most)
                + (exact || most.isEmpty ? "" : " (at least)")
        }

        /// Thousands grouped by hand: the same text whatever the machine's locale.
        public static func grouped(_ n: Int) -> String {
            var digits = Array(String(n))
            var i = digits.count - 3
            while i > 0, digits[i - 1] != "-" {
                digits.insert(",", at: i)
                i -= 3
            }
            return String(digits)
        }
    }

    public init(rule: Rule, cves: [String], attack: [String], severity: Severity, role: VerdictRole,
                timestamp: Date?, source: LogSource, evidence: Evidence,
                fields: [String: String] = [:], extracted: [String: String] = [:], tpl: String? = nil, stage: String? = nil) {
        self.rule = rule
        self.cves = cves
        self.attack = attack
        self.severity = severity
        self.role = role
        self.family = nil
        self.timestamp = timestamp
        self.source = source.name
        self.logsource = source
        self.evidence = evidence
        self.fields = fields
        self.extracted = extracted
        self.tpl = tpl
        self.stage = stage
        self.count = 1
        self.group = [:]
        self.lastSeen = timestamp
        self.samples = [location(evidence)]
    }
}

private func location(_ e: Finding.Evidence) -> EvidenceLocation {
    EvidenceLocation(path: e.path, line: e.line, offset: e.offset, record: e.record)
}

/// Where every single hit goes as it is found (`--hits FILE.jsonl`, Test-ProxyLogon's CSV files),
/// while findings are aggregated. Called from any worker thread; each stream serialises itself.
public protocol HitStream: Sendable {
    /// One hit, before aggregation.
    func hit(_ finding: Finding) throws
    /// The hunt is over (or was interrupted: `report.complete` says which).
    func finish(_ report: HostReport) throws
}

/// Unreadable or malformed input, located. The hunt goes on; the report says what it could not read.
public struct Problem: Codable, Sendable, Hashable {
    public enum Level: String, Codable, Sendable { case warning, error }

    public var level: Level
    /// A stable short code (`line-too-long`, `invalid-utf8`, `unreadable`, …).
    public var code: String
    public var message: String
    public var path: String?
    public var line: Int?
    public var offset: UInt64?

    public init(_ level: Level, code: String, message: String, path: String? = nil, line: Int? = nil, offset: UInt64? = nil) {
        self.level = level
        self.code = code
        self.message = message
        self.path = path
        self.line = line
        self.offset = offset
    }
}
