public import Foundation
import Crypto
import ZIPFoundation

/// A collection of evidence: a folder (plain copy, KAPE, Velociraptor) or a `.zip` of one, which
/// is read in place and never extracted. Nothing here writes to the evidence.
public struct EvidenceTree: Sendable {
    public enum Kind: String, Sendable { case directory, zip }

    public let root: URL
    public let kind: Kind

    public init(_ url: URL) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw EvidenceError(path: url.path, message: "no such file or folder")
        }
        root = url.standardizedFileURL
        if isDir.boolValue {
            kind = .directory
        } else if EvidenceTree.isZip(url) {
            kind = .zip
        } else {
            throw EvidenceError(path: url.path, message: "not a folder or a .zip collection")
        }
    }

    /// The collections of several servers side by side in one folder (`EXCH01/`, `EXCH02/`, or
    /// one `.zip` per server), each to be hunted as a host of its own; empty when `url` is one
    /// server's collection (it looks like one itself) or holds fewer than two.
    public static func hostCollections(in url: URL) -> [URL] {
        guard let entries = try? Platform.list(url.path), !looksLikeCollection(entries) else { return [] }
        var parts: [URL] = []
        for e in entries.sorted(by: { $0.name < $1.name }) {
            let child = url.appendingPathComponent(e.name)
            switch e.kind {
            case .directory:
                if let inner = try? Platform.list(child.path), looksLikeCollection(inner) { parts.append(child) }
            case .file:
                if e.name.lowercased().hasSuffix(".zip"), isZip(child) { parts.append(child) }
            default: break
            }
        }
        return parts.count >= 2 ? parts : []
    }

    /// A folder that is one server's collection: a drive folder (KAPE `C`, Velociraptor `C%3A`),
    /// Velociraptor's `uploads`, a KAPE copy log, or the server's own top folders.
    static func looksLikeCollection(_ entries: [Platform.DirectoryEntry]) -> Bool {
        let tops: Set<String> = ["uploads", "exchange server", "inetpub", "program files", "windows", "logging", "v15", "programdata"]
        return entries.contains { e in
            let n = e.name.lowercased()
            if e.kind == .file { return CollectionMetadata.isCopyLog(n) }
            guard e.kind == .directory else { return false }
            let drive = n.count == 1 || ((n.count == 2 && n.hasSuffix(":")) || (n.count == 4 && n.hasSuffix("%3a")))
            return (drive && n.first?.isLetter == true) || tops.contains(n)
        }
    }

    static func isZip(_ url: URL) -> Bool {
        guard let h = try? Platform.ReadHandle(path: url.path) else { return false }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = (try? magic.withUnsafeMutableBytes { try h.read(into: $0) }) ?? 0
        return n == 4 && magic == [0x50, 0x4B, 0x03, 0x04]
    }

    /// Every regular file, sorted by path. Symbolic links are not followed (a link could point out
    /// of the evidence); unreadable folders are reported through `problems` and skipped.
    public func items(problems: inout [String]) -> [EvidenceItem] {
        var items = listing(problems: &problems)
        // Collection tools' records of the original file times.
        var metadata = CollectionMetadata()
        let reader = makeReader()
        for item in items where CollectionMetadata.isCopyLog(item.name) && item.size < 512 << 20 {
            var data: [UInt8] = []
            if (try? reader.read(item, hash: false) { data.append(contentsOf: $0); return true }) != nil {
                metadata.addKapeCopyLog(String(decoding: data, as: UTF8.self))
            }
        }
        if !metadata.isEmpty {
            for i in items.indices {
                if let t = metadata.times(forWindowsPath: items[i].windowsPath) {
                    items[i].sourceCreated = t.created
                    items[i].sourceModified = t.modified
                    if t.modified != nil { items[i].timeSource = .kapeCopyLog }
                }
            }
        }
        return items
    }

    private func listing(problems: inout [String]) -> [EvidenceItem] {
        switch kind {
        case .directory:
            var out: [EvidenceItem] = []
            var stack: [String] = [""]
            while let rel = stack.popLast() {
                let abs = rel.isEmpty ? root.path : root.path + "/" + rel
                let entries: [Platform.DirectoryEntry]
                do { entries = try Platform.list(abs) } catch {
                    problems.append("\(rel.isEmpty ? "." : rel): cannot list folder: \(error)")
                    continue
                }
                for e in entries {
                    let path = rel.isEmpty ? e.name : rel + "/" + e.name
                    switch e.kind {
                    case .file: out.append(EvidenceItem(path: path, size: e.size, modified: e.modified))
                    case .directory: stack.append(path)
                    case .symlink: problems.append("\(path): symbolic link not followed")
                    case .other: break
                    }
                }
            }
            return out.sorted { $0.path < $1.path }
        case .zip:
            do {
                let archive = try Archive(url: root, accessMode: .read)
                let records = Self.zipRecords(root)
                var out: [EvidenceItem] = []
                for (i, entry) in archive.enumerated() where entry.type == .file {
                    let path = entry.path.replacingOccurrences(of: "\\", with: "/")
                    let modified = entry.fileAttributes[.modificationDate] as? Date
                    var item = EvidenceItem(path: path, size: entry.uncompressedSize, modified: modified, timeSource: .zipDOSTime)
                    // The UTC time of an extra field, when this entry's directory record has one.
                    if i < records.count, records[i].compressedSize == entry.compressedSize, records[i].crc32 == entry.checksum,
                       let utc = records[i].modified, let from = records[i].modifiedFrom {
                        item.sourceModified = utc
                        item.timeSource = from
                    }
                    out.append(item)
                }
                return out.sorted { $0.path < $1.path }
            } catch {
                problems.append("\(root.lastPathComponent): cannot read zip directory: \(error)")
                return []
            }
        }
    }

    /// The central directory's records of a zip (empty when it cannot be read: the listing then
    /// has DOS times only).
    static func zipRecords(_ url: URL) -> [ZipData.Record] {
        guard let handle = try? Platform.ReadHandle(path: url.path),
              let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value,
              let data = try? ZipData(handle, fileSize: size) else { return [] }
        return data.records
    }

    /// A reader for one worker; readers are not shared between threads.
    public func makeReader(hashing: Bool = true) -> EvidenceReader { EvidenceReader(tree: self, hashing: hashing) }
}

