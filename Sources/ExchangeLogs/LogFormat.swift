import HuntCore

/// What kind of text log a file is, decided from its first bytes, never from its name.
public enum LogFormat: Sendable, Equatable {
    /// Exchange's comma-separated logs (HttpProxy, ECP, EWS, …): `#Fields:` header, sometimes
    /// preceded by a bare CSV header line. `logType` is the `#Log-type:` directive when present.
    case exchangeCSV(logType: String?)
    /// IIS W3C extended logs: space-separated, `#Fields:` header.
    case w3c
    /// Plain text lines (OABGenerator log): one `Message` field per line.
    case text
    /// IIS's native format (`in*.log`): comma separated, fixed fields, the server's local time.
    case iisNative
    /// The NCSA Common Log Format IIS can write (`nc*.log`), with the time's offset.
    case ncsa
    /// The Windows Firewall's W3C log (`pfirewall.log`): packets, not web requests; recognised
    /// so that it is never read as IIS lines.
    case firewall

    /// How many leading bytes `sniff` wants to see.
    public static let sniffLength = 16 * 1024

    /// Decides the format from the start of a file. Returns nil for content that is not text
    /// (NUL bytes in the first lines), which the caller should not read as a log. A file's own
    /// directives and header decide first; then the folder it lies in (`folder`: an OABGenerator
    /// log without a header is plain text even when its lines have four commas); only then a
    /// guess by the shape of its first line, which the scanner reports as such.
    public static func sniff<Bytes: Collection<UInt8>>(_ head: Bytes, folder: LogFolder? = nil) -> LogFormat? {
        let bytes = Array(head.prefix(sniffLength))
        if bytes.isEmpty { return .text }
        let probe = bytes.prefix(4096)
        if probe.contains(0) { return nil }
        var logType: String?
        var sawExchange = false
        var sawFieldsCSV = false
        var sawFieldsW3C = false
        var sawIIS = false
        var sawFirewall = false
        var firstLine: String?
        for (index, lineBytes) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if index > 12 { break }
            var line = String(decoding: lineBytes, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            if index == 0 {
                if line.hasPrefix("\u{FEFF}") { line.removeFirst() }
                firstLine = line
            }
            let lower = line.lowercased()
            if lower.hasPrefix("#software:") {
                if lower.contains("windows firewall") { sawFirewall = true }
                if lower.contains("internet information services") { sawIIS = true }
                if lower.contains("exchange") { sawExchange = true }
            } else if lower.hasPrefix("#log-type:") {
                logType = line.dropFirst("#log-type:".count).trimmingSpaces()
            } else if lower.hasPrefix("#fields:") {
                let rest = lower.dropFirst("#fields:".count)
                if rest.contains(",") { sawFieldsCSV = true } else { sawFieldsW3C = true }
            }
        }
        if let export = Self.exportCSV(bytes) { return .exchangeCSV(logType: export) }
        if sawFirewall { return .firewall }
        if sawIIS || (sawFieldsW3C && !sawExchange) { return .w3c }
        if sawExchange || sawFieldsCSV { return .exchangeCSV(logType: logType) }
        if let first = firstLine?.lowercased(), Self.bareHeaderTimestampColumns.contains(where: { first.hasPrefix($0 + ",") }) {
            return .exchangeCSV(logType: logType)
        }
        // IIS's older formats have no directives; their lines say what they are.
        if let first = firstLine, let legacy = LegacyIISFormat.recognise(first.utf8) { return legacy }
        // Only data lines take the folder's schema (a page under a log's name stays what it is).
        if let folder, let format = folder.headerlessFormat, let first = firstLine,
           startsWithTimestamp(first, separator: 0x54) || startsWithTimestamp(first, separator: 0x20) {
            return format
        }
        // A W3C log without its directives (concatenated, exported, or written so by a simulator):
        // data lines of a date, a time and as many fields as one of IIS's default layouts.
        if let first = firstLine, Self.headerlessW3CLayout(first) != nil { return .w3c }
        // An Exchange CSV log without its header: an ISO timestamp, then as many fields as a known schema.
        if let first = firstLine, let layout = Self.headerlessExchangeLayout(first) { return .exchangeCSV(logType: layout.logType) }
        return .text
    }

