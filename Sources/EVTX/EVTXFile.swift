public import Foundation

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
        func problem(_ offset: Int, _ id: UInt64?, _ message: String) {
            problems.append(EVTXProblem(offset: fileOffset + offset, chunk: index, recordID: id, message: message))
        }
        guard chunk.count >= chunkHeaderSize else { problem(0, nil, "truncated chunk header"); return ([], problems) }
        if chunk.allSatisfy({ $0 == 0 }) { return ([], []) }
        guard chunk.starts(with: chunkMagic) else { problem(0, nil, "bad chunk signature"); return ([], problems) }
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
                let nodes = try parser.parseRecord(at: offset + 24, end: offset + size - 4)
                let json = JSONRender.render(nodes)
                records.append(EVTXRecord(recordID: id, timestamp: Self.date(written), json: json,
                                          xml: xml ? XMLRender.render(nodes) : nil, offset: fileOffset + offset))
            } catch {
                problem(offset, id, "\(error)")
            }
            offset += size
        }
        return (records, problems)
    }

    static func date(_ ft: UInt64) -> Date {
        Date(timeIntervalSince1970: (Double(Int64(bitPattern: ft) - 116_444_736_000_000_000)) / 10_000_000)
    }

    /// Parses a whole file held in memory (tests and small files); large files go chunk by chunk.
    public static func parse(_ data: Data, xml: Bool = false) -> (records: [EVTXRecord], problems: [EVTXProblem]) {
        data.withUnsafeBytes { raw in
            guard raw.count >= headerSize, isEVTX(raw) else {
                return ([], [EVTXProblem(offset: 0, chunk: -1, recordID: nil, message: "not an EVTX file (bad file signature)")])
            }
            var records: [EVTXRecord] = []
            var problems: [EVTXProblem] = []
            var index = 0
            var offset = headerSize
            while offset < raw.count {
                let end = min(raw.count, offset + chunkSize)
                let r = parseChunk(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), index: index, fileOffset: offset, xml: xml)
                records += r.records
                problems += r.problems
                offset += chunkSize
                index += 1
            }
            return (records, problems)
        }
    }
}
