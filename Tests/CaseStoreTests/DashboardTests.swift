import CaseStore
import Dashboard
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HuntCore
import Testing
import TestSupport

/// `exhunt serve` for real: the binary on a loopback port of its own, a case store written by
/// the test, pages read by headless Chromium and requests sent over a real socket.
@Suite("Dashboard (exhunt serve)", .serialized, .timeLimit(.minutes(20)))
struct DashboardTests {
    /// Strings an attacker can put into what the evidence says.
    static let scriptHost = "<script>document.title='PWNED'</script>exch-x"
    static let imgPath = "C:\\inetpub\\wwwroot\\aspnet_client\\\"><img src=x onerror=\"document.title='PWNED'\">.aspx"
    static let jsAgent = "javascript:document.title='PWNED'"

    /// A case with a known fleet: two compromised hosts sharing an attacker (one fell first), a
    /// clean one, one whose every string is hostile, and survey records.
    static func fleet(_ dir: URL) async throws -> (db: String, caseName: String) {
        let db = dir.appendingPathComponent("fleet.db").path
        let caseName = "dash"
        let store = try await CaseStore.open(.sqlite(path: db), caseName: caseName, analyst: "builder")
        let t0 = Date(timeIntervalSince1970: 1_614_470_400)  // 2021-02-28
        _ = try await store.ingest(report(host: "exch-a", attackers: ["203.0.113.7", "198.51.100.3"], firstHit: t0.addingTimeInterval(3_600)), context: context)
        _ = try await store.ingest(report(host: "exch-b", attackers: ["203.0.113.7"], shells: [("C:\\inetpub\\wwwroot\\aspnet_client\\x.aspx", String(repeating: "b", count: 64))],
                                          firstHit: t0), context: context)
        _ = try await store.ingest(report(host: "exch-c", verdict: .clean), context: context)
        var hostile = report(host: scriptHost, attackers: ["192.0.2.66"], shells: [(imgPath, String(repeating: "c", count: 64))], firstHit: t0.addingTimeInterval(7_200))
        hostile.findings[0].fields["UserAgent"] = jsAgent
        hostile.findings[0].evidence.excerpt = "<script>document.title='PWNED'</script>"
        hostile.verdictReasons = ["<img src=x onerror=\"document.title='PWNED'\">"]
        _ = try await store.ingest(hostile, context: context)
        let records = [
            #"{"target":"mail.example.org","ip":"192.0.2.10","port":443,"exchange":true,"build":"15.1.2176.2","status":{"proxylogon":"vulnerable"},"webshells":[],"time":"2021-03-09T10:00:00Z"}"#,
            #"{"target":"owa.example.net","ip":"192.0.2.11","port":443,"exchange":true,"build":"15.2.858.5","status":{"proxylogon":"patched"},"webshells":["/aspnet_client/s.aspx"],"time":"2021-03-09T10:00:01Z"}"#,
        ]
        _ = try await store.ingestSurvey(lines: records, context: context, origin: "test")
        try await store.close()
        return (db, caseName)
    }

    /// The server, started as a user would, on a free port; its address from its first line.
    final class Server {
        let child: Child
        let url: String

        init(_ dir: URL, _ args: [String]) throws {
            child = try Child([productBinary("exhunt").path, "serve", "--port", "0", "--poll", "1"] + args, environment: ["EXHUNT_ANALYST": "alice"],
                              log: dir.appendingPathComponent("serve-\(UUID().uuidString).log"))
            try child.waitFor("listening on ", seconds: 60)
            let line = child.output.split(separator: "\n").first { $0.contains("listening on ") } ?? ""
            url = String(line.split(separator: " ").first { $0.hasPrefix("http") } ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        }
    }

    // MARK: - HTTP over a real socket

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
        /// The session cookie the server set, as a Cookie header value.
        var cookie: String? {
            headers["Set-Cookie"].flatMap { $0.split(separator: ";").first.map(String.init) }
        }
    }

