import ExchangeBuilds
import Foundation
import NIOCore
import NIOSSL

/// Everything done to one host and port: fingerprint, optional SSRF check, optional shell probes.
/// A record always comes back; failures are in `error`.
struct HostProbe {
    /// What every probe of one survey shares, owned by the `Surveyor`.
    struct Context: Sendable {
        var config: SurveyConfiguration
        var shellPaths: ShellPaths
        var group: any EventLoopGroup
        var tls: NIOSSLContext
        var limiter: RateLimiter
        var assessments: AssessmentCache
        var knowledge: BuildKnowledge { assessments.knowledge }
    }

    let target: SurveyTarget
    let context: Context
    private var config: SurveyConfiguration { context.config }

    private var connection: ProbeConnection?
    private var deadline: ContinuousClock.Instant
    private var lastRequest: ContinuousClock.Instant?
    private var ip: String?

    init(target: SurveyTarget, context: Context) {
        (self.target, self.context) = (target, context)
        deadline = .now + .milliseconds(context.config.hostTimeoutMS)
    }

    static let exportToolPath = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
    static let ssrfCookie = "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;"

    mutating func run() async -> SurveyRecord {
        let started = ContinuousClock.now
        var record = SurveyRecord(target: target.input, ip: nil, port: target.port, scheme: target.tls ? "https" : "http", time: Date())
        record.status = context.knowledge.families.map { FamilyStatus(family: $0.name, status: .unknown, note: "no build evidence") }
        defer { connection?.close() }
        do {
            try await fingerprint(&record)
            if config.probeShells && record.exchange {
                record.webshells = try await probeShells()
            }
            if config.checkSSRF && record.exchange { record.ssrf = await checkSSRF(&record) }
        } catch let f as ProbeFailure {
            record.error = f.description
        } catch {
            record.error = "\(error)"
        }
        record.ip = ip
        record.durationMS = Int((ContinuousClock.now - started) / .milliseconds(1))
        return record
    }

    // MARK: Fingerprint

    private mutating func fingerprint(_ record: inout SurveyRecord) async throws {
        let logon = try await get(ProbeRequest(path: "/owa/auth/logon.aspx"))
        if logon.truncated { record.notes.append("logon page longer than \(config.maxBody) bytes: read no further") }
        var observations: [BuildObservation] = []
        if let h = Fingerprint.owaHeader(logon) { observations.append(h) }
        if let p = Fingerprint.owaPath(logon.body) { observations.append(p) }
        record.exchange = Fingerprint.looksLikeExchange(logon)
        if record.exchange && (config.allSources || observations.first?.source != .owaHeader) {
            // The manifest is the one source with the full build when a proxy strips the header;
            // with the header's exact build in hand it is asked for only on request (--all-sources).
            if let manifest = try? await get(ProbeRequest(path: Self.exportToolPath)), manifest.status == 200,
               let e = Fingerprint.exportTool(manifest.body) {
                observations.append(e)
            }
        }
        record.buildSources = observations
        describe(&record, observations)
    }

    /// Best evidence first: a four-part build (header, then manifest, then a four-part path), else the CU level.
    private func describe(_ record: inout SurveyRecord, _ observations: [BuildObservation]) {
        let order: [BuildObservation.Source] = [.owaHeader, .exportTool, .owaPath]
        let exact = order.lazy.compactMap { s in observations.first { $0.source == s && $0.build != nil } }.first
        let assessment: BuildAssessment
        if let e = exact, let b = e.build {
            assessment = context.assessments.exact(b)
            record.build = b.description
            record.cuLevel = b.cuLevel.description
            record.buildEvidence = e.source.rawValue
            record.buildPrecision = "exact"
            let others = Set(observations.compactMap(\.build).filter { $0 != b })
            if !others.isEmpty { record.notes.append("other sources report \(others.map(\.description).sorted().joined(separator: ", "))") }
        } else if let c = observations.first(where: { $0.source == .owaPath }) {
            assessment = context.assessments.cu(c.cuLevel)
            record.cuLevel = c.cuLevel.description
            record.buildEvidence = c.source.rawValue
            record.buildPrecision = "cu"
        } else {
            return
        }
        record.product = assessment.product
        record.cu = assessment.release
        record.update = assessment.known.map { $0.update.isEmpty ? nil : $0.update } ?? nil
        record.status = assessment.statuses
        record.notes += assessment.notes
    }

    // MARK: CVE-2021-26855

