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

/// A stretch of time with no lines at all from a log source (or from every source a family's
/// coverage may come from), longer than that source's normal quiet time.
public struct CoverageGap: Codable, Sendable, Hashable {
    /// What has no lines: `HttpProxy`, `IIS`, or several joined with `+`.
    public var source: String
    /// The last line before the gap and the first after it (`end` is nil when no line follows:
    /// the logs stop early).
    public var start: Date
    public var end: Date?

    public init(source: String, start: Date, end: Date?) {
        self.source = source
        self.start = start
        self.end = end
    }
}

/// A name the evidence gives the server, and where.
public struct HostName: Codable, Sendable, Hashable {
    public var name: String
    /// `HttpProxy ServerHostName`, `IIS s-computername`, `event log Computer`.
    public var source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

/// A client address the host's web logs (HttpProxy `ClientIpAddress`, IIS `c-ip`) show, with the
/// hours of its first and last line: kept so that indicators learned later can be matched against
/// the host without reading its evidence again (`exhunt case rematch`).
public struct SeenAddress: Codable, Sendable, Hashable {
    public var address: String
    /// The start of the hour of its first and last line.
    public var first: Date?
    public var last: Date?
    public var lines: Int

    public init(address: String, first: Date?, last: Date?, lines: Int) {
        self.address = address
        self.first = first
        self.last = last
        self.lines = lines
    }

    // A scanned host's report holds up to 200,000 of these, most seen once: `last` is written only
    // when it differs from `first`, and `lines` only when it is not 1.
    enum CodingKeys: String, CodingKey { case address, first, last, lines }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        address = try c.decode(String.self, forKey: .address)
        first = try c.decodeIfPresent(Date.self, forKey: .first)
        last = try c.decodeIfPresent(Date.self, forKey: .last) ?? first
        lines = try c.decodeIfPresent(Int.self, forKey: .lines) ?? 1
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encodeIfPresent(first, forKey: .first)
        if last != first { try c.encodeIfPresent(last, forKey: .last) }
        if lines != 1 { try c.encode(lines, forKey: .lines) }
    }
}

/// A client address's first and last hour (since 1970, UTC; nil when lines carry no leading
/// timestamp) and its lines, as a log scanner counts them.
public struct ClientCount: Sendable {
    public var first: Int32?
    public var last: Int32?
    public var lines: Int

    public init(first: Int32?, last: Int32?, lines: Int) {
        self.first = first
        self.last = last
        self.lines = lines
    }
}

/// An Exchange build that wrote logs of this host (`#Version` of Exchange's log headers), and when.
public struct BuildSpan: Codable, Sendable, Hashable {
    /// As Exchange writes it in logs normalised (`15.1.2176.2` for `15.01.2176.002`).
    public var build: String
    /// The earliest and latest line of the files it wrote.
    public var first: Date?
    public var last: Date?
    public var files: Int

    public init(build: String, first: Date?, last: Date?, files: Int) {
        self.build = build
        self.first = first
        self.last = last
        self.files = files
    }
}

/// The verdict for one vulnerability family (ProxyLogon, ProxyShell, …), with the evidence that
/// could show it and what it lacks.
public struct FamilyVerdict: Codable, Sendable {
    /// `proxylogon`, `proxyshell`, …, or `other` for signs of an intrusion no family is named for.
    public var family: String
    public var title: String
    public var verdict: Verdict
    /// False when the family's window begins after the evidence ends: shown, but it does not
    /// decide the host's verdict.
    public var judged: Bool
    /// One sentence per reason, as the host's `verdictReasons`.
    public var reasons: [String]
    /// Where exploitation of this family begins; logs must cover from here for `clean`.
    public var windowStart: Date?
    /// The log sources whose lines count as coverage, and whether they reach back to the window.
    public var coveredBy: [String]
    public var coverageStart: Date?
    /// Stretches inside the window that no covering source has a line for.
    public var gaps: [CoverageGap]
    /// Findings that weigh `compromised` and `attempted`, and the first of each.
    public var compromised: Int
    public var attempted: Int
    public var firstExploitation: Date?
    /// From the builds in the logs: the first time a build patched for this family wrote logs;
    /// `patchedBeforeLogs` when the earliest build seen is already patched.
    public var patchedFrom: Date?
    public var patchedBuild: String?
    public var patchedBeforeLogs: Bool
    /// The build that wrote the logs when the family was first exploited, and its status then.
    public var buildAtExploitation: String?
    public var statusAtExploitation: String?
    /// A mitigation found in the evidence (EOMT's URL Rewrite rule), and since when (its file's time).
    public var mitigatedFrom: Date?
    public var mitigation: String?
    /// The build the logs end on, and what to install when that build is vulnerable to this
    /// family (`Mar21SU (KB5000871)`); nil when it is patched or its status is not known.
    public var lastBuild: String?
    public var install: String?

