import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore

/// What a browser's session holds (one exists only once someone has signed in): who, and the
/// token every state-changing request must carry back (CSRF).
struct DashboardSession: Codable, Sendable {
    var user: String
    var role: DashboardRole
    var csrf: String

    static func fresh(user: String, role: DashboardRole) -> DashboardSession {
        DashboardSession(user: user, role: role, csrf: randomToken())
    }
}

/// 32 bytes from the system's secure generator, URL-safe.
func randomToken() -> String {
    var g = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Compares two secrets in time that does not depend on where they differ.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var d: UInt8 = 0
    for i in x.indices { d |= x[i] ^ y[i] }
    return d == 0
}

struct DashboardContext: RequestContext, SessionRequestContext, RemoteAddressRequestContext {
    typealias Session = DashboardSession
    var coreContext: CoreRequestContextStorage
    let sessions: SessionContext<DashboardSession>
    let remoteAddress: SocketAddress?
    /// Who is asking and the token their POSTs must carry: set by `AccessControl` for every request.
    var user: String?
    var role: DashboardRole?
    var csrf = ""

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sessions = .init()
        remoteAddress = source.channel.remoteAddress
    }

    /// Forms and JSON bodies are small; nothing larger is read.
    var maxUploadSize: Int { 64 * 1024 }
}

/// Headers on every answer: a Content-Security-Policy that admits only the dashboard's own
/// script and style files (no inline script, no other origin), no framing, no sniffing, no
/// caching of case data, no referrer leaving the page.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    let tls: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            // Errors get the same headers; their text is ours (never evidence), sent as plain text.
            response = Response(status: error.status, headers: error.headers,
                                body: .init(byteBuffer: ByteBuffer(string: (error.body ?? error.status.reasonPhrase) + "\n")))
            response.headers[.contentType] = "text/plain; charset=utf-8"
        } catch {
            // What went wrong inside is for the server's log, not for the browser.
            context.logger.error("\(error)")
            response = Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "internal error\n")))
        }
        response.headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// Who may see and change what.
///
/// Without accounts (the default, bound to loopback) everyone who reaches the port is the
/// analyst who started the server. With accounts, every page and API call but the sign-in page
/// needs a signed-in session, made only when someone signs in: requests without one create
/// nothing on the server, so unauthenticated traffic cannot grow its memory. Every POST must
/// carry the CSRF token (form field `csrf` or header `X-CSRF-Token`): the session's own once
/// signed in, else this server's (for the sign-in form and the loopback mode, which have no
/// session); it must come from this site (a browser's `Sec-Fetch-Site` or `Origin` says so),
/// and a reader may not POST at all.
struct AccessControl: RouterMiddleware {
    typealias Context = DashboardContext
    let accounts: Accounts?
    let localAnalyst: String
    /// The token for requests without a session, new each time the server starts.
    let serverToken = randomToken()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        var context = context
        let path = request.uri.path
        // The sign-in page, its assets, and the session endpoint (which hands out the token a form needs).
        let open = path == "/login" || path == "/api/session" || path.hasPrefix("/static/")
        if accounts == nil {
            context.user = localAnalyst
            context.role = .analyst
            context.csrf = serverToken
        } else if let s = context.sessions.session {
            context.user = s.user
            context.role = s.role
            context.csrf = s.csrf
        } else {
            context.csrf = serverToken
        }
        if request.method == .post {
            try checkSameSite(request)
            guard let given = try await csrfToken(&request), constantTimeEqual(context.csrf, given) else {
                throw HTTPError(.forbidden, message: "missing or wrong CSRF token")
            }
        }
        if !open && context.user == nil {
            if path.hasPrefix("/api/") { throw HTTPError(.unauthorized, message: "sign in first") }
            let back = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Response.redirect(to: "/login?next=" + Escape.query(back), type: .found)
        }
        if request.method == .post, path != "/login", path != "/logout", context.role != .analyst {
            throw HTTPError(.forbidden, message: "this account may only read")
        }
        return try await next(request, context)
    }

    /// A browser says where a request comes from; a cross-site one never changes anything.
    private func checkSameSite(_ request: Request) throws {
        if let site = request.headers[.secFetchSite], site != "same-origin", site != "none" {
            throw HTTPError(.forbidden, message: "cross-site request refused")
        }
        if let origin = request.headers[.origin], origin != "null", let host = request.head.authority {
            let originHost = URLComponents(string: origin).map { c in c.host.map { h in c.port.map { "\(h):\($0)" } ?? h } } ?? nil
            if originHost?.lowercased() != host.lowercased() { throw HTTPError(.forbidden, message: "cross-origin request refused") }
        }
    }

    /// The token from the header, else from the form body (collected here once and handed on in
    /// the request, which the route reads again).
    private func csrfToken(_ request: inout Request) async throws -> String? {
        if let h = request.headers[.csrfToken] { return h }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else { return nil }
        let body = try await request.collectBody(upTo: 64 * 1024)
        struct Field: Decodable { var csrf: String? }
        return (try? URLEncodedFormDecoder().decode(Field.self, from: String(buffer: body)))?.csrf
    }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
    static let secFetchSite = Self("Sec-Fetch-Site")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// Sign-in attempts per client address: five failures in five minutes, then refused until the
/// oldest of them is five minutes old. Bounded: the table forgets addresses once they are quiet
/// and never holds more than 100,000 of them.
actor LoginThrottle {
    private var failures: [String: [Date]] = [:]
    let limit = 5
    let window: TimeInterval = 300

    /// Seconds until the address may try again, or nil when it may now.
    func wait(for address: String, now: Date = Date()) -> Int? {
        let recent = (failures[address] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[address] = recent.isEmpty ? nil : recent
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
    }

    func failed(_ address: String, now: Date = Date()) {
        if failures.count >= 100_000 {
            failures = failures.filter { ($0.value.last.map { now.timeIntervalSince($0) < window }) ?? false }
            if failures.count >= 100_000 { failures.removeAll() }
        }
        failures[address, default: []].append(now)
    }

    func succeeded(_ address: String) { failures[address] = nil }
}
