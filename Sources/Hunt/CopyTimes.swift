import Foundation
import HuntCore
import Evidence

/// Which files' times are the collection's, not the server's. A plain copy, a careless zip or a
/// collector that does not keep times gives the files the day of the copy, which would otherwise
/// become "the web shell was written" or "the earliest sign of compromise" and push real events out
/// of order. A time the collection tool recorded from the server (KAPE's copy log, a zip's NTFS or
/// extended-timestamp field) is kept. Any other time is the copy's when
/// - the host has no log line at all to place it against (a folder of web pages copied today must
///   not say the server fell today), or
/// - it is later than the newest log line of the host (plus a day: logs and files are written
///   minutes apart), or
/// - it belongs to the copy's signature: at least half of those files (and 20 or more) written
///   within 10 minutes of each other, no earlier than a day before the newest log line (a real
///   burst, such as a CU installing thousands of pages, lies in the logs' past).
struct CopyTimes {
    static let margin: TimeInterval = 86_400
    static let burstWindow: TimeInterval = 600
    static let burstMinimum = 20

    /// Paths (relative, as findings have them) whose time is the copy's.
    let copied: Set<String>
    /// Why, for the report; nil when no time was set aside.
    let reason: String?

    init(items: [EvidenceItem], newestLogLine: Date?) {
        let candidates = items.compactMap { i -> (path: String, time: Date)? in
            guard !i.timeSource.isServers, let t = i.lastWritten else { return nil }
            return (i.path, t)
        }
        guard !candidates.isEmpty else { copied = []; reason = nil; return }
        let consequence = ". Findings about those files keep their place but carry no time in the story and the timeline "
            + "(a KAPE copy log, or a zip with NTFS or extended timestamps, keeps the server's times)"
        guard let newest = newestLogLine else {
            // Nothing to place them against: a copy made today would otherwise say the server fell today.
            copied = Set(candidates.map(\.path))
            reason = "\(candidates.count) file time(s) cannot be told from the copy's: no log line to compare them with, "
                + "and no collection tool recorded the server's" + consequence
            return
        }
        var set = Set<String>()
        let after = candidates.filter { $0.time > newest.addingTimeInterval(Self.margin) }
        set.formUnion(after.map(\.path))
        // The densest 10 minutes among the times that could be a copy's.
        let late = candidates.filter { $0.time >= newest.addingTimeInterval(-Self.margin) }.sorted { $0.time < $1.time }
        var best = (start: 0, count: 0)
        var lo = 0
        for hi in late.indices {
            while late[hi].time.timeIntervalSince(late[lo].time) > Self.burstWindow { lo += 1 }
            if hi - lo + 1 > best.count { best = (lo, hi - lo + 1) }
        }
        let burst = best.count >= Self.burstMinimum && best.count * 2 >= candidates.count
        if burst { set.formUnion(late[best.start..<(best.start + best.count)].map(\.path)) }
        copied = set
        guard !set.isEmpty else { reason = nil; return }
        var why: [String] = []
        if !after.isEmpty { why.append("\(after.count) are later than the newest log line (\(ISOTime.string(newest, milliseconds: false)))") }
        if burst, let first = late.dropFirst(best.start).first {
            why.append("\(best.count) of \(candidates.count) were written within 10 minutes from \(ISOTime.string(first.time, milliseconds: false)), as a copy writes them")
        }
        reason = "\(set.count) file time(s) are the collection's, not the server's: " + why.joined(separator: "; ") + consequence
    }

    /// The findings with the copy's times taken out (`evidence.copyTime` keeps what it was).
    func apply(_ findings: [Finding]) -> [Finding] {
        guard !copied.isEmpty else { return findings }
        return findings.map { f in
            guard f.logsource == .evidenceFile, copied.contains(f.evidence.path), let t = f.timestamp else { return f }
            var f = f
            f.evidence.copyTime = t
            f.timestamp = nil
            f.lastSeen = nil
            return f
        }
    }
}
