import Foundation
import HuntCore
import Evidence
import EVTX
import EventExports
import Findings

/// Reads one file of exported Windows events (JSON or event XML) as its bytes arrive: split into
/// records by bytes, a batch of records parsed and matched on the pool's workers, each event as
/// the EVTX reader would have given it and matched by the same path (`EventLogReader.match`).
/// Memory is one batch, whatever the size of the export.
final class ExportedEventReader {
    private let item: EvidenceItem
    private let context: HuntContext
    private let worker: Int
    private let format: ExportFormat
    private let utf16: Bool
    private var splitter: ExportSplitter
    /// The records of the batch being gathered, back to back, and where each lies.
    private var bytes: [UInt8] = []
    private var records: [(range: Range<Int>, place: RecordPlace)] = []
    private var events = 0
    private var failed = 0
    private var problems: [Problem] = []
    private var channels: [String: (count: Int, earliest: Date?, latest: Date?)] = [:]
    private var computers: [String: Int] = [:]

    static let batchRecords = 2048
    static let batchBytes = 8 << 20
    static let problemsPerFile = 20
    /// Foundation's XMLParser keeps about 90 bytes for every XML error it reports (at most 8 per
    /// event, `XMLAsJSON`): a file of event XML stops being read after this many damaged events,
    /// so what a hostile file can make it keep stays bounded.
    static let damagedXMLLimit = 10_000
    private var gaveUp = false

    init(_ item: EvidenceItem, format: ExportFormat, utf16: UTF16Order?, context: HuntContext, worker: Int) {
        self.item = item
        self.context = context
        self.worker = worker
        self.format = format
        self.utf16 = utf16 != nil
        splitter = ExportSplitter(format: format, utf16: utf16)
    }

    func feed(_ chunk: UnsafeRawBufferPointer) {
        guard !gaveUp else { return }
        splitter.feed(chunk) { record, place in
            let start = bytes.count
            bytes.append(contentsOf: record)
            records.append((start..<bytes.count, place))
            if records.count >= Self.batchRecords || bytes.count >= Self.batchBytes { flush() }
        }
        if format == .xml, failed >= Self.damagedXMLLimit, !gaveUp {
            gaveUp = true
            problems.append(Problem(.warning, code: "export-abandoned",
                                    message: "\(failed) events were not well-formed XML: the rest of the file is not read", path: item.path))
        }
    }

    /// The end of the file: problems, coverage and the names the events give the host. Returns
    /// why the file counts as not read (no event in it could be read), or nil.
    func finish() -> String? {
        if !gaveUp { splitter.finish() }
        flush()
        for p in splitter.problems { note(p.message, line: p.line, offset: p.offset) }
        if failed > Self.problemsPerFile {
            problems.append(Problem(.warning, code: "export", message: "\(failed - Self.problemsPerFile) more record(s) could not be read as Windows events",
                                    path: item.path))
        }
        context.sink.add(problems)
        if events == 0 {
            context.sink.add(Coverage(source: "EventLog/(export)", files: 1, lines: 0, bytes: item.size))
            return "an export of Windows events (\(format == .json ? "JSON" : "XML")) in which no event could be read"
        }
        var first = true
        for (channel, c) in channels.sorted(by: { $0.key < $1.key }) {
            context.sink.add(Coverage(source: "EventLog/\(channel)", files: first ? 1 : 0, lines: c.count, bytes: first ? item.size : 0,
                                      earliest: c.earliest, latest: c.latest))
            first = false
        }
        for (name, n) in computers { context.sink.add(hostName: name, from: "event log Computer", weight: n) }
        return nil
    }

    private func note(_ message: String, line: Int?, offset: UInt64?) {
        failed += 1
        guard failed <= Self.problemsPerFile else { return }
        problems.append(Problem(.warning, code: "export", message: message, path: item.path, line: line, offset: utf16 ? nil : offset))
    }

    /// What one record gave: an event's yield, or why it gave none.
    private struct Outcome {
        var channel: String?
        var computer: String?
        var time: Date?
        var error: String?
    }

    private func flush() {
        let n = records.count
        guard n > 0 else { return }
        var out = [Outcome](repeating: Outcome(), count: n)
        let context = context
        let path = item.path
        let format = format
        let utf16 = utf16
        let shapes = context.detectors.exportShapes
        let records = records
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { out in
                // Item i reads record i of `raw` and writes slot i of `out`; each worker uses only its own state.
                nonisolated(unsafe) let raw = raw, out = out
                context.pool.parallel(n, from: worker) { w, i in
                    let (range, place) = records[i]
                    switch ExportSplitter.event(UnsafeRawBufferPointer(rebasing: raw[range]), format: format, shapes: shapes) {
                    case .failure(let e):
                        out[i] = Outcome(error: e.description)
                    case .success(let event):
                        let f = event.fields
                        out[i] = Outcome(channel: f.fields.first { $0.name == "Channel" }?.value,
                                         computer: f.fields.first { $0.name == "Computer" }?.value, time: f.time)
                        let location = EvidenceLocation(path: path, line: place.line, offset: utf16 ? nil : place.offset,
                                                        record: event.recordID ?? UInt64(place.number))
                        EventLogReader.match(f, id: event.recordID, location: location, context: context,
                                             worker: context.eventLogWorkers[w])
                    }
                }
            }
        }
        for (i, o) in out.enumerated() {
            if let e = o.error {
                note("record \(records[i].place.number): \(e)", line: records[i].place.line, offset: records[i].place.offset)
                continue
            }
            events += 1
            let channel = o.channel ?? "(no channel)"
            if channels[channel] != nil || channels.count < 100 {
                var c = channels[channel] ?? (0, nil, nil)
                c.count += 1
                if let t = o.time {
                    if c.earliest.map({ t < $0 }) ?? true { c.earliest = t }
                    if c.latest.map({ t > $0 }) ?? true { c.latest = t }
                }
                channels[channel] = c
            }
            if let computer = o.computer, computers.count < 100 || computers[computer] != nil { computers[computer, default: 0] += 1 }
        }
        self.records.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: bytes.capacity <= 2 * Self.batchBytes)
    }
}
