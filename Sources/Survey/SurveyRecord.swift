public import ExchangeBuilds
public import Foundation
import HuntCore

/// One line of survey output: everything learned about one host and port.
public struct SurveyRecord: Sendable {
    public var target: String
    public var ip: String?
    public var port: Int
    public var scheme: String
    public var exchange = false
    public var build: String?
    public var cuLevel: String?
    public var buildEvidence: String?
    public var buildPrecision: String?
    public var buildSources: [BuildObservation] = []
    public var product: String?
    public var cu: String?
    public var update: String?
    public var status: [FamilyStatus] = []
    public var ssrf: String?
    public var webshells: [String] = []
    public var notes: [String] = []
    public var error: String?
    public var time: Date
    public var durationMS: Int = 0

    public var key: String { "\(target) \(port)" }

    /// JSON object with a fixed key order and explicit nulls, so a record always has every field.
    public func json() -> String {
        var out = "{"
        var first = true
        func key(_ k: String) { out += (first ? "" : ",") + JSON.string(k) + ":"; first = false }
        func str(_ k: String, _ v: String?) { key(k); out += v.map(JSON.string) ?? "null" }
        str("target", target)
        str("ip", ip)
        key("port"); out += String(port)
        str("scheme", scheme)
        key("exchange"); out += exchange ? "true" : "false"
        str("build", build)
        str("cu_level", cuLevel)
        str("build_evidence", buildEvidence)
        str("build_precision", buildPrecision)
        key("build_sources")
        out += "[" + buildSources.map { "{\"source\":\(JSON.string($0.source.rawValue)),\"value\":\(JSON.string($0.value))}" }.joined(separator: ",") + "]"
        str("product", product)
        str("cu", cu)
        str("update", update)
        key("status")
        out += "{" + status.map { "\(JSON.string($0.family)):\(JSON.string($0.status.rawValue))" }.joined(separator: ",") + "}"
        key("status_notes")
        out += "{" + status.map { "\(JSON.string($0.family)):\(JSON.string($0.note))" }.joined(separator: ",") + "}"
        str("ssrf", ssrf)
        key("webshells"); out += "[" + webshells.map(JSON.string).joined(separator: ",") + "]"
        key("notes"); out += "[" + notes.map(JSON.string).joined(separator: ",") + "]"
        str("error", error)
        str("time", ISOTime.string(time))
        key("duration_ms"); out += String(durationMS)
        return out + "}"
    }
}

enum JSON {
    /// A JSON string literal; control characters and non-ASCII escaped so hostile server text stays inert.
    static func string(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c }) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7f || (u.value >= 0x80 && u.value <= 0x9f) || u.value == 0x2028 || u.value == 0x2029 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
