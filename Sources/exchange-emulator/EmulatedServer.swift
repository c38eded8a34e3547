import Foundation
import HuntCore
import NIOCore
import NIOHTTP1

/// Answers like an on-premises Exchange front end (IIS + HttpProxy) of one build, or misbehaves on purpose.
final class EmulatedServer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let spec: ServerSpec
    private let slowSeconds: Int64
    private var request: HTTPRequestHead?

    init(spec: ServerSpec, slowSeconds: Int64) {
        self.spec = spec
        self.slowSeconds = slowSeconds
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(context: context, to: head)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(context: ChannelHandlerContext, to head: HTTPRequestHead) {
        switch spec.behavior {
        case "slow":
            let loop = context.eventLoop.assumeIsolated()
            loop.scheduleTask(in: .seconds(slowSeconds)) { self.answer(context: context, head: head) }
        case "huge":
            var h = HTTPHeaders()
            h.add(name: "Content-Type", value: "text/html")
            h.add(name: "Transfer-Encoding", value: "chunked")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: h))), promise: nil)
            streamForever(context: context, every: .milliseconds(1), chunk: 64 * 1024)
        case "trickle":
            var h = HTTPHeaders()
            h.add(name: "Content-Type", value: "text/html")
            h.add(name: "Content-Length", value: "100000000")
            h.add(name: "X-OWA-Version", value: "15.1.2176.2")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: h))), promise: nil)
            streamForever(context: context, every: .milliseconds(200), chunk: 1)
        default:
            answer(context: context, head: head)
        }
    }

    private func streamForever(context: ChannelHandlerContext, every: TimeAmount, chunk: Int) {
        let loop = context.eventLoop.assumeIsolated()
        let buffer = context.channel.allocator.buffer(repeating: UInt8(ascii: "A"), count: chunk)
        func tick() {
            guard context.channel.isActive else { return }
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            loop.scheduleTask(in: every) { tick() }
        }
        tick()
    }

    private func answer(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map { String($0).lowercased() } ?? "/"
        let cookie = head.headers["Cookie"].joined(separator: "; ")
        let ssrfCookie = cookie.contains("X-AnonResource-Backend") || cookie.contains("X-BEResource=")

        if spec.behavior == "iis" {
            if path == "/" { return send(context, .ok, Pages.iisStart, type: "text/html") }
            return send(context, .notFound, Pages.notFound, type: "text/html")
        }
        // EOMT's URL Rewrite rules run before anything else and abort the connection.
        if ssrfCookie && spec.ssrf == "mitigated" { return reset(context) }

        var extra: [(String, String)] = []
        if spec.header && path.hasPrefix("/owa") { extra.append(("X-OWA-Version", spec.build)) }

        if path == "/owa/auth/x.js" && ssrfCookie {
            if spec.ssrf == "vulnerable" {
                extra.append(("X-CalculatedBETarget", "localhost"))
                return send(context, .internalServerError, "NegotiateSecurityContext failed with for host 'localhost'", type: "text/html", extra)
            }
            return send(context, .internalServerError, Pages.error, type: "text/html", extra)
        }
        if let shell = spec.shells.first(where: { $0.lowercased() == path }) {
            return send(context, .ok, "<html><body>\(shell.count)</body></html>", type: "text/html")
        }
        switch path {
        case "/owa", "/owa/":
            return redirect(context, extra)
        case "/owa/auth/logon.aspx":
            return send(context, .ok, Pages.logon(cuLevel: spec.cuLevel), type: "text/html; charset=utf-8", extra)
        case "/ecp/current/exporttool/microsoft.exchange.ediscovery.exporttool.application" where spec.ecp:
            return send(context, .ok, Pages.exportTool(build: spec.build), type: "application/x-ms-application")
        default:
            switch spec.unknown {
            case "redirect": return redirect(context, extra)
            case "login": return send(context, .ok, Pages.logon(cuLevel: spec.cuLevel), type: "text/html; charset=utf-8", extra)
            default: return send(context, .notFound, Pages.notFound, type: "text/html")
            }
        }
    }

    private func redirect(_ context: ChannelHandlerContext, _ extra: [(String, String)]) {
        send(context, .found, "", type: "text/html",
             extra + [("Location", "/owa/auth/logon.aspx?url=%2fowa%2f&reason=0")])
    }

    private func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ body: String, type: String,
                      _ extra: [(String, String)] = []) {
        var h = HTTPHeaders()
        h.add(name: "Server", value: "Microsoft-IIS/10.0")
        h.add(name: "X-Powered-By", value: "ASP.NET")
        h.add(name: "Content-Type", value: type)
        h.add(name: "Content-Length", value: String(body.utf8.count))
        for (n, v) in extra { h.add(name: n, value: v) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: h))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func reset(_ context: ChannelHandlerContext) {
        Abort.reset(context.channel)
    }
}

