public import Foundation
import SQLKit

/// One piece of fleet work (`exhunt fleet`): a bundle to hunt or a survey shard, as the submitter
/// queued it and the workers moved it along. The broker carries the work; this row says where it
/// is, so `fleet status` and the dashboard need no broker, and a delivery the row calls finished
/// or exhausted is not run again.
public struct WorkItem: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case hunt, survey }
    public enum State: String, Sendable, Codable, CaseIterable { case queued, running, retrying, done, failed }

    public var id: String
    public var batch: String
    public var kind: Kind
    /// The bundle's path, or the survey shard ("2/4").
    public var subject: String
    public var state: State
    public var attempts: Int
    public var maxAttempts: Int
    public var worker: String?
    public var exitStatus: Int?
    /// What the finished work said: the verdict line of a hunt, the record count of a shard.
    public var outcome: String?
    /// Why it failed: the tail of exhunt's error output, or what the worker saw.
    public var error: String?
    public var submitted: Date
    public var submittedBy: String
    public var started: Date?
    public var finished: Date?

    /// Characters of error output a row keeps: the tail, where exhunt says why it stopped.
    public static let errorLimit = 4_000
}

/// A worker's answer on taking a delivery: run it, or not (and why).
public struct WorkClaim: Sendable, Codable, Equatable {
    public var run: Bool
    public var attempt: Int
    public var maxAttempts: Int
    public var state: WorkItem.State
    public var reason: String?
}

extension CaseStore {
    /// Queues work: one `queued` row per subject, all in one batch. Returns the rows written.
    public func enqueueWork(_ subjects: [(kind: WorkItem.Kind, subject: String)], batch: String, maxAttempts: Int,
                            who: String) async throws -> [WorkItem] {
        let now = Millis.now
        let items = subjects.map { s in
            WorkItem(id: UUID().uuidString.lowercased(), batch: batch, kind: s.kind, subject: s.subject, state: .queued, attempts: 0,
                     maxAttempts: max(1, maxAttempts), submitted: Millis.date(now) ?? Date(), submittedBy: who)
        }
        try await transaction {
            for chunk in stride(from: 0, to: items.count, by: Self.batchRows) {
                let insert = db.insert(into: "work").columns("work_id", "case_name", "batch", "kind", "subject", "state", "attempts",
                                                             "max_attempts", "submitted_ms", "submitted_by")
                for i in items[chunk..<min(items.count, chunk + Self.batchRows)] {
                    _ = insert.values([i.id, caseName, Text.column(batch), i.kind.rawValue, Text.column(i.subject), i.state.rawValue,
                                       Int64(0), Int64(i.maxAttempts), now, Text.column(who)] as [any Encodable & Sendable])
                }
                try await insert.run()
            }
            try await audit(who, "fleet-submit", subject: batch, detail: "\(items.count) item(s) queued: \(Set(items.map(\.kind.rawValue)).sorted().joined(separator: ", "))")
        }
        return items
    }

    /// A worker takes a delivery of `id`. Each delivery is an attempt, whether the last one
    /// failed or its worker was lost (killed, its machine gone: the broker delivers it again);
    /// past `maxAttempts` the work is failed instead of run, so nothing is retried forever.
    /// Work already done or failed is not run again (a late duplicate delivery).
    public func claimWork(_ id: String, worker: String) async throws -> WorkClaim {
        try await transaction {
            guard let item = try await workRows({ $0.where("work_id", .equal, id).for(.update) }).first else {
                throw CaseStoreError("no fleet work \(id) in the case")
            }
            if item.state == .done || item.state == .failed {
                return WorkClaim(run: false, attempt: item.attempts, maxAttempts: item.maxAttempts, state: item.state,
                                 reason: "already \(item.state.rawValue)")
            }
            let attempt = item.attempts + 1
            if attempt > item.maxAttempts {
                let why = item.state == .running
                    ? "delivered \(attempt) times; the worker of attempt \(item.attempts) (\(item.worker ?? "?")) was lost before it finished"
                    : "\(item.maxAttempts) attempts used"
                try await updateWork(id, ["state": WorkItem.State.failed.rawValue, "error": Text.column(appending(why, to: item.error)),
                                          "finished_ms": Millis.now])
                try await audit(worker, "fleet-failed", subject: item.subject, detail: "\(id): \(why)")
                return WorkClaim(run: false, attempt: item.attempts, maxAttempts: item.maxAttempts, state: .failed, reason: why)
            }
            try await updateWork(id, ["state": WorkItem.State.running.rawValue, "attempts": Int64(attempt), "worker": Text.column(worker),
                                      "started_ms": Millis.now])
            return WorkClaim(run: true, attempt: attempt, maxAttempts: item.maxAttempts, state: .running, reason: nil)
        }
    }

