public import Foundation
public import HuntCore

/// One timeline over one or more hosts' reports, with each host's story.
public struct FleetTimeline: Sendable {
    public var reports: [HostReport]
    /// Every entry of every host, in time order (entries without a time last).
    public var entries: [TimelineEntry]
    public var stories: [IncidentStory]

    public init(_ reports: [HostReport]) {
        self.reports = reports
        var all: [TimelineEntry] = []
        var stories: [IncidentStory] = []
        for r in reports {
            let e = r.findings.map { TimelineEntry($0, host: r.host) }
            all += e
            stories.append(IncidentStory(host: r.host, verdict: r.verdict, entries: e))
        }
        entries = all.enumerated().sorted { a, b in
            let ta = a.element.timestamp ?? .distantFuture, tb = b.element.timestamp ?? .distantFuture
            return ta != tb ? ta < tb : a.offset < b.offset
        }.map(\.element)
        self.stories = stories
    }

    /// The earliest compromise across the fleet, and where.
    public var earliestCompromise: (host: String, time: Date)? {
        stories.compactMap { s in s.firstCompromise.map { (s.host, $0) } }.min { $0.1 < $1.1 }
    }
}