    public init(family: String, title: String, verdict: Verdict, reasons: [String], windowStart: Date?,
                coveredBy: [String], coverageStart: Date? = nil, gaps: [CoverageGap] = [], compromised: Int = 0, attempted: Int = 0,
                firstExploitation: Date? = nil) {
        self.family = family
        self.title = title
        self.verdict = verdict
        self.judged = true
        self.reasons = reasons
        self.windowStart = windowStart
        self.coveredBy = coveredBy
        self.coverageStart = coverageStart
        self.gaps = gaps
        self.compromised = compromised
        self.attempted = attempted
        self.firstExploitation = firstExploitation
        self.patchedBeforeLogs = false
    }
}

/// A file's times as its file system recorded them on the server: NTFS's `$STANDARD_INFORMATION`
/// (what Windows shows, and what a tool can set) and `$FILE_NAME` (set by the kernel when the name
/// is made or moved: a timestomped file keeps its true creation here). UTC.
public struct FileSystemTimes: Codable, Sendable, Hashable {
    public var created: Date?
    public var modified: Date?
    /// When the file's metadata (its MFT entry) last changed.
    public var changed: Date?
    public var accessed: Date?
    public var nameCreated: Date?
    public var nameModified: Date?
    public var nameChanged: Date?
    public var nameAccessed: Date?

    public init(created: Date? = nil, modified: Date? = nil, changed: Date? = nil, accessed: Date? = nil,
                nameCreated: Date? = nil, nameModified: Date? = nil, nameChanged: Date? = nil, nameAccessed: Date? = nil) {
        self.created = created
        self.modified = modified
        self.changed = changed
        self.accessed = accessed
        self.nameCreated = nameCreated
        self.nameModified = nameModified
        self.nameChanged = nameChanged
        self.nameAccessed = nameAccessed
    }
}

/// The disk image a hunt read, so the report can be defended: its container, its segment files
/// (hashed with `--hash-image`: hashing a 200 GB image is the imager's job, and an E01 carries its
/// own hashes) and the volumes found in it.
public struct ImageRecord: Codable, Sendable {
    public struct Segment: Codable, Sendable {
        public var path: String
        public var size: UInt64
        public var sha256: String?

        public init(path: String, size: UInt64, sha256: String? = nil) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    public struct Volume: Codable, Sendable {
        /// `C`, or `vol<N>` where the letter cannot be told.
        public var name: String
        public var fileSystem: String
        public var offset: UInt64
        /// For a shadow copy (`C-vss1`): the live volume it is a copy of, and when it was made.
        public var shadowCopyOf: String?
        public var created: Date?

        public init(name: String, fileSystem: String, offset: UInt64, shadowCopyOf: String? = nil, created: Date? = nil) {
            self.name = name
            self.fileSystem = fileSystem
            self.offset = offset
            self.shadowCopyOf = shadowCopyOf
            self.created = created
        }
    }

