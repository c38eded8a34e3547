import CEWF
import CTSK
public import Foundation
public import HuntCore

/// A disk image read in place through The Sleuth Kit: raw (`dd`, split `.001…`), E01 (split
/// `.E01/.E02…`), VMDK, VHD and VHDX, told apart by their bytes. Its partition table (MBR, GPT)
/// and every file system in it are found at open; files are listed and read by MFT entry (inode)
/// number. Nothing is mounted, written or copied.
///
/// One instance is one set of TSK handles: not shared between threads. Each reader of a hunt
/// opens its own (TSK's read cache is per image handle).
public final class DiskImage {
    /// A file system found in the image.
    public struct Volume: Sendable, Hashable {
        /// 1-based, in the order of the partition table.
        public var number: Int
        /// The drive letter Windows gives it where the image tells (the volume with `Windows\System32`
        /// is `C`), else `vol<number>`.
        public var name: String
        /// Byte offset of the volume in the image.
        public var offset: UInt64
        public var fileSystem: String
        /// Set for a shadow copy of a volume: the volume as it was when the copy was made.
        public var shadowCopy: ShadowCopy?
    }

    /// A Volume Shadow Copy Service store of a live volume.
    public struct ShadowCopy: Sendable, Hashable {
        /// The live volume's number.
        public var of: Int
        /// 1-based, in the catalog's order (oldest first).
        public var store: Int
        public var created: Date?
    }

    /// A regular file of a volume: allocated, or deleted with its name still in its folder's index.
    public struct File: Sendable {
        public var volume: Int
        /// The path inside the volume, `/`-separated, without a leading `/`.
        public var path: String
        public var entry: UInt64
        public var size: UInt64
        public var times: FileSystemTimes
        /// The name was deleted (its folder's index still holds it).
        public var deleted: Bool
        /// For a deleted name: its MFT entry now belongs to another file (or is in use again), so
        /// its size, times and content are not this file's and are left out.
        public var reallocated: Bool
    }

    public struct OpenError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The container format TSK recognised (`raw`, `ewf`, `vmdk`, `vhd`).
    public let format: String
    /// The disk's size in bytes, as the container says.
    public let size: UInt64
    /// The image's files, in order (one, or the segments of a split image TSK found).
    public let segments: [String]
    public private(set) var volumes: [Volume] = []
    /// What could not be read, each located (a partition without a readable file system, …).
    public private(set) var problems: [String] = []

    private let image: UnsafeMutablePointer<TSK_IMG_INFO>
    /// For the readers of this module's other files (the partition table's own bytes).
    var imageHandle: UnsafeMutablePointer<TSK_IMG_INFO> { image }
    private var volumeSystem: UnsafeMutablePointer<TSK_VS_INFO>?
    private var fileSystems: [UnsafeMutablePointer<TSK_FS_INFO>] = []
    /// Each live volume's length in bytes, for its shadow copies' reader.
    private var lengths: [UInt64] = []
    private var shadowCopies: [ShadowCopies] = []

    /// Opens the image whose (first) segment is `path`; TSK finds the other segments of a split
    /// raw or E01 image beside it. Throws when no file system can be read in it: a file that is
    /// not a disk image is read by TSK as raw bytes, and only a volume tells it is one.
    ///
    /// `driveLetters`: read the system volume's SYSTEM hive for the other volumes' letters (the
    /// listing needs them; a reader that reads files by volume number does not, and would read
    /// the hive once more for each worker).
    public init(path: String, driveLetters: Bool = true) throws {
        tsk_error_reset()
        guard let image = tsk_img_open_utf8_sing(path, TSK_IMG_TYPE_DETECT, 0) else {
            throw OpenError(description: "not a disk image TSK can open: \(Self.lastError())")
        }
        self.image = image
        size = UInt64(clamping: image.pointee.size)
        format = Self.formatName(image.pointee.itype)
        var segments: [String] = []
        if let names = image.pointee.images {
            for i in 0..<Int(max(0, image.pointee.num_img)) {
                if let name = names[i] { segments.append(String(cString: name)) }
            }
        }
        self.segments = segments.isEmpty ? [path] : segments
        openVolumes()
        guard !fileSystems.isEmpty else {
            let said = problems.isEmpty ? "" : " (\(problems.joined(separator: "; ")))"
            close()
            throw OpenError(description: "no file system found in it as a \(format) image\(said)")
        }
        nameVolumes(fromHive: driveLetters)
        openShadowCopies()
    }

