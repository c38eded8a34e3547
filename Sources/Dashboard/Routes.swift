import CaseStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HuntCore
import NIOCore
import Reports
import Timeline

/// Every page and its JSON twin. Pages are rendered on the server (Mustache, every value escaped);
/// evidence values travel only in query strings (`/host?h=…`), never as path segments.
struct Routes: Sendable {
    let pool: StorePool
    let views: Views
    let accounts: Accounts?
    let throttle: LoginThrottle
    let fleet = FleetCache()

    static let hostsPerPage = 200
    static let findingsPerPage = 50
    static let manifestPerPage = 100
    static let rowsPerPage = 100
    /// The story is told from the first weighed findings (all of them for nearly every host).
    static let storyFindings = 200

    func add(to router: Router<DashboardContext>) {
        router.get("/static/:file") { _, context in try self.views.asset(context.parameters.require("file")) }
        router.get("/login") { request, context in
            self.views.page("login", title: "Sign in", context: context,
                            data: ["next": request.uri.queryParameters.get("next") ?? "/", "accounts": self.accounts != nil])
        }
        router.post("/login") { request, context in try await self.login(request, context) }
        router.post("/logout") { _, context in
            context.sessions.clearSession()
            return Response.redirect(to: "/login", type: .found)
        }
        router.get("/") { request, context in try await self.overview(request, context) }
        router.get("/host") { request, context in try await self.host(request, context) }
        router.post("/host/action") { request, context in try await self.action(request, context) }
        router.get("/timeline") { request, context in try await self.timeline(request, context) }
        router.get("/pivot") { request, context in try await self.pivot(request, context) }
        router.get("/search") { request, context in try await self.search(request, context) }
        router.get("/survey") { request, context in try await self.survey(request, context) }
        router.get("/audit") { request, context in try await self.audit(request, context) }
        router.get("/fleet") { request, context in try await self.fleet(request, context) }
        router.get("/export/indicators") { request, context in try await self.exportIndicators(request, context) }
        router.get("/export/report") { request, context in try await self.exportReport(request, context) }

        let api = router.group("api")
        api.get("changes") { _, _ in try self.json(["mark": try await self.pool.any.changeMark()]) }
        api.get("session") { _, context in try self.json(["user": context.user ?? "", "role": context.role?.rawValue ?? "", "csrf": context.csrf]) }
        api.get("summary") { _, _ in
            let o = try await self.fleet.overview(self.pool.any)
            return try self.json(APISummary(summary: o.summary, survey: o.survey))
        }
        api.get("hosts") { request, _ in
            let all = try await self.fleet.overview(self.pool.any).hosts
            let (offset, limit) = self.window(request, defaultLimit: Self.hostsPerPage)
            return try self.json(Page(items: Array(all.dropFirst(offset).prefix(limit)), total: all.count, offset: offset, limit: limit))
        }
        api.get("host") { request, _ in
            let (h, run) = try await self.findHost(request)
            let s = self.pool.any
            let report = if let run { try await s.reportHead(run: run) } else { nil as HostReport? }
            return try self.json(APIHost(host: h, report: report,
                                         runs: try await s.runs(host: h.host), history: try await s.history(host: h.host)))
        }
        api.get("host/findings") { request, _ in
            let (_, run) = try await self.findHost(request)
            guard let run else { return try self.json(Page<Finding>(items: [], total: 0, offset: 0, limit: 0)) }
            let (offset, limit) = self.window(request, defaultLimit: Self.findingsPerPage)
            return try self.json(try await self.pool.any.findings(run: run, roles: self.roles(request), offset: offset, limit: limit))
        }
        api.get("host/manifest") { request, _ in
            let (_, run) = try await self.findHost(request)
            guard let run else { return try self.json(Page<ManifestEntry>(items: [], total: 0, offset: 0, limit: 0)) }
            let (offset, limit) = self.window(request, defaultLimit: Self.manifestPerPage)
            return try self.json(try await self.pool.any.manifest(run: run, offset: offset, limit: limit))
        }
        api.post("host/action") { request, context in try await self.action(request, context) }
        api.get("timeline") { request, _ in
            let filter = try await self.timelineFilter(request)
            let range = try await self.range(request, filter)
            let (offset, limit) = self.window(request, defaultLimit: Self.rowsPerPage)
            let s = self.pool.any
            return try self.json(APITimeline(from: range.from, to: range.to,
                                             buckets: try await s.timelineBuckets(from: range.from, to: range.to, buckets: TimelineChart.buckets, filter: filter),
                                             findings: try await s.timelineFindings(from: range.from, to: range.to, filter: filter, offset: offset, limit: limit)))
        }
        api.get("pivot") { request, _ in
            let (kind, value) = try self.pivotQuery(request)
            return try self.json(try await self.pool.any.pivot(kind, value).map { PivotRow(host: $0.host, learned: $0.learned, value: $0.value) })
        }
        api.get("pivot/findings") { request, _ in
            let (kind, value) = try self.pivotQuery(request)
            let (offset, limit) = self.window(request, defaultLimit: Self.findingsPerPage)
            return try self.json(try await self.pool.any.findings(naming: kind, value, roles: self.roles(request), offset: offset, limit: limit))
        }
        api.get("search") { request, _ in try self.json(try await self.searchResults(request.uri.queryParameters.get("q") ?? "")) }
        api.get("survey") { request, _ in
            let (offset, limit) = self.window(request, defaultLimit: Self.rowsPerPage)
            return try self.json(try await self.pool.any.surveyRecords(exposedOnly: request.uri.queryParameters.get("exposed") == "1", offset: offset, limit: limit))
        }
        api.get("audit") { request, _ in
            let (_, limit) = self.window(request, defaultLimit: Self.rowsPerPage)
            return try self.json(try await self.pool.any.auditLog(limit: limit))
        }
        api.get("work") { _, _ in
            let s = self.pool.any
            let counts = try await s.workCounts()
            return try self.json(APIWork(counts: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
                                         items: try await s.work(limit: Self.rowsPerPage)))
        }
    }

