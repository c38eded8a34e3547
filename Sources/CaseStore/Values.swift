public import Foundation
public import HuntCore
import Evidence
import Indicators

/// A value the store keeps per host run for pivots and rematch: an attacker's indicator learned
/// from findings, or a value the evidence merely shows.
public struct StoredValue: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// A client address (IPv4 or IPv6).
        case address
        case userAgent = "user-agent"
        /// A file's path on the server (Windows form) and its SHA-256.
        case path
        case sha256
    }

    public var kind: Kind
    public var value: String
    public var first: Date?
    public var last: Date?
    public var hits: Int
    /// For learned indicators: the weightiest finding it comes from.
    public var role: VerdictRole?

    public init(kind: Kind, value: String, first: Date? = nil, last: Date? = nil, hits: Int = 1, role: VerdictRole? = nil) {
        self.kind = kind
        self.value = value
        self.first = first
        self.last = last
        self.hits = hits
        self.role = role
    }
}

/// The attacker's indicators in a host's findings: what the weightiest findings (`compromised`,
/// `attempted`) say about who did it, by the fields each log format names them in.
enum LearnedIndicators {
    /// Field names, lowercased, per kind: HttpProxy and IIS spell the client's address and user
    /// agent differently; event logs give `IpAddress` (4624, 4625) and `SourceAddress`.
    static let fields: [StoredValue.Kind: Set<String>] = [
        .address: ["clientipaddress", "c-ip", "clientip", "ipaddress", "sourceaddress", "client-ip"],
        .userAgent: ["useragent", "cs(user-agent)", "user-agent", "cs-user-agent"],
    ]

    static func weight(_ r: VerdictRole) -> Int {
        switch r { case .compromised: 3; case .attempted: 2; default: 1 }
    }

    static func from(_ findings: [Finding]) -> [StoredValue] {
        var out: [String: StoredValue] = [:]
        func add(_ kind: StoredValue.Kind, _ raw: String, _ f: Finding) {
            var value = raw.trimmingCharacters(in: .whitespaces)
            if kind == .address { guard let a = Address.normalised(value) else { return }; value = a }
            if kind == .path || kind == .sha256 { value = value.lowercased() }
            guard !value.isEmpty, value.utf8.count <= 4096 else { return }
            let key = kind.rawValue + "\u{0}" + value
            var v = out[key] ?? StoredValue(kind: kind, value: value, first: f.timestamp, last: f.lastSeen ?? f.timestamp, hits: 0, role: f.role)
            v.hits += f.count
            if let t = f.timestamp, v.first.map({ t < $0 }) ?? true { v.first = t }
            if let t = f.lastSeen ?? f.timestamp, v.last.map({ t > $0 }) ?? true { v.last = t }
            if let r = v.role, weight(f.role) > weight(r) { v.role = f.role }
            out[key] = v
        }
        for f in findings where f.role == .compromised || f.role == .attempted {
            for (name, value) in f.group.merging(f.fields, uniquingKeysWith: { a, _ in a }) {
                let lower = name.lowercased()
                for (kind, names) in fields where names.contains(lower) { add(kind, value, f) }
            }
            // A file that weighs as compromise is the attacker's: its path and hash.
            if f.logsource == .evidenceFile, f.role == .compromised {
                add(.path, WindowsPath.from(relative: f.evidence.path), f)
                if let h = f.evidence.sha256 { add(.sha256, h, f) }
            }
            if let written = f.extracted["path"] ?? f.extracted["Path"], f.role == .compromised { add(.path, written, f) }
        }
        return out.values.sorted { ($0.kind.rawValue, $0.value) < ($1.kind.rawValue, $1.value) }
    }
}

/// Everything the evidence shows that an indicator learned later could name: client addresses
/// (from the hunt), the path and SHA-256 of every file in the manifest.
enum SeenValues {
    static func from(_ report: HostReport) -> [StoredValue] {
        var out: [StoredValue] = []
        out.reserveCapacity(report.clientAddresses.count + 2 * report.manifest.count)
        var seen = Set<String>()
        for a in report.clientAddresses {
            guard let v = Address.normalised(a.address), seen.insert("a" + v).inserted else { continue }
            out.append(StoredValue(kind: .address, value: v, first: a.first, last: a.last, hits: a.lines))
        }
        for m in report.manifest {
            let path = WindowsPath.from(relative: m.path).lowercased()
            if seen.insert("p" + path).inserted { out.append(StoredValue(kind: .path, value: path, first: m.modified, last: m.modified)) }
            if let h = m.sha256?.lowercased(), seen.insert("h" + h).inserted {
                out.append(StoredValue(kind: .sha256, value: h, first: m.modified, last: m.modified))
            }
        }
        return out
    }
}

/// Client addresses as the store keeps them: IPv4 dotted, IPv6 lowercased, without a port or
/// an IPv4-mapped prefix, so `::ffff:10.0.0.1` and `10.0.0.1:51234` are the same client.
public enum Address {
    public static func normalised(_ raw: String) -> String? {
        var s = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if s.hasPrefix("[") , let close = s.firstIndex(of: "]") { s = String(s[s.index(after: s.startIndex)..<close]) }
        if s.hasPrefix("::ffff:"), IndicatorSet.isIPv4(String(s.dropFirst(7))) { s = String(s.dropFirst(7)) }
        if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":"), IndicatorSet.isIPv4(String(s[..<colon])) { s = String(s[..<colon]) }
        if IndicatorSet.isIPv4(s) { return s }
        if s.contains(":"), s.count <= 45, s.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) { return s }
        return nil
    }
}
