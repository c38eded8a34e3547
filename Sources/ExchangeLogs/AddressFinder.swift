import Foundation

/// Finds IPv4 addresses from a set as whole tokens (between delimiters), for indicator lists.
///
/// Addresses are all digits and dots, the commonest bytes of a log line, so a literal search
/// anchored on one of their bytes would stop everywhere. Instead every dot is a possible token:
/// the digits before it must follow a delimiter, and the whole digits-and-dots run is looked up
/// in a set. The run is skipped as a whole, so an address costs one lookup, not three.
public struct AddressFinder: Sendable {
    /// Addresses as 32-bit numbers: a token is parsed in place and looked up without allocating.
    private let addresses: Set<UInt32>
    private let maxLength = 15

    public init(_ addresses: [String]) {
        self.addresses = Set(addresses.compactMap { a in
            let bytes = Array(a.utf8)
            return bytes.withUnsafeBufferPointer { b in b.baseAddress.flatMap { AddressFinder.parse($0, 0, bytes.count) } }
        })
    }

    /// Dotted-quad bytes to a number, or nil if they are not exactly four octets of 0…255.
    @inline(__always)
    static func parse(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> UInt32? {
        var value: UInt32 = 0, octet: UInt32 = 0, digits = 0, dots = 0
        for i in start..<end {
            let b = base[i]
            if b == 0x2E {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0; digits = 0; dots += 1
            } else {
                octet = octet * 10 + UInt32(b - 0x30)
                digits += 1
                guard digits <= 3, octet <= 255 else { return nil }
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    public var isEmpty: Bool { addresses.isEmpty }

    @inline(__always) private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) private static func isDelimiter(_ b: UInt8) -> Bool {
        b == 0x2C || b == 0x20 || b == 0x09 || b == 0x22 || b == 0x3B || b == 0x3D || b == 0x3A
    }

    /// Calls `body` with the start of each listed address found; `body` returns where to resume.
    public func forEachMatch(in base: UnsafePointer<UInt8>, count: Int, _ body: (Int) -> Int) {
        guard !addresses.isEmpty else { return }
        var pos = 0
        while pos < count, let q = memchr(base + pos, 0x2E, count - pos) {
            let dot = base.distance(to: q.assumingMemoryBound(to: UInt8.self))
            var start = dot
            while start > 0, dot - start < 3, Self.isDigit(base[start - 1]) { start -= 1 }
            guard start < dot, start == 0 || Self.isDelimiter(base[start - 1]) || base[start - 1] == 0x0A else {
                pos = dot + 1
                continue
            }
            var end = dot
            while end < count, end - start <= maxLength, Self.isDigit(base[end]) || base[end] == 0x2E { end += 1 }
            if end - start <= maxLength, end == count || !Self.isDigit(base[end]),
               let address = Self.parse(base, start, end), addresses.contains(address) {
                pos = max(end, body(start))
            } else {
                pos = end
            }
        }
    }
}

