import Foundation
import HuntCore
import Findings
import Evidence
import YARA
import Indicators
import EventExports

/// What every worker of one hunt shares: the detection content, the sink, the pool and the
/// per-worker state for event-log chunks.
final class HuntContext: Sendable {
    let detectors: Detectors
    let sink: FindingsSink
    let factory: FindingFactory
    let pool: WorkerPool
    /// One per pool thread, indexed by the worker's number.
    let eventLogWorkers: [EventLogReader.EventLogWorker]
    let contentLimit: UInt64
    let scanAll: Bool
    let matchAddresses: Bool
    let hashing: Bool
    let keepClientAddresses: Bool

    init(detectors: Detectors, sink: FindingsSink, pool: WorkerPool, configuration: HuntConfiguration) {
        self.detectors = detectors
        self.sink = sink
        factory = FindingFactory(sink: sink, grouping: detectors.grouping, weights: detectors.weights, provenance: detectors.provenance)
        self.pool = pool
        eventLogWorkers = (0..<pool.count).map { _ in EventLogReader.EventLogWorker() }
        contentLimit = configuration.contentLimit
        scanAll = configuration.scanAll
        matchAddresses = configuration.matchAddresses
        hashing = configuration.hashFiles
        keepClientAddresses = configuration.keepClientAddresses
    }
}

/// Reads one file once, front to back (ripgrep's search worker): its first bytes decide what it
/// is (`ArtifactKind`), where it lies and what it is decide what to do with it (`ReadPlan`), and
/// the rest of the same read goes to that kind's reader. One per worker thread: it owns an
/// `EvidenceReader` and a YARA scanner.
final class FileProcessor: @unchecked Sendable {
    private let context: HuntContext
    private let reader: EvidenceReader
    private let yara: YaraScanner?
    private let worker: Int

    private enum Consumer {
        case log(LogReader)
        case eventLog(EventLogReader)
        case eventExport(ExportedEventReader)
        case file(FileCheck)
    }

    init(context: HuntContext, reader: EvidenceReader, worker: Int) {
        self.context = context
        self.reader = reader
        self.worker = worker
        yara = context.detectors.yara.flatMap { try? YaraScanner(rules: $0) }
    }

    /// When the change journal saw the file deleted, as words for a message ("" when it did not).
    static func when(_ item: EvidenceItem) -> String {
        item.journal?.deleted.map { " at " + ISOTime.string($0) } ?? ""
    }

