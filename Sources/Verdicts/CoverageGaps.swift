public import Foundation
public import HuntCore

/// Stretches of time without log lines, from the hours in which a source has lines.
public enum CoverageGaps {
    public struct Result: Sendable {
        /// The first hour with a line at all (nil: no lines).
        public var first: Date?
        /// Whether the lines reach back to the window's start (within the quiet time).
        public var reachesStart: Bool
        public var gaps: [(start: Date, end: Date?)]
    }

    /// - Parameters:
    ///   - hours: hours since 1970 (UTC) with at least one line, ascending, without repeats.
    ///   - start, end: the window; only silences inside it count.
    ///   - quiet: the longest normal silence in hours; a longer one is a gap.
    /// A gap runs from the end of the last hour with lines to the start of the next; a gap with no
    /// `end` means the lines stop before `end`.
    public static func find(hours: [Int32], from start: Date, to end: Date, quiet: Int) -> Result {
        guard let firstHour = hours.first else { return Result(first: nil, reachesStart: false, gaps: []) }
        let s = hour(start), e = hour(end), q = Int64(quiet)
        let reaches = Int64(firstHour) <= s + q
        var gaps: [(start: Date, end: Date?)] = []
        // The last hour with lines at or before the start: silences before the window do not count.
        var previous: Int64? = nil
        for h32 in hours {
            let h = Int64(h32)
            if h <= s { previous = h; continue }
            if h > e { break }
            if let p = previous, h - p > q { gaps.append((date(p + 1), date(h))) }
            previous = h
        }
        if let p = previous, e - p > q { gaps.append((date(p + 1), nil)) }
        return Result(first: date(Int64(firstHour)), reachesStart: reaches, gaps: gaps)
    }

    /// Hours of several sources joined, ascending without repeats.
    public static func union(_ lists: [[Int32]]) -> [Int32] {
        guard lists.count > 1 else { return lists.first ?? [] }
        return Array(Set(lists.joined())).sorted()
    }

    static func hour(_ d: Date) -> Int64 {
        let h = (d.timeIntervalSince1970 / 3600).rounded(.down)
        return h.isFinite ? Int64(max(-2e9, min(2e9, h))) : 0
    }

    static func date(_ h: Int64) -> Date { Date(timeIntervalSince1970: Double(h) * 3600) }
}
