public import Foundation
public import HuntCore

/// A whole `$MFT` read as a stream (a KAPE or Velociraptor extract, or a disk image's), in two
/// passes: the first keeps every folder's name and parent, the second gives every file with its
/// path. Memory grows with the number of folders (bounded), never with the table's size.
public final class MFTTable {
    /// Reads the `$MFT` from its start, handing `body` each chunk in order; `body` returns false to stop.
    public typealias Source = ((UnsafeRawBufferPointer) -> Bool) throws -> Void

    /// A file or folder of the table.
    public struct File: Sendable {
        public var entry: UInt64
        public var sequence: UInt16
        /// `/`-separated from the volume's root (`inetpub/wwwroot/x.aspx`); `$OrphanFiles/name`
        /// when its folder is not known any more (TSK's convention).
        public var path: String
        public var parentKnown: Bool
        public var inUse: Bool
        public var isDirectory: Bool
        public var size: UInt64
        public var times: FileSystemTimes
        public var streams: [String]
    }

    struct Folder {
        var parent: FileReference
        var name: String?
        var sequence: UInt16
        var inUse: Bool
    }

    private var folders: [UInt64: Folder] = [:]
    /// Names and sizes held by extension records, for base records that have none of their own.
    private var extensionNames: [UInt64: MFTRecord.FileName] = [:]
    private var extensionSizes: [UInt64: UInt64] = [:]
    private var folderPaths: [UInt64: String] = [:]
    public private(set) var recordSize = 1024
    public private(set) var records: UInt64 = 0
    public private(set) var problems: [String] = []
    private var damaged = 0

    /// Folders kept for paths; a table with more is listed with the rest as orphans, and says so.
    public static let maxFolders = 4_000_000
    static let maxExtensions = 1_000_000
    static let maxProblems = 20

    private let source: Source

    /// Reads the table's folders (the first pass). Errors of `source` (an unreadable file) are thrown.
    public init(_ source: @escaping Source) throws {
        self.source = source
        var capped = false
        try scan(firstPass: true) { record in
            if let base = record.base {
                if let name = record.preferredName, self.extensionNames[base.entry] == nil, self.extensionNames.count < Self.maxExtensions {
                    self.extensionNames[base.entry] = name
                }
                if let size = record.dataSize, self.extensionSizes.count < Self.maxExtensions { self.extensionSizes[base.entry] = size }
                return
            }
            guard record.isDirectory || record.entry == 5 else { return }
            guard self.folders.count < Self.maxFolders else {
                if !capped { self.problems.append("more than \(Self.maxFolders) folders: the rest are listed without their paths") }
                capped = true
                return
            }
            self.folders[record.entry] = Folder(parent: record.preferredName?.parent ?? FileReference(entry: 5, sequence: 5),
                                                name: record.preferredName?.name, sequence: record.sequence, inUse: record.inUse)
        }
        for (entry, name) in extensionNames where folders[entry]?.name == nil {
            folders[entry]?.name = name.name
            folders[entry]?.parent = name.parent
        }
    }

    /// Every file and folder of the table (the second pass), base records only.
    public func files(_ visit: (File) -> Void) throws {
        damaged = 0
        problems.removeAll { $0.hasPrefix("record ") }
        try scan(firstPass: false) { record in
            // The root is the volume itself, not a file in it.
            guard record.base == nil, record.entry != 5, let name = record.preferredName ?? self.extensionNames[record.entry] else { return }
            let parent = self.folderPath(name.parent)
            let si = record.standardInformation
            let times = FileSystemTimes(created: si?.created, modified: si?.modified, changed: si?.changed, accessed: si?.accessed,
                                        nameCreated: name.times.created, nameModified: name.times.modified,
                                        nameChanged: name.times.changed, nameAccessed: name.times.accessed)
            let path = (parent ?? "$OrphanFiles").isEmpty ? name.name : (parent ?? "$OrphanFiles") + "/" + name.name
            visit(File(entry: record.entry, sequence: record.sequence, path: path, parentKnown: parent != nil,
                       inUse: record.inUse, isDirectory: record.isDirectory,
                       size: record.dataSize ?? self.extensionSizes[record.entry] ?? (record.isDirectory ? 0 : name.size),
                       times: times, streams: record.streams))
        }
    }