    /// Redirects are answers to look at, not to follow; cookies are sent only as the test says.
    final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.httpShouldSetCookies = false
        c.httpCookieAcceptPolicy = .never
        return URLSession(configuration: c, delegate: NoRedirects(), delegateQueue: nil)
    }()

    static func send(_ url: String, method: String = "GET", cookie: String? = nil, form: [String: String]? = nil,
                     headers: [String: String] = [:]) async throws -> Reply {
        var r = URLRequest(url: try #require(URL(string: url)))
        r.httpMethod = method
        if let cookie { r.setValue(cookie, forHTTPHeaderField: "Cookie") }
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        if let form {
            var c = URLComponents()
            c.queryItems = form.map { URLQueryItem(name: $0.key, value: $0.value) }
            // URLComponents leaves + and & inside values as they are; a form body must not.
            let body = (c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            r.httpBody = Data(body.utf8)
            r.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: r)
        let http = try #require(response as? HTTPURLResponse)
        var h: [String: String] = [:]
        for (k, v) in http.allHeaderFields { if let k = k as? String, let v = v as? String { h[k] = v } }
        return Reply(status: http.statusCode, headers: h, body: String(decoding: data, as: UTF8.self))
    }

    /// The CSRF token a page would carry for this cookie (none: before signing in, or without accounts).
    static func token(_ base: String, cookie: String? = nil) async throws -> String {
        let r = try await send(base + "/api/session", cookie: cookie)
        #expect(r.headers["Set-Cookie"] == nil, "asking for a token creates no session")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        return try #require(o["csrf"] as? String)
    }

    // MARK: - Tests

    @Test("Headless Chromium sees the fleet's hosts, verdicts and findings; hostile strings stay text and run nothing; the overview is not blank",
          .enabled(if: chromiumCommand != nil, "needs chromium (Scripts/setup.sh --tests)"),
          .enabled(if: pythonCommand != nil, "needs python3 (reads the screenshot)"))
    func pagesInABrowser() async throws {
        let chromium = try #require(chromiumCommand)
        let dir = try tempDir()
        let (db, caseName) = try await Self.fleet(dir)
        let server = try Server(dir, ["--case", db, "--case-name", caseName])
        func headless(_ args: [String]) throws -> String {
            try run(URL(fileURLWithPath: chromium), ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                                     "--user-data-dir=\(dir.appendingPathComponent("profile").path)"] + args).text
        }
        func dom(_ path: String) throws -> String { try headless(["--virtual-time-budget=3000", "--dump-dom", server.url + path]) }

        let overview = try dom("/")
        #expect(overview.contains("<title>Fleet · exhunt</title>"), "a script from evidence changed the title")
        #expect(!overview.contains("PWNED</title>"))
        for (host, verdict) in [("exch-a", "compromised"), ("exch-b", "compromised"), ("exch-c", "clean")] {
            #expect(overview.contains("class=\"tile \(verdict)\" href=\"/host?h=\(host)\""), "\(host) \(verdict)")
        }
        // Family cells say their verdict in text, not colour alone.
        #expect(overview.contains("aria-label=\"proxylogon: compromised\">C</span>"))
        #expect(overview.contains("aria-label=\"proxylogon: clean\">✓</span>"))
        // exch-b fell first (its first hit is an hour before exch-a's).
        let order = try #require(overview.range(of: "The order hosts fell in")).upperBound
        let b = try #require(overview.range(of: "exch-b", range: order..<overview.endIndex)).lowerBound
        let a = try #require(overview.range(of: "exch-a", range: order..<overview.endIndex)).lowerBound
        #expect(b < a)
        #expect(overview.contains("&lt;script&gt;document.title='PWNED'&lt;/script&gt;exch-x"), "the hostile host name shown as text")
        #expect(!overview.contains("<script>document.title"))
        // Survey exposure as the public surveys counted it.
        #expect(overview.contains("<b>2</b> exposed Exchange servers, <b>1</b> unpatched, <b>1</b> backdoored"))

        let hostile = try dom("/host?h=" + Self.scriptHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        #expect(hostile.contains("<title>&lt;script&gt;document.title='PWNED'&lt;/script&gt;exch-x · exhunt</title>"))
        #expect(!hostile.contains("<img src=\"x\""), "an img element was made from evidence")
        #expect(!hostile.contains("href=\"javascript:"), "a javascript: link was made from evidence")
        #expect(hostile.contains("user-agent: javascript:document.title='PWNED'"), "the hostile user agent is shown as text")
        #expect(hostile.contains("\"&gt;&lt;img src=x onerror=\"document.title='PWNED'\"&gt;.aspx"), "the hostile path is shown as text")

        let host = try dom("/host?h=exch-a")
        #expect(host.contains("<span class=\"badge compromised\">compromised</span> exch-a"))
        #expect(host.contains("Findings (2)"))
        #expect(host.contains("href=\"/pivot?kind=address&amp;value=203.0.113.7\""))

        // The pivot from the shared attacker address finds both hosts.
        let pivot = try dom("/pivot?kind=address&value=203.0.113.7")
        #expect(pivot.contains("on 2 hosts"))
        #expect(pivot.contains(">exch-a<") && pivot.contains(">exch-b<"))
        // ... and lists the findings that name it, with their hosts and log lines.
        #expect(pivot.contains("Findings that name it (2)"), "\(pivot.suffix(2000))")
        #expect(pivot.contains("line from 203.0.113.7"))
        #expect(pivot.contains("Logging/HttpProxy/Ecp/a.LOG:10"))
        #expect(pivot.contains("href=\"/host?h=exch-b#findings\""))
        // A value only seen says so instead of an empty table.
        let seenOnly = try dom("/pivot?kind=address&value=198.51.100.99")
        #expect(seenOnly.contains("Findings that name it (0)"))

        // The host page draws its own findings over time; its bars open the timeline kept to it.
        #expect(host.contains("id=\"host-timeline\""))
        #expect(host.contains("class=\"bar compromised\""))
        #expect(host.contains("h=exch-a"))
        #expect(host.contains("href=\"/export/report?h=exch-a\""))

        // A web shell is found by its name alone, whatever its case.
        let search = try dom("/search?q=X.ASPX")
        #expect(search.contains("aspnet_client\\x.aspx</a> on 1 hosts") || search.contains("aspnet_client/x.aspx</a> on 1 hosts"), "\(search.suffix(1500))")

        // The timeline draws a bar per stretch, each a link that zooms into it.
        let timeline = try dom("/timeline")
        #expect(timeline.contains("<svg"))
        #expect(timeline.contains("class=\"bar compromised\""))
        #expect(timeline.contains("findings in this range"))
        #expect(timeline.contains("<option value=\"proxylogon\">proxylogon</option>"))
        // Filtered by host (any case of its name) and family: only its rows, its own span.
        let one = try dom("/timeline?h=EXCH-B&family=proxylogon")
        #expect(one.contains("Timeline of exch-b for proxylogon"))
        #expect(one.contains(">exch-b</a>") && !one.contains(">exch-a</a>"))
        #expect(one.contains("<h2>1 findings in this range</h2>"), "exch-b: its address; its shell belongs to no family")
        #expect(one.contains("<option value=\"proxylogon\" selected=\"\">") || one.contains("<option value=\"proxylogon\" selected>"))

        let shot = dir.appendingPathComponent("overview.png")
        _ = try headless(["--window-size=1280,1000", "--screenshot=\(shot.path)", server.url + "/"])
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try nonBackgroundFraction(png) > 0.02, "the screenshot looks blank")
        withExtendedLifetime(server) {}
    }

    @Test("A forged POST without the CSRF token, or from another site, is refused; an override with its token lands in the audit log")
    func csrfAndAudit() async throws {
        let dir = try tempDir()
        let (db, caseName) = try await Self.fleet(dir)
        let server = try Server(dir, ["--case", db, "--case-name", caseName])
        let csrf = try await Self.token(server.url)
        let cookie: String? = nil
        let override = ["host": "exch-c", "action": "override", "value": "compromised", "reason": "web shell found by hand"]

        let forged = try await Self.send(server.url + "/host/action", method: "POST", cookie: cookie, form: override)
        #expect(forged.status == 403, "\(forged.status) \(forged.body)")
        let wrong = try await Self.send(server.url + "/host/action", method: "POST", cookie: cookie, form: override.merging(["csrf": "x" + csrf]) { $1 })
        #expect(wrong.status == 403)
        let crossSite = try await Self.send(server.url + "/host/action", method: "POST", cookie: cookie, form: override.merging(["csrf": csrf]) { $1 },
                                            headers: ["Sec-Fetch-Site": "cross-site"])
        #expect(crossSite.status == 403)

        let before = try await Self.send(server.url + "/api/changes", cookie: cookie)
        let ok = try await Self.send(server.url + "/host/action", method: "POST", cookie: cookie, form: override.merging(["csrf": csrf]) { $1 })
        #expect(ok.status == 303, "\(ok.status) \(ok.body)")
        #expect(ok.headers["Location"] == "/host?h=exch-c#history")
        let after = try await Self.send(server.url + "/api/changes", cookie: cookie)
        #expect(before.body != after.body, "the change mark moves, so open pages learn of it")

        let store = try await CaseStore.open(.sqlite(path: db), caseName: caseName, analyst: "check")
        let audit = try await store.auditLog()
        let hosts = try await store.hosts()
        try await store.close()
        let entry = try #require(audit.first { $0.action == "override" })
        #expect(entry.who == "alice" && entry.subject == "exch-c" && entry.detail == "compromised: web shell found by hand")
        #expect(audit.filter { $0.action == "override" }.count == 1, "the refused requests recorded nothing")
        #expect(hosts.first { $0.host == "exch-c" }?.verdict == .compromised)

        // A malformed action is refused as such, and records nothing.
        let malformed = try await Self.send(server.url + "/host/action", method: "POST", cookie: cookie, form: ["csrf": csrf, "action": "note"])
        #expect(malformed.status == 400)
        let unknownHost = try await Self.send(server.url + "/host/action", method: "POST", cookie: cookie,
                                              form: ["csrf": csrf, "host": "nobody", "action": "note", "value": "x"])
        #expect(unknownHost.status == 400)
        // The same through the JSON API, with the token as a header.
        let note = try await Self.send(server.url + "/api/host/action", method: "POST", cookie: cookie,
                                       form: ["host": "exch-c", "action": "note", "value": "<b>re-imaged</b>"], headers: ["X-CSRF-Token": csrf])
        #expect(note.status == 200, "\(note.body)")
        let page = try await Self.send(server.url + "/host?h=exch-c", cookie: cookie)
        #expect(page.body.contains("&lt;b&gt;re-imaged&lt;/b&gt;"))
        #expect(page.headers["Content-Security-Policy"]?.contains("script-src 'self'") == true)
        withExtendedLifetime(server) {}
    }

    @Test("Bound to another address it needs accounts; without a session pages and API refuse; sign-in is throttled; a reader only reads")
    func accountsOffLoopback() async throws {
        let dir = try tempDir()
        let (db, caseName) = try await Self.fleet(dir)
        // Refused outright without accounts.
        let refused = try run(productBinary("exhunt"), ["serve", "--case", db, "--bind", "127.0.0.2", "--port", "0"])
        #expect(refused.status == 2)
        #expect(String(decoding: refused.stderr, as: UTF8.self).contains("needs accounts"))

        let users = dir.appendingPathComponent("users.txt")
        for (name, role, password) in [("alice", "analyst", "correct horse battery"), ("rita", "reader", "reading glasses 42")] {
            let p = Process()
            p.executableURL = productBinary("exhunt")
            p.arguments = ["serve", "add-user", "--users", users.path, "--role", role, name]
            let input = Pipe()
            p.standardInput = input
            try p.run()
            input.fileHandleForWriting.write(Data((password + "\n").utf8))
            try input.fileHandleForWriting.close()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        let stored = try String(contentsOf: users, encoding: .utf8)
        #expect(stored.contains("alice:analyst:$2") && !stored.contains("correct horse"), "only bcrypt hashes are stored")

        let server = try Server(dir, ["--case", db, "--case-name", caseName, "--bind", "127.0.0.2", "--users", users.path])
        #expect(server.url.hasPrefix("http://127.0.0.2:"))
        let page = try await Self.send(server.url + "/")
        #expect(page.status == 302 && page.headers["Location"]?.hasPrefix("/login") == true)
        let api = try await Self.send(server.url + "/api/hosts")
        #expect(api.status == 401)
        #expect(!api.body.contains("exch-a"))

        // Unauthenticated requests leave nothing behind (no session is made for them).
        #expect(page.headers["Set-Cookie"] == nil && api.headers["Set-Cookie"] == nil)
        // Signing in needs the sign-in form's token too.
        let csrf = try await Self.token(server.url)
        let tokenless = try await Self.send(server.url + "/login", method: "POST", form: ["user": "alice", "password": "correct horse battery"])
        #expect(tokenless.status == 403)
        // Five wrong passwords, then even the right one waits.
        for _ in 0..<5 {
            let r = try await Self.send(server.url + "/login", method: "POST", form: ["csrf": csrf, "user": "alice", "password": "wrong"])
            #expect(r.status == 401)
        }
        let throttled = try await Self.send(server.url + "/login", method: "POST",
                                            form: ["csrf": csrf, "user": "alice", "password": "correct horse battery"])
        #expect(throttled.status == 429 && throttled.headers["Retry-After"] != nil)

        // The throttle holds for this address on that server; a second server (its own throttle) lets the reader in.
        let readerServer = try Server(dir, ["--case", db, "--case-name", caseName, "--bind", "127.0.0.2", "--users", users.path])
        let t2 = try await Self.token(readerServer.url)
        let signedIn = try await Self.send(readerServer.url + "/login", method: "POST",
                                           form: ["csrf": t2, "user": "rita", "password": "reading glasses 42", "next": "//evil.example/"])
        #expect(signedIn.status == 303)
        #expect(signedIn.headers["Location"] == "/", "an off-site next is not followed")
        let readerCookie = try #require(signedIn.cookie)
        #expect(signedIn.headers["Set-Cookie"]?.contains("HttpOnly") == true && signedIn.headers["Set-Cookie"]?.contains("SameSite=Strict") == true)
        let hosts = try await Self.send(readerServer.url + "/api/hosts", cookie: readerCookie)
        #expect(hosts.status == 200 && hosts.body.contains("exch-a"))
        let readerToken = try await Self.token(readerServer.url, cookie: readerCookie)
        #expect(readerToken != t2, "a signed-in session has a token of its own")
        let write = try await Self.send(readerServer.url + "/host/action", method: "POST", cookie: readerCookie,
                                        form: ["csrf": readerToken, "host": "exch-a", "action": "note", "value": "x"])
        #expect(write.status == 403)
        withExtendedLifetime((server, readerServer)) {}
    }

    @Test("Over TLS with a certificate given: HTTPS answers, HSTS is sent and the session cookie is Secure",
          .enabled(if: installed(["/usr/bin/openssl"]) != nil && installed(["/usr/bin/curl"]) != nil, "needs openssl and curl"))
    func tls() async throws {
        let dir = try tempDir()
        let (db, caseName) = try await Self.fleet(dir)
        let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
        let made = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"])
        #expect(made.status == 0)
        let users = dir.appendingPathComponent("users.txt")
        try Data(Accounts.adding(name: "alice", role: .analyst, password: "correct horse battery", to: "").utf8).write(to: users)
        let server = try Server(dir, ["--case", db, "--case-name", caseName, "--users", users.path, "--tls-cert", cert, "--tls-key", key])
        #expect(server.url.hasPrefix("https://127.0.0.1:"))
        func curl(_ args: [String]) throws -> String {
            // -k: the certificate is the test's own, for localhost; what is checked is that TLS is served.
            try run("/usr/bin/curl", ["-sk", "-D", "-", "-o", "/dev/null"] + args).text
        }
        let plainToken = try run("/usr/bin/curl", ["-sk", server.url + "/api/session"]).text
        let token = try #require((try JSONSerialization.jsonObject(with: Data(plainToken.utf8)) as? [String: Any])?["csrf"] as? String)
        let headers = try curl(["--data-urlencode", "csrf=\(token)", "--data-urlencode", "user=alice", "--data-urlencode", "password=correct horse battery",
                                server.url + "/login"])
        #expect(headers.contains("HTTP/1.1 303"), "\(headers)")
        let cookie = try #require(headers.split(whereSeparator: \.isNewline).first { $0.lowercased().hasPrefix("set-cookie:") })
        #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
        #expect(headers.lowercased().contains("strict-transport-security: max-age="))
        withExtendedLifetime(server) {}
    }

    @Test("Exports from the dashboard: the fleet's indicators as STIX and CSV, a host's HTML report; each a download in the audit log")
    func exports() async throws {
        let dir = try tempDir()
        let (db, caseName) = try await Self.fleet(dir)
        let server = try Server(dir, ["--case", db, "--case-name", caseName])
        let csv = try await Self.send(server.url + "/export/indicators?format=csv")
        #expect(csv.status == 200)
        #expect(csv.headers["Content-Disposition"] == "attachment; filename=\"dash-indicators.csv\"")
        #expect(csv.body.contains("203.0.113.7"))
        // A value from evidence that a spreadsheet would run stays inert.
        #expect(!csv.body.split(separator: "\n").contains { $0.split(separator: ",").contains { $0.hasPrefix("=") } })
        let stix = try await Self.send(server.url + "/export/indicators?format=stix")
        let bundle = try #require(try JSONSerialization.jsonObject(with: Data(stix.body.utf8)) as? [String: Any])
        #expect(bundle["type"] as? String == "bundle")
        #expect(stix.body.contains("203.0.113.7"))
        #expect(try await Self.send(server.url + "/export/indicators?format=xml").status == 400)

        let html = try await Self.send(server.url + "/export/report?h=EXCH-A")
        #expect(html.status == 200)
        #expect(html.headers["Content-Disposition"] == "attachment; filename=\"exch-a.html\"")
        #expect(html.body.contains("<!DOCTYPE html>") || html.body.contains("<!doctype html>"))
        #expect(html.body.contains("SSRF") && html.body.contains("exch-a"))
        // The hostile host's name never reaches the header as it is.
        let hostile = try await Self.send(server.url + "/export/report?h=" + Self.scriptHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        #expect(hostile.status == 200)
        let disposition = try #require(hostile.headers["Content-Disposition"])
        #expect(!disposition.contains("<") && !disposition.contains("'") && !disposition.contains("/"), "\(disposition)")
        #expect(try await Self.send(server.url + "/export/report?h=nobody").status == 404)

        let audit = try await Self.send(server.url + "/api/audit")
        #expect(audit.body.contains("indicators as csv from the dashboard"))
        #expect(audit.body.contains("HTML report of run"))
        withExtendedLifetime(server) {}
    }

    @Test("A host ingested while the dashboard runs shows on the next look, and the change mark says so")
    func liveUpdates() async throws {
        let dir = try tempDir()
        let (db, caseName) = try await Self.fleet(dir)
        let server = try Server(dir, ["--case", db, "--case-name", caseName])
        let cookie: String? = nil
        let before = try await Self.send(server.url + "/api/changes", cookie: cookie)
        let store = try await CaseStore.open(.sqlite(path: db), caseName: caseName, analyst: "worker")
        _ = try await store.ingest(report(host: "exch-new", attackers: ["203.0.113.7"], firstHit: Date(timeIntervalSince1970: 1_614_600_000)), context: context)
        try await store.close()
        let after = try await Self.send(server.url + "/api/changes", cookie: cookie)
        #expect(before.body != after.body)
        let page = try await Self.send(server.url + "/", cookie: cookie)
        #expect(page.body.contains("href=\"/host?h=exch-new\""))
        let summary = try await Self.send(server.url + "/api/summary", cookie: cookie)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(summary.body.utf8)) as? [String: Any])
        #expect((o["summary"] as? [String: Any])?["hosts"] as? Int == 5)
        withExtendedLifetime(server) {}
    }
}
