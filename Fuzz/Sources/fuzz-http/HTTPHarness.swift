import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Survey

/// What a surveyed server answers: the input is the raw response to one GET, decoded by the same
/// pipeline the survey uses (SwiftNIO's HTTP/1.1 client handlers and the survey's collector, over
/// an in-memory channel), then fingerprinted: headers, the export tool's manifest XML, the logon
/// page's resource paths, Exchange markers.
func fuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.input(data, size)
    let channel = EmbeddedChannel()
    let collector = ResponseCollector(maxBody: 256 * 1024)
    var response: ProbeResponse?
    do {
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        try channel.pipeline.syncOperations.addHandler(collector)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        let context = try channel.pipeline.syncOperations.context(handler: collector)
        let promise = channel.eventLoop.makePromise(of: ProbeResponse.self)
        // Everything runs on the embedded loop, synchronously: the result is in by `finish`.
        promise.futureResult.whenSuccess { response = $0 }
        collector.start(promise, context: context, timeout: .seconds(5))
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/owa/auth/logon.aspx", headers: ["Host": "fuzz"])
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        var buffer = channel.allocator.buffer(capacity: input.count)
        buffer.writeBytes(input)
        _ = try? channel.writeInbound(buffer)
    } catch {}
    // Closing ends a body read to the end of the connection, and breaks the pipeline's cycles.
    _ = try? channel.finish(acceptAlreadyClosed: true)
    guard let response else { return 0 }
    _ = Fingerprint.owaHeader(response)
    _ = Fingerprint.exportTool(response.body)
    _ = Fingerprint.owaPath(response.body)
    _ = Fingerprint.looksLikeExchange(response)
    _ = Fingerprint.isLogonPage(response.body)
    return 0
}
