/// The Sigma `logsource` triple an event belongs to. A rule applies to an event when every
/// part the rule names equals the event's part (case-insensitively).
public struct LogSource: Hashable, Sendable, Codable, CustomStringConvertible {
    public var product: String?
    public var category: String?
    public var service: String?

    public init(product: String? = nil, category: String? = nil, service: String? = nil) {
        self.product = product?.lowercased()
        self.category = category?.lowercased()
        self.service = service?.lowercased()
    }

    /// Whether a rule declaring `self` applies to events of `source`.
    public func admits(_ source: LogSource) -> Bool {
        func ok(_ want: String?, _ have: String?) -> Bool { want == nil || want == have }
        return ok(product, source.product) && ok(category, source.category) && ok(service, source.service)
    }

    /// A short name for reports and exports: `exchange/httpproxy`, `iis/webserver`, `exhunt/evidence-file`.
    public var name: String {
        [product, service ?? category].compactMap { $0 }.joined(separator: "/")
    }

    public var description: String {
        [product.map { "product:\($0)" }, category.map { "category:\($0)" }, service.map { "service:\($0)" }]
            .compactMap { $0 }.joined(separator: " ")
    }

    // The log sources exhunt's readers produce. Documented in README ("Log sources").
    /// Exchange's front-end proxy, so Sigma `category: proxy` rules see it too.
    public static let httpProxy = LogSource(product: "exchange", category: "proxy", service: "httpproxy")
    public static let ecpServer = LogSource(product: "exchange", service: "ecp-server")
    public static let ecpActivity = LogSource(product: "exchange", service: "ecp-activity")
    public static let oabGenerator = LogSource(product: "exchange", service: "oabgenerator")
    public static let exchangeOther = LogSource(product: "exchange", service: "other")
    public static let iis = LogSource(product: "iis", category: "webserver")
    public static let evidenceFile = LogSource(product: "exhunt", category: "evidence-file")
}
