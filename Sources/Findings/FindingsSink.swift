public import Foundation
public import HuntCore
import Crypto

/// Where the matchers put what they find (ripgrep's sink): hits are aggregated as they arrive,
/// one finding per rule and group key, with the count, the first and last time and the first few
/// locations; every single hit also goes to the hit streams (`--hits`, Test-ProxyLogon's CSV
/// files). Problems, coverage and the manifest of read files are collected here too, so a
/// snapshot at any moment is a report of what has been found so far.
///
/// Memory is bounded by design: at most `Limits.groups` findings (`groupsPerRule` per rule; hits
/// beyond fold into one finding per rule, and the report says so) and `Limits.problems` problems,
/// whatever the number of hits.
///
/// Thread-safe: every worker thread records into one sink.
public final class FindingsSink: @unchecked Sendable {
    public struct Limits: Sendable {
        /// Locations kept per finding.
        public var samples = 5
        public var groupsPerRule = 5_000
        public var groups = 50_000
        /// Findings that count their senders (a probe's targets) per rule and in all: each holds
        /// up to ~130 KiB of counters, so they are fewer.
        public var aggregatedGroupsPerRule = 100
        public var aggregatedGroups = 200
        public var problems = 10_000
        /// Hours with log lines, over every source (a source spanning 2021 to today is ~50,000).
        public var activityHours = 500_000
        /// Distinct client addresses kept for later matching (`clientAddresses`).
        public var clientAddresses = 200_000
        public init() {}
    }

    /// The counts of what went through the sink.
    public struct Totals: Sendable {
        public var hits = 0
        public var findings = 0
        public var folded = 0
    }

    private struct Key: Hashable {
        var rule: String
        var values: [String]
    }

    private let lock = NSLock()
    private let limits: Limits
    private let streams: [any HitStream]
    /// A group's finding, kept by reference so that counting a hit never copies it.
    private final class Group {
        var finding: Finding
        /// For an aggregated finding: the distinct values of its counted field.
        var spread: SpreadCounter?
        init(_ f: Finding) { finding = f }
    }

    private var groups: [Key: Group] = [:]
    private var groupsOfRule: [String: Int] = [:]
    private var aggregatedGroups = 0
    /// Per rule: hits folded into its overflow finding because it had too many groups.
    private var folded: [String: Int] = [:]
    private var hits = 0
    private var problems: [Problem] = []
    private var droppedProblems: [String: Int] = [:]
    private var streamFailures: [String] = []
    private var coverage: [String: Coverage] = [:]
    private var manifest: [ManifestEntry] = []
    private var activity: [LogSource: Set<Int32>] = [:]
    private var activityHours = 0
    private var activityDropped = false
    private var builds: [String: BuildSpan] = [:]
    private var hostNames: [HostName: Int] = [:]
    private var hostAddresses: Set<HostName> = []
    private var clients: [String: ClientCount] = [:]
    private var clientsDropped = 0
    private var reading: [EvidencePlace: (read: Int, notRead: Int)] = [:]
    private var unread: [UnreadFile] = []

    /// The value a group key holds when a rule had more distinct groups than the limits allow.
    public static let overflowValue = "(further values, folded)"

    public init(streams: [any HitStream] = [], limits: Limits = Limits()) {
        self.streams = streams
        self.limits = limits
    }

    /// Records one hit of the rule known by `rule` (any string naming one rule of one source)
    /// whose group-by fields have `values`.
    /// `make` builds the hit's finding; it is called only when the finding is needed: the
    /// group's first hit, a hit earlier than the group's first, or for the streams.
    /// - Parameter counting: for an aggregated finding (one probe from many addresses), the field
    ///   whose distinct values the finding counts and this hit's value of it.
    public func record(rule: String, groupBy fields: [String], values: [String], counting: (field: String, value: String)? = nil,
                       time: Date?, at location: EvidenceLocation, make: () -> Finding) {
        var key = Key(rule: rule, values: values.map(Self.bounded))
        let counting = counting.map { (field: $0.field, value: Self.bounded($0.value)) }
        var built: Finding?
        if !streams.isEmpty {
            let f = make()
            built = f
            stream(f)
        }
        lock.lock()
        let perRule = counting == nil ? limits.groupsPerRule : min(limits.groupsPerRule, limits.aggregatedGroupsPerRule)
        if groups[key] == nil, (groupsOfRule[key.rule] ?? 0) >= perRule || groups.count >= limits.groups
            || (counting != nil && aggregatedGroups >= limits.aggregatedGroups) {
            key.values = key.values.map { _ in Self.overflowValue }
            folded[key.rule, default: 0] += 1
        }
        var counted = false
        if let g = groups[key] {
            if let counting { g.spread?.add(counting.value) }
            counted = true
            let earlier = time.map { t in g.finding.timestamp.map { t < $0 } ?? true } ?? false
            if !earlier {
                merge(&g.finding, time: time, location: location)
                lock.unlock()
                return
            }
        }
        lock.unlock()
        // A new group, or a hit earlier than the group's first: its finding is the group's face.
        var f = built ?? make()
        f.group = Dictionary(zip(fields, key.values), uniquingKeysWith: { a, _ in a })
        lock.lock()
        defer { lock.unlock() }
        hits += 1
        if let g = groups[key] {
            // Another thread may have made the group since this hit looked.
            if !counted, let counting { g.spread?.add(counting.value) }
            let old = g.finding
            f.count = old.count + 1
            f.lastSeen = Self.later(old.lastSeen, time)
            f.samples = Array(([location] + old.samples).prefix(limits.samples))
            g.finding = f
        } else {
            groupsOfRule[key.rule, default: 0] += 1
            let g = Group(f)
            if let counting {
                g.spread = SpreadCounter(field: counting.field)
                g.spread?.add(counting.value)
                aggregatedGroups += 1
            }
            groups[key] = g
        }
    }

