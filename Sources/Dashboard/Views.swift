import CaseStore
import Foundation
import Hummingbird
import HuntCore
import Mustache
import NIOCore
import Timeline

/// The pages' templates and assets (resources of this module), and the data each page shows.
/// Every value from the case goes into the page through Mustache's `{{…}}`, which escapes HTML
/// (quotes included); values that go into a link are percent-encoded first (`Escape.query`) and
/// only ever follow a path of the dashboard's own, so no value can become a `javascript:` link.
struct Views: Sendable {
    let library: MustacheLibrary
    let assets: [String: (type: String, bytes: ByteBuffer)]
    let caseName: String
    let location: String
    let pollSeconds: Int
    /// Whether people sign in (then the header offers to sign out).
    let withAccounts: Bool

    static func load(caseName: String, location: String, pollSeconds: Int, withAccounts: Bool) async throws -> Views {
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
              let statics = Bundle.module.url(forResource: "Static", withExtension: nil) else {
            throw DashboardError("the dashboard's templates are missing beside the binary (exhunt_Dashboard.resources)")
        }
        let library = try await MustacheLibrary(directory: templates.path)
        var assets: [String: (String, ByteBuffer)] = [:]
        for (name, type) in [("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8")] {
            let data = try Data(contentsOf: statics.appendingPathComponent(name))
            assets[name] = (type, ByteBuffer(bytes: data))
        }
        return Views(library: library, assets: assets, caseName: caseName, location: location, pollSeconds: pollSeconds, withAccounts: withAccounts)
    }

    func asset(_ name: String) throws -> Response {
        guard let a = assets[name] else { throw HTTPError(.notFound) }
        return Response(status: .ok, headers: [.contentType: a.type], body: .init(byteBuffer: a.bytes))
    }

