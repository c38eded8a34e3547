/// Which detector made a finding, from which rule set, and about a file in which kind of web
/// folder: what the verdict policy looks at again once every file is read (a third-party match on
/// a page that Exchange shipped, or on a page that another signal also names).
public struct FindingOrigin: Codable, Sendable, Hashable {
    public enum Detector: String, Codable, Sendable, CaseIterable { case sigma, yara, indicator }

    public var detector: Detector
    /// From this exhunt's own `Rules/`, not from `--rules`, `--yara`, `--iocs` or downloaded sets.
    public var builtin: Bool
    /// For a finding about a file of a web folder: which kind.
    public var place: WebPlace?

    public init(detector: Detector, builtin: Bool, place: WebPlace? = nil) {
        self.detector = detector
        self.builtin = builtin
        self.place = place
    }
}

/// The two kinds of web folder the verdict policy tells apart.
public enum WebPlace: String, Codable, Sendable, CaseIterable {
    /// Exchange's own web folders (`FrontEnd\HttpProxy`, `ClientAccess`, their `bin` folders) and
    /// `aspnet_client`: Microsoft's baselines say what belongs there, so anything else is foreign.
    case exchangeWeb = "exchange-web"
    /// Any other IIS site's folder or web root, where ordinary applications keep their own pages.
    case otherSite = "other-site"
}
