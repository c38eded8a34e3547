public import Foundation
import Crypto
import DiskImages
public import HuntCore
import ZIPFoundation

/// A collection of evidence: a folder (plain copy, KAPE, Velociraptor) or a `.zip` of one, which
/// is read in place and never extracted. Nothing here writes to the evidence.
public struct EvidenceTree: Sendable {
    public enum Kind: String, Sendable { case directory, zip, image }

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
        } else if EvidenceTree.isImage(url) {
            kind = .image
        } else {
            throw EvidenceError(path: url.path, message: "not a folder, a .zip collection or a disk image (raw, E01, VMDK, VHD, VHDX)")
        }
    }

    /// The collections of several servers side by side in one folder (`EXCH01/`, `EXCH02/`, one
    /// `.zip` or one disk image per server), each to be hunted as a host of its own; empty when `url` is one
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
                if e.name.lowercased().hasSuffix(".zip"), isZip(child) {
                    parts.append(child)
                } else if !DiskImage.isLaterSegment(e.name), isImage(child) {
                    // One disk image per server (its later segments and VMDK extents go with the first).
                    parts.append(child)
                }
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

    /// Whether the file starts (or, for a fixed VHD, ends) like a disk image, read through the
    /// evidence's read-only handle. (TSK then opens the image itself, without `O_NOATIME`.)
    static func isImage(_ url: URL) -> Bool {
        guard let h = try? Platform.ReadHandle(path: url.path),
              let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value else { return false }
        var head = [UInt8](repeating: 0, count: 1_024), tail = [UInt8](repeating: 0, count: 512)
        let n = (try? head.withUnsafeMutableBytes { try h.read(into: $0, at: 0) }) ?? 0
        let m = size >= 512 ? ((try? tail.withUnsafeMutableBytes { try h.read(into: $0, at: size - 512) }) ?? 0) : 0
        return DiskImage.looksLikeImage(head: Array(head.prefix(n)), tail: Array(tail.prefix(m)))
    }

    static func isZip(_ url: URL) -> Bool {
        guard let h = try? Platform.ReadHandle(path: url.path) else { return false }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = (try? magic.withUnsafeMutableBytes { try h.read(into: $0) }) ?? 0
        return n == 4 && magic == [0x50, 0x4B, 0x03, 0x04]
    }

    /// Every regular file, sorted by path. Symbolic links are not followed (a link could point out
    /// of the evidence); unreadable folders are reported through `problems` and skipped.
    /// A disk image lists only the files a hunt reads (logs, web folders, event logs, dumps, the
    /// places `ArtifactLocation` names), unless `everything` (`--scan-all`): a system volume holds
    /// hundreds of thousands of Windows' own files.
    public func items(problems: inout [String], everything: Bool = false) -> [EvidenceItem] {
        if kind == .image { return image(problems: &problems, everything: everything, hash: false, verify: false).items }
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
        // Every IIS site's folders, where the collection carries IIS's configuration: pages there
        // are read as web pages, wherever the site lives.
        var sites = IISSites()
        for item in items where item.location == .serverConfig && item.name.lowercased() == "applicationhost.config" {
            var data = Data()
            do {
                _ = try reader.read(item, limit: UInt64(IISSites.maxBytes) + 1, hash: false) { data.append(contentsOf: $0); return true }
                problems += sites.add(config: data).map { "\(item.path): \($0)" }
            } catch {
                problems.append("\(item.path): IIS configuration not read: \(error)")
            }
        }
        if !sites.isEmpty {
            for i in items.indices {
                guard let url = sites.url(windowsPath: items[i].windowsPath) else { continue }
                items[i].webURL = url
                if items[i].location == .other { items[i].location = .webRoot }
            }
        }
        // The server's own NTFS metadata, where the collection carries it ($MFT, $J).
        NTFSMetadata.applyToCollection(&items, reader: reader, everything: everything, problems: &problems)
        return items.sorted { $0.path < $1.path }
    }

    /// A disk image's files and its record for the report (its container, segments hashed when
    /// `hash`, volumes, the hashes an E01 records, and with `verify` the MD5 of its media read
    /// now), from one opening of the image.
    public func image(problems: inout [String], everything: Bool, hash: Bool, verify: Bool) -> (items: [EvidenceItem], record: ImageRecord?) {
        let image: DiskImage
        do { image = try DiskImage(path: root.path) } catch {
            problems.append("\(root.lastPathComponent): \(error)")
            return ([], nil)
        }
        var out: [EvidenceItem] = []
        // Every IIS site's folders, from the system volume's IIS configuration.
        var sites = IISSites()
        for volume in image.volumes where volume.name == "C" && volume.shadowCopy == nil {
            if let config = image.contents(volume: volume.number, path: "Windows/System32/inetsrv/config/applicationHost.config", limit: IISSites.maxBytes + 1) {
                problems += sites.add(config: Data(config)).map { "\(root.lastPathComponent) C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config: \($0)" }
            }
        }
        // The live volumes' web folders, to tell what a shadow copy holds that they do not.
        var live: [String: (size: UInt64, modified: Date?)] = [:]
        for volume in image.volumes {
            if let copy = volume.shadowCopy {
                Self.shadowItems(image, volume, copy, live: live, everything: everything, into: &out)
                continue
            }
            image.files(volume: volume) { f in
                // `C:/inetpub/…` (or `vol2:/…` where the letter cannot be told), as the server named it.
                // A reallocated deleted name has no times or content of its own.
                let times = f.reallocated ? nil : f.times
                var item = EvidenceItem(path: "\(volume.name):/\(f.path)", size: f.size, modified: times?.modified, timeSource: .imageFileSystem,
                                        windowsPath: "\(volume.name):\\" + f.path.replacingOccurrences(of: "/", with: "\\"))
                if !sites.isEmpty, let url = sites.url(windowsPath: item.windowsPath) {
                    item.webURL = url
                    if item.location == .other { item.location = .webRoot }
                }
                guard everything || item.location != .other || Self.keptAnywhere.contains(item.fileExtension) else { return }
                item.sourceCreated = times?.created
                item.sourceModified = times?.modified
                item.volume = volume.number
                item.entry = f.entry
                item.fileSystemTimes = times
                item.deleted = f.deleted
                item.reallocated = f.reallocated
                // A deleted file's content is its own only where its clusters were not given to another.
                if f.deleted, !f.reallocated { item.clustersInUse = image.clustersInUse(volume: volume.number, entry: f.entry) }
                if !f.deleted { live["\(volume.number)/\(f.path.lowercased())"] = (f.size, times?.modified) }
                out.append(item)
            }
            // Deleted files whose names left their folders' indexes, and the change journal.
            if volume.fileSystem.lowercased().contains("ntfs") {
                // (Shadow copies were listed above: only the live volume's metadata is read.)
                NTFSMetadata.applyToImage(image, volume: volume, &out, everything: everything, label: root.lastPathComponent, problems: &problems)
            }
        }
        problems += image.problems.map { "\(root.lastPathComponent): \($0)" }
        var record = ImageRecord(format: image.format, size: image.size,
                                 segments: image.segments.map { path in
                                     let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
                                     return ImageRecord.Segment(path: path, size: size, sha256: hash ? Self.sha256(ofFile: path) : nil)
                                 },
                                 volumes: image.volumes.map { v in
                                     ImageRecord.Volume(name: v.name, fileSystem: v.fileSystem, offset: v.offset,
                                                        shadowCopyOf: v.shadowCopy.flatMap { c in image.volumes.first { $0.number == c.of }?.name },
                                                        created: v.shadowCopy?.created)
                                 })
        (record.recordedMD5, record.recordedSHA1) = image.recordedHashes()
        // Said in every image's record, so no report is silent about it.
        record.notRead = ["alternate data streams (name:stream): only each file's main content is read"]
        if verify {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            var md5 = Insecure.MD5()
            do {
                try image.readMedia(buffer: buffer) { md5.update(bufferPointer: $0) }
                record.computedMD5 = Hex.encode(md5.finalize())
                record.verified = record.recordedMD5.map { $0 == record.computedMD5 }
            } catch {
                problems.append("\(root.lastPathComponent): not verified: \(error)")
            }
        }
        return (out.sorted { $0.path < $1.path }, record)
    }

    /// A shadow copy's files, in the places a hunt reads, that its live volume does not hold as
    /// they were (absent, or another size or time): a web folder before a shell appeared, an IIS
    /// log before it was cleared, to be read and matched as any file. Its deleted names are left
    /// to the live volume's own.
    static func shadowItems(_ image: DiskImage, _ volume: DiskImage.Volume, _ copy: DiskImage.ShadowCopy,
                            live: [String: (size: UInt64, modified: Date?)], everything: Bool, into out: inout [EvidenceItem]) {
        image.files(volume: volume) { f in
            guard !f.deleted, !f.reallocated else { return }
            var item = EvidenceItem(path: "\(volume.name):/\(f.path)", size: f.size, modified: f.times.modified, timeSource: .imageFileSystem,
                                    windowsPath: "\(volume.name):\\" + f.path.replacingOccurrences(of: "/", with: "\\"))
            guard everything || item.location != .other || Self.keptAnywhere.contains(item.fileExtension) else { return }
            let now = live["\(copy.of)/\(f.path.lowercased())"]
            if let now, now.size == f.size, now.modified == f.times.modified { return }
            item.sourceCreated = f.times.created
            item.sourceModified = f.times.modified
            item.volume = volume.number
            item.entry = f.entry
            item.fileSystemTimes = f.times
            item.shadowCopy = ShadowCopyFacts(store: copy.store, created: copy.created, live: now == nil ? .absent : .different)
            out.append(item)
        }
    }

    /// Files of an image kept wherever they lie: event logs copied out of `winevt` and memory dumps.
    static let keptAnywhere: Set<String> = ["evtx", "dmp"]

    /// SHA-256 of a whole file, read in 1 MiB chunks (nil if it cannot be read to its end).
    static func sha256(ofFile path: String) -> String? {
        guard let h = try? Platform.ReadHandle(path: path) else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        while true {
            guard let n = try? h.read(into: buffer) else { return nil }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return Hex.encode(hasher.finalize())
    }

    private func listing(problems: inout [String]) -> [EvidenceItem] {
        switch kind {
        case .image:
            return []
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
            // Zips inside the folder (old logs an administrator compressed, an archive an intruder
            // staged) are read in place: their files join the listing beside the zip itself.
            var inside: [EvidenceItem] = []
            for zip in out where zip.fileExtension == "zip" && Self.isZip(root.appendingPathComponent(zip.path)) {
                let budget = Self.maxEntriesInside - inside.count
                guard budget > 0 else {
                    problems.append("\(zip.path): not opened: the zips of this collection already list \(Self.maxEntriesInside) files")
                    continue
                }
                inside += Self.zipItems(root.appendingPathComponent(zip.path), label: zip.path, container: zip.path,
                                        limit: min(budget, Self.maxEntriesPerArchive), problems: &problems)
            }
            return (out + inside).sorted { $0.path < $1.path }
        case .zip:
            return Self.zipItems(root, label: root.lastPathComponent, container: nil, limit: Self.maxEntriesPerArchive, problems: &problems)
                .sorted { $0.path < $1.path }
        }
    }

    /// Files listed from one archive at most, and from all the zips inside a folder collection:
    /// a listing costs memory per entry, and a crafted directory can claim millions.
    static let maxEntriesPerArchive = 200_000
    static let maxEntriesInside = 1_000_000

    /// The files of a zip, with the UTC times of their extra fields where the central directory
    /// has them. `container` is the zip's path in a folder collection (nil for a zip collection).
    static func zipItems(_ url: URL, label: String, container: String?, limit: Int, problems: inout [String]) -> [EvidenceItem] {
        do {
            let archive = try Archive(url: url, accessMode: .read)
            let records = Self.zipRecords(url)
            var out: [EvidenceItem] = []
            var nested = 0
            for (i, entry) in archive.enumerated() where entry.type == .file {
                guard out.count < limit else {
                    problems.append("\(label): only the first \(limit) files of the zip were listed; the rest were not read")
                    break
                }
                let inner = entry.path.replacingOccurrences(of: "\\", with: "/")
                let path = container.map { $0 + "/" + inner } ?? inner
                let modified = entry.fileAttributes[.modificationDate] as? Date
                var item = EvidenceItem(path: path, size: entry.uncompressedSize, modified: modified, timeSource: .zipDOSTime,
                                        container: container)
                // The UTC time of an extra field, when this entry's directory record has one.
                if i < records.count, records[i].compressedSize == entry.compressedSize, records[i].crc32 == entry.checksum,
                   let utc = records[i].modified, let from = records[i].modifiedFrom {
                    item.sourceModified = utc
                    item.timeSource = from
                }
                if item.fileExtension == "zip" { nested += 1 }
                out.append(item)
            }
            // One level only: an archive inside an archive is hashed and checked as a file, not opened.
            if nested > 0 {
                problems.append("\(label): \(nested) zip file(s) inside it were not opened (an archive inside an archive); "
                                + "extract \(container == nil ? "the collection" : "it") and hunt again to read them")
            }
            return out
        } catch {
            problems.append("\(label): cannot read zip directory: \(error)")
            return []
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
    /// Open zips: the collection itself (key "") or zips inside a folder collection (their paths).
    private var zips: [String: ZipSource] = [:]
    /// The disk image's TSK handles, opened by this reader on its first read.
    private var image: DiskImage?
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
        if tree.kind == .image {
            guard let volume = item.volume, let entry = item.entry else {
                throw EvidenceError(path: item.path, message: "not a file of the image")
            }
            // By volume and entry numbers: the listing told the drive letters.
            if image == nil { image = try DiskImage(path: tree.root.path, driveLetters: false) }
            var stopped = false
            do {
                try image?.read(volume: volume, entry: entry, buffer: buffer) { chunk in
                    let more = try take(chunk)
                    stopped = !more
                    return more
                }
            } catch let e as DiskImage.OpenError {
                throw EvidenceError(path: item.path, message: e.description + " (\(total) bytes read)")
            }
            if stopped && total == item.size { complete = true }
            return finish()
        }
        // Where the bytes are: a file of the folder, or an entry of a zip (the collection, or a zip inside it).
        let zip: (source: ZipSource, entry: String)?
        if let container = item.container, tree.kind == .directory {
            zip = (try zipSource(container), String(item.path.dropFirst(container.count + 1)))
        } else if tree.kind == .zip {
            zip = (try zipSource(""), item.path)
        } else {
            zip = nil
        }
        switch zip {
        case nil:
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
        case let (source, path)?:
            guard let (entry, record) = source.index[path] else {
                throw EvidenceError(path: item.path, message: "entry vanished from the zip")
            }
            let archive = source.archive
            let zipData = source.data
            let zipHandle = source.handle
            if entry.isCompressed {
                // Inflated here, from the entry's own bytes (ZipData says why not by ZIPFoundation).
                guard let record, let zipData, record.method == 8 else {
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
        return finish()
        func finish() -> Result {
            func hex<D: Sequence<UInt8>>(_ d: D) -> String { Hex.encode(d) }
            let digest = complete && hashing ? hex(hasher.finalize()) : nil
            let legacy = complete && legacyHashes
            return Result(bytesRead: total, sha256: digest, sha1: legacy ? hex(sha1.finalize()) : nil, md5: legacy ? hex(md5.finalize()) : nil)
        }
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

    /// The open zip at `container` (relative to the root; "" for a zip collection itself). Workers
    /// read files largest first, so a zip's entries are scattered among other files: a few zips
    /// stay open, and the set is dropped whole past that rather than tracked by use.
    private func zipSource(_ container: String) throws -> ZipSource {
        if let open = zips[container] { return open }
        if zips.count >= 4 { zips.removeAll() }
        let url = container.isEmpty ? tree.root : tree.root.appendingPathComponent(container)
        let source = try ZipSource(url)
        zips[container] = source
        return source
    }
}

/// One zip open for reading: ZIPFoundation's view of it, and the central directory as `ZipData`
/// reads it (where each compressed entry's data lies).
final class ZipSource {
    let archive: Archive
    let handle: Platform.ReadHandle
    /// Unreadable means compressed entries cannot be read; stored ones still can.
    let data: ZipData?
    /// Each file entry, with where its data lies when the central directory could be read.
    let index: [String: (entry: Entry, record: ZipData.Record?)]

    init(_ url: URL) throws {
        archive = try Archive(url: url, accessMode: .read)
        handle = try Platform.ReadHandle(path: url.path)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0
        data = try? ZipData(handle, fileSize: size)
        var index: [String: (entry: Entry, record: ZipData.Record?)] = [:]
        for (i, entry) in archive.enumerated() where entry.type == .file {
            // The same directory read twice: a record belongs to an entry only if they agree.
            let record = data.flatMap { d in
                i < d.records.count && d.records[i].compressedSize == entry.compressedSize && d.records[i].crc32 == entry.checksum
                    ? d.records[i] : nil
            }
            index[entry.path.replacingOccurrences(of: "\\", with: "/")] = (entry, record)
        }
        self.index = index
    }
}
