import Foundation
import HuntCore
import Evidence
import Sigma
import YARA
import Indicators
import Findings
import Baselines

/// Checks one file of the evidence: its path and name against the file rules and the indicator
/// lists, and, when its content is read, the content against the rules, YARA and the hash lists.
/// Content is held only up to the content limit; a larger file is hashed as it streams past.
final class FileCheck {
    private let item: EvidenceItem
    private let context: HuntContext
    private let readContent: Bool
    /// Read to the end for the hash only: a file where content is checked, but too large to be.
    private let streamHash: Bool
    private var content: [UInt8] = []

    init(_ item: EvidenceItem, content: Bool, streamHash: Bool, context: HuntContext) {
        self.item = item
        self.context = context
        readContent = content
        self.streamHash = streamHash
        if content { self.content.reserveCapacity(Int(min(item.size, context.contentLimit))) }
        if streamHash {
            // Padding a web shell past the limit must not hide it without a word.
            context.sink.add([Problem(.warning, code: "not-content-scanned",
                                      message: "not content-scanned: \(Self.mebibytes(item.size)) is over --max-file-size "
                                          + "(\(Self.mebibytes(context.contentLimit))); hashed and checked by name only",
                                      path: item.path)])
        }
    }

    /// Takes the next bytes; false when the check needs no more of them.
    func feed(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if readContent {
            // Never more than the limit, whatever the listing said the size was.
            let room = max(0, Int(min(context.contentLimit, UInt64(Int.max))) - content.count)
            content.append(contentsOf: chunk.prefix(room))
        }
        return readContent || streamHash
    }

    /// The `evidence-file` event of a file: where it is and what it is called, before anything is
    /// known of its content.
    static func event(for item: EvidenceItem) -> Event {
        var event = Event(source: .evidenceFile, timestamp: item.lastWritten,
                          location: EvidenceLocation(path: item.path), raw: item.windowsPath)
        event.set("Path", item.windowsPath)
        event.set("RelativePath", item.path)
        event.set("Name", item.name)
        event.set("Extension", item.fileExtension)
        event.set("Size", String(item.size))
        event.set("Location", Self.locationName(item.location))
        return event
    }

    /// The kind of web folder a file lies in: Exchange's own folders and `aspnet_client` (the
    /// baselines say what belongs there), or any other site's; nil outside web folders and for
    /// ASP.NET's compilation cache.
    static func webPlace(_ item: EvidenceItem) -> WebPlace? {
        guard item.location == .webRoot else { return nil }
        let p = "\\" + item.windowsPath.lowercased()
        if p.contains("\\temporary asp.net files\\") { return nil }
        if ExchangeBaselines.relativePath(ofWindowsPath: item.windowsPath) != nil
            || ["\\aspnet_client\\", "\\owa\\auth\\", "\\ecp\\auth\\", "\\exchange server\\v15\\"].contains(where: p.contains) {
            return .exchangeWeb
        }
        return .otherSite
    }

    /// The installed build as Exchange's setup program or one of its libraries says it (the file
    /// version of its version resource), for the baselines and the build's verdict reasons.
    func noteBuild(_ content: [UInt8]) {
        switch PEVersion.parse(content) {
        case .success(let v):
            guard let build = ExchangeBaselines.build(v.file) else { return }
            context.sink.add(build: build, first: nil, last: nil)
        case .failure(let why):
            // Exchange's setup program always has one: say what was not read, so a missing build is explained.
            guard item.name.lowercased() == "exsetup.exe" else { return }
            context.sink.add([Problem(.warning, code: "pe-version", message: "the installed build could not be read from ExSetup.exe: \(why)",
                                      path: item.path)])
        }
    }

    static func mebibytes(_ n: UInt64) -> String {
        n >= 1 << 20 ? "\(n >> 20) MiB" : "\(n) bytes"
    }

