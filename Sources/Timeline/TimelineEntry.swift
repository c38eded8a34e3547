public import Foundation
public import HuntCore

/// One line of a timeline: something that happened on a host, when, where it was seen, and what
/// it means in one sentence.
public struct TimelineEntry: Codable, Sendable {
    public var host: String
    public var timestamp: Date?
    /// One human sentence.
    public var message: String
    /// What the time is (Timesketch's `timestamp_desc`): `HTTP Request`, `Log Entry`, `File Modified`.
    public var timestampDescription: String
    public var ruleID: String
    public var ruleTitle: String
    public var ruleSource: String
    public var ruleAuthor: String?
    public var cves: [String]
    public var attack: [String]
    public var severity: Severity
    public var role: VerdictRole
    public var stage: String
    /// The logsource or file class the entry came from (`exchange/httpproxy`, `exhunt/evidence-file`).
    public var source: String
    public var logsource: LogSource
    public var path: String
    public var line: Int?
    public var offset: UInt64?
    public var sha256: String?
    public var clientAddress: String?
    public var userAgent: String?
    public var url: String?
    public var excerpt: String
    /// How many hits the entry's finding stands for, and the last one's time.
    public var count: Int
    public var lastSeen: Date?

    /// The timeline entry for one finding of `host`.
    public init(_ f: Finding, host: String) {
        self.host = host
        timestamp = f.timestamp
        // The policy's second look, when it changed the weight, goes with the sentence (HTML, CSV, dashboard).
        message = (f.extracted["summary"] ?? f.rule.title) + (f.reweighed.map { " (weighs \(f.role.rawValue): \($0))" } ?? "")
        // One probe from many addresses: the first hit's sentence, then how many sent it.
        // (One address: the sentence already names it.)
        if let spread = f.spread, spread.distinct > 1 {
            message += " (the first of \(Finding.Spread.grouped(f.count)) hits, \(spread.sentence()))"
        }
        timestampDescription = f.logsource == .evidenceFile ? "File Modified"
            : f.logsource == .httpProxy || f.logsource.category == "webserver" ? "HTTP Request" : "Log Entry"
        ruleID = f.rule.id
        ruleTitle = f.rule.title
        ruleSource = f.rule.source
        ruleAuthor = f.rule.author
        cves = f.cves
        attack = f.attack
        severity = f.severity
        role = f.role
        stage = f.stage ?? "other"
        source = f.source
        logsource = f.logsource
        path = f.evidence.path
        line = f.evidence.line
        offset = f.evidence.offset
        sha256 = f.evidence.sha256
        func field(_ names: [String]) -> String? {
            for n in names { if let v = f.fields.first(where: { $0.key.lowercased() == n.lowercased() })?.value, !v.isEmpty { return v } }
            return nil
        }
        clientAddress = field(["ClientIpAddress", "c-ip"])
        userAgent = field(["UserAgent", "cs-user-agent", "cs(User-Agent)"])
        url = field(["UrlStem", "cs-uri-stem", "Url", "Path"])
        excerpt = f.evidence.excerpt
        count = f.count
        lastSeen = f.lastSeen
    }
}
