import Crypto
import Foundation
import Testing
import TestSupport

/// Debian's tools that make real disk images: mkntfs and ntfs-3g (FUSE, as root) to write an NTFS
/// volume with chosen times, qemu-img for VMDK/VHD/VHDX, ewfacquire for E01.
enum ImageTools {
    static let mkntfs = installed(["/usr/sbin/mkntfs", "/sbin/mkntfs", "/usr/bin/mkntfs"])
    static let ntfs3g = installed(["/usr/bin/ntfs-3g", "/bin/ntfs-3g"])
    static let qemuImg = installed(["/usr/bin/qemu-img"])
    static let ewfacquire = installed(["/usr/bin/ewfacquire"])
    static let umount = installed(["/usr/bin/umount", "/bin/umount"])
    static let touch = installed(["/usr/bin/touch", "/bin/touch"])
    /// TSK's own listing tool, the oracle for a third-party image.
    static let fls = installed(["/usr/bin/fls"])
    static let icat = installed(["/usr/bin/icat"])
    static let ifind = installed(["/usr/bin/ifind"])
    static let istat = installed(["/usr/bin/istat"])
    static let vshadowinfo = installed(["/usr/bin/vshadowinfo"])
    static let vshadowmount = installed(["/usr/bin/vshadowmount"])
    /// libhivex's shell: the hand-written SYSTEM hive's second reader.
    static let hivexsh = installed(["/usr/bin/hivexsh"])
    static var available: Bool {
        [mkntfs, ntfs3g, qemuImg, ewfacquire, umount, touch, pythonCommand].allSatisfy { $0 != nil }
            && FileManager.default.fileExists(atPath: "/dev/fuse") && getuid() == 0
    }
    /// CI sets `EXHUNT_REQUIRE_IMAGES=1`: there, missing tools fail instead of skipping.
    static let required = ProcessInfo.processInfo.environment["EXHUNT_REQUIRE_IMAGES"] == "1"

