import CTSK
import Foundation

/// The drive letters Windows gave a disk's volumes, as its SYSTEM hive's `MountedDevices` key
/// records them: a value `\DosDevices\D:` whose data names the volume, by the MBR disk's
/// signature and the partition's byte offset (12 bytes), or by the GPT partition's unique GUID
/// (`DMIO:ID:` and 16 bytes). The hive is read with libregf; the disk's identities from its own
/// partition table.
enum DriveLetters {
    /// How a volume is named in `MountedDevices`: the MBR disk's signature with the partition's
    /// byte offset, or the GPT partition's unique GUID.
    struct Identity: Hashable {
        var mbrSignature: UInt32?
        var mbrOffset: UInt64?
        var gptGUID: [UInt8]?
    }

    /// The largest SYSTEM hive read (real ones are tens of MiB).
    static let maxHive = 256 << 20

    /// `MountedDevices`' values: the letter each `\DosDevices\X:` value names, with its data.
    static func mountedDevices(hive: [UInt8]) throws -> [(letter: String, data: [UInt8])] {
        guard let lib = RegfLibrary.shared else { throw Failure("libregf is not installed (Debian's libregf1)") }
        let source = ByteSource(size: Int64(hive.count)) { at, buffer in
            guard at >= 0, at < Int64(hive.count) else { return 0 }
            let n = min(buffer.count, hive.count - Int(at))
            hive.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(at)..<(Int(at) + n)])) }
            return n
        }
        return try withExtendedLifetime(source) { () -> [(String, [UInt8])] in
            var range = source.makeHandle(lib.bfioHandleInitialize)
            var file: YalLibrary.Handle?
            var key: YalLibrary.Handle?
            defer {
                if key != nil { _ = lib.keyFree(&key, nil) }
                if file != nil {
                    _ = lib.fileClose(file, nil)
                    _ = lib.fileFree(&file, nil)
                }
                if range != nil { _ = lib.bfioFree(&range, nil) }
            }
            guard range != nil, lib.fileInitialize(&file, nil) == 1 else { throw Failure("libregf could not be set up") }
            var error: YalLibrary.Handle?
            guard lib.fileOpen(file, range, 1, &error) == 1 else {
                lib.errorFree(&error)
                throw Failure("not a registry hive libregf can read")
            }
            let path = Array("MountedDevices".utf8)
            guard lib.keyByPath(file, path, path.count, &key, nil) == 1 else { return [] }
            var count: Int32 = 0
            _ = lib.valueCount(key, &count, nil)
            var out: [(String, [UInt8])] = []
            // A crafted hive can claim any number; MountedDevices holds a few dozen.
            for i in 0..<min(max(0, count), 4096) {
                var value: YalLibrary.Handle?
                guard lib.value(key, i, &value, nil) == 1, value != nil else { continue }
                defer { _ = lib.valueFree(&value, nil) }
                var nameSize = 0, dataSize = 0
                guard lib.nameSize(value, &nameSize, nil) == 1, nameSize > 0, nameSize < 1024,
                      lib.dataSize(value, &dataSize, nil) == 1, dataSize > 0, dataSize <= 4096 else { continue }
                var name = [UInt8](repeating: 0, count: nameSize), data = [UInt8](repeating: 0, count: dataSize)
                guard lib.name(value, &name, nameSize, nil) == 1, lib.data(value, &data, dataSize, nil) == 1 else { continue }
                let text = String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
                // `\DosDevices\D:`: a letter, where `\??\Volume{…}` names a volume by its GUID only.
                let prefix = "\\DosDevices\\"
                guard text.hasPrefix(prefix), text.count == prefix.count + 2, text.hasSuffix(":"),
                      let letter = text.dropFirst(prefix.count).first, letter.isLetter else { continue }
                out.append((String(letter).uppercased(), data))
            }
            return out
        }
    }

    /// The identity a value's data names, if it names a partition (not a removable device).
    static func identity(_ data: [UInt8]) -> Identity? {
        if data.count == 12 {
            let sig = data[0..<4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            let off = data[4..<12].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            return Identity(mbrSignature: sig, mbrOffset: off)
        }
        if data.count == 24, data.starts(with: Array("DMIO:ID:".utf8)) {
            return Identity(gptGUID: Array(data[8..<24]))
        }
        return nil
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

extension DiskImage {
    /// Each partition's identity as `MountedDevices` names it, by the partition's byte offset:
    /// the MBR's disk signature (bytes 440-443) with the offset, or the GPT entry's unique GUID.
    /// Read from the disk's own bytes, every field bounded.
    func partitionIdentities(blockSize: UInt32, isGPT: Bool) -> [UInt64: DriveLetters.Identity] {
        func read(_ offset: Int64, _ count: Int) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { tsk_img_read(imageHandle, offset, $0.baseAddress?.assumingMemoryBound(to: CChar.self), count) }
            return n == count ? buffer : nil
        }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) } }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
        var out: [UInt64: DriveLetters.Identity] = [:]
        if !isGPT {
            guard let mbr = read(0, 512) else { return [:] }
            let signature = u32(mbr, 440)
            for v in volumes where v.shadowCopy == nil {
                out[v.offset] = DriveLetters.Identity(mbrSignature: signature, mbrOffset: v.offset)
            }
            return out
        }
        let sector = Int64(max(512, min(blockSize, 4096)))
        guard let header = read(sector, 92), header.starts(with: Array("EFI PART".utf8)) else { return [:] }
        let entriesAt = u64(header, 72), count = Int(u32(header, 80)), size = Int(u32(header, 84))
        guard size >= 128, size <= 4096, count > 0, count <= 1024,
              entriesAt < UInt64(Int64.max) / UInt64(sector), let entries = read(Int64(entriesAt) * sector, count * size) else { return [:] }
        for i in 0..<count {
            let e = Array(entries[(i * size)..<(i * size + 128)])
            let first = u64(e, 32)
            guard first != 0, first < UInt64.max / UInt64(sector) else { continue }
            out[first * UInt64(sector)] = DriveLetters.Identity(gptGUID: Array(e[16..<32]))
        }
        return out
    }
}
