public import Foundation
import HuntCore

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
    public var description: String {
        "chunk \(chunk) offset \(offset)\(recordID.map { " record \($0)" } ?? ""): \(message)"
    }
}

/// Reads `.evtx` bytes chunk by chunk. Damaged input is normal in forensics: a bad chunk or
/// record becomes an `EVTXProblem` and every intact record is still returned.
public enum EVTXFile {
    static let fileMagic: [UInt8] = Array("ElfFile\0".utf8)
    static let chunkMagic: [UInt8] = Array("ElfChnk\0".utf8)
    static let headerSize = 4096
    static let chunkSize = 65536
    static let chunkHeaderSize = 512

    /// Whether bytes start like an EVTX file.
    public static func isEVTX<C: Collection<UInt8>>(_ head: C) -> Bool { head.starts(with: fileMagic) }

    /// Parses one chunk (65,536 bytes at most) into records and problems.
    public static func parseChunk(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, xml: Bool = false) -> (records: [EVTXRecord], problems: [EVTXProblem]) {
        var records: [EVTXRecord] = []
        var problems: [EVTXProblem] = []
        walk(chunk, index: index, fileOffset: fileOffset, problems: &problems) { id, written, offset, nodes in
            records.append(EVTXRecord(recordID: id, timestamp: date(written), json: JSONRender.render(nodes),
                                      xml: xml ? XMLRender.render(nodes) : nil, offset: offset))
        }
        return (records, problems)
    }

    /// Walks a chunk's records, handing each intact record's nodes to `body`; damage becomes problems.
    static func walk(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int, problems: inout [EVTXProblem],
                     _ body: (UInt64, UInt64, Int, [XNode]) -> Void) {
        func problem(_ offset: Int, _ id: UInt64?, _ message: String) {
            problems.append(EVTXProblem(offset: fileOffset + offset, chunk: index, recordID: id, message: message))
        }
        guard chunk.count >= chunkHeaderSize else { problem(0, nil, "truncated chunk header"); return }
        if chunk.allSatisfy({ $0 == 0 }) { return }
        guard chunk.starts(with: chunkMagic) else { problem(0, nil, "bad chunk signature"); return }
        var free = Int(chunk.loadUnaligned(fromByteOffset: 48, as: UInt32.self).littleEndian)
        free = min(max(free, chunkHeaderSize), chunk.count)
        let parser = BinXMLParser(chunk: chunk)
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
                body(id, written, fileOffset + offset, try parser.parseRecord(at: offset + 24, end: offset + size - 4))
            } catch {
                problem(offset, id, "\(error)")
            }
            offset += size
        }
    }

    static func date(_ ft: UInt64) -> Date {
        Date(timeIntervalSince1970: (Double(Int64(bitPattern: ft) - 116_444_736_000_000_000)) / 10_000_000)
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
            var problems: [EVTXProblem] = []
            for (index, range) in chunkRanges(fileSize: raw.count).enumerated() {
                let r = parseChunk(UnsafeRawBufferPointer(rebasing: raw[range]), index: index, fileOffset: range.lowerBound, xml: xml)
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
}

extension EVTXFile {
    /// Parses one chunk into field sets for matching (no JSON rendering).
    public static func fields(_ chunk: UnsafeRawBufferPointer, index: Int, fileOffset: Int)
        -> (records: [(id: UInt64, offset: Int, fields: EVTXFields)], problems: [EVTXProblem]) {
        var out: [(id: UInt64, offset: Int, fields: EVTXFields)] = []
        var problems: [EVTXProblem] = []
        walk(chunk, index: index, fileOffset: fileOffset, problems: &problems) { id, written, offset, nodes in
            var f = FieldExtractor.extract(nodes)
            if f.time == nil { f.time = date(written) }
            out.append((id, offset, f))
        }
        return (out, problems)
    }
}

enum FieldExtractor {
    static func extract(_ nodes: [XNode]) -> EVTXFields {
        var f = EVTXFields()
        guard let event = nodes.lazy.compactMap({ n -> XElement? in if case .element(let e) = n { return e } else { return nil } }).first else { return f }
        var texts: [String] = []
        var unnamed: [String] = []
        for case .element(let section) in event.children {
            switch section.name {
            case "System":
                for case .element(let e) in section.children {
                    switch e.name {
                    case "Provider":
                        if let n = e.attributes.first(where: { $0.0 == "Name" }) { f.fields.append(("Provider_Name", n.1.text)) }
                        if let g = e.attributes.first(where: { $0.0 == "Guid" }) { f.fields.append(("Provider_Guid", g.1.text)) }
                    case "TimeCreated":
                        if let t = e.attributes.first(where: { $0.0 == "SystemTime" }) {
                            f.fields.append(("TimeCreated", t.1.text))
                            f.time = Timestamp.parse(t.1.text)
                        }
                    case "Execution":
                        for (k, v) in e.attributes { f.fields.append((k, v.text)) }
                    case "Security":
                        if let u = e.attributes.first(where: { $0.0 == "UserID" }) { f.fields.append(("UserID", u.1.text)) }
                    default:
                        f.fields.append((e.name, text(e)))
                    }
                }
            case "EventData", "UserData":
                collect(section, into: &f, texts: &texts, unnamed: &unnamed)
            default:
                break
            }
        }
        if !unnamed.isEmpty { f.fields.append(("Data", unnamed.joined(separator: " "))) }
        f.text = texts.joined(separator: " ")
        return f
    }

    private static func collect(_ e: XElement, into f: inout EVTXFields, texts: inout [String], unnamed: inout [String]) {
        for child in e.children {
            switch child {
            case .element(let c):
                let value = text(c)
                if c.name == "Data", let name = c.attributes.first(where: { $0.0 == "Name" }) {
                    f.fields.append((name.1.text, value))
                    texts.append(value)
                } else if c.name == "Data" {
                    unnamed.append(value)
                    texts.append(value)
                } else if c.children.contains(where: { if case .element = $0 { return true } else { return false } }) {
                    collect(c, into: &f, texts: &texts, unnamed: &unnamed)
                } else {
                    f.fields.append((c.name, value))
                    texts.append(value)
                }
            case .value(let v):
                texts.append(v.text)
            }
        }
    }

    static func text(_ e: XElement) -> String {
        e.children.map { n -> String in
            switch n {
            case .value(.array(let items)): return items.map(\.text).joined(separator: " ")
            case .value(let v): return v.text
            case .element(let c): return text(c)
            }
        }.joined()
    }

}