    private func merge(_ f: inout Finding, time: Date?, location: EvidenceLocation) {
        f.count += 1
        hits += 1
        f.lastSeen = Self.later(f.lastSeen, time)
        if f.samples.count < limits.samples { f.samples.append(location) }
    }

    private func stream(_ f: Finding) {
        for s in streams {
            do { try s.hit(f) } catch {
                lock.lock()
                if streamFailures.count < 10 { streamFailures.append("\(error)") }
                lock.unlock()
            }
        }
    }

    public func add(_ new: [Problem]) {
        guard !new.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        for p in new {
            if problems.count < limits.problems { problems.append(p) } else { droppedProblems[p.code, default: 0] += 1 }
        }
    }

    public func add(_ c: Coverage) {
        lock.lock()
        defer { lock.unlock() }
        guard var a = coverage[c.source] else { coverage[c.source] = c; return }
        a.files += c.files
        a.lines += c.lines
        a.bytes += c.bytes
        if let e = c.earliest, a.earliest.map({ e < $0 }) ?? true { a.earliest = e }
        if let l = c.latest, a.latest.map({ l > $0 }) ?? true { a.latest = l }
        coverage[c.source] = a
    }

    /// The hours (since 1970, UTC) in which a log of `source` has lines, for coverage gaps.
    public func add(activity hours: [Int32], of source: LogSource) {
        guard !hours.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        var set = activity[source] ?? []
        for h in hours {
            if activityHours >= limits.activityHours { activityDropped = true; break }
            if set.insert(h).inserted { activityHours += 1 }
        }
        activity[source] = set
    }

    /// A name the evidence gives the server (HttpProxy's `ServerHostName`, an event log's
    /// `Computer`), weighed by the lines or records that carry it. At most 1,000 names are kept.
    public func add(hostName name: String, from source: String, weight: Int) {
        let name = String(name.prefix(255))
        guard !name.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        let key = HostName(name: name, source: source)
        if hostNames[key] == nil, hostNames.count >= 1_000 { return }
        hostNames[key, default: 0] += max(1, weight)
    }

    /// An address the server's logs give it (IIS `s-ip`). At most 100 are kept.
    public func add(hostAddress: String, from source: String) {
        let address = String(hostAddress.prefix(64))
        guard !address.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        if hostAddresses.count < 100 { hostAddresses.insert(HostName(name: address, source: source)) }
    }

    /// One log file's client addresses, merged into the host's (at most `limits.clientAddresses`;
    /// further distinct addresses are counted, and a `client-address-limit` problem says so).
    public func add(clients more: [String: ClientCount], dropped: Int) {
        guard !more.isEmpty || dropped > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        clientsDropped += dropped
        for (address, c) in more {
            if var old = clients[address] {
                old.lines += c.lines
                if let f = c.first { old.first = min(old.first ?? f, f) }
                if let l = c.last { old.last = max(old.last ?? l, l) }
                clients[address] = old
            } else if clients.count < limits.clientAddresses {
                clients[address] = c
            } else {
                clientsDropped += 1
            }
        }
    }

    /// An Exchange build that wrote a log, with the log's first and last line.
    public func add(build: String, first: Date?, last: Date?) {
        lock.lock()
        defer { lock.unlock() }
        var span = builds[build] ?? BuildSpan(build: build, first: nil, last: nil, files: 0)
        span.files += 1
        if let first, span.first.map({ first < $0 }) ?? true { span.first = first }
        if let last, span.last.map({ last > $0 }) ?? true { span.last = last }
        builds[build] = span
    }

    /// A file of an evidence place was read (by a reader, or its content checked).
    public func add(read place: EvidencePlace) {
        lock.lock()
        reading[place, default: (0, 0)].read += 1
        lock.unlock()
    }

    /// A file was not read: counted in its place (where it has one), kept (bounded) for the
    /// verdict and listed as a `not-read` problem with its reason.
    public func add(unread u: UnreadFile) {
        lock.lock()
        if let place = u.place { reading[place, default: (0, 0)].notRead += 1 }
        if unread.count < limits.problems { unread.append(u) }
        lock.unlock()
        let message = u.place.map { "not read (\($0.rawValue)): \(u.reason)" } ?? "not read: \(u.reason)"
        add([Problem(.warning, code: "not-read", message: message, path: u.path)])
    }

    public func add(_ m: ManifestEntry) {
        lock.lock()
        manifest.append(m)
        lock.unlock()
    }