    /// A worker reports how an attempt ended. Success is `done`; a failure is `retrying` while
    /// attempts remain and `retry` allows (a time limit exceeded would be exceeded again), else
    /// `failed`. Returns the state written (work another delivery already finished stays `done`).
    @discardableResult
    public func finishWork(_ id: String, succeeded: Bool, retry: Bool = true, exitStatus: Int?, outcome: String?, error: String?,
                           worker: String) async throws -> WorkItem.State {
        try await transaction {
            guard let item = try await workRows({ $0.where("work_id", .equal, id).for(.update) }).first else {
                throw CaseStoreError("no fleet work \(id) in the case")
            }
            if item.state == .done { return .done }
            let state: WorkItem.State = succeeded ? .done : (retry && item.attempts < item.maxAttempts ? .retrying : .failed)
            // A bounded tail: exhunt's error output is the evidence's, and can be anything.
            let errorText = error.map { String($0.suffix(WorkItem.errorLimit)) }
            try await updateWork(id, ["state": state.rawValue, "exit_status": exitStatus.map { Int64($0) }, "outcome": outcome.map(Text.column),
                                      "error": errorText.map(Text.column), "worker": Text.column(worker),
                                      "finished_ms": state == .retrying ? nil : Millis.now])
            if state != .retrying {
                try await audit(worker, state == .done ? "fleet-done" : "fleet-failed", subject: item.subject,
                                detail: "\(id) after \(item.attempts) attempt(s): " + (outcome ?? errorText.map { String($0.suffix(200)) } ?? "exit \(exitStatus.map(String.init) ?? "?")"))
            }
            return state
        }
    }

    /// Work of the case, newest batch first; optionally one batch, or some states.
    public func work(batch: String? = nil, states: Set<WorkItem.State> = [], limit: Int = 1_000) async throws -> [WorkItem] {
        try await exclusive {
            try await workRows { q in
                var q = q
                if let batch { q = q.where("batch", .equal, batch) }
                if !states.isEmpty { q = q.where("state", .in, states.map(\.rawValue).sorted()) }
                return q.orderBy("submitted_ms", .descending).orderBy("subject").limit(max(1, limit))
            }
        }
    }

    /// How much work is in each state (all batches, or one).
    public func workCounts(batch: String? = nil) async throws -> [WorkItem.State: Int] {
        try await exclusive {
            var q = db.select().column("state").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("work").where("case_name", .equal, caseName)
            if let batch { q = q.where("batch", .equal, batch) }
            var counts: [WorkItem.State: Int] = [:]
            for r in try await q.groupBy("state").all() {
                if let s = WorkItem.State(rawValue: try r.decode(column: "state", as: String.self)) {
                    counts[s] = Int(try r.decode(column: "n", as: Int64.self))
                }
            }
            return counts
        }
    }

    /// Subjects with work still queued, running or retrying: submitting them again is skipped.
    public func activeWorkSubjects(kind: WorkItem.Kind) async throws -> Set<String> {
        try await exclusive {
            Set(try await db.select().column("subject").from("work").where("case_name", .equal, caseName).where("kind", .equal, kind.rawValue)
                .where("state", .in, [WorkItem.State.queued, .running, .retrying].map(\.rawValue)).all(decodingColumn: "subject", as: String.self))
        }
    }

    /// Marks queued work failed without a worker (the broker refused it).
    public func failQueued(_ ids: [String], reason: String, who: String) async throws {
        try await transaction {
            for id in ids {
                try await db.update("work").set("state", to: WorkItem.State.failed.rawValue).set("error", to: Text.column(reason))
                    .set("finished_ms", to: Millis.now).where("case_name", .equal, caseName).where("work_id", .equal, id)
                    .where("state", .equal, WorkItem.State.queued.rawValue).run()
            }
            try await audit(who, "fleet-failed", subject: "\(ids.count) item(s)", detail: reason)
        }
    }

    private func updateWork(_ id: String, _ values: [String: (any Encodable & Sendable)?]) async throws {
        var u = db.update("work")
        for (column, value) in values.sorted(by: { $0.key < $1.key }) {
            if let value { u = u.set(SQLIdentifier(column), to: SQLBind(value)) } else { u = u.set(SQLIdentifier(column), to: SQLLiteral.null) }
        }
        try await u.where("case_name", .equal, caseName).where("work_id", .equal, id).run()
    }

    private func appending(_ line: String, to text: String?) -> String {
        guard let text, !text.isEmpty else { return line }
        return String((text + "\n" + line).suffix(WorkItem.errorLimit))
    }

    /// Work rows of the case, narrowed and ordered by `refine`.
    private func workRows(_ refine: (SQLSelectBuilder) -> SQLSelectBuilder) async throws -> [WorkItem] {
        try await refine(db.select().from("work").where("case_name", .equal, caseName)).columns("work_id", "batch", "kind", "subject", "state", "attempts", "max_attempts", "worker", "exit_status",
                                "outcome", "error", "submitted_ms", "submitted_by", "started_ms", "finished_ms").all().map { r in
            WorkItem(id: try r.decode(column: "work_id", as: String.self), batch: try r.decode(column: "batch", as: String.self),
                     kind: WorkItem.Kind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .hunt,
                     subject: try r.decode(column: "subject", as: String.self),
                     state: WorkItem.State(rawValue: try r.decode(column: "state", as: String.self)) ?? .queued,
                     attempts: Int(try r.decode(column: "attempts", as: Int64.self)),
                     maxAttempts: Int(try r.decode(column: "max_attempts", as: Int64.self)),
                     worker: try r.decode(column: "worker", as: String?.self),
                     exitStatus: try r.decode(column: "exit_status", as: Int64?.self).map { Int(clamping: $0) },
                     outcome: try r.decode(column: "outcome", as: String?.self), error: try r.decode(column: "error", as: String?.self),
                     submitted: Millis.date(try r.decode(column: "submitted_ms", as: Int64.self)) ?? Date(timeIntervalSince1970: 0),
                     submittedBy: try r.decode(column: "submitted_by", as: String.self),
                     started: Millis.date(try r.decode(column: "started_ms", as: Int64?.self)),
                     finished: Millis.date(try r.decode(column: "finished_ms", as: Int64?.self)))
        }
    }
}
