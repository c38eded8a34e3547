import ExchangeBuilds
import NIOCore

/// Everything a survey run is told. Times are in milliseconds.
public struct SurveyConfiguration: Sendable {
    public var concurrency = 256
    /// Requests per second across all hosts (0: unlimited).
    public var rate = 0.0
    /// Minimum pause between two requests to the same host and port.
    public var hostIntervalMS = 0
    public var connectTimeoutMS = 5_000
    /// Budget for one response, first byte to last.
    public var readTimeoutMS = 10_000
    /// Budget for everything done to one host and port.
    public var hostTimeoutMS = 30_000
    /// Extra attempts after a connect failure or timeout, with exponential backoff.
    public var retries = 1
    public var retryBackoffMS = 500
    /// Body bytes kept per response; the rest is not read.
    public var maxBody = 256 * 1024
    public var checkSSRF = false
    public var probeShells = false
    public var verifyTLS = false
    /// Ask for the export-tool manifest even when `X-OWA-Version` already gave the exact build.
    public var allSources = false
    public var threads = 0

    public init() {}

    var connectTimeout: TimeAmount { .milliseconds(Int64(connectTimeoutMS)) }
}