    deinit { close() }

    private var closed = false

    /// Idempotent: an init that throws closes, and deinit runs after it all the same.
    private func close() {
        guard !closed else { return }
        closed = true
        // Shadow copies' file systems are theirs to close, before the image they read through.
        let live = fileSystems.count - shadowCopies.reduce(0) { $0 + $1.stores.count }
        for fs in fileSystems.prefix(max(0, live)) { tsk_fs_close(fs) }
        fileSystems.removeAll()
        for s in shadowCopies { s.release() }
        shadowCopies.removeAll()
        if let vs = volumeSystem { tsk_vs_close(vs) }
        volumeSystem = nil
        tsk_img_close(image)
    }

    /// Whether a file starts like a disk image container (E01, VMDK, VHD/VHDX) or a disk or volume
    /// (MBR, GPT, NTFS boot sector), from its first 1,024 bytes and its last 512 (a fixed VHD has
    /// its footer at the end only): cheap, before TSK is asked. The caller reads the bytes (with
    /// the evidence's own read-only handle).
    public static func looksLikeImage(head: [UInt8], tail: [UInt8]) -> Bool {
        func at(_ offset: Int, _ text: [UInt8]) -> Bool {
            head.count >= offset + text.count && head[offset..<offset + text.count].elementsEqual(text)
        }
        if at(0, [0x45, 0x56, 0x46, 0x09, 0x0D, 0x0A, 0xFF, 0x00]) { return true }     // EWF (E01)
        if at(0, Array("KDMV".utf8)) || at(0, Array("# Disk DescriptorFile".utf8)) { return true }  // VMDK
        if at(0, Array("vhdxfile".utf8)) || at(0, Array("conectix".utf8)) { return true }           // VHDX, VHD (dynamic)
        if at(3, Array("NTFS    ".utf8)) { return true }                                            // a bare NTFS volume
        if at(512, Array("EFI PART".utf8)) { return true }                                           // GPT
        if head.count >= 512, head[510] == 0x55, head[511] == 0xAA { return true }                  // MBR (or a FAT boot sector)
        return tail.starts(with: Array("conectix".utf8))                                            // fixed VHD
    }