    /// The request of Microsoft's retired nmap script, on a fresh connection so an abort belongs to it.
    /// An abort counts as the EOMT mitigation only if the same request without the cookies is answered.
    private mutating func checkSSRF(_ record: inout SurveyRecord) async -> String {
        reconnectNext()
        do {
            let r = try await get(ProbeRequest(path: "/owa/auth/x.js", headers: [("Cookie", Self.ssrfCookie)]))
            if let t = r.header("X-CalculatedBETarget"), t.lowercased().contains("localhost") { return "vulnerable" }
            return "not-vulnerable"
        } catch ProbeFailure.aborted {
            reconnectNext()
            do {
                _ = try await get(ProbeRequest(path: "/owa/auth/x.js"))
                return "mitigated"
            } catch {
                record.notes.append("SSRF check: the connection was aborted with and without the cookies")
                return "error"
            }
        } catch {
            record.notes.append("SSRF check: \(error)")
            return "error"
        }
    }

    // MARK: Web shells

    /// GETs each known shell path. A hit needs a 200 that differs from what the server answers for a
    /// path that surely does not exist in the same folder, and that is not the OWA logon page.
    private mutating func probeShells() async throws -> [String] {
        var found: [String] = []
        for folder in context.shellPaths.folders {
            let missing = folder + "exhunt-\(UInt64.random(in: 0...UInt64.max) % 1_000_000_007).aspx"
            let baseline = try await get(ProbeRequest(path: missing))
            for name in context.shellPaths.names {
                let path = folder + name
                let r = try await get(ProbeRequest(path: path))
                guard r.status == 200, !Fingerprint.isLogonPage(r.body) else { continue }
                if baseline.status == 200 && Self.sameShape(r, baseline) { continue }
                found.append(path)
            }
        }
        return found
    }

    /// Catch-all pages differ only by the echoed path: same status, same title, length within a few percent.
    static func sameShape(_ a: ProbeResponse, _ b: ProbeResponse) -> Bool {
        let la = a.body.count, lb = b.body.count
        guard abs(la - lb) <= max(64, max(la, lb) / 20) else { return false }
        func title(_ body: [UInt8]) -> ArraySlice<UInt8>? {
            guard let s = Fingerprint.find(Array("<title>".utf8), in: body[...]),
                  let e = Fingerprint.find(Array("</title>".utf8), in: body[s...]) else { return nil }
            return body[s..<e]
        }
        return title(a.body) == title(b.body)
    }

    // MARK: Requests

    private mutating func reconnectNext() {
        connection?.close()
        connection = nil
    }

    /// One GET within the host's time budget, rate limits and retry policy.
    private mutating func get(_ request: ProbeRequest) async throws -> ProbeResponse {
        var attempt = 0
        while true {
            do {
                return try await attemptGet(request)
            } catch let f as ProbeFailure where f.isTransient && attempt < config.retries {
                attempt += 1
                reconnectNext()
                let pause = Duration.milliseconds(config.retryBackoffMS << (attempt - 1)) + .milliseconds(Int.random(in: 0...max(1, config.retryBackoffMS / 4)))
                guard ContinuousClock.now + pause < deadline else { throw f }
                try await Task.sleep(for: pause)
            }
        }
    }

    private mutating func attemptGet(_ request: ProbeRequest) async throws -> ProbeResponse {
        let now = ContinuousClock.now
        guard now < deadline else { throw ProbeFailure.other("host timeout (\(config.hostTimeoutMS) ms)") }
        if config.hostIntervalMS > 0, let last = lastRequest {
            let next = last + .milliseconds(config.hostIntervalMS)
            if next > now { try await Task.sleep(until: next) }
        }
        await context.limiter.acquire()
        lastRequest = .now
        let c: ProbeConnection
        if let open = connection, open.isActive {
            c = open
        } else {
            connection?.close()
            c = try await ProbeConnection.open(target, group: context.group, settings: .init(connectTimeout: config.connectTimeout, maxBody: config.maxBody, tls: context.tls))
            connection = c
            if ip == nil { ip = c.remoteIP }
        }
        let remaining = deadline - ContinuousClock.now
        let budget = min(Duration.milliseconds(config.readTimeoutMS), remaining)
        let response = try await c.get(request, timeout: .nanoseconds(max(1, Int64(budget / .nanoseconds(1)))))
        if response.truncated || response.header("Connection")?.lowercased() == "close" { reconnectNext() }
        return response
    }
}
