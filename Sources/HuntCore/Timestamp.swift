public import Foundation

/// Parses the timestamps Exchange and IIS write, from bytes, without a Calendar or formatter
/// (this runs for every file's first and last line and every candidate line).
public enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS[.fffffff][Z|±HH:MM|±HHMM|±HH]` or `YYYY-MM-DD HH:MM:SS`: UTC unless an
    /// offset follows the time (Exchange and IIS write UTC; exports and other tools may write
    /// local time with its offset, which is then taken off). Trailing bytes are ignored.
    @inlinable
    public static func parse<C: Collection<UInt8>>(_ bytes: C) -> Date? where C.Index == Int {
        var i = bytes.startIndex
        let end = bytes.endIndex
        func digits(_ n: Int) -> Int? {
            guard end - i >= n else { return nil }
            var v = 0
            for _ in 0..<n {
                let d = Int(bytes[i]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                v = v * 10 + d
                i += 1
            }
            return v
        }
        func expect(_ set: [UInt8]) -> Bool {
            guard i < end, set.contains(bytes[i]) else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect([0x2D]), let month = digits(2), expect([0x2D]), let day = digits(2),
              expect([0x54, 0x20]), let hour = digits(2), expect([0x3A]), let minute = digits(2), expect([0x3A]),
              let second = digits(2) else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var fraction = 0.0
        if i < end, bytes[i] == 0x2E {
            i += 1
            var scale = 0.1
            while i < end, bytes[i] >= 48, bytes[i] <= 57 {
                fraction += Double(bytes[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        // A UTC offset right after the time: +02:00 means the clock was two hours ahead of UTC.
        var offset = 0
        if i < end, bytes[i] == 0x2B || bytes[i] == 0x2D {
            let sign = bytes[i] == 0x2B ? 1 : -1
            i += 1
            if let h = digits(2), h <= 14 {
                var m = 0
                if i < end, bytes[i] == 0x3A { i += 1 }
                if let mm = digits(2), mm < 60 { m = mm }
                offset = sign * (h * 3600 + m * 60)
            }
        }
        let days = daysFromCivil(year, month, day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    public static func parse(_ text: String) -> Date? { parse(Array(text.utf8)) }

    /// Finds the first timestamp in a free-text line (OABGenerator log lines), looking only at
    /// the first 64 bytes.
    @inlinable
    public static func find<C: Collection<UInt8>>(in bytes: C) -> Date? where C.Index == Int {
        let limit = min(bytes.endIndex, bytes.startIndex + 64)
        var i = bytes.startIndex
        while i + 19 <= bytes.endIndex && i < limit {
            if bytes[i] == 0x32, bytes[i + 4] == 0x2D, let d = parse(bytes[i..<bytes.endIndex]) { return d }
            i += 1
        }
        return nil
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inlinable
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
