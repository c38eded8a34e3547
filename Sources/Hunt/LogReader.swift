import Foundation
import HuntCore
import Evidence
import ExchangeLogs
import Sigma
import Findings
import Indicators
import ExchangeBuilds

/// Reads one text log (Exchange CSV, IIS W3C, plain text) into events, line by line as its bytes
/// arrive, and hands each to the rule index of its log source and to the address indicators.
final class LogReader {
    private let item: EvidenceItem
    private let source: LogSource
    private let extract: Bool
    private var scanner: LogScanner
    private let index: RuleIndex
    private let derivations: [FieldMapping]
    private let ipFields: [String]
    private let context: HuntContext
    private var candidates: [Int32] = []

    init(_ item: EvidenceItem, format: LogFormat, extract: Bool, context: HuntContext) {
        self.item = item
        self.extract = extract
        self.context = context
        let detectors = context.detectors
        source = LogSource.of(format: format, location: item.location)
        index = detectors.index(for: source)
        derivations = detectors.derivations(for: source)
        ipFields = context.matchAddresses && (source == .httpProxy || source == .iis) ? ["ClientIpAddress", "c-ip"] : []
        let rules = index.rules
        scanner = LogScanner(format: format, path: item.path, literals: rules.isEmpty ? [] : Self.literals(of: rules),
                             addresses: ipFields.isEmpty ? [] : detectors.indicators.ipValues)
        scanner.ftp = item.location.logFolder == .iisFTP
        // Decode only the columns rules read or show, the ones derived fields are made of, the
        // client address columns for indicator matching, and the group-by fields.
        var wanted = Set(ipFields.map { $0.lowercased() })
        for r in rules {
            wanted.formUnion(r.fieldNames)
            for f in context.factory.grouping.fields(for: r, source: source) { wanted.insert(f.lowercased()) }
        }
        for m in derivations { wanted.formUnion(m.sourceFields) }
        for f in context.factory.grouping.fields(for: nil, source: source) { wanted.insert(f.lowercased()) }
        for f in context.factory.grouping.aggregateFields(source: source) { wanted.insert(f.lowercased()) }
        if case .text = format {} else {
            scanner.wantedFields = wanted
            scanner.identityFields = Self.identityFields + Self.addressFields
            if context.keepClientAddresses, source == .httpProxy || source == .iis {
                scanner.clientFields = ["clientipaddress", "c-ip"]
            }
        }
    }

    func feed(_ chunk: UnsafeRawBufferPointer) {
        scanner.feed(chunk) { emit($0) }
    }

    /// The end of the file: the last line, then coverage and problems.
    func finish() {
        scanner.finish { emit($0) }
        let sink = context.sink
        sink.add(scanner.problems)
        // An extract shows the rows someone selected, not a log's span: it covers nothing.
        let label = extract ? "Extract/\(item.name)" : Self.coverageLabel(item.location, source)
        sink.add(Coverage(source: label, logsource: extract ? nil : source, files: 1, lines: scanner.dataLines, bytes: item.size,
                          earliest: scanner.earliest, latest: scanner.latest))
        sink.add(clients: scanner.clientAddresses(), dropped: scanner.clientsDropped)
        guard !extract else { return }
        sink.add(activity: scanner.hours, of: source)
        for (field, value) in scanner.identity {
            if Self.addressFields.contains(field) {
                sink.add(hostAddress: value, from: "\(Self.sourceName(source)) \(field)")
                continue
            }
            sink.add(hostName: value, from: "\(Self.sourceName(source)) \(Self.identityLabels[field] ?? field)", weight: scanner.dataLines)
        }
        // A build number of 0 (`15.00.0000.000`) is a placeholder some writers use, not a build.
        if let text = scanner.exchangeBuild, let build = ExchangeBuild(text), build.build > 0 {
            sink.add(build: build.description, first: scanner.earliest, last: scanner.latest)
        }
    }

    private func emit(_ line: LogScanner.Line) {
        var event = Event(source: source, timestamp: line.timestamp,
                          location: EvidenceLocation(path: item.path, line: line.number, offset: line.offset), raw: line.raw)
        event.reserveCapacity(line.fields.count + derivations.count * 2)
        for f in line.fields { event.set(f.name, f.value) }
        for m in derivations { m.derive(&event) }
        let factory = context.factory
        index.forEachMatch(text: line.raw, event: event, scratch: &candidates) { factory.record($0, event) }
        for field in ipFields {
            guard let value = event.value(field) else { continue }
            for address in value.split(whereSeparator: { $0 == " " || $0 == "," }) {
                for hit in context.detectors.indicators.lookup(.ip, String(address)) {
                    factory.record(detector: "ioc\u{1}ip", event) { factory.ipFinding(hit, address: String(address), event: event) }
                }
            }
        }
    }

    /// Columns that name the server that wrote the log, as the logs spell them.
    static let identityLabels = ["serverhostname": "ServerHostName", "s-computername": "s-computername"]
    static let identityFields = Array(identityLabels.keys).sorted()
    /// Columns that give the server's own address (IIS `s-ip`): how a survey's record finds its host.
    static let addressFields = ["s-ip"]

    static func sourceName(_ source: LogSource) -> String {
        switch source {
        case .httpProxy: "HttpProxy"
        case .iis: "IIS"
        default: source.name
        }
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

    /// The coverage row a log counts in: the folder it came from, else its log source.
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
}

extension LogSource {
    /// The log source of a text log: from its format and `#Log-type`, else from its folder.
    static func of(format: LogFormat, location: ArtifactLocation) -> LogSource {
        switch format {
        case .w3c, .iisNative, .ncsa: return .iis
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
        case .firewall:
            return LogSource(product: "windows", service: "firewall")
        }
    }
}
