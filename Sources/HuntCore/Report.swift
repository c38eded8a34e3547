public import Foundation

/// How far back and forward one log source reaches.
public struct Coverage: Codable, Sendable {
    /// `HttpProxy/Ecp`, `ECP Server`, `IIS W3SVC1`, …
    public var source: String
    /// The log source of the whole logs counted here; nil for extracts (rows someone chose) and
    /// event logs (each record has its own).
    public var logsource: LogSource?
    public var files: Int
    public var lines: Int
    public var bytes: UInt64
    public var earliest: Date?
    public var latest: Date?
    /// `full` when the source starts on or before the window start and ends after it,
    /// `partial` when it ends after the window start but starts later, `none` otherwise.
    public var window: String

    public init(source: String, logsource: LogSource? = nil, files: Int = 0, lines: Int = 0, bytes: UInt64 = 0,
                earliest: Date? = nil, latest: Date? = nil, window: String = "none") {
        self.source = source
        self.logsource = logsource
        self.files = files
        self.lines = lines
        self.bytes = bytes
        self.earliest = earliest
        self.latest = latest
        self.window = window
    }
}

/// A file whose content was read, so the report can be defended.
public struct ManifestEntry: Codable, Sendable {
    public var path: String
    public var size: UInt64
    /// SHA-256 of the whole file, or nil when only `bytesRead` bytes were read.
    public var sha256: String?
    public var bytesRead: UInt64
    public var modified: Date?

    public init(path: String, size: UInt64, sha256: String?, bytesRead: UInt64, modified: Date?) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.bytesRead = bytesRead
        self.modified = modified
    }
}

/// The whole result of hunting one host's evidence. This is the `--json` schema (see README).
public struct HostReport: Codable, Sendable {
    public var tool: String
    public var version: String
    public var host: String
    public var evidenceRoot: String
    public var generatedAt: Date
    public var windowStart: Date
    public var verdict: Verdict
    /// One sentence per reason the verdict is what it is.
    public var verdictReasons: [String]
    public var coverage: [Coverage]
    public var findings: [Finding]
    public var problems: [Problem]
    public var manifest: [ManifestEntry]
    public var stats: Stats
    /// False in a report written while the hunt was still running, or when it was interrupted:
    /// what it holds was found, but files may be missing.
    public var complete: Bool

    public struct Stats: Codable, Sendable {
        public var files: Int
        public var bytes: UInt64
        public var logLines: Int
        public var rulesLoaded: Int
        public var seconds: Double
        /// False when `--no-hash` left the manifest without SHA-256 values.
        public var hashed: Bool
        /// Hits before aggregation (each is in `--hits`; findings count them in `count`).
        public var hits: Int

        public init(files: Int, bytes: UInt64, logLines: Int, rulesLoaded: Int, hashed: Bool = true, seconds: Double, hits: Int = 0) {
            self.hits = hits
            self.hashed = hashed
            self.files = files
            self.bytes = bytes
            self.logLines = logLines
            self.rulesLoaded = rulesLoaded
            self.seconds = seconds
        }
    }

    public init(tool: String = "exhunt", version: String, host: String, evidenceRoot: String, generatedAt: Date,
                windowStart: Date, verdict: Verdict, verdictReasons: [String], coverage: [Coverage],
                findings: [Finding], problems: [Problem], manifest: [ManifestEntry], stats: Stats, complete: Bool = true) {
        self.complete = complete
        self.tool = tool
        self.version = version
        self.host = host
        self.evidenceRoot = evidenceRoot
        self.generatedAt = generatedAt
        self.windowStart = windowStart
        self.verdict = verdict
        self.verdictReasons = verdictReasons
        self.coverage = coverage
        self.findings = findings
        self.problems = problems
        self.manifest = manifest
        self.stats = stats
    }
}
