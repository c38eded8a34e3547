import Foundation
import HuntCore

/// IIS's two formats older than W3C, still chosen on some servers and found in old collections:
/// the IIS native format (`in*.log`: comma and space separated, no header, the server's local
/// time without its zone) and the NCSA Common Log Format (`nc*.log`: Apache's, with the zone's
/// offset). Their fields get the W3C names, so every IIS rule reads them unchanged.
public enum LegacyIISFormat {
    /// The fixed fields of an IIS native line, by their W3C names.
    public static let nativeFields = ["c-ip", "cs-username", "date", "time", "s-sitename", "s-computername", "s-ip",
                                      "time-taken", "cs-bytes", "sc-bytes", "sc-status", "sc-win32-status",
                                      "cs-method", "cs-uri-stem", "cs-uri-query"]
    /// NCSA common (and, where two quoted fields follow, combined) log fields by their W3C names;
    /// `x-remote-logname` is RFC 1413's identity, which IIS always writes as `-`.
    public static let ncsaFields = ["c-ip", "x-remote-logname", "cs-username", "x-datetime", "cs-method", "cs-uri-stem",
                                    "cs-uri-query", "cs-version", "sc-status", "sc-bytes", "cs(Referer)", "cs(User-Agent)"]

    /// The fixed field names of `format`, when it is one of these two.
    public static func fields(of format: LogFormat) -> [String]? {
        switch format {
        case .iisNative: nativeFields
        case .ncsa: ncsaFields
        default: nil
        }
    }

    // MARK: - IIS native

    /// Splits an IIS native line into its 15 fields (values without the space after each comma).
    /// The query, last, takes the rest of the line, since IIS does not escape commas in it.
    /// Returns false for a line that does not have the native shape.
    static func splitNative(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, into fields: inout [FieldSplitter.Field]) -> Bool {
        fields.removeAll(keepingCapacity: true)
        var end = range.upperBound
        // Every field, the last too, ends with a comma.
        while end > range.lowerBound, p[end - 1] == 0x20 || p[end - 1] == 0x09 { end -= 1 }
        guard end > range.lowerBound, p[end - 1] == 0x2C else { return false }
        end -= 1
        var i = range.lowerBound
        while fields.count < nativeFields.count - 1 {
            var j = i
            while j < end, p[j] != 0x2C { j += 1 }
            guard j < end else { return false }
            fields.append(FieldSplitter.Field(range: i..<j, quoted: false))
            i = j + 1
            if i < end, p[i] == 0x20 { i += 1 }
        }
        fields.append(FieldSplitter.Field(range: i..<max(i, end), quoted: false))
        return true
    }

    /// The time of a native line's `date` (`M/D/YY` or `MM/DD/YYYY`) and `time` (`H:MM:SS`)
    /// fields, as written: the server's local time, which the caller must say it cannot place.
    static func nativeTime(_ p: UnsafePointer<UInt8>, date: Range<Int>, time: Range<Int>) -> Date? {
        var d = Cursor(p, date)
        guard let month = d.number(maxDigits: 2), d.skip(0x2F), let day = d.number(maxDigits: 2), d.skip(0x2F),
              let y = d.number(maxDigits: 4), d.atEnd else { return nil }
        // Two-digit years: IIS's native format dates from 1997; 70 and later are the 1900s.
        let year = y >= 100 ? y : (y < 70 ? 2000 + y : 1900 + y)
        var t = Cursor(p, time)
        guard let hour = t.number(maxDigits: 2), t.skip(0x3A), let minute = t.number(maxDigits: 2), t.skip(0x3A),
              let second = t.number(maxDigits: 2), t.atEnd else { return nil }
        return civil(year, month, day, hour, minute, second, offset: 0)
    }

    // MARK: - NCSA

