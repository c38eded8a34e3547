import HuntCore

/// Value formats of the evtx crate's output (FILETIME, SYSTEMTIME, GUID, SID, hex), written as
/// bytes into a caller's buffer of at least `maxBytes`: the dump writes millions of these, and
/// one bounded write per value beats appending digit by digit.
enum ValueFormat {
    static let maxBytes = 64
    private static let upperDigits: StaticString = "0123456789ABCDEF"
    private static let lowerDigits: StaticString = "0123456789abcdef"

    /// `value` as `digits` hex digits (as many as it needs when `digits` is 0).
    @inline(__always)
    static func hex(_ value: UInt64, _ digits: Int, upper: Bool = true, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let n = digits > 0 ? digits : max(1, (64 - value.leadingZeroBitCount + 3) / 4)
        let table = (upper ? upperDigits : lowerDigits).utf8Start
        var v = value
        for i in stride(from: n - 1, through: 0, by: -1) {
            p[i] = table[Int(v & 0xF)]
            v >>= 4
        }
        return n
    }

    /// `value` in decimal, zero-padded to `width` (at most 21 bytes for any 64-bit value).
    @inline(__always)
    static func decimal<T: BinaryInteger>(_ value: T, _ width: Int, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var m = value.magnitude
        var n = 0
        repeat { n += 1; m /= 10 } while m > 0
        var at = 0
        if value < 0 { p[0] = UInt8(ascii: "-"); at = 1 }
        let total = max(width, n)
        m = value.magnitude
        var i = at + total - 1
        while i >= at {
            p[i] = UInt8(48 + Int(m % 10))
            m /= 10
            i -= 1
        }
        return at + total
    }

    /// FILETIME as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, as the evtx crate prints).
    static func filetime(_ ft: UInt64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        // FILETIME is unsigned 100 ns ticks since 1601: a hostile value near 2^64 must not overflow.
        let epoch: UInt64 = 116_444_736_000_000_000
        let secs: Int64, micros: Int64
        if ft >= epoch {
            secs = Int64((ft - epoch) / 10_000_000)
            micros = Int64((ft - epoch) % 10_000_000 / 10)
        } else {
            let ticks = -Int64(epoch - ft)
            secs = (ticks - 9_999_999) / 10_000_000
            micros = (ticks - secs * 10_000_000) / 10
        }
        var n = civil(secs, to: p)
        p[n] = UInt8(ascii: "."); n += 1
        n += decimal(Int(micros), 6, to: p + n)
        p[n] = UInt8(ascii: "Z")
        return n + 1
    }

    /// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SS`.
    static func civil(_ secs: Int64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let sod = Int(secs - days * 86_400)
        let (y, m, d) = ISOTime.civil(Int(days))
        return dateTime(y, m, d, sod / 3600, sod / 60 % 60, sod % 60, to: p)
    }

    /// SYSTEMTIME (eight 16-bit fields) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    static func systemtime(_ r: UnsafeRawBufferPointer, to p: UnsafeMutablePointer<UInt8>) -> Int {
        func u(_ i: Int) -> Int { Int(r.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) }
        var n = dateTime(u(0), u(1), u(3), u(4), u(5), u(6), to: p)
        p[n] = UInt8(ascii: "."); n += 1
        n += decimal(u(7) * 1000, 6, to: p + n)
        p[n] = UInt8(ascii: "Z")
        return n + 1
    }

    @inline(__always)
    private static func dateTime(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = decimal(y, 4, to: p)
        @inline(__always) func two(_ separator: UInt8, _ value: Int) {
            p[n] = separator
            n += 1 + decimal(value, 2, to: p + n + 1)
        }
        two(UInt8(ascii: "-"), mo); two(UInt8(ascii: "-"), d); two(UInt8(ascii: "T"), h)
        two(UInt8(ascii: ":"), mi); two(UInt8(ascii: ":"), s)
        return n
    }

    /// A GUID in registry form without braces, upper case.
    static func guid(_ r: UnsafeRawBufferPointer, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = hex(UInt64(r.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian), 8, to: p)
        p[n] = UInt8(ascii: "-"); n += 1
        n += hex(UInt64(r.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian), 4, to: p + n)
        p[n] = UInt8(ascii: "-"); n += 1
        n += hex(UInt64(r.loadUnaligned(fromByteOffset: 6, as: UInt16.self).littleEndian), 4, to: p + n)
        p[n] = UInt8(ascii: "-"); n += 1
        n += hex(UInt64(r[8]) << 8 | UInt64(r[9]), 4, to: p + n)
        p[n] = UInt8(ascii: "-"); n += 1
        var tail: UInt64 = 0
        for i in 10..<16 { tail = tail << 8 | UInt64(r[i]) }
        return n + hex(tail, 12, to: p + n)
    }

    /// Room a SID needs: `S-255-` and a 48-bit authority, then up to 255 32-bit sub-authorities.
    static func sidBytes(_ r: UnsafeRawBufferPointer) -> Int {
        r.count < 8 ? 0 : 24 + 11 * min(Int(r[1]), (r.count - 8) / 4)
    }

    /// A SID as `S-1-5-21-…`; only the sub-authorities the bytes hold (a damaged count is not trusted).
    static func sid(_ r: UnsafeRawBufferPointer, to p: UnsafeMutablePointer<UInt8>) -> Int {
        guard r.count >= 8 else { return 0 }
        var authority: UInt64 = 0
        for i in 2..<8 { authority = authority << 8 | UInt64(r[i]) }
        p[0] = UInt8(ascii: "S"); p[1] = UInt8(ascii: "-")
        var n = 2 + decimal(Int(r[0]), 0, to: p + 2)
        p[n] = UInt8(ascii: "-"); n += 1
        n += decimal(Int(authority), 0, to: p + n)
        for i in 0..<min(Int(r[1]), (r.count - 8) / 4) {
            p[n] = UInt8(ascii: "-"); n += 1
            n += decimal(Int(r.loadUnaligned(fromByteOffset: 8 + i * 4, as: UInt32.self).littleEndian), 0, to: p + n)
        }
        return n
    }

    static func filetime(_ ft: UInt64) -> String { string { filetime(ft, to: $0) } }

    static func sid(_ r: UnsafeRawBufferPointer) -> String { string(maxBytes: sidBytes(r)) { sid(r, to: $0) } }

    /// What a writer writes, as a String (tests, XML, matching).
    static func string(maxBytes: Int = maxBytes, _ write: (UnsafeMutablePointer<UInt8>) -> Int) -> String {
        String(unsafeUninitializedCapacity: max(1, maxBytes)) { b in b.baseAddress.map(write) ?? 0 }
    }
}