    /// The path of a folder from the root ("" for the root), nil when the reference is not to a
    /// folder the table holds (deleted and reused, or never a folder).
    public func folderPath(_ ref: FileReference) -> String? {
        if ref.entry == 5 { return "" }
        if let known = folderPaths[ref.entry], matches(ref) { return known }
        var names: [String] = []
        var at = ref
        var seen: Set<UInt64> = []
        while at.entry != 5 {
            // A cycle (damaged or crafted parents) or a chain deeper than any real path ends here.
            guard matches(at), let folder = folders[at.entry], let name = folder.name,
                  seen.insert(at.entry).inserted, names.count < 255 else { return nil }
            names.append(name)
            at = folder.parent
        }
        let path = names.reversed().joined(separator: "/")
        if folderPaths.count < Self.maxFolders { folderPaths[ref.entry] = path }
        return path
    }

    /// Whether the folder entry still belongs to the referenced folder: same sequence, or one more
    /// when the folder was deleted (NTFS counts the sequence up when it frees an entry).
    private func matches(_ ref: FileReference) -> Bool {
        guard let f = folders[ref.entry] else { return false }
        return f.sequence == ref.sequence || (!f.inUse && f.sequence == ref.sequence &+ 1)
    }

    private func scan(firstPass: Bool, _ visit: (MFTRecord) -> Void) throws {
        var pending: [UInt8] = []
        var index: UInt64 = 0
        var sized = !firstPass
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
        defer { scratch.deallocate() }
        func record(_ bytes: UnsafeRawBufferPointer) {
            let size = recordSize
            let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<size])
            target.copyMemory(from: bytes)
            do {
                let decoded = try MFTRecord.decode(target, entry: index)
                var said: [String] = []
                if !decoded.tornSectors.isEmpty {
                    said.append("sector(s) \(decoded.tornSectors.map(String.init).joined(separator: ", ")) torn (update sequence mismatch); decoded as read")
                }
                if let damage = decoded.damage { said.append(damage) }
                if !said.isEmpty, !firstPass {
                    damaged += 1
                    if problems.count < Self.maxProblems { problems.append("record \(index): " + said.joined(separator: "; ")) }
                }
                visit(decoded)
            } catch {
                if error != .empty {
                    damaged += 1
                    if problems.count < Self.maxProblems && !firstPass { problems.append("record \(index): \(error)") }
                }
            }
            index += 1
        }
        try source { chunk in
            var rest = chunk
            if !sized {
                // The record size is in every record (allocated size at 0x1C): 1 KiB, or 4 KiB on
                // drives with 4 KiB sectors.
                if let first = LittleEndian(chunk).u32(0x1C), [1024, 2048, 4096].contains(first) { recordSize = Int(first) }
                sized = true
            }
            if !pending.isEmpty {
                let need = recordSize - pending.count
                pending.append(contentsOf: rest.prefix(need))
                rest = UnsafeRawBufferPointer(rebasing: rest[min(need, rest.count)...])
                guard pending.count == recordSize else { return true }
                pending.withUnsafeBytes { record($0) }
                pending.removeAll(keepingCapacity: true)
            }
            while rest.count >= recordSize {
                record(UnsafeRawBufferPointer(rebasing: rest[0..<recordSize]))
                rest = UnsafeRawBufferPointer(rebasing: rest[recordSize...])
            }
            pending.append(contentsOf: rest)
            return true
        }
        if !firstPass {
            records = index
            if damaged > Self.maxProblems { problems.append("\(damaged) damaged records in all (the first \(Self.maxProblems) are named)") }
            if !pending.isEmpty { problems.append("ends with \(pending.count) bytes, less than a record") }
        }
    }
}