    // MARK: - Pages

    private func overview(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let (mark, hosts, summary, survey) = try await fleet.overview(pool.any)
        let filter = request.uri.queryParameters.get("verdict").flatMap(Verdict.init(rawValue:))
        let shown = filter.map { v in hosts.filter { $0.verdict == v } } ?? hosts
        let page = pageNumber(request)
        let slice = Array(shown.dropFirst(page * Self.hostsPerPage).prefix(Self.hostsPerPage))
        return views.page("overview", title: "Fleet", context: context,
                          data: Views.overview(hosts: slice, summary: summary, survey: survey, filter: filter,
                                               pager: Views.pager(path: "/", query: filter.map { ["verdict": $0.rawValue] } ?? [:], page: page,
                                                                  count: slice.count, total: shown.count, per: Self.hostsPerPage)),
                          mark: mark)
    }

    private func host(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let (h, run) = try await findHost(request)
        let s = pool.any
        let head = if let run { try await s.reportHead(run: run) } else { nil as HostReport? }
        let fpage = pageNumber(request, "fpage"), mpage = pageNumber(request, "mpage")
        let roles = roles(request)
        var findings = Page<Finding>(items: [], total: 0, offset: 0, limit: Self.findingsPerPage)
        var manifest = Page<ManifestEntry>(items: [], total: 0, offset: 0, limit: Self.manifestPerPage)
        var problems = Page<Problem>(items: [], total: 0, offset: 0, limit: Self.rowsPerPage)
        var story: IncidentStory?
        var storyFrom = Page<Finding>(items: [], total: 0, offset: 0, limit: 0)
        if let run {
            findings = try await s.findings(run: run, roles: roles, offset: fpage * Self.findingsPerPage, limit: Self.findingsPerPage)
            manifest = try await s.manifest(run: run, offset: mpage * Self.manifestPerPage, limit: Self.manifestPerPage)
            problems = try await s.problems(run: run, offset: 0, limit: Self.rowsPerPage)
            // The story told at ingest from all the run's findings; for runs stored before stories
            // were kept, told here from the first weighed findings (bounded, as every page is).
            story = try await s.story(run: run)
            if story == nil {
                storyFrom = try await s.findings(run: run, roles: [.compromised, .attempted, .supporting], offset: 0, limit: Self.storyFindings)
                story = IncidentStory(host: h.display, verdict: h.verdict, entries: storyFrom.items.map { TimelineEntry($0, host: h.display) })
            }
        }
        var query = ["h": h.host]
        if !roles.isEmpty { query["roles"] = roles.map(\.rawValue).sorted().joined(separator: ",") }
        // The host's own findings over time, from its first to its last (each bar opens the fleet
        // timeline for that stretch, kept to this host).
        var timeline: [String: Any]?
        if let span = try await s.timelineSpan(host: h.host) {
            let filter = TimelineFilter(host: h.host)
            let (from, to) = Self.padded(span)
            let chart = TimelineChart(from: from, to: to, buckets: try await s.timelineBuckets(from: from, to: to, buckets: TimelineChart.buckets, filter: filter),
                                      roles: [])
            timeline = Views.hostTimeline(chart: chart, from: from, to: to, filter: filter)
        }
        var data = Views.host(h, run: run, report: head, story: story, storyPartial: storyFrom.hasNext, findings: findings,
                              findingsPager: Views.pager(path: "/host", query: query.merging(["mpage": String(mpage)]) { $1 }, page: fpage, name: "fpage",
                                                         count: findings.items.count, total: findings.total, per: Self.findingsPerPage),
                              manifest: manifest,
                              manifestPager: Views.pager(path: "/host", query: query.merging(["fpage": String(fpage)]) { $1 }, page: mpage, name: "mpage",
                                                         count: manifest.items.count, total: manifest.total, per: Self.manifestPerPage),
                              problems: problems, runs: try await s.runs(host: h.host), history: try await s.history(host: h.host),
                              roles: roles, canAct: context.role == .analyst)
        data["timeline"] = timeline
        data["reportLink"] = "/export/report?h=" + Escape.query(h.host)
        return views.page("host", title: h.display, context: context, data: data, mark: try await s.changeMark())
    }

