import Foundation
import HuntCore
import Evidence
import Sigma
import Findings

/// After every file is read: the IIS requests that rules tagged `exhunt.page-requests` found
/// (POSTs answered by pages outside Exchange's virtual directories, commands in a page's query)
/// joined with the page they reached, so a page is told with its story: what matched it, when it
/// was written, who used it from when to when. Each joined page is an `evidence-file` event with
/// `RequestsAnswered` and its companions set, for the rules that read them
/// (Rules/sigma/files/file_web_page_used_as_shell.yml), which weigh it as policy.
enum PageUse {
    static let pageRequestsTag = "exhunt.page-requests"
    static let commandTag = "exhunt.command-in-request"
    /// Clients named in a finding; the rest are counted.
    static let clientsNamed = 5

    /// What the requests to one URL stem add up to, over every client's finding.
    struct Requests {
        var url: String
        var answered = 0
        var command = false
        var first: Date?
        var last: Date?
        var clients: [String] = []
        var moreClients = 0

        mutating func add(_ f: Finding, command isCommand: Bool) {
            let status = f.fields["sc-status"] ?? f.group["sc-status"] ?? ""
            if status.hasPrefix("2") { answered += f.count }
            if isCommand { command = true }
            if let t = f.timestamp { first = first.map { min($0, t) } ?? t }
            if let t = f.lastSeen ?? f.timestamp { last = last.map { max($0, t) } ?? t }
            let client = f.fields["c-ip"] ?? f.group["c-ip"] ?? ""
            guard !client.isEmpty, !clients.contains(client) else { return }
            if clients.count < PageUse.clientsNamed { clients.append(client) } else { moreClients += 1 }
        }
    }

    static func run(items: [EvidenceItem], context: HuntContext) {
        let detectors = context.detectors
        let tagged = Dictionary(detectors.rules.filter { $0.tags.contains { $0.lowercased() == pageRequestsTag } }.map { ($0.id, $0) },
                                uniquingKeysWith: { a, _ in a })
        let rules = detectors.rules(for: .evidenceFile).filter { $0.reads("RequestsAnswered") }
        guard !tagged.isEmpty, !rules.isEmpty else { return }
        let snapshot = context.sink.snapshot()
        var byStem: [String: Requests] = [:]
        // What exhunt's own rules and the indicators found about each file (at medium or above).
        var flagged: [String: Set<String>] = [:]
        for f in snapshot.findings {
            if let rule = tagged[f.rule.id] {
                guard let stem = f.fields["cs-uri-stem"] ?? f.group["cs-uri-stem"], !stem.isEmpty,
                      stem != FindingsSink.overflowValue else { continue }
                let key = stem.lowercased()
                var r = byStem[key] ?? Requests(url: stem)
                r.add(f, command: rule.tags.contains { $0.lowercased() == commandTag })
                byStem[key] = r
            } else if let origin = f.origin, origin.place != nil, origin.builtin || origin.detector == .indicator, f.severity >= .medium,
                      !rules.contains(where: { $0.id == f.rule.id }) {
                // Third-party rules are left out: the page's use is to be a signal independent of them.
                flagged[f.evidence.path, default: []].insert(f.rule.id)
            }
        }
        guard !byStem.isEmpty else { return }
        // The pages of the web folders, by name: a URL's last segment is its file's name.
        var pages: [String: [EvidenceItem]] = [:]
        for item in items where item.location == .webRoot && !item.deleted && FileCheck.webPlace(item) != nil {
            pages[item.name.lowercased(), default: []].append(item)
        }
        var unjoined: [String] = []
        for (stem, requests) in byStem.sorted(by: { $0.key < $1.key }) {
            let item: EvidenceItem, joinedBy: String
            switch page(for: stem, in: pages) {
            case .page(let found, let by): (item, joinedBy) = (found, by)
            case .missing:
                unjoined.append("\(requests.url) (\(requests.answered) answered; no such page in the evidence)")
                continue
            case .ambiguous(let n):
                unjoined.append("\(requests.url) (\(requests.answered) answered; \(n) files could be it)")
                continue
            }
            var event = FileCheck.event(for: item)
            event.set("JoinedBy", joinedBy)
            if let place = FileCheck.webPlace(item) { event.set("WebPlace", place.rawValue) }
            event.timestamp = requests.first
            event.set("RequestUrl", requests.url)
            event.set("RequestsAnswered", String(requests.answered))
            event.set("CommandInRequest", requests.command ? "true" : "false")
            event.set("Clients", requests.clients.joined(separator: ", ") + (requests.moreClients > 0 ? " and \(requests.moreClients) more" : ""))
            event.set("FirstRequest", requests.first.map { ISOTime.string($0) } ?? "?")
            event.set("LastRequest", requests.last.map { ISOTime.string($0) } ?? "?")
            let matched = flagged[item.path] ?? []
            event.set("PageFlagged", matched.isEmpty ? "false" : "true")
            if !matched.isEmpty { event.set("PageMatchedBy", matched.sorted().joined(separator: ", ")) }
            event.set("Written", item.lastWritten.map { ISOTime.string($0) } ?? "at a time the evidence does not tell")
            // Written, then used: how long before the first request (a page rewritten after it was
            // first used says nothing of this kind).
            if let written = item.lastWritten, let first = requests.first, first >= written {
                event.set("HoursWrittenBeforeUse", String(Int(first.timeIntervalSince(written) / 3600)))
            }
            for rule in rules where rule.matches(event) {
                let f = context.factory.finding(rule, event)
                context.factory.record(rule.identity, rule, event) { f }
            }
        }
        // Requests that look like a shell's use, to pages the hunt could not look at: said, since
        // the page that answered them was not read.
        if !unjoined.isEmpty {
            context.sink.add([Problem(.warning, code: "page-not-joined",
                                      message: "\(unjoined.count) page(s) IIS answered POSTs or commands for could not be joined with a file of the evidence "
                                          + "(not collected, or not told apart), so their content was not checked: "
                                          + unjoined.prefix(10).joined(separator: ", ") + (unjoined.count > 10 ? ", …" : ""))])
        }
    }

    /// The page a URL stem reached: the file IIS's configuration serves at that URL, else the
    /// web-folder file of that name whose path ends with the stem, else the only file of that name;
    /// nil when several files could be it.
    static func page(for stem: String, in pages: [String: [EvidenceItem]]) -> Join {
        let segments = stem.lowercased().split(separator: "/")
        guard let name = segments.last, let candidates = pages[String(name)] else { return .missing }
        // Where IIS's configuration says which URL each file is served at, that decides (two sites
        // serving the same URL from different folders: no page is named).
        let served = candidates.filter { $0.webURL?.lowercased() == "/" + segments.joined(separator: "/") }
        if !served.isEmpty { return served.count == 1 ? .page(served[0], by: "IIS's configuration") : .ambiguous(served.count) }
        let suffix = "\\" + segments.joined(separator: "\\")
        let exact = candidates.filter { ("\\" + $0.windowsPath.lowercased()).hasSuffix(suffix) }
        if exact.count == 1 { return .page(exact[0], by: "its path") }
        if exact.isEmpty && candidates.count == 1 { return .page(candidates[0], by: "its file name only (a guess: no configuration or path tells)") }
        return .ambiguous(max(exact.count, candidates.count))
    }

    /// How a URL was joined with a page, or why it was not.
    enum Join {
        case page(EvidenceItem, by: String)
        /// No web-folder file of that name in the evidence.
        case missing
        /// This many files could be the page.
        case ambiguous(Int)
    }
}