    func process(_ item: EvidenceItem) {
        let scanAll = context.scanAll
        // A log deleted on the server (an intruder clearing IIS logs leaves exactly this): named, so
        // a gap in coverage has its reason; read where its entry was not reused.
        if item.deleted, ReadPlan.isLogLocation(item.location) || item.location == .eventLogFolder {
            let message = if item.notCollected {
                "a log file deleted on the server\(Self.when(item)), named by the collection's \(item.namedBy ?? "NTFS metadata"); its content is not in the collection"
            } else if item.reallocated {
                "a log file deleted on the server; its MFT entry now belongs to another file, so its content is gone"
            } else if let taken = item.clustersInUse, taken > 0 {
                "a log file deleted on the server\(Self.when(item)), read from its MFT entry; \(taken) of its clusters now belong to other files, so lines read there may be theirs"
            } else {
                "a log file deleted on the server\(Self.when(item)), read from its MFT entry: its lines are those its clusters still hold"
            }
            context.sink.add([Problem(.warning, code: "deleted-log", message: message, path: item.path)])
        }
        // A deleted file whose MFT entry another file took, or one only the NTFS metadata names:
        // only its name is known, and the rules on names and places judge it.
        guard item.hasContent, ReadPlan.needsHead(item, scanAll: scanAll) else {
            FileCheck(item, content: false, streamHash: false, context: context).finish(hashes: nil, reader: reader, yara: yara)
            if let place = item.location.place { context.sink.add(read: place) }
            return
        }
        let contentFile = ReadPlan.isContentLocation(item.location) || scanAll
        // Web files are always hashed: indicator lists need their hashes.
        let hash = context.hashing || contentFile
        let legacy = contentFile && context.detectors.indicators.needsLegacyHashes
        // Old logs compressed in place are read through inflation; the hash is of the stored bytes.
        let inflate = ReadPlan.isInflated(item)
        var held: [UInt8] = []
        var consumer: Consumer?
        var unread: String?

        func start() {
            let kind = ArtifactKind.classify(Array(held.prefix(ArtifactKind.headLength)), size: inflate ? 0 : item.size,
                                             shapes: context.detectors.exportShapes, folder: item.location.logFolder)
            var plan = ReadPlan.decide(item, kind, scanAll: scanAll, contentLimit: context.contentLimit)
            if inflate, case .file = plan {
                plan = .file(content: false, note: Problem(.warning, code: "not-a-log",
                                                           message: "compressed content that is not a log; not scanned", path: item.path))
            }
            unread = ReadPlan.unreadReason(item, kind, plan, contentLimit: context.contentLimit)
            switch plan {
            case .log(let format, let extract):
                consumer = .log(LogReader(item, format: format, extract: extract, context: context))
            case .eventLog:
                consumer = .eventLog(EventLogReader(item, context: context, worker: worker))
            case .eventExport(let format, let utf16):
                consumer = .eventExport(ExportedEventReader(item, format: format, utf16: utf16, context: context, worker: worker))
            case .file(let content, let note):
                if let note { context.sink.add([note]) }
                let streamHash = contentFile && !content && !inflate && item.size > context.contentLimit
                consumer = .file(FileCheck(item, content: content, streamHash: streamHash, context: context))
            }
        }
        func feed(_ chunk: UnsafeRawBufferPointer) -> Bool {
            switch consumer {
            case .log(let r): r.feed(chunk); return true
            case .eventLog(let r): r.feed(chunk); return true
            case .eventExport(let r): r.feed(chunk); return true
            case .file(let c): return c.feed(chunk)
            case nil: return true
            }
        }
        /// Holds the first bytes back until there are enough to classify, then feeds them on.
        func take(_ chunk: UnsafeRawBufferPointer) -> Bool {
            guard consumer == nil else { return feed(chunk) }
            held.append(contentsOf: chunk)
            guard held.count >= ArtifactKind.headLength || (!inflate && UInt64(held.count) >= item.size) else { return true }
            start()
            let more = held.withUnsafeBytes { feed($0) }
            held = []
            return more
        }

        var result: EvidenceReader.Result?
        var failure: String?
        do {
            if inflate {
                let r = try reader.readInflated(item) { take($0) }
                if r.truncated {
                    context.sink.add([Problem(.warning, code: "truncated-gzip",
                                              message: "gzip data ends before its stream does, after \(r.inflated) bytes", path: item.path)])
                }
                result = r.result
            } else {
                result = try reader.read(item, hash: hash, legacyHashes: legacy) { take($0) }
            }
        } catch {
            context.sink.add([Problem(.error, code: "unreadable", message: "\(error)", path: item.path)])
            failure = "could not be read: \(error)"
        }
        if consumer == nil {
            // Shorter than a head (or empty): what was read is all there is.
            start()
            _ = held.withUnsafeBytes { feed($0) }
        }
        switch consumer {
        case .log(let r):
            r.finish()
            manifest(item, result)
        case .eventLog(let r):
            r.finish()
            manifest(item, result)
        case .eventExport(let r):
            unread = r.finish()
            manifest(item, result)
        case .file(let c):
            c.finish(hashes: result, reader: reader, yara: yara)
        case nil:
            break
        }
        // Exported events count wherever they lie.
        var place = item.location.place
        if case .eventExport = consumer, place == nil { place = .exports }
        // A read failure outside the places is already an `unreadable` problem; inside, it also
        // counts against the place.
        if let why = place == nil ? unread : failure ?? unread {
            context.sink.add(unread: UnreadFile(path: item.path, place: place, reason: why))
        } else if let place {
            context.sink.add(read: place)
        }
    }

    private func manifest(_ item: EvidenceItem, _ result: EvidenceReader.Result?) {
        guard let result else { return }
        context.sink.add(ManifestEntry(path: item.path, size: item.size, sha256: result.sha256,
                                       bytesRead: result.bytesRead, modified: item.lastWritten, timeSource: item.timeSource.rawValue,
                                       entry: item.entry, fileSystemTimes: item.fileSystemTimes, deleted: item.deleted))
    }
}
