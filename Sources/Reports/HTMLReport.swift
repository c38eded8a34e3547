public import Foundation
public import Timeline
import HuntCore
import Mustache
import Crypto

/// One self-contained HTML file: verdicts, each host's story and log coverage, a timeline drawn
/// as SVG, the findings table (sortable and filterable by a small inline script) and the
/// evidence manifest. No network fetches. Every string from evidence goes through Mustache's HTML
/// escaping, and a Content-Security-Policy allows only the page's own script (by hash), so even a
/// missed escape could not run injected script.
public enum HTMLReport {
    /// The window marks drawn on timelines: when mass exploitation began and when the fix shipped.
    static let massExploitation = (start: Date(timeIntervalSince1970: 1_614_297_600),  // 2021-02-26T00:00:00Z
                                   end: Date(timeIntervalSince1970: 1_614_729_600))    // 2021-03-03T00:00:00Z
    static let patchReleased = Date(timeIntervalSince1970: 1_614_643_200)              // 2021-03-02T00:00:00Z

    public static func render(_ t: FleetTimeline, generated: Date = Date()) throws -> String {
        guard let templateURL = Bundle.module.url(forResource: "report", withExtension: "mustache", subdirectory: "Templates"),
              let scriptURL = Bundle.module.url(forResource: "report", withExtension: "js", subdirectory: "Templates") else {
            throw CocoaError(.fileNoSuchFile)
        }
        let template = try MustacheTemplate(string: String(contentsOf: templateURL, encoding: .utf8))
        let script = try String(contentsOf: scriptURL, encoding: .utf8)
        let hash = "sha256-" + Data(SHA256.hash(data: Data(script.utf8))).base64EncodedString()
        var data = context(t, generated: generated)
        data["script"] = script
        data["scriptHash"] = hash
        return template.render(data)
    }

    /// Findings rows in one page: a browser stays responsive, the file stays small.
    public static let maxRows = 5_000

    static func time(_ d: Date?) -> String { d.map { ISOTime.string($0, milliseconds: false) } ?? "" }

    static func context(_ t: FleetTimeline, generated: Date) -> [String: Any] {
        let severityRank: [Severity: Int] = [.informational: 0, .low: 1, .medium: 2, .high: 3, .critical: 4]
        let hosts: [[String: Any]] = zip(t.reports, t.stories).map { report, story in
            [
                "host": report.host, "verdict": report.verdict.rawValue, "firstCompromise": time(story.firstCompromise),
                "findingCount": report.findings.count, "reasons": report.verdictReasons,
                "hasUnpatched": report.unpatched != nil, "unpatched": report.unpatched ?? "",
                "hasStages": !story.stages.isEmpty,
                "stages": story.stages.map { s -> [String: Any] in
                    ["name": s.name, "first": time(s.first), "count": s.count, "many": s.count > 1, "example": s.example]
                },
                "hasAddresses": !story.attackerAddresses.isEmpty, "addresses": story.attackerAddresses.joined(separator: ", "),
                "hasAgents": !story.userAgents.isEmpty, "agents": story.userAgents.joined(separator: " | "),
                "hasShells": !story.webShells.isEmpty, "shells": story.webShells.joined(separator: ", "),
                "windowStart": ISOTime.day(report.windowStart),
                "hasFamilies": !report.families.isEmpty,
                "families": report.families.map { f -> [String: Any] in
                    ["title": f.title, "verdict": f.judged ? f.verdict.rawValue : "not judged",
                     "verdictClass": f.judged ? f.verdict.rawValue : "unjudged", "window": f.windowStart.map(ISOTime.day) ?? "",
                     "coveredBy": f.coveredBy.joined(separator: ", "), "compromised": f.compromised, "attempted": f.attempted,
                     "reasons": f.reasons, "gaps": f.gaps.count]
                },
                "coverage": coverageChart(report),
                "hasPlaces": !report.places.isEmpty,
                "places": report.places.map { ["place": $0.place.rawValue, "read": $0.read, "notRead": $0.notRead] as [String: Any] },
                "manifestCount": report.manifest.count,
                "manifest": report.manifest.map { ["path": $0.path, "pathParts": pathParts($0.path), "size": $0.size, "sha256": $0.sha256 ?? "(not hashed)"] as [String: Any] },
                "hasProblems": !report.problems.isEmpty, "problemCount": report.problems.count,
                "problems": report.problems.map { p -> [String: Any] in
                    let location = (p.path ?? "") + (p.line.map { ":\($0)" } ?? "")
                    return ["level": p.level.rawValue, "code": p.code, "message": p.message, "location": location, "locationParts": pathParts(location)]
                },
            ]
        }
        // Bounded: past `maxRows` findings the most severe are shown (the JSON report has all).
        var shown = t.entries
        if shown.count > maxRows {
            shown = Array(shown.enumerated().sorted { a, b in
                let ra = severityRank[a.element.severity] ?? 0, rb = severityRank[b.element.severity] ?? 0
                return ra != rb ? ra > rb : a.offset < b.offset
            }.prefix(maxRows)).sorted { $0.offset < $1.offset }.map(\.element)
        }
        let entries: [[String: Any]] = shown.map { e in
            let location = e.path + (e.line.map { ":\($0)" } ?? "")
            return [
                "time": time(e.timestamp), "timeKey": e.timestamp.map { ISOTime.string($0) } ?? "~", "host": e.host,
                "severity": e.severity.rawValue, "severityKey": String(severityRank[e.severity] ?? 0),
                "stage": e.stage, "rule": e.ruleTitle, "cves": e.cves.joined(separator: " "), "message": e.message,
                "location": location, "locationParts": pathParts(location),
                "weight": e.role.rawValue,
                "hits": e.count, "hitsKey": String(format: "%012d", e.count),
                "hasLast": e.count > 1 && e.lastSeen != nil, "last": time(e.lastSeen),
            ]
        }
        var out: [String: Any] = [
            "title": t.reports.count == 1 ? t.reports[0].host : "\(t.reports.count) hosts",
            "generated": time(generated), "version": t.reports.first?.version ?? "",
            "hosts": hosts, "entries": entries, "findingCount": t.entries.count, "rowCount": entries.count,
            "hitCount": t.entries.reduce(0) { $0 + $1.count },
            "truncated": entries.count < t.entries.count, "chart": timelineChart(t), "hasUntimed": t.entries.contains { $0.timestamp == nil },
        ]
        if let e = t.earliestCompromise { out["earliest"] = ["host": e.host, "time": time(e.time)] }
        return out
    }

