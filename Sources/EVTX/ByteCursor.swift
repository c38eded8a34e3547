/// Bounds-checked little-endian reads over a chunk; every read names what it reads, so a
/// truncated or hostile file yields a located error instead of a crash.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, at position: Int) {
        self.bytes = bytes
        self.position = position
    }

    mutating func need(_ n: Int, _ what: StaticString) throws(EVTXError) {
        guard n >= 0, position >= 0, position <= bytes.count - n else {
            throw EVTXError.truncated(what: "\(what)", offset: position, need: n, have: max(0, bytes.count - position))
        }
    }

    mutating func u8(_ what: StaticString) throws(EVTXError) -> UInt8 {
        try need(1, what)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16(_ what: StaticString) throws(EVTXError) -> UInt16 {
        try need(2, what)
        defer { position += 2 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self).littleEndian
    }

    mutating func u32(_ what: StaticString) throws(EVTXError) -> UInt32 {
        try need(4, what)
        defer { position += 4 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian
    }

    mutating func u64(_ what: StaticString) throws(EVTXError) -> UInt64 {
        try need(8, what)
        defer { position += 8 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self).littleEndian
    }

    mutating func slice(_ n: Int, _ what: StaticString) throws(EVTXError) -> UnsafeRawBufferPointer {
        try need(n, what)
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + n])
    }

    /// `n` UTF-16LE code units.
    mutating func utf16(_ n: Int, _ what: StaticString) throws(EVTXError) -> String {
        BinXMLParser.utf16(try slice(n * 2, what), trimNUL: false)
    }
}

/// What went wrong in an EVTX file, with where.
public enum EVTXError: Error, Sendable, CustomStringConvertible {
    case truncated(what: String, offset: Int, need: Int, have: Int)
    case invalidToken(UInt8, offset: Int)
    case invalid(String, offset: Int)

    public var description: String {
        switch self {
        case .truncated(let what, let offset, let need, let have):
            "buffer too small for \(what) at offset \(offset) (need \(need) bytes, have \(have))"
        case .invalidToken(let t, let offset): "invalid BinXML token 0x\(String(t, radix: 16)) at offset \(offset)"
        case .invalid(let s, let offset): "\(s) at offset \(offset)"
        }
    }
}
