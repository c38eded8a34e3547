import Foundation

/// Where each entry's bytes lie in a `.zip`, and reading them with a budget.
///
/// ZIPFoundation lists the archive (names, sizes, attributes) and reads stored entries, but its
/// inflater reads on past an entry's compressed bytes into the rest of the file and, once the
/// file ends, loops for ever on a deflate stream that does not end (a 6.8 KB collection hung the
/// hunt; found by fuzzing). Its entries do not say where their data starts, so that is read here
/// from the central directory and local headers (APPNOTE 4.3), and deflated entries are inflated
/// with zlib from exactly their compressed bytes, counting what comes out.
struct ZipData {
    /// One central directory record, in the directory's order (ZIPFoundation's order too).
    struct Record: Equatable {
        var method: UInt16
        var crc32: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
        /// The entry's modification time in UTC from an extra field (NTFS 0x000A, else the
        /// extended timestamp 0x5455), with the field it came from; nil when only the DOS time
        /// (local, no zone) is there.
        var modified: Date? = nil
        var modifiedFrom: FileTimeSource? = nil
    }

    struct Damage: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    let records: [Record]
    let fileSize: UInt64

    /// The central directory may not be larger than this (about two million entries).
    static let maxDirectory = 128 << 20

    init(_ handle: Platform.ReadHandle, fileSize: UInt64) throws(Damage) {
        self.fileSize = fileSize
        // The end record sits in the last 22 bytes plus a comment of up to 65,535.
        let tailCount = Int(min(fileSize, 22 + 65_535 + 20))
        let tail = try Self.bytes(handle, at: fileSize - UInt64(tailCount), count: tailCount)
        guard let end = Self.lastSignature(0x0605_4B50, in: tail, minimumRoom: 22) else {
            throw Damage(message: "no end of central directory record")
        }
        var count = UInt64(tail.u16(end + 10))
        var size = UInt64(tail.u32(end + 12))
        var offset = UInt64(tail.u32(end + 16))
        // ZIP64: the locator just before the end record points at the ZIP64 end record.
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF, end >= 20, tail.u32(end - 20) == 0x0706_4B50 {
            let at = tail.u64(end - 20 + 8)
            let z = try Self.bytes(handle, at: at, count: 56, within: fileSize)
            guard z.u32(0) == 0x0606_4B50 else { throw Damage(message: "ZIP64 end record missing at offset \(at)") }
            count = z.u64(32); size = z.u64(40); offset = z.u64(48)
        }
        guard size <= UInt64(Self.maxDirectory) else { throw Damage(message: "central directory of \(size) bytes") }
        let directory = try Self.bytes(handle, at: offset, count: Int(size), within: fileSize)
        var records: [Record] = []
        var at = 0
        while records.count < count, at + 46 <= directory.count, directory.u32(at) == 0x0201_4B50 {
            var r = Record(method: directory.u16(at + 10), crc32: directory.u32(at + 16),
                           compressedSize: UInt64(directory.u32(at + 20)), uncompressedSize: UInt64(directory.u32(at + 24)),
                           localHeaderOffset: UInt64(directory.u32(at + 42)))
            let nameLength = Int(directory.u16(at + 28)), extraLength = Int(directory.u16(at + 30))
            let commentLength = Int(directory.u16(at + 32))
            let extraStart = at + 46 + nameLength
            // ZIP64 extended information (0x0001): the 64-bit values of the fields set to all ones, in order.
            var e = extraStart
            while e + 4 <= min(directory.count, extraStart + extraLength) {
                let id = directory.u16(e), length = Int(directory.u16(e + 2))
                if id == 0x0001 {
                    var v = e + 4
                    func next() -> UInt64? {
                        guard v + 8 <= min(directory.count, e + 4 + length) else { return nil }
                        defer { v += 8 }
                        return directory.u64(v)
                    }
                    if r.uncompressedSize == 0xFFFF_FFFF, let x = next() { r.uncompressedSize = x }
                    if r.compressedSize == 0xFFFF_FFFF, let x = next() { r.compressedSize = x }
                    if r.localHeaderOffset == 0xFFFF_FFFF, let x = next() { r.localHeaderOffset = x }
                }
                let body = e + 4, bodyEnd = min(directory.count, e + 4 + length, extraStart + extraLength)
                if id == 0x000A, bodyEnd - body >= 4 + 4 + 8 {
                    // NTFS: 4 reserved bytes, then attributes as (tag, size, value); tag 1 holds
                    // mtime, atime, ctime as FILETIMEs (100 ns since 1601, UTC).
                    var t = body + 4
                    while t + 4 <= bodyEnd {
                        let tag = directory.u16(t), size = Int(directory.u16(t + 2))
                        if tag == 1, size >= 8, t + 4 + 8 <= bodyEnd, let d = Self.fileTime(directory.u64(t + 4)) {
                            r.modified = d
                            r.modifiedFrom = .zipNTFS
                        }
                        t += 4 + size
                    }
                } else if id == 0x5455, r.modifiedFrom != .zipNTFS, bodyEnd - body >= 5, directory[body] & 1 != 0 {
                    // Extended timestamp: flags, then the modification time as seconds since 1970 (UTC).
                    let seconds = Int32(bitPattern: directory.u32(body + 1))
                    r.modified = Date(timeIntervalSince1970: Double(seconds))
                    r.modifiedFrom = .zipExtendedTimestamp
                }
                e += 4 + length
            }
            records.append(r)
            at = extraStart + extraLength + commentLength
        }
        self.records = records
    }