public struct EvidenceError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Reads evidence files in chunks and hashes what it reads in the same pass.
public final class EvidenceReader {
    let tree: EvidenceTree
    private var archive: Archive?
    /// Each file entry, with where its data lies when the central directory could be read.
    private var zipIndex: [String: (entry: Entry, record: ZipData.Record?)] = [:]
    private var zipData: ZipData?
    private var zipHandle: Platform.ReadHandle?
    private var buffer: UnsafeMutableRawBufferPointer
    /// Compressed input for inflating zip entries.
    private var compressed: UnsafeMutableRawBufferPointer
    /// 64 KiB: a chunk stays in the core's cache between the kernel's copy and the scan.
    /// Measured (Benchmarks/bench-hunt.sh): 64 KiB reads beat both 1 MiB reads (2.4x) and mmap.
    public static let chunkSize = 64 << 10

    /// Whether reads compute SHA-256 (the manifest's); off only for `--no-hash` triage.
    let hashing: Bool

    init(tree: EvidenceTree, hashing: Bool) {
        self.tree = tree
        self.hashing = hashing
        buffer = .allocate(byteCount: EvidenceReader.chunkSize, alignment: 16)
        compressed = .allocate(byteCount: EvidenceReader.chunkSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        compressed.deallocate()
    }

    public struct Result: Sendable {
        public var bytesRead: UInt64
        /// Hex SHA-256 of the whole file, nil when the read stopped early.
        public var sha256: String?
        /// Hex SHA-1 and MD5, only when asked for (indicator lists still publish them).
        public var sha1: String?
        public var md5: String?
    }

    private struct Stop: Error {}

    /// Reads `item` from the start, handing each chunk to `body`, which returns false to stop.
    /// At most `limit` bytes are read when given.
    /// `hash` overrides the reader's hashing setting for this read (web files are always hashed:
    /// indicator lists need their hashes).
    public func read(_ item: EvidenceItem, limit: UInt64? = nil, hash: Bool? = nil, legacyHashes: Bool = false,
                     _ body: (UnsafeRawBufferPointer) throws -> Bool) throws -> Result {
        let hashing = hash ?? self.hashing
        var hasher = SHA256()
        var sha1 = Insecure.SHA1()
        var md5 = Insecure.MD5()
        var total: UInt64 = 0
        var complete = true
        let cap = limit ?? UInt64.max
        func take(_ chunk: UnsafeRawBufferPointer) throws -> Bool {
            var part = chunk
            if total + UInt64(part.count) > cap {
                part = UnsafeRawBufferPointer(rebasing: chunk[0..<Int(cap - total)])
                complete = false
            }
            if hashing { hasher.update(bufferPointer: part) }
            if legacyHashes {
                sha1.update(bufferPointer: part)
                md5.update(bufferPointer: part)
            }
            total += UInt64(part.count)
            let more = try body(part)
            if !more { complete = false }
            return more && complete
        }
        switch tree.kind {
        case .directory:
            let handle = try Platform.ReadHandle(path: tree.root.path + "/" + item.path)
            while true {
                let n = try handle.read(into: buffer)
                if n == 0 { break }
                if try !take(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) {
                    // A body that stops at the very end has still seen, and hashed, the whole file.
                    if total == item.size { complete = true }
                    break
                }
            }
        case .zip:
            let archive = try openArchive()
            guard let (entry, record) = zipIndex[item.path] else {
                throw EvidenceError(path: item.path, message: "entry vanished from the zip")
            }
            if entry.isCompressed {
                // Inflated here, from the entry's own bytes (ZipData says why not by ZIPFoundation).
                guard let record, let zipData, let zipHandle, record.method == 8 else {
                    throw EvidenceError(path: item.path, message: "compressed entry whose data cannot be located (method or central directory)")
                }
                var stopped = false
                do {
                    try zipData.inflate(record, handle: zipHandle, input: compressed, output: buffer) { chunk in
                        let more = try take(chunk)
                        stopped = !more
                        return more
                    }
                } catch let damage as ZipData.Damage {
                    throw EvidenceError(path: item.path, message: "damaged zip entry: \(damage) (\(total) bytes read)")
                }
                if stopped && total == item.size { complete = true }
            } else {
                do {
                    _ = try archive.extract(entry, bufferSize: EvidenceReader.chunkSize, skipCRC32: false) { data in
                        let more = try data.withUnsafeBytes { try take($0) }
                        if !more { throw Stop() }
                    }
                } catch is Stop {
                    if total == item.size { complete = true }
                }
            }
        }
        func hex<D: Sequence<UInt8>>(_ d: D) -> String { Hex.encode(d) }
        let digest = complete && hashing ? hex(hasher.finalize()) : nil
        let legacy = complete && legacyHashes
        return Result(bytesRead: total, sha256: digest, sha1: legacy ? hex(sha1.finalize()) : nil, md5: legacy ? hex(md5.finalize()) : nil)
    }

    /// How far a `.gz` may inflate: logs compress some tens of times, a run of one probe line a
    /// few hundred; past this it is a bomb, and reading stops with an error.
    public static let maxInflateRatio: UInt64 = 1000

    /// Reads a gzip-compressed item (`u_ex210303.log.gz`), handing `body` its inflated content. The
    /// manifest's hash is of the stored bytes, which are read to the end either way. `truncated`
    /// says the gzip stream ended early (what came before it was handed on).
    public func readInflated(_ item: EvidenceItem, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws
        -> (result: Result, inflated: UInt64, truncated: Bool) {
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: EvidenceReader.chunkSize, alignment: 16)
        defer { out.deallocate() }
        let inflater: Inflater
        do { inflater = try Inflater(.gzip, output: out) } catch { throw EvidenceError(path: item.path, message: error.message) }
        let cap = max(item.size, 1) * Self.maxInflateRatio
        var ended = false, stopped = false
        let result: Result
        do {
            result = try read(item) { chunk in
                // After the stream's end (or the reader's stop) the rest is only hashed.
                guard !ended && !stopped else { return true }
                let progress = try inflater.feed(chunk) { piece in
                    guard inflater.produced <= cap else {
                        throw EvidenceError(path: item.path, message: "gzip data inflates past \(Self.maxInflateRatio) times its size; the rest was not read")
                    }
                    return try body(piece)
                }
                switch progress {
                case .ended: ended = true
                case .stopped: stopped = true
                case .wantsInput: break
                }
                return true
            }
        } catch let damage as Inflater.Damage {
            throw EvidenceError(path: item.path, message: "damaged gzip data: \(damage)")
        }
        return (result, inflater.produced, !ended && !stopped)
    }

    private func openArchive() throws -> Archive {
        if let archive { return archive }
        let a = try Archive(url: tree.root, accessMode: .read)
        let handle = try Platform.ReadHandle(path: tree.root.path)
        let size = (try? FileManager.default.attributesOfItem(atPath: tree.root.path)[.size] as? NSNumber)?.uint64Value ?? 0
        // Unreadable here means compressed entries cannot be read; stored ones still can.
        let data = try? ZipData(handle, fileSize: size)
        for (i, entry) in a.enumerated() {
            // The same directory read twice: a record belongs to an entry only if they agree.
            let record = data.flatMap { d in
                i < d.records.count && d.records[i].compressedSize == entry.compressedSize && d.records[i].crc32 == entry.checksum
                    ? d.records[i] : nil
            }
            if entry.type == .file {
                zipIndex[entry.path.replacingOccurrences(of: "\\", with: "/")] = (entry, record)
            }
        }
        zipData = data
        zipHandle = handle
        archive = a
        return a
    }
}

/// Lowercase hex without a formatter per byte (this runs for every file).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<D: Sequence<UInt8>>(_ bytes: D) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
