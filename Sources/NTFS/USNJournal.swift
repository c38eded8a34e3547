public import Foundation
import HuntCore

/// One record of NTFS's change journal (`$Extend\$UsnJrnl:$J`): a change to a file, with when and why.
public struct USNRecord: Sendable, Hashable {
    /// The record's offset in the journal stream, which is its update sequence number.
    public var usn: Int64
    public var major: UInt16
    public var file: FileReference
    public var parent: FileReference
    public var timestamp: Date?
    public var reasons: Reasons
    public var attributes: UInt32
    public var name: String

    public var isDirectory: Bool { attributes & 0x10 != 0 }

    /// The reason flags (`USN_REASON_*`), accumulated while a file stays open and written in full at its close.
    public struct Reasons: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let dataOverwrite = Reasons(rawValue: 0x1)
        public static let dataExtend = Reasons(rawValue: 0x2)
        public static let dataTruncation = Reasons(rawValue: 0x4)
        public static let namedDataOverwrite = Reasons(rawValue: 0x10)
        public static let namedDataExtend = Reasons(rawValue: 0x20)
        public static let namedDataTruncation = Reasons(rawValue: 0x40)
        public static let fileCreate = Reasons(rawValue: 0x100)
        public static let fileDelete = Reasons(rawValue: 0x200)
        public static let renameOldName = Reasons(rawValue: 0x1000)
        public static let renameNewName = Reasons(rawValue: 0x2000)
        public static let basicInfoChange = Reasons(rawValue: 0x8000)
        public static let streamChange = Reasons(rawValue: 0x20_0000)
        public static let close = Reasons(rawValue: 0x8000_0000)

        public static let dataChange: Reasons = [.dataOverwrite, .dataExtend, .dataTruncation]

        /// The words `fsutil usn readjournal` uses, in the order of the bits.
        static let names: [(UInt32, String)] = [
            (0x1, "Data overwrite"), (0x2, "Data extend"), (0x4, "Data truncation"), (0x10, "Named data overwrite"),
            (0x20, "Named data extend"), (0x40, "Named data truncation"), (0x100, "File create"), (0x200, "File delete"),
            (0x400, "EA change"), (0x800, "Security change"), (0x1000, "Rename: old name"), (0x2000, "Rename: new name"),
            (0x4000, "Indexable change"), (0x8000, "Basic info change"), (0x1_0000, "Hard link change"),
            (0x2_0000, "Compression change"), (0x4_0000, "Encryption change"), (0x8_0000, "Object ID change"),
            (0x10_0000, "Reparse point change"), (0x20_0000, "Stream change"), (0x40_0000, "Transacted change"),
            (0x80_0000, "Integrity change"), (0x100_0000, "Desired storage class change"), (0x8000_0000, "Close"),
        ]

        public var description: String {
            let words = Self.names.filter { rawValue & $0.0 != 0 }.map(\.1)
            let known = Self.names.reduce(UInt32(0)) { $0 | $1.0 }
            let unknown = rawValue & ~known
            return (words + (unknown != 0 ? [String(format: "0x%x", unknown)] : [])).joined(separator: " | ")
        }
    }
}

/// Reads a `$J` stream chunk by chunk into records. The stream is mostly sparse (zeros where the
/// journal's old part was freed) and records never cross a 4 KiB page, so zeros are skipped a
/// word at a time and a damaged record costs only the rest of its page. Version 2 and 3 records
/// are decoded; version 4 (ranges of a file that changed) are skipped, counted.
public struct USNScanner {
    public private(set) var records: UInt64 = 0
    public private(set) var skippedRanges: UInt64 = 0
    public private(set) var damaged: UInt64 = 0
    public private(set) var problems: [String] = []
    /// Bytes before `pending` in the stream.
    private var offset: Int64 = 0
    private var pending: [UInt8] = []
    static let maxProblems = 20
    static let page = 4096

    /// `offset`: where in the stream the first chunk fed lies (a multiple of 4 KiB).
    public init(startingAt offset: Int64 = 0) {
        self.offset = offset
    }

