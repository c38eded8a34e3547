import Foundation
import HuntCore

/// Where to connect: one host and port, with the name to present when one is known.
public struct SurveyTarget: Sendable, Hashable {
    /// As the user wrote it (host name or address; for ranges, the address).
    public var input: String
    /// Address or name to connect to.
    public var host: String
    /// Name for SNI and the Host header; nil for bare addresses.
    public var serverName: String?
    public var port: Int
    public var tls: Bool

    /// Identity of a record in an output file (for --resume).
    public var key: String { "\(input) \(port)" }
}

/// A port and whether it speaks TLS: `443`, `80`, `https:8443`, `http:8080`.
public struct PortSpec: Sendable, Hashable, CustomStringConvertible {
    public var port: Int
    public var tls: Bool

    public init(port: Int, tls: Bool) { (self.port, self.tls) = (port, tls) }

    public init?(_ text: String) {
        var t = Substring(text)
        var scheme: Bool?
        if t.hasPrefix("https:") { scheme = true; t = t.dropFirst(6) } else if t.hasPrefix("http:") { scheme = false; t = t.dropFirst(5) }
        guard let p = Int(t), (1...65535).contains(p) else { return nil }
        port = p
        tls = scheme ?? [443, 8443, 9443].contains(p)
    }

    public var description: String { "\(tls ? "https" : "http"):\(port)" }
    public static let defaults = [PortSpec(port: 443, tls: true), PortSpec(port: 80, tls: false)]
}

public struct TargetError: Error, CustomStringConvertible {
    public var description: String
}

/// One line of target input: an address, a range, a name or a URL. Ranges stay ranges: nothing is
/// expanded until it is iterated, so a /8 costs no memory.
public enum TargetSpec: Sendable, Hashable {
    case v4(first: UInt32, last: UInt32)
    case v6(first: IPv6Address, last: IPv6Address)
    case name(String)
    case url(host: String, port: PortSpec, isName: Bool)

    public init(_ raw: String) throws {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.utf8.count <= 2048 else { throw TargetError(description: "empty or overlong target") }
        if let schemeEnd = text.range(of: "://") {
            let scheme = text[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else { throw TargetError(description: "\(text): only http and https URLs") }
            var rest = text[schemeEnd.upperBound...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<slash] }
            if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
            var host = String(rest)
            var port = scheme == "https" ? 443 : 80
            if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
                let after = host[host.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw TargetError(description: "\(text): bad port") }
                    port = p
                }
                host = String(host[host.index(after: host.startIndex)..<close])
            } else if let colon = host.lastIndex(of: ":") {
                guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw TargetError(description: "\(text): bad port") }
                port = p
                host = String(host[..<colon])
            }
            let isName = IPv4Address.parse(host) == nil && IPv6Address(host) == nil
            if isName { try Self.checkName(host, in: text) }
            self = .url(host: host, port: PortSpec(port: port, tls: scheme == "https"), isName: isName)
            return
        }
        if let slash = text.firstIndex(of: "/") {
            let addr = String(text[..<slash])
            guard let bits = Int(text[text.index(after: slash)...]) else { throw TargetError(description: "\(text): bad prefix length") }
            if let v4 = IPv4Address.parse(addr) {
                guard (0...32).contains(bits) else { throw TargetError(description: "\(text): IPv4 prefix must be 0-32") }
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
                self = .v4(first: v4 & mask, last: (v4 & mask) | ~mask)
                return
            }
            if let v6 = IPv6Address(addr) {
                guard (0...128).contains(bits) else { throw TargetError(description: "\(text): IPv6 prefix must be 0-128") }
                let (first, last) = v6.range(prefix: bits)
                self = .v6(first: first, last: last)
                return
            }
            throw TargetError(description: "\(text): not an address range")
        }
        if let v4 = IPv4Address.parse(text) { self = .v4(first: v4, last: v4); return }
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if let v6 = IPv6Address(bare) { self = .v6(first: v6, last: v6); return }
        try Self.checkName(text, in: text)
        self = .name(text.lowercased())
    }

    private static func checkName(_ name: String, in text: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= 253
            && name.utf8.allSatisfy { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) }
        guard ok else { throw TargetError(description: "\(text): not a host name, address, range or URL") }
    }

    /// Whether the address (or, for a name, the name) is covered by this spec. Used for exclusions.
    func contains(address: String) -> Bool {
        switch self {
        case let .v4(first, last):
            guard let a = IPv4Address.parse(address) else { return false }
            return first <= a && a <= last
        case let .v6(first, last):
            guard let a = IPv6Address(address) else { return false }
            return first <= a && a <= last
        case .name(let n): return n == address.lowercased()
        case .url(let h, _, _): return h.lowercased() == address.lowercased()
        }
    }
}

/// Addresses to leave alone, whatever the target list says.
public struct ExclusionList: Sendable {
    var specs: [TargetSpec] = []
    public init(_ lines: [String]) throws {
        for l in lines {
            let t = l.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if t.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            specs.append(try TargetSpec(t))
        }
    }
    public func excludes(_ host: String) -> Bool { specs.contains { $0.contains(address: host) } }
    public var isEmpty: Bool { specs.isEmpty }
}

/// `I/N`: this machine takes every host whose stable hash falls in bucket I of N. Hash, not
/// position, so the split does not depend on how the list is ordered or cut.
public struct Shard: Sendable, Hashable {
    public var index: Int
    public var count: Int
    public init?(_ text: String) {
        let p = text.split(separator: "/")
        guard p.count == 2, let i = Int(p[0]), let n = Int(p[1]), n >= 1, (1...n).contains(i) else { return nil }
        (index, count) = (i, n)
    }
    public func contains(host: String) -> Bool {
        Int(FNV1a.hash(host) % UInt64(count)) == index - 1
    }
}

