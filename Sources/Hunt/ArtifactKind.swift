import Foundation
import HuntCore
import ExchangeLogs
import EVTX
import Evidence
import EventExports

/// What a file is, decided once from its first bytes (never from its name): the one
/// classification every reader and report relies on.
enum ArtifactKind: Equatable {
    /// A Windows event log (`ElfFile` signature).
    case eventLog
    /// The start of an event log without a whole chunk (a log cut to its header).
    case truncatedEventLog
    /// Windows events exported as JSON or XML (`UTF16Order` when the file is UTF-16).
    case eventExport(ExportFormat, UTF16Order?)
    /// JSON that holds no Windows events in a known shape, and why.
    case otherJSON(String)
    /// A text log in one of the formats `LogFormat` knows (plain text included).
    case log(LogFormat)
    /// ASP.NET markup: a page, whatever its name.
    case webPage
    /// A zip archive (a collection inside the collection, a staged exfiltration archive).
    case archive
    /// Anything else that is not text.
    case binary

    /// How many leading bytes `classify` wants (fewer when the file is shorter).
    static let headLength = LogFormat.sniffLength

    static func classify(_ head: [UInt8], size: UInt64, shapes: ExportShapes, folder: LogFolder?) -> ArtifactKind {
        // (An inflated file's size is given as 0: unknown.)
        if EVTXFile.isEVTX(head.prefix(8)), size > 0 {
            return size >= UInt64(EVTXFile.headerSize + EVTXFile.chunkHeaderSize) ? .eventLog : .truncatedEventLog
        }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .archive }
        switch shapes.sniff(head) {
        case .events(let format, let utf16): return .eventExport(format, utf16)
        case .otherJSON(let why): return .otherJSON(why)
        case nil: break
        }
        let format = LogFormat.sniff(head, folder: folder)
        // A page that names itself a log is still a page; a log that quotes a page is a log (it
        // starts with a timestamp).
        if format == nil || format == .text, FindingFactory.looksLikeWebPage(head), Timestamp.find(in: head.prefix(64)) == nil {
            return .webPage
        }
        guard let format else { return .binary }
        return .log(format)
    }
}

extension ArtifactLocation {
    /// The log folder a file lies in, where its schema is known.
    var logFolder: LogFolder? {
        switch self {
        case .httpProxyLog: .httpProxy
        case .ecpServerLog: .ecpServer
        case .ecpActivityLog: .ecpActivity
        case .oabGeneratorLog: .oabGenerator
        case .iisLog(let site): site.hasPrefix("FTPSVC") ? .iisFTP : .iisWeb
        default: nil
        }
    }
}

/// What the hunt does with one file: decided from where it lies (`ArtifactLocation`) and what it
/// is (`ArtifactKind`), in one place.
enum ReadPlan: Equatable {
    /// Read it as a log of this format; `extract` marks Export-Csv output (rows someone chose).
    case log(LogFormat, extract: Bool)
    case eventLog
    case eventExport(ExportFormat, UTF16Order?)
    /// Check the file: its name and path always; its content (rules, YARA, hashes) if `content`.
    /// `note` is a problem to report with it (a page under a log's name).
    case file(content: Bool, note: Problem?)

    /// Locations whose files are always content-checked (up to the size limit).
    static func isContentLocation(_ l: ArtifactLocation) -> Bool {
        switch l {
        case .webRoot, .dumpFolder, .programData, .serverConfig: true
        default: false
        }
    }

    static func isLogLocation(_ l: ArtifactLocation) -> Bool {
        switch l {
        case .httpProxyLog, .ecpServerLog, .ecpActivityLog, .oabGeneratorLog, .iisLog, .exchangeLog: true
        default: false
        }
    }

    /// Extensions under which logs and exports are read outside Exchange's and IIS's folders.
    static let logExtensions: Set<String> = ["log", "csv", "txt", "gz", "json", "jsonl", "ndjson", "xml"]

    /// Compressed files read through inflation: logs and exported events compressed in place.
    static func isInflated(_ item: EvidenceItem) -> Bool {
        guard item.fileExtension == "gz" else { return false }
        if isLogLocation(item.location) { return true }
        let name = item.name.lowercased()
        return [".log.gz", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".xml.gz"].contains(where: name.hasSuffix)
    }

