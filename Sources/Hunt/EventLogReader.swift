import Foundation
import HuntCore
import Evidence
import EVTX
import Sigma
import WindowsEvents
import Findings
import Indicators

/// Reads one Windows event log into events as its bytes arrive: a batch of chunks at a time,
/// parsed and matched on the pool's workers (chunks are independent), so one big Security.evtx
/// does not keep the other workers idle.
final class EventLogReader {
    private let item: EvidenceItem
    private let context: HuntContext
    private let worker: Int
    private var pending: [UInt8] = []
    private var skippedHeader = false
    private var chunkIndex = 0
    private var count = 0
    private var earliest: Date?
    private var latest: Date?
    private var channel: String?
    /// The `Computer` of each chunk's first record, weighed by the chunk's records.
    private var computers: [String: Int] = [:]
    private let batchChunks: Int

    init(_ item: EvidenceItem, context: HuntContext, worker: Int) {
        self.item = item
        self.context = context
        self.worker = worker
        batchChunks = 16 * context.pool.count
    }

    func feed(_ data: UnsafeRawBufferPointer) {
        pending.append(contentsOf: data)
        if !skippedHeader {
            guard pending.count >= EVTXFile.headerSize else { return }
            let problems = pending.withUnsafeBytes { EVTXFile.fileHeaderProblems(UnsafeRawBufferPointer(rebasing: $0[0..<EVTXFile.headerSize])) }
            context.sink.add(problems.map { Problem(.warning, code: "evtx", message: $0.description, path: item.path, offset: UInt64($0.offset)) })
            pending.removeFirst(EVTXFile.headerSize)
            skippedHeader = true
        }
        if pending.count >= batchChunks * EVTXFile.chunkSize { flush(final: false) }
    }

    func finish() {
        if skippedHeader { flush(final: true) }
        context.sink.add(Coverage(source: "EventLog/\(channel ?? item.name)", files: 1, lines: count, bytes: item.size,
                                  earliest: earliest, latest: latest))
        for (name, n) in computers { context.sink.add(hostName: name, from: "event log Computer", weight: n) }
    }

    private func flush(final: Bool) {
        let chunkSize = EVTXFile.chunkSize
        var n = pending.count / chunkSize
        if final, pending.count % chunkSize >= EVTXFile.chunkHeaderSize { n += 1 }
        guard n > 0 else { return }
        let first = chunkIndex
        var batch = [ChunkYield](repeating: ChunkYield(), count: n)
        let context = context
        let path = item.path
        pending.withUnsafeBytes { raw in
            batch.withUnsafeMutableBufferPointer { out in
                // Item i reads chunk i of `raw` and writes slot i of `out`; each worker uses only its own state.
                nonisolated(unsafe) let raw = raw, out = out
                context.pool.parallel(n, from: worker) { w, i in
                    let range = i * chunkSize..<min(raw.count, (i + 1) * chunkSize)
                    out[i] = Self.scanChunk(UnsafeRawBufferPointer(rebasing: raw[range]), index: first + i,
                                            fileOffset: EVTXFile.headerSize + (first + i) * chunkSize, path: path,
                                            context: context, worker: context.eventLogWorkers[w])
                }
            }
        }
        for y in batch {
            count += y.count
            if channel == nil { channel = y.channel }
            if let c = y.computer, computers.count < 100 || computers[c] != nil { computers[c, default: 0] += y.count }
            if let t = y.earliest, earliest.map({ t < $0 }) ?? true { earliest = t }
            if let t = y.latest, latest.map({ t > $0 }) ?? true { latest = t }
        }
        chunkIndex += n
        pending.removeFirst(min(pending.count, n * chunkSize))
    }

    /// What one chunk of an event log yields besides its findings and problems.
    struct ChunkYield {
        var count = 0
        var earliest: Date?
        var latest: Date?
        var channel: String?
        var computer: String?

        /// Counts one event: its time, and the channel and computer of the first.
        mutating func note(_ fields: EVTXFields) {
            count += 1
            if channel == nil { channel = fields.fields.first { $0.name == "Channel" }?.value }
            if computer == nil { computer = fields.fields.first { $0.name == "Computer" }?.value }
            if let t = fields.time {
                if earliest.map({ t < $0 }) ?? true { earliest = t }
                if latest.map({ t > $0 }) ?? true { latest = t }
            }
        }
    }

    /// What one worker keeps while it hunts an event log, chunk after chunk: the EVTX cache, the
    /// classifications of the events it has seen, its rule indexes and scratch. Used by one worker
    /// at a time.
    final class EventLogWorker: @unchecked Sendable {
        let cache = EVTXCache()
        let classifications = WindowsEventMapping.ClassificationCache()
        /// Per source: its rule index, and whether a rule applies only to events carrying its filter fields.
        var indexBySource: [LogSource: (index: RuleIndex, onlyCarried: Bool)] = [:]
        var candidates: [Int32] = []
    }

    /// Parses one chunk and matches its events; runs on any thread (the worker's state is its own).
    static func scanChunk(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, path: String,
                          context: HuntContext, worker: EventLogWorker) -> ChunkYield {
        var y = ChunkYield()
        let (records, chunkProblems) = EVTXFile.fields(chunk, index: index, fileOffset: fileOffset, cache: worker.cache)
        context.sink.add(chunkProblems.prefix(20).map {
            Problem(.warning, code: "evtx", message: $0.description, path: path, offset: UInt64($0.offset))
        })
        for r in records {
            y.note(r.fields)
            match(r.fields, id: r.id, location: EvidenceLocation(path: path, offset: UInt64(r.offset), record: r.id),
                  context: context, worker: worker)
        }
        return y
    }

    /// Matches one Windows event (from an event log or an export) against the rules of every log
    /// source it belongs to: the one path from a Windows event to findings.
    static func match(_ fields: EVTXFields, id: UInt64?, location: EvidenceLocation, context: HuntContext, worker: EventLogWorker) {
        let detectors = context.detectors
        let factory = context.factory
        let (event, sources) = detectors.windowsEvents.event(fields, id: id, location: location, cache: worker.classifications)
        // Every value of the event, for the rules' literal gates.
        let text = fields.text + "\u{1}" + fields.fields.map(\.value).joined(separator: "\u{1}") + (id.map { "\u{1}\($0)" } ?? "")
        // An event of several log sources (Sysmon 13 is registry_event and registry_set) is
        // matched under each, but a rule that covers more than one of them fires once.
        var fired: Set<ObjectIdentifier> = []
        for source in sources {
            let (index, onlyCarried): (RuleIndex, Bool)
            if let known = worker.indexBySource[source] { (index, onlyCarried) = known } else {
                (index, onlyCarried) = (detectors.index(for: source), detectors.windowsEvents.limits[source]?.onlyCarriedFields ?? false)
                worker.indexBySource[source] = (index, onlyCarried)
            }
            var e = event
            e.source = source
            index.forEachMatch(text: text, event: e, scratch: &worker.candidates) { rule in
                // A mapped source's event that lacks a field the rule filters on is not the rule's
                // to judge: the filter could not exclude it.
                if onlyCarried, !rule.negatedFieldNames.allSatisfy({ e.value(lowercased: $0) != nil }) { return }
                if sources.count == 1 || fired.insert(ObjectIdentifier(rule)).inserted { factory.record(rule, e) }
            }
        }
    }
}