/// Misbehaviour below HTTP: answers with garbage, resets, closes, or says nothing at all.
final class RawMisbehaviour: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let behavior: String
    init(behavior: String) { self.behavior = behavior }

    func channelActive(context: ChannelHandlerContext) {
        switch behavior {
        case "reset": Abort.reset(context.channel)
        case "close": context.close(promise: nil)
        default: context.fireChannelActive()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard behavior == "garbage" else { return }  // "silent" reads and never answers
        var junk = context.channel.allocator.buffer(capacity: 4096)
        var rng = SplitMix(seed: 7)
        for _ in 0..<512 { junk.writeInteger(rng.next()) }
        context.writeAndFlush(wrapOutboundOut(junk), promise: nil)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

enum Abort {
    /// Closes with a TCP RST, as IIS's AbortRequest action does.
    static func reset(_ channel: any Channel) {
        guard let socket = channel as? any SocketOptionProvider else { return channel.close(promise: nil) }
        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Response bodies shaped like the real ones, as far as fingerprinting reads them.
enum Pages {
    static func logon(cuLevel: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta http-equiv="X-UA-Compatible" content="IE=10" /><title>Outlook</title>
        <link rel="shortcut icon" href="/owa/auth/\(cuLevel)/themes/resources/favicon.ico" type="image/x-icon">
        <link type="text/css" rel="stylesheet" href="/owa/auth/\(cuLevel)/themes/resources/logon.css">
        <script type="text/javascript" src="/owa/auth/\(cuLevel)/scripts/premium/flogon.js"></script>
        </head><body class="signInBg"><form action="/owa/auth.owa" method="POST" name="logonForm">
        <input id="username" name="username" type="email"><input id="password" name="password" type="password">
        </form></body></html>
        """
    }

    static func exportTool(build: String) -> String {
        """
        <?xml version="1.0" encoding="utf-8"?>
        <asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd" manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1" xmlns="urn:schemas-microsoft-com:asm.v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
          <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="\(build)" publicKeyToken="b1d1a6c45aa418ce" language="neutral" processorArchitecture="msil" xmlns="urn:schemas-microsoft-com:asm.v1" />
          <description asmv2:publisher="Microsoft Corporation" asmv2:product="Microsoft Exchange eDiscovery Export Tool" xmlns="urn:schemas-microsoft-com:asm.v1" xmlns:asmv2="urn:schemas-microsoft-com:asm.v2" />
        </asmv1:assembly>
        """
    }

    static let notFound = "<!DOCTYPE HTML><html><head><title>Not Found</title></head><body><h2>Not Found</h2><hr><p>HTTP Error 404. The requested resource is not found.</p></body></html>"
    static let error = "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/owa' Application.</h1></body></html>"
    static let iisStart = "<!DOCTYPE html><html><head><title>IIS Windows Server</title></head><body><img src=\"iisstart.png\" alt=\"IIS\"></body></html>"
}
