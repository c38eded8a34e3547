import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP response as the survey keeps it: status, headers, and at most `maxBody` bytes of body.
public struct ProbeResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The body was longer than the cap; the rest was not read.
    public var truncated: Bool

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], truncated: Bool = false) {
        (self.status, self.headers, self.body, self.truncated) = (status, headers, body, truncated)
    }

    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEqual($0.name, name) }?.value
    }
}

func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
    a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7a) }
}

/// Why a request got no response. `aborted` (reset or closed before any byte of response) is kept
/// apart from `timeout`: a mitigated server aborts, a slow one times out, and neither means safe.
public enum ProbeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case connectTimeout
    case refused
    case timeout
    case aborted
    case malformed(String)
    case tls(String)
    case other(String)

    public var description: String {
        switch self {
        case .connectTimeout: "connect timeout"
        case .refused: "connection refused"
        case .timeout: "read timeout"
        case .aborted: "connection aborted before a response"
        case .malformed(let m): "malformed HTTP response (\(m))"
        case .tls(let m): "TLS failure (\(m))"
        case .other(let m): m
        }
    }

    /// Worth another try after a pause.
    var isTransient: Bool { self == .connectTimeout || self == .timeout }

    static func classify(_ error: any Error) -> ProbeFailure {
        if let f = error as? ProbeFailure { return f }
        if let e = error as? ChannelError, case .connectTimeout = e { return .connectTimeout }
        if let e = error as? IOError {
            switch e.errnoCode {
            case ECONNREFUSED: return .refused
            case ECONNRESET, EPIPE: return .aborted
            default: return .other("\(e)")
            }
        }
        if let e = error as? NIOConnectionError {
            if e.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }) { return .refused }
            if e.connectionErrors.contains(where: { [ECONNRESET, EPIPE].contains(($0.error as? IOError)?.errnoCode ?? 0) }) { return .aborted }
            if e.connectionErrors.contains(where: { if case ChannelError.connectTimeout = $0.error { true } else { false } }) { return .connectTimeout }
            return .other("connect failed: \(e.connectionErrors.map { "\($0.error)" }.joined(separator: ", "))")
        }
        if error is HTTPParserError { return .malformed("\(error)") }
        if let e = error as? NIOSSLError {
            if case .uncleanShutdown = e { return .aborted }
            return .tls("\(e)")
        }
        if error is BoringSSLError { return .tls("\(error)") }
        return .other("\(error)")
    }
}

/// A request the survey sends: always GET, no body.
public struct ProbeRequest: Sendable {
    public var path: String
    public var headers: [(String, String)]
    public init(path: String, headers: [(String, String)] = []) { (self.path, self.headers) = (path, headers) }
}

/// Collects one response at a time on its channel's event loop.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let maxBody: Int
    private var pending: EventLoopPromise<ProbeResponse>?
    private var timeout: Scheduled<Void>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var truncated = false

    init(maxBody: Int) { self.maxBody = maxBody }

    func start(_ promise: EventLoopPromise<ProbeResponse>, context: ChannelHandlerContext, timeout after: TimeAmount) {
        guard pending == nil else { return promise.fail(ProbeFailure.other("request already in flight")) }
        guard context.channel.isActive else { return promise.fail(ProbeFailure.aborted) }
        pending = promise
        head = nil
        body.removeAll(keepingCapacity: true)
        truncated = false
        let channel = context.channel
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: after) {
            self.finish(.failure(ProbeFailure.timeout))
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard pending != nil else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body(var b):
            let room = maxBody - body.count
            if b.readableBytes > room {
                body += b.readBytes(length: max(0, room)) ?? []
                truncated = true
                completeWithHead()
                // The rest is not wanted: stop reading it.
                context.close(promise: nil)
            } else {
                body += b.readBytes(length: b.readableBytes) ?? []
            }
        case .end:
            completeWithHead()
        }
    }

    private func completeWithHead() {
        guard let h = head else { return finish(.failure(ProbeFailure.malformed("no status line"))) }
        finish(.success(ProbeResponse(status: Int(h.status.code), headers: h.headers.map { ($0.name, $0.value) },
                                      body: body, truncated: truncated)))
    }

    private func finish(_ result: Result<ProbeResponse, any Error>) {
        guard let p = pending else { return }
        pending = nil
        timeout?.cancel()
        timeout = nil
        p.completeWith(result)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed mid-body after the head: keep what came (servers that close instead of Content-Length).
        if head != nil, pending != nil { completeWithHead() } else { finish(.failure(ProbeFailure.aborted)) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(ProbeFailure.classify(error)))
        context.close(promise: nil)
    }
}

/// One TCP (or TLS) connection to a surveyed server, used for a few sequential GETs.
struct ProbeConnection: Sendable {
    let channel: any Channel
    let hostHeader: String

    struct Settings: Sendable {
        var connectTimeout: TimeAmount
        var maxBody: Int
        var tls: NIOSSLContext?
    }

    static func open(_ target: SurveyTarget, group: any EventLoopGroup, settings: Settings) async throws -> ProbeConnection {
        let sni = target.tls ? target.serverName : nil
        let tls = target.tls ? settings.tls : nil
        let maxBody = settings.maxBody
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni)) }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ResponseCollector(maxBody: maxBody))
                }
            }
        do {
            // Addresses connect directly: the resolver path (getaddrinfo, happy eyeballs) costs more than
            // the whole HTTP exchange on a fast network.
            let channel: any Channel
            if target.serverName == nil, let address = try? SocketAddress(ipAddress: target.host, port: target.port) {
                channel = try await bootstrap.connect(to: address).get()
            } else {
                channel = try await bootstrap.connect(host: target.host, port: target.port).get()
            }
            let defaultPort = target.tls ? 443 : 80
            var host = target.serverName ?? (target.host.contains(":") ? "[\(target.host)]" : target.host)
            if target.port != defaultPort { host += ":\(target.port)" }
            return ProbeConnection(channel: channel, hostHeader: host)
        } catch {
            throw ProbeFailure.classify(error)
        }
    }

    var isActive: Bool { channel.isActive }
    var remoteIP: String? { channel.remoteAddress?.ipAddress }

    func get(_ request: ProbeRequest, timeout: TimeAmount) async throws -> ProbeResponse {
        let channel = self.channel
        let host = hostHeader
        let future: EventLoopFuture<ProbeResponse> = channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: ProbeResponse.self)
            do {
                let sync = channel.pipeline.syncOperations
                let collector = try sync.handler(type: ResponseCollector.self)
                let context = try sync.context(handlerType: ResponseCollector.self)
                collector.start(promise, context: context, timeout: timeout)
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: host)
                headers.add(name: "User-Agent", value: "exhunt-survey")
                headers.add(name: "Accept", value: "*/*")
                for (n, v) in request.headers { headers.add(name: n, value: v) }
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.path, headers: headers)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            } catch {
                promise.fail(ProbeFailure.aborted)
            }
            return promise.futureResult
        }
        do { return try await future.get() } catch { throw ProbeFailure.classify(error) }
    }

    func close() { channel.close(promise: nil) }
}
