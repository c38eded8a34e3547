public import Foundation
import HuntCore
import SystemZlib

/// One event record: its id, the time in the record header, and the event as JSON in the shape
/// the Rust `evtx` crate produces (`Event.System…`, `Event.EventData…`, `#attributes`, `#text`).
public struct EVTXRecord: Sendable {
    public var recordID: UInt64
    public var timestamp: Date
    public var json: String
    /// The same event as XML text, when asked for.
    public var xml: String?
    /// Byte offset of the record in the file.
    public var offset: Int
}

/// A damaged chunk or record, located and skipped.
public struct EVTXProblem: Sendable, CustomStringConvertible {
    public var offset: Int
    public var chunk: Int
    public var recordID: UInt64?
    public var message: String

    public init(offset: Int, chunk: Int, recordID: UInt64?, message: String) {
        self.offset = offset
        self.chunk = chunk
        self.recordID = recordID
        self.message = message
    }

    /// `chunk` is -1 for the file header.
    public var description: String {
        (chunk < 0 ? "file header" : "chunk \(chunk)") + " offset \(offset)\(recordID.map { " record \($0)" } ?? ""): \(message)"
    }
}

/// Reads `.evtx` bytes chunk by chunk. Damaged input is normal in forensics: a bad chunk or
/// record becomes an `EVTXProblem` and every intact record is still returned.
public enum EVTXFile {
    static let fileMagic: [UInt8] = Array("ElfFile\0".utf8)
    static let chunkMagic: [UInt8] = Array("ElfChnk\0".utf8)
    public static let headerSize = 4096
    public static let chunkSize = 65536
    public static let chunkHeaderSize = 512

    /// Whether bytes start like an EVTX file.
    public static func isEVTX<C: Collection<UInt8>>(_ head: C) -> Bool { head.starts(with: fileMagic) }

    /// Parses one chunk (65,536 bytes at most) into records and problems.
    public static func parseChunk(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, xml: Bool = false,
                                  cache: EVTXCache = EVTXCache()) -> (records: [EVTXRecord], problems: [EVTXProblem]) {
        var records: [EVTXRecord] = []
        var problems: [EVTXProblem] = []
        var w = JSONWriter()
        walk(chunk, index: index, fileOffset: fileOffset, cache: cache, problems: &problems) { id, written, offset, parser, root in
            w.removeAll()
            JSONRender.render(parser, root: root, to: &w)
            records.append(EVTXRecord(recordID: id, timestamp: date(written), json: w.string,
                                      xml: xml ? XMLRender.render(parser, root: root) : nil, offset: offset))
        }
        return (records, problems)
    }

    /// One chunk as JSON Lines, `{"event_record_id":N,"timestamp":"…","data":{…}}` per record,
    /// written straight into one buffer (the dump's hot path: no String or Date per record).
    /// The timestamp is the record header's FILETIME in ISO 8601 UTC with microseconds.
    public static func jsonLines(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int,
                                 cache: EVTXCache = EVTXCache()) -> (bytes: [UInt8], problems: [EVTXProblem]) {
        var out: [UInt8] = []
        let problems = jsonLines(chunk, index: index, fileOffset: fileOffset, cache: cache, appendingTo: &out)
        return (out, problems)
    }

    /// The same, appended to `out`. Pass the same `cache` and buffer for the chunks one worker
    /// handles: renderings recorded in one chunk are replayed in the next, and the buffer's memory
    /// is reused.
    public static func jsonLines(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, cache: EVTXCache,
                                 appendingTo out: inout [UInt8]) -> [EVTXProblem] {
        var problems: [EVTXProblem] = []
        var w = cache.writer.take() ?? JSONWriter(capacity: chunk.count * 2)
        w.removeAll()
        walk(chunk, index: index, fileOffset: fileOffset, cache: cache, problems: &problems) { id, written, _, record, root in
            w.raw("{\"event_record_id\":")
            w.decimal(id)
            w.raw(",\"timestamp\":\"")
            w.write(max: ValueFormat.maxBytes) { ValueFormat.filetime(written, to: $0) }
            w.quote()
            w.raw(",\"data\":")
            RenderProgram.render(record, root: root, programs: &cache.programs, to: &w)
            w.raw("}\n")
        }
        w.withBytes { out.append(contentsOf: $0) }
        cache.writer = consume w
        return problems
    }

