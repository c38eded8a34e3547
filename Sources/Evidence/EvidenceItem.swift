public import Foundation
public import HuntCore

/// One file in an evidence collection.
public struct EvidenceItem: Sendable, Hashable {
    /// Path relative to the evidence root, `/`-separated, as the collection stores it.
    public var path: String
    /// The Windows path the file had on the server when the collection layout reveals it
    /// (`C:\Program Files\…` from KAPE's `C/…` or Velociraptor's `C%3A/…`), else the relative
    /// path with backslashes.
    public var windowsPath: String
    public var size: UInt64
    /// The copy's modification time, as the collection's file system has it.
    public var modified: Date?
    /// The original file's times on the server, when the collection tool recorded them (KAPE).
    public var sourceCreated: Date?
    public var sourceModified: Date?

    /// Where `sourceModified` came from, or, without it, what `modified` is.
    public var timeSource: FileTimeSource

    /// For a file inside a zip that lies in a folder collection (old logs an administrator
    /// zipped): that zip's path. `path` is then the zip's path, `/`, and the entry's path.
    public var container: String?

    /// For a file of a disk image: its volume (1-based) and MFT entry (inode) number, by which it
    /// is read, and the file system's own times.
    public var volume: Int?
    public var entry: UInt64?
    public var fileSystemTimes: FileSystemTimes?
    /// A deleted file of a disk image, found by its name in its folder's index. Its content is
    /// its last as far as its clusters were not reused; `reallocated` when its MFT entry belongs
    /// to another file now (then only its name is known, and nothing is read).
    public var deleted = false
    public var reallocated = false
    /// For a deleted file read from an image: how many of its clusters other files hold now
    /// (what is read there is theirs); nil when not told.
    public var clustersInUse: Int?
    /// Named only by the server's NTFS metadata that a collection carries (its `$MFT` or change
    /// journal): the file is not in the evidence, so nothing of it can be read; `namedBy` says which.
    public var notCollected = false
    public var namedBy: String?
    /// What the change journal (`$J`) recorded of the file, where it did.
    public var journal: JournalFacts?
    /// For a file of a volume shadow copy: which copy, and how the live volume differs.
    public var shadowCopy: ShadowCopyFacts?
    /// The URL path an IIS site serves the file at (`/uploads/x.aspx`), from `applicationHost.config`;
    /// nil where the evidence holds no configuration or the file is in no site's folder.
    public var webURL: String?

    /// Whether the file's bytes can be read from the evidence.
    public var hasContent: Bool { !reallocated && !notCollected }

    /// The best known time the file was last written on the server.
    public var lastWritten: Date? { sourceModified ?? modified }
    public var location: ArtifactLocation

    /// The file name (last path component).
    public let name: String
    /// The lowercased extension without the dot, or "".
    public let fileExtension: String

    init(path: String, size: UInt64, modified: Date?, timeSource: FileTimeSource = .collectionFileSystem, container: String? = nil,
         windowsPath: String? = nil) {
        self.path = path
        self.container = container
        self.timeSource = timeSource
        self.windowsPath = windowsPath ?? WindowsPath.from(relative: path)
        self.size = size
        self.modified = modified
        self.location = ArtifactLocation.classify(self.windowsPath)
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        self.name = name
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            fileExtension = name[name.index(after: dot)...].lowercased()
        } else {
            fileExtension = ""
        }
    }
}

/// A file of a volume shadow copy that the live volume does not hold as it was.
public struct ShadowCopyFacts: Sendable, Hashable {
    public enum Live: String, Sendable, Hashable {
        /// No file at its path on the live volume.
        case absent
        /// A file at its path, with another size or modification time.
        case different
    }
    /// 1-based, oldest first.
    public var store: Int
    public var created: Date?
    public var live: Live
}

/// What NTFS's change journal recorded of a file: when it was created, last written and deleted,
/// and the names it had before a rename.
public struct JournalFacts: Sendable, Hashable {
    public var created: Date?
    public var lastWritten: Date?
    public var deleted: Date?
    public var formerNames: [String]
    /// The journal's reasons, all of its records together, in fsutil's words.
    public var reasons: String
}

/// Where a file's time comes from. Only the server's own record of it can date what happened on
/// the server; a copy's times are often the day of the copy.
public enum FileTimeSource: String, Codable, Sendable, Hashable {
    /// The original times KAPE wrote in its copy log.
    case kapeCopyLog = "kape-copy-log"
    /// A zip entry's NTFS extra field (0x000A): the original FILETIMEs, UTC.
    case zipNTFS = "zip-ntfs"
    /// A zip entry's extended-timestamp extra field (0x5455): seconds since 1970, UTC.
    case zipExtendedTimestamp = "zip-extended-timestamp"
    /// The collection's own file system: the server's time if the copy kept it, else the copy's.
    case collectionFileSystem = "collection"
    /// A zip entry's DOS time only: the zipping machine's local time, no zone.
    case zipDOSTime = "zip-dos-time"
    /// The server's own file system (NTFS's `$STANDARD_INFORMATION`), read from a disk image or
    /// from the `$MFT` a collection carries.
    case imageFileSystem = "file-system"
    /// NTFS's change journal (`$J`): when the file was last written, or created.
    case changeJournal = "change-journal"

