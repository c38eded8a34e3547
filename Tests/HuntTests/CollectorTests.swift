import Evidence
import Foundation
import Testing
import TestSupport
import Yams
import ZIPFoundation

/// The KAPE target and the Velociraptor artifact in Integrations/ against what exhunt reads: each
/// collects every place exhunt looks and nothing it does not, and a collection made by their
/// rules from a server's disk, laid out as each tool lays it out, is hunted as the disk is.
struct CollectorTests {
    /// One KAPE target entry: a folder, whether below it too, and a file mask.
    struct KapeEntry {
        var path: String
        var recursive: Bool
        var mask: String

        func collects(_ windowsPath: String) -> Bool {
            let folder = path.lowercased().hasSuffix("\\") ? path.lowercased() : path.lowercased() + "\\"
            let p = windowsPath.lowercased()
            guard p.hasPrefix(folder) else { return false }
            let rest = p.dropFirst(folder.count)
            if !recursive && rest.contains("\\") { return false }
            let name = String(rest.split(separator: "\\").last ?? "")
            return (try? CollectorTests.glob(mask.lowercased(), separatorFree: true))?.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
        }
    }

    static func kape() throws -> [KapeEntry] {
        let text = try String(contentsOf: repoRoot.appendingPathComponent("Integrations/kape/Exchange-exhunt.tkape"), encoding: .utf8)
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect(doc["Id"] as? String != nil && doc["Description"] as? String != nil && doc["Version"] != nil)
        let targets = try #require(doc["Targets"] as? [[String: Any]])
        return try targets.map { t in
            KapeEntry(path: try #require(t["Path"] as? String), recursive: t["Recursive"] as? Bool ?? false, mask: t["FileMask"] as? String ?? "*")
        }
    }

    /// The artifact's globs, with its default install path, as Velociraptor expands them on
    /// Windows (case ignored; `**` any depth, `*` within a name, `{a,b}` either).
    static func velociraptor() throws -> [NSRegularExpression] {
        let text = try String(contentsOf: repoRoot.appendingPathComponent("Integrations/velociraptor/Exchange.Collect.Exhunt.yaml"), encoding: .utf8)
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect(doc["name"] as? String == "Custom.Exchange.Collect.Exhunt" && doc["type"] as? String == "CLIENT")
        #expect(((doc["sources"] as? [[String: Any]])?.first?["query"] as? String)?.contains("upload(") == true)
        let parameters = try #require(doc["parameters"] as? [[String: Any]])
        let install = try #require(parameters.first { $0["name"] as? String == "ExchangeInstallPath" }?["default"] as? String)
        let csv = try #require(parameters.first { $0["name"] as? String == "Globs" }?["default"] as? String)
        let globs = csv.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        #expect(globs.count >= 10)
        return try globs.map { try glob($0.replacingOccurrences(of: "%ExchangeInstallPath%", with: install).lowercased(), separatorFree: false) }
    }

    static func glob(_ pattern: String, separatorFree: Bool) throws -> NSRegularExpression {
        var re = "^"
        var i = pattern.startIndex
        while i < pattern.endIndex {
            let c = pattern[i]
            let next = pattern.index(after: i)
            if c == "*", next < pattern.endIndex, pattern[next] == "*" {
                // `**\` is any number of folders, none included; a final `**` every file below.
                let after = pattern.index(after: next)
                if after < pattern.endIndex, pattern[after] == "\\" {
                    re += "(.*\\\\)?"
                    i = pattern.index(after: after)
                } else {
                    re += ".*"
                    i = after
                }
                continue
            }
            switch c {
            case "*": re += separatorFree ? ".*" : "[^\\\\]*"
            case "?": re += "."
            case "{": re += "("
            case "}": re += ")"
            case ",": re += "|"
            default: re += NSRegularExpression.escapedPattern(for: String(c))
            }
            i = next
        }
        return try NSRegularExpression(pattern: re + "$", options: [.caseInsensitive])
    }

    static func collected(_ path: String, kape entries: [KapeEntry]) -> Bool { entries.contains { $0.collects(path) } }
    static func collected(_ path: String, velociraptor globs: [NSRegularExpression]) -> Bool {
        let p = path.lowercased()
        return globs.contains { $0.firstMatch(in: p, range: NSRange(p.startIndex..., in: p)) != nil }
    }

    static let install = #"C:\Program Files\Microsoft\Exchange Server\V15"#
    /// A file in every place exhunt looks, as ArtifactLocation classifies it (event logs by extension).
    static let readPaths = [
        install + #"\Logging\HttpProxy\Owa\HttpProxy_2021030112-1.LOG"#,
        install + #"\Logging\HttpProxy\Ecp\HttpProxy_2021030112-1.LOG"#,
        install + #"\Logging\HttpProxy\Autodiscover\HttpProxy_2021020100-1.LOG.gz"#,
        install + #"\Logging\ECP\Server\ECPServer2021030112-1.LOG"#,
        install + #"\Logging\ECP\Activity\ECPActivity2021030112-1.LOG"#,
        install + #"\Logging\OABGeneratorLog\OABGenerator_2021030112-1.LOG"#,
        install + #"\Logging\MapiHttp\Mailbox\MapiHttp_2021030112-1.LOG"#,
        install + #"\Logging\CmdletInfra\Others\Cmdlet_2021030112-1.csv"#,
        #"C:\inetpub\logs\LogFiles\W3SVC1\u_ex210301.log"#,
        #"C:\inetpub\logs\LogFiles\W3SVC2\u_ex210301.log"#,
        #"C:\inetpub\wwwroot\aspnet_client\supp0rt.aspx"#,
        #"C:\inetpub\wwwroot\aspnet_client\system_web\log.aspx"#,
        install + #"\FrontEnd\HttpProxy\owa\auth\errorEE.aspx"#,
        install + #"\FrontEnd\HttpProxy\ecp\auth\TimeoutLogout.aspx"#,
        install + #"\ClientAccess\ecp\web.config"#,
        install + #"\ClientAccess\OAB\4b2c1a2f-0c1e-4a3c-9d6e-1f2a3b4c5d6e\oab.xml"#,
        #"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files\owa\e22c2559\92c7e946\App_Web_ylxr0nk0.dll"#,
        #"C:\Windows\System32\inetsrv\config\applicationHost.config"#,
        #"C:\root\lsass.dmp"#,
        #"C:\Windows\Temp\lsass.zip"#,
        #"C:\ProgramData\VSPerfMon\test.exe"#,
        #"C:\Windows\System32\winevt\Logs\MSExchange Management.evtx"#,
        #"C:\Windows\System32\winevt\Logs\Security.evtx"#,
        #"C:\Windows\System32\winevt\Logs\Microsoft-Windows-PowerShell%4Operational.evtx"#,
    ]
    /// What exhunt does not read, and a collection should not carry (mailbox databases are terabytes).
    static let unreadPaths = [
        install + #"\Mailbox\Mailbox Database 0123456789\Mailbox Database 0123456789.edb"#,
        #"C:\Windows\System32\config\SAM"#,
        #"C:\Users\alice\NTUSER.DAT"#,
        install + #"\Bin\Microsoft.Exchange.Store.Worker.exe"#,
        install + #"\Logging\Diagnostics\DailyPerformanceLogs\ExchangeDiagnosticsDailyPerformanceLog_03010000.blg"#,
    ]

    @Test func collectorsCoverEveryPlaceExhuntReadsAndNothingElse() throws {
        let kape = try Self.kape()
        let velociraptor = try Self.velociraptor()
        for path in Self.readPaths {
            #expect(ArtifactLocation.classify(path) != .other || path.lowercased().hasSuffix(".evtx"), "exhunt reads \(path)")
            #expect(Self.collected(path, kape: kape), "KAPE target misses \(path)")
            #expect(Self.collected(path, velociraptor: velociraptor), "Velociraptor artifact misses \(path)")
        }
        for path in Self.unreadPaths {
            #expect(!Self.collected(path, kape: kape), "KAPE target takes \(path)")
            #expect(!Self.collected(path, velociraptor: velociraptor), "Velociraptor artifact takes \(path)")
        }
    }

    /// The compromised sample's C\ tree as a server's disk.
    static func disk() -> [(relative: String, windowsPath: String, url: URL)] {
        let root = repoRoot.appendingPathComponent("Samples/compromised-server/C")
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [(String, String, URL)] = []
        for case let file as URL in walker where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let rel = String(file.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            out.append((rel, "C:\\" + rel.replacingOccurrences(of: "/", with: "\\"), file))
        }
        return out
    }

    static func hunt(_ path: URL) throws -> (verdict: String, rules: Set<String>) {
        let json = try tempDir("collector-hunt").appendingPathComponent("r.json")
        let r = try run(productBinary("exhunt"), ["hunt", path.path, "--host", "exch01", "-o", json.path, "--quiet", "--no-progress"])
        #expect(r.status == 1, "\(String(decoding: r.stderr, as: UTF8.self))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let findings = report["findings"] as? [[String: Any]] ?? []
        return (report["verdict"] as? String ?? "", Set(findings.compactMap { ($0["rule"] as? [String: Any])?["id"] as? String }))
    }

    @Test func collectionsLaidOutAsEachToolLaysThemOutAreHuntedAsTheDisk() throws {
        let disk = Self.disk()
        #expect(disk.count > 100)
        let kape = try Self.kape()
        let velociraptor = try Self.velociraptor()
        let whole = try Self.hunt(repoRoot.appendingPathComponent("Samples/compromised-server/C").deletingLastPathComponent())
        #expect(whole.verdict == "compromised")

        // KAPE: <tdest>\C\<path>, the files its target selects.
        let dir = try tempDir()
        let kapeOut = dir.appendingPathComponent("kape")
        for f in disk where Self.collected(f.windowsPath, kape: kape) {
            try put(kapeOut, "C/" + f.relative, try Data(contentsOf: f.url))
        }
        let byKape = try Self.hunt(kapeOut)
        #expect(byKape.verdict == whole.verdict)
        #expect(byKape.rules == whole.rules, "\(whole.rules.symmetricDifference(byKape.rules))")

        // Velociraptor: the collection zip, uploads/auto/C%3A/<path>.
        let zip = dir.appendingPathComponent("Collection-exch01.zip")
        let archive = try Archive(url: zip, accessMode: .create)
        for f in disk where Self.collected(f.windowsPath, velociraptor: velociraptor) {
            try archive.addEntry(with: "uploads/auto/C%3A/" + f.relative, fileURL: f.url, compressionMethod: .deflate)
        }
        let byVelociraptor = try Self.hunt(zip)
        #expect(byVelociraptor.verdict == whole.verdict)
        #expect(byVelociraptor.rules == whole.rules, "\(whole.rules.symmetricDifference(byVelociraptor.rules))")
    }
}