    /// A path in pieces that each end at a separator, so the page can offer a line break after
    /// each (`<wbr>`) and a long path wraps at its folders, not a letter at a time.
    static func pathParts(_ path: String) -> [String] {
        var parts: [String] = []
        var current = ""
        for c in path {
            current.append(c)
            if c == "/" || c == "\\" || c == "?" || c == "&" || c == "_" || c == "." { parts.append(current); current = "" }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    // MARK: - Charts

    static let severityColor: [Severity: String] = [.informational: "#95a5a6", .low: "#2e86c1", .medium: "#f39c12",
                                                     .high: "#e74c3c", .critical: "#922b21"]

    /// A time axis over `range`, `width` pixels from `left`.
    struct Axis {
        var start: Double
        var end: Double
        var left: Double
        var width: Double

        init(_ dates: [Date], left: Double, width: Double) {
            let values = dates.map(\.timeIntervalSince1970)
            var lo = values.min() ?? 0, hi = values.max() ?? 1
            if hi - lo < 3600 { lo -= 1800; hi += 1800 }
            let pad = (hi - lo) * 0.03
            start = lo - pad; end = hi + pad
            self.left = left; self.width = width
        }

        func x(_ d: Date) -> Double { left + (d.timeIntervalSince1970 - start) / (end - start) * width }
        func contains(_ d: Date) -> Bool { (start...end).contains(d.timeIntervalSince1970) }

        func ticks(y: Double) -> [[String: Any]] {
            (0...5).map { i in
                let v = start + (end - start) * Double(i) / 5
                let label = (end - start) > 3 * 86_400 ? ISOTime.day(Date(timeIntervalSince1970: v))
                    : String(ISOTime.string(Date(timeIntervalSince1970: v), milliseconds: false).dropLast().replacingOccurrences(of: "T", with: " ").prefix(16))
                return ["x": String(format: "%.1f", min(left + width - 60, left + width * Double(i) / 5)), "y": y, "label": label]
            }
        }
    }

    static func timelineChart(_ t: FleetTimeline) -> [String: Any] {
        let timed = t.entries.filter { $0.timestamp != nil }
        let rowNames = Array(Set(timed.map { t.reports.count > 1 ? "\($0.host) \(rowLabel($0.source))" : rowLabel($0.source) })).sorted()
        let left = 190.0, width = 960.0, rowHeight = 26.0
        var dates = timed.compactMap(\.timestamp)
        // Show the 2021 marks when the evidence is near them.
        let near = dates.contains { abs($0.timeIntervalSince(patchReleased)) < 120 * 86_400 }
        if near { dates += [massExploitation.start, patchReleased] }
        let axis = Axis(dates, left: left, width: width)
        let plotHeight = max(rowHeight, Double(rowNames.count) * rowHeight) + 10
        var bands: [[String: Any]] = []
        var marks: [[String: Any]] = []
        if near {
            let x0 = axis.x(massExploitation.start), x1 = axis.x(massExploitation.end)
            bands.append(["x": String(format: "%.1f", x0), "w": String(format: "%.1f", max(2, x1 - x0)), "color": "#f5b041",
                          "plotHeight": plotHeight, "labelY": plotHeight + 28, "label": "mass exploitation from 2021-02-26"])
            let xp = axis.x(patchReleased)
            marks.append(["x": String(format: "%.1f", xp), "textX": String(format: "%.1f", xp + 4), "color": "#1e8449",
                          "plotHeight": plotHeight, "labelY": plotHeight + 42, "label": "patch (KB5000871) 2021-03-02"])
        }
        let rows: [[String: Any]] = rowNames.enumerated().map { i, name in
            let y = Double(i) * rowHeight + rowHeight / 2 + 5
            return ["label": name, "y": y, "textY": y + 4, "left": left, "right": left + width]
        }
        let dots: [[String: Any]] = timed.compactMap { e -> [String: Any]? in
            guard let timestamp = e.timestamp else { return nil }
            let name = t.reports.count > 1 ? "\(e.host) \(rowLabel(e.source))" : rowLabel(e.source)
            let row = Double(rowNames.firstIndex(of: name) ?? 0)
            return ["x": String(format: "%.1f", axis.x(timestamp)), "y": row * rowHeight + rowHeight / 2 + 5,
                    "r": e.severity >= .high ? 6 : 4, "color": severityColor[e.severity] ?? "#999",
                    "time": time(e.timestamp), "host": e.host, "severity": e.severity.rawValue, "message": e.message]
        }
        return ["width": left + width + 20, "height": plotHeight + 50, "bands": bands, "marks": marks, "rows": rows,
                "dots": dots, "hasDots": !dots.isEmpty, "ticks": timed.isEmpty ? [] : axis.ticks(y: plotHeight + 14)]
    }

    static func rowLabel(_ source: String) -> String {
        switch source {
        case let s where s.contains("httpproxy"): return "HttpProxy logs"
        case let s where s.contains("webserver"): return "IIS logs"
        case let s where s.contains("ecp"): return "ECP logs"
        case let s where s.contains("oabgenerator"): return "OABGenerator log"
        case let s where s.contains("evidence-file"): return "Files"
        default: return source
        }
    }

    static func coverageChart(_ r: HostReport) -> [String: Any] {
        let left = 190.0, width = 760.0, rowHeight = 20.0
        let dates = r.coverage.flatMap { [$0.earliest, $0.latest].compactMap { $0 } } + [r.windowStart]
        let axis = Axis(dates, left: left, width: width)
        let bars: [[String: Any]] = r.coverage.enumerated().map { i, c in
            let y = Double(i) * rowHeight + 4
            let x0 = c.earliest.map(axis.x) ?? left, x1 = c.latest.map(axis.x) ?? left
            let color = c.window == "full" ? "#27ae60" : c.window == "partial" ? "#f39c12" : "#c0392b"
            return ["label": c.source, "x": String(format: "%.1f", x0), "y": y, "textY": y + 10, "w": String(format: "%.1f", max(2, x1 - x0)),
                    "color": color, "span": "\(time(c.earliest)) .. \(time(c.latest))", "files": c.files, "lines": c.lines, "window": c.window]
        }
        let height = Double(max(1, r.coverage.count)) * rowHeight + 8
        let xw = axis.x(r.windowStart)
        return ["width": left + width + 20, "height": height + 34, "bars": bars,
                "marks": [["x": String(format: "%.1f", xw), "textX": String(format: "%.1f", xw + 4), "height": height,
                           "color": "#7d3c98", "label": "window start"]],
                "ticks": axis.ticks(y: height + 26)]
    }
}
