import Foundation
import Testing
import Crypto
import RuleUpdates
import TestSupport
import ZIPFoundation

private let openssl = installed(["/usr/bin/openssl"])
private let exhunt = productBinary("exhunt")

/// `exhunt rules update` end to end: archives built here, served over HTTPS by a server of the
/// test's own on loopback (behind a redirect, as GitHub's archives are), installed into a cache
/// of the test's own, and hunted with.
@Suite(.serialized, .timeLimit(.minutes(20))) struct RuleUpdateTests {
    /// An HTTPS file server on 127.0.0.1 (python3's http.server with the test's certificate) that
    /// answers `/moved/X` with a redirect to `/X` and logs every request.
    final class Server {
        let child: Child
        let port: Int
        let cert: String

        init(root: URL, dir: URL) throws {
            let key = dir.appendingPathComponent("key.pem").path
            cert = dir.appendingPathComponent("cert.pem").path
            let made = try run(#require(openssl), ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                   "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                                                   "-addext", "subjectAltName=IP:127.0.0.1"])
            #expect(made.status == 0)
            let script = dir.appendingPathComponent("server.py")
            try Data("""
                import functools, http.server, ssl, sys
                root, cert, key = sys.argv[1:4]
                class Handler(http.server.SimpleHTTPRequestHandler):
                    def do_GET(self):
                        print("GET", self.path, flush=True)
                        if self.path.startswith("/moved/"):
                            self.send_response(302)
                            self.send_header("Location", self.path[len("/moved"):])
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
                        super().do_GET()
                    def log_message(self, *args):
                        pass
                server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(cert, key)
                server.socket = context.wrap_socket(server.socket, server_side=True)
                print("PORT", server.server_address[1], flush=True)
                server.serve_forever()
                """.utf8).write(to: script)
            child = try Child([try #require(pythonCommand), "-u", script.path, root.path, cert, key], environment: [:],
                              log: dir.appendingPathComponent("server.log"))
            try child.waitFor("\n", seconds: 20)
            let line = child.output.split(separator: "\n").first { $0.hasPrefix("PORT ") }
            port = try #require(line.flatMap { Int($0.dropFirst(5)) })
        }

        func url(_ path: String) -> String { "https://127.0.0.1:\(port)/\(path)" }
        var requests: [String] { child.output.split(separator: "\n").filter { $0.hasPrefix("GET ") }.map { String($0.dropFirst(4)) } }
    }

    /// A zip of `files` (archive path → bytes), deflated, as GitHub's archives are.
    static func zip(_ files: [(String, Data)], to url: URL) throws {
        let archive = try Archive(url: url, accessMode: .create)
        for (path, data) in files {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
    }

    /// Every file under `folder`, as archive paths under `prefix`.
    static func files(under folder: URL, prefix: String) throws -> [(String, Data)] {
        let base = folder.standardizedFileURL.path
        let all = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])?.compactMap { $0 as? URL } ?? []
        return try all.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .map { (prefix + $0.standardizedFileURL.path.dropFirst(base.count + 1), try Data(contentsOf: $0)) }
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    /// A source list as exhunt reads it (JSON is YAML).
    static func write(_ sources: [RuleSource], to url: URL) throws {
        try JSONEncoder().encode(["sources": sources]).write(to: url)
    }

    static func exhuntRun(_ args: [String], cache: URL) throws -> ProgramOutput {
        try run(exhunt, args, environment: ["EXHUNT_RULES_CACHE": cache.path])
    }

    static func installed(_ cache: URL) throws -> [RuleCache.Installed] { try RuleCache(root: cache).installed() }

    /// The shipped pins are the SHA-256 of the files of ../shared, which were copied byte for
    /// byte at the pinned commits; a release downloaded from GitHub is checked against the same.
    @Test(.enabled(if: hasSharedData && openssl != nil && pythonCommand != nil, "needs ../shared, openssl and python3"))
    func installsThePinnedReleasesOverHTTPSAndHuntsWithThem() throws {
        let dir = try tempDir()
        let served = dir.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        let shipped = try RuleSourceList.shipped()
        var sources: [RuleSource] = []
        for var source in shipped.sources {
            let upstream = sharedData.appendingPathComponent(source.name == "sigma" ? "SigmaHQ__sigma" : "Neo23x0__signature-base")
            // The archive GitHub serves for the commit: every file under one top folder; more
            // than is taken (the set's other folders must be left out).
            let top = "\(source.name)-\(source.version)/"
            let archive = served.appendingPathComponent("\(source.name).zip")
            try Self.zip(try Self.files(under: upstream, prefix: top), to: archive)
            source.url = "https://127.0.0.1:0/moved/\(source.name).zip"
            source.sha256 = Self.sha256(try Data(contentsOf: archive))
            sources.append(source)
        }
        let server = try Server(root: served, dir: dir)
        for i in sources.indices { sources[i].url = server.url("moved/\(sources[i].name).zip") }
        let list = dir.appendingPathComponent("sources.yml")
        try Self.write(sources, to: list)
        let cache = dir.appendingPathComponent("cache")

        // Without trusting the test's certificate, nothing is fetched.
        let untrusted = try Self.exhuntRun(["rules", "update", "--sources", list.path], cache: cache)
        #expect(untrusted.status == 1)
        #expect(try Self.installed(cache).isEmpty)

        let update = try Self.exhuntRun(["rules", "update", "--sources", list.path, "--ca-file", server.cert], cache: cache)
        #expect(update.status == 0, "\(update.text)\(String(decoding: update.stderr, as: UTF8.self))")
        #expect(update.text.contains("sigma: installed"))
        #expect(update.text.contains("signature-base: installed"))
        let sets = try Self.installed(cache)
        #expect(Set(sets.map(\.name)) == ["sigma", "signature-base"])
        for s in sets {
            let pinned = try #require(shipped.sources.first { $0.name == s.name })
            #expect(s.contentSHA256 == pinned.contentSHA256)
            #expect(s.source.licence.contains("DRL"))
            // Only what is taken: no regression data, no deprecated rules, no iocs.
            let folder = RuleCache(root: cache).folder(of: s)
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            #expect(names == (s.name == "sigma" ? ["LICENSE", "rules", "rules-emerging-threats"] : ["LICENSE", "yara"]))
        }
        let requests = server.requests
        #expect(requests.contains("/moved/sigma.zip") && requests.contains("/sigma.zip"), "\(requests)")

        // A second update with the same pins downloads nothing.
        let again = try Self.exhuntRun(["rules", "update", "--sources", list.path, "--ca-file", server.cert], cache: cache)
        #expect(again.status == 0)
        #expect(again.text.contains("sigma: up to date"))
        #expect(server.requests.count == requests.count)

        // A hunt loads the sets by default; their findings name the set and its licence.
        let report = dir.appendingPathComponent("r.json")
        let hunt = try Self.exhuntRun(["hunt", repoRoot.appendingPathComponent("Samples/compromised-server").path,
                                       "-o", report.path, "--quiet"], cache: cache)
        #expect(hunt.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        let findings = (json["findings"] as? [[String: Any]]) ?? []
        let fromSets = findings.compactMap { $0["rule"] as? [String: Any] }.filter { $0["ruleSet"] != nil }
        #expect(!fromSets.isEmpty)
        #expect(fromSets.allSatisfy { ($0["licence"] as? String)?.contains("(DRL) 1.1") == true })
        #expect(fromSets.contains { ($0["ruleSet"] as? String)?.hasPrefix("signature-base@") == true })
        let plain = try Self.exhuntRun(["hunt", repoRoot.appendingPathComponent("Samples/compromised-server").path,
                                        "-o", report.path, "--quiet", "--no-downloaded-rules"], cache: cache)
        #expect(plain.status == 1)
        let plainJSON = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        #expect(((plainJSON["findings"] as? [[String: Any]]) ?? []).allSatisfy { ($0["rule"] as? [String: Any])?["ruleSet"] == nil })
    }

    /// A small set of the test's own, pinned, then served changed or hostile: nothing is
    /// installed, the set installed before stays, nothing is left in the cache or outside it.
    @Test(.enabled(if: openssl != nil && pythonCommand != nil, "needs openssl and python3"))
    func refusesWhatDoesNotMatchItsPins() throws {
        let dir = try tempDir()
        let served = dir.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        let rule = Data("""
            title: Test rule
            id: 5a0f7b8e-1d2c-4c3b-9a8e-2f1d3c4b5a60
            logsource: { product: windows, service: security }
            detection: { selection: { EventID: 4624 }, condition: selection }
            level: low
            """.utf8)
        let good: [(String, Data)] = [("set-1/rules/a.yml", rule), ("set-1/LICENSE", Data("licence text\n".utf8)),
                                      ("set-1/other/ignored.txt", Data("not taken".utf8))]
        try Self.zip(good, to: served.appendingPathComponent("good.zip"))
        var changed = good
        changed[0].1 = Data(String(decoding: rule, as: UTF8.self).replacingOccurrences(of: "level: low", with: "level: critical").utf8)
        try Self.zip(changed, to: served.appendingPathComponent("changed.zip"))
        try Self.zip(good + [("set-1/rules/../../escaped.yml", rule)], to: served.appendingPathComponent("escaping.zip"))
        let server = try Server(root: served, dir: dir)

        let content = ContentDigest.of([("LICENSE", Self.sha256(Data("licence text\n".utf8))), ("rules/a.yml", Self.sha256(rule))])
        func source(_ file: String) -> RuleSource {
            RuleSource(name: "own", title: "Own rules", homepage: "https://example.org", author: "the test", licence: "CC0",
                       version: "1", url: server.url(file), strip: 1, sha256: nil, contentSHA256: content,
                       take: [.init(path: "rules/", kind: .sigma), .init(path: "LICENSE", kind: .licence)])
        }
        let cache = dir.appendingPathComponent("cache")
        let list = dir.appendingPathComponent("sources.yml")
        func update(_ file: String, force: Bool = true) throws -> ProgramOutput {
            try Self.write([source(file)], to: list)
            return try Self.exhuntRun(["rules", "update", "--sources", list.path, "--ca-file", server.cert] + (force ? ["--force"] : []), cache: cache)
        }
        let first = try update("good.zip")
        #expect(first.status == 0, "\(first.text)")
        let before = try Self.installed(cache)
        #expect(before.map(\.contentSHA256) == [content])

        let tampered = try update("changed.zip")
        #expect(tampered.status == 1)
        #expect(tampered.text.contains("verification failed"))
        let escaping = try update("escaping.zip")
        #expect(escaping.status == 1)
        #expect(escaping.text.contains("would leave its folder"))
        let missing = try update("absent.zip")
        #expect(missing.status == 1)
        #expect(missing.text.contains("404"))
        // A pin that is not a SHA-256, or a plain-HTTP URL, is a configuration error.
        var plain = source("good.zip")
        plain.url = "http://127.0.0.1:\(server.port)/good.zip"
        try Self.write([plain], to: list)
        #expect(try Self.exhuntRun(["rules", "update", "--sources", list.path], cache: cache).status == 2)

        #expect(try Self.installed(cache) == before)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("escaped.yml").path))
        #expect(!FileManager.default.fileExists(atPath: cache.deletingLastPathComponent().appendingPathComponent("escaped.yml").path))
        let left = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "\(left)")

        // The same archive carried in by hand is checked against the same pins.
        try Self.write([source("good.zip")], to: list)
        let byHand = try Self.exhuntRun(["rules", "update", "--sources", list.path, "--force",
                                         "--archive", "own=" + served.appendingPathComponent("changed.zip").path], cache: cache)
        #expect(byHand.status == 1)
        let listing = try Self.exhuntRun(["rules", "installed"], cache: cache)
        #expect(listing.text.contains("own\t1\t2 files"))
    }
    /// Microsoft's baselines as a downloaded set (kind `baselines`): installed from an archive of
    /// the test's own and loaded by the hunt as `--baselines` would be.
    @Test(.enabled(if: openssl != nil && pythonCommand != nil, "needs openssl and python3"))
    func baselinesInstalledAsASetJudgeTheHunt() throws {
        let dir = try tempDir()
        let served = dir.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        let fine = Data("<html><body>Fine</body></html>\n".utf8)
        let csv = Data("\(Self.sha256(fine).uppercased()),15.1.2176.2,\\FrontEnd\\HttpProxy\\owa\\auth\\fine.aspx\r\n\(String(repeating: "A", count: 64)),15.1.2176.2,\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx\r\n".utf8)
        try Self.zip([("CSS-Exchange-1/Security/src/Baselines/baseline_15.1.2176.2.csv", csv), ("CSS-Exchange-1/LICENSE", Data("MIT\n".utf8))],
                     to: served.appendingPathComponent("css.zip"))
        let server = try Server(root: served, dir: dir)
        let content = ContentDigest.of([("LICENSE", Self.sha256(Data("MIT\n".utf8))),
                                        ("Security/src/Baselines/baseline_15.1.2176.2.csv", Self.sha256(csv))])
        let source = RuleSource(name: "exchange-baselines", title: "Microsoft's Exchange baselines", homepage: "https://example.org", author: "Microsoft",
                                licence: "MIT", version: "1", url: server.url("moved/css.zip"), strip: 1, sha256: nil, contentSHA256: content,
                                take: [.init(path: "Security/src/Baselines/", kind: .baselines), .init(path: "LICENSE", kind: .licence)])
        let cache = dir.appendingPathComponent("cache")
        let list = dir.appendingPathComponent("sources.yml")
        try Self.write([source], to: list)
        let update = try Self.exhuntRun(["rules", "update", "--sources", list.path, "--ca-file", server.cert], cache: cache)
        #expect(update.status == 0, "\(update.text)")

        let v15 = "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth"
        let root = dir.appendingPathComponent("EXCH01")
        try put(root, "\(v15)/fine.aspx", fine)
        try put(root, "\(v15)/logon.aspx", "<html>changed</html>\n")
        try put(root, "\(v15)/15.1.2176.2/readme.txt", "themes\n")
        let json = dir.appendingPathComponent("r.json")
        let hunt = try Self.exhuntRun(["hunt", root.path, "-o", json.path, "--quiet", "--no-progress", "--host", "EXCH01"], cache: cache)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any], "\(hunt.text)")
        let findings = (report["findings"] as? [[String: Any]] ?? []).map { f in
            ((f["evidence"] as? [String: Any])?["path"] as? String ?? "", (f["rule"] as? [String: Any])?["title"] as? String ?? "")
        }
        #expect(findings.contains { $0.0.hasSuffix("logon.aspx") && $0.1.hasPrefix("One of Exchange's pages") }, "\(findings)")
        #expect(!findings.contains { $0.0.hasSuffix("fine.aspx") }, "\(findings)")
        // Left out with the other downloaded sets.
        let without = try Self.exhuntRun(["hunt", root.path, "-o", json.path, "--quiet", "--no-progress", "--host", "EXCH01", "--no-downloaded-rules"], cache: cache)
        let bare = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any], "\(without.text)")
        #expect(!((bare["findings"] as? [[String: Any]]) ?? []).contains { (($0["rule"] as? [String: Any])?["title"] as? String ?? "").hasPrefix("One of Exchange's pages") })
    }
}
