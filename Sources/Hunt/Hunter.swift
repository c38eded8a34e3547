import Foundation
public import HuntCore
import Sigma
import Evidence
import YARA

/// Runs a hunt over one host's evidence: discovery, one read per file on every core, detectors,
/// then coverage and verdict. Problems with single files never stop it.
public struct Hunter: Sendable {
    public static let version = "0.1.0"

    public let configuration: HuntConfiguration
    public let detectors: Detectors

    public init(configuration: HuntConfiguration, detectors: Detectors) {
        self.configuration = configuration
        self.detectors = detectors
    }

    public func run() async throws -> HostReport {
        let started = Date()
        let tree = try EvidenceTree(configuration.evidence)
        var listingProblems: [String] = []
        let items = tree.items(problems: &listingProblems)
        var problems = listingProblems.map { Problem(.warning, code: "listing", message: $0) }
        problems += detectors.ruleErrors.map {
            Problem($0.isUnsupported || $0.needsValues ? .warning : .error, code: "rule", message: $0.description, path: $0.file)
        }
        problems += detectors.yaraErrors.map {
            Problem($0.isWarning ? .warning : .error, code: "yara-rule", message: $0.description, path: $0.file, line: $0.line)
        }
        problems += detectors.indicatorWarnings.map { Problem(.warning, code: "indicator", message: $0) }

        let outcomes = await process(items, tree: tree)
        var findings: [Finding] = []
        var manifest: [ManifestEntry] = []
        var coverage: [String: Coverage] = [:]
        for o in outcomes {
            findings += o.findings
            problems += o.problems
            if let m = o.manifest { manifest.append(m) }
            if let c = o.coverage { coverage[c.source] = Self.merge(coverage[c.source], c) }
        }
        for rule in detectors.rules {
            let n = rule.regexOverruns
            guard n > 0 else { continue }
            problems.append(Problem(.warning, code: "regex-budget",
                                    message: "rule \(rule.id) (\(rule.title)): its regular expression gave up on \(n) value(s) "
                                        + "after its step budget; they count as not matching", path: rule.file))
        }
        findings.sort { ($0.timestamp ?? .distantFuture, $0.evidence.path, $0.evidence.line ?? 0)
            < ($1.timestamp ?? .distantFuture, $1.evidence.path, $1.evidence.line ?? 0) }
        let covered = coverage.values.map { Self.judge($0, windowStart: configuration.windowStart) }
            .sorted { $0.source < $1.source }
        let (verdict, reasons) = Verdicts.decide(findings: findings, coverage: covered, problems: problems,
                                                 windowStart: configuration.windowStart)
        var host = configuration.host ?? configuration.evidence.deletingPathExtension().lastPathComponent
        if host.isEmpty { host = "unknown" }
        return HostReport(
            version: Self.version, host: host, evidenceRoot: configuration.evidence.path, generatedAt: Date(),
            windowStart: configuration.windowStart, verdict: verdict, verdictReasons: reasons,
            coverage: covered, findings: findings, problems: problems,
            manifest: manifest.sorted { $0.path < $1.path },
            stats: .init(files: items.count, bytes: items.reduce(0) { $0 + $1.size },
                         logLines: covered.reduce(0) { $0 + $1.lines }, rulesLoaded: detectors.rules.count,
                         hashed: configuration.hashFiles,
                         seconds: Date().timeIntervalSince(started)))
    }

    /// Fans the files out to `jobs` workers, largest first so one huge log does not finish last.
    private func process(_ items: [EvidenceItem], tree: EvidenceTree) async -> [FileOutcome] {
        let order = items.indices.sorted { items[$0].size > items[$1].size }
        let queue = WorkQueue(order: order, sizes: items.map(\.size))
        let workers = max(1, configuration.jobs)
        let detectors = self.detectors
        let limit = configuration.contentLimit
        let hashing = configuration.hashFiles
        let scanAll = configuration.scanAll
        let matchAddresses = configuration.matchAddresses
        let progress = configuration.progress
        return await withTaskGroup(of: [FileOutcome].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    let processor = FileProcessor(detectors: detectors, reader: tree.makeReader(hashing: hashing), contentLimit: limit,
                                                  scanAll: scanAll, yara: detectors.yara.flatMap { try? YaraScanner(rules: $0) },
                                                  matchAddresses: matchAddresses)
                    var out: [FileOutcome] = []
                    while let index = await queue.next() {
                        out.append(processor.process(items[index]))
                        if let p = await queue.done(index), let progress { progress(p) }
                    }
                    return out
                }
            }
            var all: [FileOutcome] = []
            for await part in group { all += part }
            return all
        }
    }

    static func merge(_ a: Coverage?, _ b: Coverage) -> Coverage {
        guard var a else { return b }
        a.files += b.files
        a.lines += b.lines
        a.bytes += b.bytes
        if let e = b.earliest, a.earliest.map({ e < $0 }) ?? true { a.earliest = e }
        if let l = b.latest, a.latest.map({ l > $0 }) ?? true { a.latest = l }
        return a
    }

    static func judge(_ c: Coverage, windowStart: Date) -> Coverage {
        var c = c
        if let e = c.earliest, let l = c.latest, l >= windowStart {
            c.window = e <= windowStart ? "full" : "partial"
        } else {
            c.window = "none"
        }
        return c
    }
}

/// Hands out file indices to workers and counts progress.
actor WorkQueue {
    private var order: [Int]
    private var position = 0
    private let sizes: [UInt64]
    private var filesDone = 0
    private var bytesDone: UInt64 = 0
    private let bytesTotal: UInt64
    private var lastReport = Date.distantPast

    init(order: [Int], sizes: [UInt64]) {
        self.order = order
        self.sizes = sizes
        bytesTotal = sizes.reduce(0, +)
    }

    func next() -> Int? {
        guard position < order.count else { return nil }
        defer { position += 1 }
        return order[position]
    }

    /// Returns a progress snapshot at most ten times a second, and always for the last file.
    func done(_ index: Int) -> HuntConfiguration.Progress? {
        filesDone += 1
        bytesDone += sizes[index]
        let now = Date()
        guard filesDone == order.count || now.timeIntervalSince(lastReport) > 0.1 else { return nil }
        lastReport = now
        return .init(filesDone: filesDone, filesTotal: order.count, bytesDone: bytesDone, bytesTotal: bytesTotal)
    }
}
