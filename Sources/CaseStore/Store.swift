public import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit

/// Where a case lives: an SQLite file (the default, embedded) or a PostgreSQL database (for teams
/// and fleet workers). Both hold the same schema and answer the same queries.
public enum CaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is an SQLite file's path.
    public init(_ text: String) {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres"), lower.contains("://") {
            self = .postgres(url: text)
        } else {
            self = .sqlite(path: text)
        }
    }

    /// Without the password, for messages and the audit log.
    public var description: String { replacingPassword(with: "***") }

    /// The location to hand to fleet workers: an absolute file path, or the URL without its
    /// password (the broker is not where the store's credentials belong; workers take them from
    /// `EXHUNT_CASE`).
    public var withoutPassword: String {
        if case .sqlite(let path) = self { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return replacingPassword(with: nil)
    }

    private func replacingPassword(with mask: String?) -> String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url):
            guard var c = URLComponents(string: url) else { return "postgres://…" }
            // Set encoded: `***` is valid as it stands, where a mask set plain would be percent-encoded.
            if c.password != nil { c.percentEncodedPassword = mask }
            return c.string ?? "postgres://…"
        }
    }
}

public struct CaseStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// One case: every host's hunt runs, their findings and indicators, survey records, analyst notes
/// and the audit log, in SQLite or PostgreSQL through SQLKit (every value bound, no SQL built
/// from evidence).
///
/// One store holds one connection. SQLite files are opened in WAL mode with a busy timeout, so
/// several processes (fleet workers) can write one file; each ingest is one transaction
/// (`BEGIN IMMEDIATE` on SQLite), so a host run is there whole or not at all. Calls on one store
/// are serialised: a transaction's statements never interleave with another task's.
public actor CaseStore {
    public let location: CaseLocation
    /// The case inside the database (several cases can share a PostgreSQL database).
    public let caseName: String
    let db: any SQLDatabase
    let engine: Engine
    private let closer: @Sendable () async throws -> Void
    /// Starts closing without waiting: for a store dropped on an error path without `close()`.
    private let dropper: @Sendable () -> Void
    private var closed = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    enum Engine: Sendable { case sqlite, postgres }

    /// Opens (creating when needed) the case store and brings its schema up to date.
    /// - Parameter create: whether a missing store (and case) is made. Commands that only read or
    ///   annotate pass false: a mistyped name must not leave an empty store behind and answer
    ///   "Hosts: 0", and an SQLite file of another program must not get exhunt's tables.
    public static func open(_ location: CaseLocation, caseName: String = "default", analyst: String, create: Bool = true) async throws -> CaseStore {
        var logger = Logger(label: "exhunt.case")
        logger.logLevel = .error
        let store: CaseStore
        switch location {
        case .sqlite(let path):
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: dir) else { throw CaseStoreError("no folder \(dir) for the case file \(path)") }
            if !create { try requireSQLiteStore(path) }
            let connection: SQLiteConnection
            do {
                connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: .singleton, logger: logger,
                                                          on: MultiThreadedEventLoopGroup.singleton.any())
            } catch {
                throw CaseStoreError("cannot open the case file \(path): \(error)")
            }
            let db = connection.sql(queryLogLevel: nil)
            if !create {
                // Before any pragma: WAL mode would rewrite another program's database header.
                do { try await requireCase(db, location, caseName) } catch {
                    try? await connection.close()
                    throw error
                }
            }
            // WAL lets readers (the dashboard) go on while a worker writes; the busy timeout makes
            // a second writer wait for the first instead of failing.
            for pragma in ["PRAGMA busy_timeout = 60000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"] {
                try await db.raw(SQLQueryString(pragma)).run()
            }
            store = CaseStore(location: location, caseName: caseName, db: db, engine: .sqlite,
                              closer: { try await connection.close() }, dropper: { let f: EventLoopFuture<Void> = connection.close(); f.whenComplete { _ in withExtendedLifetime(connection) {} } })
        case .postgres(let url):
            let configuration: SQLPostgresConfiguration
            do { configuration = try SQLPostgresConfiguration(url: url) } catch {
                throw CaseStoreError("not a PostgreSQL URL (\(location)): \(error)")
            }
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                                  configuration: configuration.coreConfiguration, id: 1, logger: logger)
            } catch {
                throw CaseStoreError("cannot connect to \(location): \(String(reflecting: error))")
            }
            let db = connection.sql(queryLogLevel: nil)
            if !create {
                do { try await requireCase(db, location, caseName) } catch {
                    try? await connection.close()
                    throw error
                }
            }
            store = CaseStore(location: location, caseName: caseName, db: db, engine: .postgres,
                              closer: { try await connection.close() }, dropper: { let f: EventLoopFuture<Void> = connection.close(); f.whenComplete { _ in withExtendedLifetime(connection) {} } })
        }
        do {
            try await store.exclusive { try await Schema.migrate(store.db, engine: store.engine) }
            try await store.exclusive { try await store.ensureCase(analyst: analyst) }
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    private init(location: CaseLocation, caseName: String, db: any SQLDatabase, engine: Engine,
                 closer: @escaping @Sendable () async throws -> Void, dropper: @escaping @Sendable () -> Void) {
        self.location = location
        self.caseName = caseName
        self.db = db
        self.engine = engine
        self.closer = closer
        self.dropper = dropper
    }

    deinit {
        if !closed { dropper() }
    }

    public func close() async throws {
        guard !closed else { return }
        closed = true
        try await closer()
    }

    // MARK: - Serialising

    private func lock() async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
    }

    private func unlock() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    /// Runs `body` with the connection to itself.
    func exclusive<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await lock()
        defer { unlock() }
        do {
            return try await body()
        } catch let e as PSQLError {
            // PostgresNIO keeps its errors' text out of their description; the server's message is what helps.
            throw CaseStoreError("PostgreSQL: \(e.serverInfo?[.message] ?? "\(e.code)")")
        }
    }

    /// Runs `body` as one transaction with the connection to itself: committed whole, or rolled back.
    func transaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await exclusive {
            try await db.raw(engine == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN").run()
            do {
                let value = try await body()
                try await db.raw("COMMIT").run()
                return value
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// An existing SQLite file, and an SQLite database at that, before SQLite opens (and so creates) it.
    private static func requireSQLiteStore(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CaseStoreError("no case store at \(path): `exhunt hunt --case \(path)`, `exhunt case import` or `exhunt fleet submit` creates one")
        }
        let head = FileHandle(forReadingAtPath: path).flatMap { h in defer { try? h.close() }; return try? h.read(upToCount: 16) } ?? Data()
        guard head == Data("SQLite format 3\u{0}".utf8) else {
            throw CaseStoreError("\(path) is not an exhunt case store (not an SQLite database)")
        }
    }

    /// The store has exhunt's schema and the case asked for (names the cases it has when not).
    private static func requireCase(_ db: any SQLDatabase, _ location: CaseLocation, _ caseName: String) async throws {
        let names: [String]
        do {
            names = try await db.select().column("name").from("cases").all(decodingColumn: "name", as: String.self)
        } catch {
            throw CaseStoreError("\(location) is not an exhunt case store (it has no cases table)")
        }
        guard names.contains(caseName) else {
            let known = names.isEmpty ? "none" : names.sorted().joined(separator: ", ")
            throw CaseStoreError("no case \"\(caseName)\" in \(location) (its cases: \(known))")
        }
    }

    private func ensureCase(analyst: String) async throws {
        try await db.insert(into: "cases").columns("name", "created_ms", "created_by")
            .values(SQLBind(caseName), SQLBind(Millis.now), SQLBind(Text.column(analyst)))
            .ignoringConflicts().run()
    }

    /// One line in the audit log: who did what, when, to what.
    func audit(_ who: String, _ action: String, subject: String, detail: String = "") async throws {
        try await db.insert(into: "audit").columns("case_name", "at_ms", "who", "action", "subject", "detail")
            .values(SQLBind(caseName), SQLBind(Millis.now), SQLBind(Text.column(who)), SQLBind(action),
                    SQLBind(Text.column(subject)), SQLBind(Text.column(detail)))
            .run()
    }
}

/// Times are kept as milliseconds since 1970 (UTC): one type, sortable, on both engines.
enum Millis {
    static var now: Int64 { from(Date()) ?? 0 }

    /// Nil for dates no log writes (outside ±285,000 years), which would trap as integers.
    static func from(_ date: Date?) -> Int64? {
        guard let t = date?.timeIntervalSince1970, t.isFinite, abs(t) < 9e12 else { return nil }
        return Int64((t * 1000).rounded())
    }

    static func date(_ ms: Int64?) -> Date? {
        ms.map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }
}

/// Text for indexed columns. PostgreSQL's `text` cannot hold U+0000, which hostile evidence can;
/// both engines store it as U+FFFD so they answer alike. The JSON bodies keep every byte
/// (`\u0000` there).
enum Text {
    static func column(_ s: String) -> String {
        s.utf8.contains(0) ? s.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : s
    }
}