    /// A file that is part of an image named by another: the later segments of a split image
    /// (`.E02`, `.E0A`, `.002`, `.aab`) and a VMDK's extents (`-flat.vmdk`, `-s001.vmdk`,
    /// `-000001.vmdk` deltas), which TSK reads through the first file or the descriptor.
    public static func isLaterSegment(_ name: String) -> Bool {
        let lower = name.lowercased()
        guard let dot = lower.lastIndex(of: ".") else { return false }
        let ext = lower[lower.index(after: dot)...]
        let stem = lower[..<dot]
        if ext.count == 3, ext.first == "e", ext != "e01", ext.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber }) { return true }
        if ext.count == 3, ext.allSatisfy(\.isNumber), ext != "001", ext != "000" { return true }
        if ext == "vmdk", stem.hasSuffix("-flat") || stem.range(of: #"-(s|delta-)?\d{3,6}$"#, options: .regularExpression) != nil { return true }
        return false
    }

    // MARK: - Volumes

    private func openVolumes() {
        if let vs = tsk_vs_open(image, 0, TSK_VS_TYPE_DETECT) {
            volumeSystem = vs
            let count = Int(vs.pointee.part_count)
            for i in 0..<count {
                guard let part = tsk_vs_part_get(vs, TSK_PNUM_T(i)) else { continue }
                guard part.pointee.flags.rawValue & TSK_VS_PART_FLAG_ALLOC.rawValue != 0 else { continue }
                let start = UInt64(clamping: part.pointee.start) &* UInt64(vs.pointee.block_size)
                let bytes = UInt64(clamping: part.pointee.len) &* UInt64(vs.pointee.block_size)
                tsk_error_reset()
                if let fs = tsk_fs_open_vol(part, TSK_FS_TYPE_DETECT) {
                    add(fs, offset: start, length: bytes)
                } else if bytes >= 64 << 20 {
                    // Small partitions (boot loaders, Microsoft's reserved one) hold no evidence.
                    let desc = part.pointee.desc.map { String(cString: $0) } ?? "?"
                    problems.append("partition \(i) (\(desc), at byte \(start), \(bytes) bytes): no file system exhunt can read: \(Self.lastError())")
                }
            }
        } else {
            // No partition table: a volume image (an NTFS volume imaged on its own).
            tsk_error_reset()
            if let fs = tsk_fs_open_img(image, 0, TSK_FS_TYPE_DETECT) {
                add(fs, offset: 0, length: size)
            } else {
                problems.append("no partition table and no file system at the start: \(Self.lastError())")
            }
        }
    }

    private func add(_ fs: UnsafeMutablePointer<TSK_FS_INFO>, offset: UInt64, length: UInt64) {
        fileSystems.append(fs)
        lengths.append(length)
        let type = tsk_fs_type_toname(fs.pointee.ftype).map { String(cString: $0) } ?? "unknown"
        volumes.append(Volume(number: fileSystems.count, name: "vol\(fileSystems.count)", offset: offset, fileSystem: type))
    }

    /// The system volume is `C`: the first with `Windows\System32`. The other volumes' letters are
    /// in its SYSTEM hive (`MountedDevices`, matched to the partition table); a volume that the
    /// hive does not name, or a disk without one, keeps `vol<N>`.
    private func nameVolumes(fromHive: Bool) {
        for (i, fs) in fileSystems.enumerated() {
            var inum: TSK_INUM_T = 0
            tsk_error_reset()
            if tsk_fs_path2inum(fs, "/Windows/System32", &inum, nil) == 0 {
                volumes[i].name = "C"
                if fromHive { nameFromHive(system: i) }
                return
            }
        }
    }

    private func nameFromHive(system index: Int) {
        guard let vs = volumeSystem else { return }
        guard let hive = contents(volume: index + 1, path: "Windows/System32/config/SYSTEM", limit: DriveLetters.maxHive) else {
            if volumes.count > 1 {
                problems.append("C: has no readable Windows\\System32\\config\\SYSTEM: the other volumes' drive letters are not told (vol<N>)")
            }
            return
        }
        do {
            let values = try DriveLetters.mountedDevices(hive: hive)
            let isGPT = vs.pointee.vstype == TSK_VS_TYPE_GPT
            let identities = partitionIdentities(blockSize: vs.pointee.block_size, isGPT: isGPT)
            var taken = Set(volumes.map(\.name))
            for (letter, data) in values.sorted(by: { $0.letter < $1.letter }) {
                guard let id = DriveLetters.identity(data),
                      let i = volumes.indices.first(where: { volumes[$0].shadowCopy == nil && identities[volumes[$0].offset] == id }),
                      volumes[i].name != "C", !taken.contains(letter), letter != "C" else { continue }
                taken.insert(letter)
                volumes[i].name = letter
            }
        } catch {
            problems.append("C: drive letters not read from Windows\\System32\\config\\SYSTEM: \(error); other volumes are vol<N>")
        }
    }

    /// Every NTFS volume's shadow copies, each one more volume (`C-vss1`, `C-vss2`, oldest first)
    /// listed and read as the live ones are.
    private func openShadowCopies() {
        if VShadowLibrary.shared == nil, volumes.contains(where: { $0.fileSystem.lowercased().contains("ntfs") }) {
            problems.append("volume shadow copies were not looked for: libvshadow is not installed (Debian's libvshadow1)")
            return
        }
        for live in volumes where live.fileSystem.lowercased().contains("ntfs") && live.shadowCopy == nil {
            guard lengths.indices.contains(live.number - 1),
                  let copies = ShadowCopies(image: image, offset: live.offset, size: lengths[live.number - 1],
                                            label: live.name, problems: &problems) else { continue }
            shadowCopies.append(copies)
            for store in copies.stores {
                fileSystems.append(store.fileSystem)
                let type = tsk_fs_type_toname(store.fileSystem.pointee.ftype).map { String(cString: $0) } ?? "unknown"
                volumes.append(Volume(number: fileSystems.count, name: "\(live.name)-vss\(store.index)", offset: live.offset, fileSystem: type,
                                      shadowCopy: ShadowCopy(of: live.number, store: store.index, created: store.created)))
            }
        }
    }

    // MARK: - Files

    /// Most directory entries a walk visits in one volume: a crafted file system can claim more.
    public static let maxEntriesPerVolume = 20_000_000

    /// Every regular file of `volume`, allocated and deleted, handed to `visit` as the walk finds
    /// it (nothing is kept here: memory stays flat whatever the volume holds). TSK's walk keeps
    /// track of the folders it has entered, so a directory index that loops ends. NTFS metadata
    /// files (`$MFT`, `$LogFile`, …) are not listed; the orphan files TSK would search the whole
    /// MFT for are not either (deleted files are found through their folders' indexes).
    public func files(volume: Volume, visit: (File) -> Void) {
        let index = volume.number - 1
        guard fileSystems.indices.contains(index) else { return }
        let fs = fileSystems[index]
        let isNTFS = fs.pointee.ftype.rawValue & TSK_FS_TYPE_NTFS_DETECT.rawValue != 0
        withoutActuallyEscaping(visit) { visit in
            let walk = Walk(volume: volume.number, isNTFS: isNTFS, visit: visit)
            let flags = TSK_FS_DIR_WALK_FLAG_ENUM(rawValue: TSK_FS_DIR_WALK_FLAG_ALLOC.rawValue | TSK_FS_DIR_WALK_FLAG_UNALLOC.rawValue
                                                    | TSK_FS_DIR_WALK_FLAG_RECURSE.rawValue | TSK_FS_DIR_WALK_FLAG_NOORPHAN.rawValue)
            tsk_error_reset()
            let context = Unmanaged.passUnretained(walk).toOpaque()
            let status = tsk_fs_dir_walk(fs, fs.pointee.root_inum, flags, { file, parent, context in
                guard let file, let context else { return TSK_WALK_CONT }
                return Unmanaged<Walk>.fromOpaque(context).takeUnretainedValue().visit(file, parent)
            }, context)
            if walk.deletedCapped {
                problems.append("\(volume.name): more than \(Walk.maxDeleted) deleted names; the rest were not listed")
            }
            if walk.stoppedAtLimit {
                problems.append("\(volume.name): more than \(Self.maxEntriesPerVolume) entries; the rest of the volume was not listed")
            } else if status != 0 {
                problems.append("\(volume.name): the listing stopped early: \(Self.lastError())")
            }
            withExtendedLifetime(walk) {}
        }
    }

    /// Reads a file by its entry number from the start (for a deleted file that is not
    /// reallocated: its last content, as far as its clusters were not written over since), handing `body` chunks of at most
    /// `buffer.count` bytes until it returns false or the file ends.
    public func read(volume: Int, entry: UInt64, buffer: UnsafeMutableRawBufferPointer,
                     _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        guard fileSystems.indices.contains(volume - 1) else { throw OpenError(description: "no volume \(volume) in the image") }
        let fs = fileSystems[volume - 1]
        tsk_error_reset()
        guard let file = tsk_fs_file_open_meta(fs, nil, TSK_INUM_T(entry)) else {
            throw OpenError(description: "cannot open MFT entry \(entry): \(Self.lastError())")
        }
        defer { tsk_fs_file_close(file) }
        guard let meta = file.pointee.meta else { throw OpenError(description: "MFT entry \(entry) has no metadata") }
        let size = max(0, meta.pointee.size)
        var offset: TSK_OFF_T = 0
        while offset < size {
            let want = Int(min(TSK_OFF_T(buffer.count), size - offset))
            let n = tsk_fs_file_read(file, offset, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), want, TSK_FS_FILE_READ_FLAG_NONE)
            guard n > 0 else {
                throw OpenError(description: "MFT entry \(entry): read failed at byte \(offset) of \(size): \(Self.lastError())")
            }
            offset += TSK_OFF_T(n)
            if try !body(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { return }
        }
    }

    /// Reads a named data stream of the file at `path` (`$Extend/$UsnJrnl`, stream `$J`), from
    /// its first allocated byte: the change journal's stream is sparse up to where its live part
    /// begins, and the gigabytes of zeros before it are skipped, not read. `body` gets the stream's
    /// offset of each chunk. Returns false when the file or stream is not there.
    @discardableResult
    public func readStream(volume: Int, path: String, stream: String, buffer: UnsafeMutableRawBufferPointer,
                           _ body: (Int64, UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        guard fileSystems.indices.contains(volume - 1) else { throw OpenError(description: "no volume \(volume) in the image") }
        let fs = fileSystems[volume - 1]
        tsk_error_reset()
        guard let file = tsk_fs_file_open(fs, nil, "/" + path) else { return false }
        defer { tsk_fs_file_close(file) }
        var found: UnsafePointer<TSK_FS_ATTR>?
        for i in 0..<max(0, tsk_fs_file_attr_getsize(file)) {
            guard let attr = tsk_fs_file_attr_get_idx(file, i), attr.pointee.type == TSK_FS_ATTR_TYPE_NTFS_DATA,
                  let name = attr.pointee.name, String(cString: name) == stream else { continue }
            found = attr
            break
        }
        guard let attr = found else { return false }
        let size = max(0, attr.pointee.size)
        var offset: TSK_OFF_T = 0
        if attr.pointee.flags.rawValue & TSK_FS_ATTR_NONRES.rawValue != 0 {
            // The first run that is neither sparse nor filler; runs count in file-system blocks.
            let block = TSK_OFF_T(fs.pointee.block_size)
            var run = attr.pointee.nrd.run
            var guardCount = 0
            while let r = run, guardCount < 10_000_000 {
                guardCount += 1
                let flags = r.pointee.flags.rawValue
                if flags & (TSK_FS_ATTR_RUN_FLAG_SPARSE.rawValue | TSK_FS_ATTR_RUN_FLAG_FILLER.rawValue) == 0 {
                    let (start, overflow) = TSK_OFF_T(r.pointee.offset).multipliedReportingOverflow(by: block)
                    // Rounded down to 64 KiB, so a caller that decodes in pages sees them aligned.
                    offset = overflow ? size : min(size, start - start % 65_536)
                    break
                }
                run = r.pointee.next
            }
        }
        while offset < size {
            let want = Int(min(TSK_OFF_T(buffer.count), size - offset))
            let n = tsk_fs_attr_read(attr, offset, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), want, TSK_FS_FILE_READ_FLAG_NONE)
            guard n > 0 else {
                throw OpenError(description: "\(path):\(stream): read failed at byte \(offset) of \(size): \(Self.lastError())")
            }
            if try !body(offset, UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { return true }
            offset += TSK_OFF_T(n)
        }
        return true
    }

    /// The content of the file at `path` (`Windows/System32/inetsrv/config/applicationHost.config`),
    /// at most `limit` bytes; nil when it is not there or cannot be read.
    public func contents(volume: Int, path: String, limit: Int) -> [UInt8]? {
        guard fileSystems.indices.contains(volume - 1) else { return nil }
        var inum: TSK_INUM_T = 0
        tsk_error_reset()
        guard tsk_fs_path2inum(fileSystems[volume - 1], "/" + path, &inum, nil) == 0 else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var out: [UInt8] = []
        do {
            try read(volume: volume, entry: UInt64(inum), buffer: buffer) { chunk in
                out.append(contentsOf: chunk.prefix(limit - out.count))
                return out.count < limit
            }
        } catch { return nil }
        return out
    }

    /// For a deleted file: how many of its clusters the volume's bitmap now gives to other files
    /// (its content there is theirs, not its own); 0 when none, nil when it cannot be told.
    /// Resident content (in the MFT record itself) counts as its own.
    public func clustersInUse(volume: Int, entry: UInt64) -> Int? {
        guard fileSystems.indices.contains(volume - 1) else { return nil }
        tsk_error_reset()
        guard let file = tsk_fs_file_open_meta(fileSystems[volume - 1], nil, TSK_INUM_T(entry)) else { return nil }
        defer { tsk_fs_file_close(file) }
        final class Count { var taken = 0 }
        let count = Count()
        let flags = TSK_FS_FILE_WALK_FLAG_ENUM(rawValue: TSK_FS_FILE_WALK_FLAG_AONLY.rawValue | TSK_FS_FILE_WALK_FLAG_NOSPARSE.rawValue)
        let status = withExtendedLifetime(count) {
            tsk_fs_file_walk(file, flags, { _, _, _, _, _, blockFlags, context in
                guard let context else { return TSK_WALK_STOP }
                if blockFlags.rawValue & TSK_FS_BLOCK_FLAG_ALLOC.rawValue != 0, blockFlags.rawValue & TSK_FS_BLOCK_FLAG_RES.rawValue == 0 {
                    Unmanaged<Count>.fromOpaque(context).takeUnretainedValue().taken += 1
                }
                return TSK_WALK_CONT
            }, Unmanaged.passUnretained(count).toOpaque())
        }
        return status == 0 ? count.taken : nil
    }

    // MARK: - The media

    /// The hashes an E01 records of its media (what the imager computed when it acquired it), as
    /// lowercase hex; nil where it has none or is not an E01.
    public func recordedHashes() -> (md5: String?, sha1: String?) {
        guard format == "ewf", let first = segments.first else { return (nil, nil) }
        var error: UnsafeMutablePointer<libewf_error_t>?
        defer { if error != nil { libewf_error_free(&error) } }
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var count: Int32 = 0
        guard libewf_glob(first, first.utf8.count, 0, &names, &count, &error) == 1, let names else { return (nil, nil) }
        defer { libewf_glob_free(names, count, nil) }
        var handle: UnsafeMutablePointer<libewf_handle_t>?
        guard libewf_handle_initialize(&handle, &error) == 1, handle != nil else { return (nil, nil) }
        defer { libewf_handle_free(&handle, nil) }
        let opened = libewf_handle_open(handle, names, count, Int32(LIBEWF_ACCESS_FLAG_READ.rawValue), &error)
        guard opened == 1 else { return (nil, nil) }
        defer { libewf_handle_close(handle, nil) }
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        var md5 = [UInt8](repeating: 0, count: 16), sha1 = [UInt8](repeating: 0, count: 20)
        let hasMD5 = libewf_handle_get_md5_hash(handle, &md5, md5.count, nil) == 1
        let hasSHA1 = libewf_handle_get_sha1_hash(handle, &sha1, sha1.count, nil) == 1
        return (hasMD5 ? hex(md5) : nil, hasSHA1 ? hex(sha1) : nil)
    }

    /// Reads the whole media (the disk the image stands for, not its container files) from the
    /// start, handing `body` each chunk; what `--verify-image` hashes. Throws where it cannot be read.
    public func readMedia(buffer: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        var offset: TSK_OFF_T = 0
        let total = TSK_OFF_T(clamping: size)
        while offset < total {
            let want = Int(min(TSK_OFF_T(buffer.count), total - offset))
            tsk_error_reset()
            let n = tsk_img_read(image, offset, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), want)
            guard n > 0 else { throw OpenError(description: "the image cannot be read at byte \(offset) of \(total): \(Self.lastError())") }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += TSK_OFF_T(n)
        }
    }

    // MARK: - Helpers

    static func lastError() -> String {
        guard let text = tsk_error_get() else { return "no detail" }
        return String(cString: text).replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
    }

    static func formatName(_ type: TSK_IMG_TYPE_ENUM) -> String {
        let raw = type.rawValue
        if raw & TSK_IMG_TYPE_EWF_EWF.rawValue != 0 { return "ewf" }
        if raw & TSK_IMG_TYPE_VMDK_VMDK.rawValue != 0 { return "vmdk" }
        if raw & TSK_IMG_TYPE_VHD_VHD.rawValue != 0 { return "vhd" }
        if raw & TSK_IMG_TYPE_RAW.rawValue != 0 { return "raw" }
        return "other"
    }

    static func date(_ seconds: time_t, _ nanos: Int) -> Date? {
        // 0 is "not recorded" (and 1601-01-01 for NTFS, which TSK gives as 0 too).
        guard seconds != 0 else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + Double(max(0, min(nanos, 999_999_999))) / 1e9)
    }
}