    /// `raw`, `ewf`, `vmdk` or `vhd` (VHD and VHDX).
    public var format: String
    /// The disk's size in bytes.
    public var size: UInt64
    public var segments: [Segment]
    public var volumes: [Volume]
    /// The hashes an E01 records of its media, computed by the imager when it acquired the disk.
    public var recordedMD5: String?
    public var recordedSHA1: String?
    /// With `--verify-image`: the MD5 of the media as read now, and whether it is the recorded one.
    public var computedMD5: String?
    public var verified: Bool?
    /// What the image holds that exhunt does not read (alternate data streams), so no report is silent about it.
    public var notRead: [String]?

    public init(format: String, size: UInt64, segments: [Segment], volumes: [Volume]) {
        self.format = format
        self.size = size
        self.segments = segments
        self.volumes = volumes
    }
}

/// A file whose content was read, so the report can be defended.
public struct ManifestEntry: Codable, Sendable {
    public var path: String
    public var size: UInt64
    /// SHA-256 of the whole file, or nil when only `bytesRead` bytes were read.
    public var sha256: String?
    public var bytesRead: UInt64
    /// The best known time the file was last written on the server, and where that time comes from
    /// (`kape-copy-log`, `zip-ntfs`, `zip-extended-timestamp`, `collection`, `zip-dos-time`; `copy`
    /// when it was recognised as the copy's).
    public var modified: Date?
    public var timeSource: String?
    /// For a file read from a file system in a disk image: its MFT entry (inode) number and the
    /// file system's own times.
    public var entry: UInt64?
    public var fileSystemTimes: FileSystemTimes?
    /// A deleted file of a disk image, read from where its clusters were (nil: not deleted).
    public var deleted: Bool?

