public import Foundation
public import HuntCore
import SQLKit

/// What an analyst says about a host: notes, tags, verdict overrides with a reason, remediation.
/// Each is kept (nothing is edited away) and written to the audit log with who and when.
public struct AnalystEntry: Sendable, Codable {
    public enum Kind: String, Sendable, Codable { case note, tag, untag, override, remediated }
    public var kind: Kind
    public var host: String
    public var family: String?
    public var value: String
    public var reason: String
    public var who: String
    public var at: Date
}

public struct AuditEntry: Sendable, Codable {
    public var at: Date
    public var who: String
    public var action: String
    public var subject: String
    public var detail: String
}

extension CaseStore {
    /// Adds an analyst's entry to a known host. An override needs a verdict as its value and a reason.
    public func record(_ kind: AnalystEntry.Kind, host: String, value: String, reason: String = "", family: String? = nil,
                       who: String) async throws {
        if kind == .override {
            guard Verdict(rawValue: value) != nil else { throw CaseStoreError("an override is one of: \(Verdict.allCases.map(\.rawValue).joined(separator: ", "))") }
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw CaseStoreError("an override needs a reason") }
        }
        try await transaction {
            let key = try await hostKey(host)
            try await db.insert(into: "notes").columns("case_name", "host", "kind", "family", "value", "reason", "at_ms", "who")
                .values([caseName, key, kind.rawValue, family.map(Text.column), Text.column(value), Text.column(reason), Millis.now,
                         Text.column(who)] as [any Encodable & Sendable]).run()
            let what = family.map { "\(kind.rawValue) \($0)" } ?? kind.rawValue
            try await audit(who, what, subject: key, detail: reason.isEmpty ? value : "\(value): \(reason)")
        }
    }

    /// The host's key for a name, address or key as typed (case ignored).
    func hostKey(_ name: String) async throws -> String {
        let lower = Text.column(name.lowercased())
        if let k = try await db.select().column("host").from("hosts").where("case_name", .equal, caseName).where("host", .equal, lower)
            .first(decodingColumn: "host", as: String.self) { return k }
        if let k = try await db.select().column("host").from("host_names").where("case_name", .equal, caseName).where("value", .equal, lower)
            .orderBy("host").first(decodingColumn: "host", as: String.self) { return k }
        throw CaseStoreError("no host \(name) in the case")
    }

    /// A host's analyst entries, oldest first.
    public func history(host: String) async throws -> [AnalystEntry] {
        try await exclusive {
            let key = try await hostKey(host)
            return try await db.select().columns("kind", "host", "family", "value", "reason", "who", "at_ms").from("notes")
                .where("case_name", .equal, caseName).where("host", .equal, key).orderBy("id").all().map { r in
                    AnalystEntry(kind: AnalystEntry.Kind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .note,
                                 host: key, family: try r.decode(column: "family", as: String?.self),
                                 value: try r.decode(column: "value", as: String.self), reason: try r.decode(column: "reason", as: String.self),
                                 who: try r.decode(column: "who", as: String.self),
                                 at: Millis.date(try r.decode(column: "at_ms", as: Int64.self)) ?? Date(timeIntervalSince1970: 0))
                }
        }
    }

    /// The audit log, newest first; with `since`, only what happened from then on ("what changed
    /// since yesterday": runs ingested, rematches, overrides, notes, exports).
    public func auditLog(since: Date? = nil, limit: Int = 1000) async throws -> [AuditEntry] {
        try await exclusive {
            try await db.select().columns("at_ms", "who", "action", "subject", "detail").from("audit").where("case_name", .equal, caseName)
                .where("at_ms", .greaterThanOrEqual, Millis.from(since) ?? Int64.min)
                .orderBy("id", .descending).limit(max(1, limit)).all().map { r in
                    AuditEntry(at: Millis.date(try r.decode(column: "at_ms", as: Int64.self)) ?? Date(timeIntervalSince1970: 0),
                               who: try r.decode(column: "who", as: String.self), action: try r.decode(column: "action", as: String.self),
                               subject: try r.decode(column: "subject", as: String.self), detail: try r.decode(column: "detail", as: String.self))
                }
        }
    }

    /// Records an action that reads the case (an export): who took what out, and when.
    public func audited(_ action: String, subject: String, detail: String, who: String) async throws {
        try await exclusive { try await audit(who, action, subject: subject, detail: detail) }
    }
}