    /// Walks a chunk's records, handing each intact record (the chunk's parser and the record's root
    /// instance) to `body`; damage becomes problems.
    static func walk(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, cache: EVTXCache, problems: inout [EVTXProblem],
                     _ body: (UInt64, UInt64, Int, RecordView, Int) -> Void) {
        func problem(_ offset: Int, _ id: UInt64?, _ message: String) {
            problems.append(EVTXProblem(offset: fileOffset + offset, chunk: index, recordID: id, message: message))
        }
        guard chunk.count >= chunkHeaderSize else { problem(0, nil, "truncated chunk header"); return }
        if chunk.allSatisfy({ $0 == 0 }) { return }
        guard chunk.starts(with: chunkMagic) else { problem(0, nil, "bad chunk signature"); return }
        let declaredFree = Int(chunk.loadUnaligned(fromByteOffset: 48, as: UInt32.self).littleEndian)
        let free = min(max(declaredFree, chunkHeaderSize), chunk.count)
        // Damage is detected, not only survived: both checksums Windows writes are checked, and the
        // records are still read where they can be.
        for p in checksumProblems(chunk, declaredFree: declaredFree) { problem(p.offset, nil, p.message) }
        cache.startChunk()
        var parser = BinXMLParser(chunk: chunk, cache: cache)
        var offset = chunkHeaderSize
        while offset + 24 <= free {
            let magic = chunk.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
            if magic == 0 { break }
            guard magic == 0x0000_2A2A else { problem(offset, nil, "bad record signature"); break }
            let size = Int(chunk.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian)
            let id = chunk.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian
            let written = chunk.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian
            guard size >= 28, offset + size <= chunk.count else { problem(offset, id, "record size \(size) runs past the chunk"); break }
            do {
                let root = try parser.parseRecord(at: offset + 24, end: offset + size - 4)
                body(id, written, fileOffset + offset, parser.record, root)
            } catch {
                problem(offset, id, "\(error)")
            }
            offset += size
        }
    }

    /// CRC-32 (the IEEE polynomial, zlib's) of byte ranges of `bytes`.
    static func crc(_ bytes: UnsafeRawBufferPointer, _ ranges: Range<Int>...) -> UInt32 {
        var c = crc32(0, nil, 0)
        for r in ranges where r.lowerBound >= 0 && r.upperBound <= bytes.count && !r.isEmpty {
            guard let base = bytes.baseAddress else { break }
            c = crc32(c, (base + r.lowerBound).assumingMemoryBound(to: Bytef.self), uInt(r.count))
        }
        return UInt32(truncatingIfNeeded: c)
    }

    /// A chunk's two checksums: of its header (bytes 0-120 and 128-512, which hold the string and
    /// template tables, stored at 124) and of its event records (512 up to the free-space offset,
    /// stored at 52).
    static func checksumProblems(_ chunk: UnsafeRawBufferPointer, declaredFree: Int) -> [(offset: Int, message: String)] {
        guard chunk.count >= chunkHeaderSize else { return [] }
        var out: [(Int, String)] = []
        let storedHeader = chunk.loadUnaligned(fromByteOffset: 124, as: UInt32.self).littleEndian
        let header = crc(chunk, 0..<120, 128..<chunkHeaderSize)
        if header != storedHeader {
            out.append((124, "chunk header checksum mismatch (stored \(hex(storedHeader)), computed \(hex(header))): its string and template tables may be damaged"))
        }
        if declaredFree < chunkHeaderSize || declaredFree > chunk.count {
            out.append((48, "free space offset \(declaredFree) lies outside the chunk"))
        } else {
            let storedRecords = chunk.loadUnaligned(fromByteOffset: 52, as: UInt32.self).littleEndian
            let records = crc(chunk, chunkHeaderSize..<declaredFree)
            if records != storedRecords {
                out.append((52, "event records checksum mismatch (stored \(hex(storedRecords)), computed \(hex(records))): records may be damaged"))
            }
        }
        return out
    }