/// Expands specs into targets lazily: address by address, port by port.
public struct TargetExpansion: Sequence, IteratorProtocol {
    private var specs: AnyIterator<Result<TargetSpec, TargetError>>
    private let ports: [PortSpec]
    private let exclusions: ExclusionList
    private let shard: Shard?
    private var current: TargetSpec?
    private var v4Next: UInt64 = 0
    private var v6Next: IPv6Address?
    private var hostPorts: [SurveyTarget] = []
    /// Bad input lines, reported by the caller without stopping.
    public private(set) var rejected: [TargetError] = []
    public private(set) var excluded = 0

    public init(lines: AnyIterator<String>, ports: [PortSpec], exclusions: ExclusionList, shard: Shard?) {
        specs = AnyIterator {
            while let line = lines.next() {
                let t = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
                if t.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                do { return .success(try TargetSpec(t)) } catch let e as TargetError { return .failure(e) } catch { continue }
            }
            return nil
        }
        self.ports = ports
        self.exclusions = exclusions
        self.shard = shard
    }

    public mutating func next() -> SurveyTarget? {
        while true {
            if !hostPorts.isEmpty { return hostPorts.removeFirst() }
            guard let host = nextHost() else { return nil }
            if shard?.contains(host: host.host) == false { continue }
            if !exclusions.isEmpty && exclusions.excludes(host.host) { excluded += 1; continue }
            switch host.spec {
            case .url(_, let port, _):
                hostPorts = [SurveyTarget(input: host.host, host: host.host, serverName: host.name, port: port.port, tls: port.tls)]
            default:
                hostPorts = ports.map { SurveyTarget(input: host.host, host: host.host, serverName: host.name, port: $0.port, tls: $0.tls) }
            }
        }
    }

    private mutating func nextHost() -> (host: String, name: String?, spec: TargetSpec)? {
        while true {
            if let spec = current {
                switch spec {
                case let .v4(first, last):
                    let a = UInt64(first) + v4Next
                    if a <= UInt64(last) { v4Next += 1; return (IPv4Address.format(UInt32(a)), nil, spec) }
                case let .v6(first, last):
                    let a = v6Next ?? first
                    if a <= last {
                        v6Next = a.successor
                        // Past the top of the space: stop after this one.
                        if v6Next == nil { current = nil }
                        return (a.description, nil, spec)
                    }
                case .name(let n):
                    current = nil
                    return (n, n, spec)
                case let .url(h, _, isName):
                    current = nil
                    return (h, isName ? h.lowercased() : nil, spec)
                }
                current = nil
            }
            guard let r = specs.next() else { return nil }
            switch r {
            case .success(let s): current = s; v4Next = 0; v6Next = nil
            case .failure(let e): rejected.append(e)
            }
        }
    }
}

public enum IPv4Address {
    public static func parse(_ text: some StringProtocol) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        for p in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt32(p), n < 256 else { return nil }
            value = value << 8 | n
            parts += 1
        }
        return parts == 4 ? value : nil
    }
    public static func format(_ v: UInt32) -> String { "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)" }
    /// Inside 127.0.0.0/8.
    public static func isLoopback(_ v: UInt32) -> Bool { v >> 24 == 127 }
}

/// 128 bits as two halves, for ranges and ordering.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) { (self.high, self.low) = (high, low) }

    public init?(_ text: String) {
        guard text.contains(":"), text.utf8.count <= 45 else { return nil }
        var groups: [UInt16] = []
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func parse(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, p.contains("."), let v4 = IPv4Address.parse(p) {
                    out += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                } else {
                    guard (1...4).contains(p.count), let g = UInt16(p, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let head = parse(halves[0]) else { return nil }
        groups = head
        if halves.count == 2 {
            guard let tail = parse(halves[1]), head.count + tail.count <= 7 else { return nil }
            groups += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard groups.count == 8 else { return nil }
        high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    func range(prefix bits: Int) -> (IPv6Address, IPv6Address) {
        func mask(_ b: Int) -> UInt64 { b <= 0 ? 0 : b >= 64 ? ~0 : ~UInt64(0) << (64 - b) }
        let mh = mask(bits), ml = mask(bits - 64)
        return (IPv6Address(high: high & mh, low: low & ml), IPv6Address(high: high | ~mh, low: low | ~ml))
    }

    var successor: IPv6Address? {
        if low != .max { return IPv6Address(high: high, low: low + 1) }
        if high != .max { return IPv6Address(high: high + 1, low: 0) }
        return nil
    }

    public static func < (a: Self, b: Self) -> Bool { (a.high, a.low) < (b.high, b.low) }

    /// RFC 5952 text: lower case, longest zero run compressed.
    public var description: String {
        let g = (0..<8).map { i -> UInt16 in UInt16(truncatingIfNeeded: (i < 4 ? high >> (48 - 16 * i) : low >> (48 - 16 * (i - 4))) & 0xffff) }
        var best = (start: -1, len: 0), run = (start: -1, len: 0)
        for (i, v) in g.enumerated() {
            if v == 0 {
                run = run.start < 0 ? (i, 1) : (run.start, run.len + 1)
                if run.len > best.len { best = run }
            } else { run = (-1, 0) }
        }
        let hex = g.map { String($0, radix: 16) }
        guard best.len >= 2 else { return hex.joined(separator: ":") }
        return hex[..<best.start].joined(separator: ":") + "::" + hex[(best.start + best.len)...].joined(separator: ":")
    }
}