    /// Splits an NCSA line: `host ident user [dd/Mon/yyyy:HH:MM:SS ±zzzz] "METHOD uri?query VERSION"
    /// status bytes`, optionally followed by `"referer" "user agent"`. Returns false for a line
    /// that does not have the shape.
    static func splitNCSA(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, into fields: inout [FieldSplitter.Field]) -> Bool {
        fields.removeAll(keepingCapacity: true)
        let end = range.upperBound
        var i = range.lowerBound
        func add(_ r: Range<Int>) { fields.append(FieldSplitter.Field(range: r, quoted: false)) }
        func token() -> Range<Int>? {
            let s = i
            while i < end, p[i] != 0x20 { i += 1 }
            guard i > s else { return nil }
            let r = s..<i
            if i < end { i += 1 }
            return r
        }
        /// A `"…"` field; a backslash escapes a quote inside, as Apache writes it.
        func quoted() -> Range<Int>? {
            guard i < end, p[i] == 0x22 else { return nil }
            let s = i + 1
            var j = s
            while j < end, p[j] != 0x22 { j += p[j] == 0x5C ? 2 : 1 }
            guard j < end else { return nil }
            i = j + 1
            if i < end, p[i] == 0x20 { i += 1 }
            return s..<j
        }
        guard let host = token(), let ident = token(), let user = token() else { return false }
        add(host); add(ident); add(user)
        guard i < end, p[i] == 0x5B else { return false }
        let ds = i + 1
        while i < end, p[i] != 0x5D { i += 1 }
        guard i < end else { return false }
        add(ds..<i)
        i += 1
        if i < end, p[i] == 0x20 { i += 1 }
        guard let request = quoted() else { return false }
        // `GET /owa/auth/x.js?a=1 HTTP/1.1`: the method, the target and the version.
        var r = request.lowerBound
        func word() -> Range<Int> {
            let s = r
            while r < request.upperBound, p[r] != 0x20 { r += 1 }
            let w = s..<r
            if r < request.upperBound { r += 1 }
            return w
        }
        let method = word(), target = word(), version = word()
        var q = target.lowerBound
        while q < target.upperBound, p[q] != 0x3F { q += 1 }
        add(method)
        add(target.lowerBound..<q)
        add(q < target.upperBound ? q + 1..<target.upperBound : target.upperBound..<target.upperBound)
        add(version)
        guard let status = token(), let bytes = token() else { return false }
        add(status); add(bytes)
        if let referer = quoted() { add(referer) }
        if let agent = quoted() { add(agent) }
        return true
    }

    /// The time of an NCSA `dd/Mon/yyyy:HH:MM:SS ±zzzz` field, in UTC.
    static func ncsaTime(_ p: UnsafePointer<UInt8>, _ range: Range<Int>) -> Date? {
        var c = Cursor(p, range)
        guard let day = c.number(maxDigits: 2), c.skip(0x2F), let month = c.month(), c.skip(0x2F),
              let year = c.number(maxDigits: 4), c.skip(0x3A), let hour = c.number(maxDigits: 2), c.skip(0x3A),
              let minute = c.number(maxDigits: 2), c.skip(0x3A), let second = c.number(maxDigits: 2) else { return nil }
        var offset = 0
        if c.skip(0x20), let sign = c.sign(), let hhmm = c.number(maxDigits: 4), hhmm % 100 < 60, hhmm / 100 <= 14 {
            offset = sign * ((hhmm / 100) * 3600 + (hhmm % 100) * 60)
        }
        return civil(year, month, day, hour, minute, second, offset: offset)
    }

    // MARK: - Recognition

    /// Which of the two formats a data line has, if either: its fields split and its time parses.
    public static func recognise(_ line: some Collection<UInt8>) -> LogFormat? {
        var bytes = Array(line)
        if bytes.last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { return nil }
        var fields: [FieldSplitter.Field] = []
        return bytes.withUnsafeBufferPointer { buf -> LogFormat? in
            guard let p = buf.baseAddress else { return nil }
            let all = 0..<buf.count
            if splitNative(p, all, into: &fields), fields.count == nativeFields.count,
               nativeTime(p, date: fields[2].range, time: fields[3].range) != nil {
                return .iisNative
            }
            if splitNCSA(p, all, into: &fields), ncsaTime(p, fields[3].range) != nil { return .ncsa }
            return nil
        }
    }

    // MARK: - Bytes

    private static func civil(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int, offset: Int) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        let days = Timestamp.daysFromCivil(year, month, day)
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset))
    }

    /// Reads small numbers and separators from a field, never past its end.
    private struct Cursor {
        let p: UnsafePointer<UInt8>
        var i: Int
        let end: Int

        init(_ p: UnsafePointer<UInt8>, _ r: Range<Int>) { (self.p, i, end) = (p, r.lowerBound, r.upperBound) }

        var atEnd: Bool { i == end }

        mutating func number(maxDigits: Int) -> Int? {
            var v = 0, n = 0
            while i < end, n < maxDigits, p[i] >= 0x30, p[i] <= 0x39 {
                v = v * 10 + Int(p[i] - 0x30)
                i += 1
                n += 1
            }
            return n > 0 ? v : nil
        }

        mutating func skip(_ b: UInt8) -> Bool {
            guard i < end, p[i] == b else { return false }
            i += 1
            return true
        }

        mutating func sign() -> Int? {
            if skip(0x2B) { return 1 }
            if skip(0x2D) { return -1 }
            return nil
        }

        /// An English month abbreviation (`Mar`), as NCSA writes it whatever the server's language.
        mutating func month() -> Int? {
            guard end - i >= 3 else { return nil }
            let name = String(decoding: UnsafeBufferPointer(start: p + i, count: 3), as: UTF8.self).lowercased()
            guard let m = Self.months.firstIndex(of: name) else { return nil }
            i += 3
            return m + 1
        }

        static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    }
}
