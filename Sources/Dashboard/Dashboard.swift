public import CaseStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdAuth
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// `exhunt serve`: the case store as web pages and a JSON API for a team working a fleet.
public struct DashboardConfiguration: Sendable {
    public var location: CaseLocation
    public var caseName: String
    public var host: String
    public var port: Int
    /// Who acts when nobody signs in (loopback without accounts): the analyst who started it.
    public var analyst: String
    public var accounts: Accounts?
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Connections to the store the pages share (each answers one query at a time).
    public var connections: Int
    /// How often pages ask whether the case changed, in seconds.
    public var pollSeconds: Int

    public init(location: CaseLocation, caseName: String, host: String, port: Int, analyst: String, accounts: Accounts?,
                tlsCertificate: String?, tlsKey: String?, connections: Int = 4, pollSeconds: Int = 5) {
        self.location = location
        self.caseName = caseName
        self.host = host
        self.port = port
        self.analyst = analyst
        self.accounts = accounts
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
        self.connections = connections
        self.pollSeconds = pollSeconds
    }

    /// Only the loopback addresses a browser on this machine uses: any other address, other
    /// 127/8 addresses included (containers and port forwarders publish those), needs accounts.
    public static func isLoopback(_ host: String) -> Bool {
        ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased())
    }

    /// Refuses what would expose a case: another address without accounts, TLS half-configured.
    public func validate() throws {
        if !Self.isLoopback(host), accounts?.isEmpty ?? true {
            throw DashboardError("binding to \(host) needs accounts (--users FILE, made with `exhunt serve add-user`): the case is confidential")
        }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw DashboardError("TLS needs both --tls-cert and --tls-key") }
    }
}

public enum Dashboard {
    /// Serves until interrupted. `onListening` gets the address and port actually bound (port 0
    /// picks a free one).
    public static func run(_ configuration: DashboardConfiguration, onListening: @escaping @Sendable (String) -> Void) async throws {
        try configuration.validate()
        let pool = try await StorePool.open(configuration)
        let views = try await Views.load(caseName: configuration.caseName, location: configuration.location.description,
                                         pollSeconds: configuration.pollSeconds, withAccounts: configuration.accounts != nil)
        let tls = configuration.tlsCertificate != nil
        let router = Router(context: DashboardContext.self)
        router.add(middleware: SecurityHeaders<DashboardContext>(tls: tls))
        var cookie = SessionCookieParameters(name: "exhunt_session", path: "/", secure: tls, sameSite: .strict)
        cookie.domain = nil
        router.add(middleware: SessionMiddleware<DashboardContext>(storage: MemoryPersistDriver(),
                                                                   configuration: .init(sessionCookieParameters: cookie, keyPrefix: "s.",
                                                                                        defaultSessionExpiration: .seconds(8 * 3600))))
        router.add(middleware: AccessControl(accounts: configuration.accounts, localAnalyst: configuration.analyst))
        Routes(pool: pool, views: views, accounts: configuration.accounts, throttle: LoginThrottle()).add(to: router)

        var logger = Logger(label: "exhunt.serve")
        logger.logLevel = .warning
        // A connection left idle is closed: a page's polling comes back within seconds.
        var http1 = HTTP1Channel.Configuration()
        http1.idleTimeout = .seconds(60)
        let server: HTTPServerBuilder
        if let cert = configuration.tlsCertificate, let key = configuration.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
            let tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                                            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tlsConfiguration)
        } else {
            server = .http1(configuration: http1)
        }
        let scheme = tls ? "https" : "http"
        let app = Application(router: router, server: server,
                              configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? configuration.port
                                  let host = configuration.host.contains(":") && !configuration.host.hasPrefix("[") ? "[\(configuration.host)]" : configuration.host
                                  onListening("\(scheme)://\(host):\(port)/")
                              },
                              logger: logger)
        do {
            try await app.runService()
        } catch {
            await pool.close()
            // The commonest first failure, in words a person can act on.
            if let e = error as? IOError, e.errnoCode == EADDRINUSE {
                throw DashboardError("port \(configuration.port) on \(configuration.host) is in use; choose another with --port")
            }
            throw error
        }
        await pool.close()
    }
}

/// A few connections to the case store, handed out in turn: each `CaseStore` answers one query
/// at a time, so several let pages be answered side by side.
final class StorePool: Sendable {
    let stores: [CaseStore]
    private let next = Counter()

    private init(stores: [CaseStore]) { self.stores = stores }

    static func open(_ c: DashboardConfiguration) async throws -> StorePool {
        var stores: [CaseStore] = []
        for _ in 0..<max(1, min(c.connections, 32)) {
            stores.append(try await CaseStore.open(c.location, caseName: c.caseName, analyst: c.analyst))
        }
        return StorePool(stores: stores)
    }

    var any: CaseStore { stores[next.take() % stores.count] }

    func close() async {
        for s in stores { try? await s.close() }
    }
}

/// A thread-safe counter for round-robin.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value &+= 1
        return value & Int.max
    }
}