    /// Inflates a deflated entry from its own compressed bytes, handing each piece to `body` (false
    /// stops). Damage (a bad stream, data that ends early, more output than the entry declares, a
    /// wrong CRC-32) is thrown with what was wrong; what `body` already had stays had.
    func inflate(_ r: Record, handle: Platform.ReadHandle, input: UnsafeMutableRawBufferPointer,
                 output: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        if r.compressedSize == 0 && r.uncompressedSize == 0 { return }
        let header = try Self.bytes(handle, at: r.localHeaderOffset, count: 30, within: fileSize)
        guard header.u32(0) == 0x0403_4B50 else { throw Damage(message: "no local header at offset \(r.localHeaderOffset)") }
        let start = r.localHeaderOffset + 30 + UInt64(header.u16(26)) + UInt64(header.u16(28))
        guard start <= fileSize, r.compressedSize <= fileSize - start else {
            throw Damage(message: "compressed data (\(r.compressedSize) bytes at offset \(start)) runs past the end of the archive")
        }
        let inflater: Inflater
        do { inflater = try Inflater(.raw, output: output) } catch { throw Damage(message: error.message) }
        var position = start
        var remaining = r.compressedSize
        while true {
            guard remaining > 0 else {
                throw Damage(message: "deflate data ends before its stream does (after \(inflater.produced) bytes out)")
            }
            let want = Int(min(remaining, UInt64(input.count)))
            let got = try handle.read(into: UnsafeMutableRawBufferPointer(rebasing: input[0..<want]), at: position)
            guard got > 0 else { throw Damage(message: "archive ends inside the entry's data") }
            position += UInt64(got)
            remaining -= UInt64(got)
            let progress: Inflater.Progress
            do {
                progress = try inflater.feed(UnsafeRawBufferPointer(rebasing: input[0..<got])) { piece in
                    // A bomb says it is small: more than it declares is damage, not data.
                    guard inflater.produced <= r.uncompressedSize else {
                        throw Damage(message: "inflates past its declared \(r.uncompressedSize) bytes")
                    }
                    return try body(piece)
                }
            } catch let e as Inflater.Damage {
                throw Damage(message: e.message)
            }
            switch progress {
            case .wantsInput: continue
            case .stopped: return
            case .ended:
                guard inflater.crc == r.crc32 else {
                    throw Damage(message: "CRC-32 mismatch (the entry says \(String(r.crc32, radix: 16)))")
                }
                return
            }
        }
    }

    private static func bytes(_ h: Platform.ReadHandle, at offset: UInt64, count: Int, within size: UInt64 = .max) throws(Damage) -> [UInt8] {
        guard offset <= size, UInt64(count) <= size - offset else {
            throw Damage(message: "\(count) bytes at offset \(offset) lie outside the archive")
        }
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        do {
            while filled < count {
                let n = try out.withUnsafeMutableBytes { try h.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: offset + UInt64(filled)) }
                if n == 0 { break }
                filled += n
            }
        } catch {
            throw Damage(message: "\(error)")
        }
        guard filled == count else { throw Damage(message: "archive ends at offset \(offset + UInt64(filled))") }
        return out
    }

    /// A Windows FILETIME as a date, nil for 0 or values past year 9999.
    static func fileTime(_ value: UInt64) -> Date? {
        guard value > 0, value < 2_650_467_743_999_999_999 else { return nil }
        return Date(timeIntervalSince1970: Double(value) / 10_000_000 - 11_644_473_600)
    }

    private static func lastSignature(_ signature: UInt32, in b: [UInt8], minimumRoom: Int) -> Int? {
        var i = b.count - minimumRoom
        while i >= 0 {
            if b.u32(i) == signature { return i }
            i -= 1
        }
        return nil
    }
}

/// Little-endian fields, zero past the end (callers check lengths first; this only makes a bad
/// offset harmless).
private extension [UInt8] {
    func u16(_ i: Int) -> UInt16 {
        guard i >= 0, i + 2 <= count else { return 0 }
        return UInt16(self[i]) | UInt16(self[i + 1]) << 8
    }
    func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
    func u64(_ i: Int) -> UInt64 { UInt64(u32(i)) | UInt64(u32(i + 4)) << 32 }
}
