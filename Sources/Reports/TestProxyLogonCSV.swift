public import HuntCore
public import Foundation

/// Writes Test-ProxyLogon.ps1's own output files (names and columns) for runbooks that expect
/// them. Each finding goes where its rule's `exhunt.tpl` says. Values are quoted as PowerShell's
/// Export-Csv quotes them, and guarded against spreadsheet formulas.
public enum TestProxyLogonCSV {
    static let requestColumns = ["DateTime", "RequestId", "ClientIPAddress", "UrlHost", "UrlStem", "RoutingHint",
                                 "UserAgent", "AnchorMailbox", "HttpStatus"]
    static let ageColumns: [(String, String)] = [
        ("OabGen", "OABGeneratorLog"), ("Ecp", "ECP/Server"), ("AutoDProxy", "HttpProxy/Autodiscover"),
        ("EasProxy", "HttpProxy/Eas"), ("EcpProxy", "HttpProxy/Ecp"), ("EwsProxy", "HttpProxy/Ews"),
        ("MapiProxy", "HttpProxy/Mapi"), ("OabProxy", "HttpProxy/Oab"), ("OwaProxy", "HttpProxy/Owa"),
        ("OwaCalendarProxy", "HttpProxy/OwaCalendar"), ("PowershellProxy", "HttpProxy/PowerShell"),
        ("RpcHttpProxy", "HttpProxy/RpcHttp"),
    ]

    /// Writes the files into `directory` and returns their names.
    @discardableResult
    public static func write(_ r: HostReport, to directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let host = r.host.replacingOccurrences(of: "/", with: "_")
        var written: [String] = []
        func put(_ name: String, _ text: String) throws {
            let file = "\(host)-\(name)"
            try Data(text.utf8).write(to: directory.appendingPathComponent(file))
            written.append(file)
        }
        func quoted(_ values: [String]) -> String {
            values.map { v in
                let safe = CSVField.escape(v)
                return safe.hasPrefix("\"") ? safe : "\"" + safe + "\""
            }.joined(separator: ",") + "\r\n"
        }
        func field(_ f: Finding, _ name: String) -> String {
            if name == "DateTime", let t = f.timestamp { return iso(t) }
            return f.fields.first { $0.key.lowercased() == name.lowercased() }?.value ?? ""
        }
        func byTpl(_ name: String) -> [Finding] { r.findings.filter { $0.tpl == name } }

        // Log age, relative to the newest timestamp in the evidence (the collection time is unknown offline).
        let newest = r.coverage.compactMap(\.latest).max() ?? r.generatedAt
        var ages: [String] = []
        for (_, source) in ageColumns {
            if let earliest = r.coverage.first(where: { $0.source.lowercased() == source.lowercased() })?.earliest {
                ages.append(String(format: "%.1f", newest.timeIntervalSince(earliest) / 86_400))
            } else {
                ages.append("")
            }
        }
        try put("LogAgeDays.csv", quoted(ageColumns.map(\.0)) + quoted(ages))

        for (tpl, file) in [("Cve-2021-26855", "Cve-2021-26855.csv"), ("Cve-2021-27065-ResetVDir", "Cve-2021-27065-ResetVDir.csv")] {
            let rows = byTpl(tpl)
            guard !rows.isEmpty else { continue }
            try put(file, quoted(requestColumns) + rows.map { f in quoted(requestColumns.map { field(f, $0) }) }.joined())
        }
        let e26857 = byTpl("Cve-2021-26857")
        if !e26857.isEmpty {
            try put("Cve-2021-26857.csv", quoted(["TimeCreated", "MachineName", "Message"])
                    + e26857.map { quoted([$0.timestamp.map(iso) ?? "", field($0, "Computer"), $0.evidence.excerpt]) }.joined())
        }
        let e26858 = byTpl("Cve-2021-26858")
        if !e26858.isEmpty {
            try put("Cve-2021-26858.log", unique(e26858.map(\.evidence.path)).joined(separator: "\r\n") + "\r\n")
            try put("Cve-2021-26858-DownloadPaths.log", unique(e26858.compactMap { $0.extracted["path"] }).joined(separator: "\r\n") + "\r\n")
        }
        let e27065 = byTpl("Cve-2021-27065")
        if !e27065.isEmpty {
            try put("Cve-2021-27065.log", unique(e27065.map(\.evidence.path)).joined(separator: "\r\n") + "\r\n")
        }
        let other = r.findings.filter { $0.tpl == "LsassDump" || $0.tpl == "SuspiciousArchive" }
        if !other.isEmpty {
            try put("other.csv", quoted(["ComputerName", "Type", "Path", "Name", "LastWrite"]) + other.map { f in
                let path = field(f, "Path").isEmpty ? f.evidence.path : field(f, "Path")
                let name = path.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last.map(String.init) ?? path
                return quoted([r.host, f.tpl ?? "", path, name, f.timestamp.map(iso) ?? ""])
            }.joined())
        }
        return written
    }

    private static func unique(_ list: [String]) -> [String] {
        var seen = Set<String>()
        return list.filter { seen.insert($0).inserted }
    }

    private static func iso(_ d: Date) -> String { ISOTime.string(d, milliseconds: false) }
}
