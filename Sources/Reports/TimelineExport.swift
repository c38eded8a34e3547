public import Foundation
public import Timeline
import HuntCore

/// Timeline exports: Timesketch's JSON Lines and CSV (mandatory `message`, `datetime`,
/// `timestamp_desc`, plus `timestamp` in microseconds and the finding's attributes) and Elastic
/// Common Schema JSON Lines (flat dotted keys), for Elastic and Splunk.
public enum TimelineExport {
    /// Columns of the Timesketch CSV, in order; the JSON Lines records use the same keys.
    public static let timesketchColumns = ["message", "datetime", "timestamp", "timestamp_desc", "host", "severity", "stage",
                                           "rule_id", "rule_title", "rule_source", "rule_author", "cves", "attack", "source",
                                           "path", "line", "client_ip", "user_agent", "url", "sha256", "data_type"]

    static func timesketchValues(_ e: TimelineEntry, _ time: Date) -> [String: String] {
        [
            "message": e.message, "datetime": timesketchDate(time),
            "timestamp": String(Int64((time.timeIntervalSince1970 * 1_000_000).rounded())),
            "timestamp_desc": e.timestampDescription, "host": e.host, "severity": e.severity.rawValue, "stage": e.stage,
            "rule_id": e.ruleID, "rule_title": e.ruleTitle, "rule_source": e.ruleSource, "rule_author": e.ruleAuthor ?? "",
            "cves": e.cves.joined(separator: " "), "attack": e.attack.joined(separator: " "), "source": e.source,
            "path": e.path, "line": e.line.map(String.init) ?? "", "client_ip": e.clientAddress ?? "",
            "user_agent": e.userAgent ?? "", "url": e.url ?? "", "sha256": e.sha256 ?? "", "data_type": "exhunt:finding",
        ]
    }

    /// `2021-02-28T01:02:12.957000+00:00`, the form Timesketch's importer documents.
    static func timesketchDate(_ d: Date) -> String {
        let iso = ISOTime.string(d)  // …T01:02:12.957Z
        return String(iso.dropLast()) + "000+00:00"
    }

    /// Entries without a time cannot be placed on a timeline; they are counted and left out.
    public static func timesketchJSONL(_ t: FleetTimeline) throws -> (data: Data, skipped: Int) {
        var out = Data()
        var skipped = 0
        for e in t.entries {
            guard let time = e.timestamp else { skipped += 1; continue }
            var record: [String: Any] = timesketchValues(e, time)
            record["timestamp"] = Int64((time.timeIntervalSince1970 * 1_000_000).rounded())
            if let line = e.line { record["line"] = line } else { record["line"] = nil }
            out += try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
            out += Data("\n".utf8)
        }
        return (out, skipped)
    }

    public static func timesketchCSV(_ t: FleetTimeline) -> (data: Data, skipped: Int) {
        var text = CSVField.row(timesketchColumns)
        var skipped = 0
        for e in t.entries {
            guard let time = e.timestamp else { skipped += 1; continue }
            let v = timesketchValues(e, time)
            // A newline inside a cell breaks Timesketch's CSV importer; the message is one line anyway.
            text += CSVField.row(timesketchColumns.map { (v[$0] ?? "").replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") })
        }
        return (Data(text.utf8), skipped)
    }

    /// ECS-shaped JSON Lines, one alert per finding.
    public static func ecsJSONL(_ t: FleetTimeline) throws -> Data {
        var out = Data()
        let severityNumber: [Severity: Int] = [.informational: 10, .low: 21, .medium: 47, .high: 73, .critical: 99]
        for e in t.entries {
            var d: [String: Any] = [
                "message": e.message,
                "event.kind": "alert",
                "event.module": "exhunt",
                "event.dataset": e.source.replacingOccurrences(of: "/", with: "."),
                "event.category": e.logsource == .evidenceFile ? ["file", "malware"] : ["web", "intrusion_detection"],
                "event.type": ["indicator"],
                "event.severity": severityNumber[e.severity] ?? 0,
                "event.risk_score": severityNumber[e.severity] ?? 0,
                "host.name": e.host,
                "rule.id": e.ruleID,
                "rule.name": e.ruleTitle,
                "rule.ruleset": e.ruleSource,
                "labels.stage": e.stage,
                "labels.verdict_role": e.role.rawValue,
                "log.file.path": e.path,
            ]
            if let time = e.timestamp { d["@timestamp"] = ISOTime.string(time) }
            if let a = e.ruleAuthor { d["rule.author"] = [a] }
            if let l = e.line { d["log.file.line"] = l }
            if let o = e.offset { d["log.offset"] = o }
            if !e.cves.isEmpty {
                d["vulnerability.id"] = e.cves
                d["vulnerability.enumeration"] = "CVE"
            }
            if !e.attack.isEmpty {
                d["threat.framework"] = "MITRE ATT&CK"
                d["threat.technique.id"] = e.attack
            }
            if let ip = e.clientAddress { d["source.ip"] = ip; d["related.ip"] = [ip] }
            if let ua = e.userAgent { d["user_agent.original"] = ua }
            if e.logsource == .evidenceFile {
                d["file.path"] = e.url ?? e.path
                if let h = e.sha256 { d["file.hash.sha256"] = h; d["related.hash"] = [h] }
            } else if let url = e.url {
                d["url.path"] = url
            }
            d["event.original"] = e.excerpt
            out += try JSONSerialization.data(withJSONObject: d, options: [.sortedKeys, .withoutEscapingSlashes])
            out += Data("\n".utf8)
        }
        return out
    }
}
