/// The places on a server where evidence lies, for the report's account of what was read there
/// and what was not. A file elsewhere is read when it is recognised, and not counted.
public enum EvidencePlace: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case httpProxy = "HttpProxy"
    case ecp = "ECP"
    case oabGenerator = "OABGeneratorLog"
    case exchangeLogs = "Exchange logs"
    case iis = "IIS logs"
    case winevt = "winevt"
    /// Exported Windows events, wherever they lie.
    case exports = "event exports"
    case webRoots = "web roots"
    case iisConfig = "IIS config"

    /// The log source whose coverage a file of this place counts in, where there is one: a
    /// family covered by it cannot be judged clean while such files go unread.
    public var logsource: LogSource? {
        switch self {
        case .httpProxy: .httpProxy
        case .ecp: .ecpServer
        case .oabGenerator: .oabGenerator
        case .iis: .iis
        case .winevt, .exports: LogSource(product: "windows")
        case .exchangeLogs, .webRoots, .iisConfig: nil
        }
    }

    public static func < (a: EvidencePlace, b: EvidencePlace) -> Bool {
        (allCases.firstIndex(of: a) ?? 0) < (allCases.firstIndex(of: b) ?? 0)
    }
}

/// A file that was not read, and why (unknown shape, damaged, over a limit, an event log cut to
/// its header, …): every file of an evidence place that goes unread, and a file recognised
/// elsewhere that exhunt does not read (a Windows Firewall log), so nothing is passed over in silence.
public struct UnreadFile: Codable, Sendable, Hashable {
    public var path: String
    /// Nil for a recognised file outside the evidence places: named, not counted.
    public var place: EvidencePlace?
    public var reason: String

    public init(path: String, place: EvidencePlace?, reason: String) {
        self.path = path
        self.place = place
        self.reason = reason
    }
}

/// How many files of one place were read and how many were not (`winevt: 41 read, 2 not read`).
public struct PlaceCount: Codable, Sendable, Hashable {
    public var place: EvidencePlace
    public var read: Int
    public var notRead: Int

    public init(place: EvidencePlace, read: Int, notRead: Int) {
        self.place = place
        self.read = read
        self.notRead = notRead
    }
}
