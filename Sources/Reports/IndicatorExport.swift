import Crypto
public import Foundation
public import CaseStore
import HuntCore

/// A case's learned indicators, ready to share: STIX 2.1 (a bundle of `indicator` objects with
/// patterns) and CSV (formula injection neutralised).
public enum IndicatorExport {
    public static func csv(_ values: [SharedValue]) -> Data {
        var out = CSVField.row(["kind", "value", "hosts", "host_count", "hits", "first_seen", "last_seen"])
        for v in values {
            out += CSVField.row([v.kind.rawValue, v.value, v.hosts.joined(separator: " "), String(v.hosts.count), String(v.hits),
                                 v.first.map { ISOTime.string($0) } ?? "", v.last.map { ISOTime.string($0) } ?? ""])
        }
        return Data(out.utf8)
    }

    /// A STIX 2.1 bundle. Object ids are derived from the value (the same indicator exports with
    /// the same id each time, so a CERT's platform de-duplicates); `created` is the export's time.
    public static func stix(_ values: [SharedValue], caseName: String, at now: Date = Date()) throws -> Data {
        let created = ISOTime.string(now)
        var objects: [[String: Any]] = []
        let identity = "identity--" + uuid("exhunt-case:" + caseName)
        objects.append(["type": "identity", "spec_version": "2.1", "id": identity, "created": created, "modified": created,
                        "name": "exhunt case \(caseName)", "identity_class": "organization"])
        for v in values {
            guard let pattern = pattern(v) else { continue }
            var o: [String: Any] = [
                "type": "indicator", "spec_version": "2.1", "id": "indicator--" + uuid(v.kind.rawValue + ":" + v.value),
                "created": created, "modified": created, "created_by_ref": identity,
                "name": "\(v.kind.rawValue) \(v.value)", "pattern": pattern, "pattern_type": "stix", "pattern_version": "2.1",
                "valid_from": ISOTime.string(v.first ?? now),
                "indicator_types": [v.kind == .address || v.kind == .userAgent ? "malicious-activity" : "compromised"],
                "description": "Seen on \(v.hosts.count) host(s) of the case, \(v.hits) hit(s)",
                "labels": ["exhunt", "exchange"],
            ]
            if let last = v.last { o["x_exhunt_last_seen"] = ISOTime.string(last) }
            objects.append(o)
        }
        let bundle: [String: Any] = ["type": "bundle", "id": "bundle--" + uuid("bundle:" + caseName + created), "objects": objects]
        return try JSONSerialization.data(withJSONObject: bundle, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// The STIX pattern for a value; string literals escape `\` and `'` as the pattern grammar wants.
    static func pattern(_ v: SharedValue) -> String? {
        let lit = "'" + v.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        switch v.kind {
        case .address: return v.value.contains(":") ? "[ipv6-addr:value = \(lit)]" : "[ipv4-addr:value = \(lit)]"
        case .sha256: return "[file:hashes.'SHA-256' = \(lit)]"
        case .path:
            let name = v.value.split(separator: "\\").last.map(String.init) ?? v.value
            let nameLit = "'" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
            return "[file:name = \(nameLit)]"
        case .userAgent: return "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = \(lit)]"
        }
    }

    /// A name-based UUID (version 5 layout over SHA-256's first bytes).
    static func uuid(_ name: String) -> String {
        var b = Array(SHA256.hash(data: Data(name.utf8)).prefix(16))
        b[6] = (b[6] & 0x0F) | 0x50
        b[8] = (b[8] & 0x3F) | 0x80
        let h = b.map { String(format: "%02x", $0) }.joined()
        let c = Array(h)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