    /// Takes the next bytes of the stream; `visit` gets each record decoded.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ visit: (USNRecord) -> Void) {
        // Whole pages are decoded straight from the chunk; a partial page waits in `pending`.
        var rest = chunk
        if !pending.isEmpty {
            let need = Self.page - pending.count
            pending.append(contentsOf: rest.prefix(need))
            rest = UnsafeRawBufferPointer(rebasing: rest[min(need, rest.count)...])
            guard pending.count == Self.page else { return }
            let page = pending
            page.withUnsafeBytes { decodePage($0, visit) }
            pending.removeAll(keepingCapacity: true)
        }
        while rest.count >= Self.page {
            decodePage(UnsafeRawBufferPointer(rebasing: rest[0..<Self.page]), visit)
            rest = UnsafeRawBufferPointer(rebasing: rest[Self.page...])
        }
        pending.append(contentsOf: rest)
    }

    /// The end of the stream: a last partial page is decoded as far as it goes.
    public mutating func finish(_ visit: (USNRecord) -> Void) {
        let last = pending
        pending = []
        if !last.isEmpty { last.withUnsafeBytes { decodePage($0, visit) } }
        if damaged > UInt64(Self.maxProblems) { problems.append("\(damaged) damaged records in all (the first \(Self.maxProblems) are named)") }
    }

    private mutating func decodePage(_ page: UnsafeRawBufferPointer, _ visit: (USNRecord) -> Void) {
        let base = offset
        offset += Int64(page.count)
        let r = LittleEndian(page)
        var at = 0
        while at + 8 <= page.count {
            guard let length = r.u32(at), length != 0 else {
                // Zeros: sparse space, or the padding after a page's last record.
                at += 8
                continue
            }
            // Named by its offset until decoded; a record names itself by its own USN (an extract
            // without the sparse part starts at offset 0, not at its first USN).
            let usn = base + Int64(at)
            switch Self.decode(r, at: at, usn: usn) {
            case .record(let record, let size):
                if record.major == 4 { skippedRanges += 1 } else { records += 1; visit(record) }
                at += size
            case .damaged(let why):
                damaged += 1
                if problems.count < Self.maxProblems { problems.append("offset \(usn): \(why); the rest of its 4 KiB page was skipped") }
                return
            }
        }
    }

    enum Decoded {
        case record(USNRecord, size: Int)
        case damaged(String)
    }

    static func decode(_ r: LittleEndian, at: Int, usn: Int64) -> Decoded {
        guard let length = r.u32(at), let major = r.u16(at + 4) else { return .damaged("record header truncated") }
        guard length % 8 == 0, length >= 0x20, Int(length) <= r.bytes.count - at else {
            return .damaged("record length \(length) does not fit its page")
        }
        let rec = LittleEndian(UnsafeRawBufferPointer(rebasing: r.bytes[at..<(at + Int(length))]))
        switch major {
        case 2, 3:
            // Version 3 widens both file references to 128 bits; NTFS's own fit in the low 64.
            let wide = major == 3 ? 8 : 0
            guard let file = rec.u64(8), let parent = rec.u64(16 + wide), let stored = rec.u64(24 + 2 * wide), let time = rec.u64(32 + 2 * wide),
                  let reasons = rec.u32(40 + 2 * wide), let attributes = rec.u32(52 + 2 * wide),
                  let nameLength = rec.u16(56 + 2 * wide), let nameOffset = rec.u16(58 + 2 * wide) else {
                return .damaged("version \(major) record shorter than its fields")
            }
            guard nameLength % 2 == 0, let name = rec.utf16(Int(nameOffset), count: Int(nameLength) / 2), Int(nameOffset) >= 60 + 2 * wide else {
                return .damaged("file name out of the record")
            }
            return .record(USNRecord(usn: Int64(bitPattern: stored), major: major, file: FileReference(file), parent: FileReference(parent),
                                     timestamp: FileTime.date(time), reasons: .init(rawValue: reasons), attributes: attributes, name: name),
                           size: Int(length))
        case 4:
            guard let file = rec.u64(8), let parent = rec.u64(24), let stored = rec.u64(40), let reasons = rec.u32(48) else {
                return .damaged("version 4 record shorter than its fields")
            }
            return .record(USNRecord(usn: Int64(bitPattern: stored), major: 4, file: FileReference(file), parent: FileReference(parent), timestamp: nil,
                                     reasons: .init(rawValue: reasons), attributes: 0, name: ""), size: Int(length))
        default:
            return .damaged("version \(major) is not a USN record version")
        }
    }
}
