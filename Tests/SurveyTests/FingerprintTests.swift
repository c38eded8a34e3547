import ExchangeBuilds
import Foundation
import Survey
import Testing

@Suite(.timeLimit(.minutes(20))) struct FingerprintTests {
    @Test func exportToolManifestGivesTheFullBuild() {
        let xml = """
        <?xml version="1.0" encoding="utf-8"?>
        <asmv1:assembly manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1">
          <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="15.2.792.10" publicKeyToken="b1d1a6c45aa418ce" />
        </asmv1:assembly>
        """
        let o = Fingerprint.exportTool(Array(xml.utf8))
        #expect(o?.build?.description == "15.2.792.10")
        #expect(Fingerprint.exportTool(Array("<assemblyIdentity version=\"15.2.x.10\"/>".utf8)) == nil)
        #expect(Fingerprint.exportTool(Array("<assemblyIdentity name=\"a\"".utf8)) == nil)
    }

    @Test func logonPagePathsGiveTheHighestCULevel() {
        let html = #"<link href="/owa/auth/15.1.2106/themes/resources/favicon.ico"><script src="/owa/auth/15.1.2176/scripts/premium/flogon.js"></script>"#
        let o = Fingerprint.owaPath(Array(html.utf8))
        #expect(o?.cuLevel.description == "15.1.2176")
        #expect(o?.build == nil)
        #expect(Fingerprint.owaPath(Array("/owa/auth/15.1.2176.14/themes/x".utf8))?.build?.description == "15.1.2176.14")
        #expect(Fingerprint.owaPath(Array("/owa/auth/logon.aspx /owa/auth/999999999999/".utf8)) == nil)
    }

    @Test func headerAndExchangeMarkers() {
        let r = ProbeResponse(status: 200, headers: [("x-owa-version", " 15.0.1497.2 ")], body: [])
        #expect(Fingerprint.owaHeader(r)?.build?.description == "15.0.1497.2")
        #expect(Fingerprint.looksLikeExchange(r))
        let redirect = ProbeResponse(status: 302, headers: [("Location", "/owa/auth/logon.aspx?url=x")], body: [])
        #expect(Fingerprint.looksLikeExchange(redirect))
        let iis = ProbeResponse(status: 200, headers: [("Server", "Microsoft-IIS/10.0")], body: Array("<title>IIS Windows Server</title>".utf8))
        #expect(!Fingerprint.looksLikeExchange(iis))
        #expect(Fingerprint.owaHeader(ProbeResponse(status: 200, headers: [("X-OWA-Version", "15.1.\u{1b}[31m")], body: [])) == nil)
    }
}
