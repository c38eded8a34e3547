import Foundation
import HuntCore
import Evidence
import ExchangeLogs
import Sigma
import YARA
import Indicators
import EVTX

/// What one evidence file contributed to the hunt.
struct FileOutcome: Sendable {
    var findings: [Finding] = []
    var problems: [Problem] = []
    var coverage: Coverage?
    var manifest: ManifestEntry?
}

/// Reads one file once and runs the detectors that apply to it (ripgrep's "search worker").
/// One per worker thread: it owns an `EvidenceReader`.
struct FileProcessor {
    let detectors: Detectors
    let reader: EvidenceReader
    let contentLimit: UInt64
    /// Read and YARA-scan every file (`--scan-all`), not only the places web shells and dumps sit.
    let scanAll: Bool
    /// One YARA scanner per worker: libyara scanners hold per-scan state.
    let yara: YaraScanner?
    /// Look for indicator IP addresses in every HttpProxy and IIS line (`--no-ip-iocs` turns it off).
    let matchAddresses: Bool

    /// Extensions of files a web shell can hide in or be served from.
    static let webExtensions: Set<String> = ["aspx", "asmx", "ashx", "asax", "ascx", "asp", "cshtml", "config",
                                             "js", "css", "htm", "html", "txt", "xml", "cs", "jsp", "php", "svc"]

    func process(_ item: EvidenceItem) -> FileOutcome {
        switch item.location {
        case .httpProxyLog, .ecpServerLog, .ecpActivityLog, .oabGeneratorLog, .iisLog:
            return scanLog(item)
        case .exchangeLog:
            return isEVTX(item) ? scanEVTX(item) : scanLog(item)
        case .other where item.fileExtension == "csv" && isExportCSV(item):
            return scanLog(item)
        case .other where item.name.lowercased().hasSuffix(".log.gz"):
            return scanLog(item)
        case .webRoot, .dumpFolder, .programData:
            // Content that is read anyway is checked for the EVTX signature in checkFile.
            if item.size <= contentLimit { return checkFile(item, readContent: true) }
            return isEVTX(item) ? scanEVTX(item) : checkFile(item, readContent: false)
        case .other:
            let readContent = scanAll && item.size <= contentLimit
            if !readContent, isEVTX(item) { return scanEVTX(item) }
            if item.fileExtension == "log" { return scanLog(item) }
            return checkFile(item, readContent: readContent)
        }
    }

    // MARK: - Logs

