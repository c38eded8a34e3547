public import Foundation
import HuntCore

/// One record of NTFS's master file table (`$MFT`), decoded from its bytes: what a file was
/// called and where, its two sets of times, its size, and whether the entry is still in use.
/// Only what an investigation reads is decoded: `$STANDARD_INFORMATION`, `$FILE_NAME` and the
/// unnamed `$DATA` attribute's size (content is read through the file system, not from here).
public struct MFTRecord: Sendable {
    public var entry: UInt64
    public var sequence: UInt16
    public var inUse: Bool
    public var isDirectory: Bool
    /// Set on an extension record: the base record whose attributes continue here.
    public var base: FileReference?
    public var standardInformation: Times?
    /// The names of the file (hard links and the 8.3 name each have one), in record order.
    public var names: [FileName] = []
    /// The unnamed data stream's size, when this record holds its first part.
    public var dataSize: UInt64?
    /// Names of the alternate data streams this record holds (`Zone.Identifier`, or one hiding a page).
    public var streams: [String] = []
    /// Sectors whose last two bytes did not hold the update sequence value (a torn or partial
    /// write): their content may be stale, and the record is decoded as it was read.
    public var tornSectors: [Int] = []
    /// What could not be decoded (an attribute past the record's end, a name out of its
    /// attribute): the record holds what came before it.
    public var damage: String?

    public struct Times: Sendable, Hashable {
        public var created: Date?
        public var modified: Date?
        public var changed: Date?
        public var accessed: Date?
    }

    public struct FileName: Sendable, Hashable {
        public var parent: FileReference
        public var name: String
        /// 0 POSIX, 1 Win32, 2 DOS (8.3), 3 Win32 and DOS.
        public var namespace: UInt8
        public var times: Times
        public var size: UInt64
    }

    /// The long name to show: a Win32 or POSIX name before an 8.3 one.
    public var preferredName: FileName? { names.first { $0.namespace != 2 } ?? names.first }

    public enum Damage: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not a record at all (zeros, or a record never written): not a problem to report.
        case empty
        case signature
        case fixup(String)
        case attribute(offset: Int, String)

