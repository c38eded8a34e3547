import Foundation
import Testing
@testable import YARA
import TestSupport

let shared = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
let ownRules = repoRoot.appendingPathComponent("Rules/yara/exchange_webshells.yar")

func yaraFiles(_ dir: URL) -> [URL] {
    (FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
        .filter { ["yar", "yara"].contains($0.pathExtension.lowercased()) }.sorted { $0.path < $1.path }
}

func compileOwn() throws -> YaraRules {
    let (rules, errors) = YaraRules.compile([(ownRules, "exchange_webshells.yar")])
    #expect(errors.isEmpty, "\(errors)")
    return try #require(rules)
}

@Suite(.timeLimit(.minutes(20))) struct YaraTests {
    @Test func ownRulesFindTheShellFamilyAndStaySilentOnExchangePages() throws {
        let scanner = try YaraScanner(rules: try compileOwn())
        let positives: [(String, String)] = [
            ("EXHUNT_ASPX_ChinaChopper_UnsafeEval", #"<script language="JScript" runat="server">function Page_Load(){eval(Request["klk123456"],"unsafe");}</script>"#),
            ("EXHUNT_ASPX_ChinaChopper_UnsafeEval", #"<%@ Page Language="Jscript"%><script runat=server>eval(Request.Item['p'],'unsafe');</script>"#),
            ("EXHUNT_ASPX_PageLoad_Eval", "<script language=\"JScript\" runat=\"server\">\nfunction Page_Load(){ eval(Request.Form[\"z\"]); }\n</script>"),
            ("EXHUNT_ASPX_OAB_VirtualDirectory_Dump_Script", "Name : OAB (Default Web Site)\r\nPollInterval : 480\r\nOfflineAddressBooks :\r\nExternalUrl : http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"a\"],\"unsafe\");}</script>\r\n"),
            ("EXHUNT_ASPX_Base64_Loader", #"<%@ Page Language="C#" %><script runat="server">void Page_Load(){ System.Reflection.Assembly.Load(Convert.FromBase64String(Request.Form["d"])).CreateInstance("X"); }</script>"#),
            ("EXHUNT_ASPX_Command_Runner", #"<%@ Page Language="C#" %><% var p = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + Request.QueryString["c"]); %>"#),
            ("EXHUNT_Dropper_OneLiner_WebShell_Write", #"cmd /c echo ^<script language="JScript" runat="server"^>... > C:\inetpub\wwwroot\aspnet_client\x.aspx"#),
            // Families from public reports, rebuilt from their descriptions.
            ("EXHUNT_XSLT_Script_Shell", """
                <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:msxsl="urn:schemas-microsoft-com:xslt" xmlns:u="urn:u">
                <msxsl:script language="C#" implements-prefix="u"><![CDATA[public string x(string c){ var p = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + c); p.RedirectStandardOutput = true; p.UseShellExecute = false; return System.Diagnostics.Process.Start(p).StandardOutput.ReadToEnd(); }]]></msxsl:script>
                <xsl:template match="/"><xsl:value-of select="u:x(string(/r/c))"/></xsl:template></xsl:stylesheet>
                """),
            ("EXHUNT_XSLT_Script_Shell", #"<%@ Page Language="C#" %><% var t = new System.Xml.Xsl.XslCompiledTransform(); t.Load(System.Xml.XmlReader.Create(new System.IO.StringReader(Request.Form["x"])), new System.Xml.Xsl.XsltSettings(true, true), null); %>"#),
            ("EXHUNT_ASPX_Process_From_Request", """
                <%@ Page Language="VB" %>
                <script runat="server">
                Sub Run(sender As Object, e As EventArgs)
                    Dim p As New Process()
                    p.StartInfo.FileName = Request.Form("f")
                    p.StartInfo.Arguments = Request.Form("a")
                    p.StartInfo.UseShellExecute = False
                    p.StartInfo.RedirectStandardOutput = True
                    p.Start()
                    output.Text = p.StandardOutput.ReadToEnd()
                End Sub
                </script>
                """),
            ("EXHUNT_ASPX_Process_From_Request", """
                <%@ Page Language="C#" %><script runat="server">void R(object s, EventArgs e){ var i = new System.Diagnostics.ProcessStartInfo(cmd.Text); i.RedirectStandardOutput = true; i.UseShellExecute = false; o.Text = System.Diagnostics.Process.Start(i).StandardOutput.ReadToEnd(); }</script>
                <form runat="server"><asp:TextBox id="cmd" runat="server" /><asp:Button OnClick="R" runat="server" /><asp:Label id="o" runat="server" /></form>
                """),
            ("EXHUNT_ASPX_Reflective_Loader", #"<%@ Page Language="C#" %><% var b = Request.BinaryRead(Request.ContentLength); System.Reflection.Assembly.Load(b).CreateInstance("P").Equals(this); %>"#),
            ("EXHUNT_ASPX_Upload_Or_File_Manager", #"<%@ Page Language="C#" %><% if (Request.Files.Count > 0) { Request.Files[0].SaveAs(Request.Form["path"]); } %>"#),
            ("EXHUNT_ASPX_Upload_Or_File_Manager", #"<%@ Page Language="C#" %><% var d = Request.QueryString["d"]; foreach (var f in System.IO.Directory.GetFiles(d)) Response.Write(f); if (Request["del"] != null) System.IO.File.Delete(Request["del"]); %>"#),
        ]
        for (rule, text) in positives {
            let hits = try scanner.scan(Array(text.utf8)).map(\.rule)
            #expect(hits.contains(rule), "\(rule) missed: \(text)")
        }
        // UTF-16LE copies of a shell are found too (the OAB dump is often written as UTF-16).
        let wide = positives[3].1.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(try scanner.scan([0xFF, 0xFE] + wide).contains { $0.rule == "EXHUNT_ASPX_OAB_VirtualDirectory_Dump_Script" })
        // Exchange's own logon page, an admin's OAB settings export, a web.config: silence.
        let negatives = [
            "<%@ Page language=\"c#\" AutoEventWireup=\"false\" Inherits=\"Microsoft.Exchange.HttpProxy.Logon\" %>\n<form action=\"/owa/auth.owa\" method=\"POST\"><input name=\"username\"></form>",
            "Name : OAB (Default Web Site)\r\nPollInterval : 480\r\nExternalUrl : https://mail.contoso.com/OAB\r\n",
            "<configuration><system.webServer><httpRedirect enabled=\"false\" /></system.webServer></configuration>",
            // Benign twins of the new families: a stylesheet with no script, a page transforming a
            // fixed server file with scripts off, a page listing a fixed folder, an upload saved to a
            // fixed folder under a name the server makes, a page that only reads process counters.
            #"<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><xsl:value-of select="/r"/></xsl:template></xsl:stylesheet>"#,
            #"<%@ Page Language="C#" %><% var t = new System.Xml.Xsl.XslCompiledTransform(); t.Load(Server.MapPath("~/report.xslt")); t.Transform(Server.MapPath("~/data.xml"), null, Response.Output); %>"#,
            #"<%@ Page Language="C#" %><% foreach (var f in System.IO.Directory.GetFiles(Server.MapPath("~/App_Data"))) Response.Write(System.IO.Path.GetFileName(f)); %>"#,
            #"<%@ Page Language="C#" %><% if (FileUpload1.HasFile) { FileUpload1.PostedFile.SaveAs(Server.MapPath("~/uploads/") + Guid.NewGuid()); } %>"#,
            #"<%@ Page Language="C#" %><% Response.Write(System.Diagnostics.Process.GetCurrentProcess().WorkingSet64); %>"#,
        ]
        for text in negatives {
            #expect(try scanner.scan(Array(text.utf8)).isEmpty, "\(text)")
        }
        let m = try #require(try scanner.scan(Array(positives[0].1.utf8)).first)
        #expect(m.meta["author"] == "exhunt")
        #expect(m.source == "exchange_webshells.yar")
        #expect(m.strings.contains { $0.identifier == "$eval" && $0.offset == 63 })
    }

    /// The corpus (Tests/Corpus/webshells): every shell in `shells/<RULE>/` is matched by that
    /// rule, every benign page by none of exhunt's rules.
    @Test func corpusShellsMatchTheirFamilyAndBenignTwinsNothing() throws {
        let scanner = try YaraScanner(rules: try compileOwn())
        let corpus = repoRoot.appendingPathComponent("Tests/Corpus/webshells")
        let fm = FileManager.default
        var shells = 0
        for family in try fm.contentsOfDirectory(atPath: corpus.appendingPathComponent("shells").path) {
            let folder = corpus.appendingPathComponent("shells/\(family)")
            for name in try fm.contentsOfDirectory(atPath: folder.path) {
                let hits = try scanner.scan([UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))).map(\.rule)
                #expect(hits.contains(family), "\(family)/\(name): \(hits)")
                shells += 1
            }
        }
        #expect(shells >= 25)
        let benign = corpus.appendingPathComponent("benign")
        let names = try fm.contentsOfDirectory(atPath: benign.path)
        #expect(names.count >= 15)
        for name in names {
            let hits = try scanner.scan([UInt8](try Data(contentsOf: benign.appendingPathComponent(name)))).map(\.rule)
            #expect(hits.isEmpty, "benign \(name) matched \(hits)")
        }
    }

    @Test func badRuleFileIsReportedWithLineAndOthersStillCompile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yara-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bad = dir.appendingPathComponent("bad.yar")
        try "rule ok_one { condition: true }\n\nrule broken {\n  strings: $a = \"x\"\n  condition: $b\n}\n".write(to: bad, atomically: true, encoding: .utf8)
        let (rules, errors) = YaraRules.compile([(bad, "bad.yar"), (ownRules, "own.yar")])
        let r = try #require(rules)
        // The bad file is left out whole; every rule of the own file compiles.
        let own = try String(contentsOf: ownRules, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("rule ") }.count
        #expect(own >= 10)
        #expect(r.ruleCount == own)
        let e = try #require(errors.first)
        #expect(e.file == "bad.yar")
        #expect((5...6).contains(e.line), "libyara reports the undefined string at the rule's end")
        #expect(e.message.contains("$b"))
    }

    @Test func timeoutsAndEmptyInputAreHandled() throws {
        let scanner = try YaraScanner(rules: try compileOwn())
        #expect(try scanner.scan([UInt8]()).isEmpty)
    }

    /// Every signature-base rule file compiles through exhunt, and the matches equal the yara
    /// CLI's on the same files with the same external variables.
    @Test(.enabled(if: hasSharedData, "needs ../shared"), .enabled(if: yaraCommand != nil, "needs the yara command (Scripts/setup.sh --tests)"))
    func signatureBaseCompilesAndMatchesLikeTheYaraCLI() throws {
        let dir = shared.appendingPathComponent("data/Neo23x0__signature-base/yara")
        let files = yaraFiles(dir)
        #expect(!files.isEmpty)
        let (rules, errors) = YaraRules.compile(files.map { ($0, $0.lastPathComponent) })
        #expect(errors.filter { !$0.isWarning }.isEmpty, "\(errors.filter { !$0.isWarning }.prefix(5))")
        let compiled = try #require(rules)
        // Every rule declared in the files is in the compiled set.
        let declared = try files.reduce(0) { n, f in
            n + String(decoding: try Data(contentsOf: f), as: UTF8.self).split(separator: "\n")
                .filter { $0.range(of: #"^\s*((private|global)\s+)*rule\s+\w+"#, options: .regularExpression) != nil }.count
        }
        #expect(compiled.ruleCount == declared)
        let yara = try #require(yaraCommand)
        // Targets: exhunt's sample evidence and the shared rule and IOC files themselves (rule
        // text matches many rules' own strings), scanned by both engines.
        var targets = (FileManager.default.enumerator(at: repoRoot.appendingPathComponent("Samples/compromised-server"), includingPropertiesForKeys: [.isRegularFileKey])?
            .compactMap { $0 as? URL }.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true } ?? [])
        targets += files.filter { $0.lastPathComponent.contains("hafnium") || $0.lastPathComponent.contains("proxyshell") || $0.lastPathComponent.contains("chinachopper") }
        targets += [shared.appendingPathComponent("data/cisagov__CHIRP/indicators/AA21-062A/AA21062A.yaml"),
                    shared.appendingPathComponent("data/sbousseaden__EVTX-ATTACK-SAMPLES/Command and Control/Tunna_rdp_tunnel_IIS.log")]
        let scanner = try YaraScanner(rules: compiled)
        var ours = Set<String>()
        for t in targets {
            let bytes = [UInt8](try Data(contentsOf: t))
            for m in try scanner.scan(bytes) { ours.insert("\(m.rule) \(t.path)") }
        }
        // The CLI: every rule file, the same empty externals, one run per target.
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("yara-cli-\(UUID().uuidString).yar")
        try files.map { "include \"\($0.path)\"" }.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        var theirs = Set<String>()
        for t in targets {
            let text = try run(yara, ["-w", "-d", "filename=", "-d", "filepath=", "-d", "extension=", "-d", "filetype=", "-d", "owner=", list.path, t.path]).text
            for line in text.split(separator: "\n") {
                guard let space = line.firstIndex(of: " ") else { continue }
                theirs.insert("\(line[..<space]) \(t.path)")
            }
        }
        #expect(!theirs.isEmpty)
        #expect(ours == theirs, "only exhunt: \(ours.subtracting(theirs).prefix(5)) only yara: \(theirs.subtracting(ours).prefix(5))")
    }
}