    /// A page: its own template's body inside the layout.
    func page(_ template: String, title: String, context: DashboardContext, data: [String: Any], mark: String = "", q: String = "") -> Response {
        var data = data
        data["csrf"] = context.csrf
        data["canAct"] = data["canAct"] ?? (context.role == .analyst)
        let body = library.render(data, withTemplate: template) ?? ""
        let layout: [String: Any] = [
            "title": title, "body": body, "caseName": caseName, "location": location, "mark": mark, "live": !mark.isEmpty,
            "poll": pollSeconds * 1000, "user": context.user ?? "", "role": context.role?.rawValue ?? "", "withAccounts": withAccounts && context.user != nil,
            "csrf": context.csrf, "q": q, "canAct": context.role == .analyst,
        ]
        let html = library.render(layout, withTemplate: "layout") ?? ""
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: - Page data

    static func time(_ d: Date?) -> String { d.map { ISOTime.string($0, milliseconds: false) } ?? "" }

    static func hostLink(_ host: String) -> String { "/host?h=" + Escape.query(host) }

    static func pivotLink(_ kind: StoredValue.Kind, _ value: String) -> String {
        "/pivot?kind=" + kind.rawValue + "&value=" + Escape.query(value)
    }

    /// Links to the previous and next page of a list.
    static func pager(path: String, query: [String: String], page: Int, name: String = "page", count: Int, total: Int, per: Int) -> [String: Any] {
        func link(_ p: Int) -> String {
            var q = query
            q[name] = String(p)
            return path + "?" + q.sorted { $0.key < $1.key }.map { "\($0.key)=\(Escape.query($0.value))" }.joined(separator: "&")
        }
        let first = total == 0 ? 0 : page * per + 1
        return ["shown": "\(first)–\(page * per + count) of \(total)", "hasPrevious": page > 0, "previous": link(max(0, page - 1)),
                "hasNext": page * per + count < total, "next": link(page + 1), "many": total > per]
    }

    /// A cell per family, in text as well as colour (a colour-blind analyst reads the mark): the
    /// mark is the verdict's, the label names family and verdict for screen readers and on hover.
    static func familyCells(_ h: FleetHost, families: [String]) -> [[String: Any]] {
        families.map { f in
            let verdict = h.families[f]?.rawValue ?? "none"
            return ["family": f, "verdict": verdict, "mark": verdictMarks[verdict] ?? "–", "label": "\(f): \(verdict == "none" ? "not hunted" : verdict)"]
        }
    }

    static let verdictMarks = ["compromised": "C", "attempted": "A", "inconclusive": "?", "clean": "✓", "none": "–"]

    static func overview(hosts: [FleetHost], summary: FleetSummary, survey: SurveyCounts, filter: Verdict?,
                         pager: [String: Any]) -> [String: Any] {
        let families = summary.byFamily.keys.sorted()
        let order: [Verdict] = [.compromised, .attempted, .inconclusive, .clean]
        return [
            "hostCount": summary.hosts,
            "verdicts": order.map { v in ["verdict": v.rawValue, "count": summary.byVerdict[v.rawValue] ?? 0,
                                           "link": "/?verdict=" + v.rawValue, "selected": filter == v] as [String: Any] },
            "filtered": filter != nil, "filter": filter?.rawValue ?? "",
            "families": families.map { f in
                ["family": f, "counts": order.map { v in ["verdict": v.rawValue, "count": summary.byFamily[f]?[v.rawValue] ?? 0] }] as [String: Any]
            },
            "hasFallen": !summary.fallen.isEmpty,
            "earliest": summary.fallen.first.map { ["host": $0.host, "link": hostLink($0.host), "at": time($0.at)] } ?? [:],
            "fallen": summary.fallen.prefix(20).enumerated().map { i, f in ["n": i + 1, "host": f.host, "link": hostLink(f.host), "at": time(f.at)] },
            "survey": ["exposed": survey.exposed, "unpatched": survey.unpatched, "backdoored": survey.backdoored, "records": survey.records],
            "hasSurvey": survey.records > 0,
            "notHunted": summary.exposedNotHunted.prefix(50).map { e in
                ["target": e.target, "port": e.port, "build": e.build ?? "", "vulnerable": e.vulnerable.joined(separator: ", "), "backdoored": e.backdoored]
            },
            "hasNotHunted": !summary.exposedNotHunted.isEmpty, "notHuntedCount": summary.exposedNotHunted.count,
            "incompleteRuns": summary.incompleteRuns, "olderRules": summary.olderRules.count,
            "hasIncomplete": summary.incompleteRuns > 0, "hasOlderRules": !summary.olderRules.isEmpty,
            "familyNames": families,
            "hosts": hosts.map { h in
                ["host": h.host, "display": h.display, "link": hostLink(h.host), "verdict": h.verdict.rawValue,
                 "overridden": h.override != nil, "remediated": h.remediated, "tags": h.tags.joined(separator: ", "),
                 "compromisedAt": time(h.compromisedAt), "hasCompromisedAt": h.compromisedAt != nil, "hasTags": !h.tags.isEmpty,
                 "cells": familyCells(h, families: families), "runs": h.runs] as [String: Any]
            },
            "pager": pager,
        ]
    }

    static func host(_ h: FleetHost, run: String?, report: HostReport?, story: IncidentStory?, storyPartial: Bool,
                     findings: Page<Finding>, findingsPager: [String: Any], manifest: Page<ManifestEntry>, manifestPager: [String: Any],
                     problems: Page<Problem>, runs: [RunListing], history: [AnalystEntry], roles: Set<VerdictRole>, canAct: Bool) -> [String: Any] {
        var data: [String: Any] = [
            "host": h.host, "display": h.display, "verdict": h.verdict.rawValue, "huntedVerdict": h.huntedVerdict?.rawValue ?? "none",
            "tags": h.tags.map { ["tag": $0] }, "remediated": h.remediated, "names": h.names.joined(separator: ", "),
            // The server's own addresses are not client addresses: a pivot on one would list unrelated hits.
            "addresses": h.addresses.map { ["address": $0] },
            "compromisedAt": time(h.compromisedAt), "run": run ?? "", "canAct": canAct, "link": hostLink(h.host),
            "hasAddresses": !h.addresses.isEmpty, "hasTags": !h.tags.isEmpty,
            "verdictOptions": Verdict.allCases.map { ["value": $0.rawValue] },
        ]
        if let o = h.override {
            data["override"] = ["verdict": o.verdict.rawValue, "reason": o.reason, "who": o.who, "at": time(o.at), "family": o.family ?? ""]
        }
        if let r = report {
            data["hasReport"] = true
            data["reasons"] = r.verdictReasons.map { ["reason": $0] }
            if let u = r.unpatched { data["unpatched"] = u }
            data["evidenceRoot"] = r.evidenceRoot
            data["generatedAt"] = time(r.generatedAt)
            data["complete"] = r.complete
            data["familyOptions"] = r.families.map { ["value": $0.family, "title": $0.title] }
            data["families"] = r.families.map { f -> [String: Any] in
                ["title": f.title, "verdict": f.judged ? f.verdict.rawValue : "not judged", "verdictClass": f.judged ? f.verdict.rawValue : "unjudged",
                 "window": f.windowStart.map(ISOTime.day) ?? "", "coveredBy": f.coveredBy.joined(separator: ", "),
                 "compromised": f.compromised, "attempted": f.attempted, "first": time(f.firstExploitation),
                 "patched": f.patchedFrom.map { "from \(ISOTime.day($0)) (\(f.patchedBuild ?? ""))" } ?? (f.patchedBeforeLogs ? "before the logs" : ""),
                 "reasons": f.reasons.map { ["reason": $0] }, "gaps": f.gaps.map { ["from": time($0.start), "to": time($0.end)] }]
            }
            data["coverage"] = r.coverage.map { c -> [String: Any] in
                ["source": c.source, "files": c.files, "lines": c.lines, "earliest": time(c.earliest), "latest": time(c.latest), "window": c.window]
            }
            data["gaps"] = r.gaps.map { ["source": $0.source, "from": time($0.start), "to": time($0.end)] }
            data["hasGaps"] = !r.gaps.isEmpty
            data["builds"] = r.builds.map { ["build": $0.build, "first": time($0.first), "last": time($0.last)] }
            data["hasBuilds"] = !r.builds.isEmpty
        }
        if let s = story {
            data["story"] = [
                "stages": s.stages.map { ["name": $0.name, "first": time($0.first), "count": $0.count, "example": $0.example] },
                "firstCompromise": time(s.firstCompromise), "partial": storyPartial,
                "addresses": s.attackerAddresses.map { ["value": $0, "link": pivotLink(.address, $0)] },
                "agents": s.userAgents.map { ["value": $0, "link": pivotLink(.userAgent, $0)] },
                "shells": s.webShells.map { ["value": $0, "link": pivotLink(.path, $0)] },
                "hasStages": !s.stages.isEmpty, "hasAddresses": !s.attackerAddresses.isEmpty, "hasAgents": !s.userAgents.isEmpty,
                "hasShells": !s.webShells.isEmpty,
            ] as [String: Any]
        }
        data["findings"] = findings.items.map { f -> [String: Any] in
            var row: [String: Any] = [
                "time": time(f.timestamp), "last": time(f.lastSeen), "title": f.rule.title, "ruleSource": f.rule.source,
                "author": f.rule.author ?? "", "role": f.role.rawValue, "severity": f.severity.rawValue, "family": f.family ?? "",
                "count": f.count, "path": f.evidence.path, "line": f.evidence.line.map(String.init) ?? "", "excerpt": String(f.evidence.excerpt.prefix(2_000)),
                "samples": f.samples.prefix(5).map { s in ["path": s.path, "line": s.line.map(String.init) ?? "", "record": s.record.map(String.init) ?? ""] },
                "group": f.group.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] },
            ]
            if let sha = f.evidence.sha256 { row["sha256"] = sha; row["shaLink"] = pivotLink(.sha256, sha) }
            // The values the finding names (its fields, its group key, its file), each a pivot across the fleet.
            // (The file's hash has its own link above.)
            let pivots = FindingValues.of(f).filter { $0.kind != .sha256 }
                .map { ["kind": $0.kind.rawValue, "value": $0.value, "link": pivotLink($0.kind, $0.value)] }
            row["pivots"] = pivots
            row["hasPivots"] = !pivots.isEmpty
            row["hasGroup"] = !f.group.isEmpty
            row["hasSamples"] = !f.samples.isEmpty
            return row
        }
        data["findingsTotal"] = findings.total
        data["findingsPager"] = findingsPager
        data["roleFilters"] = [VerdictRole.compromised, .attempted, .supporting, .informational, .mitigation].map { r in
            ["role": r.rawValue, "link": "/host?h=\(Escape.query(h.host))&roles=\(r.rawValue)#findings", "selected": roles.contains(r)] as [String: Any]
        }
        data["allRolesLink"] = "/host?h=\(Escape.query(h.host))#findings"
        data["manifest"] = manifest.items.map { m in
            ["path": m.path, "size": m.size, "sha256": m.sha256 ?? "(not hashed)", "hashed": m.sha256 != nil,
             "shaLink": m.sha256.map { pivotLink(.sha256, $0) } ?? "", "modified": time(m.modified), "timeSource": m.timeSource ?? ""] as [String: Any]
        }
        data["manifestTotal"] = manifest.total
        data["manifestPager"] = manifestPager
        data["problems"] = problems.items.map { p in
            ["level": p.level.rawValue, "code": p.code, "message": p.message, "path": p.path ?? "", "line": p.line.map(String.init) ?? ""]
        }
        data["problemsTotal"] = problems.total
        data["moreProblems"] = problems.hasNext
        data["runs"] = runs.map { r in
            ["run": r.run, "kind": r.kind, "status": r.status, "verdict": r.verdict?.rawValue ?? "", "evidenceRoot": r.evidenceRoot,
             "analyst": r.analyst, "started": time(r.started), "finished": time(r.finished), "hits": r.hits, "version": r.version,
             "evidence": [time(r.evidenceStart), time(r.evidenceEnd)].filter { !$0.isEmpty }.joined(separator: " – ")]
        }
        data["history"] = history.reversed().map { e in
            ["kind": e.kind.rawValue, "value": e.value, "reason": e.reason, "who": e.who, "at": time(e.at), "family": e.family ?? ""]
        }
        return data
    }

    /// Finding fields that name something another host may share.
    /// A timeline link's query: the range and the filter.
    static func timelineQuery(_ from: Date, _ to: Date, _ filter: TimelineFilter) -> [String: String] {
        var q = ["from": ISOTime.string(from, milliseconds: false), "to": ISOTime.string(to, milliseconds: false)]
        if !filter.roles.isEmpty { q["roles"] = filter.roles.map(\.rawValue).sorted().joined(separator: ",") }
        if let host = filter.host { q["h"] = host }
        if let family = filter.family { q["family"] = family }
        return q
    }

    static func timelineLink(_ from: Date, _ to: Date, _ filter: TimelineFilter) -> String {
        "/timeline?" + timelineQuery(from, to, filter).sorted { $0.key < $1.key }.map { "\($0.key)=\(Escape.query($0.value))" }.joined(separator: "&")
    }

    static func timeline(range: (from: Date, to: Date), chart: TimelineChart, rows: Page<TimedFinding>, filter: TimelineFilter,
                         families: [String], pager: [String: Any]) -> [String: Any] {
        let width = range.to.timeIntervalSince(range.from)
        func link(_ a: Date, _ b: Date) -> String { timelineLink(a, b, filter) }
        var whole = filter
        whole.roles = []
        let heading = ["Timeline", filter.host.map { "of \($0)" }, filter.family.map { "for \($0)" }].compactMap { $0 }.joined(separator: " ")
        return [
            "heading": filter.host == nil && filter.family == nil ? "Fleet timeline" : heading,
            "from": time(range.from), "to": time(range.to), "fromDay": ISOTime.day(range.from), "toDay": ISOTime.day(range.to.addingTimeInterval(-1)),
            "chart": chart.chart(link: link), "caption": "Findings by the time they began, \(time(range.from)) to \(time(range.to))",
            "zoomOut": link(range.from.addingTimeInterval(-width / 2), range.to.addingTimeInterval(width / 2)),
            "earlier": link(range.from.addingTimeInterval(-width), range.from), "later": link(range.to, range.to.addingTimeInterval(width)),
            "whole": "/timeline" + (filter.host == nil && filter.family == nil ? "" : "?" + [filter.host.map { "h=" + Escape.query($0) },
                                                                                             filter.family.map { "family=" + Escape.query($0) }]
                .compactMap { $0 }.joined(separator: "&")),
            "host": filter.host ?? "",
            "families": families.map { ["family": $0, "selected": $0 == filter.family] as [String: Any] },
            "total": rows.total,
            "rows": rows.items.map { r in
                ["time": time(r.time), "host": r.host, "link": hostLink(r.host), "title": r.title, "role": r.role, "severity": r.severity,
                 "family": r.family ?? "", "path": r.path, "hits": r.hits]
            },
            "pager": pager,
            "roleFilters": [VerdictRole.compromised, .attempted, .supporting, .informational].map { r in
                ["role": r.rawValue, "selected": filter.roles.contains(r)] as [String: Any]
            },
        ]
    }

    /// The host page's chart: its findings over its own span, each bar opening the timeline of
    /// that stretch kept to the host.
    static func hostTimeline(chart: TimelineChart, from: Date, to: Date, filter: TimelineFilter) -> [String: Any] {
        ["chart": chart.chart { a, b in timelineLink(a, b, filter) },
         "caption": "This host's findings by the time they began, \(time(from)) to \(time(to))",
         "fleetLink": timelineLink(from, to, filter)]
    }

    static func pivot(kind: StoredValue.Kind, value: String, rows: [(host: String, learned: Bool, value: StoredValue)],
                      findings: Page<HostFinding>, pager: [String: Any]) -> [String: Any] {
        ["kind": kind.rawValue, "value": value, "count": rows.count, "hostCount": Set(rows.map(\.host)).count,
         "rows": rows.map { r in
             ["host": r.host, "link": hostLink(r.host), "learned": r.learned ? "attacker indicator" : "seen in the evidence",
              "first": time(r.value.first), "last": time(r.value.last), "hits": r.value.hits, "role": r.value.role?.rawValue ?? ""]
         },
         "findingsTotal": findings.total, "hasFindings": findings.total > 0,
         "findings": findings.items.map { hf -> [String: Any] in
             let f = hf.finding
             return ["host": hf.host, "link": hostLink(hf.host) + "#findings", "time": time(f.timestamp), "last": time(f.lastSeen),
                     "title": f.rule.title, "role": f.role.rawValue, "count": f.count, "path": f.evidence.path,
                     "line": f.evidence.line.map { ":\($0)" } ?? f.evidence.record.map { " record \($0)" } ?? "",
                     "excerpt": String(f.evidence.excerpt.prefix(2_000))]
         },
         "pager": pager]
    }

    static func search(q: String, results: SearchResults) -> [String: Any] {
        ["q": q, "searched": !q.isEmpty,
         "hosts": results.hosts.map { h in ["display": h.display, "link": hostLink(h.host), "verdict": h.verdict.rawValue, "names": h.names.joined(separator: ", ")] },
         "values": results.values.map { v in ["kind": v.kind.rawValue, "value": v.value, "hosts": v.hosts, "link": pivotLink(v.kind, v.value)] },
         "nothing": results.hosts.isEmpty && results.values.isEmpty, "hasHosts": !results.hosts.isEmpty, "hasValues": !results.values.isEmpty]
    }

    static func survey(records: Page<SurveyListing>, counts: SurveyCounts, exposedOnly: Bool, pager: [String: Any]) -> [String: Any] {
        ["counts": ["exposed": counts.exposed, "unpatched": counts.unpatched, "backdoored": counts.backdoored, "records": counts.records],
         "exposedOnly": exposedOnly,
         "rows": records.items.map { r in
             ["target": r.target, "ip": r.ip ?? "", "port": r.port, "exchange": r.exchange, "build": r.build ?? "",
              "vulnerable": r.vulnerable.joined(separator: ", "), "isVulnerable": !r.vulnerable.isEmpty, "backdoored": r.backdoored,
              "error": r.error ?? "", "time": time(r.time),
              "pivot": r.ip.map { pivotLink(.address, $0) } ?? ""] as [String: Any]
         },
         "pager": pager]
    }

    static func audit(_ entries: [AuditEntry]) -> [String: Any] {
        ["rows": entries.map { ["at": time($0.at), "who": $0.who, "action": $0.action, "subject": $0.subject, "detail": $0.detail] }]
    }

    static func work(counts: [WorkItem.State: Int], items: [WorkItem]) -> [String: Any] {
        ["counts": WorkItem.State.allCases.map { ["state": $0.rawValue, "count": counts[$0] ?? 0] },
         "rows": items.map { w in
             ["kind": w.kind.rawValue, "subject": w.subject, "state": w.state.rawValue, "attempts": "\(w.attempts)/\(w.maxAttempts)",
              "worker": w.worker ?? "", "outcome": w.outcome ?? "", "error": String((w.error ?? "").suffix(400)),
              "submitted": time(w.submitted), "finished": time(w.finished)]
         }]
    }
}

/// Text made safe for a URL's query component: everything but unreserved characters is
/// percent-encoded, so `&`, `#`, `?`, quotes and spaces in a value cannot end or change the link.
enum Escape {
    private static let unreserved: CharacterSet = {
        var s = CharacterSet()
        s.insert(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return s
    }()

    static func query(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}