        public var description: String {
            switch self {
            case .empty: "empty record"
            case .signature: "no FILE signature"
            case .fixup(let why): "update sequence (fixup) damaged: \(why)"
            case .attribute(let offset, let why): "attribute at offset \(offset) damaged: \(why)"
            }
        }
    }

    /// Decodes one record. `bytes` is changed in place: the update sequence array's values are
    /// put back at each sector's end (the fixups), as NTFS does when it reads a record.
    /// `entry` is the record's index in the table (used when the record does not say).
    public static func decode(_ bytes: UnsafeMutableRawBufferPointer, entry: UInt64) throws(Damage) -> MFTRecord {
        let r = LittleEndian(UnsafeRawBufferPointer(bytes))
        guard let sig = r.u32(0), sig != 0 else { throw .empty }
        // "FILE"; "BAAD" is a record NTFS found damaged itself.
        guard sig == 0x454C_4946 else { throw .signature }
        // A sector that does not end with the sequence value was torn (written in part) or
        // overwritten; the record is still decoded, every field bounds-checked, as the Rust mft
        // crate does: a deleted entry's names and times in its first sector are evidence.
        let torn = try applyFixups(bytes)
        guard let seq = r.u16(0x10), let firstAttribute = r.u16(0x14), let flags = r.u16(0x16),
              let used = r.u32(0x18), let baseRaw = r.u64(0x20) else { throw .attribute(offset: 0, "header truncated") }
        var record = MFTRecord(entry: entry, sequence: seq, inUse: flags & 1 != 0, isDirectory: flags & 2 != 0,
                               base: baseRaw == 0 ? nil : FileReference(baseRaw))
        record.tornSectors = torn
        // To the end marker within the record, not to its "used size": a deleted entry's can be
        // stale (smaller than its attributes). What follows a broken attribute header is not
        // read; it is damage when it lies within the used size, and the slack of an older
        // record when it lies past it.
        let end = bytes.count
        var at = Int(firstAttribute)
        // Each attribute moves forward by at least its header; a record holds a few dozen at most.
        var count = 0
        while at + 8 <= end, count < 512 {
            count += 1
            guard let type = r.u32(at) else { break }
            if type == 0xFFFF_FFFF { break }
            guard type != 0, let length = r.u32(at + 4), length >= 16, Int(length) <= end - at, length % 8 == 0 else {
                if at < Int(used) { record.damage = "attribute at offset \(at): length out of the record; the rest was not read" }
                break
            }
            let attr = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[at..<(at + Int(length))])
            do {
                try record.take(type: type, attr, at: at)
            } catch {
                record.damage = error.description
            }
            at += Int(length)
        }
        return record
    }

    /// Puts the update sequence array's values back at the end of every 512-byte sector that
    /// holds the sequence value there, and returns the sectors that do not (a torn write).
    static func applyFixups(_ bytes: UnsafeMutableRawBufferPointer) throws(Damage) -> [Int] {
        let r = LittleEndian(UnsafeRawBufferPointer(bytes))
        guard let offset = r.u16(4), let count = r.u16(6), count >= 1 else { throw .fixup("no update sequence array") }
        let sectors = Int(count) - 1
        guard sectors * 512 <= bytes.count, Int(offset) >= 0x28, Int(offset) + 2 * Int(count) <= bytes.count else {
            throw .fixup("array of \(count) entries at \(offset) does not fit a \(bytes.count)-byte record")
        }
        guard let value = r.u16(Int(offset)) else { throw .fixup("array truncated") }
        var torn: [Int] = []
        for s in 0..<sectors {
            let last = (s + 1) * 512 - 2
            guard let stored = r.u16(last), let original = r.u16(Int(offset) + 2 * (s + 1)) else { throw .fixup("array truncated") }
            guard stored == value else {
                torn.append(s)
                continue
            }
            bytes.storeBytes(of: original.littleEndian, toByteOffset: last, as: UInt16.self)
        }
        return torn
    }

    private mutating func take(type: UInt32, _ a: UnsafeRawBufferPointer, at: Int) throws(Damage) {
        let r = LittleEndian(a)
        guard let nonResident = r.u8(8), let nameLength = r.u8(9), let nameOffset = r.u16(10) else {
            throw .attribute(offset: at, "header truncated")
        }
        let named = nameLength > 0
        let streamName = named ? r.utf16(Int(nameOffset), count: Int(nameLength)) : nil
        if named && streamName == nil { throw .attribute(offset: at, "name out of the attribute") }
        if nonResident == 0 {
            guard let valueLength = r.u32(0x10), let valueOffset = r.u16(0x14), Int(valueOffset) <= a.count else {
                throw .attribute(offset: at, "resident value out of the attribute")
            }
            // Names and times are read to the attribute's end: Windows has left value lengths
            // shorter than the name they hold (the mft crate reads them so too).
            let value = LittleEndian(UnsafeRawBufferPointer(rebasing: a[Int(valueOffset)...]))
            let length = min(Int(valueLength), a.count - Int(valueOffset))
            switch type {
            case 0x10:
                // Times are the first 32 bytes; NT4's shorter attribute has them too.
                guard let c = value.u64(0), let m = value.u64(8), let ch = value.u64(16), let ac = value.u64(24) else {
                    throw .attribute(offset: at, "$STANDARD_INFORMATION shorter than its times")
                }
                standardInformation = Times(created: FileTime.date(c), modified: FileTime.date(m), changed: FileTime.date(ch), accessed: FileTime.date(ac))
            case 0x30:
                guard let parent = value.u64(0), let c = value.u64(8), let m = value.u64(16), let ch = value.u64(24), let ac = value.u64(32),
                      let size = value.u64(48), let length = value.u8(64), let namespace = value.u8(65),
                      let name = value.utf16(66, count: Int(length)) else {
                    throw .attribute(offset: at, "$FILE_NAME truncated")
                }
                names.append(FileName(parent: FileReference(parent), name: name, namespace: namespace,
                                      times: Times(created: FileTime.date(c), modified: FileTime.date(m), changed: FileTime.date(ch), accessed: FileTime.date(ac)),
                                      size: size))
            case 0x80:
                if let streamName { streams.append(streamName) } else { dataSize = UInt64(length) }
            default: break
            }
        } else if type == 0x80 {
            // Only the first extent (starting at VCN 0) carries the stream's sizes.
            guard let startVCN = r.u64(0x10), let realSize = r.u64(0x30) else { throw .attribute(offset: at, "non-resident header truncated") }
            if let streamName {
                if !streams.contains(streamName) { streams.append(streamName) }
            } else if startVCN == 0 {
                dataSize = realSize
            }
        }
    }
}