/// One directory walk's state, reached from TSK's C callback through its context pointer.
private final class Walk {
    let volume: Int
    let isNTFS: Bool
    let sink: (DiskImage.File) -> Void
    var entries = 0
    var stoppedAtLimit = false
    /// Deleted names already handed on: a folder's index can hold one twice (in its slack). At
    /// most 200,000 are kept (about 20 MB); past that, further deleted names are not listed.
    var deletedSeen = Set<String>()
    var deletedCapped = false
    static let maxDeleted = 200_000

    init(volume: Int, isNTFS: Bool, visit: @escaping (DiskImage.File) -> Void) {
        self.volume = volume
        self.isNTFS = isNTFS
        self.sink = visit
    }

    func visit(_ file: UnsafeMutablePointer<TSK_FS_FILE>, _ parent: UnsafePointer<CChar>?) -> TSK_WALK_RET_ENUM {
        entries += 1
        if entries > DiskImage.maxEntriesPerVolume {
            stoppedAtLimit = true
            return TSK_WALK_STOP
        }
        // A deleted name's type is often unknown (`-/r` in fls): its entry's type decides then.
        guard let name = file.pointee.name,
              name.pointee.type == TSK_FS_NAME_TYPE_REG || name.pointee.type == TSK_FS_NAME_TYPE_UNDEF,
              let cName = name.pointee.name else { return TSK_WALK_CONT }
        let deleted = name.pointee.flags.rawValue & TSK_FS_NAME_FLAG_UNALLOC.rawValue != 0
        // A deleted name whose index entry no longer points at an MFT entry (Windows zeroes the
        // reference at times: fls's `r/- * 0`) is a name only, as a reallocated one is.
        let nameOnly = deleted && (file.pointee.meta == nil || (isNTFS && name.pointee.meta_addr == 0))
        let meta = file.pointee.meta
        // A deleted name whose entry is in use again, or was reused since: freeing an entry raises
        // its sequence number by one, so more than one means another file had it.
        let reallocated = nameOnly || (deleted && meta.map { m in
            m.pointee.flags.rawValue & TSK_FS_META_FLAG_ALLOC.rawValue != 0
                || (isNTFS && UInt64(m.pointee.seq) > UInt64(name.pointee.meta_seq) + 1)
        } ?? false)
        guard reallocated || meta?.pointee.type == TSK_FS_META_TYPE_REG else { return TSK_WALK_CONT }
        let base = String(decoding: UnsafeRawBufferPointer(start: cName, count: strlen(cName)), as: UTF8.self)
        let folder = parent.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? ""
        // NTFS's own files ($MFT, $LogFile, $Bitmap… at the root, and all of $Extend) are metadata, read otherwise.
        if (folder.isEmpty && base.hasPrefix("$")) || folder == "$Extend" || folder.hasPrefix("$Extend/") { return TSK_WALK_CONT }
        let path = folder.isEmpty ? base : (folder.hasSuffix("/") ? folder + base : folder + "/" + base)
        if deleted {
            guard deletedSeen.count < Self.maxDeleted else { deletedCapped = true; return TSK_WALK_CONT }
            guard deletedSeen.insert("\(name.pointee.meta_addr)/\(path)").inserted else { return TSK_WALK_CONT }
        }
        guard !reallocated, let m = meta?.pointee else {
            sink(DiskImage.File(volume: volume, path: path, entry: UInt64(name.pointee.meta_addr), size: 0, times: FileSystemTimes(),
                                deleted: true, reallocated: true))
            return TSK_WALK_CONT
        }
        var times = FileSystemTimes(created: DiskImage.date(m.crtime, Int(m.crtime_nano)), modified: DiskImage.date(m.mtime, Int(m.mtime_nano)),
                                    changed: DiskImage.date(m.ctime, Int(m.ctime_nano)), accessed: DiskImage.date(m.atime, Int(m.atime_nano)))
        if isNTFS {
            let n = m.time2.ntfs
            times.nameCreated = DiskImage.date(n.fn_crtime, Int(n.fn_crtime_nano))
            times.nameModified = DiskImage.date(n.fn_mtime, Int(n.fn_mtime_nano))
            times.nameChanged = DiskImage.date(n.fn_ctime, Int(n.fn_ctime_nano))
            times.nameAccessed = DiskImage.date(n.fn_atime, Int(n.fn_atime_nano))
        }
        sink(DiskImage.File(volume: volume, path: path, entry: UInt64(m.addr), size: UInt64(clamping: m.size), times: times,
                            deleted: deleted, reallocated: false))
        return TSK_WALK_CONT
    }
}