    private func scanLog(_ item: EvidenceItem) -> FileOutcome {
        var outcome = FileOutcome()
        var extract = false
        var scanner: LogScanner?
        var source = LogSource.exchangeOther
        var rules: [SigmaRule] = []
        var index: RuleIndex?
        var candidates: [Int32] = []
        var pending: [UInt8] = []
        var findings: [Finding] = []
        var ipFields: [String] = []
        var derivations: [FieldMapping] = []
        var rejected = false
        var disguised = false

        func emit(_ line: LogScanner.Line) {
            var event = Event(source: source, timestamp: line.timestamp,
                              location: EvidenceLocation(path: item.path, line: line.number, offset: line.offset), raw: line.raw)
            event.reserveCapacity(line.fields.count + derivations.count * 2)
            for f in line.fields { event.set(f.name, f.value) }
            for m in derivations { m.derive(&event) }
            index?.forEachMatch(text: line.raw, event: event, scratch: &candidates) { findings.append(Self.finding($0, event)) }
            for field in ipFields {
                guard let value = event.value(field) else { continue }
                for address in value.split(whereSeparator: { $0 == " " || $0 == "," }) {
                    for hit in detectors.indicators.lookup(.ip, String(address)) {
                        findings.append(Self.ipFinding(hit, address: String(address), event: event))
                    }
                }
            }
        }
        /// Decides the format from the first bytes (`head`), then feeds what was held back.
        func start(head: [UInt8]) -> Bool {
            let format = LogFormat.sniff(head)
            if format == nil || format == .text, Self.looksLikeWebPage(head), Timestamp.find(in: head.prefix(64)) == nil {
                disguised = true
                rejected = true
                return false
            }
            guard let format else { rejected = true; return false }
            source = Self.logSource(format: format, location: item.location)
            if case .exchangeCSV(let t) = format, t == LogFormat.exportHttpProxy || t == LogFormat.exportOther { extract = true }
            if case .text = format, source == .exchangeOther, item.location == .other { rejected = true; return false }
            let sourceIndex = detectors.index(for: source)
            index = sourceIndex
            rules = sourceIndex.rules
            derivations = detectors.derivations(for: source)
            ipFields = matchAddresses && (source == .httpProxy || source == .iis) ? ["ClientIpAddress", "c-ip"] : []
            let addresses = ipFields.isEmpty ? [] : detectors.indicators.ipValues
            var started = LogScanner(format: format, path: item.path, literals: rules.isEmpty ? [] : Self.literals(of: rules),
                                     addresses: addresses)
            // Decode only the columns rules read or show, the ones derived fields are made of,
            // and the client address columns for indicator matching.
            var wanted = Set(ipFields.map { $0.lowercased() })
            for r in rules { wanted.formUnion(r.fieldNames) }
            for m in derivations { wanted.formUnion(m.sourceFields) }
            if case .text = format {} else { started.wantedFields = wanted }
            pending.withUnsafeBytes { started.feed($0, emit: emit) }
            pending = []
            scanner = started
            return true
        }

        do {
            var readProblems: [Problem] = []
            defer { outcome.problems += readProblems }
            let result = try readLog(item, problems: &readProblems) { chunk in
                if scanner == nil {
                    // Hold back only small first chunks; a large one is sniffed and fed as it is.
                    if pending.count + chunk.count < LogFormat.sniffLength && UInt64(pending.count + chunk.count) < item.size {
                        pending.append(contentsOf: chunk)
                        return true
                    }
                    guard start(head: pending + chunk.prefix(LogFormat.sniffLength - min(pending.count, LogFormat.sniffLength))) else {
                        return false
                    }
                }
                scanner?.feed(chunk, emit: emit)
                return true
            }
            if scanner == nil, !rejected { _ = start(head: pending) }
            scanner?.finish(emit: emit)
            outcome.manifest = ManifestEntry(path: item.path, size: item.size, sha256: result.sha256,
                                             bytesRead: result.bytesRead, modified: item.modified)
        } catch {
            outcome.problems.append(Problem(.error, code: "unreadable", message: "\(error)", path: item.path))
            return outcome
        }
        if disguised {
            // An ASP.NET page saved under a log name is still a page: check it like one.
            var page = checkFile(item, readContent: item.size <= contentLimit)
            page.problems.append(Problem(.warning, code: "disguised-file", message: "web page content in a file named like a log",
                                         path: item.path))
            return page
        }
        guard let scanner else {
            if item.location != .other {
                outcome.problems.append(Problem(.warning, code: "not-a-log",
                                                message: "binary content where a log was expected; not scanned", path: item.path))
            }
            return outcome
        }
        outcome.problems += scanner.problems
        outcome.findings = findings
        // An extract shows the rows someone selected, not a log's span: it covers nothing.
        let label = extract ? "Extract/\(item.name)" : Self.coverageLabel(item.location, source)
        outcome.coverage = Coverage(source: label, files: 1, lines: scanner.dataLines,
                                    bytes: item.size, earliest: scanner.earliest, latest: scanner.latest)
        return outcome
    }

    /// A log's content: a `.gz` (administrators compress old logs) is inflated in place, within
    /// `EvidenceReader.maxInflateRatio`; a stream that ends early is a warning, not lost lines.
    private func readLog(_ item: EvidenceItem, problems: inout [Problem],
                         _ body: (UnsafeRawBufferPointer) throws -> Bool) throws -> EvidenceReader.Result {
        guard item.name.lowercased().hasSuffix(".gz") else { return try reader.read(item, body) }
        let r = try reader.readInflated(item, body)
        if r.truncated {
            problems.append(Problem(.warning, code: "truncated-gzip",
                                    message: "gzip data ends before its stream does, after \(r.inflated) bytes", path: item.path))
        }
        return r.result
    }