    /// The file header's problems: its signature and its checksum (bytes 0-120, stored at 124).
    /// Empty for an intact header; the chunks are read either way.
    public static func fileHeaderProblems(_ header: UnsafeRawBufferPointer) -> [EVTXProblem] {
        func problem(_ offset: Int, _ message: String) -> EVTXProblem {
            EVTXProblem(offset: offset, chunk: -1, recordID: nil, message: message)
        }
        guard header.count >= 128 else { return [problem(0, "truncated file header")] }
        guard isEVTX(header) else { return [problem(0, "bad file signature")] }
        let stored = header.loadUnaligned(fromByteOffset: 124, as: UInt32.self).littleEndian
        let computed = crc(header, 0..<120)
        return stored == computed ? []
            : [problem(124, "file header checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")]
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    /// A FILETIME (100 ns ticks since 1601) as a Date; any 64 bits are accepted, in floating
    /// point, since a damaged record's time may be anything.
    static func date(_ ft: UInt64) -> Date {
        Date(timeIntervalSince1970: (Double(ft) - 116_444_736_000_000_000) / 10_000_000)
    }

    /// Where each chunk of a file of `size` bytes sits (the last may be short).
    public static func chunkRanges(fileSize size: Int) -> [Range<Int>] {
        stride(from: headerSize, to: size, by: chunkSize).map { $0..<min(size, $0 + chunkSize) }
    }

    /// Parses a whole file held in memory (tests and small files); large files go chunk by chunk.
    public static func parse(_ data: Data, xml: Bool = false) -> (records: [EVTXRecord], problems: [EVTXProblem]) {
        data.withUnsafeBytes { raw in
            guard raw.count >= headerSize, isEVTX(raw) else {
                return ([], [EVTXProblem(offset: 0, chunk: -1, recordID: nil, message: "not an EVTX file (bad file signature)")])
            }
            var records: [EVTXRecord] = []
            var problems = fileHeaderProblems(UnsafeRawBufferPointer(rebasing: raw[0..<headerSize]))
            let cache = EVTXCache()
            for (index, range) in chunkRanges(fileSize: raw.count).enumerated() {
                let r = parseChunk(UnsafeRawBufferPointer(rebasing: raw[range]), index: index, fileOffset: range.lowerBound, xml: xml, cache: cache)
                records += r.records
                problems += r.problems
            }
            return (records, problems)
        }
    }
}

/// The fields Sigma rules read from a Windows event, with SigmaHQ's names: `EventID`,
/// `Provider_Name`, `Channel`, `Level`, `Computer`, `EventRecordID`, every `EventData/Data[@Name]`
/// and `UserData` leaf by name, and `Data` (all unnamed Data values joined), plus the event's text
/// for keyword searches.
public struct EVTXFields: Sendable {
    public var fields: [(name: String, value: String)] = []
    /// Every EventData/UserData value, space-joined.
    public var text: String = ""
    public var time: Date?

