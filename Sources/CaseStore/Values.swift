public import Foundation
public import HuntCore
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

extension StoredValue.Kind {
    /// Field names, lowercased, per kind: HttpProxy and IIS spell the client's address and user
    /// agent differently; event logs give `IpAddress` (4624, 4625) and `SourceAddress`.
    static let fields: [StoredValue.Kind: Set<String>] = [
        .address: ["clientipaddress", "c-ip", "clientip", "ipaddress", "sourceaddress", "client-ip"],
        .userAgent: ["useragent", "cs(user-agent)", "user-agent", "cs-user-agent"],
    ]

    /// The kind of value a finding's field holds, if it is one the store keeps (`c-ip` is an address).
    public init?(field: String) {
        let lower = field.lowercased()
        guard let kind = Self.fields.first(where: { $0.value.contains(lower) })?.key else { return nil }
        self = kind
    }

    /// A value as the store keeps it: addresses normalised, paths and hashes lowercased; nil for
    /// what is not a value of this kind.
    func stored(_ raw: String) -> String? {
        var value = raw.trimmingCharacters(in: .whitespaces)
        switch self {
        case .address: guard let a = Address.normalised(value) else { return nil }; value = a
        case .path, .sha256: value = value.lowercased()
        case .userAgent: break
        }
        guard !value.isEmpty, value != "-", value.utf8.count <= 4096 else { return nil }
        return value
    }
}

/// The values a finding names, as the store keeps them: client addresses and user agents from its
/// group and fields, the path and SHA-256 of the file it is about, the path a rule extracted. A
/// pivot lists the findings that name its value.
public enum FindingValues {
    public struct Named: Hashable, Sendable {
        public var kind: StoredValue.Kind
        public var value: String
    }

    public static func of(_ f: Finding) -> [Named] {
        var out: [Named] = []
        var seen = Set<Named>()
        func add(_ kind: StoredValue.Kind, _ raw: String) {
            if let v = kind.stored(raw), seen.insert(Named(kind: kind, value: v)).inserted { out.append(Named(kind: kind, value: v)) }
        }
        for (name, value) in f.group.merging(f.fields, uniquingKeysWith: { a, _ in a }).sorted(by: { $0.key < $1.key }) {
            if let kind = StoredValue.Kind(field: name) { add(kind, value) }
        }
        // A probe aggregated over its senders names the ones that sent the most (all of them when few).
        if let spread = f.spread, let kind = StoredValue.Kind(field: spread.field) {
            for c in spread.top { add(kind, c.value) }
        }
        if f.logsource == .evidenceFile {
            add(.path, WindowsPath.from(relative: f.evidence.path))
            if let h = f.evidence.sha256 { add(.sha256, h) }
        }
        if let written = f.extracted["path"] ?? f.extracted["Path"] { add(.path, written) }
        return out
    }
}

/// The attacker's indicators in a host's findings: what the weightiest findings (`compromised`,
/// `attempted`) say about who did it. Files and written paths only from findings that weigh as
/// compromise: a probe for a path does not make the path the attacker's.
enum LearnedIndicators {
    static func weight(_ r: VerdictRole) -> Int {
        switch r { case .compromised: 3; case .attempted: 2; default: 1 }
    }

    static func from(_ findings: [Finding]) -> [StoredValue] {
        var out: [FindingValues.Named: StoredValue] = [:]
        for f in findings where f.role == .compromised || f.role == .attempted {
            for named in FindingValues.of(f) where named.kind == .address || named.kind == .userAgent || f.role == .compromised {
                var v = out[named] ?? StoredValue(kind: named.kind, value: named.value, first: f.timestamp, last: f.lastSeen ?? f.timestamp, hits: 0, role: f.role)
                v.hits += f.count
                if let t = f.timestamp, v.first.map({ t < $0 }) ?? true { v.first = t }
                if let t = f.lastSeen ?? f.timestamp, v.last.map({ t > $0 }) ?? true { v.last = t }
                if let r = v.role, weight(f.role) > weight(r) { v.role = f.role }
                out[named] = v
            }
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
