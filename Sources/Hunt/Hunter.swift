import Foundation
public import HuntCore
import Sigma
import Evidence
import YARA
import Findings
import Verdicts
import Baselines

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
        let (items, image): ([EvidenceItem], ImageRecord?) = tree.kind == .image
            ? tree.image(problems: &listingProblems, everything: configuration.scanAll, hash: configuration.hashImage, verify: configuration.verifyImage)
            : (tree.items(problems: &listingProblems, everything: configuration.scanAll), nil)
        let sink = FindingsSink(streams: configuration.streams, limits: configuration.limits)
        sink.add(listingProblems.map { Problem(.warning, code: "listing", message: $0) })
        if let image, image.verified == false {
            sink.add([Problem(.error, code: "image-verification",
                              message: "the image's media reads as MD5 \(image.computedMD5 ?? "?"), not the \(image.recordedMD5 ?? "?") its E01 records: "
                                  + "it changed or is damaged since it was acquired", path: configuration.evidence.path)])
        }
        sink.add(detectors.ruleErrors.map {
            Problem($0.isUnsupported || $0.needsValues ? .warning : .error, code: "rule", message: $0.description, path: $0.file)
        })
        sink.add(detectors.yaraErrors.map {
            Problem($0.isWarning ? .warning : .error, code: "yara-rule", message: $0.description, path: $0.file, line: $0.line)
        })
        sink.add(detectors.indicatorWarnings.map { Problem(.warning, code: "indicator", message: $0) })
        sink.add((detectors.baselines?.problems ?? []).map { Problem(.warning, code: "baselines", message: $0) })

        let pool = WorkerPool(count: configuration.jobs)
        let context = HuntContext(detectors: detectors, sink: sink, pool: pool, configuration: configuration)
        let progress = Progress(items)
        configuration.cancellation.onCancel { pool.stop() }
        // Largest first, so one huge log does not finish last.
        let order = items.indices.sorted { items[$0].size > items[$1].size }
        let processors = (0..<pool.count).map { w in FileProcessor(context: context, reader: tree.makeReader(hashing: configuration.hashFiles), worker: w) }
        let report = { @Sendable (complete: Bool, knownGood: [String: String]) in
            var r = self.report(sink: sink, items: items, progress: progress, started: started, complete: complete, knownGood: knownGood)
            r.image = image
            return r
        }
        let onProgress = configuration.progress
        // The workers block on files: they run on threads of their own, and this task waits for them.
        // The files the baselines call Exchange's own, for the policy's second look.
        let knownGood = await withCheckedContinuation { (done: CheckedContinuation<[String: String], Never>) in
            let checkpointsOver = DispatchSemaphore(value: 0)
            let checkpoint = configuration.checkpoint
            let interval = configuration.checkpointInterval
            if let checkpoint {
                let timer = Thread {
                    while !progress.finished(waiting: interval) { checkpoint(report(false, [:])) }
                    checkpointsOver.signal()
                }
                timer.name = "exhunt-checkpoint"
                timer.start()
            }
            let thread = Thread {
                pool.run(order) { worker, index in
                    processors[worker].process(items[index])
                    if let p = progress.done(index), let onProgress { onProgress(p) }
                }
                // With every file hashed and every log's build known: Exchange's web files against the baselines.
                let knownGood = configuration.cancellation.isCancelled ? [:] : BaselineCheck.run(items: items, context: context)
                // With every finding about pages made: IIS's requests joined with the pages they used.
                if !configuration.cancellation.isCancelled { PageUse.run(items: items, context: context) }
                progress.finish()
                // The last checkpoint is written before the final report can be.
                if checkpoint != nil { checkpointsOver.wait() }
                done.resume(returning: knownGood)
            }
            thread.name = "exhunt-hunt"
            thread.start()
        }
        return report(!configuration.cancellation.isCancelled, knownGood)
    }

    /// The report from what the sink holds now.
    /// - Parameter knownGood: evidence paths of files the baselines call Exchange's own, with the builds.
    private func report(sink: FindingsSink, items: [EvidenceItem], progress: Progress, started: Date, complete: Bool,
                        knownGood: [String: String]) -> HostReport {
        let snapshot = sink.snapshot()
        var problems = snapshot.problems
        for rule in detectors.rules {
            let n = rule.regexOverruns
            guard n > 0 else { continue }
            problems.append(Problem(.warning, code: "regex-budget",
                                    message: "rule \(rule.id) (\(rule.title)): its regular expression gave up on \(n) value(s) "
                                        + "after its step budget; they count as not matching", path: rule.file))
        }
        let filesDone = progress.filesDone
        if !complete {
            problems.append(Problem(.error, code: "incomplete",
                                    message: "the hunt did not finish: \(filesDone) of \(items.count) file(s) were read; this report holds what was found in them"))
        }
        let covered = snapshot.coverage.map { Self.judge($0, windowStart: configuration.windowStart) }
        let copies = CopyTimes(items: items, newestLogLine: covered.filter { $0.logsource != nil }.compactMap(\.latest).max())
        // The policy's second look at findings about files, now that every file is read.
        let findings = detectors.judge.policy.secondLook(copies.apply(snapshot.findings), knownGood: knownGood)
        var manifest = snapshot.manifest
        for i in manifest.indices where copies.copied.contains(manifest[i].path) { manifest[i].timeSource = "copy" }
        if let reason = copies.reason { problems.append(Problem(.warning, code: "copy-times", message: reason)) }
        if let offset = ClockCheck.iisOffset(snapshot.activity) { problems.append(offset) }
        let decision = detectors.judge.decide(
            .init(findings: findings, coverage: covered, activity: snapshot.activity, builds: snapshot.builds, problems: problems,
                  unread: snapshot.unread),
            windowStart: configuration.windowOverride)
        let named = Self.identity(snapshot.hostNames)
        if named.others.count > 0 {
            problems.append(Problem(.warning, code: "several-hosts",
                                    message: "the evidence names more than one server (\(([named.host].compactMap { $0 } + named.others).joined(separator: ", "))); "
                                        + "hunt each server's collection on its own, or put them side by side in one folder to have them split"))
        }
        var host = configuration.host ?? named.host ?? configuration.evidence.deletingPathExtension().lastPathComponent
        if host.isEmpty { host = "unknown" }
        let hostSource = configuration.host != nil ? "--host" : named.host != nil ? named.source : "folder name"
        var report = HostReport(
            version: Self.version, host: host, hostSource: hostSource, hostNames: snapshot.hostNames.map(\.name),
            evidenceRoot: configuration.evidence.path, generatedAt: Date(),
            windowStart: configuration.windowStart, verdict: decision.verdict, verdictReasons: decision.reasons,
            families: decision.families, coverage: covered, gaps: decision.gaps, builds: snapshot.builds,
            findings: findings, problems: problems, manifest: manifest,
            stats: .init(files: items.count, bytes: items.reduce(0) { $0 + $1.size },
                         logLines: covered.reduce(0) { $0 + $1.lines }, rulesLoaded: detectors.rules.count,
                         hashed: configuration.hashFiles, seconds: Date().timeIntervalSince(started), hits: snapshot.totals.hits),
            complete: complete)
        report.stats.rulesDigest = detectors.digest
        report.places = snapshot.places
        report.hostAddresses = snapshot.hostAddresses
        report.clientAddresses = snapshot.clientAddresses
        return report
    }

    /// The server the evidence names most (names agreeing on their first label are one server; the
    /// fully qualified form is shown when there is one), where the name comes from, and the other
    /// servers named by at least a tenth as many lines.
    static func identity(_ names: [(name: HostName, weight: Int)]) -> (host: String?, source: String, others: [String]) {
        var servers: [String: (weight: Int, forms: [String: Int], sources: [String])] = [:]
        for (n, w) in names {
            let key = n.name.split(separator: ".").first.map { $0.lowercased() } ?? n.name.lowercased()
            var s = servers[key] ?? (0, [:], [])
            s.weight += w
            s.forms[n.name, default: 0] += w
            if !s.sources.contains(n.source) { s.sources.append(n.source) }
            servers[key] = s
        }
        let ranked = servers.sorted { ($0.value.weight, $1.key) > ($1.value.weight, $0.key) }
        guard let top = ranked.first else { return (nil, "folder name", []) }
        let forms = top.value.forms.sorted { ($0.key.contains(".") ? 1 : 0, $0.value, $1.key) > ($1.key.contains(".") ? 1 : 0, $1.value, $0.key) }
        let others = ranked.dropFirst().filter { $0.value.weight * 10 >= top.value.weight }.map { $0.value.forms.max { $0.value < $1.value }?.key ?? $0.key }
        return (forms.first?.key ?? top.key, top.value.sources.joined(separator: ", "), others)
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

/// Counts finished files for the progress bar, and tells the checkpoint thread when to stop.
final class Progress: @unchecked Sendable {
    private let condition = NSCondition()
    private let sizes: [UInt64]
    private let bytesTotal: UInt64
    private var done = 0
    private var bytesDone: UInt64 = 0
    private var lastReport = Date.distantPast
    private var over = false

    init(_ items: [EvidenceItem]) {
        sizes = items.map(\.size)
        bytesTotal = sizes.reduce(0, +)
    }

    /// Returns a progress snapshot at most ten times a second, and always for the last file.
    func done(_ index: Int) -> HuntConfiguration.Progress? {
        condition.lock()
        defer { condition.unlock() }
        done += 1
        bytesDone += sizes[index]
        let now = Date()
        guard done == sizes.count || now.timeIntervalSince(lastReport) > 0.1 else { return nil }
        lastReport = now
        return .init(filesDone: done, filesTotal: sizes.count, bytesDone: bytesDone, bytesTotal: bytesTotal)
    }

    /// Files finished so far (read by the checkpoint thread too).
    var filesDone: Int {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    func finish() {
        condition.lock()
        over = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits up to `seconds`; true once the hunt is over.
    func finished(waiting seconds: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !over { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        return over
    }
}
