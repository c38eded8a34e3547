import Foundation
import HuntCore
import Evidence
import ExchangeLogs
import Sigma

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

    /// Extensions of files a web shell can hide in or be served from.
    static let webExtensions: Set<String> = ["aspx", "asmx", "ashx", "asax", "ascx", "asp", "cshtml", "config",
                                             "js", "css", "htm", "html", "txt", "xml", "cs", "jsp", "php", "svc"]

    func process(_ item: EvidenceItem) -> FileOutcome {
        switch item.location {
        case .httpProxyLog, .ecpServerLog, .ecpActivityLog, .oabGeneratorLog, .iisLog, .exchangeLog:
            return scanLog(item)
        case .webRoot:
            return checkFile(item, readContent: true)
        case .dumpFolder, .programData:
            return checkFile(item, readContent: false)
        case .other:
            if item.fileExtension == "log" { return scanLog(item) }
            return checkFile(item, readContent: false)
        }
    }

    // MARK: - Logs

    private func scanLog(_ item: EvidenceItem) -> FileOutcome {
        var outcome = FileOutcome()
        var scanner: LogScanner?
        var source = LogSource.exchangeOther
        var rules: [SigmaRule] = []
        var pending: [UInt8] = []
        var findings: [Finding] = []
        var rejected = false

        func emit(_ line: LogScanner.Line) {
            var event = Event(source: source, timestamp: line.timestamp,
                              location: EvidenceLocation(path: item.path, line: line.number, offset: line.offset), raw: line.raw)
            for f in line.fields { event.set(f.name, f.value) }
            for rule in rules where rule.matches(event) {
                findings.append(Self.finding(rule, event))
            }
        }
        /// Decides the format from the first bytes (`head`), then feeds what was held back.
        func start(head: [UInt8]) -> Bool {
            guard let format = LogFormat.sniff(head) else { rejected = true; return false }
            source = Self.logSource(format: format, location: item.location)
            if case .text = format, source == .exchangeOther, item.location == .other { rejected = true; return false }
            rules = detectors.rules(for: source)
            scanner = LogScanner(format: format, path: item.path, literals: rules.isEmpty ? [] : Self.literals(of: rules))
            pending.withUnsafeBytes { scanner!.feed($0, emit: emit) }
            pending = []
            return true
        }

        do {
            let result = try reader.read(item) { chunk in
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
                scanner!.feed(chunk, emit: emit)
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
        guard let scanner else {
            if item.location != .other {
                outcome.problems.append(Problem(.warning, code: "not-a-log",
                                                message: "binary content where a log was expected; not scanned", path: item.path))
            }
            return outcome
        }
        outcome.problems += scanner.problems
        outcome.findings = findings
        outcome.coverage = Coverage(source: Self.coverageLabel(item.location, source), files: 1, lines: scanner.dataLines,
                                    bytes: item.size, earliest: scanner.earliest, latest: scanner.latest)
        return outcome
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
            timestamp: event.timestamp, source: event.source.description,
            evidence: .init(location: event.location, excerpt: excerpt, sha256: event.value("SHA256")),
            fields: fields, extracted: extracted.merging(["summary": rule.sentence(for: event, extracted: extracted)]) { a, _ in a },
            tpl: rule.tpl)
    }

    // MARK: - Files

    private func checkFile(_ item: EvidenceItem, readContent: Bool) -> FileOutcome {
        var outcome = FileOutcome()
        var event = Event(source: .evidenceFile, timestamp: item.modified,
                          location: EvidenceLocation(path: item.path), raw: item.windowsPath)
        event.set("Path", item.windowsPath)
        event.set("RelativePath", item.path)
        event.set("Name", item.name)
        event.set("Extension", item.fileExtension)
        event.set("Size", String(item.size))
        event.set("Location", Self.locationName(item.location))
        let rules = detectors.rules(for: .evidenceFile)
        if readContent {
            var content: [UInt8] = []
            let wantContent = item.size <= contentLimit
            do {
                let result = try reader.read(item, hash: true) { chunk in
                    if wantContent { content.append(contentsOf: chunk) }
                    return true
                }
                outcome.manifest = ManifestEntry(path: item.path, size: item.size, sha256: result.sha256,
                                                 bytesRead: result.bytesRead, modified: item.modified)
                if let sha = result.sha256 {
                    event.set("SHA256", sha)
                    if let f = detectors.hashes.finding(for: sha, event: event) { outcome.findings.append(f) }
                }
            } catch {
                outcome.problems.append(Problem(.error, code: "unreadable", message: "\(error)", path: item.path))
                return outcome
            }
            if wantContent { event.set("Content", Self.text(content)) }
        }
        for rule in rules where rule.matches(event) {
            var f = Self.finding(rule, event)
            if outcome.manifest == nil, rule.level >= .low {
                // A flagged file is worth its hash even when its content is not otherwise read.
                if let r = try? reader.read(item, hash: true, { _ in true }) {
                    outcome.manifest = ManifestEntry(path: item.path, size: item.size, sha256: r.sha256,
                                                     bytesRead: r.bytesRead, modified: item.modified)
                    f.evidence.sha256 = r.sha256
                }
            }
            outcome.findings.append(f)
        }
        return outcome
    }

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