    /// A PowerShell Export-Csv file (Test-ProxyLogon's output, a CERT's extract) wherever it is.
    private func isExportCSV(_ item: EvidenceItem) -> Bool {
        var head: [UInt8] = []
        _ = try? reader.read(item, limit: 4096, hash: false) { head += $0; return true }
        return LogFormat.exportCSV(head) != nil
    }

    // MARK: - Windows event logs

    /// Event logs are found by their signature, whatever their name or folder.
    private func isEVTX(_ item: EvidenceItem) -> Bool {
        guard item.size >= 4096 + 512 else { return false }
        var head: [UInt8] = []
        _ = try? reader.read(item, limit: 8, hash: false) { head += $0; return true }
        return EVTXFile.isEVTX(head)
    }

    private func scanEVTX(_ item: EvidenceItem) -> FileOutcome {
        var outcome = FileOutcome()
        var pending: [UInt8] = []
        var skippedHeader = false
        var chunkIndex = 0
        var yields: [ChunkYield] = []
        let chunkSize = EVTXFile.chunkSize
        // Chunks are independent: a batch of them is parsed and hunted on every core, so one big
        // Security.evtx does not keep the other cores idle.
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let batchChunks = 16 * workers
        // Each worker keeps its state for the whole file: a log's chunks share their templates
        // and their kinds of events.
        let states = (0..<workers).map { _ in EventLogWorker() }

        func flush(final: Bool) {
            var n = pending.count / chunkSize
            if final, pending.count % chunkSize >= EVTXFile.chunkHeaderSize { n += 1 }
            guard n > 0 else { return }
            let first = chunkIndex
            var batch = [ChunkYield](repeating: ChunkYield(), count: n)
            let detectors = detectors
            let path = item.path
            pending.withUnsafeBytes { raw in
                batch.withUnsafeMutableBufferPointer { out in
                    // Worker w takes chunks w, w + workers, ... of `raw`, writes their slots of `out`, and
                    // alone uses states[w].
                    nonisolated(unsafe) let raw = raw, out = out
                    let n = n
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        for i in stride(from: w, to: n, by: workers) {
                            let range = i * chunkSize..<min(raw.count, (i + 1) * chunkSize)
                            out[i] = Self.scanChunk(UnsafeRawBufferPointer(rebasing: raw[range]), index: first + i,
                                                    fileOffset: EVTXFile.headerSize + (first + i) * chunkSize, path: path,
                                                    detectors: detectors, worker: states[w])
                        }
                    }
                }
            }
            yields += batch
            chunkIndex += n
            pending.removeFirst(min(pending.count, n * chunkSize))
        }