    /// Exchange's setup program, whose version resource is the installed build (`V15\Bin\ExSetup.exe`),
    /// and Exchange's own libraries in its web folders' `bin`: read wherever they lie.
    static func tellsBuild(_ item: EvidenceItem) -> Bool {
        let name = item.name.lowercased()
        return name == "exsetup.exe" || (name.hasPrefix("microsoft.exchange.") && item.fileExtension == "dll" && item.location == .webRoot)
    }

    /// Whether the hunt needs to look at the file's bytes at all: a file it will only check by
    /// name and path, and that cannot be an event log, is not opened.
    static func needsHead(_ item: EvidenceItem, scanAll: Bool) -> Bool {
        if isLogLocation(item.location) || isContentLocation(item.location) || item.location == .eventLogFolder || scanAll { return true }
        if tellsBuild(item) { return true }
        if logExtensions.contains(item.fileExtension) { return true }
        return item.size >= UInt64(EVTXFile.headerSize + EVTXFile.chunkHeaderSize)
    }

    static func decide(_ item: EvidenceItem, _ kind: ArtifactKind, scanAll: Bool, contentLimit: UInt64) -> ReadPlan {
        let fits = item.size <= contentLimit
        if kind == .eventLog { return .eventLog }
        // Exported events are read by their content wherever they lie.
        if case .eventExport(let format, let utf16) = kind { return .eventExport(format, utf16) }
        let location = item.location
        if case .log(.firewall) = kind { return .file(content: false, note: nil) }
        if isLogLocation(location) {
            switch kind {
            case .log(let format): return .log(format, extract: LogFormat.isExport(format))
            // Old logs zipped in place: the zip's files are listed and read as files of their own.
            case .archive: return .file(content: false, note: nil)
            case .webPage:
                return .file(content: fits, note: Problem(.warning, code: "disguised-file",
                                                          message: "web page content in a file named like a log", path: item.path))
            default:
                return .file(content: false, note: Problem(.warning, code: "not-a-log",
                                                           message: "binary content where a log was expected; not scanned", path: item.path))
            }
        }
        if isContentLocation(location) || tellsBuild(item) { return .file(content: fits, note: nil) }
        // Elsewhere: logs by their format where their name says they are logs or exports.
        // Plain text named .log outside Exchange's folders is not a log exhunt knows.
        if case .log(let format) = kind, format != .text, logExtensions.contains(item.fileExtension) {
            return .log(format, extract: LogFormat.isExport(format))
        }
        if kind == .webPage, logExtensions.contains(item.fileExtension), item.fileExtension != "gz" {
            return .file(content: fits, note: Problem(.warning, code: "disguised-file",
                                                      message: "web page content in a file named like a log", path: item.path))
        }
        return .file(content: scanAll && fits, note: nil)
    }

    /// Why a file goes unread under this plan, or nil when it is read (by a reader, or its content
    /// checked), or lies in no evidence place and is nothing exhunt recognises.
    static func unreadReason(_ item: EvidenceItem, _ kind: ArtifactKind, _ plan: ReadPlan, contentLimit: UInt64) -> String? {
        guard case .file(let content, _) = plan, !content else { return nil }
        // Recognised wherever it lies, and said, so a reader knows it was seen and set aside.
        if case .log(.firewall) = kind { return "a Windows Firewall log (packets, not web requests)" }
        guard item.location.place != nil else { return nil }
        switch kind {
        case .truncatedEventLog:
            return "an event log cut to its header (\(item.size) bytes, no whole chunk)"
        case .otherJSON(let why):
            return "JSON that holds no Windows events in a shape exhunt knows (\(why))"
        case .archive:
            // Its files are listed beside it and read as files of their own.
            return nil
        case .binary where isLogLocation(item.location):
            return "binary content where a log was expected (compressed, encrypted or damaged)"
        default:
            break
        }
        if isContentLocation(item.location), item.size > contentLimit {
            return "larger than the content limit (\(contentLimit >> 20) MiB, --max-file-size): checked by name, path and hash only"
        }
        if item.location == .eventLogFolder { return "not an event log (no ElfFile signature) and no export exhunt knows" }
        if isLogLocation(item.location) { return "not a log format exhunt reads" }
        return nil
    }
}
