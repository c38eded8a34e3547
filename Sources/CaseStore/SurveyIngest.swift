import Crypto
public import Foundation
import HuntCore
import SQLKit

/// A survey record as `exhunt survey --json` writes it (one JSON object per line); the fields
/// the store indexes. The whole line is kept as it was.
struct SurveyLine: Decodable {
    var target: String
    var ip: String?
    var port: Int
    var exchange: Bool?
    var build: String?
    var status: [String: String]?
    var webshells: [String]?
    var error: String?
    var time: String
}

extension CaseStore {
    public struct SurveyIngestResult: Sendable, Equatable {
        public var added = 0
        public var unchanged = 0
        /// Lines that are not survey records, with their line numbers.
        public var rejected: [Int] = []
    }

    /// Stores survey records (JSON Lines, as `exhunt survey --json` writes them), one transaction
    /// per batch. The same record twice is one row.
    public func ingestSurvey(lines: some Sequence<String>, context: RunContext, origin: String) async throws -> SurveyIngestResult {
        var result = SurveyIngestResult()
        var batch: [[any Encodable & Sendable]] = []
        let decoder = JSONDecoder()
        var number = 0
        for line in lines {
            number += 1
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            guard trimmed.utf8.count <= 1 << 20, let r = try? decoder.decode(SurveyLine.self, from: Data(trimmed.utf8)),
                  let time = Timestamp.parse(r.time) else {
                result.rejected.append(number)
                continue
            }
            let vulnerable = (r.status ?? [:]).filter { $0.value == "vulnerable" }.keys.sorted().joined(separator: ",")
            batch.append([Self.runID(caseName, "survey", trimmed), caseName, Text.column(r.target.lowercased()),
                          r.ip.map { Text.column(Address.normalised($0) ?? $0.lowercased()) }, Int64(r.port), Int64(r.exchange == true ? 1 : 0),
                          r.build.map(Text.column), vulnerable.isEmpty ? nil : Text.column(vulnerable),
                          Int64((r.webshells ?? []).isEmpty ? 0 : 1), r.error.map(Text.column), Millis.from(time) ?? 0, Text.column(trimmed)])
            if batch.count >= Self.batchRows {
                let added = try await insertSurvey(batch)
                result.added += added
                result.unchanged += batch.count - added
                batch.removeAll(keepingCapacity: true)
            }
        }
        let added = try await insertSurvey(batch)
        result.added += added
        result.unchanged += batch.count - added
        try await exclusive {
            try await audit(context.analyst, "survey-ingest", subject: origin,
                            detail: "\(result.added) records added, \(result.unchanged) already held, \(result.rejected.count) lines rejected")
        }
        return result
    }

    /// One batch of survey rows in one transaction; returns how many were new.
    private func insertSurvey(_ rows: [[any Encodable & Sendable]]) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        return try await transaction {
            let insert = db.insert(into: "survey").columns("record_id", "case_name", "target", "ip", "port", "exchange", "build",
                                                           "vulnerable", "backdoored", "error", "time_ms", "body")
            for row in rows { _ = insert.values(row) }
            // Only rows not held before come back.
            return try await insert.ignoringConflicts().returning("record_id").all().count
        }
    }
}
