public import Foundation

/// Everything a hunt needs to know before it starts.
public struct HuntConfiguration: Sendable {
    /// The evidence folder or .zip.
    public var evidence: URL
    /// Extra Sigma rule folders or files (`--rules`), loaded after the built-in rules.
    public var ruleDirectories: [URL] = []
    /// Skip the built-in rules (for testing a rule pack alone).
    public var builtinRules = true
    /// Host name for the report; nil takes the evidence folder's name.
    public var host: String?
    /// The exploitation window starts here: logs must reach back to it for a `clean` verdict.
    /// 2021-01-03 is the earliest ProxyLogon exploitation reported (Volexity, Microsoft).
    public var windowStart = Date(timeIntervalSince1970: 1_609_632_000)
    /// Parallel workers; defaults to the number of cores.
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    /// Files larger than this are not read for content checks and YARA (web shells are small;
    /// compiled page DLLs a few hundred KB). Logs are always read whole.
    public var contentLimit: UInt64 = 16 << 20
    /// Content-check and YARA-scan every file of the evidence, not only web folders, `C:\root`,
    /// `Windows\Temp` and `ProgramData`.
    public var scanAll = false
    /// Match indicator IP addresses against client addresses in HttpProxy and IIS logs.
    public var matchAddresses = true
    /// Compute SHA-256 of every file read for the manifest. Off only for fast triage.
    public var hashFiles = true
    /// Called from worker threads as files finish.
    public var progress: (@Sendable (Progress) -> Void)?

    public struct Progress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: UInt64
        public var bytesTotal: UInt64
    }

    public init(evidence: URL) { self.evidence = evidence }
}
