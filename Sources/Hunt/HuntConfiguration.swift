public import Foundation
public import HuntCore
public import Findings

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
    /// The earliest exploitation window, for the coverage table: ProxyLogon's 2021-01-03, the
    /// earliest exploitation reported (Volexity, Microsoft). Each family has its own window
    /// (`Rules/exchange/families.yaml`).
    public var windowStart = Date(timeIntervalSince1970: 1_609_632_000)
    /// `--window-start`: every family's window starts here instead of at its own start.
    public var windowOverride: Date? {
        didSet { if let windowOverride { windowStart = windowOverride } }
    }
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
    /// Count the client addresses of HttpProxy and IIS logs for the report (`clientAddresses`), so
    /// indicators learned later can be matched against them. Off when nothing will read the report
    /// but the console: the counting is a tenth of a log hunt's time.
    public var keepClientAddresses = true
    /// Compute SHA-256 of every file read for the manifest. Off only for fast triage.
    public var hashFiles = true
    /// For a disk image: SHA-256 of its segment files too (`--hash-image`).
    public var hashImage = false
    /// For a disk image: the MD5 of its media, compared with the one an E01 records (`--verify-image`).
    public var verifyImage = false
    /// How many findings, samples and problems the report keeps (memory is bounded by these).
    public var limits = FindingsSink.Limits()
    /// Where every single hit goes as it is found (`--hits`, Test-ProxyLogon's files).
    public var streams: [any HitStream] = []
    /// Called with the report so far (`complete` false) every `checkpointInterval` seconds while
    /// the hunt runs, so an interrupted hunt leaves what it found.
    public var checkpoint: (@Sendable (HostReport) -> Void)?
    public var checkpointInterval: TimeInterval = 10
    /// Set to stop the hunt early (an interrupt): files under way finish, the report says it is
    /// incomplete.
    public var cancellation = HuntCancellation()
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

/// A flag an interrupt handler sets and the hunt reads.
public final class HuntCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var handlers: [@Sendable () -> Void] = []

    public init() {}

    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    public func cancel() {
        lock.lock()
        cancelled = true
        let run = handlers
        handlers = []
        lock.unlock()
        for h in run { h() }
    }

    /// Runs `handler` on cancellation (at once if already cancelled).
    func onCancel(_ handler: @escaping @Sendable () -> Void) {
        lock.lock()
        if cancelled { lock.unlock(); handler(); return }
        handlers.append(handler)
        lock.unlock()
    }
}
