public import Foundation

/// Little-endian fields of attacker-controlled bytes: every read is bounds-checked and gives nil
/// outside the buffer, so a damaged record is a located problem, never a trap.
struct LittleEndian {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func u8(_ at: Int) -> UInt8? { at >= 0 && at < bytes.count ? bytes[at] : nil }

    func u16(_ at: Int) -> UInt16? { load(at, UInt16.self).map { UInt16(littleEndian: $0) } }
    func u32(_ at: Int) -> UInt32? { load(at, UInt32.self).map { UInt32(littleEndian: $0) } }
    func u64(_ at: Int) -> UInt64? { load(at, UInt64.self).map { UInt64(littleEndian: $0) } }

    private func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T? {
        guard at >= 0, at <= bytes.count - MemoryLayout<T>.size else { return nil }
        return bytes.loadUnaligned(fromByteOffset: at, as: T.self)
    }

    /// `count` UTF-16LE code units at `at` (nil if they do not fit); unpaired surrogates become U+FFFD.
    func utf16(_ at: Int, count: Int) -> String? {
        guard at >= 0, count >= 0, count <= (bytes.count - at) / 2 else { return nil }
        var units: [UInt16] = []
        units.reserveCapacity(count)
        for i in 0..<count {
            units.append(UInt16(bytes[at + 2 * i]) | UInt16(bytes[at + 2 * i + 1]) << 8)
        }
        return String(decoding: units, as: UTF16.self)
    }
}

/// A 48-bit MFT entry number and the 16-bit sequence number it had when referenced: a reference
/// whose sequence differs from the entry's own points at an earlier file that used the entry.
public struct FileReference: Hashable, Sendable, CustomStringConvertible {
    public var entry: UInt64
    public var sequence: UInt16

    public init(entry: UInt64, sequence: UInt16) {
        self.entry = entry
        self.sequence = sequence
    }

    public init(_ raw: UInt64) {
        entry = raw & 0x0000_FFFF_FFFF_FFFF
        sequence = UInt16(truncatingIfNeeded: raw >> 48)
    }

    public var description: String { "\(entry)-\(sequence)" }
}