    /// The end of the read: `hashes` when the whole file was hashed.
    func finish(hashes: EvidenceReader.Result?, reader: EvidenceReader, yara: YaraScanner?) {
        let detectors = context.detectors
        var event = Self.event(for: item)
        // Deleted files of a disk image (found by their names in their folders' indexes).
        event.set("Deleted", item.deleted ? "true" : "false")
        // NTFS's two records of a file's times (disk images): a creation time in
        // $STANDARD_INFORMATION earlier than the one the kernel wrote in $FILE_NAME is what setting
        // times back leaves (as is a copy that kept the original's); whole seconds in both SI times
        // are what tools that set times write.
        event.set("NotCollected", item.notCollected ? "true" : "false")
        if let taken = item.clustersInUse { event.set("ClustersInUse", String(taken)) }
        // One of Exchange's own pages in its own folder (Rules/known-good).
        event.set("KnownGood", detectors.isKnownGood(item.windowsPath) ? "true" : "false")
        // Exchange's web folders, or another site's: the verdict policy weighs matches by where they are.
        if let place = Self.webPlace(item) { event.set("WebPlace", place.rawValue) }
        // What the server's file system recorded of a file that is gone or was not collected,
        // in words for the finding ("created …, deleted … (change journal)").
        if item.deleted || item.notCollected || item.journal != nil { event.set("History", Self.history(item)) }
        // A file of a volume shadow copy that the live volume does not hold as it was.
        if let copy = item.shadowCopy {
            event.set("ShadowCopy", copy.created.map { ISOTime.string($0) } ?? "store \(copy.store)")
            event.set("LiveVolume", copy.live.rawValue)
        }
        if let j = item.journal {
            if let t = j.created { event.set("JournalCreated", ISOTime.string(t)) }
            if let t = j.deleted { event.set("JournalDeleted", ISOTime.string(t)) }
            event.set("JournalReasons", j.reasons)
        }
        if let t = item.fileSystemTimes {
            let before = t.created.flatMap { si in t.nameCreated.map { si.addingTimeInterval(1) < $0 } } ?? false
            event.set("CreatedBeforeName", before ? "true" : "false")
            let whole = [t.created, t.modified].allSatisfy { $0.map { $0.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) == 0 } ?? false }
            event.set("WholeSecondTimes", whole ? "true" : "false")
        }
        let fileRules = detectors.rules(for: .evidenceFile)
        var found: [(key: String, rule: SigmaRule?, finding: Finding)] = []
        var yaraMatches: [YaraMatch] = []
        if readContent {
            if ReadPlan.tellsBuild(item) { noteBuild(content) }
            if fileRules.contains(where: { $0.reads("Content") }) { event.set("Content", Self.text(content)) }
            if let yara {
                do {
                    yaraMatches = try content.withUnsafeBytes {
                        try yara.scan($0, externals: ["filename": item.name, "filepath": item.windowsPath,
                                                      "extension": item.fileExtension.isEmpty ? "" : "." + item.fileExtension,
                                                      "filetype": FindingFactory.fileType(content), "owner": ""])
                    }
                } catch {
                    context.sink.add([Problem(.warning, code: "yara", message: "\(error)", path: item.path)])
                }
            }
            content = []
        }
        var hashes = hashes
        if let sha = hashes?.sha256 { event.set("SHA256", sha) }
        for rule in fileRules where rule.matches(event) {
            found.append((rule.identity, rule, context.factory.finding(rule, event)))
        }
        for m in yaraMatches { found.append(("yara\u{1}\(m.source)\u{1}\(m.rule)", nil, context.factory.yaraFinding(m, event))) }
        var hashHit = false
        for (kind, value) in [(Indicator.Kind.sha256, hashes?.sha256), (.sha1, hashes?.sha1), (.md5, hashes?.md5)] {
            guard let value else { continue }
            for hit in detectors.indicators.lookup(kind, value) {
                hashHit = true
                found.append(("ioc\u{1}\(kind.rawValue)", nil,
                              context.factory.indicatorFinding(hit, matched: "\(kind.rawValue.uppercased()) \(value)", severity: .critical, event)))
            }
        }
        let nameHits = detectors.indicators.matchFile(windowsPath: item.windowsPath)
        // A published name or path that is one of Exchange's own pages, in its own folder, is
        // only reported with other evidence about the file (hash, content).
        if !nameHits.isEmpty && (!detectors.isKnownGood(item.windowsPath) || hashHit || !yaraMatches.isEmpty) {
            for hit in nameHits {
                found.append(("ioc\u{1}\(hit.kind.rawValue)", nil,
                              context.factory.indicatorFinding(hit, matched: "\(hit.kind.rawValue) \(hit.value)", severity: .high, event)))
            }
        }
        // (Not a deleted file whose entry another file took: its bytes are that file's.)
        if hashes?.sha256 == nil, item.hasContent, found.contains(where: { $0.finding.severity >= .low }) {
            // A flagged file is worth its hash even when its content is not otherwise read.
            hashes = try? reader.read(item, hash: true, { _ in true })
        }
        if let hashes, hashes.sha256 != nil || readContent {
            context.sink.add(ManifestEntry(path: item.path, size: item.size, sha256: hashes.sha256,
                                           bytesRead: hashes.bytesRead, modified: item.lastWritten,
                                           timeSource: item.timeSource.rawValue, entry: item.entry, fileSystemTimes: item.fileSystemTimes,
                                           deleted: item.deleted))
        }
        for (key, rule, finding) in found {
            var f = finding
            f.evidence.sha256 = hashes?.sha256
            f.evidence.size = item.size
            f.evidence.modified = item.lastWritten
            context.factory.record(key, rule, event) { f }
        }
    }

    /// "created 2021-03-03T04:11:00Z, last written …, deleted … (change journal); MFT entry 41":
    /// the times the file system kept of a deleted or uncollected file, each named by its source.
    static func history(_ item: EvidenceItem) -> String {
        var parts: [String] = []
        if let j = item.journal {
            var words: [String] = []
            if let t = j.created { words.append("created \(ISOTime.string(t))") }
            if let t = j.lastWritten { words.append("last written \(ISOTime.string(t))") }
            if let t = j.deleted { words.append("deleted \(ISOTime.string(t))") }
            if !j.formerNames.isEmpty { words.append("formerly named \(j.formerNames.joined(separator: ", "))") }
            if !words.isEmpty { parts.append(words.joined(separator: ", ") + " (change journal)") }
        }
        if let t = item.fileSystemTimes {
            var words: [String] = []
            if let c = t.created { words.append("created \(ISOTime.string(c))") }
            if let m = t.modified { words.append("modified \(ISOTime.string(m))") }
            if item.deleted, let ch = t.changed { words.append("entry last changed \(ISOTime.string(ch))") }
            if !words.isEmpty { parts.append(words.joined(separator: ", ") + " (MFT)") }
        }
        if let e = item.entry, item.namedBy != "$J" { parts.append("MFT entry \(e)") }
        if let taken = item.clustersInUse {
            parts.append(taken == 0 ? "its clusters are not in use by another file" : "\(taken) of its clusters now belong to other files: content read there may be theirs")
        } else if item.deleted, item.hasContent {
            parts.append("whether its clusters now belong to other files could not be told: content read may not be its own")
        }
        if item.notCollected { parts.append("not in the collection; named by its \(item.namedBy ?? "NTFS metadata")") }
        return parts.isEmpty ? "no times recorded" : parts.joined(separator: "; ")
    }

    static func locationName(_ l: ArtifactLocation) -> String {
        switch l {
        case .webRoot: "webroot"
        case .dumpFolder: "dumpfolder"
        case .programData: "programdata"
        case .serverConfig: "serverconfig"
        default: "other"
        }
    }

    /// Text for content rules: UTF-16 when the file says so with a BOM, else lossy UTF-8.
    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xFE {
            let units = stride(from: 2, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
            return String(decoding: units, as: UTF16.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
