public import ExchangeBuilds
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Runs a survey: targets in, one record per host and port out, at most `concurrency` in flight.
public final class Surveyor: Sendable {
    public var config: SurveyConfiguration { context.config }
    private let group: MultiThreadedEventLoopGroup
    private let context: HostProbe.Context

    public init(config: SurveyConfiguration, knowledge: BuildKnowledge, shellPaths: ShellPaths) throws {
        raiseOpenFileLimit()
        group = MultiThreadedEventLoopGroup(numberOfThreads: config.threads > 0 ? config.threads : System.coreCount)
        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        // Surveys meet self-signed and expired certificates everywhere; identity is not what is measured.
        if !config.verifyTLS { tlsConfig.certificateVerification = .none }
        context = HostProbe.Context(config: config, shellPaths: shellPaths, group: group,
                                    tls: try NIOSSLContext(configuration: tlsConfig), limiter: RateLimiter(perSecond: config.rate),
                                    assessments: AssessmentCache(knowledge))
    }

    public func shutdown() async { try? await group.shutdownGracefully() }

    /// Surveys every target, handing each record to `emit` as soon as it is complete (in completion order).
    public func run(_ targets: some Sequence<SurveyTarget>, emit: (SurveyRecord) throws -> Void) async throws {
        var iterator = targets.makeIterator()
        try await withThrowingTaskGroup(of: SurveyRecord.self) { tasks in
            var inFlight = 0
            func startNext() -> Bool {
                guard let target = iterator.next() else { return false }
                tasks.addTask { [self] in await assess(target) }
                inFlight += 1
                return true
            }
            while inFlight < max(1, config.concurrency), startNext() {}
            while let record = try await tasks.next() {
                inFlight -= 1
                try emit(record)
                _ = startNext()
            }
        }
    }

    public func assess(_ target: SurveyTarget) async -> SurveyRecord {
        var probe = HostProbe(target: target, context: context)
        return await probe.run()
    }
}