    /// The log type of a PowerShell `Export-Csv` file (`#TYPE …`, then a quoted header), the form
    /// Test-ProxyLogon's output and CERTs' shared extracts take: `Export-Csv HttpProxy` when its
    /// columns are HttpProxy's, else `Export-Csv`. Such a file holds the rows someone selected, not
    /// a log's whole span.
    public static func exportCSV(_ head: [UInt8]) -> String? {
        var lines = head.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false).makeIterator()
        guard var first = lines.next().map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
        if first.hasPrefix("\u{FEFF}") { first.removeFirst() }
        guard first.lowercased().hasPrefix("#type "), let second = lines.next() else { return nil }
        let header = String(String(decoding: second, as: UTF8.self).lowercased().filter { $0 != "\"" })
            .split(separator: ",").map { $0.trimmingSpaces() }
        let httpProxy: Set<String> = ["anchormailbox", "routinghint", "backendcookie", "urlstem", "clientipaddress"]
        return header.filter(httpProxy.contains).count >= 2 ? exportHttpProxy : exportOther
    }

    public static let exportHttpProxy = "Export-Csv HttpProxy"
    public static let exportOther = "Export-Csv"

    /// Whether `format` is PowerShell Export-Csv output (rows someone selected, not a whole log).
    public static func isExport(_ format: LogFormat) -> Bool {
        if case .exchangeCSV(let t) = format { return t == exportHttpProxy || t == exportOther }
        return false
    }

    /// Exchange CSV schemas, for data without its `#Fields` or header line, picked by field count:
    /// HttpProxy of Exchange 2016 and 2019 (the CU-era build 15.1.2375 layout, 74 columns), and the
    /// ECP Server log (4). Older builds have other HttpProxy layouts; such data stays unnamed.
    public static let defaultExchangeLayouts: [(logType: String, fields: [String])] = [
        ("HttpProxy Logs", [
        "DateTime", "RequestId", "MajorVersion", "MinorVersion", "BuildVersion", "RevisionVersion", "ClientRequestId", "Protocol",
        "UrlHost", "UrlStem", "ProtocolAction", "AuthenticationType", "IsAuthenticated", "AuthenticatedUser", "Organization", "AnchorMailbox",
        "UserAgent", "ClientIpAddress", "ServerHostName", "HttpStatus", "BackEndStatus", "ErrorCode", "Method", "ProxyAction",
        "TargetServer", "TargetServerVersion", "RoutingType", "RoutingHint", "BackEndCookie", "ServerLocatorHost", "ServerLocatorLatency", "RequestBytes",
        "ResponseBytes", "TargetOutstandingRequests", "AuthModulePerfContext", "HttpPipelineLatency", "CalculateTargetBackEndLatency", "GlsLatencyBreakup", "TotalGlsLatency", "AccountForestLatencyBreakup",
        "TotalAccountForestLatency", "ResourceForestLatencyBreakup", "TotalResourceForestLatency", "ADLatency", "SharedCacheLatencyBreakup", "TotalSharedCacheLatency", "ActivityContextLifeTime", "ModuleToHandlerSwitchingLatency",
        "ClientReqStreamLatency", "BackendReqInitLatency", "BackendReqStreamLatency", "BackendProcessingLatency", "BackendRespInitLatency", "BackendRespStreamLatency", "ClientRespStreamLatency", "KerberosAuthHeaderLatency",
        "HandlerCompletionLatency", "RequestHandlerLatency", "HandlerToModuleSwitchingLatency", "ProxyTime", "CoreLatency", "RoutingLatency", "HttpProxyOverhead", "TotalRequestTime",
        "RouteRefresherLatency", "UrlQuery", "BackEndGenericInfo", "GenericInfo", "GenericErrors", "EdgeTraceId", "DatabaseGuid", "UserADObjectGuid",
        "PartitionEndpointLookupLatency", "RoutingStatus"
        ]),
        ("ECP Server Logs", ["TimeStamp", "ServerName", "EventId", "EventData"]),
    ]

    /// The Exchange schema a headerless data line fits: it starts with an ISO 8601 timestamp
    /// (`2021-03-03T04:15:12`) and splits into as many CSV fields as the schema.
    public static func headerlessExchangeLayout(_ line: some StringProtocol, logType: String? = nil) -> (logType: String, fields: [String])? {
        guard startsWithTimestamp(line, separator: 0x54) else { return nil }
        let count = CSVLine.split(String(line)).count
        // A schema the folder gave holds only if the line fits it.
        if let logType, defaultExchangeLayouts.contains(where: { $0.logType == logType }) {
            return defaultExchangeLayouts.first { $0.logType == logType && $0.fields.count == count }
        }
        return defaultExchangeLayouts.first { $0.fields.count == count }
    }

    /// The field sets IIS writes by default, for W3C data that comes without a `#Fields` line:
    /// IIS 8.5 and later (Windows Server 2012 R2 on, the Exchange 2016/2019 servers), then IIS 7
    /// to 8 (no `cs(Referer)`). A line's field count picks one.
    public static let defaultW3CLayouts: [[String]] = [
        ["date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username", "c-ip",
         "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken"],
        ["date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username", "c-ip",
         "cs(User-Agent)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken"],
    ]

    /// Whether `line` starts `YYYY-MM-DD?HH:MM:SS`, `?` being `separator` (a space in W3C, `T` in ISO 8601).
    static func startsWithTimestamp(_ line: some StringProtocol, separator: UInt8) -> Bool {
        let u = Array(line.utf8.prefix(19))
        guard u.count == 19 else { return false }
        for (i, b) in u.enumerated() {
            switch i {
            case 4, 7: if b != 0x2D { return false }
            case 10: if b != separator { return false }
            case 13, 16: if b != 0x3A { return false }
            default: if !(48...57).contains(b) { return false }
            }
        }
        return true
    }

    /// The default layout a headerless W3C data line fits: it starts with `YYYY-MM-DD HH:MM:SS`
    /// and has as many space-separated fields as the layout.
    public static func headerlessW3CLayout(_ line: some StringProtocol) -> [String]? {
        guard startsWithTimestamp(line, separator: 0x20), line.utf8.dropFirst(19).first == 0x20 else { return nil }
        let count = line.split(separator: " ", omittingEmptySubsequences: true).count
        return defaultW3CLayouts.first { $0.count == count }
    }

    /// IIS's FTP service (`FTPSVC<n>`) writes these fields by default.
    public static let defaultFTPLayout = ["date", "time", "c-ip", "cs-username", "s-ip", "s-port", "cs-method", "cs-uri-stem",
                                          "sc-status", "sc-win32-status", "sc-substatus", "x-session", "x-fullpath"]

    /// Column names that start a bare CSV header line in Exchange logs, lowercased.
    static let bareHeaderTimestampColumns = ["datetime", "timestamp", "date-time", "date"]
}

/// The log folders whose schema is known, so that a file there without its header is read as
/// what its folder holds rather than guessed from its column count.
public enum LogFolder: Sendable, Hashable {
    case httpProxy, ecpServer, ecpActivity, oabGenerator, iisWeb, iisFTP

    /// The format a headerless file of this folder has; nil where the folder does not say.
    public var headerlessFormat: LogFormat? {
        switch self {
        case .httpProxy: .exchangeCSV(logType: "HttpProxy Logs")
        case .ecpServer: .exchangeCSV(logType: "ECP Server Logs")
        case .oabGenerator: .text
        case .iisWeb, .iisFTP: .w3c
        case .ecpActivity: nil
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