    static func must(_ tool: String?, _ args: [String]) throws {
        let r = try run(URL(fileURLWithPath: try #require(tool)), args)
        #expect(r.status == 0, "\(tool ?? "?") \(args): \(String(decoding: r.stderr, as: UTF8.self))")
        if r.status != 0 { throw Failed() }
    }

    struct Failed: Error {}

    /// An NTFS volume holding the compromised sample server's `C:` with its 2021 times (every file
    /// last written 2021-03-09, the web shell 2021-02-28 01:05:00 UTC), a `Windows\System32`
    /// folder, so the volume is the system drive, and a second shell in aspnet_client written
    /// 2021-03-01 02:00:00 UTC and deleted before imaging (in a mount of its own, as a later
    /// clean-up would).
    static func volume(in dir: URL, size: Int = 64 << 20, system: Bool = true) throws -> URL {
        let vol = dir.appendingPathComponent("vol.raw")
        FileManager.default.createFile(atPath: vol.path, contents: nil)
        let h = try FileHandle(forWritingTo: vol)
        try h.truncate(atOffset: UInt64(size))
        try h.close()
        try must(mkntfs, ["-q", "-F", "-f", "-L", "EXCH01", vol.path])
        let mnt = dir.appendingPathComponent("mnt")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        try mount(vol, at: mnt)
        do {
            let source = repoRoot.appendingPathComponent("Samples/compromised-server/C")
            for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
                try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: mnt.appendingPathComponent(name))
            }
            if system { try FileManager.default.createDirectory(at: mnt.appendingPathComponent("Windows/System32"), withIntermediateDirectories: true) }
            var files: [String] = []
            if let e = FileManager.default.enumerator(atPath: mnt.path) {
                while let rel = e.nextObject() as? String { files.append(mnt.appendingPathComponent(rel).path) }
            }
            try must(touch, ["-d", "2021-03-09 12:00:00 UTC"] + files)
            let shell = mnt.appendingPathComponent("inetpub/wwwroot/aspnet_client/supp0rt.aspx").path
            try must(touch, ["-d", "2021-02-28 01:05:00 UTC", shell])
            let gone = mnt.appendingPathComponent("inetpub/wwwroot/aspnet_client/gone.aspx")
            try Data(#"<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>"#.utf8).write(to: gone)
            try must(touch, ["-d", "2021-03-01 02:00:00 UTC", gone.path])
            try must(umount, [mnt.path])
            try mount(vol, at: mnt)
            try FileManager.default.removeItem(at: gone)
            // An IIS log deleted as an intruder clearing logs would (its clusters left as they were).
            try FileManager.default.removeItem(at: mnt.appendingPathComponent("inetpub/logs/LogFiles/W3SVC1/u_ex210101.log"))
        } catch {
            _ = try? run(URL(fileURLWithPath: umount ?? "/bin/umount"), [mnt.path])
            throw error
        }
        try must(umount, [mnt.path])
        // The shell's creation time set back as a timestomping tool does: in its MFT record's
        // $STANDARD_INFORMATION only ($FILE_NAME keeps the day its name was made).
        try setBackCreation(of: "supp0rt.aspx", in: vol, to: 1_614_474_300)
        return vol
    }

    /// Writes `unixTime` as the $STANDARD_INFORMATION creation time of the MFT record whose
    /// $FILE_NAME is `name`, in the volume's bytes (the record's first sector: its fixups stay right).
    static func setBackCreation(of name: String, in vol: URL, to unixTime: Int) throws {
        var bytes = try Data(contentsOf: vol)
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        let sector = u16(0x0B), cluster = sector * Int(bytes[0x0D])
        let mftStart = (u32(0x30) | u32(0x34) << 32) * cluster
        let perRecord = Int(Int8(bitPattern: bytes[0x40]))
        let recordSize = perRecord < 0 ? 1 << -perRecord : perRecord * cluster
        let needle = Data(name.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        for r in 0..<4_096 {
            let start = mftStart + r * recordSize
            guard start + recordSize <= bytes.count, bytes[start..<start + 4].elementsEqual("FILE".utf8) else { continue }
            // The record whose own $FILE_NAME is the name (its folder's record holds it in its index too).
            var standard: Int?, named = false
            var a = start + u16(start + 0x14)
            while a + 8 < start + recordSize, u32(a) != 0xFFFF_FFFF, u32(a + 4) >= 8 {
                let content = a + u16(a + 0x14)
                if u32(a) == 0x10 { standard = content }
                if u32(a) == 0x30, content + 0x42 + needle.count <= bytes.count,
                   Int(bytes[content + 0x40]) * 2 == needle.count, bytes[content + 0x42..<content + 0x42 + needle.count].elementsEqual(needle) {
                    named = true
                }
                a += u32(a + 4)
            }
            if named, let standard {
                var filetime = UInt64(unixTime + 11_644_473_600) * 10_000_000
                withUnsafeBytes(of: &filetime) { bytes.replaceSubrange(standard..<standard + 8, with: $0) }
                try bytes.write(to: vol)
                return
            }
        }
        throw Failed()
    }

    /// ntfs-3g stays behind as the FUSE daemon: it must inherit no descriptor of ours (the pipe
    /// the test reads to its end), so it is started with every descriptor but /dev/null closed.
    static func mount(_ vol: URL, at mnt: URL) throws {
        try daemon([try #require(ntfs3g), vol.path, mnt.path])
    }

    /// Runs a FUSE program that leaves its daemon behind (ntfs-3g, vshadowmount).
    static func daemon(_ command: [String]) throws {
        try must(pythonCommand, ["-c", "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:], close_fds=True, stdin=subprocess.DEVNULL, "
                                     + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode)"] + command)
    }

    /// A SYSTEM registry hive written to the format (a base block with its checksum, one hive bin
    /// of cells): a root key with one subkey, `MountedDevices`, holding `values` as REG_BINARY.
    static func systemHive(mountedDevices values: [(name: String, data: [UInt8])]) -> Data {
        var bin = [UInt8](repeating: 0, count: 4096)
        func put16(_ v: Int, _ at: Int) { for i in 0..<2 { bin[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        func put32(_ v: Int, _ at: Int) { for i in 0..<4 { bin[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        bin.replaceSubrange(0..<4, with: Array("hbin".utf8))
        put32(0, 4)
        put32(4096, 8)
        var next = 0x20
        // A cell: its size (negative: in use), then its payload; 8-byte aligned.
        func cell(_ payload: [UInt8]) -> Int {
            let at = next, size = (4 + payload.count + 7) & ~7
            put32(-size, at)
            bin.replaceSubrange((at + 4)..<(at + 4 + payload.count), with: payload)
            next += size
            return at
        }
        func nk(_ name: String, flags: Int, parent: Int, subkeys: Int, subkeyList: Int, values: Int, valueList: Int) -> [UInt8] {
            var p = [UInt8](repeating: 0, count: 0x4C)
            func p16(_ v: Int, _ at: Int) { for i in 0..<2 { p[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
            func p32(_ v: Int, _ at: Int) { for i in 0..<4 { p[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
            p[0] = 0x6E; p[1] = 0x6B // "nk"
            p16(flags, 0x02); p32(parent, 0x10); p32(subkeys, 0x14); p32(subkeyList, 0x1C); p32(-1, 0x20)
            p32(values, 0x24); p32(valueList, 0x28); p32(-1, 0x2C); p32(-1, 0x30); p16(name.utf8.count, 0x48)
            return p + Array(name.utf8)
        }
        var vks: [Int] = []
        for v in values {
            let data = cell(v.data)
            var p = [UInt8](repeating: 0, count: 0x14)
            p[0] = 0x76; p[1] = 0x6B // "vk"
            for i in 0..<2 { p[2 + i] = UInt8(truncatingIfNeeded: v.name.utf8.count >> (8 * i)) }
            for i in 0..<4 { p[4 + i] = UInt8(truncatingIfNeeded: v.data.count >> (8 * i)) }
            for i in 0..<4 { p[8 + i] = UInt8(truncatingIfNeeded: (data - 0) >> (8 * i)) }
            p[12] = 3 // REG_BINARY
            p[16] = 1 // the name is ASCII
            vks.append(cell(p + Array(v.name.utf8)))
        }
        let valueList = cell(vks.flatMap { o in (0..<4).map { UInt8(truncatingIfNeeded: o >> (8 * $0)) } })
        // The root comes first in the bin's header's eyes: its cell is written last, its offset known now.
        let mountedAt = next
        let mountedSize = (4 + 0x4C + "MountedDevices".utf8.count + 7) & ~7
        let listAt = mountedAt + mountedSize
        let rootAt = listAt + 16
        _ = cell(nk("MountedDevices", flags: 0x20, parent: rootAt, subkeys: 0, subkeyList: -1, values: values.count, valueList: valueList))
        _ = cell([0x6C, 0x69, 1, 0] + (0..<4).map { UInt8(truncatingIfNeeded: mountedAt >> (8 * $0)) })  // "li", one key
        _ = cell(nk("ROOT", flags: 0x2C, parent: 0, subkeys: 1, subkeyList: listAt, values: 0, valueList: -1))
        // The rest of the bin is one free cell.
        put32(4096 - next, next)
        var base = [UInt8](repeating: 0, count: 4096)
        func b32(_ v: Int, _ at: Int) { for i in 0..<4 { base[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
        base.replaceSubrange(0..<4, with: Array("regf".utf8))
        b32(1, 4); b32(1, 8); b32(1, 0x14); b32(5, 0x18); b32(0, 0x1C); b32(1, 0x20); b32(rootAt, 0x24); b32(4096, 0x28); b32(1, 0x2C)
        let checksum = stride(from: 0, to: 508, by: 4).reduce(UInt32(0)) { sum, at in
            sum ^ (UInt32(base[at]) | UInt32(base[at + 1]) << 8 | UInt32(base[at + 2]) << 16 | UInt32(base[at + 3]) << 24)
        }
        b32(Int(checksum), 508)
        return Data(base + bin)
    }

    /// A small NTFS volume with only `Windows\System32` (and a SYSTEM hive, when given): a system
    /// drive without Exchange.
    static func systemVolume(in dir: URL, hive: Data? = nil) throws -> URL {
        let vol = dir.appendingPathComponent("system.raw")
        FileManager.default.createFile(atPath: vol.path, contents: nil)
        let h = try FileHandle(forWritingTo: vol)
        try h.truncate(atOffset: 16 << 20)
        try h.close()
        try must(mkntfs, ["-q", "-F", "-f", "-L", "SYSTEM", vol.path])
        let mnt = dir.appendingPathComponent("mnt-system")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        try mount(vol, at: mnt)
        defer { _ = try? run(URL(fileURLWithPath: umount ?? "/bin/umount"), [mnt.path]) }
        try FileManager.default.createDirectory(at: mnt.appendingPathComponent("Windows/System32/config"), withIntermediateDirectories: true)
        if let hive { try hive.write(to: mnt.appendingPathComponent("Windows/System32/config/SYSTEM")) }
        return vol
    }

    /// A GPT disk (protective MBR, primary and backup headers and entry arrays with their CRC-32s)
    /// holding `volumes` as basic data partitions, each 1 MiB-aligned, as Windows lays them out.
    static func gptDisk(_ volumes: [URL], in dir: URL) throws -> URL {
        let bodies = try volumes.map { try Data(contentsOf: $0) }
        var starts: [Int] = []
        var lba = 2048
        for b in bodies {
            starts.append(lba)
            lba += (b.count / 512 + 2047) / 2048 * 2048
        }
        let sectors = lba + 2048
        var disk = Data(count: sectors * 512)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { disk.replaceSubrange(at..<(at + MemoryLayout<T>.size), with: $0) } }
        // Protective MBR: one partition of type 0xEE over the disk.
        disk[446 + 4] = 0xEE
        put(UInt32(1), 446 + 8)
        put(UInt32(min(sectors - 1, Int(UInt32.max))), 446 + 12)
        disk[510] = 0x55
        disk[511] = 0xAA
        // The entry array: basic data partitions (EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, mixed-endian on disk).
        let basicData: [UInt8] = [0xA2, 0xA0, 0xD0, 0xEB, 0xE5, 0xB9, 0x33, 0x44, 0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7]
        var entries = Data(count: 128 * 128)
        for (i, b) in bodies.enumerated() {
            let at = i * 128
            entries.replaceSubrange(at..<(at + 16), with: basicData)
            entries.replaceSubrange((at + 16)..<(at + 32), with: (0..<16).map { UInt8(truncatingIfNeeded: 0x40 + i * 16 + $0) })
            withUnsafeBytes(of: UInt64(starts[i]).littleEndian) { entries.replaceSubrange((at + 32)..<(at + 40), with: $0) }
            withUnsafeBytes(of: UInt64(starts[i] + b.count / 512 - 1).littleEndian) { entries.replaceSubrange((at + 40)..<(at + 48), with: $0) }
            for (j, u) in "Basic data partition".utf16.enumerated() { withUnsafeBytes(of: u.littleEndian) { entries.replaceSubrange((at + 56 + 2 * j)..<(at + 58 + 2 * j), with: $0) } }
            disk.replaceSubrange(starts[i] * 512..<(starts[i] * 512 + b.count), with: b)
        }
        let last = sectors - 1
        func header(current: Int, backup: Int, entriesAt: Int) {
            let at = current * 512
            disk.replaceSubrange(at..<(at + 8), with: Array("EFI PART".utf8))
            put(UInt32(0x0001_0000), at + 8); put(UInt32(92), at + 12); put(UInt32(0), at + 16)
            put(UInt64(current), at + 24); put(UInt64(backup), at + 32); put(UInt64(34), at + 40); put(UInt64(last - 33), at + 48)
            disk.replaceSubrange((at + 56)..<(at + 72), with: (0..<16).map { UInt8(0x20 + $0) })
            put(UInt64(entriesAt), at + 72); put(UInt32(128), at + 80); put(UInt32(128), at + 84); put(crc32(entries), at + 88)
            disk.replaceSubrange(entriesAt * 512..<(entriesAt * 512 + entries.count), with: entries)
            put(crc32(disk[at..<(at + 92)]), at + 16)
        }
        header(current: 1, backup: last, entriesAt: 2)
        header(current: last, backup: 1, entriesAt: last - 32)
        let url = dir.appendingPathComponent("gpt.raw")
        try disk.write(to: url)
        return url
    }

    /// CRC-32 (IEEE 802.3, reflected), as GPT's headers and entry arrays carry it.
    static func crc32<D: Collection<UInt8>>(_ data: D) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A disk with an MBR whose one NTFS partition (type 7) starts at sector 2048, as Windows lays it out.
    static func disk(around volume: URL, in dir: URL) throws -> URL {
        let body = try Data(contentsOf: volume)
        var mbr = Data(count: 512)
        let start: UInt32 = 2048, sectors = UInt32(body.count / 512)
        mbr[446 + 4] = 0x07
        for i in 0..<4 {
            mbr[446 + 8 + i] = UInt8(truncatingIfNeeded: start >> (8 * UInt32(i)))
            mbr[446 + 12 + i] = UInt8(truncatingIfNeeded: sectors >> (8 * UInt32(i)))
        }
        mbr[510] = 0x55
        mbr[511] = 0xAA
        let disk = dir.appendingPathComponent("disk.raw")
        var bytes = mbr + Data(count: Int(start) * 512 - 512) + body + Data(count: 8 << 20)
        bytes.replaceSubrange(0..<512, with: mbr)
        try bytes.write(to: disk)
        return disk
    }
}

/// The hunt's JSON report, the parts these tests read.
struct Report: Decodable {
    struct Family: Decodable { var family: String; var verdict: String }
    struct Finding: Decodable {
        struct Rule: Decodable { var id: String }
        struct Evidence: Decodable { var path: String }
        var rule: Rule
        var timestamp: Date?
        var evidence: Evidence
        var count: Int
        var extracted: [String: String]?
    }
    struct Entry: Decodable {
        struct Times: Decodable { var created: Date?; var modified: Date?; var nameCreated: Date? }
        var path: String
        var size: UInt64?
        var sha256: String?
        var entry: UInt64?
        var deleted: Bool?
        var timeSource: String?
        var modified: Date?
        var fileSystemTimes: Times?
    }
    struct Problem: Decodable { var code: String; var message: String }
    struct Image: Decodable {
        struct Segment: Decodable { var path: String; var size: UInt64; var sha256: String? }
        struct Volume: Decodable { var name: String; var fileSystem: String; var offset: UInt64; var shadowCopyOf: String?; var created: Date? }
        var format: String
        var size: UInt64
        var segments: [Segment]
        var volumes: [Volume]
        var recordedMD5: String?
        var computedMD5: String?
        var verified: Bool?
        var notRead: [String]?
    }
    var verdict: String
    var image: Image?
    var families: [Family]
    var findings: [Finding]
    var manifest: [Entry]
    var problems: [Problem]

    static func read(_ url: URL) throws -> Report {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = f.date(from: text) { return date }
            f.formatOptions = [.withInternetDateTime]
            guard let date = f.date(from: text) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: text)) }
            return date
        }
        return try d.decode(Report.self, from: Data(contentsOf: url))
    }

    /// What was found, independent of where the evidence lay: rule and hits per finding.
    var findingKeys: [String] { findingKeys(excluding: nil) }

    func findingKeys(excluding file: String?) -> [String] {
        findings.filter { f in file.map { !f.evidence.path.hasSuffix($0) } ?? true }.map { "\($0.rule.id) ×\($0.count)" }.sorted()
    }
}

@Suite("Disk images (exhunt hunt IMAGE)", .serialized, .timeLimit(.minutes(20)))
struct ImageHuntTests {
    let exhunt = productBinary("exhunt")

    func hunt(_ path: URL, _ dir: URL, _ name: String, _ extra: [String] = []) throws -> (status: Int32, report: Report?, stderr: String) {
        let json = dir.appendingPathComponent("\(name).json")
        let r = try run(exhunt, ["hunt", path.path, "--host", "EXCH01", "-o", json.path, "--quiet", "--no-progress"] + extra)
        return (r.status, try? Report.read(json), String(decoding: r.stderr, as: UTF8.self))
    }

    @Test("CI has the image tools", .enabled(if: ImageTools.required))
    func toolsPresentInCI() {
        #expect(ImageTools.available, "mkntfs, ntfs-3g (with /dev/fuse, as root), qemu-img and ewfacquire")
        // The oracles: TSK's own tools, and libvshadow's for shadow copies.
        for (tool, path) in [("fls", ImageTools.fls), ("icat", ImageTools.icat), ("ifind", ImageTools.ifind), ("istat", ImageTools.istat),
                             ("vshadowinfo", ImageTools.vshadowinfo), ("vshadowmount", ImageTools.vshadowmount), ("hivexsh", ImageTools.hivexsh)] {
            #expect(path != nil, "\(tool) is missing")
        }
    }

    @Test("The sample server in an NTFS image gives the folder's verdict and findings from raw, MBR disk, split raw, VMDK, VHD, VHDX and split E01, with the file system's own times",
          .enabled(if: ImageTools.available, "needs mkntfs, ntfs-3g with FUSE as root, qemu-img, ewfacquire (Scripts/setup.sh --tests)"))
    func sameVerdictFromEveryContainer() throws {
        let dir = try tempDir()
        let folder = try hunt(repoRoot.appendingPathComponent("Samples/compromised-server"), dir, "folder")
        let expected = try #require(folder.report)
        #expect(expected.verdict == "compromised")

        let volume = try ImageTools.volume(in: dir)
        let disk = try ImageTools.disk(around: volume, in: dir)
        var images: [(String, URL)] = [("volume", volume), ("mbr-disk", disk)]
        // Split raw: disk.001, disk.002, … (TSK finds the rest from the first).
        let bytes = try Data(contentsOf: disk)
        let part = 30 << 20
        for (i, start) in stride(from: 0, to: bytes.count, by: part).enumerated() {
            try bytes[start..<min(bytes.count, start + part)].write(to: dir.appendingPathComponent(String(format: "split.%03d", i + 1)))
        }
        images.append(("split-raw", dir.appendingPathComponent("split.001")))
        for (format, ext) in [("vmdk", "vmdk"), ("vpc", "vhd"), ("vhdx", "vhdx")] {
            let out = dir.appendingPathComponent("disk.\(ext)")
            try ImageTools.must(ImageTools.qemuImg, ["convert", "-O", format, disk.path, out.path])
            images.append((ext, out))
        }
        // E01 in 40 MB segments: disk.E01, disk.E02, disk.E03.
        try ImageTools.must(ImageTools.ewfacquire, ["-u", "-q", "-t", dir.appendingPathComponent("ewf").path, "-c", "none", "-S", "40M", disk.path])
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ewf.E02").path), "the E01 is split")
        images.append(("e01", dir.appendingPathComponent("ewf.E01")))

        for (name, image) in images {
            let r = try hunt(image, dir, name, name == "e01" ? ["--hash-image", "--verify-image"] : [])
            #expect(r.status == 1, "\(name): \(r.stderr)")
            let report = try #require(r.report, "\(name)")
            #expect(report.verdict == expected.verdict, "\(name)")
            #expect(report.families.map { "\($0.family)=\($0.verdict)" } == expected.families.map { "\($0.family)=\($0.verdict)" }, "\(name)")
            // The folder's findings, and those of the deleted shell, which only the image still holds
            // (its name, and its content where its clusters were: YARA and the content rules too).
            let deletedRule = "cfe24f53-159f-4681-a6cc-430f78b81c88"
            // The shell's creation time was set back before its name was made.
            let setBackRule = "9127a793-9114-4614-9400-6be8e4f379cb"
            #expect(report.findingKeys(excluding: "gone.aspx").filter { !$0.hasPrefix(setBackRule) } == expected.findingKeys, "\(name)")
            #expect(report.findings.filter { $0.rule.id == setBackRule }.map(\.evidence.path) == ["C:/inetpub/wwwroot/aspnet_client/supp0rt.aspx"], "\(name)")
            #expect(!expected.findings.contains { $0.rule.id == setBackRule }, "a folder has no $FILE_NAME times")
            #expect(report.findings.contains { $0.evidence.path.hasSuffix("gone.aspx") && $0.rule.id.contains("ChinaChopper") }, "\(name)")
            let gone = try #require(report.findings.first { $0.rule.id == deletedRule }, "\(name)")
            #expect(gone.evidence.path == "C:/inetpub/wwwroot/aspnet_client/gone.aspx", "\(name)")
            #expect(gone.timestamp == Date(timeIntervalSince1970: 1_614_564_000), "\(name): 2021-03-01T02:00:00Z, from its MFT entry")
            // Whether what was read is its own: nothing was written after the deletion.
            #expect(gone.extracted?["summary"]?.contains("its clusters are not in use by another file") == true, "\(name): \(gone.extracted ?? [:])")
            // The deleted log is named, and its lines still count (the findings above include them).
            #expect(report.problems.contains { $0.code == "deleted-log" && $0.message.contains("read from its MFT entry") }, "\(name)")
            let goneEntry = try #require(report.manifest.first { $0.path == gone.evidence.path }, "\(name)")
            #expect(goneEntry.deleted == true, "\(name)")
            // The web shell is dated by the MFT, and every file read carries its entry and NTFS's times.
            let shell = try #require(report.findings.first { $0.evidence.path.hasSuffix("aspnet_client/supp0rt.aspx") && $0.timestamp != nil }, "\(name)")
            #expect(shell.evidence.path == "C:/inetpub/wwwroot/aspnet_client/supp0rt.aspx", "\(name)")
            #expect(shell.timestamp == Date(timeIntervalSince1970: 1_614_474_300), "\(name): 2021-02-28T01:05:00Z")
            let entry = try #require(report.manifest.first { $0.path == shell.evidence.path }, "\(name)")
            #expect((entry.entry ?? 0) > 0, "\(name)")
            #expect(entry.timeSource == "file-system", "\(name)")
            #expect(entry.fileSystemTimes?.modified == Date(timeIntervalSince1970: 1_614_474_300), "\(name)")
            // $FILE_NAME keeps when the name was made (today, by ntfs-3g), whatever touch set.
            #expect((entry.fileSystemTimes?.nameCreated ?? .distantPast) > Date(timeIntervalSince1970: 1_700_000_000), "\(name)")
            #expect(report.manifest.allSatisfy { $0.path.hasPrefix("C:/") }, "\(name): the system volume is C")
            // Only the files a hunt reads are listed: not Windows' own nor NTFS's metadata files.
            #expect(!report.manifest.contains { $0.path.contains("$MFT") }, "\(name)")
            // The report records the image: its container, its files, its volumes.
            let record = try #require(report.image, "\(name)")
            #expect(record.volumes.map(\.name) == ["C"] && record.volumes.first?.fileSystem == "ntfs", "\(name)")
            // What the image holds and exhunt does not read is in its record, not among the listing's problems.
            #expect(record.notRead?.contains { $0.hasPrefix("alternate data streams") } == true, "\(name)")
            #expect(!report.problems.contains { $0.message.contains("alternate data streams") }, "\(name)")
            #expect(record.volumes.first?.offset == (name == "volume" ? 0 : 1_048_576), "\(name)")
            #expect(record.format == ["e01": "ewf", "vmdk": "vmdk", "vhd": "vhd", "vhdx": "vhd"][name, default: "raw"], "\(name)")
            if name == "e01" || name == "split-raw" {
                #expect(record.segments.count >= 2, "\(name): \(record.segments.map(\.path))")
            }
            if name == "e01" {
                // The MD5 ewfacquire recorded, and the media read now gives it.
                let md5 = Insecure.MD5.hash(data: try Data(contentsOf: disk)).map { String(format: "%02x", $0) }.joined()
                #expect(record.recordedMD5 == md5)
                #expect(record.computedMD5 == md5 && record.verified == true)
                let first = try #require(record.segments.first)
                #expect(first.sha256 == SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: first.path))).map { String(format: "%02x", $0) }.joined())
            } else {
                #expect(record.segments.allSatisfy { $0.sha256 == nil }, "hashed only when asked")
            }
        }

        // An E01 changed after acquisition (one byte of a log line in its media) does not verify:
        // libewf sees the chunk's checksum fail and reads zeros there, or the bytes as changed.
        let tamperedDir = dir.appendingPathComponent("tampered")
        try FileManager.default.createDirectory(at: tamperedDir, withIntermediateDirectories: true)
        for segment in try FileManager.default.contentsOfDirectory(atPath: dir.path) where segment.hasPrefix("ewf.E") {
            var bytes = try Data(contentsOf: dir.appendingPathComponent(segment))
            if let at = bytes.range(of: Data("ServerInfo~".utf8)) { bytes[at.lowerBound] ^= 0x20 }
            try bytes.write(to: tamperedDir.appendingPathComponent(segment))
        }
        let tampered = try hunt(tamperedDir.appendingPathComponent("ewf.E01"), dir, "tampered", ["--verify-image"])
        #expect([1, 2, 3].contains(tampered.status), "\(tampered.stderr)")
        let tamperedReport = try #require(tampered.report)
        #expect(tamperedReport.image?.verified != true)
        #expect(tamperedReport.problems.contains { $0.code == "image-verification" || $0.message.contains("not verified") },
                "\(tamperedReport.problems.map(\.message))")

        // Several servers' images side by side: one host each (a split image's later segments go with its first).
        let fleet = dir.appendingPathComponent("fleet")
        try FileManager.default.createDirectory(at: fleet, withIntermediateDirectories: true)
        for segment in try FileManager.default.contentsOfDirectory(atPath: dir.path) where segment.hasPrefix("ewf.E") {
            try FileManager.default.linkItem(at: dir.appendingPathComponent(segment), to: fleet.appendingPathComponent("EXCH01." + segment.dropFirst(4)))
        }
        // (Not a sparse VMDK: its embedded descriptor names its extent by the file name it was made with.)
        try FileManager.default.linkItem(at: dir.appendingPathComponent("disk.vhdx"), to: fleet.appendingPathComponent("EXCH02.vhdx"))
        let both = try run(exhunt, ["hunt", fleet.path, "-o", dir.appendingPathComponent("r.json").path, "--quiet", "--no-progress"])
        #expect(both.status == 1, "\(String(decoding: both.stderr, as: UTF8.self))")
        #expect(both.text.split(separator: "\n").count == 2, "\(both.text)")
        for host in ["EXCH01", "EXCH02"] {
            #expect(try Report.read(dir.appendingPathComponent("r-\(host).json")).verdict == "compromised", "\(host)")
        }
    }

    @Test("Every IIS site on an image: the site's folder from the image's applicationHost.config, its page found and joined with its requests",
          .enabled(if: ImageTools.available, "needs mkntfs, ntfs-3g with FUSE as root (Scripts/setup.sh --tests)"))
    func iisSiteOnAnImage() throws {
        let dir = try tempDir()
        let vol = try ImageTools.systemVolume(in: dir)
        let mnt = dir.appendingPathComponent("mnt-site")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        try ImageTools.mount(vol, at: mnt)
        do {
            try put(mnt, "Windows/System32/inetsrv/config/applicationHost.config", """
                <configuration><system.applicationHost><sites>
                <site name="Shop" id="2"><application path="/"><virtualDirectory path="/" physicalPath="%SystemDrive%\\Sites\\Shop" /></application></site>
                </sites></system.applicationHost></configuration>
                """)
            try put(mnt, "Sites/Shop/uploads/health.aspx", #"<%@ Page Language="C#" %><% var p = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + Request.Form["c"]); System.Diagnostics.Process.Start(p); %>"#)
            try put(mnt, "inetpub/logs/LogFiles/W3SVC2/u_ex210303.log", """
                #Software: Microsoft Internet Information Services 10.0
                #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
                2021-03-03 02:00:00 10.0.0.5 POST /uploads/health.aspx - 443 - 203.0.113.9 Mozilla/5.0 - 200 0 0 31

                """)
        } catch {
            _ = try? run(URL(fileURLWithPath: ImageTools.umount ?? "/bin/umount"), [mnt.path])
            throw error
        }
        try ImageTools.must(ImageTools.umount, [mnt.path])
        let r = try hunt(vol, dir, "site")
        let report = try #require(r.report, "\(r.stderr)")
        let shell = try #require(report.findings.first { $0.rule.id == "EXHUNT_ASPX_Command_Runner" }, "\(report.findings.map(\.rule.id))")
        #expect(shell.evidence.path == "C:/Sites/Shop/uploads/health.aspx")
        // file_web_page_used_as_shell: the page joined with its POST.
        let use = try #require(report.findings.first { $0.rule.id == "61e51361-af2d-4b95-94f7-d57c9905ac07" })
        #expect(use.evidence.path == "C:/Sites/Shop/uploads/health.aspx")
        #expect(use.extracted?["summary"]?.contains("used by 203.0.113.9") == true)
        #expect(report.verdict == "compromised")
    }

    @Test("A GPT disk with the system volume first and Exchange on a second volume: both found, the second named vol2, the same verdict",
          .enabled(if: ImageTools.available, "needs mkntfs, ntfs-3g with FUSE as root (Scripts/setup.sh --tests)"))
    func gptDiskWithTwoVolumes() throws {
        let dir = try tempDir()
        let exchange = try ImageTools.volume(in: dir, system: false)
        let system = try ImageTools.systemVolume(in: dir)
        let disk = try ImageTools.gptDisk([system, exchange], in: dir)
        let r = try hunt(disk, dir, "gpt")
        let report = try #require(r.report, "\(r.stderr)")
        #expect(r.status == 1 && report.verdict == "compromised")
        let volumes = try #require(report.image?.volumes)
        // No SYSTEM hive to tell the second volume's letter.
        #expect(volumes.map { $0.name } == ["C", "vol2"])
        #expect(volumes.map { $0.offset } == [1_048_576, 1_048_576 + (16 << 20)])
        // Exchange's files are on the second volume, by the name a hunt can tell.
        #expect(report.manifest.contains { $0.path == "vol2:/inetpub/wwwroot/aspnet_client/supp0rt.aspx" })
        #expect(report.findings.contains { $0.evidence.path == "vol2:/inetpub/wwwroot/aspnet_client/gone.aspx" })
        #expect(!report.manifest.contains { $0.path.hasPrefix("C:/") && $0.path.contains("inetpub") })
    }

    @Test("The system volume's SYSTEM hive names the other volumes' letters (MountedDevices, by GPT partition GUID): Exchange on E:",
          .enabled(if: ImageTools.available && ImageTools.hivexsh != nil, "needs mkntfs, ntfs-3g with FUSE as root, hivexsh (Scripts/setup.sh --tests)"))
    func driveLettersFromTheSystemHive() throws {
        let dir = try tempDir()
        // The GPT entries' unique GUIDs as gptDisk writes them: partition i has bytes 0x40 + 16 i ….
        func dmio(_ i: Int) -> [UInt8] { Array("DMIO:ID:".utf8) + (0..<16).map { UInt8(0x40 + i * 16 + $0) } }
        let hive = ImageTools.systemHive(mountedDevices: [
            ("\\DosDevices\\C:", dmio(0)),
            ("\\DosDevices\\E:", dmio(1)),
            // A volume named by its GUID only, and a removable drive's letter: neither is a partition here.
            ("\\??\\Volume{5b9d0c36-5d1e-11eb-9a3b-806e6f6e6963}", dmio(1)),
            ("\\DosDevices\\F:", Array("_??_USBSTOR#Disk".utf8)),
        ])
        // The hive is real to another reader: hivexsh lists the values.
        let hivePath = dir.appendingPathComponent("SYSTEM")
        try hive.write(to: hivePath)
        let script = dir.appendingPathComponent("lsval.hivexsh")
        try Data("cd MountedDevices\nlsval\n".utf8).write(to: script)
        let listed = String(decoding: try run(URL(fileURLWithPath: try #require(ImageTools.hivexsh)), ["-f", script.path, hivePath.path]).stdout, as: UTF8.self)
        #expect(listed.contains("DosDevices\\\\E:\"=hex(3):44,4d,49,4f"), "\(listed)")
        let exchange = try ImageTools.volume(in: dir, system: false)
        let system = try ImageTools.systemVolume(in: dir, hive: hive)
        let disk = try ImageTools.gptDisk([system, exchange], in: dir)
        let r = try hunt(disk, dir, "letters")
        let report = try #require(r.report, "\(r.stderr)")
        #expect(report.image?.volumes.map { $0.name } == ["C", "E"])
        #expect(report.manifest.contains { $0.path == "E:/inetpub/wwwroot/aspnet_client/supp0rt.aspx" })
        #expect(report.findings.contains { $0.evidence.path == "E:/inetpub/wwwroot/aspnet_client/gone.aspx" })
        #expect(!report.problems.contains { $0.message.contains("drive letters") }, "\(report.problems.map(\.message))")
    }

    @Test("A third-party E01 of a Windows-made NTFS volume (Velociraptor's test data): every file TSK's fls lists, and its recorded MD5 verifies",
          .enabled(if: hasSharedData && ImageTools.fls != nil, "needs ../shared and sleuthkit's fls (Scripts/setup.sh --tests)"))
    func velociraptorE01() throws {
        let dir = try tempDir()
        let image = sharedData.appendingPathComponent("Velocidex__velociraptor/artifacts/testdata/files/test.ntfs.dd.E01")
        let json = dir.appendingPathComponent("v.json")
        let r = try run(exhunt, ["hunt", image.path, "--scan-all", "--verify-image", "-o", json.path, "--quiet", "--no-progress"])
        // Nothing of Exchange in it: exit 2, and the report still lists what was read.
        #expect(r.status == 2, "\(String(decoding: r.stderr, as: UTF8.self))")
        let report = try Report.read(json)
        let ours = Set(report.manifest.map { String($0.path.dropFirst("vol1:/".count)) })
        // fls -r -p -F: regular files, `r/r 46-128-1:\tFolder A/…`; alternate data streams
        // (`name:stream`) and NTFS's own files (at the root, and in `$Extend`) are not files a hunt lists.
        let listing = try run(URL(fileURLWithPath: try #require(ImageTools.fls)), ["-r", "-p", "-F", image.path])
        let theirs = Set(String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            guard let tab = line.firstIndex(of: "\t") else { return nil }
            let path = String(line[line.index(after: tab)...])
            if path.contains(":") || (!path.contains("/") && path.hasPrefix("$")) || path.hasPrefix("$Extend/") { return nil }
            return path
        })
        #expect(!theirs.isEmpty)
        #expect(ours == theirs, "only ours: \(ours.subtracting(theirs)); only fls's: \(theirs.subtracting(ours))")
        let record = try #require(report.image)
        #expect(record.format == "ewf" && record.volumes.map(\.fileSystem) == ["ntfs"])
        #expect(record.recordedMD5 != nil && record.verified == true)
    }

    @Test("A damaged or foreign image is a located problem and exit 2, never a crash",
          .enabled(if: ImageTools.available, "needs mkntfs, ntfs-3g with FUSE as root, qemu-img, ewfacquire (Scripts/setup.sh --tests)"))
    func damagedImages() throws {
        let dir = try tempDir()
        let volume = try ImageTools.volume(in: dir)
        let disk = try ImageTools.disk(around: volume, in: dir)
        try ImageTools.must(ImageTools.ewfacquire, ["-u", "-q", "-t", dir.appendingPathComponent("whole").path, "-c", "none", disk.path])
        let whole = try Data(contentsOf: dir.appendingPathComponent("whole.E01"))

        // An E01 cut short (its header says more than it holds).
        try whole.prefix(1 << 20).write(to: dir.appendingPathComponent("cut.E01"))
        // A disk whose partition table points past its end.
        var badTable = try Data(contentsOf: disk).prefix(4 << 20)
        badTable[446 + 8] = 0xFF
        try badTable.write(to: dir.appendingPathComponent("badtable.raw"))
        // A volume whose MFT was overwritten with zeros (its boot sector still says NTFS).
        var zeroed = try Data(contentsOf: volume)
        zeroed.replaceSubrange(4 << 20..<(12 << 20), with: Data(count: 8 << 20))
        try zeroed.write(to: dir.appendingPathComponent("zeroed.raw"))
        // A disk cut off in the middle of its volume: the files past the cut are named as unread.
        try Data(contentsOf: disk).prefix(40 << 20).write(to: dir.appendingPathComponent("truncated.raw"))

        for name in ["cut.E01", "badtable.raw", "zeroed.raw", "truncated.raw"] {
            let r = try hunt(dir.appendingPathComponent(name), dir, name)
            // 1 compromised (what could be read still shows it), 2 nothing readable, 3 inconclusive; never a signal.
            #expect([1, 2, 3].contains(r.status), "\(name): status \(r.status) \(r.stderr.suffix(2000))")
        }
        let truncated = try #require(try hunt(dir.appendingPathComponent("truncated.raw"), dir, "t2").report)
        #expect(truncated.problems.contains { $0.message.contains("read failed") }, "the unread files are named")

        // Bytes that are no image at all.
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: dir.appendingPathComponent("noise.E01"))
        let noise = try run(exhunt, ["hunt", dir.appendingPathComponent("noise.E01").path, "--quiet", "--no-progress"])
        #expect(noise.status == 2)
        #expect(String(decoding: noise.stderr, as: UTF8.self).contains("not a folder, a .zip collection or a disk image"))
    }
}
