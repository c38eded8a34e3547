public import Foundation

/// ISO 8601 UTC timestamps (`2021-03-02T05:03:04.123Z`), formatted without a DateFormatter:
/// reports format one per finding and manifest entry, and formatters are costly to make and not
/// `Sendable`.
public enum ISOTime {
    public static func string(_ date: Date, milliseconds: Bool = true) -> String {
        let total = Int((date.timeIntervalSince1970 * 1000).rounded())
        let secs = total >= 0 ? total / 1000 : (total - 999) / 1000
        let ms = total - secs * 1000
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let sod = secs - days * 86_400
        let (y, m, d) = civil(days)
        var s = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):\(pad(sod % 60, 2))"
        if milliseconds { s += ".\(pad(ms, 3))" }
        return s + "Z"
    }

    /// `YYYY-MM-DD` of a date in UTC.
    public static func day(_ date: Date) -> String { String(string(date, milliseconds: false).prefix(10)) }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func civil(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