    /// What the sink holds at one moment.
    public struct Snapshot: Sendable {
        /// In time order.
        public var findings: [Finding]
        /// With one per limit that was reached.
        public var problems: [Problem]
        /// By source label.
        public var coverage: [Coverage]
        /// By path.
        public var manifest: [ManifestEntry]
        public var totals: Totals
        /// Per log source, the hours with lines, ascending.
        public var activity: [LogSource: [Int32]]
        /// Oldest first.
        public var builds: [BuildSpan]
        /// The names the evidence gives the server, most lines first.
        public var hostNames: [(name: HostName, weight: Int)]
        public var hostAddresses: [HostName]
        /// Distinct client addresses of the web logs, most lines first.
        public var clientAddresses: [SeenAddress]
        /// Per evidence place, the files read and not read; the unread ones by path.
        public var places: [PlaceCount] = []
        public var unread: [UnreadFile] = []
    }

    public func snapshot() -> Snapshot {
        lock.lock()
        let activity = self.activity.mapValues { $0.sorted() }
        let activityDropped = self.activityDropped
        let hostNames = self.hostNames.map { (name: $0.key, weight: $0.value) }
            .sorted { ($0.weight, $1.name.name) > ($1.weight, $0.name.name) }
        let builds = self.builds.values.sorted { ($0.first ?? .distantFuture, $0.build) < ($1.first ?? .distantFuture, $1.build) }
        let findings = groups.values.map { g in
            var f = g.finding
            f.spread = g.spread?.spread()
            return f
        }
        var problems = self.problems
        let coverage = Array(self.coverage.values)
        let manifest = self.manifest
        let totals = Totals(hits: hits, findings: groups.count, folded: folded.values.reduce(0, +))
        let folded = self.folded
        let dropped = droppedProblems
        let failures = streamFailures
        let hostAddresses = self.hostAddresses.sorted { ($0.name, $0.source) < ($1.name, $1.source) }
        let clients = self.clients
        let clientsDropped = self.clientsDropped
        let places = reading.map { PlaceCount(place: $0.key, read: $0.value.read, notRead: $0.value.notRead) }.sorted { $0.place < $1.place }
        let unread = self.unread.sorted { $0.path < $1.path }
        lock.unlock()
        func hourDate(_ h: Int32?) -> Date? { h.map { Date(timeIntervalSince1970: Double($0) * 3600) } }
        let clientAddresses = clients.map { SeenAddress(address: $0.key, first: hourDate($0.value.first), last: hourDate($0.value.last), lines: $0.value.lines) }
            .sorted { ($0.lines, $1.address) > ($1.lines, $0.address) }
        if clientsDropped > 0 {
            problems.append(Problem(.warning, code: "client-address-limit",
                                    message: "more distinct client addresses than are kept (100,000 per log file, \(limits.clientAddresses) per host): further ones were not kept for later matching"))
        }
        for (rule, n) in folded.sorted(by: { $0.key < $1.key }) {
            let name = rule.split(separator: "\u{1}").last.map(String.init) ?? rule
            problems.append(Problem(.warning, code: "aggregation-limit",
                                    message: "rule \(name) had more distinct groups than the limit (\(limits.groupsPerRule) per rule, "
                                        + "\(limits.groups) in all; for probes counted by sender \(limits.aggregatedGroupsPerRule) per rule, "
                                        + "\(limits.aggregatedGroups) in all); \(n) hit(s) of further groups are counted in one finding"))
        }
        for (code, n) in dropped.sorted(by: { $0.key < $1.key }) {
            problems.append(Problem(.warning, code: "problem-limit", message: "\(n) further '\(code)' problem(s) not listed"))
        }
        if activityDropped {
            problems.append(Problem(.warning, code: "activity-limit",
                                    message: "the logs span more than \(limits.activityHours) distinct hours; later hours were not kept, so coverage gaps may be reported that are not there"))
        }
        for f in failures { problems.append(Problem(.error, code: "output", message: "a hit stream could not be written: \(f)")) }
        let sorted = findings.sorted { a, b in
            (a.timestamp ?? .distantFuture, a.evidence.path, a.evidence.line ?? 0, a.rule.id)
                < (b.timestamp ?? .distantFuture, b.evidence.path, b.evidence.line ?? 0, b.rule.id)
        }
        return Snapshot(findings: sorted, problems: problems, coverage: coverage.sorted { $0.source < $1.source },
                        manifest: manifest.sorted { $0.path < $1.path }, totals: totals, activity: activity, builds: builds,
                        hostNames: hostNames, hostAddresses: hostAddresses, clientAddresses: clientAddresses,
                        places: places, unread: unread)
    }

    /// A group key value of bounded size: long values (a script block, a command line) are kept
    /// as their start and a digest of the whole, so two values that differ late stay apart.
    static func bounded(_ value: String) -> String {
        guard value.utf8.count > 256 else { return value }
        let digest = SHA256.hash(data: Data(value.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        return String(decoding: value.utf8.prefix(120), as: UTF8.self) + "…#" + digest
    }

    private static func later(_ a: Date?, _ b: Date?) -> Date? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }
}