    /// An analyst's entry, from a form (then back to the host's page) or the API (JSON).
    private func action(_ request: Request, _ context: DashboardContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        let form: ActionForm
        do {
            if request.headers[.contentType]?.hasPrefix("application/json") == true {
                form = try JSONDecoder().decode(ActionForm.self, from: Data(String(buffer: body).utf8))
            } else {
                form = try URLEncodedFormDecoder().decode(ActionForm.self, from: String(buffer: body))
            }
        } catch {
            throw HTTPError(.badRequest, message: "an action is a form or JSON object with host, action, and value or reason")
        }
        guard let who = context.user else { throw HTTPError(.unauthorized) }
        let text = (form.value ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let reason = (form.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= 10_000, reason.count <= 10_000 else { throw HTTPError(.contentTooLarge, message: "a note is at most 10,000 characters") }
        let kind: AnalystEntry.Kind
        var value = text
        switch form.action {
        case "note": kind = .note
        case "tag": kind = .tag
        case "untag": kind = .untag
        case "override": kind = .override
        case "remediated": kind = .remediated; value = "yes"
        case "unremediated": kind = .remediated; value = "no"
        default: throw HTTPError(.badRequest, message: "unknown action")
        }
        if [.note, .tag, .untag].contains(kind), value.isEmpty { throw HTTPError(.badRequest, message: "nothing to record") }
        let family = (form.family ?? "").isEmpty ? nil : form.family
        do {
            try await pool.any.record(kind, host: form.host, value: value, reason: reason, family: family, who: who)
        } catch let e as CaseStoreError {
            throw HTTPError(.badRequest, message: e.description)
        }
        if request.uri.path.hasPrefix("/api/") { return try json(["recorded": form.action]) }
        return Response.redirect(to: "/host?h=" + Escape.query(form.host) + "#history", type: .normal)
    }

    private func timeline(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let s = pool.any
        let filter = try await timelineFilter(request)
        let range = try await range(request, filter)
        let page = pageNumber(request)
        let buckets = try await s.timelineBuckets(from: range.from, to: range.to, buckets: TimelineChart.buckets, filter: filter)
        let rows = try await s.timelineFindings(from: range.from, to: range.to, filter: filter, offset: page * Self.rowsPerPage, limit: Self.rowsPerPage)
        let chart = TimelineChart(from: range.from, to: range.to, buckets: buckets, roles: filter.roles)
        let families = try await fleet.overview(s).summary.byFamily.keys.sorted()
        return views.page("timeline", title: "Timeline", context: context,
                          data: Views.timeline(range: range, chart: chart, rows: rows, filter: filter, families: families,
                                               pager: Views.pager(path: "/timeline", query: Views.timelineQuery(range.from, range.to, filter), page: page,
                                                                  count: rows.items.count, total: rows.total, per: Self.rowsPerPage)),
                          mark: try await s.changeMark())
    }

    private func pivot(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let (kind, value) = try pivotQuery(request)
        let s = pool.any
        let page = pageNumber(request)
        let rows = try await s.pivot(kind, value)
        let findings = try await s.findings(naming: kind, value, offset: page * Self.findingsPerPage, limit: Self.findingsPerPage)
        return views.page("pivot", title: "\(kind.rawValue) \(value)", context: context,
                          data: Views.pivot(kind: kind, value: value, rows: rows, findings: findings,
                                            pager: Views.pager(path: "/pivot", query: ["kind": kind.rawValue, "value": value], page: page,
                                                               count: findings.items.count, total: findings.total, per: Self.findingsPerPage)))
    }

    private func search(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let q = request.uri.queryParameters.get("q") ?? ""
        let results = try await searchResults(q)
        return views.page("search", title: "Search", context: context, data: Views.search(q: q, results: results), q: q)
    }

    private func survey(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let s = pool.any
        let exposed = request.uri.queryParameters.get("exposed") == "1"
        let page = pageNumber(request)
        let records = try await s.surveyRecords(exposedOnly: exposed, offset: page * Self.rowsPerPage, limit: Self.rowsPerPage)
        return views.page("survey", title: "Survey", context: context,
                          data: Views.survey(records: records, counts: try await s.surveyCounts(), exposedOnly: exposed,
                                             pager: Views.pager(path: "/survey", query: exposed ? ["exposed": "1"] : [:], page: page,
                                                                count: records.items.count, total: records.total, per: Self.rowsPerPage)),
                          mark: try await s.changeMark())
    }

    private func audit(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let entries = try await pool.any.auditLog(limit: 500)
        return views.page("audit", title: "Audit log", context: context, data: Views.audit(entries))
    }

    private func fleet(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let s = pool.any
        return views.page("fleet", title: "Fleet work", context: context,
                          data: Views.work(counts: try await s.workCounts(), items: try await s.work(limit: 500)), mark: try await s.changeMark())
    }

    /// The fleet's attacker indicators as STIX 2.1 or CSV (as `exhunt case indicators` writes
    /// them), a download recorded in the audit log.
    private func exportIndicators(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "stix"
        guard format == "stix" || format == "csv" else { throw HTTPError(.badRequest, message: "format is stix or csv") }
        let s = pool.any
        let caseName = await s.caseName
        let values = try await s.indicators()
        try await s.audited("export", subject: "indicators", detail: "\(values.count) indicators as \(format) from the dashboard",
                            who: context.user ?? "-")
        let data = format == "csv" ? IndicatorExport.csv(values) : try IndicatorExport.stix(values, caseName: caseName)
        return Self.download(data, name: Self.fileName(caseName) + "-indicators." + (format == "csv" ? "csv" : "stix.json"),
                             type: format == "csv" ? "text/csv; charset=utf-8" : "application/json")
    }

    /// A host's hunt as the self-contained HTML report `exhunt hunt --html` writes, a download
    /// recorded in the audit log.
    private func exportReport(_ request: Request, _ context: DashboardContext) async throws -> Response {
        let (h, run) = try await findHost(request)
        guard let run, let report = try await pool.any.report(run: run) else { throw HTTPError(.notFound, message: "no hunt of this host yet") }
        try await pool.any.audited("export", subject: h.host, detail: "HTML report of run \(run) from the dashboard", who: context.user ?? "-")
        let html = try HTMLReport.render(FleetTimeline([report]))
        return Self.download(Data(html.utf8), name: Self.fileName(h.display) + ".html", type: "text/html; charset=utf-8")
    }

    /// A file to save, never shown in the dashboard's own origin.
    static func download(_ data: Data, name: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name)\""],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Only characters safe in a file name and a header (a host name comes from evidence).
    static func fileName(_ name: String) -> String {
        let kept = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) ? Character($0) : "_" })
        return kept.isEmpty || kept.allSatisfy({ $0 == "." }) ? "export" : String(kept.prefix(100))
    }

    private func login(_ request: Request, _ context: DashboardContext) async throws -> Response {
        guard let accounts else { return Response.redirect(to: "/", type: .found) }
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        struct Form: Decodable { var user: String?; var password: String?; var next: String? }
        let form = (try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))) ?? Form()
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        if let wait = await throttle.wait(for: address) {
            var r = views.page("login", title: "Sign in", context: context,
                               data: ["error": "Too many failed attempts: try again in \(wait) seconds.", "accounts": true, "next": form.next ?? "/"])
            r.status = .tooManyRequests
            r.headers[.retryAfter] = String(wait)
            return r
        }
        guard let account = accounts.verify(name: form.user ?? "", password: form.password ?? "") else {
            await throttle.failed(address)
            try? await pool.any.audited("sign-in failed", subject: String((form.user ?? "").prefix(64)), detail: "from \(address)", who: "-")
            var r = views.page("login", title: "Sign in", context: context, data: ["error": "Wrong name or password.", "accounts": true, "next": form.next ?? "/"])
            r.status = .unauthorized
            return r
        }
        await throttle.succeeded(address)
        // A new session (and CSRF token) on signing in: a session fixed before it is worth nothing after.
        context.sessions.clearSession()
        context.sessions.createSession(.fresh(user: account.name, role: account.role))
        try? await pool.any.audited("sign-in", subject: account.name, detail: "\(account.role.rawValue) from \(address)", who: account.name)
        return Response.redirect(to: Self.localPath(form.next), type: .normal)
    }

    // MARK: - Helpers

    /// Only a path of this site: `//evil.example` and `https://…` go home instead.
    static func localPath(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return "/" }
        return next
    }

    private func findHost(_ request: Request) async throws -> (FleetHost, String?) {
        guard let name = request.uri.queryParameters.get("h"), !name.isEmpty else { throw HTTPError(.badRequest, message: "which host? (?h=NAME)") }
        guard let h = try await pool.any.host(name) else { throw HTTPError(.notFound, message: "no such host in this case") }
        return (h, h.decidingRun ?? h.latestRun)
    }

    private func pivotQuery(_ request: Request) throws -> (StoredValue.Kind, String) {
        guard let kind = request.uri.queryParameters.get("kind").flatMap(StoredValue.Kind.init(rawValue:)),
              let value = request.uri.queryParameters.get("value"), !value.isEmpty, value.utf8.count <= 8_192 else {
            throw HTTPError(.badRequest, message: "pivot needs kind (address, user-agent, path, sha256) and value")
        }
        return (kind, value)
    }

    /// The timeline's filter from the query: `roles`, a host (`h`, any case of its name) and a family.
    private func timelineFilter(_ request: Request) async throws -> TimelineFilter {
        let q = request.uri.queryParameters
        var filter = TimelineFilter(roles: roles(request))
        if let name = q.get("h")?.trimmingCharacters(in: .whitespaces), !name.isEmpty, name.utf8.count <= 1_024 {
            filter.host = try await pool.any.host(name)?.host ?? name.lowercased()
        }
        if let family = q.get("family"), !family.isEmpty, family.utf8.count <= 128 { filter.family = family }
        return filter
    }

    /// A span widened a little on each side so its first and last findings are not on the edges,
    /// and never empty.
    static func padded(_ span: (first: Date, last: Date)) -> (Date, Date) {
        let width = max(span.last.timeIntervalSince(span.first), 3_600)
        return (span.first.addingTimeInterval(-width / 50), span.last.addingTimeInterval(width / 50 + 1))
    }

    /// The timeline's range: `from` and `to` as given (a day or a full time), else the span of the
    /// findings the filter keeps.
    private func range(_ request: Request, _ filter: TimelineFilter) async throws -> (from: Date, to: Date) {
        let q = request.uri.queryParameters
        let span = try await pool.any.timelineSpan(host: filter.host)
        let from = q.get("from").flatMap { Timestamp.parse($0) } ?? span?.first ?? Date(timeIntervalSince1970: 1_609_459_200)
        var to = q.get("to").flatMap { Timestamp.parse($0) } ?? span.map { $0.last.addingTimeInterval(1) } ?? from.addingTimeInterval(86_400)
        if to <= from { to = from.addingTimeInterval(60) }
        return (from, to)
    }

    private func roles(_ request: Request) -> Set<VerdictRole> {
        // `roles=a,b` from links, `roles=a&roles=b` from the timeline's checkboxes.
        Set(request.uri.queryParameters.getAll("roles").flatMap { $0.split(separator: ",") }.compactMap { VerdictRole(rawValue: String($0)) })
    }

    private func pageNumber(_ request: Request, _ name: String = "page") -> Int {
        max(0, min(request.uri.queryParameters.get(name).flatMap { Int($0) } ?? 0, 10_000_000))
    }

    private func window(_ request: Request, defaultLimit: Int) -> (Int, Int) {
        let q = request.uri.queryParameters
        return (max(0, min(q.get("offset").flatMap { Int($0) } ?? 0, 1_000_000_000)),
                max(1, min(q.get("limit").flatMap { Int($0) } ?? defaultLimit, CaseStore.maxPage)))
    }

    /// Hosts whose name, a name the evidence gives it, or an address contains the text; and
    /// every stored value of each kind equal to it (the pivots it leads to).
    private func searchResults(_ q: String) async throws -> SearchResults {
        let needle = q.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !needle.isEmpty, needle.utf8.count <= 8_192 else { return SearchResults(query: q, hosts: [], values: []) }
        let lower = needle.lowercased()
        let s = pool.any
        let hosts = try await fleet.overview(s).hosts.filter { h in
            h.host.contains(lower) || h.display.lowercased().contains(lower) || h.names.contains { $0.contains(lower) } || h.addresses.contains { $0.contains(lower) }
        }
        var values: [SearchResults.Value] = []
        for kind in StoredValue.Kind.allCases {
            let rows = try await s.pivot(kind, needle)
            if !rows.isEmpty { values.append(.init(kind: kind, value: rows[0].value.value, hosts: Set(rows.map(\.host)).count, rows: rows.count)) }
        }
        // A file by its name alone: every stored path that ends with it.
        for path in try await s.paths(named: needle) where !values.contains(where: { $0.kind == .path && $0.value == path }) {
            let rows = try await s.pivot(.path, path)
            if !rows.isEmpty { values.append(.init(kind: .path, value: path, hosts: Set(rows.map(\.host)).count, rows: rows.count)) }
        }
        return SearchResults(query: q, hosts: Array(hosts.prefix(Self.rowsPerPage)), values: values)
    }

    private func json<T: Encodable>(_ value: T) throws -> Response {
        let data = try JSONCoding.encoder(pretty: false).encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

struct ActionForm: Decodable {
    var host: String
    var action: String
    var value: String?
    var reason: String?
    var family: String?
    var csrf: String?
}

struct SearchResults: Codable, Sendable {
    struct Value: Codable, Sendable {
        var kind: StoredValue.Kind
        var value: String
        var hosts: Int
        var rows: Int
    }
    var query: String
    var hosts: [FleetHost]
    var values: [Value]
}

struct PivotRow: Codable, Sendable {
    var host: String
    var learned: Bool
    var value: StoredValue
}

struct APISummary: Codable, Sendable {
    var summary: FleetSummary
    var survey: SurveyCounts
}

struct APIHost: Codable, Sendable {
    var host: FleetHost
    var report: HostReport?
    var runs: [RunListing]
    var history: [AnalystEntry]
}

struct APITimeline: Codable, Sendable {
    var from: Date
    var to: Date
    var buckets: [TimelineBucket]
    var findings: Page<TimedFinding>
}

struct APIWork: Codable, Sendable {
    var counts: [String: Int]
    var items: [WorkItem]
}

/// The fleet's hosts and summary, read again only when the case's change mark moves: the
/// overview, search and summary answer from here, so a busy dashboard reads the hosts once per
/// change instead of once per request.
actor FleetCache {
    private var cached: (mark: String, hosts: [FleetHost], summary: FleetSummary, survey: SurveyCounts)?

    func overview(_ store: CaseStore) async throws -> (mark: String, hosts: [FleetHost], summary: FleetSummary, survey: SurveyCounts) {
        let mark = try await store.changeMark()
        if let c = cached, c.mark == mark { return c }
        let (hosts, summary) = try await store.overview()
        let survey = try await store.surveyCounts()
        // Read after the mark: a change in between makes the next request read again, never less.
        let fresh = (mark, hosts, summary, survey)
        cached = fresh
        return fresh
    }
}