    public init(path: String, size: UInt64, sha256: String?, bytesRead: UInt64, modified: Date?, timeSource: String? = nil,
                entry: UInt64? = nil, fileSystemTimes: FileSystemTimes? = nil, deleted: Bool = false) {
        self.deleted = deleted ? true : nil
        self.timeSource = timeSource
        self.entry = entry
        self.fileSystemTimes = fileSystemTimes
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
    /// Where `host` comes from: `--host`, a name in the evidence (`HttpProxy ServerHostName`,
    /// `event log Computer`, …), or `folder name` when the evidence names no server.
    public var hostSource: String
    /// Every name the evidence gives the server, most lines first.
    public var hostNames: [HostName]
    /// The server's own addresses as its logs give them (IIS `s-ip`).
    public var hostAddresses: [HostName]
    /// Distinct client addresses in the web logs, most lines first (bounded; a `client-address-limit`
    /// problem says when more were seen).
    public var clientAddresses: [SeenAddress]
    public var evidenceRoot: String
    /// When the evidence is a disk image: what it is and what was found in it.
    public var image: ImageRecord?
    public var generatedAt: Date
    public var windowStart: Date
    public var verdict: Verdict
    /// One sentence per reason the verdict is what it is.
    public var verdictReasons: [String]
    /// One verdict per vulnerability family; the host's `verdict` is the worst of them.
    public var families: [FamilyVerdict]
    public var coverage: [Coverage]
    /// Per evidence place (HttpProxy, IIS logs, winevt, web roots, …), how many files were read
    /// and how many were not; each unread one is a `not-read` problem saying why.
    public var places: [PlaceCount] = []
    /// Per log source, the stretches with no lines inside the earliest family window.
    public var gaps: [CoverageGap]
    /// The Exchange builds that wrote this host's logs, oldest first.
    public var builds: [BuildSpan]
    /// Said under the verdict, whatever it is, when the logs end on a build vulnerable to some
    /// family: `still unpatched for ProxyShell (2021): …; install …`.
    public var unpatched: String?
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
        /// SHA-256 over the loaded rules, YARA sources and indicators: two runs with the same digest
        /// judged with the same content.
        public var rulesDigest: String?

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

    /// Whether anything in the evidence was Exchange's, IIS's or Windows': a log, an event, a file
    /// of an evidence place, or a finding. A hunt of something else answers nothing.
    public var hasEvidence: Bool {
        !coverage.isEmpty || places.contains { $0.read + $0.notRead > 0 } || !findings.isEmpty
    }

    private enum CodingKeys: String, CodingKey {
        case tool, version, host, hostSource, hostNames, hostAddresses, clientAddresses, evidenceRoot, image, generatedAt, windowStart, verdict, verdictReasons
        case families, coverage, places, gaps, builds, unpatched, findings, problems, manifest, stats, complete
    }

    /// The sentence for `unpatched`, from the families' `install`.
    public static func unpatchedSentence(_ families: [FamilyVerdict]) -> String? {
        let open = families.filter { $0.install != nil }
        guard let build = open.compactMap(\.lastBuild).first else { return nil }
        // Families come oldest first, and security updates are cumulative: the last one's fix is the one to install.
        let names = open.map { f in f.title.range(of: " (").map { String(f.title[..<$0.lowerBound]) } ?? f.title }
        return "still unpatched for \(names.joined(separator: ", ")): its logs end on build \(build); install \(open.last?.install ?? "the latest security update")"
            + " or later (security updates are cumulative; a CU without it needs a supported CU first)"
    }

    /// Reports written before the per-family verdicts, gaps, builds and host identity existed
    /// still decode: what they lack is empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tool = try c.decode(String.self, forKey: .tool)
        version = try c.decode(String.self, forKey: .version)
        host = try c.decode(String.self, forKey: .host)
        hostSource = try c.decodeIfPresent(String.self, forKey: .hostSource) ?? "folder name"
        hostNames = try c.decodeIfPresent([HostName].self, forKey: .hostNames) ?? []
        hostAddresses = try c.decodeIfPresent([HostName].self, forKey: .hostAddresses) ?? []
        clientAddresses = try c.decodeIfPresent([SeenAddress].self, forKey: .clientAddresses) ?? []
        evidenceRoot = try c.decode(String.self, forKey: .evidenceRoot)
        image = try c.decodeIfPresent(ImageRecord.self, forKey: .image)
        generatedAt = try c.decode(Date.self, forKey: .generatedAt)
        windowStart = try c.decode(Date.self, forKey: .windowStart)
        verdict = try c.decode(Verdict.self, forKey: .verdict)
        verdictReasons = try c.decode([String].self, forKey: .verdictReasons)
        families = try c.decodeIfPresent([FamilyVerdict].self, forKey: .families) ?? []
        coverage = try c.decode([Coverage].self, forKey: .coverage)
        places = try c.decodeIfPresent([PlaceCount].self, forKey: .places) ?? []
        gaps = try c.decodeIfPresent([CoverageGap].self, forKey: .gaps) ?? []
        builds = try c.decodeIfPresent([BuildSpan].self, forKey: .builds) ?? []
        unpatched = try c.decodeIfPresent(String.self, forKey: .unpatched) ?? Self.unpatchedSentence(families)
        findings = try c.decode([Finding].self, forKey: .findings)
        problems = try c.decode([Problem].self, forKey: .problems)
        manifest = try c.decode([ManifestEntry].self, forKey: .manifest)
        stats = try c.decode(Stats.self, forKey: .stats)
        complete = try c.decodeIfPresent(Bool.self, forKey: .complete) ?? true
    }

    public init(tool: String = "exhunt", version: String, host: String, hostSource: String = "folder name", hostNames: [HostName] = [],
                hostAddresses: [HostName] = [], clientAddresses: [SeenAddress] = [], evidenceRoot: String, generatedAt: Date,
                windowStart: Date, verdict: Verdict, verdictReasons: [String], families: [FamilyVerdict] = [],
                coverage: [Coverage], gaps: [CoverageGap] = [], builds: [BuildSpan] = [],
                findings: [Finding], problems: [Problem], manifest: [ManifestEntry], stats: Stats, complete: Bool = true) {
        self.hostSource = hostSource
        self.hostNames = hostNames
        self.hostAddresses = hostAddresses
        self.clientAddresses = clientAddresses
        self.families = families
        self.gaps = gaps
        self.builds = builds
        self.unpatched = Self.unpatchedSentence(families)
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
