public import HuntCore
public import Foundation

/// Writes Test-ProxyLogon.ps1's own output files (names and columns) for runbooks that expect
/// them. Each hit goes where its rule's `exhunt.tpl` says, as it is found: the files are complete
/// (one row per hit, not per aggregated finding) and written in constant memory. Values are quoted
/// as PowerShell's Export-Csv quotes them, and guarded against spreadsheet formulas.
///
/// The host's name (`EXCH01-Cve-2021-26855.csv`, other.csv's `ComputerName`) is the report's, which
/// the evidence decides only at the end: files are streamed under provisional names and renamed
/// by `finish`, and other.csv is written there from the report's findings, whose file times are
/// never a collection's copy time.
public final class TestProxyLogonCSV: HitStream, @unchecked Sendable {
    static let requestColumns = ["DateTime", "RequestId", "ClientIPAddress", "UrlHost", "UrlStem", "RoutingHint",
                                 "UserAgent", "AnchorMailbox", "HttpStatus"]
    static let ageColumns: [(String, String)] = [
        ("OabGen", "OABGeneratorLog"), ("Ecp", "ECP/Server"), ("AutoDProxy", "HttpProxy/Autodiscover"),
        ("EasProxy", "HttpProxy/Eas"), ("EcpProxy", "HttpProxy/Ecp"), ("EwsProxy", "HttpProxy/Ews"),
        ("MapiProxy", "HttpProxy/Mapi"), ("OabProxy", "HttpProxy/Oab"), ("OwaProxy", "HttpProxy/Owa"),
        ("OwaCalendarProxy", "HttpProxy/OwaCalendar"), ("PowershellProxy", "HttpProxy/PowerShell"),
        ("RpcHttpProxy", "HttpProxy/RpcHttp"),
    ]
    /// The path lists hold each path once; past this many distinct paths a path may repeat.
    static let distinctPathLimit = 100_000

    private let directory: URL
    /// Until `finish`, files are named with this prefix.
    private let provisional = ".exhunt-partial-\(UUID().uuidString.lowercased())-"
    private var host: String?
    private let lock = NSLock()
    private var files: [String: OutputFile] = [:]
    private var order: [String] = []
    private var seen: [String: Set<String>] = [:]

    /// Creates `directory` if needed; files appear as their first row is found.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
    }

    /// The names of the files, once `finish` has named them.
    public var written: [String] {
        lock.lock()
        defer { lock.unlock() }
        guard let host else { return [] }
        return order.map { "\(host)-\($0)" }
    }

    /// A host name as a file name's first part.
    static func fileName(_ host: String) -> String {
        let cleaned = host.map { c -> Character in
            c == "/" || c == "\\" || c == ":" || c.asciiValue.map { $0 < 0x20 } == true ? "_" : c
        }
        return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "unknown" : String(cleaned)
    }

    public func hit(_ f: Finding) throws {
        switch f.tpl {
        case "Cve-2021-26855", "Cve-2021-27065-ResetVDir":
            try row("\(f.tpl ?? "").csv", header: Self.requestColumns, Self.requestColumns.map { field(f, $0) })
        case "Cve-2021-26857":
            try row("Cve-2021-26857.csv", header: ["TimeCreated", "MachineName", "Message"],
                    [f.timestamp.map(Self.iso) ?? "", field(f, "Computer"), f.evidence.excerpt])
        case "Cve-2021-26858":
            try line("Cve-2021-26858.log", f.evidence.path)
            if let p = f.extracted["path"] { try line("Cve-2021-26858-DownloadPaths.log", p) }
        case "Cve-2021-27065":
            try line("Cve-2021-27065.log", f.evidence.path)
        default:
            return
        }
    }

    /// Writes other.csv and LogAgeDays.csv (they need the host's name, the final file times and
    /// the whole coverage), closes the files and gives them the host's name.
    public func finish(_ r: HostReport) throws {
        let host = Self.fileName(r.host)
        lock.lock()
        self.host = host
        lock.unlock()
        for f in r.findings where f.tpl == "LsassDump" || f.tpl == "SuspiciousArchive" {
            let path = field(f, "Path").isEmpty ? f.evidence.path : field(f, "Path")
            let name = path.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last.map(String.init) ?? path
            try row("other.csv", header: ["ComputerName", "Type", "Path", "Name", "LastWrite"],
                    [r.host, f.tpl ?? "", path, name, f.timestamp.map(Self.iso) ?? ""])
        }
        // Log age, relative to the newest timestamp in the evidence (the collection time is unknown offline).
        let newest = r.coverage.compactMap(\.latest).max() ?? r.generatedAt
        let ages = Self.ageColumns.map { _, source in
            r.coverage.first { $0.source.lowercased() == source.lowercased() }?.earliest
                .map { String(format: "%.1f", newest.timeIntervalSince($0) / 86_400) } ?? ""
        }
        try row("LogAgeDays.csv", header: Self.ageColumns.map(\.0), ages)
        lock.lock()
        defer { lock.unlock() }
        for f in files.values { try f.close() }
        files = [:]
        let fm = FileManager.default
        for name in order {
            let final = directory.appendingPathComponent("\(host)-\(name)")
            try? fm.removeItem(at: final)
            try fm.moveItem(at: directory.appendingPathComponent(provisional + name), to: final)
        }
    }

    /// Writes every finding of a finished report (each once, whatever its count), for reports
    /// read back from JSON. Returns the file names.
    @discardableResult
    public static func write(_ r: HostReport, to directory: URL) throws -> [String] {
        let s = try TestProxyLogonCSV(directory: directory)
        for f in r.findings { try s.hit(f) }
        try s.finish(r)
        return s.written
    }

    private func file(_ name: String, header: [String]?) throws -> OutputFile {
        if let f = files[name] { return f }
        let f = try OutputFile(directory.appendingPathComponent(provisional + name))
        if let header { try f.append(Data(Self.quoted(header).utf8)) }
        files[name] = f
        order.append(name)
        return f
    }

    private func row(_ name: String, header: [String], _ values: [String]) throws {
        lock.lock()
        defer { lock.unlock() }
        try file(name, header: header).append(Data(Self.quoted(values).utf8))
    }

    /// One path per line, each once.
    private func line(_ name: String, _ value: String) throws {
        lock.lock()
        defer { lock.unlock() }
        var known = seen[name] ?? []
        guard !known.contains(value) else { return }
        if known.count < Self.distinctPathLimit { known.insert(value); seen[name] = known }
        try file(name, header: nil).append(Data((TerminalText.sanitize(value, limit: 4096) + "\r\n").utf8))
    }

    private func field(_ f: Finding, _ name: String) -> String {
        if name == "DateTime", let t = f.timestamp { return Self.iso(t) }
        return f.fields.first { $0.key.lowercased() == name.lowercased() }?.value ?? ""
    }

    static func quoted(_ values: [String]) -> String {
        values.map { v in
            let safe = CSVField.escape(v)
            return safe.hasPrefix("\"") ? safe : "\"" + safe + "\""
        }.joined(separator: ",") + "\r\n"
    }

    private static func iso(_ d: Date) -> String { ISOTime.string(d, milliseconds: false) }
}