    public init() {}
}

extension EVTXFile {
    /// Parses one chunk into field sets for matching (no JSON rendering).
    public static func fields(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, cache: EVTXCache = EVTXCache())
        -> (records: [(id: UInt64, offset: Int, fields: EVTXFields)], problems: [EVTXProblem]) {
        var out: [(id: UInt64, offset: Int, fields: EVTXFields)] = []
        var problems: [EVTXProblem] = []
        walk(chunk, index: index, fileOffset: fileOffset, cache: cache, problems: &problems) { id, written, offset, parser, root in
            var f = FieldExtractor.extract(parser, root: root)
            if f.time == nil { f.time = date(written) }
            out.append((id, offset, f))
        }
        return (out, problems)
    }
}

enum FieldExtractor {
    static func extract(_ p: RecordView, root: Int) -> EVTXFields {
        var f = EVTXFields()
        var event: (TElement, Int)?
        p.forEachElement(ofInstance: root) { e, k in if event == nil { event = (e, k) } }
        guard let (eventElement, ek) = event else { return f }
        var texts: [String] = []
        var unnamed: [String] = []
        p.forEachChild(eventElement.children, ek) { child in
            guard case .element(let section, let sk) = child else { return }
            switch p.names[section.name].text {
            case "System":
                p.forEachChild(section.children, sk) { child in
                    guard case .element(let e, let k) = child else { return }
                    switch p.names[e.name].text {
                    case "Provider":
                        if let n = p.attributeText("Name", of: e, k) { f.fields.append(("Provider_Name", n)) }
                        if let g = p.attributeText("Guid", of: e, k) { f.fields.append(("Provider_Guid", g)) }
                    case "TimeCreated":
                        if let t = p.attributeText("SystemTime", of: e, k) {
                            f.fields.append(("TimeCreated", t))
                            f.time = Timestamp.parse(t)
                        }
                    case "Execution":
                        for a in e.attributes {
                            let r = p.attribute(a.pieces, k)
                            if case .omitted = r { continue }
                            f.fields.append((p.names[a.name].text, p.attributeString(a.pieces, k, r)))
                        }
                    case "Security":
                        if let u = p.attributeText("UserID", of: e, k) { f.fields.append(("UserID", u)) }
                    case let name:
                        // Empty, it is null in the crate's JSON: absent for `field: null`, not ''.
                        let value = text(p, e, k)
                        if !value.isEmpty { f.fields.append((name, value)) }
                    }
                }
            case "EventData", "UserData":
                collect(p, section, sk, into: &f, texts: &texts, unnamed: &unnamed)
            default:
                break
            }
        }
        if !unnamed.isEmpty { f.fields.append(("Data", unnamed.joined(separator: " "))) }
        f.text = texts.joined(separator: " ")
        return f
    }

    private static func collect(_ p: RecordView, _ e: TElement, _ k: Int, into f: inout EVTXFields,
                                texts: inout [String], unnamed: inout [String]) {
        p.forEachChild(e.children, k) { child in
            switch child {
            case .element(let c, let ck):
                let value = text(p, c, ck)
                if p.names[c.name].isData, let name = p.attributeText("Name", of: c, ck), !name.isEmpty {
                    f.fields.append((name, value))
                    texts.append(value)
                } else if p.names[c.name].isData {
                    unnamed.append(value)
                    texts.append(value)
                } else if hasChildElements(p, c, ck) {
                    collect(p, c, ck, into: &f, texts: &texts, unnamed: &unnamed)
                } else if !value.isEmpty {
                    // An empty leaf is null in the crate's JSON (a Data element is "" and stays).
                    f.fields.append((p.names[c.name].text, value))
                    texts.append(value)
                }
            case .text(let v):
                texts.append(p.string(v))
            }
        }
    }

    private static func hasChildElements(_ p: RecordView, _ e: TElement, _ k: Int) -> Bool {
        var found = false
        p.forEachChild(e.children, k) { if case .element = $0 { found = true } }
        return found
    }

    /// An element's text: its values (array items space-joined) and its children's text, in order.
    static func text(_ p: RecordView, _ e: TElement, _ k: Int) -> String {
        if let v = p.onlyValue(of: e, k) { return p.string(v, arraySeparator: " ") }
        var out = ""
        p.forEachChild(e.children, k) { child in
            switch child {
            case .text(let v): out += p.string(v, arraySeparator: " ")
            case .element(let c, let ck): out += text(p, c, ck)
            }
        }
        return out
    }
}
