import Foundation
import HuntCore

/// Exchange 2016 CU19-era HttpProxy log lines (74 columns).
enum HttpProxy {
    static let columns = "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus"

    static func header(date: Date, bareHeader: Bool = true) -> String {
        (bareHeader ? columns + "\r\n" : "")
            + "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n"
            + "#Date: \(Fmt.iso(date))\r\n#Fields: \(columns)\r\n"
    }

    struct Request {
        var time: Date
        var protocolName: String
        var urlStem: String
        var anchor = ""
        var userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML  like Gecko) Chrome/88.0.4324.190 Safari/537.36"
        var clientIP = "10.20.1.15"
        var status = 200
        var method = "GET"
        var user = ""
        var backEndCookie = ""
        var routingHint = ""
        var urlQuery = ""
    }

    static let users = ["CORP\\alice", "CORP\\bob", "CORP\\carol", "CORP\\dave", "CORP\\erin", "CORP\\svc-backup"]
    static let stems = ["Owa": ["/owa/", "/owa/service.svc", "/owa/ev.owa2", "/owa/auth/logon.aspx", "/owa/auth/15.1.2176/themes/resources/favicon.ico"],
                        "Ews": ["/EWS/Exchange.asmx", "/EWS/Exchange.asmx/s"],
                        "Mapi": ["/mapi/emsmdb/", "/mapi/nspi/"],
                        "Autodiscover": ["/Autodiscover/Autodiscover.xml", "/autodiscover/autodiscover.json"],
                        "Ecp": ["/ecp/", "/ecp/DDI/DDIService.svc/GetList", "/ecp/15.1.2176.2/scripts/common.js"],
                        "Eas": ["/Microsoft-Server-ActiveSync/default.eas"],
                        "RpcHttp": ["/rpc/rpcproxy.dll"]]

    static func ordinary(time: Date, protocolName: String, rng: inout SplitMix) -> Request {
        let user = users[Int(rng.next() % UInt64(users.count))]
        let list = stems[protocolName] ?? ["/owa/"]
        var r = Request(time: time, protocolName: protocolName, urlStem: list[Int(rng.next() % UInt64(list.count))])
        r.user = user
        r.anchor = rng.next() % 3 == 0 ? "SMTP:\(user.dropFirst(5))@corp.example" : "Sid~S-1-5-21-1004336348-1177238915-682003330-\(1100 + rng.next() % 50)"
        r.clientIP = "10.20.\(rng.next() % 8).\(2 + rng.next() % 250)"
        r.method = rng.next() % 4 == 0 ? "POST" : "GET"
        r.status = rng.next() % 25 == 0 ? 401 : 200
        r.routingHint = "Sid~S-1-5-21-1004336348-1177238915-682003330-1105"
        r.backEndCookie = rng.next() % 2 == 0 ? "MailboxGuid~1f0c3b2a-8e33-4d6c-9a52-\(String(rng.next() % 0xffffffffffff, radix: 16))" : ""
        return r
    }

    static func line(_ r: Request, rng: inout SplitMix) -> String {
        let a = rng.next(), b = rng.next()
        let hex = String(a, radix: 16).leftPad(16) + String(b, radix: 16).leftPad(16)
        let h = Array(hex)
        let reqId = String(h[0..<8]) + "-" + String(h[8..<12]) + "-4" + String(h[13..<16]) + "-a" + String(h[17..<20]) + "-" + String(h[20..<32])
        var v: [String: String] = [
            "DateTime": Fmt.iso(r.time), "RequestId": reqId, "MajorVersion": "15", "MinorVersion": "1",
            "BuildVersion": "2176", "RevisionVersion": "2", "Protocol": r.protocolName, "UrlHost": "mail.corp.example",
            "UrlStem": r.urlStem, "AuthenticationType": r.user.isEmpty ? "" : "Negotiate",
            "IsAuthenticated": r.user.isEmpty ? "False" : "True", "AuthenticatedUser": r.user, "AnchorMailbox": r.anchor,
            "UserAgent": r.userAgent, "ClientIpAddress": r.clientIP, "ServerHostName": "EXCH01",
            "HttpStatus": String(r.status), "BackEndStatus": String(r.status), "Method": r.method, "ProxyAction": "Proxy",
            "TargetServer": "exch01.corp.local", "TargetServerVersion": "15.01.2176.002", "RoutingType": "Intra",
            "RoutingHint": r.routingHint, "BackEndCookie": r.backEndCookie, "UrlQuery": r.urlQuery,
            "TargetOutstandingRequests": "1",
            "GenericInfo": "BeginRequest=\(Fmt.iso(r.time));CorrelationID=<empty>;ProxyState-Run=None;ServerLocatorCall=\(reqId);FEAuth=BEVersion-1941997020;",
        ]
        for name in ["RequestBytes", "ResponseBytes", "HttpPipelineLatency", "CalculateTargetBackEndLatency", "ADLatency",
                     "ActivityContextLifeTime", "ProxyTime", "CoreLatency", "RoutingLatency", "HttpProxyOverhead",
                     "TotalRequestTime", "BackendProcessingLatency", "ClientRespStreamLatency"] {
            v[name] = String(rng.next() % 900)
        }
        let f = columns.split(separator: ",").map { v[String($0)] ?? "" }
        return f.joined(separator: ",") + "\r\n"
    }
}

/// ECP Server log (`Logging\ECP\Server\ECPServer<date>-1.LOG`).
enum ECPServer {
    static func header(_ d: Date) -> String {
        "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n#Date: \(Fmt.iso(d))\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"
    }

    /// `cmd` is the cmdlet as ECP serializes it; quotes are doubled the way the log does.
    static func line(_ d: Date, cmd: String, url: String) -> String {
        let data = "S:TIME=\(Int(d.timeIntervalSince1970) % 890 + 10);S:SID=S-1-5-21-1004336348-1177238915-682003330-500;'S:CMD=\(cmd.replacingOccurrences(of: "'", with: "''"))';S:REQID=;S:URL=\(url);S:REFERRER=;S:EX=;S:ACTID=7d1a7c40-3a52-4d36-8c3e-6c5a1b6f7d20;S:RS=0;S:BLD=15.1.2176.2"
        return "\(Fmt.iso(d)),EXCH01,ECP.Request,\"\(data.replacingOccurrences(of: "\"", with: "\"\""))\"\r\n"
    }
}

/// IIS W3C extended log with Exchange's front-end query suffix.
enum IIS {
    static func header(_ d: Date) -> String {
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: \(Fmt.utc(d, "yyyy-MM-dd HH:mm:ss"))\r\n"
            + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"
    }

    static func line(_ d: Date, method: String, stem: String, query: String = "", user: String = "-", ip: String,
                     ua: String, status: Int, sub: Int = 0, win32: Int = 0) -> String {
        let q = query.isEmpty ? "&CorrelationID=<empty>;&cafeReqId=\(Fmt.guid(d, stem));" : query
        return "\(Fmt.utc(d, "yyyy-MM-dd HH:mm:ss")) 10.20.0.10 \(method) \(stem) \(q) 443 \(user) \(ip) \(ua.replacingOccurrences(of: " ", with: "+")) - \(status) \(sub) \(win32) \(Int(d.timeIntervalSince1970) % 397 + 3)\r\n"
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
