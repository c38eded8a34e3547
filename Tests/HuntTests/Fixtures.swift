import Foundation
import Hunt
import HuntCore
import TestSupport

let samples = repoRoot.appendingPathComponent("Samples")

func hunt(_ url: URL, windowStart: String? = nil) async throws -> HostReport {
    var config = HuntConfiguration(evidence: url)
    config.jobs = 2
    if let windowStart { config.windowOverride = ISO8601DateFormatter().date(from: windowStart + "T00:00:00Z")! }
    return try await Hunter(configuration: config, detectors: try await Detectors.load(builtin: true, extra: [])).run()
}

extension HostReport {
    func ids(atLeast: Severity = .informational) -> Set<String> {
        Set(findings.filter { $0.severity >= atLeast }.map(\.rule.id))
    }
    func findings(_ id: String) -> [Finding] { findings.filter { $0.rule.id == id } }
    /// Hits of a rule: findings aggregate them (`count`).
    func hits(_ id: String) -> Int { findings(id).reduce(0) { $0 + $1.count } }
}

enum RuleID {
    static let backend = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2601"
    static let ssrf = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2602"
    static let probe = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2603"
    static let cookie = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2604"
    static let reset = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2605"
    static let ecpMarkup = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2606"
    static let oab = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2607"
    static let iisShell = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2611"
    static let iisShellProbe = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2612"
    static let iisEntry = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2613"
    static let chopper = "EXHUNT_ASPX_ChinaChopper_UnsafeEval"
    static let oabDump = "EXHUNT_ASPX_OAB_VirtualDirectory_Dump_Script"
    static let lsass = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2623"
    static let archive = "6d1f0a52-6b1e-4c55-9f0e-1a2b7e0d2624"
}

/// Exchange 2013 CU3-era HttpProxy columns: no UrlHost, `ClientIPAddress` spelled differently
/// from later versions, LF line ends, no bare header line. Written here, not by the sample
/// generator, so the rules are tested on a layout they were not written against.
enum Exchange2013 {
    static let fields = "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIPAddress,ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingHint,BackendCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,ActivityContextLifeTime,ModuleToHandlerSwitching,FirstResponseByteReceived,ProxyTime,RequestHandlerLatency,HandlerToModuleSwitching,HttpProxyOverhead,TotalRequestTime,UrlQuery,GenericInfo,GenericErrors"

    static func log(_ rows: [[String: String]], version: String = "15.00.0847.032") -> String {
        let names = fields.split(separator: ",").map(String.init)
        var out = "#Software: Microsoft Exchange Server\n#Version: \(version)\n#Log-type: HttpProxy Logs\n#Date: 2021-01-01T00:00:00.000Z\n#Fields: \(fields)\n"
        for row in rows {
            out += names.map { n in
                let v = row[n] ?? ""
                return v.contains(",") ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
            }.joined(separator: ",") + "\n"
        }
        return out
    }

    /// One ordinary row every `hours` hours from `start` (`YYYY-MM-DD`) for `days` days: logs
    /// without a gap.
    static func steady(from start: String, days: Int, every hours: Int = 6) -> [[String: String]] {
        let t0 = ISO8601DateFormatter().date(from: start + "T00:00:00Z")!
        return (0..<(days * 24 / hours)).map { i in
            ordinary(ISO8601DateFormatter().string(from: t0.addingTimeInterval(Double(i * hours) * 3600)).replacingOccurrences(of: "Z", with: ".000Z"), i)
        }
    }

    /// A CVE-2021-26855 request through the X-BEResource cookie to the MAPI back end, as the
    /// attackers' requests were logged.
    static func ssrf(_ t: String, _ i: Int) -> [String: String] {
        var row = ordinary(t, i)
        row["AnchorMailbox"] = "ServerInfo~a]@EXCH01.contoso.local:444/mapi/emsmdb/?#"
        row["UrlStem"] = "/ecp/y.js"
        row["RoutingHint"] = "X-BEResource-Cookie"
        row["AuthenticatedUser"] = ""
        return row
    }

    /// `rows` and `extra` in time order, as one log holds them.
    static func merged(_ rows: [[String: String]], _ extra: [[String: String]]) -> [[String: String]] {
        (rows + extra).sorted { ($0["DateTime"] ?? "") < ($1["DateTime"] ?? "") }
    }

    static func ordinary(_ t: String, _ i: Int) -> [String: String] {
        ["DateTime": t, "RequestId": "req\(i)", "Protocol": "Owa", "UrlStem": "/owa/service.svc", "AuthenticatedUser": "CONTOSO\\user\(i % 9)",
         "AnchorMailbox": i % 2 == 0 ? "Sid~S-1-5-21-99-\(i)" : "ServerVersion~15.0.847", "UserAgent": "Mozilla/5.0 (Windows NT 6.1)",
         "ClientIPAddress": "192.0.2.\(i % 250)", "HttpStatus": "200", "Method": "POST",
         "GenericInfo": "BeginRequest=\(t);CorrelationID=<empty>;ProxyState-Run=None;"]
    }
}