    /// Whether the time is the server's by construction (a record the collection tool made of it).
    public var isServers: Bool {
        switch self {
        case .kapeCopyLog, .zipNTFS, .zipExtendedTimestamp, .imageFileSystem, .changeJournal: true
        case .collectionFileSystem, .zipDOSTime: false
        }
    }
}


/// Where on an Exchange server a file sat, which decides what exhunt does with it.
public enum ArtifactLocation: Sendable, Hashable {
    /// Under `Logging\HttpProxy\<protocol>\`.
    case httpProxyLog(protocolName: String)
    case ecpServerLog
    case ecpActivityLog
    case oabGeneratorLog
    /// IIS W3C logs, `W3SVC<n>` folder.
    case iisLog(site: String)
    /// Another folder under Exchange's `Logging`.
    case exchangeLog(folder: String)
    /// Where web shells were planted in 2021: aspnet_client, owa/ecp auth, wwwroot, OAB,
    /// the front-end and back-end web folders, Temporary ASP.NET Files.
    case webRoot
    /// `C:\root` and `Windows\Temp`, where LSASS dumps were left.
    case dumpFolder
    case programData
    /// IIS's own configuration (`Windows\System32\inetsrv\config`): server-wide URL Rewrite
    /// rules, such as the ProxyLogon and ProxyNotShell mitigations, live there.
    case serverConfig
    /// Windows' event logs (`Windows\System32\winevt\Logs`).
    case eventLogFolder
    case other

    /// The evidence place a file here belongs to, for the account of what was read.
    public var place: EvidencePlace? {
        switch self {
        case .httpProxyLog: .httpProxy
        case .ecpServerLog, .ecpActivityLog: .ecp
        case .oabGeneratorLog: .oabGenerator
        case .exchangeLog: .exchangeLogs
        case .iisLog: .iis
        case .webRoot: .webRoots
        case .serverConfig: .iisConfig
        case .eventLogFolder: .winevt
        case .dumpFolder, .programData, .other: nil
        }
    }

    public static func classify(_ windowsPath: String) -> ArtifactLocation {
        let p = "\\" + windowsPath.lowercased()
        let parts = windowsPath.split(separator: "\\").map(String.init)
        let lower = parts.map { $0.lowercased() }
        /// The folder name right after the folder sequence `marker`, in its original case.
        func component(after marker: [String]) -> String? {
            guard lower.count > marker.count else { return nil }
            for i in 0...(lower.count - marker.count - 1) where Array(lower[i..<i + marker.count]) == marker {
                return i + marker.count < parts.count - 1 ? parts[i + marker.count] : nil
            }
            return nil
        }
        if p.contains("\\logging\\httpproxy\\") {
            return .httpProxyLog(protocolName: component(after: ["logging", "httpproxy"]) ?? "")
        }
        if p.contains("\\logging\\ecp\\server\\") { return .ecpServerLog }
        if p.contains("\\logging\\ecp\\activity\\") { return .ecpActivityLog }
        if p.contains("\\logging\\oabgeneratorlog\\") { return .oabGeneratorLog }
        if let r = p.range(of: "\\w3svc") ?? p.range(of: "\\ftpsvc"), p.contains("\\logfiles\\") || p.contains("\\logs\\") {
            let site = p[r.lowerBound...].dropFirst().prefix { $0 != "\\" }
            return .iisLog(site: site.uppercased())
        }
        if p.contains("\\logging\\") {
            return .exchangeLog(folder: component(after: ["logging"]) ?? "Logging")
        }
        let webMarkers = ["\\aspnet_client\\", "\\inetpub\\wwwroot\\", "\\frontend\\httpproxy\\", "\\clientaccess\\",
                          "\\temporary asp.net files\\", "\\owa\\auth\\", "\\ecp\\auth\\", "\\exchange server\\v15\\frontend\\"]
        if webMarkers.contains(where: p.contains) { return .webRoot }
        if p.contains("\\inetsrv\\config\\") { return .serverConfig }
        if p.contains("\\winevt\\logs\\") { return .eventLogFolder }
        if p.hasPrefix("\\c:\\root\\") || p.hasPrefix("\\root\\") || p.contains("\\windows\\temp\\") { return .dumpFolder }
        if p.contains("\\programdata\\") { return .programData }
        return .other
    }
}