        do {
            let result = try reader.read(item) { data in
                pending.append(contentsOf: data)
                if !skippedHeader {
                    guard pending.count >= EVTXFile.headerSize else { return true }
                    for p in pending.withUnsafeBytes({ EVTXFile.fileHeaderProblems(UnsafeRawBufferPointer(rebasing: $0[0..<EVTXFile.headerSize])) }) {
                        outcome.problems.append(Problem(.warning, code: "evtx", message: p.description, path: item.path, offset: UInt64(p.offset)))
                    }
                    pending.removeFirst(EVTXFile.headerSize)
                    skippedHeader = true
                }
                if pending.count >= batchChunks * chunkSize { flush(final: false) }
                return true
            }
            if skippedHeader { flush(final: true) }
            outcome.manifest = ManifestEntry(path: item.path, size: item.size, sha256: result.sha256,
                                             bytesRead: result.bytesRead, modified: item.modified)
        } catch {
            outcome.problems.append(Problem(.error, code: "unreadable", message: "\(error)", path: item.path))
            return outcome
        }
        var count = 0
        var earliest: Date?, latest: Date?
        for y in yields {
            outcome.findings += y.findings
            outcome.problems += y.problems
            count += y.count
            if let t = y.earliest, earliest.map({ t < $0 }) ?? true { earliest = t }
            if let t = y.latest, latest.map({ t > $0 }) ?? true { latest = t }
        }
        let channel = yields.lazy.compactMap(\.channel).first
        outcome.coverage = Coverage(source: "EventLog/\(channel ?? item.name)", files: 1, lines: count, bytes: item.size,
                                    earliest: earliest, latest: latest)
        return outcome
    }

    /// What one chunk of an event log yields.
    struct ChunkYield {
        var findings: [Finding] = []
        var problems: [Problem] = []
        var count = 0
        var earliest: Date?
        var latest: Date?
        var channel: String?
    }

    /// What one worker keeps while it hunts an event log, chunk after chunk: the EVTX cache, the
    /// classifications of the events it has seen, its rule indexes and scratch. Used by one worker
    /// at a time.
    final class EventLogWorker: @unchecked Sendable {
        let cache = EVTXCache()
        let classifications = ClassificationCache()
        /// Per source: its rule index, and whether a rule applies only to events carrying its filter fields.
        var indexBySource: [LogSource: (index: RuleIndex, onlyCarried: Bool)] = [:]
        var candidates: [Int32] = []
    }

    /// Parses one chunk and matches its events; runs on any thread (the worker's state is its own).
    private static func scanChunk(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, path: String,
                                  detectors: Detectors, worker: EventLogWorker) -> ChunkYield {
        var y = ChunkYield()
        let (records, chunkProblems) = EVTXFile.fields(chunk, index: index, fileOffset: fileOffset, cache: worker.cache)
        for p in chunkProblems.prefix(20) {
            y.problems.append(Problem(.warning, code: "evtx", message: p.description, path: path, offset: UInt64(p.offset)))
        }
        for r in records {
            y.count += 1
            if y.channel == nil { y.channel = r.fields.fields.first { $0.name == "Channel" }?.value }
            if let t = r.fields.time {
                if y.earliest.map({ t < $0 }) ?? true { y.earliest = t }
                if y.latest.map({ t > $0 }) ?? true { y.latest = t }
            }
            let (event, sources) = Self.windowsEvent(r.fields, id: r.id, offset: r.offset, path: path,
                                                     mapping: detectors.windowsEvents, cache: worker.classifications)
            // Every value of the event, for the rules' literal gates.
            let text = r.fields.text + "\u{1}" + r.fields.fields.map(\.value).joined(separator: "\u{1}") + "\u{1}\(r.id)"
            // An event of several log sources (Sysmon 13 is registry_event and registry_set) is
            // matched under each, but a rule that covers more than one of them fires once.
            var fired: Set<ObjectIdentifier> = []
            for source in sources {
                let (index, onlyCarried): (RuleIndex, Bool)
                if let known = worker.indexBySource[source] { (index, onlyCarried) = known } else {
                    (index, onlyCarried) = (detectors.index(for: source), detectors.windowsEvents.limits[source]?.onlyCarriedFields ?? false)
                    worker.indexBySource[source] = (index, onlyCarried)
                }
                var e = event
                e.source = source
                index.forEachMatch(text: text, event: e, scratch: &worker.candidates) { rule in
                    // A mapped source's event that lacks a field the rule filters on is not the rule's
                    // to judge: the filter could not exclude it.
                    if onlyCarried, !rule.negatedFieldNames.allSatisfy({ e.value(lowercased: $0) != nil }) { return }
                    if sources.count == 1 || fired.insert(ObjectIdentifier(rule)).inserted { y.findings.append(Self.finding(rule, e)) }
                }
            }
        }
        return y
    }

    /// Classifications by the values of the fields they depend on: events of one kind repeat.
    final class ClassificationCache {
        var entries: [String: (sources: [LogSource], aliases: [(alias: String, from: String)])] = [:]
    }

    /// A Windows event as a Sigma event, with every logsource it belongs to.
    static func windowsEvent(_ fields: EVTXFields, id: UInt64, offset: Int, path: String, mapping: WindowsEventMapping,
                             cache: ClassificationCache? = nil) -> (Event, [LogSource]) {
        var event = Event(source: .evidenceFile, timestamp: fields.time,
                          location: EvidenceLocation(path: path, offset: UInt64(offset), record: id), raw: fields.text)
        event.reserveCapacity(fields.fields.count + 8)
        for f in fields.fields {
            event.set(f.name, f.value)
            if mapping.stripSpacesFromFieldNames, f.name.utf8.contains(UInt8(ascii: " ")) {
                event.set(f.name.replacingOccurrences(of: " ", with: ""), f.value)
            }
        }
        let value = { (name: String) in event.value(name) }
        let classification: (sources: [LogSource], aliases: [(alias: String, from: String)])
        if let cache {
            let key = mapping.keyFields.map { value($0) ?? "" }.joined(separator: "\u{1}")
            if let hit = cache.entries[key] { classification = hit } else {
                classification = mapping.classification(value)
                // Bounded: a log of ever-new kinds of events must not grow it without end.
                if cache.entries.count < 4096 { cache.entries[key] = classification }
            }
        } else {
            classification = mapping.classification(value)
        }
        let sources = classification.sources
        event.source = sources[0]
        for a in classification.aliases { if let v = event.value(a.from) { event.set(a.alias, v) } }
        event.set("EventRecordID", String(id))
        return (event, sources)
    }

    /// Literals for the scanner's prefilter: nil (every line) if any rule cannot be prefiltered.
    static func literals(of rules: [SigmaRule]) -> [String]? {
        var all = Set<String>()
        for r in rules {
            guard let l = r.literals else { return nil }
            all.formUnion(l)
        }
        return Array(all)
    }

    static func logSource(format: LogFormat, location: ArtifactLocation) -> LogSource {
        switch format {
        case .w3c: return .iis
        case .exchangeCSV(let logType):
            let t = logType?.lowercased() ?? ""
            if t.contains("httpproxy") { return .httpProxy }
            if t.contains("ecp server") { return .ecpServer }
            if t.contains("ecp activity") { return .ecpActivity }
            switch location {
            case .httpProxyLog: return .httpProxy
            case .ecpServerLog: return .ecpServer
            case .ecpActivityLog: return .ecpActivity
            default: return .exchangeOther
            }
        case .text:
            return location == .oabGeneratorLog ? .oabGenerator : .exchangeOther
        }
    }

    static func coverageLabel(_ location: ArtifactLocation, _ source: LogSource) -> String {
        switch location {
        case .httpProxyLog(let p): return "HttpProxy/\(p)"
        case .ecpServerLog: return "ECP/Server"
        case .ecpActivityLog: return "ECP/Activity"
        case .oabGeneratorLog: return "OABGeneratorLog"
        case .iisLog(let site): return "IIS/\(site)"
        case .exchangeLog(let folder): return "Logging/\(folder)"
        default:
            switch source {
            case .httpProxy: return "HttpProxy/(elsewhere)"
            case .iis: return "IIS/(elsewhere)"
            default: return "Other logs"
            }
        }
    }

    static func finding(_ rule: SigmaRule, _ event: Event) -> Finding {
        let extracted = rule.extract(event)
        var fields: [String: String] = [:]
        for f in rule.fields { if let v = event.value(f), !v.isEmpty { fields[f] = v } }
        var excerpt = event.value("Content") != nil ? event.value("Path") ?? event.raw : event.raw
        if excerpt.count > 600 { excerpt = String(excerpt.prefix(600)) + "…" }
        return Finding(
            rule: .init(id: rule.id, title: rule.title, source: rule.file, author: rule.author, references: rule.references),
            cves: rule.cves, attack: rule.attack, severity: rule.level, role: rule.role,
            timestamp: event.timestamp, source: event.source.name,
            evidence: .init(location: event.location, excerpt: excerpt, sha256: event.value("SHA256")),
            fields: fields, extracted: extracted.merging(["summary": rule.sentence(for: event, extracted: extracted)]) { a, _ in a },
            tpl: rule.tpl, stage: rule.stage)
    }

    // MARK: - Files

    private func checkFile(_ item: EvidenceItem, readContent: Bool) -> FileOutcome {
        var outcome = FileOutcome()
        var event = Event(source: .evidenceFile, timestamp: item.lastWritten,
                          location: EvidenceLocation(path: item.path), raw: item.windowsPath)
        event.set("Path", item.windowsPath)
        event.set("RelativePath", item.path)
        event.set("Name", item.name)
        event.set("Extension", item.fileExtension)
        event.set("Size", String(item.size))
        event.set("Location", Self.locationName(item.location))
        let fileRules = detectors.rules(for: .evidenceFile)
        var fileFindings: [Finding] = []
        var yaraMatches: [YaraMatch] = []
        var hashes: EvidenceReader.Result?
        if readContent {
            var content: [UInt8] = []
            content.reserveCapacity(Int(item.size))
            do {
                hashes = try reader.read(item, hash: true, legacyHashes: detectors.indicators.needsLegacyHashes) { chunk in
                    content.append(contentsOf: chunk)
                    return true
                }
            } catch {
                outcome.problems.append(Problem(.error, code: "unreadable", message: "\(error)", path: item.path))
                return outcome
            }
            // An event log among the files that are read whole: hunt it as one (rare, so read again).
            if item.size >= 4096 + 512, EVTXFile.isEVTX(content.prefix(8)) { return scanEVTX(item) }
            if fileRules.contains(where: { $0.reads("Content") }) { event.set("Content", Self.text(content)) }
            if let yara {
                do {
                    yaraMatches = try content.withUnsafeBytes {
                        try yara.scan($0, externals: ["filename": item.name, "filepath": item.windowsPath,
                                                      "extension": item.fileExtension.isEmpty ? "" : "." + item.fileExtension,
                                                      "filetype": Self.fileType(content), "owner": ""])
                    }
                } catch {
                    outcome.problems.append(Problem(.warning, code: "yara", message: "\(error)", path: item.path))
                }
            }
        }
        if let sha = hashes?.sha256 { event.set("SHA256", sha) }

        for rule in fileRules where rule.matches(event) {
            fileFindings.append(Self.finding(rule, event))
        }
        for m in yaraMatches { fileFindings.append(Self.yaraFinding(m, event)) }
        var hashHit = false
        for (kind, value) in [(Indicator.Kind.sha256, hashes?.sha256), (.sha1, hashes?.sha1), (.md5, hashes?.md5)] {
            guard let value else { continue }
            for hit in detectors.indicators.lookup(kind, value) {
                hashHit = true
                fileFindings.append(Self.indicatorFinding(hit, matched: "\(kind.rawValue.uppercased()) \(value)", severity: .critical, event))
            }
        }
        let nameHits = detectors.indicators.matchFile(windowsPath: item.windowsPath)
        // A published name or path that is one of Exchange's own pages, in its own folder, is
        // only reported with other evidence about the file (hash, content).
        if !nameHits.isEmpty && (!detectors.isKnownGood(item.windowsPath) || hashHit || !yaraMatches.isEmpty) {
            for hit in nameHits {
                fileFindings.append(Self.indicatorFinding(hit, matched: "\(hit.kind.rawValue) \(hit.value)", severity: .high, event))
            }
        }
        if hashes == nil, fileFindings.contains(where: { $0.severity >= .low }) {
            // A flagged file is worth its hash even when its content is not otherwise read.
            hashes = try? reader.read(item, hash: true, { _ in true })
        }
        if let hashes {
            outcome.manifest = ManifestEntry(path: item.path, size: item.size, sha256: hashes.sha256,
                                             bytesRead: hashes.bytesRead, modified: item.modified)
        }
        for var f in fileFindings {
            f.evidence.sha256 = hashes?.sha256
            f.evidence.size = item.size
            f.evidence.modified = item.lastWritten
            outcome.findings.append(f)
        }
        return outcome
    }

    static func yaraFinding(_ m: YaraMatch, _ event: Event) -> Finding {
        // Third-party sets (DRL 1.1) ask that the author and reference travel with every match.
        let severity = Severity(rawValue: m.meta["severity"]?.lowercased() ?? "")
            ?? (Int(m.meta["score"] ?? "").map { $0 >= 80 ? .critical : $0 >= 60 ? .high : .medium } ?? .high)
        let references = ["reference", "references", "url"].compactMap { m.meta[$0] }
        let strings = m.strings.prefix(20).map { Finding.StringMatch(identifier: $0.identifier, offset: $0.offset, text: Self.printable($0.data)) }
        let path = event.value("Path") ?? event.location.path
        var f = Finding(
            rule: .init(id: m.rule, title: m.meta["description"].map { "\(m.rule): \($0)" } ?? m.rule, source: m.source,
                        author: m.meta["author"], references: references),
            cves: m.tags.filter { $0.uppercased().hasPrefix("CVE") }, attack: ["T1505.003"],
            severity: severity, role: .compromised, timestamp: event.timestamp, source: event.source.name,
            evidence: .init(location: event.location, excerpt: strings.first.map { "\($0.identifier) at \($0.offset): \($0.text)" } ?? path),
            fields: ["Path": path],
            extracted: ["summary": "YARA rule \(m.rule)\(m.meta["author"].map { " by \($0)" } ?? "") matched \(path)"],
            stage: "persistence")
        f.evidence.matches = Array(strings)
        return f
    }

    static func indicatorFinding(_ hit: Indicator, matched: String, severity: Severity, _ event: Event) -> Finding {
        let path = event.value("Path") ?? event.location.path
        return Finding(
            rule: .init(id: "exhunt-ioc-\(hit.kind.rawValue)", title: "File matches a published indicator (\(hit.kind.rawValue))",
                        source: hit.source, references: [hit.source]),
            cves: [], attack: ["T1505.003"], severity: severity, role: .compromised,
            timestamp: event.timestamp, source: event.source.name,
            evidence: .init(location: event.location, excerpt: "\(matched) listed by \(hit.source)"),
            fields: ["Path": path],
            extracted: ["summary": "\(path) matches \(matched) from \(hit.source)\(hit.note.isEmpty ? "" : " (\(hit.note))")"],
            stage: "persistence")
    }

    static func ipFinding(_ hit: Indicator, address: String, event: Event) -> Finding {
        var excerpt = event.raw
        if excerpt.count > 600 { excerpt = String(excerpt.prefix(600)) + "…" }
        let url = event.value("UrlStem") ?? event.value("cs-uri-stem") ?? "?"
        return Finding(
            rule: .init(id: "exhunt-ioc-ip", title: "Request from a published attacker address", source: hit.source, references: [hit.source]),
            cves: [], attack: ["T1190"], severity: .medium, role: .attempted,
            timestamp: event.timestamp, source: event.source.name,
            evidence: .init(location: event.location, excerpt: excerpt),
            fields: ["ClientIpAddress": address, "Url": url],
            extracted: ["summary": "\(address) (listed by \(hit.source)) requested \(url)"],
            stage: "probe")
    }

    /// Matched bytes as text: printable ASCII as is, anything else as `\xNN`.
    static func printable(_ bytes: [UInt8]) -> String {
        bytes.map { (0x20...0x7E).contains($0) && $0 != 0x5C ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
    }

    /// The `filetype` external THOR-style rules read: a coarse type from the first bytes.
    static func fileType(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0x4D, 0x5A]) { return "EXE" }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "ZIP" }
        if bytes.starts(with: [0x4D, 0x44, 0x4D, 0x50]) { return "MDMP" }
        return looksLikeWebPage(Array(bytes.prefix(4096))) ? "ASPX" : ""
    }

    /// ASP.NET markup in the first 4 KiB: a page, whatever its name.
    static func looksLikeWebPage(_ head: [UInt8]) -> Bool {
        head.prefix(4096).withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return false }
            func has(_ finder: LiteralFinder) -> Bool {
                var found = false
                finder.forEachMatch(in: base, count: p.count) { _ in found = true; return p.count }
                return found
            }
            return has(pageDirective) || (has(scriptTag) && has(runat))
        }
    }

    private static let pageDirective = LiteralFinder("<%@")
    private static let scriptTag = LiteralFinder("<script")
    private static let runat = LiteralFinder("runat")

    static func locationName(_ l: ArtifactLocation) -> String {
        switch l {
        case .webRoot: "webroot"
        case .dumpFolder: "dumpfolder"
        case .programData: "programdata"
        default: "other"
        }
    }

    /// Text for content rules: UTF-16 when the file says so with a BOM, else lossy UTF-8.
    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xFE {
            let units = stride(from: 2, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
            return String(decoding: units, as: UTF16.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
